//! Ranking on the device: the edge's pack (most popular products, this shopper's weights, locale and
//! rules) and the rows of viewed products, merged into one view that the very functions the edge
//! answers with ([`ranking::answer`]) rank. Feeds re-rank here after every product view, with no
//! network round trip, and search keeps working offline over these candidates.

use std::cell::RefCell;

use ranking::answer::{self, Ctx, SearchParams};
use ranking::api::{FeedResponse, SearchResponse};
use ranking::device::DevicePack;
use ranking::ivf::{self, Cell, OpenCell};
use ranking::search::Catalog;
use ranking::{Event, kv};

/// Rows cells kept (one per viewed product); the oldest go first.
const MAX_ROWS: usize = 60;

#[derive(Default)]
struct Device {
    pack: Option<(DevicePack, OpenCell)>,
    /// `(product id, its rows)`, most recent last.
    rows: Vec<(String, OpenCell)>,
}

thread_local! {
    static DEVICE: RefCell<Device> = RefCell::new(Device::default());
}

/// Why downloaded ranking data was not used.
#[derive(Debug)]
pub struct Unusable(pub String);

/// Decodes and installs the pack (replacing rows from another index version).
pub fn install_pack(bytes: &[u8]) -> Result<(), Unusable> {
    let pack = kv::decode::<DevicePack>(bytes).map_err(|e| Unusable(format!("pack: {e}")))?;
    let cell = kv::decode::<Cell>(&pack.cell).map_err(|e| Unusable(format!("pack cell: {e}")))?;
    let cell = OpenCell::new(cell).ok_or_else(|| Unusable("pack cell is inconsistent".into()))?;
    DEVICE.with_borrow_mut(|d| {
        if d.pack.as_ref().is_some_and(|(p, _)| p.index_version != pack.index_version) {
            d.rows.clear();
        }
        d.pack = Some((pack, cell));
    });
    Ok(())
}

/// Decodes and keeps the rows of product `id`.
pub fn install_rows(id: &str, bytes: &[u8]) -> Result<(), Unusable> {
    let cell = kv::decode::<Cell>(bytes).map_err(|e| Unusable(format!("rows of {id}: {e}")))?;
    let cell = OpenCell::new(cell).ok_or_else(|| Unusable(format!("rows of {id} are inconsistent")))?;
    if cell.items.is_empty() {
        // Not in this build (a product from an older one): nothing to rank with.
        return Ok(());
    }
    DEVICE.with_borrow_mut(|d| {
        d.rows.retain(|(i, _)| i != id);
        d.rows.push((id.to_owned(), cell));
        if d.rows.len() > MAX_ROWS {
            d.rows.remove(0);
        }
    });
    Ok(())
}

pub fn has_rows(id: &str) -> bool {
    DEVICE.with_borrow(|d| d.rows.iter().any(|(i, _)| i == id))
}

fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// Runs `f` over the merged view of the pack and every rows cell, with the pack's context. `None`
/// without a pack.
fn with_view<R>(lists_for: &[&str], f: impl FnOnce(&ivf::View<'_>, Ctx<'_>) -> R) -> Option<R> {
    DEVICE.with_borrow(|d| {
        let (pack, cell) = d.pack.as_ref()?;
        // The pack first, then the rows, newest first: an item in several keeps its first row, and
        // every copy of a history item carries its lists in global numbers.
        let mut cells: Vec<&OpenCell> = vec![cell];
        cells.extend(d.rows.iter().rev().map(|(_, c)| c));
        let view = ivf::merge(&cells, lists_for);
        let ctx = Ctx {
            version: &pack.index_version,
            country: pack.country.as_deref(),
            now: now(),
            variant: &pack.variant,
            weights: &pack.weights,
            currency: pack.currency.as_deref(),
            locale: pack.locale.as_ref(),
            rules: pack.rules.as_ref(),
        };
        Some(f(&view, ctx))
    })
}

/// The home feed for `history` over the candidates on the device, as the edge would answer it.
pub fn feed(history: &[(String, Event)], limit: usize) -> Option<FeedResponse> {
    let ids: Vec<&str> = history.iter().map(|(id, _)| id.as_str()).collect();
    with_view(&ids, |view, ctx| answer::feed(&view.items, history, limit, ctx))
}

/// Search over the candidates on the device (keyword ranking: the query model stays on the edge).
pub fn search(params: &SearchParams) -> Option<SearchResponse> {
    let ids: Vec<&str> = params.history.iter().map(|(id, _)| id.as_str()).collect();
    with_view(&ids, |view, ctx| {
        let cat = Catalog::view(view, None, None);
        let mut found = answer::search(cat, params, ctx);
        found.approximate = true;
        found
    })
}

/// Bumped whenever the pack or rows change, so views that rank on the device re-run.
#[derive(Debug, Clone, Copy)]
pub struct DeviceGen(pub leptos::prelude::RwSignal<u32>);
