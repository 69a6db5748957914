//! Lexical product search: an inverted index over titles, categories and brands with prefix matching.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Card, Product};
use crate::text;

/// Inverted index of the catalog, built by the indexer and stored in KV as one value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchIndex {
    /// Documents, addressed by position in postings.
    pub cards: Vec<Card>,
    /// Sorted by term; each posting is `(doc, weight)` with weight [`TITLE`] or [`OTHER`].
    pub terms: Vec<(String, Vec<(u32, u8)>)>,
}

/// Weight of a word found in the title.
pub const TITLE: u8 = 2;
/// Weight of a word found in the category path or brand.
pub const OTHER: u8 = 1;
/// Longest query accepted, in chars; longer input is cut before tokenizing.
pub const MAX_QUERY: usize = 200;
/// At most this many query words are matched; the rest are ignored.
pub const MAX_QUERY_WORDS: usize = 12;

impl SearchIndex {
    /// Builds the index from products and their purchase counts (same order).
    pub fn build<'a>(products: impl IntoIterator<Item = (&'a Product, u32)>) -> SearchIndex {
        let mut cards = Vec::new();
        let mut terms: BTreeMap<String, BTreeMap<u32, u8>> = BTreeMap::new();
        for (doc, (p, purchases)) in products.into_iter().enumerate() {
            let doc = doc as u32;
            cards.push(p.card(purchases));
            let mut add = |word: String, w: u8| {
                let slot = terms.entry(word).or_default().entry(doc).or_insert(0);
                *slot = (*slot).max(w);
            };
            for w in text::words(&p.title) {
                add(w, TITLE);
            }
            let rest = p.category.join(" ") + " " + p.brand.as_deref().unwrap_or("");
            for w in text::words(&rest) {
                add(w, OTHER);
            }
        }
        let terms = terms.into_iter().map(|(t, docs)| (t, docs.into_iter().collect())).collect();
        SearchIndex { cards, terms }
    }

    /// Postings of every term starting with `prefix` (the exact term included).
    fn prefix_postings(&self, prefix: &str) -> impl Iterator<Item = (&str, &[(u32, u8)])> {
        let start = self.terms.partition_point(|(t, _)| t.as_str() < prefix);
        self.terms[start..]
            .iter()
            .take_while(move |(t, _)| t.starts_with(prefix))
            .map(|(t, p)| (t.as_str(), p.as_slice()))
    }

    /// Searches for products matching every query word.
    ///
    /// Contract: a document matches when each query word equals or prefixes one of its words (so
    /// "chair" finds "Chairs"). Its score is the sum over query words of the best match weight,
    /// doubled for an exact word match; ties break by purchases (desc), then id (asc), so order is
    /// deterministic. An empty or symbol-only query matches nothing. `offset`/`limit` page the result;
    /// `total` counts all matches.
    pub fn search(&self, query: &str, offset: usize, limit: usize) -> SearchResults {
        let query: String = query.chars().take(MAX_QUERY).collect();
        let mut words = text::words(&query);
        words.truncate(MAX_QUERY_WORDS);
        words.dedup();
        if words.is_empty() {
            return SearchResults { total: 0, hits: Vec::new() };
        }
        let n = self.cards.len();
        let mut score = vec![0u32; n];
        let mut matched = vec![0u16; n];
        for (qi, word) in words.iter().enumerate() {
            let mut best: BTreeMap<u32, u32> = BTreeMap::new();
            for (term, postings) in self.prefix_postings(word) {
                let exact = if is_same_word(term, word) { 2 } else { 1 };
                for &(doc, w) in postings {
                    let s = u32::from(w) * exact;
                    let slot = best.entry(doc).or_insert(0);
                    *slot = (*slot).max(s);
                }
            }
            for (doc, s) in best {
                let d = doc as usize;
                // A doc counts only if it matched every earlier word too.
                if d < n && usize::from(matched[d]) == qi {
                    matched[d] += 1;
                    score[d] += s;
                }
            }
        }
        let all = words.len() as u16;
        let mut hits: Vec<usize> = (0..n).filter(|&d| matched[d] == all).collect();
        hits.sort_by(|&a, &b| {
            score[b]
                .cmp(&score[a])
                .then(self.cards[b].purchases.cmp(&self.cards[a].purchases))
                .then(self.cards[a].id.cmp(&self.cards[b].id))
        });
        let total = hits.len();
        let hits = hits
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|d| Hit { card: self.cards[d].clone(), score: score[d] as f32 })
            .collect();
        SearchResults { total, hits }
    }
}

/// An exact match, allowing an English plural ending ("chair" is the same word as "chairs", "box" as
/// "boxes"), so the thing itself ranks above longer words that merely start the same ("chairside").
fn is_same_word(term: &str, word: &str) -> bool {
    match term.strip_prefix(word) {
        Some(rest) => rest.is_empty() || rest == "s" || rest == "es",
        None => false,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    #[serde(flatten)]
    pub card: Card,
    pub score: f32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Price;

    fn p(id: &str, title: &str, cat: &[&str]) -> Product {
        Product {
            id: id.into(),
            title: title.into(),
            description: None,
            category: cat.iter().map(|c| c.to_string()).collect(),
            brand: None,
            price: Price { amount: 10.0, currency: "USD".into() },
            image: None,
            rating: None,
            return_rate: None,
            seller: None,
            conversion_rate: None,
            stock: None,
            created_at: None,
        }
    }

    fn index() -> SearchIndex {
        let ps = [
            p("c1", "Hon Stacking Chairs", &["Furniture", "Chairs"]),
            p("c2", "Office Chair Mat", &["Furniture", "Furnishings"]),
            p("t1", "Chairside Table", &["Furniture", "Tables"]),
            p("b1", "Bush Bookcase", &["Furniture", "Bookcases"]),
            p("x1", "Xerox Paper", &["Office Supplies", "Paper"]),
        ];
        let counts = [5, 9, 1, 2, 7];
        SearchIndex::build(ps.iter().zip(counts))
    }

    fn ids(r: &SearchResults) -> Vec<&str> {
        r.hits.iter().map(|h| h.card.id.as_str()).collect()
    }

    #[test]
    fn chair_order() {
        let r = index().search("chair", 0, 10);
        insta::assert_debug_snapshot!(r.hits.iter().map(|h| (&h.card.id, h.score)).collect::<Vec<_>>());
        assert_eq!(r.total, 3);
    }

    #[test]
    fn all_words_must_match() {
        let idx = index();
        assert_eq!(ids(&idx.search("office chair", 0, 10)), ["c2"]);
        assert_eq!(ids(&idx.search("furniture book", 0, 10)), ["b1"]);
        assert!(idx.search("chair paper", 0, 10).hits.is_empty());
    }

    #[test]
    fn empty_and_odd_queries() {
        let idx = index();
        assert_eq!(idx.search("", 0, 10).total, 0);
        assert_eq!(idx.search("  !!! ", 0, 10).total, 0);
        assert_eq!(idx.search(&"chair ".repeat(10_000), 0, 10).total, 3);
        assert_eq!(idx.search("chair", 100, 10).hits.len(), 0);
        let empty = SearchIndex::build(std::iter::empty());
        assert_eq!(empty.search("chair", 0, 10).total, 0);
    }

    #[test]
    fn paging() {
        let idx = index();
        let all = ids(&idx.search("furniture", 0, 10)).join(",");
        let pages: Vec<String> = (0..4).map(|i| ids(&idx.search("furniture", i, 1)).join(",")).collect();
        assert_eq!(pages.join(","), all);
    }
}
