//! Hybrid product search as a pipeline of stages, each a function below:
//!
//! 1. [`retrieve`]: the keyword ranking (BM25, prefix, typo) and the semantic ranking (cosine of the
//!    query embedding with each product's content vector);
//! 2. [`fuse`]: one relevance per candidate, a convex mix of the two rankings' scores (not their
//!    ranks): `(wk·bm25/best_bm25·share² + ws·cosine) / (wk + ws)`, counting only the rankings that
//!    produced candidates, with `share` the part of the query words a partial keyword match matched;
//! 3. [`score`]: relevance plus the business signals and the shopper's affinity, each weighted;
//! 4. [`apply_rules`]: the merchandising rules' hides and boosts (buries);
//! 5. [`facets`], then the filters;
//! 6. [`sort_hits`], then [`pin`] (relevance order only), then the page.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::embed::{Embedder, QueryEmbed};
use crate::feed::{Seen, user_vector};
use crate::index::ItemIndex;
use crate::ivf::{Cells, Part, Router};
use crate::lexical::{LexHit, Lexicon, Match, Typos};
use crate::rows::Rows;
use crate::rules::{Action, Context as RuleContext, Rule, Rules};
use crate::vector::Query;
use crate::weights::{Weights, finite_or_zero};

/// Most products taken from the semantic ranking.
pub const MAX_SEMANTIC: usize = 200;
/// Price facet bucket bounds (catalog currency).
pub const PRICE_BUCKETS: [f64; 5] = [10.0, 25.0, 50.0, 100.0, 500.0];

pub use crate::catalog::category_path;
pub use crate::lexical::{MAX_QUERY, MAX_QUERY_WORDS};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Category path as slugs joined by `/`, e.g. `furniture/chairs`; matches that node and below.
    pub category: Option<String>,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    /// Only products in stock in the shopper's country (any region when the country is unknown).
    pub in_stock: bool,
}

/// The order of search results. Its wire name ([`Sort::as_str`], also its serde form) is the one
/// home of the `sort` parameter's values: the edge, the engine and the app all parse and print it
/// here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Sort {
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
}

impl Sort {
    /// Every sort, in the order a shopper is offered them.
    pub const ALL: [Sort; 4] = [Sort::Relevance, Sort::PriceAsc, Sort::PriceDesc, Sort::Newest];

    /// The wire name (`relevance`, `price_asc`, `price_desc`, `newest`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::Newest => "newest",
        }
    }
}

/// A `sort` value that names no [`Sort`] (holds at most its first 40 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sort must be relevance, price_asc, price_desc or newest, got {0:?}")]
pub struct UnknownSort(pub String);

impl std::str::FromStr for Sort {
    type Err = UnknownSort;
    /// A wire name, trimmed; empty means the default, relevance.
    fn from_str(s: &str) -> Result<Self, UnknownSort> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Sort::Relevance);
        }
        Sort::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownSort(s.chars().take(40).collect()))
    }
}

impl TryFrom<String> for Sort {
    type Error = UnknownSort;
    fn try_from(s: String) -> Result<Self, UnknownSort> {
        s.parse()
    }
}

impl From<Sort> for &'static str {
    fn from(s: Sort) -> Self {
        s.as_str()
    }
}

#[derive(Debug, Clone, Default)]
pub struct SearchRequest<'a> {
    pub query: &'a str,
    pub filters: Filters,
    pub sort: Sort,
    pub country: Option<&'a str>,
    pub history: &'a [Seen<'a>],
    /// Unix seconds, for freshness.
    pub now: i64,
    pub offset: usize,
    pub limit: usize,
    /// The shop's merchandising rules, applied after scoring.
    pub rules: Option<&'a Rules>,
}

/// What a search reads: the item index, and when available the keyword index and query embedder.
#[derive(Debug, Clone, Copy)]
pub struct SearchIndex<'a> {
    pub items: &'a dyn Rows,
    /// The keyword index of the whole item index.
    pub lexicon: Option<&'a Lexicon>,
    /// For a view of IVF cells instead: each cell's keyword index, mapped onto the view.
    pub parts: &'a [Part<'a>],
    pub embedder: Option<&'a dyn QueryEmbed>,
    /// For a view: the whole catalog's vocabulary, for completions.
    pub router: Option<&'a Router>,
}

impl<'a> SearchIndex<'a> {
    /// A whole (unpartitioned) catalog.
    pub fn new(items: &'a ItemIndex, lexicon: Option<&'a Lexicon>, embedder: Option<&'a Embedder>) -> Self {
        SearchIndex {
            items,
            lexicon,
            parts: &[],
            embedder: embedder.map(|e| e as &dyn QueryEmbed),
            router: None,
        }
    }

    /// Several IVF cells, read where they lie.
    pub fn cells(cells: &'a Cells<'a>, embedder: Option<&'a Embedder>, router: Option<&'a Router>) -> Self {
        SearchIndex {
            items: cells,
            lexicon: None,
            parts: cells.parts(),
            embedder: embedder.map(|e| e as &dyn QueryEmbed),
            router,
        }
    }

