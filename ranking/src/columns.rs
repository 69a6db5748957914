//! An IVF cell's items stored column by column ([`CellItems`]): strings side by side in one buffer
//! each, per-row numbers in one fixed-size record, values many rows share (category paths,
//! currencies, brands, stock regions) once per cell, lists flat. Opening a cell is then a few bulk
//! copies instead of an allocation per string, and a kept cell weighs about its stored bytes; a card
//! is put together only for the items an answer returns.

use serde::{Deserialize, Serialize};

use crate::catalog::{Card, Price};
use crate::index::ItemIndex;
use crate::signals::Signals;
use crate::vector::Vectors;

/// Many strings in one buffer: string `i` is `text[ends[i - 1]..ends[i]]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Strs {
    text: String,
    ends: Vec<u32>,
}

impl Strs {
    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len() as u32);
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// String `i` (`None` out of range or where stored bounds are corrupt).
    pub fn get(&self, i: usize) -> Option<&str> {
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? as usize };
        self.text.get(start..*self.ends.get(i)? as usize)
    }

    fn is_consistent(&self) -> bool {
        self.ends.windows(2).all(|w| w[0] <= w[1])
            && self.ends.last().map_or(0, |&e| e as usize) == self.text.len()
    }
}

/// Many lists in one buffer: list `i` is `items[ends[i - 1]..ends[i]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lists<T> {
    ends: Vec<u32>,
    items: Vec<T>,
}

impl<T> Default for Lists<T> {
    fn default() -> Self {
        Lists { ends: Vec::new(), items: Vec::new() }
    }
}

impl<T: Copy> Lists<T> {
    pub fn push(&mut self, list: impl IntoIterator<Item = T>) {
        self.items.extend(list);
        self.ends.push(self.items.len() as u32);
    }

    /// List `i` (empty out of range or where stored bounds are corrupt).
    pub fn get(&self, i: usize) -> &[T] {
        let start = if i == 0 { Some(0) } else { self.ends.get(i - 1).map(|&e| e as usize) };
        let range = start.zip(self.ends.get(i).map(|&e| e as usize));
        range.and_then(|(s, e)| self.items.get(s..e)).unwrap_or(&[])
    }

    /// `n` lists whose bounds hold.
    pub fn is_consistent(&self, n: usize) -> bool {
        self.ends.len() == n
            && self.ends.windows(2).all(|w| w[0] <= w[1])
            && self.ends.last().map_or(0, |&e| e as usize) == self.items.len()
    }
}

/// One row's numbers, and its shared values by their number in the cell's tables.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub price: f64,
    pub list_price: Option<f64>,
    pub purchases: u32,
    pub quality: f32,
    pub trust: f32,
    pub conversion: f32,
    pub popularity: f32,
    pub created_at: Option<i64>,
    pub currency: u32,
    pub category: u32,
    pub brand: u32,
    pub stock: u32,
}

/// A cell's items by column (see the module). References in the lists are global item numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellItems {
    pub ids: Strs,
    pub titles: Strs,
    pub images: Strs,
    pub facts: Vec<Facts>,
    pub currencies: Vec<String>,
    pub categories: Vec<Vec<String>>,
    pub brands: Vec<Option<String>>,
    /// Regions with stock (see [`Signals::in_stock`]).
    pub stocks: Vec<Option<Vec<String>>>,
    pub vectors: Vectors,
    pub content: Vectors,
    pub neighbours: Lists<(u32, f32)>,
    pub similar: Lists<u32>,
    pub bought_together: Lists<(u32, f32)>,
}

/// The number of `value` in `table`, added when new (a cell has few distinct ones).
fn intern<T: PartialEq + Clone>(table: &mut Vec<T>, value: &T) -> u32 {
    match table.iter().position(|v| v == value) {
        Some(i) => i as u32,
        None => {
            table.push(value.clone());
            (table.len() - 1) as u32
        }
    }
}

impl CellItems {
    /// No rows, vectors of `dim` (`content_dim` for the content space).
    pub fn empty(dim: usize, content_dim: usize) -> CellItems {
        CellItems {
            ids: Strs::default(),
            titles: Strs::default(),
            images: Strs::default(),
            facts: Vec::new(),
            currencies: Vec::new(),
            categories: Vec::new(),
            brands: Vec::new(),
            stocks: Vec::new(),
            vectors: Vectors::new(dim),
            content: Vectors::new(content_dim),
            neighbours: Lists::default(),
            similar: Lists::default(),
            bought_together: Lists::default(),
        }
    }

