//! Wire types of the HTTP API, shared so the edge serializes and the app deserializes one definition.

use serde::{Deserialize, Serialize};

use crate::catalog::{Card, Event, Price, Product};
use crate::feed::Why;
use crate::locale::Delivery;
use crate::search::{Facets, SearchWhy, Sort};

/// `GET /api/feed`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedResponse {
    pub sections: Vec<FeedSection>,
    /// The experiment variant whose weights ranked this answer.
    #[serde(default)]
    pub variant: String,
    pub index_version: String,
}

/// A titled row of the home feed ("For you", "Because you viewed …", "Trending").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedSection {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
    pub items: Vec<FeedItem>,
}

impl FeedSection {
    /// The list this section's cards are measured in (events' `list`): its id for the known sections,
    /// `feed` otherwise. The app and the edge's prerendered page name it alike.
    pub fn list(&self) -> &'static str {
        match self.id.as_str() {
            "for-you" => "for-you",
            "because" => "because",
            "trending" => "trending",
            "deals" => "deals",
            _ => "feed",
        }
    }
}

/// A feed item: the card, its score and each signal's share of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedItem {
    #[serde(flatten)]
    pub card: Card,
    pub score: f32,
    pub why: Why,
    /// The catalog's price when `price` was converted to the shopper's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_price: Option<Price>,
    /// Days to deliver to the shopper's country from the nearest stock, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_days: Option<u16>,
}

/// A search page's parameters as its URL holds them (`/search?q=…&category=…&min_price=…&max_price=…
/// &sort=…&page=…`) and `GET /api/search` takes them: the app, its links and the edge's prerendered
/// search page read and write this one form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchQuery {
    pub q: String,
    pub category: Option<String>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub sort: Option<String>,
    /// 1-based.
    pub page: usize,
}

impl SearchQuery {
    /// From a URL's decoded query pairs (unknown keys ignored, a malformed page is page 1).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> SearchQuery {
        let mut q = SearchQuery { page: 1, ..SearchQuery::default() };
        for (k, v) in pairs {
            let v = v.to_owned();
            match k {
                "q" => q.q = v,
                "category" => q.category = Some(v),
                "min_price" => q.min_price = Some(v),
                "max_price" => q.max_price = Some(v),
                "sort" => q.sort = Some(v),
                "page" => q.page = v.parse().unwrap_or(1),
                _ => {}
            }
        }
        q.page = q.page.max(1);
        q
    }

    /// The URL's query pairs, in this order, empty ones and page 1 left out.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![("q", self.q.clone())];
        let opt = [
            ("category", &self.category),
            ("min_price", &self.min_price),
            ("max_price", &self.max_price),
            ("sort", &self.sort),
        ];
        p.extend(opt.into_iter().filter_map(|(k, v)| v.clone().filter(|v| !v.is_empty()).map(|v| (k, v))));
        if self.page > 1 {
            p.push(("page", self.page.to_string()));
        }
        p
    }

    /// The URL of this results page: `/search?q=…&…`, or for `base` `/c` the category in the path
    /// (`/c/furniture/chairs?sort=…`). `encode` is JavaScript's `encodeURIComponent` (the app calls
    /// the browser's, the edge the same character set).
    pub fn url(&self, base: &str, encode: impl Fn(&str) -> String) -> String {
        let in_path = base == "/c";
        let path = if in_path {
            format!("/c/{}", self.category.clone().unwrap_or_default())
        } else {
            base.to_owned()
        };
        let pairs: Vec<String> = self
            .pairs()
            .into_iter()
            .filter(|(k, _)| !(in_path && (*k == "q" || *k == "category")))
            .map(|(k, v)| format!("{k}={}", encode(&v)))
            .collect();
        if pairs.is_empty() { path } else { format!("{path}?{}", pairs.join("&")) }
    }
}

