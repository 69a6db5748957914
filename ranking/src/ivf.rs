//! The partitioned (IVF) layout for large catalogs: items grouped into k-means cells, one KV value per
//! cell, and a small head that routes each request to the few cells it needs, so a request reads and
//! scores a bounded part of the catalog however large it grows.
//!
//! Items are numbered globally in cell order (cell `c` holds numbers `offsets[c]..offsets[c+1]`), and
//! every stored cross-reference (neighbours, similar, bought together) uses those global numbers. A
//! request ranks the cells it loaded where they lie, through [`Cells`] (ranking reads items through
//! [`Rows`], so the same code ranks a whole catalog or some cells); references to items outside
//! them are dropped.

use std::collections::HashMap;

use fst::automaton::{Automaton, Str};
use fst::{IntoStreamer, Map, Streamer};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use std::borrow::Cow;

use crate::catalog::Card;
use crate::columns::{CellItems, Lists};
use crate::embed::Embedder;
use crate::index::{CategoryNode, ItemIndex};
use crate::kv::{Blob, Kind};
use crate::lexical::{LexicalData, Lexicon};
use crate::rows::{Rows, Sig};
use crate::signals::Signals;
use crate::vector::Vectors;

/// Cells probed by vector (nearest centroids to the shopper or query vector).
pub const VECTOR_PROBES: usize = 4;
/// Cells added by keyword routing (where the query's words occur most).
pub const KEYWORD_PROBES: usize = 4;
/// Distinct cells of the most recent history items loaded for a feed.
pub const HISTORY_CELLS: usize = 4;
/// Cells kept per routing term and per category.
pub const ROUTES_PER_KEY: usize = 8;

/// What the edge reads first for a partitioned build: centroids, the id → item number map, keyword
/// and category routing, and the global category tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IvfHead {
    /// Dimension of the collaborative (recommendation) vectors.
    pub dim: u32,
    /// Dimension of the content vectors.
    pub content_dim: u32,
    /// Per cell, the normalized mean of its items' collaborative vectors, `dim` floats each.
    pub centroids: Vec<f32>,
    /// Per cell, the normalized mean of its items' content vectors (the space queries embed into),
    /// `content_dim` floats each.
    pub content_centroids: Vec<f32>,
    /// Cell `c` holds global item numbers `offsets[c]..offsets[c + 1]`.
    pub offsets: Vec<u32>,
    /// FST map: product id → global item number.
    #[serde(with = "serde_bytes")]
    pub ids: Vec<u8>,
    /// FST map: search term → term number (the whole catalog's vocabulary).
    #[serde(with = "serde_bytes")]
    pub vocabulary: Vec<u8>,
    /// Per term: documents containing it over the catalog, and the cells holding most of them.
    pub term_routes: TermRoutes,
    /// Category slug path → the cells holding most of its products.
    pub category_routes: Vec<(String, Vec<u16>)>,
    /// The whole catalog's category tree with counts.
    pub categories: Vec<CategoryNode>,
}

impl Blob for IvfHead {
    const KIND: Kind = Kind::IvfHead;
}

/// Per term, by its number in the vocabulary: the documents containing it over the catalog and the
/// cells holding most of them, flat. A vocabulary runs to a term per product where titles carry model
/// numbers (1,000,000 terms for 1,000,000 synthetic products): one list each made the routing head
/// take 190 ms to decode and most of an isolate's memory budget to keep.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TermRoutes {
    df: Vec<u32>,
    cells: Lists<u16>,
}

impl TermRoutes {
    pub fn push(&mut self, df: u32, cells: &[u16]) {
        self.df.push(df);
        self.cells.push(cells.iter().copied());
    }

    /// Term `t`'s document count and best cells.
    pub fn get(&self, t: usize) -> Option<(u32, &[u16])> {
        Some((*self.df.get(t)?, self.cells.get(t)))
    }

    pub fn len(&self) -> usize {
        self.df.len()
    }

    pub fn is_empty(&self) -> bool {
        self.df.is_empty()
    }

    fn is_consistent(&self) -> bool {
        self.cells.is_consistent(self.df.len())
    }
}

impl FromIterator<(u32, Vec<u16>)> for TermRoutes {
    fn from_iter<I: IntoIterator<Item = (u32, Vec<u16>)>>(routes: I) -> Self {
        let mut out = TermRoutes::default();
        for (df, cells) in routes {
            out.push(df, &cells);
        }
        out
    }
}

