//! Shown for any path the app has no page for.

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <div class="empty">
            <h1>"Page not found"</h1>
            <A href="/">"Go to the shop"</A>
        </div>
    }
}