    /// Keyword hits over the whole index or every part (positions in `items`), by position, and the
    /// number of query words. An item in two parts keeps its better hit.
    fn keyword(&self, query: &str) -> (Vec<LexHit>, usize) {
        if let Some(l) = self.lexicon {
            return l.search(query);
        }
        let mut words = 0;
        // Per position (dense, as in the keyword index itself).
        let mut best: Vec<Option<LexHit>> = vec![None; self.items.len()];
        let typos = Typos::default();
        let idf = |word: &str, last: bool| self.router.and_then(|r| r.word_idf(word, last));
        for part in self.parts {
            let (hits, w) = part.lexicon.search_with(query, &idf, &typos);
            words = words.max(w);
            for mut h in hits {
                let Some(slot) = part.docs.get(h.doc).and_then(|&p| best.get_mut(p as usize)) else {
                    continue;
                };
                h.doc = part.docs[h.doc] as usize;
                match slot {
                    Some(old) if old.score >= h.score => {}
                    _ => *slot = Some(h),
                }
            }
        }
        (best.into_iter().flatten().collect(), words)
    }

    fn complete(&self, query: &str, limit: usize) -> Vec<String> {
        match (self.router, self.lexicon) {
            (Some(r), _) => r.complete(query, limit),
            (None, Some(l)) => l.complete(query, limit),
            (None, None) => Vec::new(),
        }
    }
}

/// Each signal's weighted contribution to a hit's score (they sum to it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchWhy {
    pub relevance: f32,
    /// Weakest keyword match used, when found by keyword.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<Match>,
    /// Cosine between query and product, when found by meaning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantic: Option<f32>,
    pub quality: f32,
    pub trust: f32,
    pub conversion: f32,
    pub in_stock: f32,
    pub freshness: f32,
    pub popularity: f32,
    pub personal: f32,
    /// Added (or, negative, taken) by merchandising rules.
    #[serde(default)]
    pub merchandising: f32,
    /// Placed at its position by a rule: shown to shoppers as "Featured".
    #[serde(default)]
    pub featured: bool,
    /// The rules that touched this hit, for the operator (not shown to shoppers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub index: usize,
    pub score: f32,
    pub why: SearchWhy,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facets {
    /// Slug path -> count, for every level of every matching product's category.
    pub category: BTreeMap<String, usize>,
    /// `(from, to)` bucket -> count; `to` is `None` for the last bucket.
    pub price: Vec<PriceBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceBucket {
    pub min: f64,
    pub max: Option<f64>,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<SearchHit>,
    pub facets: Facets,
    /// True when no product matched every query word and results match only some.
    pub partial: bool,
}

/// Runs a search: [`retrieve`] → [`fuse`] → [`score`] → [`apply_rules`] → [`facets`] and filters →
/// [`sort_hits`] → [`pin`] → page.
///
/// Contract: candidates are the products matching every query word by keyword (or, when none does,
/// any word: `partial`), plus products whose content vector has cosine >= `min_semantic` with the
/// query embedding (top [`MAX_SEMANTIC`]). Relevance (0..=1) is the convex mix
/// `(keyword·bm25/best_bm25 + semantic·cosine) / (keyword + semantic)` over the rankings that produced
/// candidates (a partial keyword match scaled by the squared share of words it matched), multiplied by
/// `semantic_only` for products found only by meaning while keyword matches exist. The score adds
/// `relevance·rel` and each business signal times its weight (see [`SearchWhy`]); an empty query lists
/// every product by those signals (category pages). Filters apply before paging; facet counts apply
/// every filter except their own. Sorts other than relevance order by their key, then score, then
/// index. Never panics on any input.
pub fn search(index: SearchIndex<'_>, req: &SearchRequest<'_>, w: &Weights) -> SearchResults {
    let items = index.items;
    let query: String = req.query.chars().take(MAX_QUERY).collect();
    let found = retrieve(index, &query, w);
    let candidates = fuse(&found, items.len(), w);
    let mut scored = score(items, candidates, found.strict, req, w);
    let cx = RuleContext { query: &query, category: req.filters.category.as_deref(), now: req.now };
    let active = req.rules.map(|r| r.active(&cx)).unwrap_or_default();
    apply_rules(&mut scored, &active, items, req.country);
    let gate = Gate::new(items, &req.filters, req.country, &scored);
    let facets = facets(&scored, &gate);
    scored.retain(|h| gate.keeps(h.index));
    // Only the page is shown: the hits before it are ordered, the rest only counted. Pins may take
    // hits out of the head, so it is longer by the number of pins.
    let pins = active.iter().flat_map(|r| &r.actions).filter(|a| matches!(a, Action::Pin { .. })).count();
    sort_hits(&mut scored, req.sort, &gate, req.offset.saturating_add(req.limit).saturating_add(pins));
    if req.sort == Sort::Relevance {
        pin(&mut scored, &active, items, |i| gate.may_pin(i, &active));
    }
    let total = scored.len();
    let hits = scored.into_iter().skip(req.offset).take(req.limit).collect();
    SearchResults { total, hits, facets, partial: found.partial }
}

/// What retrieval found: both rankings, best first, and how the keyword one matched.
#[derive(Debug)]
struct Retrieved {
    /// Whether the query has any word (an empty one lists every product).
    has_query: bool,
    /// Keyword hits (only those matching every word when `strict`), best first.
    keyword: Vec<LexHit>,
    /// Words in the query, as the keyword index counts them.
    words: usize,
    /// Some product matched every query word.
    strict: bool,
    /// Results match only some of the words.
    partial: bool,
    /// `(position, cosine)` of the semantic ranking, best first, at most [`MAX_SEMANTIC`].
    semantic: Vec<(usize, f32)>,
}

/// Retrieval: the keyword ranking (all-words matches when any, else any-word) and the semantic one.
fn retrieve(index: SearchIndex<'_>, query: &str, w: &Weights) -> Retrieved {
    let n = index.items.len();
    let has_query = !crate::text::words(query).is_empty();
    let (mut keyword, words) = index.keyword(query);
    keyword.retain(|h| h.doc < n);
    let strict = keyword.iter().any(|h| h.matched == words);
    if strict {
        keyword.retain(|h| h.matched == words);
    }
    crate::order::sort_by(&mut keyword, |a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
    let partial = has_query && !strict && !keyword.is_empty();
    let semantic = if has_query { semantic_ranking(index, query, w) } else { Vec::new() };
    Retrieved { has_query, keyword, words, strict, partial, semantic }
}

/// The products whose content cosine with the query embedding is >= `min_semantic`, best first
/// (empty without an embedder).
fn semantic_ranking(index: SearchIndex<'_>, query: &str, w: &Weights) -> Vec<(usize, f32)> {
    let items = index.items;
    let Some(q) = index.embedder.and_then(|e| e.embed_query(query)) else { return Vec::new() };
    let q = Query::new(&q);
    let min = finite_or_zero(w.min_semantic);
    let mut sem: Vec<(usize, f32)> = (0..items.len())
        .filter_map(|i| items.content(i).map(|(v, r)| (i, v.dot(r, &q.codes, q.scale))))
        .filter(|&(_, c)| c >= min)
        .collect();
    crate::order::sort_by(&mut sem, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    sem.truncate(MAX_SEMANTIC);
    sem
}

/// A candidate's fused relevance and what found it.
#[derive(Debug, Clone, Copy, Default)]
struct Candidate {
    /// The convex mix of the rankings' scores, 0..=1.
    mix: f32,
    keyword: Option<Match>,
    cosine: Option<f32>,
}

/// Fusion: each candidate's convex mix of its keyword score (relative to the best, times the squared
/// share of words matched) and its cosine, over the rankings that ran; every product for no query.
fn fuse(found: &Retrieved, n: usize, w: &Weights) -> Vec<(usize, Candidate)> {
    if !found.has_query {
        return (0..n).map(|i| (i, Candidate::default())).collect();
    }
    // Scores, not ranks, so a strong match stays ahead of a weak one by more than a rank step.
    let (wk, ws) = (finite_or_zero(w.keyword).max(0.0), finite_or_zero(w.semantic).max(0.0));
    let lex = &found.keyword;
    let semantic_ran = !found.semantic.is_empty();
    let denom =
        (if lex.is_empty() { 0.0 } else { wk } + if semantic_ran { ws } else { 0.0 }).max(f32::MIN_POSITIVE);
    let best = lex.first().map_or(0.0, |h| h.score).max(f32::MIN_POSITIVE);
    // Candidates in the order first found, with each position's place among them (dense: a search
    // may find every product of the view).
    let mut cand: Vec<(usize, Candidate)> = Vec::new();
    let mut place: Vec<u32> = vec![u32::MAX; n];
    for h in lex {
        let Some(c) = candidate(&mut cand, &mut place, h.doc) else { continue };
        // A partial match counts by the square of the share of words it matched, so a product matching
        // only "to" of "something to sit on" does not outrank one that means it.
        let share = h.matched as f32 / found.words.max(1) as f32;
        c.mix += wk * h.score / best / denom * share * share;
        c.keyword = Some(h.worst);
    }
    for &(i, cos) in &found.semantic {
        let Some(c) = candidate(&mut cand, &mut place, i) else { continue };
        c.mix += ws * cos.clamp(0.0, 1.0) / denom;
        c.cosine = Some(cos);
    }
    cand
}

/// Position `i`'s candidate, added to `cand` when new (`place[i]` is its place there); `None` past
/// the view.
fn candidate<'c>(
    cand: &'c mut Vec<(usize, Candidate)>,
    place: &mut [u32],
    i: usize,
) -> Option<&'c mut Candidate> {
    let p = place.get_mut(i)?;
    if *p == u32::MAX {
        *p = cand.len() as u32;
        cand.push((i, Candidate::default()));
    }
    cand.get_mut(*p as usize).map(|(_, c)| c)
}

/// What scoring needs besides the candidate: the shopper's taste and the catalog's scales.
#[derive(Debug)]
struct Scorer<'a> {
    items: &'a dyn Rows,
    w: &'a Weights,
    country: Option<&'a str>,
    now: i64,
    /// The shopper's taste vector, when the history gives one.
    user: Option<Query>,
    pop_norm: f32,
    /// Factor on the relevance of products found only by meaning while keyword matches exist.
    semantic_only: f32,
}