/// One part of the short note under a feed card ("Because you viewed X · popular · 12% off · 3-day
/// delivery"). Which parts a card gets is decided here once; the app and the edge's prerendered
/// page put them in words (the edge in English, the app in the shopper's language).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotePart<'a> {
    /// The history product (its id) that contributed most.
    BecauseYouViewed(&'a str),
    /// Popularity outweighs every personal signal.
    Popular,
    /// Whole percent taken off the list price (Deals).
    PercentOff(i64),
    /// Days to deliver to the shopper's country.
    DeliveryDays(u16),
}

impl FeedItem {
    /// The parts of this card's note, in the order they are shown.
    pub fn note_parts(&self) -> Vec<NotePart<'_>> {
        let w = &self.why;
        let mut parts = Vec::new();
        if let Some(id) = w.because.as_deref() {
            parts.push(NotePart::BecauseYouViewed(id));
        }
        if w.popularity > 0.0 && w.popularity >= w.collaborative + w.similarity + w.co_occurrence {
            parts.push(NotePart::Popular);
        }
        if w.discount >= crate::feed::MIN_DEAL {
            // Whole percent by integer formatting (no float printing in the app; see `catalog::cents`).
            parts.push(NotePart::PercentOff((w.discount * 100.0).round() as i64));
        }
        if let Some(d) = self.delivery_days {
            parts.push(NotePart::DeliveryDays(d));
        }
        parts
    }
}

/// `GET /api/products/{id}/similar` and `/bought-together`: related products, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelatedResponse {
    pub items: Vec<RelatedItem>,
    pub index_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelatedItem {
    #[serde(flatten)]
    pub card: Card,
    /// Similar: 1 for the closest, then 1/2, 1/3…; bought together: the shrunk lift.
    pub score: f32,
    /// The catalog's price when `price` was converted to the shopper's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_price: Option<Price>,
    /// Days to deliver to the shopper's country from the nearest stock, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_days: Option<u16>,
}

/// `GET /api/search`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    pub query: String,
    pub total: usize,
    pub page: usize,
    pub limit: usize,
    /// No product matched every word; these match some.
    pub partial: bool,
    /// The catalog is partitioned and only the cells most likely to hold matches were searched:
    /// `total` and the facet counts cover those cells.
    #[serde(default)]
    pub approximate: bool,
    pub items: Vec<SearchItem>,
    pub facets: Facets,
    /// The experiment variant whose weights ranked this answer.
    #[serde(default)]
    pub variant: String,
    pub index_version: String,
}

/// One search result: the card, its score and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchItem {
    #[serde(flatten)]
    pub card: Card,
    pub score: f32,
    pub why: SearchWhy,
    /// The catalog's price when `price` was converted to the shopper's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_price: Option<Price>,
    /// Days to deliver to the shopper's country from the nearest stock, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_days: Option<u16>,
}

/// `GET /api/products/{id}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductResponse {
    /// The product, its `price` in the shopper's currency.
    pub product: Product,
    /// The catalog's price when `product.price` was converted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_price: Option<Price>,
    /// Fastest delivery to the shopper's country from a location with stock, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// The product's image or its category placeholder.
    pub image: String,
    pub index_version: String,
}

/// RFC 9457 problem details, the body of every API error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request parameter at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// For the feed when the index is unreadable: a non-personal feed (the build's most popular
    /// products) the app can show instead of an empty page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FeedResponse>,
}

/// `GET /api/suggest`: completions of the word being typed, and the best matching products.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestResponse {
    pub query: String,
    pub terms: Vec<String>,
    pub products: Vec<Card>,
    pub index_version: String,
}

/// `GET /api/categories`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoriesResponse {
    pub categories: Vec<crate::index::CategoryNode>,
    pub index_version: String,
}

/// `POST /api/checkout`: the cart as the device holds it, ids and quantities only. Prices are never
/// read from a request (any other field is ignored): the edge prices every line from the build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutRequest {
    pub lines: Vec<CartLine>,
    /// The shopper's language for the payment page (`en`, `de`); the provider's default without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// One cart line. The quantity is signed so that a negative one is refused with a message naming the