    /// Appends one item: its card, signals, vectors (codes and scale in each space) and, when
    /// `lists`, its neighbour, similar and bought-together lists with references through `map`
    /// (dropped where it says `None`).
    pub fn push(&mut self, item: Row<'_>, lists: bool, map: impl Fn(u32) -> Option<u32>) {
        let (card, s) = (item.card, item.signals);
        self.ids.push(&card.id);
        self.titles.push(&card.title);
        self.images.push(&card.image);
        self.facts.push(Facts {
            price: card.price.amount,
            list_price: card.list_price,
            purchases: card.purchases,
            quality: s.quality,
            trust: s.trust,
            conversion: s.conversion,
            popularity: s.popularity,
            created_at: s.created_at,
            currency: intern(&mut self.currencies, &card.price.currency),
            category: intern(&mut self.categories, &card.category),
            brand: intern(&mut self.brands, &s.brand),
            stock: intern(&mut self.stocks, &s.in_stock),
        });
        self.vectors.push_codes(item.vector.0, item.vector.1);
        self.content.push_codes(item.content.0, item.content.1);
        let (neighbours, similar, bought) = if lists { item.lists } else { (&[][..], &[][..], &[][..]) };
        self.neighbours.push(neighbours.iter().filter_map(|&(j, w)| Some((map(j)?, w))));
        self.similar.push(similar.iter().filter_map(|&j| map(j)));
        self.bought_together.push(bought.iter().filter_map(|&(j, w)| Some((map(j)?, w))));
    }

    pub fn len(&self) -> usize {
        self.facts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// Every column has one entry per row, every table number names an entry, every buffer's bounds
    /// hold. Values read from KV are checked with this once, when a cell is opened.
    pub fn is_consistent(&self) -> bool {
        let n = self.len();
        let tables_hold = self.facts.iter().all(|f| {
            (f.currency as usize) < self.currencies.len()
                && (f.category as usize) < self.categories.len()
                && (f.brand as usize) < self.brands.len()
                && (f.stock as usize) < self.stocks.len()
        });
        [&self.ids, &self.titles, &self.images].iter().all(|s| s.len() == n && s.is_consistent())
            && tables_hold
            && [&self.vectors, &self.content].iter().all(|v| {
                v.dim <= crate::index::MAX_DIM && v.len() == n && v.codes.len() == n * v.dim as usize
            })
            && self.neighbours.is_consistent(n)
            && self.similar.is_consistent(n)
            && self.bought_together.is_consistent(n)
    }

    pub fn id(&self, r: usize) -> Option<&str> {
        self.ids.get(r)
    }

    pub fn category(&self, r: usize) -> &[String] {
        let c = self.facts.get(r).and_then(|f| self.categories.get(f.category as usize));
        c.map_or(&[], Vec::as_slice)
    }

    pub fn brand(&self, r: usize) -> Option<&str> {
        self.facts.get(r).and_then(|f| self.brands.get(f.brand as usize)?.as_deref())
    }

    /// Regions with stock: `None` without stock data (or for an unknown row).
    pub fn in_stock(&self, r: usize) -> Option<&[String]> {
        self.facts.get(r).and_then(|f| self.stocks.get(f.stock as usize)?.as_deref())
    }

    /// Row `r`'s card, put together from its columns.
    pub fn card(&self, r: usize) -> Option<Card> {
        let f = self.facts.get(r)?;
        Some(Card {
            id: self.ids.get(r)?.to_owned(),
            title: self.titles.get(r)?.to_owned(),
            price: Price { amount: f.price, currency: self.currencies.get(f.currency as usize)?.clone() },
            category: self.category(r).to_vec(),
            image: self.images.get(r)?.to_owned(),
            purchases: f.purchases,
            list_price: f.list_price,
        })
    }

    /// Row `r`'s signals, put together from its columns.
    pub fn signals(&self, r: usize) -> Option<Signals> {
        let f = self.facts.get(r)?;
        Some(Signals {
            quality: f.quality,
            trust: f.trust,
            conversion: f.conversion,
            in_stock: self.in_stock(r).map(<[String]>::to_vec),
            created_at: f.created_at,
            brand: self.brand(r).map(str::to_owned),
            popularity: f.popularity,
        })
    }

    /// Row `r` as [`CellItems::push`] takes it (cards and signals put together).
    pub fn row(&self, r: usize) -> Option<OwnedRow> {
        Some(OwnedRow { card: self.card(r)?, signals: self.signals(r)?, r })
    }

    /// The stored lists of row `r`: neighbours, similar, bought together (global numbers).
    pub fn lists(&self, r: usize) -> Lists3<'_> {
        (self.neighbours.get(r), self.similar.get(r), self.bought_together.get(r))
    }
}

/// A row's neighbour, similar and bought-together lists.
pub type Lists3<'a> = (&'a [(u32, f32)], &'a [u32], &'a [(u32, f32)]);

