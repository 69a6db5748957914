//! The on-device ranking engine: the edge's pack (most popular products, this shopper's weights,
//! locale and rules) and the rows of viewed products, merged into one view that the very functions
//! the edge answers with ([`ranking::answer`]) rank.
//!
//! Why a module of its own: the app's first paint needs none of this, and ranking is a third of the
//! app's code; the app imports this module once it has started (as it downloads the pack) and calls
//! it synchronously from then on. The wasm interface is [`install_pack`], [`install_rows`],
//! [`has_rows`], [`feed`] and [`search`]: bytes and strings in (a history in
//! [`ranking::history`]'s form, a search as a [`EngineSearch`] in JSON), the edge's JSON answers out,
//! so the app reads device and edge answers with the same code. [`Device`] is the same engine as a
//! Rust type.

use std::cell::RefCell;

use ranking::answer::{self, Ctx, SearchParams};
use ranking::device::DevicePack;
use ranking::ivf::{self, Cell, OpenCell};
use ranking::search::SearchIndex;
use ranking::wire::{EngineSearch, FeedResponse, SearchResponse};
use ranking::{Event, kv};
use wasm_bindgen::prelude::wasm_bindgen;

/// Rows cells kept (one per viewed product); the oldest go first.
pub const MAX_ROWS: usize = 60;

/// The pack and the rows of viewed products.
#[derive(Debug, Default)]
pub struct Device {
    pack: Option<(DevicePack, OpenCell)>,
    /// `(product id, its rows)`, most recent last.
    rows: Vec<(String, OpenCell)>,
}

impl Device {
    /// Decodes and installs a pack (`/api/pack`), dropping rows from another index version.
    pub fn install_pack(&mut self, bytes: &[u8]) -> Result<(), String> {
        let pack = kv::decode::<DevicePack>(bytes).map_err(|e| format!("pack: {e}"))?;
        let cell = kv::decode::<Cell>(&pack.cell).map_err(|e| format!("pack cell: {e}"))?;
        let cell = OpenCell::new(cell).ok_or("pack cell is inconsistent")?;
        if self.pack.as_ref().is_some_and(|(p, _)| p.index_version != pack.index_version) {
            self.rows.clear();
        }
        self.pack = Some((pack, cell));
        Ok(())
    }

    /// Decodes and keeps the rows of product `id` (`/api/rows?ids=<id>&related=true`).
    pub fn install_rows(&mut self, id: &str, bytes: &[u8]) -> Result<(), String> {
        let cell = kv::decode::<Cell>(bytes).map_err(|e| format!("rows of {id}: {e}"))?;
        let cell = OpenCell::new(cell).ok_or_else(|| format!("rows of {id} are inconsistent"))?;
        if cell.items.is_empty() {
            // Not in this build (a product from an older one): nothing to rank with.
            return Ok(());
        }
        self.rows.retain(|(i, _)| i != id);
        self.rows.push((id.to_owned(), cell));
        if self.rows.len() > MAX_ROWS {
            self.rows.remove(0);
        }
        Ok(())
    }

    pub fn has_rows(&self, id: &str) -> bool {
        self.rows.iter().any(|(i, _)| i == id)
    }

    /// Runs `f` over the pack and every rows cell (ranked where they lie), with the pack's context.
    /// `None` without a pack.
    fn with_cells<R>(&self, now: i64, f: impl FnOnce(&ivf::Cells<'_>, Ctx<'_>) -> R) -> Option<R> {
        let (pack, cell) = self.pack.as_ref()?;
        // The pack first, then the rows, newest first: an item in several keeps its first row, and
        // every copy of a history item carries its lists in global numbers.
        let mut cells: Vec<&OpenCell> = vec![cell];
        cells.extend(self.rows.iter().rev().map(|(_, c)| c));
        let cells = ivf::Cells::new(&cells);
        let ctx = Ctx {
            version: &pack.index_version,
            country: pack.country.as_deref(),
            now,
            variant: &pack.variant,
            weights: &pack.weights,
            currency: pack.currency.as_deref(),
            locale: pack.locale.as_ref(),
            rules: pack.rules.as_ref(),
        };
        Some(f(&cells, ctx))
    }

