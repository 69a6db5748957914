//! Entry point of the storefront app: the device's state, the ranking pack download, the service
//! worker, and the router with one route per page.

mod client;
mod components;
mod device;
mod fetch;
mod i18n;
mod measure;
mod prerender;
mod routes;
mod store;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;

use crate::device::DeviceGen;
use crate::store::Store;

/// History products whose rows are fetched again after a reload (the device keeps rows in memory).
const ROWS_AFTER_RELOAD: usize = 20;

fn main() {
    console_error_panic_hook::set_once();
    client::register_service_worker();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let store = Store::load();
    provide_context(store);
    // Before any request: the client id cookie picks the experiment variant of every answer.
    measure::sync_client_id(store);
    let generation = RwSignal::new(0u32);
    provide_context(DeviceGen(generation));

    // Only a change of language re-renders everything (not currency or personalization).
    let lang = Memo::new(move |_| store.settings.with(|s| s.lang));
    Effect::new(move |_| {
        let tag = lang.get().tag();
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("lang", tag);
        }
    });
    // The pack follows the shopper's country and currency (its prices and rules depend on them).
    let locale = Memo::new(move |_| store.settings.with(|s| (s.country.clone(), s.currency.clone())));
    Effect::new(move |_| {
        locale.track();
        leptos::task::spawn_local(download(store, generation));
    });
    expose_device_feed(store);

    view! {
        <Router>
            {move || {
                // Every string is plain text in the chosen language: a new language renders anew.
                lang.track();
                view! {
            <components::Header/>
            <measure::Measure/>
            <main id="main">
                <Routes fallback=routes::not_found::NotFound>
                    <Route path=path!("/") view=routes::home::Home/>
                    <Route path=path!("/p/:id") view=routes::product::ProductPage/>
                    <Route path=path!("/search") view=routes::search::SearchPage/>
                    <Route path=path!("/c") view=routes::category::CategoryPage/>
                    <Route path=path!("/c/*path") view=routes::category::CategoryPage/>
                    <Route path=path!("/cart") view=routes::cart::CartPage/>
                    <Route path=path!("/checkout/done") view=routes::order_paid::OrderPaid/>
                    <Route path=path!("/wishlist") view=routes::wishlist::WishlistPage/>
                    <Route path=path!("/viewed") view=routes::viewed::ViewedPage/>
                    <Route path=path!("/settings") view=routes::settings::SettingsPage/>
                </Routes>
            </main>
                }
            }}
        </Router>
    }
}

/// Fetches the ranking pack and, with personalization on, the rows of recent history products the
/// device does not hold (rows live in memory, so a reload needs them again).
async fn download(store: Store, generation: RwSignal<u32>) {
    let mut changed = false;
    // Without the engine or a pack (offline on a first visit, or an older build) the edge ranks alone.
    let (engine, pack) = futures::join!(client::engine(), client::pack(store));
    match (engine, pack) {
        (Ok(engine), Ok(bytes)) => match device::install(engine, &bytes) {
            Ok(()) => changed = true,
            Err(e) => leptos::logging::warn!("on-device ranking off: {}", e.0),
        },
        (Err(_), _) => leptos::logging::warn!("on-device ranking off: the engine module did not load"),
        (_, Err(_)) => {}
    }
    if store.settings.with_untracked(|s| s.personalize) {
        let ids: Vec<String> = store
            .history
            .get_untracked()
            .into_iter()
            .take(ROWS_AFTER_RELOAD)
            .map(|(id, _)| id)
            .filter(|id| !device::has_rows(id))
            .collect();
        for id in ids {
            if let Ok(bytes) = client::rows(store, &id).await {
                changed |= device::install_rows(&id, &bytes).is_ok();
            }
        }
    }
    if changed {
        generation.update(|g| *g += 1);
    }
}

/// `window.shopfrontDeviceFeed(limit)`: the feed the device ranks for the stored history, as JSON
/// (null without a pack), so the browser test can compare it with the edge's answer.
fn expose_device_feed(store: Store) {
    let feed = Closure::<dyn Fn(u32) -> JsValue>::new(move |limit: u32| {
        let history = if store.settings.with_untracked(|s| s.personalize) {
            store.history.get_untracked()
        } else {
            Vec::new()
        };
        device::feed_json(&history, limit as usize).map_or(JsValue::NULL, |json| JsValue::from_str(&json))
    });
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &JsValue::from_str("shopfrontDeviceFeed"), feed.as_ref());
    }
    // Lives as long as the page.
    feed.forget();
}
