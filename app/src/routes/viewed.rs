//! Recently viewed products, most recent first, from the device.

use leptos::prelude::*;

use crate::components::{Grid, Tile};
use crate::i18n::Msg;
use crate::store::Store;

#[component]
pub fn ViewedPage() -> impl IntoView {
    let store = expect_context::<Store>();
    view! {
        <h1>{store.t(Msg::RecentlyViewed)}</h1>
        {move || {
            let cards = store.viewed.get();
            if cards.is_empty() {
                view! { <p class="empty">{store.t(Msg::ViewedEmpty)}</p> }.into_any()
            } else {
                view! { <Grid tiles=cards.into_iter().map(Tile::plain).collect() list="viewed"/> }.into_any()
            }
        }}
    }
}