/// Scoring: each candidate's weighted relevance, business signals and affinity, summed.
fn score(
    items: &dyn Rows,
    candidates: Vec<(usize, Candidate)>,
    strict: bool,
    req: &SearchRequest<'_>,
    w: &Weights,
) -> Vec<SearchHit> {
    let (_, user) = user_vector(items, req.history, w);
    let has_user = user.iter().any(|x| *x != 0.0);
    let max_pop = items.max_purchases();
    let scorer = Scorer {
        items,
        w,
        country: req.country,
        now: req.now,
        user: has_user.then(|| Query::new(&user)),
        pop_norm: ((max_pop as f32) + 1.0).ln().max(f32::MIN_POSITIVE),
        semantic_only: if strict { finite_or_zero(w.semantic_only) } else { 1.0 },
    };
    candidates.into_iter().map(|(i, c)| scorer.hit(i, c)).collect()
}

impl Scorer<'_> {
    /// One candidate's hit: every contribution in its [`SearchWhy`], their sum as the score.
    fn hit(&self, i: usize, c: Candidate) -> SearchHit {
        let (items, w, f) = (self.items, self.w, finite_or_zero);
        let rel = if c.keyword.is_none() { c.mix * self.semantic_only } else { c.mix };
        let s = items.sig(i);
        let sig = |g: fn(&crate::rows::Sig) -> f32| s.as_ref().map_or(crate::signals::NEUTRAL, g);
        let stock = items.stock_in(i, self.country).unwrap_or(crate::signals::NEUTRAL);
        let fresh = s.map_or(0.0, |s| s.freshness(self.now));
        let pop = ((items.purchases(i) as f32) + 1.0).ln() / self.pop_norm;
        let personal = self.user.as_ref().map_or(0.0, |u| items.collaborative_dot(i, u).max(0.0));
        let why = SearchWhy {
            relevance: f(f(w.relevance) * rel),
            keyword: c.keyword,
            semantic: c.cosine,
            quality: f(f(w.quality) * sig(|s| s.quality)),
            trust: f(f(w.trust) * sig(|s| s.trust)),
            conversion: f(f(w.conversion) * sig(|s| s.conversion)),
            in_stock: f(f(w.in_stock) * stock),
            freshness: f(f(w.freshness) * fresh),
            popularity: f(f(w.search_popularity) * pop),
            personal: f(f(w.personal) * personal),
            ..SearchWhy::default()
        };
        let score = why.relevance
            + why.quality
            + why.trust
            + why.conversion
            + why.in_stock
            + why.freshness
            + why.popularity
            + why.personal;
        SearchHit { index: i, score, why }
    }
}

