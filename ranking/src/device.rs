//! What the app downloads to rank on the device: the build's most popular items as a [`Cell`], the
//! shopper's weights, locale and rules, and cells of single products' rows. With these the app runs
//! the same [`crate::answer`] functions as the edge, so its answers equal the edge's for the same
//! candidates, and keep working offline.

use serde::{Deserialize, Serialize};

use crate::catalog::Product;
use crate::columns::CellItems;
use crate::index::ItemIndex;
use crate::ivf::Cell;
use crate::kv::{Blob, Kind};
use crate::lexical::LexicalData;
use crate::locale::Locale;
use crate::rules::Rules;
use crate::weights::Weights;

/// Most popular items in the device pack (each costs ~0.6 KB of vectors and ~0.4 KB of card, lists
/// and keywords, compressed: the whole pack stays near 250 KB on the wire).
pub const PACK_ITEMS: usize = 300;

/// Most products one rows request may name: the app asks for the one product being viewed (with
/// its related items); more would let one request read many cells of a partitioned build.
pub const MAX_ROWS_IDS: usize = 1;

/// `GET /api/pack`: everything the device needs to rank like the edge for this shopper's variant,
/// country and currency. Not personal: the same for every shopper of one variant and country.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicePack {
    pub index_version: String,
    pub variant: String,
    pub weights: Weights,
    pub country: Option<String>,
    /// The explicit currency choice the pack was asked for, if any.
    pub currency: Option<String>,
    pub locale: Option<Locale>,
    pub rules: Option<Rules>,
    /// The build's `pack` value as stored: a KV-encoded [`Cell`] of the most popular items. Kept
    /// encoded so the edge serves it without decoding; the app decodes it with [`crate::kv::decode`].
    #[serde(with = "serde_bytes")]
    pub cell: Vec<u8>,
}

impl Blob for DevicePack {
    const KIND: Kind = Kind::DevicePack;
}

/// Where rows come from: a whole catalog's item index (whose row numbers are the global numbers), or
/// an IVF cell's items with the global number of each row.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Index(&'a ItemIndex),
    Cell { items: &'a CellItems, globals: &'a [u32] },
}

impl Source<'_> {
    fn dims(&self) -> (usize, usize) {
        match self {
            Source::Index(items) => (items.vectors.dim as usize, items.content.dim as usize),
            Source::Cell { items, .. } => (items.vectors.dim as usize, items.content.dim as usize),
        }
    }

    fn is_consistent(&self) -> bool {
        match self {
            Source::Index(items) => items.is_consistent(),
            Source::Cell { items, globals } => items.is_consistent() && globals.len() == items.len(),
        }
    }

    fn position(&self, id: &str) -> Option<usize> {
        match self {
            Source::Index(items) => items.position(id),
            Source::Cell { items, .. } => (0..items.len()).find(|&r| items.id(r) == Some(id)),
        }
    }

    fn global(&self, row: usize) -> Option<u32> {
        match self {
            Source::Index(_) => u32::try_from(row).ok(),
            Source::Cell { globals, .. } => globals.get(row).copied(),
        }
    }

    fn row_of_global(&self, g: u32) -> Option<usize> {
        match self {
            Source::Index(items) => ((g as usize) < items.len()).then_some(g as usize),
            // Cells hold consecutive numbers except the popular cell: try the offset first.
            Source::Cell { globals, .. } => {
                let first = *globals.first()?;
                let guess = g.checked_sub(first).map(|d| d as usize);
                match guess {
                    Some(r) if globals.get(r) == Some(&g) => Some(r),
                    _ => globals.iter().position(|&x| x == g),
                }
            }
        }
    }

    /// Global numbers row `r`'s similar and bought-together lists name.
    fn related(&self, r: usize) -> Vec<u32> {
        let (similar, bought): (&[u32], &[(u32, f32)]) = match self {
            Source::Index(items) => (&items.similar[r], &items.bought_together[r]),
            Source::Cell { items, .. } => (items.similar.get(r), items.bought_together.get(r)),
        };
        similar.iter().copied().chain(bought.iter().map(|&(j, _)| j)).collect()
    }

    /// Appends row `r` to `out`, lists kept when `lists` (stored references are global numbers
    /// already, as an index's row numbers are); whether the row was there to append.
    fn push_into(&self, out: &mut CellItems, r: usize, lists: bool) -> bool {
        match self {
            Source::Index(items) if r < items.len() => {
                out.push(crate::columns::index_row(items, r), lists, Some);
                true
            }
            Source::Cell { items, .. } => match items.row(r) {
                Some(row) => {
                    out.push(row.as_row(items), lists, Some);
                    true
                }
                None => false,
            },
            Source::Index(_) => false,
        }
    }
}

