//! Every network call the app makes: the storefront API, same origin. Pages call these and nothing
//! else. History rides only in the `X-History` header (never in a URL, so never in a cache key or an
//! access log), and only when the caller passes it, which [`crate::store::Store::history_header`]
//! does only with personalization on.

use gloo_net::http::{Request, RequestBuilder, Response};
use leptos::prelude::{GetUntracked, Set};
use ranking::wire::{
    CategoriesResponse, CheckoutRequest, CheckoutResponse, CheckoutStatus, FeedResponse, Problem,
    ProductResponse, RelatedResponse, SearchResponse, SuggestResponse,
};
use serde::de::DeserializeOwned;

use crate::i18n::{Lang, Msg, t};
use crate::store::Store;

/// Why an API call failed, worded for the shopper by [`FetchError::message`].
#[derive(Debug, Clone, PartialEq)]
pub enum FetchError {
    /// No answer at all (offline, server down).
    Network,
    /// The API answered with an error; `detail` comes from its problem+json body.
    Status { status: u16, detail: String, fallback: Option<Box<FeedResponse>> },
    /// The answer could not be read.
    Decode,
}

impl FetchError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            FetchError::Network => t(lang, Msg::ErrNetwork).into(),
            FetchError::Status { status: 404, .. } => t(lang, Msg::ErrNotFound).into(),
            FetchError::Status { status, detail, .. } if *status < 500 => {
                format!("{} {detail}", t(lang, Msg::ErrBadRequest))
            }
            FetchError::Status { .. } => t(lang, Msg::ErrServer).into(),
            FetchError::Decode => t(lang, Msg::ErrDecode).into(),
        }
    }
}

/// How often the app checks whether the shop is back after a request failed for want of a network.
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

thread_local! {
    static PROBE: std::cell::Cell<Option<leptos::prelude::IntervalHandle>> = const { std::cell::Cell::new(None) };
}

/// Notes that the shop could not be reached. Answers from the HTTP cache still arrive while offline,
/// so only a request that bypasses every cache says the shop is back: it is retried every
/// [`PROBE_EVERY`] until it gets through.
fn went_offline(store: Store) {
    if !store.online.get_untracked() {
        return;
    }
    store.online.set(false);
    let check = move || {
        leptos::task::spawn_local(async move {
            let req = Request::get("/api/categories").cache(web_sys::RequestCache::NoStore);
            let back = matches!(req.send().await, Ok(r) if r.headers().get("x-offline").is_none());
            if back {
                store.online.set(true);
                if let Some(h) = PROBE.take() {
                    h.clear();
                }
            }
        });
    };
    if let Ok(handle) = leptos::prelude::set_interval_with_handle(check, PROBE_EVERY) {
        PROBE.set(Some(handle));
    }
}

/// Sends a request with the shopper's country and currency; a network failure or the service
/// worker's offline copy (`x-offline`) marks the app offline.
/// `body`: JSON to POST (the request is a GET without it).
async fn send(store: Store, req: RequestBuilder, body: Option<&str>) -> Result<Response, FetchError> {
    let req = req.query(store.locale_query());
    let sent = match body {
        None => req.send().await,
        Some(json) => match req.header("content-type", "application/json").body(json) {
            Ok(r) => r.send().await,
            Err(_) => return Err(FetchError::Decode),
        },
    };
    let resp = match sent {
        Ok(r) => r,
        Err(_) => {
            went_offline(store);
            return Err(FetchError::Network);
        }
    };
    let offline = resp.headers().get("x-offline").is_some();
    if offline {
        went_offline(store);
    }
    if !resp.ok() {
        let status = resp.status();
        // The service worker's "nothing cached" answer is a network failure to the shopper.
        if offline {
            return Err(FetchError::Network);
        }
        return Err(match resp.json::<Problem>().await {
            Ok(p) => FetchError::Status { status, detail: p.detail, fallback: p.fallback.map(Box::new) },
            Err(_) => FetchError::Status { status, detail: resp.status_text(), fallback: None },
        });
    }
    Ok(resp)
}

async fn get_json<T: DeserializeOwned>(store: Store, req: RequestBuilder) -> Result<T, FetchError> {
    send(store, req, None).await?.json::<T>().await.map_err(|_| FetchError::Decode)
}

async fn get_bytes(store: Store, req: RequestBuilder) -> Result<Vec<u8>, FetchError> {
    send(store, req, None).await?.binary().await.map_err(|_| FetchError::Decode)
}

fn with_history(req: RequestBuilder, history: Option<&str>) -> RequestBuilder {
    match history {
        Some(h) => req.header("x-history", h),
        None => req,
    }
}

fn segment(id: &str) -> String {
    String::from(js_sys::encode_uri_component(id))
}

/// The home feed's sections, personal when a history is given.
pub async fn feed(store: Store, limit: usize, history: Option<String>) -> Result<FeedResponse, FetchError> {
    let req = Request::get("/api/feed").query([("limit", limit.to_string())]);
    get_json(store, with_history(req, history.as_deref())).await
}

pub async fn search(
    store: Store,
    query: &ranking::wire::SearchQuery,
    history: Option<String>,
) -> Result<SearchResponse, FetchError> {
    let req = Request::get("/api/search").query(query.pairs());
    get_json(store, with_history(req, history.as_deref())).await
}