/// Merchandising: the active rules' hides, then boosts and buries, in rule order (before filters and
/// facets, so a hidden product is counted nowhere). Pins come last, in [`pin`].
fn apply_rules(scored: &mut Vec<SearchHit>, active: &[&Rule], items: &dyn Rows, country: Option<&str>) {
    for rule in active {
        for action in &rule.actions {
            match action {
                Action::Hide { filter } => scored.retain(|h| !filter.matches(items, h.index, country)),
                Action::Boost { filter, by } => {
                    for h in scored.iter_mut().filter(|h| filter.matches(items, h.index, country)) {
                        let by = finite_or_zero(*by);
                        h.score += by;
                        h.why.merchandising += by;
                        h.why.rules.push(rule.id.clone());
                    }
                }
                Action::Pin { .. } => {}
            }
        }
    }
}

/// The request's filters and the shopper's country, over the scored hits' category paths.
#[derive(Debug)]
struct Gate<'a> {
    items: &'a dyn Rows,
    filters: &'a Filters,
    country: Option<&'a str>,
    /// The distinct category slug paths of the scored hits, each with whether the category filter
    /// takes it. Made once per category, not per hit: a catalog has far fewer categories than a
    /// search has hits.
    paths: Vec<(String, bool)>,
    /// Per item position, its path's number in `paths` (`u32::MAX`: not a scored hit).
    path_of: Vec<u32>,
    /// Per item position, out of stock in the shopper's country (what relevance sorts by first).
    out_of_stock: Vec<bool>,
}

impl<'a> Gate<'a> {
    /// The gate of `filters` over `scored`.
    fn new(
        items: &'a dyn Rows,
        filters: &'a Filters,
        country: Option<&'a str>,
        scored: &[SearchHit],
    ) -> Self {
        let n = items.len();
        let (mut paths, mut path_of, mut out_of_stock) = (Vec::new(), vec![u32::MAX; n], vec![false; n]);
        let mut numbers: FxHashMap<&[String], u32> = FxHashMap::default();
        let wanted = filters.category.as_deref();
        for h in scored.iter().filter(|h| h.index < n) {
            let category = items.category(h.index);
            path_of[h.index] = *numbers.entry(category).or_insert_with(|| {
                let path = category_path(category);
                let taken = wanted.is_none_or(|c| crate::catalog::in_category(&path, c));
                paths.push((path, taken));
                (paths.len() - 1) as u32
            });
            out_of_stock[h.index] = items.stock_in(h.index, country) == Some(0.0);
        }
        Gate { items, filters, country, paths, path_of, out_of_stock }
    }

    /// A scored hit's category slug path and whether the category filter takes it.
    fn path(&self, i: usize) -> Option<&(String, bool)> {
        self.paths.get(*self.path_of.get(i)? as usize)
    }

    /// Within the price filter.
    fn price_ok(&self, i: usize) -> bool {
        let (p, f) = (self.items.price(i), self.filters);
        f.min_price.is_none_or(|m| p >= m) && f.max_price.is_none_or(|m| p <= m)
    }

    /// Within the in-stock filter.
    fn stock_ok(&self, i: usize) -> bool {
        !self.filters.in_stock || self.items.stock_in(i, self.country).is_some_and(|s| s >= 1.0)
    }

    /// Within the category filter (a scored hit).
    fn category_ok(&self, i: usize) -> bool {
        self.filters.category.is_none() || self.path(i).is_some_and(|(_, taken)| *taken)
    }

    /// Passes every filter (a scored hit).
    fn keeps(&self, i: usize) -> bool {
        self.price_ok(i) && self.stock_ok(i) && self.category_ok(i)
    }

    /// Out of stock in the shopper's country: ranked below everything in stock.
    fn out_of_stock(&self, i: usize) -> bool {
        match self.out_of_stock.get(i) {
            Some(&known) if self.path_of[i] != u32::MAX => known,
            _ => self.items.stock_in(i, self.country) == Some(0.0),
        }
    }

    /// May be pinned: any product (found by the query or not) passing the filters, in stock and not
    /// hidden by a rule.
    fn may_pin(&self, i: usize, active: &[&Rule]) -> bool {
        let in_category = self.filters.category.as_deref().is_none_or(|c| {
            i < self.items.len() && crate::catalog::in_category(&category_path(self.items.category(i)), c)
        });
        self.price_ok(i)
            && self.stock_ok(i)
            && in_category
            && !self.out_of_stock(i)
            && !hidden(active, self.items, i, self.country)
    }
}