/// One item as [`CellItems::push`] takes it.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub card: &'a Card,
    pub signals: &'a Signals,
    pub vector: (&'a [i8], f32),
    pub content: (&'a [i8], f32),
    pub lists: Lists3<'a>,
}

/// A [`CellItems`] row with its card and signals put together, to push into another cell.
#[derive(Debug, Clone)]
pub struct OwnedRow {
    card: Card,
    signals: Signals,
    r: usize,
}

impl OwnedRow {
    /// The row to push, reading vectors and lists from `items` (the cell it came from).
    pub fn as_row<'a>(&'a self, items: &'a CellItems) -> Row<'a> {
        let r = self.r;
        Row {
            card: &self.card,
            signals: &self.signals,
            vector: (items.vectors.codes(r), items.vectors.scale(r)),
            content: (items.content.codes(r), items.content.scale(r)),
            lists: items.lists(r),
        }
    }
}

/// Row `r` of a whole item index (which must be consistent, `r` in range) as [`CellItems::push`]
/// takes it.
pub fn index_row(index: &ItemIndex, r: usize) -> Row<'_> {
    Row {
        card: &index.cards[r],
        signals: &index.signals[r],
        vector: (index.vectors.codes(r), index.vectors.scale(r)),
        content: (index.content.codes(r), index.content.scale(r)),
        lists: (&index.neighbours[r], &index.similar[r], &index.bought_together[r]),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::Product;
    use crate::ivf::{Cell, Cells, OpenCell};
    use crate::rows::Rows;

    fn products() -> Vec<Product> {
        [
            r#"{"id":"a","title":"Oak Desk","category":["Furniture","Desks"],"brand":"Bush","price":{"amount":200,"currency":"USD"},"list_price":250,"stock":{"US":3,"DE":0},"created_at":"2026-03-01T00:00:00Z","rating":{"average":4.5,"count":10}}"#,
            r#"{"id":"b","title":"Pen","category":["Office","Pens"],"price":{"amount":2.5,"currency":"EUR"}}"#,
            r#"{"id":"ç-3","title":"Chaise été","category":["Furniture","Chairs"],"brand":"Ikea","price":{"amount":49,"currency":"USD"},"stock":{"EU":1}}"#,
        ]
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
    }

    #[test]
    fn a_cell_reads_back_every_field_of_the_index_it_was_cut_from() {
        let ps = products();
        let mut index = ItemIndex::plain(&ps, &[7, 0, 3]);
        index.vectors = Vectors::new(3);
        index.content = Vectors::new(2);
        for (i, _) in ps.iter().enumerate() {
            index.vectors.push(&[1.0, -(i as f32), 0.5]);
            index.content.push(&[i as f32, 1.0]);
        }
        index.neighbours = vec![vec![(1, 0.5), (2, 0.25)], vec![(0, 0.5)], vec![]];
        index.similar = vec![vec![2, 1], vec![], vec![0]];
        index.bought_together = vec![vec![], vec![(2, 1.5)], vec![(1, 1.5)]];
        Arc::make_mut(&mut index.signals[1]).popularity = 0.75;
        let global = [0, 1, 2];
        let cell = Cell::of_rows(&ps, &index, &[0, 1, 2], &global);
        assert!(cell.is_consistent());
        let bytes = crate::kv::encode(&cell);
        let open = OpenCell::new(crate::kv::decode::<Cell>(&bytes).unwrap()).unwrap();
        let cells = Cells::new(&[&open]);
        assert_eq!(cells.len(), index.len());
        for i in 0..index.len() {
            assert_eq!(cells.card(i), index.card(i), "card {i}");
            assert_eq!(cells.signals(i), index.signals(i), "signals {i}");
            assert_eq!(
                (cells.id(i), cells.category(i), cells.brand(i)),
                (index.id(i), index.category(i), index.brand(i))
            );
            assert_eq!((cells.price(i), cells.purchases(i)), (index.price(i), index.purchases(i)));
            assert_eq!(
                (cells.sig(i), cells.discount(i), cells.popularity(i)),
                (index.sig(i), index.discount(i), index.popularity(i))
            );
            for country in [None, Some("US"), Some("de"), Some("FR")] {
                assert_eq!(cells.stock_in(i, country), index.stock_in(i, country), "stock {i} {country:?}");
            }
            let vector = |rows: &dyn Rows, content: bool| {
                let (v, r) = if content { rows.content(i) } else { rows.collaborative(i) }.unwrap();
                (v.codes(r).to_vec(), v.scale(r))
            };
            assert_eq!(vector(&cells, false), vector(&index, false));
            assert_eq!(vector(&cells, true), vector(&index, true));
            assert_eq!(cells.neighbours(i), index.neighbours(i));
            assert_eq!(cells.similar(i), index.similar(i));
            assert_eq!(cells.bought_together(i), index.bought_together(i));
        }
        assert_eq!(cells.max_purchases(), 7);
        assert_eq!(cells.lookup(&["ç-3", "zz", "a"]), [Some(2), None, Some(0)]);
        // Stored bounds that do not hold are refused when the cell is opened.
        let mut bad = cell.clone();
        bad.items.ids.push("extra");
        assert!(OpenCell::new(bad).is_none());
        let mut bad = cell;
        bad.items.facts[0].category = 9;
        assert!(OpenCell::new(bad).is_none());
    }
}
