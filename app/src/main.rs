//! Entry point of the storefront app: mounts the router and the page shell.

mod api;
mod components;
mod routes;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    view! {
        <Router>
            <components::Header/>
            <main id="main">
                <Routes fallback=routes::not_found::NotFound>
                    <Route path=path!("/") view=routes::home::Home/>
                    <Route path=path!("/p/:id") view=routes::product::ProductPage/>
                    <Route path=path!("/search") view=routes::search::SearchPage/>
                </Routes>
            </main>
        </Router>
    }
}
