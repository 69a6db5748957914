//! Wishlist: products the shopper saved, kept on the device.

use leptos::prelude::*;

use crate::components::{Grid, Tile};
use crate::i18n::Msg;
use crate::store::Store;

#[component]
pub fn WishlistPage() -> impl IntoView {
    let store = expect_context::<Store>();
    view! {
        <h1>{store.t(Msg::Wishlist)}</h1>
        {move || {
            let cards = store.wishlist.get();
            if cards.is_empty() {
                view! { <p class="empty">{store.t(Msg::WishlistEmpty)}</p> }.into_any()
            } else {
                view! { <Grid tiles=cards.into_iter().map(Tile::plain).collect() list="wishlist"/> }.into_any()
            }
        }}
    }
}