/// One cell: some items by column (references in global numbers) and their keyword index. The
/// extra `popular` cell holds the most popular items of every cell, for trending and cold start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Global item number of each row.
    pub globals: Vec<u32>,
    pub items: CellItems,
    pub lexical: LexicalData,
}

impl Blob for Cell {
    const KIND: Kind = Kind::Cell;
}

impl Cell {
    /// Rows `rows` of `index` (rows in `products` order) as a cell: references renumbered through
    /// `global` (row → global item number, dropped when out of range), keywords over the products.
    pub fn of_rows(
        products: &[crate::catalog::Product],
        index: &ItemIndex,
        rows: &[usize],
        global: &[u32],
    ) -> Cell {
        let rows: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&i| i < index.len() && i < products.len() && i < global.len())
            .collect();
        let mut items = CellItems::empty(index.vectors.dim as usize, index.content.dim as usize);
        let g = |j: u32| global.get(j as usize).copied();
        for &i in rows.iter().filter(|_| index.is_consistent()) {
            items.push(crate::columns::index_row(index, i), true, g);
        }
        let cell_products: Vec<crate::catalog::Product> = rows.iter().map(|&i| products[i].clone()).collect();
        Cell {
            globals: rows.iter().map(|&i| global[i]).collect(),
            items,
            lexical: LexicalData::build(&cell_products),
        }
    }

    pub fn is_consistent(&self) -> bool {
        self.items.is_consistent()
            && self.globals.len() == self.items.len()
            && self.lexical.doc_len.len() == self.items.len()
    }
}

/// A cell ready for queries: its keyword index opened and its ids sorted.
#[derive(Debug)]
pub struct OpenCell {
    pub globals: Vec<u32>,
    pub items: CellItems,
    pub lexicon: Lexicon,
    /// Rows by id: a history's ids are found by binary search, not a pass over every card (a feed
    /// looks its history up several times, in every cell it reads).
    by_id: Vec<u32>,
    /// The most units any row was purchased (search's popularity scale), found once.
    max_purchases: u32,
}

impl OpenCell {
    /// `None` when the stored parts disagree or the FST is corrupt.
    pub fn new(cell: Cell) -> Option<OpenCell> {
        if !cell.is_consistent() {
            return None;
        }
        let items = &cell.items;
        let mut by_id: Vec<u32> = (0..items.len() as u32).collect();
        crate::order::sort_by(&mut by_id, |&a, &b| items.id(a as usize).cmp(&items.id(b as usize)));
        let max_purchases = items.facts.iter().map(|f| f.purchases).max().unwrap_or(0);
        Some(OpenCell {
            globals: cell.globals,
            items: cell.items,
            lexicon: Lexicon::new(cell.lexical)?,
            by_id,
            max_purchases,
        })
    }

    /// The row of product `id`, `None` when the cell lacks it.
    pub fn row_of(&self, id: &str) -> Option<usize> {
        let id_of = |r: u32| self.items.id(r as usize).unwrap_or("");
        let k = self.by_id.partition_point(|&r| id_of(r) < id);
        let r = *self.by_id.get(k)?;
        (id_of(r) == id).then_some(r as usize)
    }
}

/// The routing head, opened: its FSTs verified.
#[derive(Debug)]
pub struct Router {
    head: IvfHead,
    ids: Map<Vec<u8>>,
    vocabulary: Map<Vec<u8>>,
}

impl Router {
    /// `None` when the FSTs are corrupt or the parts disagree.
    pub fn new(mut head: IvfHead) -> Option<Router> {
        let cells = head.offsets.len().checked_sub(1)?;
        let sound = head.dim <= crate::index::MAX_DIM
            && head.content_dim <= crate::index::MAX_DIM
            && head.centroids.len() == cells.checked_mul(head.dim as usize)?
            && head.content_centroids.len() == cells.checked_mul(head.content_dim as usize)?
            && head.offsets.windows(2).all(|w| w[0] <= w[1])
            && head.term_routes.is_consistent()
            && cells <= usize::from(u16::MAX);
        if !sound {
            return None;
        }
        let ids = Map::new(std::mem::take(&mut head.ids)).ok()?;
        let vocabulary = Map::new(std::mem::take(&mut head.vocabulary)).ok()?;
        // Reading a corrupt FST can panic; verifying once here makes every later read safe.
        ids.as_fst().verify().ok()?;
        vocabulary.as_fst().verify().ok()?;
        Some(Router { head, ids, vocabulary })
    }