pub async fn suggest(store: Store, q: &str) -> Result<SuggestResponse, FetchError> {
    get_json(store, Request::get("/api/suggest").query([("q", q)])).await
}

pub async fn categories(store: Store) -> Result<CategoriesResponse, FetchError> {
    get_json(store, Request::get("/api/categories")).await
}

pub async fn product(store: Store, id: &str) -> Result<ProductResponse, FetchError> {
    get_json(store, Request::get(&format!("/api/products/{}", segment(id)))).await
}

/// Similar items, or with `bought_together` the items bought in the same orders.
pub async fn related(store: Store, id: &str, bought_together: bool) -> Result<RelatedResponse, FetchError> {
    let which = if bought_together { "bought-together" } else { "similar" };
    get_json(store, Request::get(&format!("/api/products/{}/{which}", segment(id)))).await
}

/// Whether the shop takes payments (the cart shows its checkout button only then).
pub async fn checkout_status(store: Store) -> Result<CheckoutStatus, FetchError> {
    get_json(store, Request::get("/api/checkout")).await
}

/// Asks the edge to price the cart and open a payment session; the answer's URL is where to pay.
/// Only ids and quantities are sent: the edge prices every line itself.
pub async fn checkout(store: Store, cart: &CheckoutRequest) -> Result<CheckoutResponse, FetchError> {
    let body = serde_json::to_string(cart).map_err(|_| FetchError::Decode)?;
    let resp = send(store, Request::post("/api/checkout"), Some(&body)).await?;
    resp.json::<CheckoutResponse>().await.map_err(|_| FetchError::Decode)
}

/// Leaves the shop for the payment page.
pub fn go_to(url: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(url);
    }
}

/// Sends a batch of events (`ranking::events::EventBatch` as JSON); `Ok` once the edge accepted it
/// (202, stored now or before).
pub async fn send_events(store: Store, batch: &str) -> Result<(), FetchError> {
    send(store, Request::post("/api/events"), Some(batch)).await.map(|_| ())
}

/// Hands a batch to the browser to send even as the page goes away (`navigator.sendBeacon`, a
/// `text/plain` POST the edge reads as JSON). Nothing comes back: the batch stays waiting until a
/// later [`send_events`] is answered.
pub fn beacon_events(batch: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().send_beacon_with_opt_str("/api/events", Some(batch));
    }
}

/// The device pack (binary, decoded by [`crate::device`]).
pub async fn pack(store: Store) -> Result<Vec<u8>, FetchError> {
    get_bytes(store, Request::get("/api/pack")).await
}

/// The rows of one product and its related items (binary): asked one viewed product at a time, so
/// no history rides along.
pub async fn rows(store: Store, id: &str) -> Result<Vec<u8>, FetchError> {
    get_bytes(store, Request::get("/api/rows").query([("ids", id), ("related", "true")])).await
}

#[wasm_bindgen::prelude::wasm_bindgen(inline_js = "
export function import_engine(url) {
  return import(url).then(async (m) => { await m.default(); return m; });
}")]
extern "C" {
    /// Imports the engine's JS module and instantiates its wasm.
    fn import_engine(url: &str) -> js_sys::Promise;
}

/// Where the build put the engine module: `<meta name=\"shopfront-engine\" content=…>` in the shell.
fn engine_url() -> Option<String> {
    let meta = web_sys::window()?.document()?.query_selector("meta[name=shopfront-engine]").ok()??;
    // Only a module of this origin: `//host/…` would load code from another.
    meta.get_attribute("content").filter(|u| ranking::catalog::is_own_path(u))
}

/// The on-device ranking engine (`engine/`, a second wasm module; see [`crate::device`]). Cached by
/// the service worker like the app's own files.
pub async fn engine() -> Result<crate::device::Engine, FetchError> {
    use wasm_bindgen::JsCast;
    let url = engine_url().ok_or(FetchError::Decode)?;
    let module =
        wasm_bindgen_futures::JsFuture::from(import_engine(&url)).await.map_err(|_| FetchError::Network)?;
    Ok(module.unchecked_into())
}

#[wasm_bindgen::prelude::wasm_bindgen(inline_js = "
export function forget_api_answers() {
  if (!self.caches) return Promise.resolve();
  return caches.keys().then((keys) => Promise.all(keys.filter((k) => k.startsWith('api-')).map((k) => caches.delete(k))));
}")]
extern "C" {
    fn forget_api_answers() -> js_sys::Promise;
}

/// Deletes every API answer the service worker kept (viewed products, rows, searches): called when
/// the shopper clears their history, so no trail of it stays on the device.
pub fn forget_offline_answers() {
    wasm_bindgen_futures::spawn_local(async {
        let _ = wasm_bindgen_futures::JsFuture::from(forget_api_answers()).await;
    });
}

/// Offline support: installs `/sw.js` (public/sw.js), which caches the shell, the assets and the last
/// non-personal API answers.
pub fn register_service_worker() {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else { return };
    // Absent outside secure contexts; calling into it there would throw.
    if js_sys::Reflect::has(&navigator, &wasm_bindgen::JsValue::from_str("serviceWorker")).unwrap_or(false) {
        let _ = navigator.service_worker().register("/sw.js");
    }
}
