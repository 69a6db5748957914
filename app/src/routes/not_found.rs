//! Shown for any path the app has no page for.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::Msg;
use crate::store::Store;

#[component]
pub fn NotFound() -> impl IntoView {
    let store = expect_context::<Store>();
    view! {
        <div class="empty">
            <h1>{store.t(Msg::PageNotFound)}</h1>
            <A href="/">{store.t(Msg::BackToShop)}</A>
        </div>
    }
}
