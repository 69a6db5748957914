//! Ranking on the device, through the engine module (`engine/`): the edge's pack and the rows of
//! viewed products, ranked by the very functions the edge answers with. Feeds re-rank here after
//! every product view, with no network round trip, and search keeps working offline over these
//! candidates.
//!
//! The engine is a second wasm module, imported with the pack once the app has started, by
//! [`crate::client::engine`]; until it (and a pack) is in, every function here answers "nothing on
//! the device" and the edge ranks alone. Requests cross in `ranking`'s wire forms (the history codec,
//! [`EngineSearch`] as JSON); answers as the edge's own JSON, so the app reads them with the same code.

use std::cell::RefCell;

use ranking::Event;
use ranking::search::Sort;
use ranking::wire::{EngineSearch, FeedResponse, SearchQuery, SearchResponse};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The engine module's exports (see `engine/src/lib.rs`).
    #[derive(Debug, Clone)]
    pub type Engine;
    #[wasm_bindgen(method, catch)]
    fn install_pack(this: &Engine, bytes: &[u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn install_rows(this: &Engine, id: &str, bytes: &[u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(method)]
    fn has_rows(this: &Engine, id: &str) -> bool;
    #[wasm_bindgen(method, catch)]
    fn feed(this: &Engine, history: &str, limit: u32, now: f64) -> Result<Option<String>, JsValue>;
    /// `request`: an [`EngineSearch`] as JSON.
    #[wasm_bindgen(method, catch)]
    fn search(this: &Engine, request: &str) -> Result<Option<String>, JsValue>;
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// Why downloaded ranking data was not used.
#[derive(Debug)]
pub struct Unusable(pub String);

fn unusable(e: JsValue) -> Unusable {
    Unusable(e.as_string().unwrap_or_else(|| "the engine failed".into()))
}

fn engine() -> Option<Engine> {
    ENGINE.with_borrow(Clone::clone)
}

/// Installs the engine module and the pack for it.
pub fn install(module: Engine, pack: &[u8]) -> Result<(), Unusable> {
    module.install_pack(pack).map_err(unusable)?;
    ENGINE.set(Some(module));
    Ok(())
}

/// Decodes and keeps the rows of product `id` (nothing to do before the engine is in).
pub fn install_rows(id: &str, bytes: &[u8]) -> Result<(), Unusable> {
    let engine = engine().ok_or_else(|| Unusable("no engine yet".into()))?;
    engine.install_rows(id, bytes).map_err(unusable)
}

pub fn has_rows(id: &str) -> bool {
    engine().is_some_and(|e| e.has_rows(id))
}

fn now() -> f64 {
    (js_sys::Date::now() / 1000.0).floor()
}

/// Reads an answer of the engine; a failure is logged and means "nothing on the device".
fn answer<T: serde::de::DeserializeOwned>(result: Result<Option<String>, JsValue>) -> Option<T> {
    match result {
        Ok(json) => json.and_then(|j| serde_json::from_str(&j).ok()),
        Err(e) => {
            leptos::logging::warn!("on-device ranking failed: {}", unusable(e).0);
            None
        }
    }
}

/// The home feed for `history` over the candidates on the device, as the edge would answer it.
pub fn feed(history: &[(String, Event)], limit: usize) -> Option<FeedResponse> {
    answer(engine()?.feed(&ranking::history::encode(history), limit as u32, now()))
}

/// [`feed`] as the engine's JSON, unread (for the browser test's hook).
pub fn feed_json(history: &[(String, Event)], limit: usize) -> Option<String> {
    engine()?.feed(&ranking::history::encode(history), limit as u32, now()).ok().flatten()
}

/// Search over the candidates on the device (keyword ranking: the query model stays on the edge).
/// A price that is not a number is ignored; an unknown sort is refused, as by the edge (nothing on the
/// device).
pub fn search(q: &SearchQuery, limit: usize, history: &[(String, Event)]) -> Option<SearchResponse> {
    let engine = engine()?;
    // serde_json's number reader, which the app links anyway (`str::parse::<f64>` would add ~10 KB).
    let price = |v: &Option<String>| v.as_deref().and_then(|p| serde_json::from_str::<f64>(p.trim()).ok());
    let sort = match q.sort.as_deref().unwrap_or_default().parse::<Sort>() {
        Ok(s) => s,
        Err(e) => {
            leptos::logging::warn!("on-device search refused: {e}");
            return None;
        }
    };
    let request = EngineSearch {
        q: q.q.clone(),
        category: q.category.clone(),
        min_price: price(&q.min_price),
        max_price: price(&q.max_price),
        sort,
        page: q.page,
        limit,
        history: history.to_vec(),
        now: now() as i64,
    };
    let json = serde_json::to_string(&request).ok()?;
    answer(engine.search(&json))
}

/// Bumped whenever the pack or rows change, so views that rank on the device re-run.
#[derive(Debug, Clone, Copy)]
pub struct DeviceGen(pub leptos::prelude::RwSignal<u32>);