    pub fn cells(&self) -> usize {
        self.head.offsets.len().saturating_sub(1)
    }

    pub fn categories(&self) -> &[CategoryNode] {
        &self.head.categories
    }

    pub fn product_count(&self) -> usize {
        self.head.offsets.last().copied().unwrap_or(0) as usize
    }

    /// The cell holding global item `g`.
    pub fn cell_of_global(&self, g: u32) -> Option<usize> {
        let c = self.head.offsets.partition_point(|&o| o <= g).checked_sub(1)?;
        (c < self.cells()).then_some(c)
    }

    /// The cell holding a product id, `None` when unknown.
    pub fn cell_of(&self, id: &str) -> Option<usize> {
        let g = u32::try_from(self.ids.get(id)?).ok()?;
        self.cell_of_global(g)
    }

    /// Cells of the most recent history ids, distinct, at most `limit`, most recent first.
    pub fn history_cells<'a>(&self, ids: impl IntoIterator<Item = &'a str>, limit: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for c in ids.into_iter().filter_map(|id| self.cell_of(id)) {
            if out.len() >= limit {
                break;
            }
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// The `n` cells whose centroid is nearest (largest dot product) to `v`, nearest first; `content`
    /// picks the content (query) space instead of the collaborative space. Empty for a zero vector.
    pub fn probe(&self, v: &[f32], content: bool, n: usize) -> Vec<usize> {
        let (dim, table) = if content {
            (self.head.content_dim as usize, &self.head.content_centroids)
        } else {
            (self.head.dim as usize, &self.head.centroids)
        };
        if dim == 0 || v.len() != dim || v.iter().all(|x| *x == 0.0 || !x.is_finite()) {
            return Vec::new();
        }
        let mut scored: Vec<(f32, usize)> = table
            .chunks_exact(dim)
            .enumerate()
            .map(|(c, row)| {
                let d: f32 = row.iter().zip(v).map(|(a, b)| a * b).sum();
                (if d.is_finite() { d } else { f32::MIN }, c)
            })
            .collect();
        crate::order::sort_by(&mut scored, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.into_iter().take(n).map(|(_, c)| c).collect()
    }

    /// The cells where the query's words occur most: each word (the last one also as a prefix, as the
    /// shopper may still be typing it) votes for its routed cells with its idf, higher for better
    /// ranked cells; the `n` cells with most votes, best first.
    pub fn route_query(&self, query: &str, n: usize) -> Vec<usize> {
        let query: String = query.chars().take(crate::lexical::MAX_QUERY).collect();
        let mut words = crate::text::words(&query);
        words.truncate(crate::lexical::MAX_QUERY_WORDS);
        let typing = query.chars().last().is_some_and(char::is_alphanumeric);
        let docs = self.product_count().max(1) as f32;
        let mut votes: HashMap<usize, f32> = HashMap::new();
        for (k, word) in words.iter().enumerate() {
            let terms = self.expand(word, typing && k + 1 == words.len());
            for t in terms {
                let Some((df, cells)) = self.head.term_routes.get(t as usize) else { continue };
                let idf = crate::lexical::idf(docs, df as f32);
                for (rank, &c) in cells.iter().enumerate() {
                    *votes.entry(usize::from(c)).or_default() += idf / (rank as f32 + 1.0);
                }
            }
        }
        top_votes(votes, self.cells(), n)
    }

    /// Vocabulary terms of a query word as the keyword index expands it: its plural and singular forms
    /// and, for the word being typed (`last`), its first completions; sorted, without repeats.
    fn expand(&self, word: &str, last: bool) -> Vec<u64> {
        let mut terms: Vec<u64> =
            crate::lexical::forms(word).iter().filter_map(|f| self.vocabulary.get(f)).collect();
        if last {
            let mut stream = self.vocabulary.search(Str::new(word).starts_with()).into_stream();
            while let Some((_, t)) = stream.next() {
                terms.push(t);
                if terms.len() >= crate::lexical::MAX_EXPANSIONS {
                    break;
                }
            }
        }
        crate::order::sort_by(&mut terms, Ord::cmp);
        terms.dedup();
        terms
    }

    /// A query word's idf over the whole catalog: from the documents of its exact forms and, for the
    /// word being typed, its first completions (as [`Lexicon::search`] expands it); `None` for a word
    /// found only with a typo (the cell's own statistics then apply).
    pub fn word_idf(&self, word: &str, last: bool) -> Option<f32> {
        let terms = self.expand(word, last);
        if terms.is_empty() {
            return None;
        }
        let df: u64 = terms
            .iter()
            .filter_map(|&t| self.head.term_routes.get(t as usize))
            .map(|(df, _)| u64::from(df))
            .sum();
        Some(crate::lexical::idf(self.product_count() as f32, df as f32))
    }

    /// The cells a search reads: those nearest the query's embedding, those where its words occur
    /// most, and those holding most of the filtered category; the popular cell (`None`) when nothing
    /// narrows the search (an empty query on the whole catalog).
    pub fn search_cells(
        &self,
        query: &str,
        category: Option<&str>,
        embedder: Option<&Embedder>,
    ) -> Vec<Option<usize>> {
        let mut cells: Vec<usize> = Vec::new();
        let mut add = |found: Vec<usize>| {
            for c in found {
                if !cells.contains(&c) {
                    cells.push(c);
                }
            }
        };
        if let Some(v) = embedder.and_then(|e| e.embed(query)) {
            add(self.probe(&v, true, VECTOR_PROBES));
        }
        add(self.route_query(query, KEYWORD_PROBES));
        if let Some(path) = category {
            add(self.route_category(path, VECTOR_PROBES));
        }
        if cells.is_empty() { vec![None] } else { cells.into_iter().map(Some).collect() }
    }

    /// The cells holding most products of a category (slug path), best first.
    pub fn route_category(&self, path: &str, n: usize) -> Vec<usize> {
        let routes = &self.head.category_routes;
        let Ok(i) = routes.binary_search_by(|(p, _)| p.as_str().cmp(path)) else { return Vec::new() };
        routes[i].1.iter().map(|&c| usize::from(c)).filter(|&c| c < self.cells()).take(n).collect()
    }

    /// Completions of the last word of `prefix` over the whole catalog's vocabulary, most frequent
    /// (by document count) first.
    pub fn complete(&self, prefix: &str, limit: usize) -> Vec<String> {
        let words = crate::text::words(prefix);
        let Some(last) = words.last() else { return Vec::new() };
        let mut found = Vec::new();
        let mut stream = self.vocabulary.search(Str::new(last).starts_with()).into_stream();
        while let Some((term, t)) = stream.next() {
            let df = self.head.term_routes.get(t as usize).map_or(0, |(df, _)| df);
            found.push((df, String::from_utf8_lossy(term).into_owned()));
            if found.len() >= crate::lexical::MAX_COMPLETION_SCAN {
                break;
            }
        }
        crate::order::sort_by(&mut found, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        found.into_iter().take(limit).map(|(_, t)| t).collect()
    }
}

fn top_votes(votes: HashMap<usize, f32>, cells: usize, n: usize) -> Vec<usize> {
    let mut v: Vec<(f32, usize)> =
        votes.into_iter().filter(|(c, _)| *c < cells).map(|(c, s)| (s, c)).collect();
    crate::order::sort_by(&mut v, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().take(n).map(|(_, c)| c).collect()
}

/// One cell's keyword index and where its documents landed: `docs[d]` is the position (in
/// [`Cells`]) of the index's document `d`.
#[derive(Debug, Clone)]
pub struct Part<'a> {
    pub lexicon: &'a Lexicon,
    pub docs: Vec<u32>,
}

/// Several cells ranked where they lie: positions `0..len()` number their rows, cells of one run of
/// consecutive item numbers first (in the order given), then the others (the popular cell), an item
/// present in two cells once, at its first place. Nothing is
/// copied: a position reads its cell's row, and stored references (global item numbers) become
/// positions when read, those leaving these cells dropped. Cells whose vectors (either space)
/// differ in dimension from the first non-empty cell's are left out.
#[derive(Debug)]
pub struct Cells<'a> {
    cells: Vec<&'a OpenCell>,
    /// Per position: its cell (in `cells`) and row there.
    at: Vec<(u32, u32)>,
    parts: Vec<Part<'a>>,
    /// Global numbers held as consecutive runs: (first global, count, first position). Cells hold
    /// one run each, found by a short scan; hashing every row would cost more than the ranking.
    runs: Vec<(u32, u32, u32)>,
    /// Global number -> position for rows outside `runs` (the popular cell is scattered).
    scattered: FxHashMap<u32, u32>,
    dims: (u32, u32),
}

impl<'a> Cells<'a> {
    /// Numbers the rows of `cells` (see [`Cells`]).
    pub fn new(cells: &[&'a OpenCell]) -> Cells<'a> {
        // An empty cell (rows of unknown products) says nothing about the dimension.
        let dims = cells
            .iter()
            .find(|c| !c.items.is_empty())
            .or(cells.first())
            .map_or((1, 1), |c| (c.items.vectors.dim, c.items.content.dim));
        let mut out = Cells {
            cells: Vec::new(),
            at: Vec::new(),
            parts: Vec::new(),
            runs: Vec::new(),
            scattered: FxHashMap::default(),
            dims,
        };
        // Cells holding one run of consecutive numbers first, so each stays a run (no map); the
        // scattered popular cell after them gives positions only to rows they lack.
        let usable = cells.iter().filter(|c| (c.items.vectors.dim, c.items.content.dim) == dims);
        let (runs, scattered): (Vec<&&OpenCell>, Vec<&&OpenCell>) = usable.partition(|c| is_run(&c.globals));
        for &&cell in runs.iter().chain(&scattered) {
            out.add(cell);
        }
        out
    }

    /// Numbers one cell's rows after those already numbered.
    fn add(&mut self, cell: &'a OpenCell) {
        let k = self.cells.len() as u32;
        self.cells.push(cell);
        let g = &cell.globals;
        let consecutive = is_run(g);
        let first = g.first().copied().unwrap_or(0);
        let len = g.len() as u32;
        let overlaps =
            self.runs.iter().any(|(s, l, _)| first < s.saturating_add(*l) && *s < first.saturating_add(len));
        // A run of consecutive numbers not met before: positions are start + offset, unless the
        // popular cell numbered some of its rows already.
        let run = consecutive && !overlaps;
        let start = self.at.len() as u32;
        let mut docs = Vec::with_capacity(g.len());
        let mut shared = false;
        for (r, &gl) in g.iter().enumerate() {
            let known = if run { self.scattered.get(&gl).copied() } else { self.local(gl) };
            shared |= known.is_some();
            let p = known.unwrap_or_else(|| {
                self.at.push((k, r as u32));
                self.at.len() as u32 - 1
            });
            if !run && known.is_none() {
                self.scattered.insert(gl, p);
            }
            docs.push(p);
        }
        if run && shared {
            // Positions are not start + offset: the whole run goes into the map.
            for (&gl, &p) in g.iter().zip(&docs) {
                self.scattered.entry(gl).or_insert(p);
            }
        } else if run {
            self.runs.push((first, len, start));
        }
        self.parts.push(Part { lexicon: &cell.lexicon, docs });
    }

    /// The position of global item number `g`, `None` outside these cells.
    pub fn local(&self, g: u32) -> Option<u32> {
        self.runs
            .iter()
            .find(|(start, len, _)| g >= *start && g - start < *len)
            .map(|(start, _, pos)| pos.saturating_add(g - start))
            .or_else(|| self.scattered.get(&g).copied())
    }

    /// Each cell's keyword index mapped onto positions.
    pub fn parts(&self) -> &[Part<'a>] {
        &self.parts
    }

    /// The cell and row of position `i`.
    fn row(&self, i: usize) -> Option<(&'a OpenCell, usize)> {
        let &(c, r) = self.at.get(i)?;
        Some((self.cells.get(c as usize)?, r as usize))
    }

    /// A stored list of global numbers as positions, those outside these cells dropped.
    fn mapped<T: Copy>(&self, list: &[(u32, T)]) -> Vec<(usize, T)> {
        list.iter().filter_map(|&(g, x)| Some((self.local(g)? as usize, x))).collect()
    }
}

impl Rows for Cells<'_> {
    fn len(&self) -> usize {
        self.at.len()
    }

    fn card(&self, i: usize) -> Option<Cow<'_, Card>> {
        let (cell, r) = self.row(i)?;
        cell.items.card(r).map(Cow::Owned)
    }

    fn signals(&self, i: usize) -> Option<Cow<'_, Signals>> {
        let (cell, r) = self.row(i)?;
        cell.items.signals(r).map(Cow::Owned)
    }

    fn id(&self, i: usize) -> Option<&str> {
        let (cell, r) = self.row(i)?;
        cell.items.id(r)
    }

    fn category(&self, i: usize) -> &[String] {
        self.row(i).map_or(&[], |(cell, r)| cell.items.category(r))
    }

    fn brand(&self, i: usize) -> Option<&str> {
        let (cell, r) = self.row(i)?;
        cell.items.brand(r)
    }

    fn sig(&self, i: usize) -> Option<Sig> {
        let (cell, r) = self.row(i)?;
        let f = cell.items.facts.get(r)?;
        Some(Sig {
            quality: f.quality,
            trust: f.trust,
            conversion: f.conversion,
            popularity: f.popularity,
            created_at: f.created_at,
        })
    }

    fn stock_in(&self, i: usize, country: Option<&str>) -> Option<f32> {
        let (cell, r) = self.row(i)?;
        cell.items.facts.get(r)?;
        Some(crate::signals::stock_in(cell.items.in_stock(r), country))
    }

    fn discount(&self, i: usize) -> f32 {
        let Some(f) = self.row(i).and_then(|(cell, r)| cell.items.facts.get(r)) else { return 0.0 };
        crate::catalog::discount(f.price, f.list_price)
    }

    fn price(&self, i: usize) -> f64 {
        self.row(i).and_then(|(cell, r)| cell.items.facts.get(r)).map_or(f64::NAN, |f| f.price)
    }

    fn purchases(&self, i: usize) -> u32 {
        self.row(i).and_then(|(cell, r)| cell.items.facts.get(r)).map_or(0, |f| f.purchases)
    }

    fn popularity(&self, i: usize) -> f32 {
        self.row(i).and_then(|(cell, r)| cell.items.facts.get(r)).map_or(0.0, |f| f.popularity)
    }

    fn max_purchases(&self) -> u32 {
        self.cells.iter().map(|c| c.max_purchases).max().unwrap_or(0)
    }

    fn collaborative(&self, i: usize) -> Option<(&Vectors, usize)> {
        let (cell, r) = self.row(i)?;
        (r < cell.items.vectors.len()).then_some((&cell.items.vectors, r))
    }

    fn content(&self, i: usize) -> Option<(&Vectors, usize)> {
        let (cell, r) = self.row(i)?;
        (r < cell.items.content.len()).then_some((&cell.items.content, r))
    }

    fn dims(&self) -> (usize, usize) {
        (self.dims.0 as usize, self.dims.1 as usize)
    }

    fn neighbours(&self, i: usize) -> Vec<(usize, f32)> {
        self.row(i).map_or_else(Vec::new, |(cell, r)| self.mapped(cell.items.neighbours.get(r)))
    }

    fn similar(&self, i: usize) -> Vec<usize> {
        let Some((cell, r)) = self.row(i) else { return Vec::new() };
        cell.items.similar.get(r).iter().filter_map(|&g| Some(self.local(g)? as usize)).collect()
    }

    fn bought_together(&self, i: usize) -> Vec<(usize, f32)> {
        self.row(i).map_or_else(Vec::new, |(cell, r)| self.mapped(cell.items.bought_together.get(r)))
    }

    /// Each id's row in the first cell holding it, as a position.
    fn lookup(&self, ids: &[&str]) -> Vec<Option<usize>> {
        ids.iter()
            .map(|id| {
                let mut found = self.cells.iter().zip(&self.parts);
                found.find_map(|(cell, part)| part.docs.get(cell.row_of(id)?).map(|&p| p as usize))
            })
            .collect()
    }
}

/// Whether global numbers form one run of consecutive numbers (a cell's own rows do).
fn is_run(globals: &[u32]) -> bool {
    !globals.is_empty() && globals.windows(2).all(|w| w[0].checked_add(1) == Some(w[1]))
}

/// The shopper's vector ([`crate::feed::user_vector`]) from the cells holding the history items: it
/// picks which further cells a feed reads.
pub fn user_vector(
    cells: &[&OpenCell],
    history: &[crate::feed::Seen<'_>],
    w: &crate::weights::Weights,
) -> Vec<f32> {
    crate::feed::user_vector(&Cells::new(cells), history, w).1
}

/// Global item numbers a cell's rows refer to in their similar and bought-together lists (to load the
/// cells of related items).
pub fn related_globals(cell: &OpenCell, row: usize) -> Vec<u32> {
    let items = &cell.items;
    let mut out: Vec<u32> = items.similar.get(row).to_vec();
    out.extend(items.bought_together.get(row).iter().map(|(g, _)| *g));
    out
}

/// Most IVF cells one request reads: search routes to at most 12 (vector, keyword and category
/// probes), and related items and pinned products stop here, so a request's cost stays bounded.
pub const MAX_CELLS_PER_REQUEST: usize = 13;

/// Cells a request reads, in order, each once (`None`: the popular cell). The planning functions
/// below are what the edge runs, so the tests check the shipped cell selection, caps included.
pub type CellPlan = Vec<Option<usize>>;

/// Adds `cell` to `plan` when it names a cell, is not planned yet and the plan is under
/// [`MAX_CELLS_PER_REQUEST`]; whether it was added.
pub fn add_cell(plan: &mut CellPlan, cell: Option<usize>) -> bool {
    let room = plan.len() < MAX_CELLS_PER_REQUEST;
    if cell.is_some() && room && !plan.contains(&cell) {
        plan.push(cell);
        return true;
    }
    false
}

/// A feed's first read: the popular cell and the cells of the most recent history items (the
/// shopper's vector is made from those, then [`feed_probe_cells`] adds the nearest cells).
pub fn feed_cells<'a>(router: &Router, history: impl IntoIterator<Item = &'a str>) -> CellPlan {
    let mut plan: CellPlan = vec![None];
    for c in router.history_cells(history, HISTORY_CELLS) {
        add_cell(&mut plan, Some(c));
    }
    plan
}

/// The cells nearest the shopper's vector that `planned` does not hold yet (read second).
pub fn feed_probe_cells(router: &Router, planned: &CellPlan, user: &[f32]) -> CellPlan {
    let mut plan = planned.clone();
    for c in router.probe(user, false, VECTOR_PROBES) {
        add_cell(&mut plan, Some(c));
    }
    plan.split_off(planned.len())
}

/// A search's (or suggestion's) cells: [`Router::search_cells`], then the cells of the products the
/// merchandising rules pin for it, which the query may not route to (within the cap).
pub fn search_plan(
    router: &Router,
    query: &str,
    category: Option<&str>,
    embedder: Option<&Embedder>,
    pinned: &[String],
) -> CellPlan {
    let mut plan = router.search_cells(query, category, embedder);
    plan.truncate(MAX_CELLS_PER_REQUEST);
    for id in pinned {
        add_cell(&mut plan, router.cell_of(id));
    }
    plan
}

/// The cells holding these products (unknown ids are skipped), within the cap.
pub fn home_cells<'a>(router: &Router, ids: impl IntoIterator<Item = &'a str>) -> CellPlan {
    let mut plan = CellPlan::new();
    for id in ids {
        add_cell(&mut plan, router.cell_of(id));
    }
    plan
}