fn hidden(active: &[&Rule], items: &dyn Rows, i: usize, country: Option<&str>) -> bool {
    active.iter().flat_map(|r| &r.actions).any(|a| match a {
        Action::Hide { filter } => filter.matches(items, i, country),
        _ => false,
    })
}

/// Facets of the scored hits: each counts under every filter except its own.
fn facets(scored: &[SearchHit], gate: &Gate<'_>) -> Facets {
    let mut facets = Facets::default();
    let mut buckets = vec![0usize; PRICE_BUCKETS.len() + 1];
    // Hits per distinct path first (every scored hit has one); each path then counts under itself
    // and every ancestor.
    let mut per_path = vec![0usize; gate.paths.len()];
    for h in scored {
        let i = h.index;
        if gate.price_ok(i)
            && gate.stock_ok(i)
            && let Some(count) = gate.path_of.get(i).and_then(|&p| per_path.get_mut(p as usize))
        {
            *count += 1;
        }
        if gate.category_ok(i) && gate.stock_ok(i) {
            let p = gate.items.price(i);
            buckets[PRICE_BUCKETS.iter().take_while(|&&b| p >= b).count()] += 1;
        }
    }
    let counted = gate.paths.iter().map(|(path, _)| path.as_str()).zip(per_path);
    for (path, count) in counted.filter(|(_, count)| *count > 0) {
        for (end, _) in path.match_indices('/').chain([(path.len(), "")]) {
            *facets.category.entry(path[..end].to_owned()).or_default() += count;
        }
    }
    let mut lo = 0.0;
    for (k, count) in buckets.into_iter().enumerate() {
        let hi = PRICE_BUCKETS.get(k).copied();
        facets.price.push(PriceBucket { min: lo, max: hi, count });
        lo = hi.unwrap_or(lo);
    }
    facets
}

/// Sorting: relevance puts in-stock first, then score; the others order by their key, then score;
/// ties go to the lower index. Only the first `head` hits are put in order (the rest follow unordered).
fn sort_hits(scored: &mut [SearchHit], sort: Sort, gate: &Gate<'_>, head: usize) {
    let items = gate.items;
    let by_score = |a: &SearchHit, b: &SearchHit| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index));
    let price = |h: &SearchHit| items.price(h.index);
    let created = |h: &SearchHit| items.sig(h.index).and_then(|s| s.created_at).unwrap_or(i64::MIN);
    match sort {
        Sort::Relevance => crate::order::sort_head_by(scored, head, |a, b| {
            gate.out_of_stock(a.index).cmp(&gate.out_of_stock(b.index)).then_with(|| by_score(a, b))
        }),
        Sort::PriceAsc => crate::order::sort_head_by(scored, head, |a, b| {
            price(a).total_cmp(&price(b)).then_with(|| by_score(a, b))
        }),
        Sort::PriceDesc => crate::order::sort_head_by(scored, head, |a, b| {
            price(b).total_cmp(&price(a)).then_with(|| by_score(a, b))
        }),
        Sort::Newest => crate::order::sort_head_by(scored, head, |a, b| {
            created(b).cmp(&created(a)).then_with(|| by_score(a, b))
        }),
    }
}

