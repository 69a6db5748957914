//! What a search or category results page shows besides its cards (result count, facet chips with
//! their links, paging), computed once from the answer and the page's query: the app renders it with
//! Leptos, the edge's prerendered page as HTML, so both show the same links and numbers.

use crate::wire::{SearchQuery, SearchResponse};

/// A facet link: its label (`chairs`, `10–50`), how many results it keeps, and its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chip {
    pub label: String,
    pub count: usize,
    pub href: String,
}

/// A results page's links and numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsPage {
    /// Pages of results (at least 1).
    pub pages: usize,
    /// The sort in the URL (`relevance` when none).
    pub sort: String,
    /// The current category's children (or the top level) among the results.
    pub categories: Vec<Chip>,
    /// Back to every category, when one is chosen.
    pub any_category: Option<String>,
    /// Price buckets with results.
    pub prices: Vec<Chip>,
    /// Back to any price, when a bound is set.
    pub any_price: Option<String>,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl ResultsPage {
    /// The page for answer `r` to query `q` on `base` (`/search` or `/c`); `encode` is JavaScript's
    /// `encodeURIComponent`.
    pub fn new(
        r: &SearchResponse,
        q: &SearchQuery,
        base: &str,
        encode: &dyn Fn(&str) -> String,
    ) -> ResultsPage {
        let url = |next: &SearchQuery| next.url(base, encode);
        // A facet link starts again at page 1.
        let with = |f: &dyn Fn(&mut SearchQuery)| {
            let mut next = q.clone();
            next.page = 1;
            f(&mut next);
            url(&next)
        };
        let depth = q.category.as_deref().map_or(0, |c| c.split('/').count());
        let prefix = q.category.clone().map(|c| format!("{c}/")).unwrap_or_default();
        let categories = r
            .facets
            .category
            .iter()
            .filter(|(path, _)| path.starts_with(&prefix) && path.split('/').count() == depth + 1)
            .map(|(path, &count)| Chip {
                label: path.rsplit('/').next().unwrap_or_default().replace('-', " "),
                count,
                href: with(&|n| n.category = Some(path.clone())),
            })
            .collect();
        let prices = r
            .facets
            .price
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| {
                let (lo, hi) = (whole(b.min), b.max.map(whole));
                Chip {
                    label: match hi {
                        Some(h) => format!("{lo}–{h}"),
                        None => format!("{lo}+"),
                    },
                    count: b.count,
                    href: with(&|n| {
                        n.min_price = Some(lo.to_string());
                        n.max_price = hi.map(|h| h.to_string());
                    }),
                }
            })
            .collect();
        let pages = r.total.div_ceil(r.limit.max(1)).max(1);
        let step = |page: usize| url(&SearchQuery { page, ..q.clone() });
        ResultsPage {
            pages,
            sort: q.sort.clone().unwrap_or_else(|| crate::search::Sort::Relevance.as_str().into()),
            categories,
            any_category: q.category.is_some().then(|| with(&|n| n.category = None)),
            prices,
            any_price: (q.min_price.is_some() || q.max_price.is_some()).then(|| {
                with(&|n| {
                    n.min_price = None;
                    n.max_price = None;
                })
            }),
            prev: (q.page > 1).then(|| step(q.page - 1)),
            next: (q.page < pages).then(|| step(q.page + 1)),
        }
    }
}

/// A price bound as a whole number. Integer formatting on purpose: printing floats links Rust's float
/// formatting, ~12 KB of wasm the app otherwise does without (see `catalog::cents`).
fn whole(amount: f64) -> i64 {
    if amount.is_finite() { amount.round() as i64 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{Facets, PriceBucket};

    fn answer(total: usize) -> SearchResponse {
        SearchResponse {
            query: "chair".into(),
            total,
            page: 1,
            limit: 24,
            partial: false,
            approximate: false,
            items: Vec::new(),
            facets: Facets {
                category: [
                    ("furniture", 30),
                    ("furniture/chairs", 20),
                    ("furniture/office-chairs", 9),
                    ("office", 5),
                ]
                .into_iter()
                .map(|(p, n)| (p.to_owned(), n))
                .collect(),
                price: vec![
                    PriceBucket { min: 0.0, max: Some(49.6), count: 12 },
                    PriceBucket { min: 50.0, max: Some(100.0), count: 0 },
                    PriceBucket { min: 100.0, max: None, count: 3 },
                ],
            },
            variant: String::new(),
            index_version: "v1".into(),
        }
    }

    #[test]
    fn chips_and_paging_link_to_the_narrowed_pages() {
        let enc = |s: &str| s.replace('/', "%2F").replace(' ', "%20");
        let q = SearchQuery {
            q: "chair".into(),
            category: Some("furniture".into()),
            page: 2,
            ..SearchQuery::default()
        };
        let p = ResultsPage::new(&answer(50), &q, "/search", &enc);
        assert_eq!(p.pages, 3);
        assert_eq!(p.sort, "relevance");
        let labels: Vec<(&str, usize)> = p.categories.iter().map(|c| (c.label.as_str(), c.count)).collect();
        assert_eq!(labels, [("chairs", 20), ("office chairs", 9)], "the chosen category's children only");
        assert_eq!(p.categories[0].href, "/search?q=chair&category=furniture%2Fchairs");
        assert_eq!(p.any_category.as_deref(), Some("/search?q=chair"));
        let prices: Vec<&str> = p.prices.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(prices, ["0–50", "100+"], "empty buckets left out, bounds whole");
        assert_eq!(p.prices[1].href, "/search?q=chair&category=furniture&min_price=100");
        assert_eq!(p.any_price, None);
        assert_eq!(p.prev.as_deref(), Some("/search?q=chair&category=furniture"));
        assert_eq!(p.next.as_deref(), Some("/search?q=chair&category=furniture&page=3"));
        let top =
            ResultsPage::new(&answer(0), &SearchQuery { page: 1, ..SearchQuery::default() }, "/c", &enc);
        assert_eq!((top.pages, top.prev, top.next), (1, None, None));
        assert_eq!(
            top.categories.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(),
            ["furniture", "office"]
        );
    }
}