/// Adds, within the cap, the cells of the items that the similar and bought-together lists of `ids`
/// name, as found in the already `loaded` cells (their home cells).
pub fn add_related_cells(router: &Router, plan: &mut CellPlan, loaded: &[&OpenCell], ids: &[&str]) {
    for cell in loaded {
        for id in ids {
            let Some(row) = cell.row_of(id) else { continue };
            for g in related_globals(cell, row) {
                add_cell(plan, router.cell_of_global(g));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Price, Product};

    fn cell(ids: &[&str], globals: &[u32]) -> OpenCell {
        let products: Vec<Product> = ids
            .iter()
            .map(|id| {
                Product::new(
                    *id,
                    format!("Item {id}"),
                    vec!["C".into()],
                    Price { amount: 1.0, currency: "USD".into() },
                )
            })
            .collect();
        let mut items = ItemIndex::plain(&products, &[]);
        // Every row points at every global number 0..6 (some outside any loaded cell).
        items.similar = vec![(0..6).collect(); ids.len()];
        let mut columns = CellItems::empty(1, 1);
        for r in 0..items.len() {
            columns.push(crate::columns::index_row(&items, r), true, Some);
        }
        OpenCell::new(Cell {
            globals: globals.to_vec(),
            items: columns,
            lexical: LexicalData::build(&products),
        })
        .unwrap()
    }

    #[test]
    fn cells_number_each_item_once_and_map_references() {
        let popular = cell(&["d", "a"], &[3, 0]);
        let first = cell(&["a", "b"], &[0, 1]);
        let second = cell(&["d", "e"], &[3, 4]);
        let cells = Cells::new(&[&popular, &first, &second]);
        let ids: Vec<&str> = (0..cells.len()).map(|i| cells.id(i).unwrap()).collect();
        assert_eq!(ids, ["a", "b", "d", "e"], "cells of one run first, then the popular cell's new items");
        // References to 2 and 5 (not loaded) are dropped; the rest become positions.
        let b = cells.position("b").unwrap();
        let similar: Vec<&str> = cells.similar(b).iter().map(|&j| ids[j]).collect();
        assert_eq!(similar, ["a", "b", "d", "e"]);
        assert_eq!(cells.similar_to(b).len(), 3, "itself left out");
        assert_eq!(cells.lookup(&["e", "zz", "a"]), [Some(3), None, Some(0)]);
        // Each cell's keyword documents map to the positions (parts in numbering order).
        assert_eq!(cells.parts()[0].docs, [0, 1]);
        assert_eq!(cells.parts()[1].docs, [2, 3]);
        assert_eq!(cells.parts()[2].docs, [2, 0]);
        // A scattered cell's rows that no run holds get positions of their own.
        let lone = cell(&["x", "a"], &[9, 0]);
        let with_lone = Cells::new(&[&lone, &first]);
        assert_eq!(with_lone.len(), 3);
        assert_eq!(with_lone.local(9), Some(2));
        assert_eq!(with_lone.position("x"), Some(2));
        // A position reads its own cell's vectors; past the end reads nothing.
        assert!(cells.content(3).is_some() && cells.content(4).is_none() && cells.card(4).is_none());
        // The same cell twice adds nothing.
        assert_eq!(Cells::new(&[&first, &first]).len(), 2);
    }

    #[test]
    fn a_corrupt_or_inconsistent_head_is_refused() {
        let head = IvfHead {
            dim: 2,
            content_dim: 2,
            centroids: vec![1.0, 0.0, 0.0, 1.0],
            content_centroids: vec![1.0, 0.0, 0.0, 1.0],
            offsets: vec![0, 2, 4],
            ids: fst::Map::from_iter([("a", 0u64), ("b", 3)]).unwrap().into_fst().into_inner(),
            vocabulary: fst::Map::from_iter([("chair", 0u64)]).unwrap().into_fst().into_inner(),
            term_routes: [(2, vec![1, 0])].into_iter().collect(),
            category_routes: vec![("c".into(), vec![1])],
            categories: vec![],
        };
        let r = Router::new(head.clone()).unwrap();
        assert_eq!((r.cell_of("a"), r.cell_of("b"), r.cell_of("zz")), (Some(0), Some(1), None));
        assert_eq!(r.cell_of_global(4), None);
        assert_eq!(r.route_query("chair", 4), [1, 0]);
        assert_eq!(r.route_category("c", 4), [1]);
        assert_eq!(r.probe(&[0.0, 1.0], false, 1), [1]);
        // A NaN component scores every cell lowest instead of poisoning the order.
        assert_eq!(r.probe(&[f32::NAN, 1.0], false, 2), [0, 1]);
        let mut bad = head.clone();
        bad.centroids.pop();
        assert!(Router::new(bad).is_none());
        // A term's count without its list of cells.
        let mut bad = head.clone();
        bad.term_routes.df.push(1);
        assert!(Router::new(bad).is_none());
        assert_eq!(head.term_routes.get(0), Some((2, &[1u16, 0][..])));
        assert_eq!((head.term_routes.get(1), head.term_routes.len()), (None, 1));
        let mut bad = head.clone();
        let n = bad.ids.len();
        bad.ids[n / 2] ^= 0xff;
        assert!(Router::new(bad).is_none(), "checksum catches a flipped byte");
        let mut bad = head;
        bad.offsets = vec![0, 3, 2];
        assert!(Router::new(bad).is_none());
    }
}