/// Pinning: moves pinned products to their slots (adding those the query did not find), marked
/// `featured`. A pin whose product fails `allowed` (filters, stock, hidden) is skipped.
fn pin(hits: &mut Vec<SearchHit>, active: &[&Rule], items: &dyn Rows, allowed: impl Fn(usize) -> bool) {
    let mut slots = crate::rules::pin_slots(active, |id| items.position(id).filter(|&i| allowed(i)));
    crate::order::sort_by_key(&mut slots, |(_, slot, _)| *slot);
    let mut pinned = Vec::new();
    for (i, _, rule) in &slots {
        let mut hit = match hits.iter().position(|h| h.index == *i) {
            Some(p) => hits.remove(p),
            None => SearchHit { index: *i, score: 0.0, why: SearchWhy::default() },
        };
        hit.why.featured = true;
        hit.why.rules.push(rule.clone());
        pinned.push(hit);
    }
    for ((_, slot, _), hit) in slots.iter().zip(pinned) {
        let at = (*slot).min(hits.len());
        hits.insert(at, hit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Product;
    use crate::lexical::LexicalData;
    use crate::signals::Signals;
    use crate::vector::Vectors;
    use proptest::prelude::*;

    fn products() -> Vec<Product> {
        let rows = [
            (
                r#""id":"c1","title":"Hon Stacking Chairs","category":["Furniture","Chairs"],"price":{"amount":120,"currency":"USD"},"rating":{"average":4.8,"count":300}"#,
                5,
            ),
            (
                r#""id":"c2","title":"Office Chair Mat","category":["Furniture","Furnishings"],"price":{"amount":40,"currency":"USD"},"stock":{"US":0,"DE":4}"#,
                9,
            ),
            (
                r#""id":"t1","title":"Chairside Table","category":["Furniture","Tables"],"price":{"amount":80,"currency":"USD"}"#,
                1,
            ),
            (
                r#""id":"b1","title":"Bush Bookcase","brand":"Bush","category":["Furniture","Bookcases"],"price":{"amount":200,"currency":"USD"},"created_at":"2026-11-01""#,
                2,
            ),
            (
                r#""id":"x1","title":"Xerox Paper","category":["Office Supplies","Paper"],"price":{"amount":8,"currency":"USD"},"stock":{"US":10}"#,
                7,
            ),
            (
                r#""id":"c3","title":"Executive Leather Chair","category":["Furniture","Chairs"],"price":{"amount":450,"currency":"USD"},"rating":{"average":2.0,"count":40}"#,
                0,
            ),
        ];
        rows.iter()
            .map(|(json, _)| serde_json::from_str::<Product>(&format!("{{{json}}}")).unwrap())
            .collect()
    }

    fn index(products: &[Product]) -> ItemIndex {
        let purchases = [5, 9, 1, 2, 7, 0];
        let mut content = Vectors::new(2);
        for p in products {
            let mut v = if p.category[0] == "Furniture" { vec![1.0, 0.2] } else { vec![0.1, 1.0] };
            crate::vector::normalize(&mut v);
            content.push(&v);
        }
        ItemIndex {
            // Past the six products above (larger test catalogs), purchases and listing days vary.
            cards: products
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    std::sync::Arc::new(p.card(purchases.get(i).copied().unwrap_or(i as u32 * 13 % 11)))
                })
                .collect(),
            vectors: content.clone(),
            content,
            neighbours: vec![vec![]; products.len()],
            similar: vec![vec![]; products.len()],
            bought_together: vec![vec![]; products.len()],
            signals: products
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    Signals::of(p, p.created_at.as_ref().map(|_| 1_761_955_200 - (i as i64 / 6) * 86_400))
                })
                .map(std::sync::Arc::new)
                .collect(),
        }
    }

    fn run(query: &str, f: impl FnOnce(&mut SearchRequest<'_>)) -> (Vec<String>, SearchResults) {
        let ps = products();
        let items = index(&ps);
        let lex = Lexicon::new(LexicalData::build(&ps)).unwrap();
        let mut req = SearchRequest { query, limit: 20, now: 1_763_800_000, ..Default::default() };
        f(&mut req);
        let r = search(SearchIndex::new(&items, Some(&lex), None), &req, &Weights::default());
        (r.hits.iter().map(|h| items.cards[h.index].id.clone()).collect(), r)
    }

    fn with_rules(query: &str, country: Option<&str>, rules: &[crate::rules::Rule]) -> Vec<String> {
        let ps = products();
        let items = index(&ps);
        let lex = Lexicon::new(LexicalData::build(&ps)).unwrap();
        let rules = Rules { rules: rules.to_vec() };
        let req = SearchRequest {
            query,
            country,
            limit: 20,
            now: 1_763_800_000,
            rules: Some(&rules),
            ..Default::default()
        };
        let r = search(SearchIndex::new(&items, Some(&lex), None), &req, &Weights::default());
        r.hits
            .iter()
            .map(|h| {
                let mark = if h.why.featured { " (featured)" } else { "" };
                format!("{}{mark} {}", items.cards[h.index].id, h.why.rules.join(","))
            })
            .collect()
    }

    fn rule(
        id: &str,
        priority: i32,
        when: crate::rules::Trigger,
        actions: Vec<Action>,
    ) -> crate::rules::Rule {
        crate::rules::Rule { id: id.into(), priority, when, from: None, until: None, actions }
    }

    #[test]
    fn merchandising_rules_pin_boost_bury_hide() {
        use crate::rules::{Filter, Trigger};
        let chair = || Trigger::QueryIs("chair".into());
        let pin = |p: &str, position| Action::Pin { product: p.into(), position };
        let brand = |b: &str| Filter { brand: Some(b.into()), ..Filter::default() };
        let cat = |c: &str| Filter { category: Some(c.into()), ..Filter::default() };
        let cases: Vec<(&str, Vec<crate::rules::Rule>)> = vec![
            ("none", vec![]),
            ("pin the bookcase first", vec![rule("r-pin", 0, chair(), vec![pin("b1", 1)])]),
            ("pin at 2", vec![rule("r-pin2", 0, chair(), vec![pin("c3", 2)])]),
            (
                "boost tables",
                vec![rule(
                    "r-boost",
                    0,
                    chair(),
                    vec![Action::Boost { filter: cat("furniture/tables"), by: 2.0 }],
                )],
            ),
            (
                "bury chairs",
                vec![rule(
                    "r-bury",
                    0,
                    chair(),
                    vec![Action::Boost { filter: cat("furniture/chairs"), by: -2.0 }],
                )],
            ),
            (
                "hide the mat",
                vec![rule(
                    "r-hide",
                    0,
                    Trigger::Always,
                    vec![Action::Hide { filter: cat("furniture/furnishings") }],
                )],
            ),
            (
                "other query: no effect",
                vec![rule("r-pin", 0, Trigger::QueryIs("paper".into()), vec![pin("b1", 1)])],
            ),
            (
                "contains",
                vec![rule(
                    "r-c",
                    0,
                    Trigger::QueryContains("chair".into()),
                    vec![Action::Hide { filter: brand("bush") }, pin("b1", 1)],
                )],
            ),
        ];
        let out: Vec<(&str, Vec<String>)> =
            cases.into_iter().map(|(name, rules)| (name, with_rules("chair", None, &rules))).collect();
        insta::assert_debug_snapshot!(out);
    }

    #[test]
    fn pins_conflict_by_priority_then_id_and_skip_out_of_stock() {
        use crate::rules::Trigger;
        let pin = |p: &str, position| Action::Pin { product: p.into(), position };
        let low = rule("a-low", 1, Trigger::Always, vec![pin("t1", 1)]);
        let high = rule("z-high", 5, Trigger::Always, vec![pin("c3", 1)]);
        let got = with_rules("chair", None, &[low.clone(), high.clone()]);
        assert!(got[0].starts_with("c3 (featured) z-high"), "{got:?}");
        assert!(got[1].starts_with("t1 (featured) a-low"), "the loser takes the next slot: {got:?}");
        // Same order whatever the file order.
        assert_eq!(with_rules("chair", None, &[high, low]), got);
        // Equal priority: the earlier id wins, deterministically.
        let a = rule("a", 0, Trigger::Always, vec![pin("t1", 1)]);
        let b = rule("b", 0, Trigger::Always, vec![pin("c3", 1)]);
        assert!(with_rules("chair", None, &[b.clone(), a.clone()])[0].starts_with("t1"));
        // c2 (the mat) has no stock in the US: never pinned there, and ranked below in-stock items.
        let mat = rule("mat", 9, Trigger::Always, vec![pin("c2", 1)]);
        let us = with_rules("chair", Some("US"), std::slice::from_ref(&mat));
        assert!(!us.iter().any(|h| h.contains("featured")), "{us:?}");
        assert!(us.last().is_some_and(|h| h.starts_with("c2")), "out of stock last: {us:?}");
        let de = with_rules("chair", Some("DE"), &[mat]);
        assert!(de[0].starts_with("c2 (featured)"), "{de:?}");
    }

    #[test]
    fn rules_outside_their_date_window_do_nothing() {
        use crate::rules::Trigger;
        let mut r = rule("sale", 0, Trigger::Always, vec![Action::Pin { product: "x1".into(), position: 1 }]);
        r.from = Some(1_763_900_000); // after the request's `now`
        assert!(!with_rules("chair", None, std::slice::from_ref(&r))[0].starts_with("x1"));
        r.from = Some(1_763_000_000);
        r.until = Some(1_763_900_000);
        assert!(with_rules("chair", None, &[r])[0].starts_with("x1 (featured)"));
    }

    #[test]
    fn chair_order_with_explanations() {
        let (ids, r) = run("chair", |_| ());
        insta::assert_debug_snapshot!(
            r.hits
                .iter()
                .map(|h| (
                    ids[r.hits.iter().position(|x| x == h).unwrap()].clone(),
                    (h.score * 1000.0).round() / 1000.0,
                    h.why.keyword
                ))
                .collect::<Vec<_>>()
        );
        assert_eq!(r.total, 4, "chairs, chair mat, chairside table (prefix)");
        assert_eq!(ids.last().map(String::as_str), Some("t1"), "a prefix match ranks below exact ones");
        for h in &r.hits {
            let w = &h.why;
            let sum = w.relevance
                + w.quality
                + w.trust
                + w.conversion
                + w.in_stock
                + w.freshness
                + w.popularity
                + w.personal;
            assert!((sum - h.score).abs() < 1e-5);
        }
    }

    #[test]
    fn typo_and_partial_matches() {
        let (ids, r) = run("bokcase", |_| ());
        assert_eq!(ids, ["b1"]);
        assert_eq!(r.hits[0].why.keyword, Some(Match::Typo));
        let (ids, _) = run("bookcsae", |_| ());
        assert_eq!(ids, ["b1"], "swapped letters are one typo");
        let (ids, _) = run("chiars", |_| ());
        assert_eq!(ids, ["c1", "c3"]);
        let (ids, r) = run("chairs zzzzqqq", |_| ());
        assert!(r.partial && ids.contains(&"c1".to_string()));
        let (ids, _) = run("cha", |_| ());
        assert_eq!(ids.len(), 4, "the word being typed matches as a prefix");
        let (ids, _) = run("cha ", |_| ());
        assert!(ids.is_empty(), "a finished word must match whole");
        let (ids, _) = run(&format!("{}chairs", "a ".repeat(13)), |_| ());
        assert!(ids.contains(&"c1".to_string()), "repeated words do not push the rest out");
        let (ids, r) = run("cha chairs cha", |_| ());
        assert!(!r.partial && ids.contains(&"c1".to_string()), "the word being typed keeps its prefix match");
    }

    #[test]
    fn filters_sorts_and_facets() {
        let (ids, _) = run("chair", |r| r.sort = Sort::PriceAsc);
        assert_eq!(ids, ["c2", "t1", "c1", "c3"]);
        let (ids, _) = run("chair", |r| r.sort = Sort::PriceDesc);
        assert_eq!(ids, ["c3", "c1", "t1", "c2"]);
        let (ids, r) = run("chair", |r| r.filters.category = Some("furniture/chairs".into()));
        assert_eq!(ids.len(), 2);
        assert_eq!(r.facets.category.get("furniture/tables"), Some(&1), "facets ignore their own filter");
        assert_eq!(r.facets.category.get("furniture"), Some(&4));
        let (ids, r) = run("chair", |r| {
            r.filters.min_price = Some(50.0);
            r.filters.max_price = Some(150.0)
        });
        assert_eq!(ids, ["c1", "t1"]);
        assert_eq!(r.facets.price.iter().map(|b| b.count).sum::<usize>(), 4);
        let (ids, _) = run("", |r| {
            r.filters.in_stock = true;
            r.country = Some("US")
        });
        assert_eq!(ids, ["x1"]);
        let (ids, _) = run("", |r| r.sort = Sort::Newest);
        assert_eq!(ids[0], "b1");
        let (ids, _) = run("", |r| r.filters.category = Some("office-supplies".into()));
        assert_eq!(ids, ["x1"]);
    }

    #[test]
    fn sort_names_parse_back_and_are_the_serde_form() {
        for s in Sort::ALL {
            assert_eq!(s.as_str().parse::<Sort>(), Ok(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Sort>(&format!("\"{}\"", s.as_str())).unwrap(), s);
        }
        assert_eq!("".parse::<Sort>(), Ok(Sort::Relevance), "empty is the default");
        assert_eq!(" newest ".parse::<Sort>(), Ok(Sort::Newest));
        let err = "cheapest".parse::<Sort>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"sort must be relevance, price_asc, price_desc or newest, got "cheapest""#
        );
        assert!(serde_json::from_str::<Sort>(r#""cheapest""#).is_err());
    }

    #[test]
    fn quality_orders_equal_matches() {
        // c1 (4.8 stars x 300) and c3 (2.0 x 40) both match "chairs" exactly in title and category.
        let (ids, _) = run("chairs", |_| ());
        let pos = |id: &str| ids.iter().position(|x| x == id).unwrap();
        assert!(pos("c1") < pos("c3"));
    }

    #[test]
    fn every_page_is_the_slice_of_the_whole_order_with_pins() {
        // Only a page's head is put in order (`sort_hits`): each page must still be exactly its slice
        // of the fully sorted list, also when pins take hits out of the head and put them back. Big
        // enough that selecting the head does not sort everything anyway.
        use crate::rules::Trigger;
        let ps: Vec<Product> = (0..90)
            .map(|i| {
                let stock = if i % 7 == 0 { r#","stock":{"US":0,"DE":2}"# } else { "" };
                let created = if i % 3 == 0 { format!(r#","created_at":"2026-0{}-01""#, 1 + i % 9) } else { String::new() };
                let json = format!(
                    r#"{{"id":"p{i}","title":"{} {i}","category":["Furniture","{}"],"price":{{"amount":{},"currency":"USD"}},"rating":{{"average":{},"count":{}}}{stock}{created}}}"#,
                    if i % 2 == 0 { "Chair" } else { "Table" },
                    ["Chairs", "Tables", "Desks"][i % 3],
                    (i * 37) % 100 + 1,
                    1.0 + (i % 5) as f32,
                    i * 3,
                );
                serde_json::from_str(&json).unwrap()
            })
            .collect();
        let items = index(&ps);
        let lex = Lexicon::new(LexicalData::build(&ps)).unwrap();
        let ask = |query, sort, offset, limit, rules: Option<&Rules>| {
            let req = SearchRequest {
                query,
                sort,
                offset,
                limit,
                rules,
                country: Some("US"),
                now: 1_763_800_000,
                ..Default::default()
            };
            let r = search(SearchIndex::new(&items, Some(&lex), None), &req, &Weights::default());
            r.hits.iter().map(|h| h.index).collect::<Vec<_>>()
        };
        for query in ["", "chair"] {
            // Pin the best hit far down (it leaves the head of every short page) and the last one up.
            let natural = ask(query, Sort::Relevance, 0, 1000, None);
            let id = |k: usize| items.cards[natural[k]].id.clone();
            let pins = vec![
                Action::Pin { product: id(0), position: 12 },
                Action::Pin { product: id(natural.len() - 1), position: 2 },
            ];
            let pins = Rules { rules: vec![rule("r-pin", 0, Trigger::Always, pins)] };
            for rules in [None, Some(&pins)] {
                for sort in [Sort::Relevance, Sort::PriceAsc, Sort::PriceDesc, Sort::Newest] {
                    let all = ask(query, sort, 0, 1000, rules);
                    assert!(all.len() >= 45, "{query:?}: {}", all.len());
                    for offset in [0, 1, 2, 5, 8, 17, 40] {
                        for limit in [1, 2, 3, 7, 24] {
                            let want = &all[offset.min(all.len())..(offset + limit).min(all.len())];
                            let pinned = rules.is_some();
                            assert_eq!(
                                ask(query, sort, offset, limit, rules),
                                want,
                                "{query:?} {sort:?} {offset}+{limit} pins {pinned}"
                            );
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics(q in ".{0,300}", min in proptest::option::of(-1e9f64..1e9), off in 0usize..50, lim in 0usize..50) {
            let (_, r) = run(&q, |r| { r.filters.min_price = min; r.offset = off; r.limit = lim; r.sort = Sort::Newest });
            prop_assert!(r.hits.len() <= lim);
            prop_assert!(r.hits.iter().all(|h| h.score.is_finite()));
        }
    }
}

/// What to suggest while a shopper types: completions of the word being typed (prefixed with the
/// words before it) and the best products for the text so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestions {
    pub terms: Vec<String>,
    pub hits: Vec<SearchHit>,
}

/// Suggestions for `query`: up to `terms` completions (most frequent first) when the query ends inside
/// a word, and the `products` best hits of [`search`] with no filters.
pub fn suggest(
    index: SearchIndex<'_>,
    query: &str,
    w: &Weights,
    now: i64,
    terms: usize,
    products: usize,
) -> Suggestions {
    let query: String = query.chars().take(MAX_QUERY).collect();
    let words = crate::text::words(&query);
    let lead = words[..words.len().saturating_sub(1)].join(" ");
    let typing = query.chars().last().is_some_and(char::is_alphanumeric);
    let completions = if typing { index.complete(&query, terms) } else { Vec::new() };
    let terms =
        completions.into_iter().map(|t| if lead.is_empty() { t } else { format!("{lead} {t}") }).collect();
    let hits = if words.is_empty() {
        Vec::new()
    } else {
        search(index, &SearchRequest { query: &query, now, limit: products, ..Default::default() }, w).hits
    };
    Suggestions { terms, hits }
}
