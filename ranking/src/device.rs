//! What the app downloads to rank on the device: the build's most popular items as a [`Cell`], the
//! shopper's weights, locale and rules, and cells of single products' rows. With these the app runs
//! the same [`crate::answer`] functions as the edge, so its answers equal the edge's for the same
//! candidates, and keep working offline.

use serde::{Deserialize, Serialize};

use crate::catalog::Product;
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
    pub cell: Vec<u8>,
}

impl Blob for DevicePack {
    const KIND: Kind = Kind::DevicePack;
}

/// Where rows come from: an item index and, for an IVF cell, the global number of each row (`None`:
/// a whole catalog's index, whose row numbers are the global numbers).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub items: &'a ItemIndex,
    pub globals: Option<&'a [u32]>,
}

impl Source<'_> {
    fn global(&self, row: usize) -> Option<u32> {
        match self.globals {
            Some(g) => g.get(row).copied(),
            None => u32::try_from(row).ok(),
        }
    }

    fn row_of_global(&self, g: u32) -> Option<usize> {
        match self.globals {
            // Cells hold consecutive numbers except the popular cell: try the offset first.
            Some(globals) => {
                let first = *globals.first()?;
                let guess = g.checked_sub(first).map(|d| d as usize);
                match guess {
                    Some(r) if globals.get(r) == Some(&g) => Some(r),
                    _ => globals.iter().position(|&x| x == g),
                }
            }
            None => ((g as usize) < self.items.len()).then_some(g as usize),
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
    let dim = sources.first().map_or(1, |s| s.items.vectors.dim as usize);
    let content_dim = sources.first().map_or(1, |s| s.items.content.dim as usize);
    let usable: Vec<&Source<'_>> = sources
        .iter()
        .filter(|s| {
            s.items.is_consistent()
                && s.items.vectors.dim as usize == dim
                && s.items.content.dim as usize == content_dim
        })
        .collect();
    let mut items = ItemIndex::empty(dim, content_dim);
    let mut globals: Vec<u32> = Vec::new();
    let mut push = |items: &mut ItemIndex, s: &Source<'_>, r: usize, lists: bool| {
        let Some(g) = s.global(r) else { return };
        if globals.contains(&g) {
            return;
        }
        globals.push(g);
        // Stored references are global numbers already (an index's row numbers are, too).
        items.push_row(s.items, r, lists, Some);
    };
    let mut wanted: Vec<u32> = Vec::new();
    for id in ids.iter().take(MAX_ROWS_IDS) {
        let Some((s, r)) = usable.iter().find_map(|s| Some((*s, s.items.position(id)?))) else { continue };
        push(&mut items, s, r, true);
        if related {
            wanted.extend(s.items.similar[r].iter().copied());
            wanted.extend(s.items.bought_together[r].iter().map(|&(j, _)| j));
        }
    }
    for g in wanted {
        if let Some((s, r)) = usable.iter().find_map(|s| Some((*s, s.row_of_global(g)?))) {
            push(&mut items, s, r, false);
        }
    }
    let lexical = LexicalData::build_cards(&items.cards);
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
        let source = [Source { items: &index, globals: None }];
        assert_eq!(rows_cell(&source, &["p3"], false).globals, vec![3]);
        // Ids past the cap are not read.
        assert_eq!(rows_cell(&source, &["p3", "p1"], false).globals, vec![3]);
    }
}