/// The rows of `ids` (their neighbour, similar and bought-together lists kept, in global numbers)
/// and, with `related`, the rows their similar and bought-together lists name (lists dropped), from
/// whichever source holds them, as one cell with a keyword index over the cards.
///
/// Contract: unknown ids and references to rows no source holds are skipped; an item appears once;
/// sources whose vector dimension differs from the first are ignored; at most [`MAX_ROWS_IDS`] ids
/// are read. Never panics.
pub fn rows_cell(sources: &[Source<'_>], ids: &[&str], related: bool) -> Cell {
    let dims = sources.first().map_or((1, 1), Source::dims);
    let usable: Vec<&Source<'_>> = sources.iter().filter(|s| s.is_consistent() && s.dims() == dims).collect();
    let mut items = CellItems::empty(dims.0, dims.1);
    let mut globals: Vec<u32> = Vec::new();
    let mut push = |items: &mut CellItems, s: &Source<'_>, r: usize, lists: bool| {
        let Some(g) = s.global(r) else { return };
        if !globals.contains(&g) && s.push_into(items, r, lists) {
            globals.push(g);
        }
    };
    let mut wanted: Vec<u32> = Vec::new();
    for id in ids.iter().take(MAX_ROWS_IDS) {
        let Some((s, r)) = usable.iter().find_map(|s| Some((*s, s.position(id)?))) else { continue };
        push(&mut items, s, r, true);
        if related {
            wanted.extend(s.related(r));
        }
    }
    for g in wanted {
        if let Some((s, r)) = usable.iter().find_map(|s| Some((*s, s.row_of_global(g)?))) {
            push(&mut items, s, r, false);
        }
    }
    let lexical = LexicalData::build_cards(&items);
    Cell { globals, items, lexical }
}

/// The device pack's cell: the [`PACK_ITEMS`] most purchased items of `index` (rows in `products`
/// order; `global[i]` is row `i`'s global number), lists kept, keywords over the full products.
pub fn pack_cell(products: &[Product], index: &ItemIndex, global: &[u32]) -> Cell {
    let n = index.len().min(products.len()).min(global.len());
    let mut rows: Vec<usize> = (0..n).collect();
    crate::order::sort_by(&mut rows, |&a, &b| {
        index.cards[b].purchases.cmp(&index.cards[a].purchases).then(a.cmp(&b))
    });
    rows.truncate(PACK_ITEMS);
    Cell::of_rows(products, index, &rows, global)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivf::{self, OpenCell};
    use crate::rows::Rows;

    fn products(n: usize) -> Vec<Product> {
        (0..n)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "id": format!("p{i}"), "title": format!("Chair {i}"), "category": ["Furniture"],
                    "price": {"amount": 10.0 + i as f64, "currency": "USD"}
                }))
                .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect()
    }

    #[test]
    fn rows_of_unknown_products_do_not_hide_the_pack_in_a_merge() {
        let ps = products(5);
        let mut index = ItemIndex::plain(&ps, &[5, 4, 3, 2, 1]);
        // Real vectors have more than the one dimension an empty cell gets.
        let mut vectors = crate::vector::Vectors::new(4);
        (0..5).for_each(|i| vectors.push(&[1.0, i as f32, 0.5, 0.0]));
        index.content = vectors.clone();
        index.vectors = vectors;
        let identity: Vec<u32> = (0..5).collect();
        let pack = OpenCell::new(pack_cell(&ps, &index, &identity)).expect("consistent pack");
        // No source holds the id: an empty cell whose dimension is a placeholder.
        let unknown = OpenCell::new(rows_cell(&[], &["nope"], true)).expect("consistent empty cell");
        assert!(unknown.items.is_empty());
        for cells in [vec![&unknown, &pack], vec![&pack, &unknown]] {
            assert_eq!(ivf::Cells::new(&cells).len(), 5);
        }
        // Known rows keep global numbers and appear once, however often they are named.
        let source = [Source::Index(&index)];
        assert_eq!(rows_cell(&source, &["p3"], false).globals, vec![3]);
        // Ids past the cap are not read.
        assert_eq!(rows_cell(&source, &["p3", "p1"], false).globals, vec![3]);
    }
}