/// line rather than a type error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartLine {
    pub id: String,
    pub quantity: i64,
}

/// `POST /api/checkout` answer: where the shopper pays (the provider's hosted page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutResponse {
    pub url: String,
}

/// `GET /api/checkout`: whether this shop takes payments, so the app shows its checkout button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutStatus {
    pub enabled: bool,
}

/// What the app asks the on-device engine to search: `/api/search`'s parameters, typed. The app
/// serializes it once (JSON, the history in [`crate::history`]'s form) and the engine deserializes it
/// once; an unknown sort fails to deserialize, as the edge refuses it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineSearch {
    pub q: String,
    /// Category slug path (`furniture/chairs`).
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub min_price: Option<f64>,
    #[serde(default)]
    pub max_price: Option<f64>,
    #[serde(default)]
    pub sort: Sort,
    /// 1-based page.
    pub page: usize,
    pub limit: usize,
    /// The shopper's history, most recent first (empty: not personal).
    #[serde(default, with = "crate::history::codec")]
    pub history: Vec<(String, Event)>,
    /// Unix seconds.
    pub now: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_search_round_trips_and_refuses_an_unknown_sort() {
        let req = EngineSearch {
            q: "chair".into(),
            min_price: Some(10.0),
            sort: Sort::PriceDesc,
            page: 2,
            limit: 12,
            history: vec![("p1".into(), Event::Cart)],
            now: 5,
            ..EngineSearch::default()
        };
        let json = serde_json::to_string(&req).unwrap();
        assert!(json.contains(r#""sort":"price_desc""#) && json.contains(r#""history":"p1:cart""#), "{json}");
        assert_eq!(serde_json::from_str::<EngineSearch>(&json).unwrap(), req);
        let bad = json.replace("price_desc", "cheapest");
        let err = serde_json::from_str::<EngineSearch>(&bad).unwrap_err().to_string();
        assert!(err.contains("sort must be relevance, price_asc, price_desc or newest"), "{err}");
    }

    #[test]
    fn a_feed_cards_note_says_why_in_order() {
        let item = |why: serde_json::Value, days: Option<u16>| FeedItem {
            card: serde_json::from_value(
                serde_json::json!({"id": "a", "title": "A", "price": {"amount": 8.0, "currency": "USD"},
                "category": [], "image": "", "purchases": 1, "list_price": 10.0}),
            )
            .unwrap(),
            score: 1.0,
            why: serde_json::from_value(why).unwrap(),
            base_price: None,
            delivery_days: days,
        };
        let popular = item(
            serde_json::json!({"similarity": 0.1, "co_occurrence": 0.0, "popularity": 0.5,
            "discount": 0.2, "because": null}),
            Some(3),
        );
        assert_eq!(
            popular.note_parts(),
            [NotePart::Popular, NotePart::PercentOff(20), NotePart::DeliveryDays(3)]
        );
        let personal = item(
            serde_json::json!({"similarity": 0.6, "co_occurrence": 0.0, "popularity": 0.5,
            "discount": 0.01, "because": "b"}),
            None,
        );
        assert_eq!(personal.note_parts(), [NotePart::BecauseYouViewed("b")]);
    }

    #[test]
    fn a_search_query_reads_and_writes_its_url() {
        let q =
            SearchQuery::from_pairs([("q", "oak chair"), ("sort", "price_asc"), ("page", "x"), ("utm", "1")]);
        assert_eq!(q.page, 1);
        let enc = |s: &str| s.replace(' ', "%20");
        assert_eq!(q.url("/search", enc), "/search?q=oak%20chair&sort=price_asc");
        let c = SearchQuery { category: Some("furniture/chairs".into()), page: 2, ..SearchQuery::default() };
        assert_eq!(c.url("/c", enc), "/c/furniture/chairs?page=2");
        assert_eq!(SearchQuery::from_pairs(c.pairs().iter().map(|(k, v)| (*k, v.as_str()))), c);
    }
}