    /// The home feed for `history` (most recent first) over the candidates on the device, as the
    /// edge would answer it; `now` in Unix seconds.
    pub fn feed(&self, history: &[(String, Event)], limit: usize, now: i64) -> Option<FeedResponse> {
        self.with_cells(now, |cells, ctx| answer::feed(cells, history, limit, ctx))
    }

    /// Search over the candidates on the device (keyword ranking: the query model stays on the
    /// edge), marked `approximate`.
    pub fn search(&self, params: &SearchParams, now: i64) -> Option<SearchResponse> {
        self.with_cells(now, |cells, ctx| {
            let index = SearchIndex::cells(cells, None, None);
            let mut found = answer::search(index, params, ctx);
            found.approximate = true;
            found
        })
    }
}

thread_local! {
    static DEVICE: RefCell<Device> = RefCell::new(Device::default());
}

/// Installs a pack; throws a message saying what is wrong with it.
#[wasm_bindgen]
pub fn install_pack(bytes: &[u8]) -> Result<(), String> {
    DEVICE.with_borrow_mut(|d| d.install_pack(bytes))
}

/// Keeps the rows of product `id`; throws a message saying what is wrong with them.
#[wasm_bindgen]
pub fn install_rows(id: &str, bytes: &[u8]) -> Result<(), String> {
    DEVICE.with_borrow_mut(|d| d.install_rows(id, bytes))
}

#[wasm_bindgen]
pub fn has_rows(id: &str) -> bool {
    DEVICE.with_borrow(|d| d.has_rows(id))
}

/// A history in [`ranking::history`]'s form (`id:event,…`, most recent first), as the app sends it
/// to the edge too.
fn history(raw: &str) -> Result<Vec<(String, Event)>, String> {
    ranking::history::decode(raw, usize::MAX).map_err(|e| format!("history: {e}"))
}

fn json<T: serde::Serialize>(value: Option<T>) -> Result<Option<String>, String> {
    value.map(|v| serde_json::to_string(&v).map_err(|e| e.to_string())).transpose()
}

/// `/api/feed`'s JSON answer ranked on the device, `undefined` without a pack.
#[wasm_bindgen]
pub fn feed(history_raw: &str, limit: u32, now: f64) -> Result<Option<String>, String> {
    let history = history(history_raw)?;
    json(DEVICE.with_borrow(|d| d.feed(&history, limit as usize, now as i64)))
}

/// `/api/search`'s JSON answer over the device's candidates, `undefined` without a pack. Takes an
/// [`EngineSearch`] as JSON; throws a message for one that does not read, such as an unknown sort
/// (refused as the edge refuses it).
#[wasm_bindgen]
pub fn search(request_json: &str) -> Result<Option<String>, String> {
    let request = request(request_json)?;
    let now = request.now;
    json(DEVICE.with_borrow(|d| d.search(&SearchParams::from(request), now)))
}

fn request(json: &str) -> Result<EngineSearch, String> {
    serde_json::from_str(json).map_err(|e| format!("search request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_data_is_refused_with_a_message_and_nothing_changes() {
        let mut d = Device::default();
        assert!(d.install_pack(b"not a pack").unwrap_err().starts_with("pack: "));
        assert!(d.install_rows("p1", &[]).unwrap_err().starts_with("rows of p1: "));
        assert!(!d.has_rows("p1"));
        assert_eq!(d.feed(&[], 10, 0), None, "no pack, no answer");
        assert!(history(":view").is_err());
        assert_eq!(
            history("p1:view,p2:cart").unwrap(),
            vec![("p1".to_owned(), Event::View), ("p2".to_owned(), Event::Cart)]
        );
        assert!(request("{").is_err());
    }

    #[test]
    fn an_unknown_sort_is_refused_like_the_edge_does() {
        let ok = r#"{"q":"chair","sort":"newest","page":1,"limit":10,"history":"p1:cart","now":0}"#;
        let r = request(ok).unwrap();
        assert_eq!((r.sort, r.history.len()), (ranking::search::Sort::Newest, 1));
        assert_eq!(search(ok), Ok(None), "no pack, no answer");
        let err = search(&ok.replace("newest", "cheapest")).unwrap_err();
        assert!(err.contains("sort must be relevance, price_asc, price_desc or newest"), "{err}");
    }
}
