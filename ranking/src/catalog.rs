//! The catalog model: products as the shop owner describes them, interactions as shoppers make them.
//!
//! These types are the project's own catalog format (JSON Lines, one [`Product`] a line; interactions as
//! CSV, see docs/FORMATS.md). Validation lives here so every importer rejects the same things.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text;

/// One product of the catalog.
///
/// Optional fields are optional in the JSON input; absent ones deserialize to `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Category path from the root, e.g. `["Furniture", "Chairs"]`.
    pub category: Vec<String>,
    #[serde(default)]
    pub brand: Option<String>,
    pub price: Price,
    /// The regular price before a discount, in `price.currency`; above `price.amount` the product is
    /// on sale (the feed's Deals).
    #[serde(default)]
    pub list_price: Option<f64>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub rating: Option<Rating>,
    /// Share of sold units returned, 0..=1.
    #[serde(default)]
    pub return_rate: Option<f32>,
    #[serde(default)]
    pub seller: Option<Seller>,
    /// Share of product views that end in a purchase, 0..=1.
    #[serde(default)]
    pub conversion_rate: Option<f32>,
    /// Units in stock by ISO country code or region name.
    #[serde(default)]
    pub stock: Option<BTreeMap<String, u32>>,
    /// RFC 3339 date or date-time the product was listed.
    #[serde(default)]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Amount in the currency's major unit (20.99 means twenty dollars ninety-nine).
    pub amount: f64,
    /// ISO 4217 code, e.g. "USD".
    pub currency: String,
}

impl Price {
    /// The price as a shopper reads it: symbol for common currencies (`$12.50`, `€9.99`), the code
    /// otherwise (`12.50 CAD`); a non-finite amount shows as 0. One format for the app and the
    /// edge's prerendered HTML.
    pub fn label(&self) -> String {
        let amount = cents(self.amount);
        match self.currency.as_str() {
            "USD" => format!("${amount}"),
            "EUR" => format!("€{amount}"),
            "GBP" => format!("£{amount}"),
            code => format!("{amount} {code}"),
        }
    }
}

/// `amount` with two decimals (`12.50`), rounded half away from zero; not finite is `0.00`, beyond
/// ±9.2e16 saturates. Integer arithmetic on purpose: float formatting (`{:.2}`) links Rust's float
/// printing algorithms, ~12 KB of the app's wasm used for nothing else.
pub fn cents(amount: f64) -> String {
    let c = (amount * 100.0).round();
    // `as` saturates (1e300 is the largest i64); infinities are not prices.
    let c = if c.is_finite() { c as i64 } else { 0 };
    let sign = if c < 0 { "-" } else { "" };
    let c = c.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// Mean star rating, 0..=5.
    pub average: f32,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seller {
    pub id: String,
    /// Trust score 0..=1 (the marketplace's own measure: disputes, delivery record, tenure).
    pub trust: f32,
}

/// Why a product was rejected by [`Product::validate`]. The message names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Invalid {
    #[error("field `{field}` is empty")]
    Empty { field: &'static str },
    #[error("field `{field}` is too long ({len} chars, at most {max})")]
    TooLong { field: &'static str, len: usize, max: usize },
    #[error("field `{field}` must be {expected}, got {got}")]
    OutOfRange { field: &'static str, expected: &'static str, got: String },
}

/// Longest accepted id; ids appear in URLs and KV keys (KV keys are at most 512 bytes).
pub const MAX_ID: usize = 128;
pub const MAX_TITLE: usize = 500;
pub const MAX_DESCRIPTION: usize = 10_000;

impl Product {
    /// A product with the required fields and no optional ones.
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        category: Vec<String>,
        price: Price,
    ) -> Product {
        Product {
            id: id.into(),
            title: title.into(),
            description: None,
            category,
            brand: None,
            price,
            list_price: None,
            image: None,
            rating: None,
            return_rate: None,
            seller: None,
            conversion_rate: None,
            stock: None,
            created_at: None,
        }
    }

    /// Checks what serde cannot: non-empty ids and titles, sane lengths, finite non-negative prices,
    /// rates within 0..=1, a 3-letter currency. The first problem found is returned.
    pub fn validate(&self) -> Result<(), Invalid> {
        non_empty("id", &self.id)?;
        max_len("id", &self.id, MAX_ID)?;
        // Ids travel in URL paths, in the `X-History` header (Latin-1 only: a browser refuses anything
        // else there) and in comma-separated lists.
        if self
            .id
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | ',') || c.is_whitespace() || u32::from(c) > 0xFF)
        {
            return Err(Invalid::OutOfRange {
                field: "id",
                expected: "free of spaces, slashes, commas, control characters and characters beyond Latin-1",
                got: format!("{:?}", self.id),
            });
        }
        non_empty("title", self.title.trim())?;
        max_len("title", &self.title, MAX_TITLE)?;
        if let Some(d) = &self.description {
            max_len("description", d, MAX_DESCRIPTION)?;
        }
        if let Some(url) = self.image.as_deref().filter(|u| !u.trim().is_empty())
            && !is_safe_image(url)
        {
            return Err(Invalid::OutOfRange {
                field: "image",
                expected: "an https: URL or a path starting with a single /",
                got: format!("{:?}", url.chars().take(80).collect::<String>()),
            });
        }
        if self.category.is_empty() || self.category.iter().any(|c| c.trim().is_empty()) {
            return Err(Invalid::Empty { field: "category" });
        }
        if !(self.price.amount.is_finite() && self.price.amount >= 0.0) {
            return Err(Invalid::OutOfRange {
                field: "price.amount",
                expected: "a finite number >= 0",
                got: self.price.amount.to_string(),
            });
        }
        let cur = &self.price.currency;
        if cur.len() != 3 || !cur.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Invalid::OutOfRange {
                field: "price.currency",
                expected: "an ISO 4217 code like \"USD\"",
                got: format!("{cur:?}"),
            });
        }
        if let Some(l) = self.list_price
            && !(l.is_finite() && l >= 0.0)
        {
            return Err(Invalid::OutOfRange {
                field: "list_price",
                expected: "a finite number >= 0",
                got: l.to_string(),
            });
        }
        if let Some(r) = &self.rating {
            unit_range("rating.average", r.average, 5.0)?;
        }
        if let Some(r) = self.return_rate {
            unit_range("return_rate", r, 1.0)?;
        }
        if let Some(r) = self.conversion_rate {
            unit_range("conversion_rate", r, 1.0)?;
        }
        if let Some(s) = &self.seller {
            non_empty("seller.id", &s.id)?;
            unit_range("seller.trust", s.trust, 1.0)?;
        }
        Ok(())
    }

    /// The short form shown in grids and lists.
    pub fn card(&self, purchases: u32) -> Card {
        Card {
            id: self.id.clone(),
            title: self.title.clone(),
            price: self.price.clone(),
            category: self.category.clone(),
            image: self.image_url(),
            purchases,
            list_price: self.list_price.filter(|l| *l > self.price.amount),
        }
    }

    /// Share of the list price taken off (0 when not on sale).
    pub fn discount(&self) -> f32 {
        self.card(0).discount()
    }

    /// The product's image, or a light placeholder for its top-level category (the app ships one SVG
    /// per category under `/img/category/`, and a generic one for unknown categories).
    /// An image that [`is_safe_image`] refuses (only a build from before the check could hold one)
    /// also gets the placeholder.
    pub fn image_url(&self) -> String {
        match &self.image {
            Some(url) if is_safe_image(url) => url.clone(),
            _ => placeholder_image(&self.category),
        }
    }

    /// The text a product's content embedding is computed from: title, category path, brand and the
    /// start of the description (a static model averages tokens, so a long description would drown
    /// the title).
    pub fn embed_text(&self) -> String {
        let mut s = self.title.clone();
        s.push_str(". ");
        s.push_str(&self.category.join(" > "));
        if let Some(b) = &self.brand {
            s.push_str(". ");
            s.push_str(b);
        }
        if let Some(d) = &self.description {
            s.push_str(". ");
            s.extend(d.chars().take(300));
        }
        s
    }
}

/// Whether an image URL may be shown and put in a page's tags: an `https:` URL with a host, or a path
/// on the shop's own origin (one leading `/`). Refused: `//host/x.png` and `/\host/x.png` (other
/// hosts, relative to the scheme, which a browser and `origin + path` would both resolve elsewhere),
/// `http:` (mixed content), `javascript:`, `data:` and anything with spaces, quotes or control
/// characters.
pub fn is_safe_image(url: &str) -> bool {
    let clean = !url.is_empty()
        && url
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !matches!(c, '"' | '\'' | '<' | '>' | '\\'));
    let own_path = is_own_path(url);
    let https = url
        .strip_prefix("https://")
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .is_some_and(|host| !host.is_empty() && !host.contains('@'));
    clean && (own_path || https)
}

/// Whether `url` is a path on the shop's own origin: one leading `/`, never `//` or a backslash
/// (which browsers read as another host relative to the scheme).
pub fn is_own_path(url: &str) -> bool {
    url.starts_with('/') && !url.starts_with("//") && !url.contains('\\')
}

/// Placeholder image path for a category path: `/img/category/<slug of the top level>.svg`.
pub fn placeholder_image(category: &[String]) -> String {
    let top = category.first().map(|c| text::slug(c)).unwrap_or_default();
    if PLACEHOLDER_CATEGORIES.contains(&top.as_str()) {
        format!("/img/category/{top}.svg")
    } else {
        "/img/category/other.svg".to_owned()
    }
}

/// Top-level categories that have a drawn placeholder in `public/img/category/`.
pub const PLACEHOLDER_CATEGORIES: &[&str] = &["furniture", "office-supplies", "technology"];

fn non_empty(field: &'static str, v: &str) -> Result<(), Invalid> {
    if v.is_empty() { Err(Invalid::Empty { field }) } else { Ok(()) }
}

fn max_len(field: &'static str, v: &str, max: usize) -> Result<(), Invalid> {
    let len = v.chars().count();
    if len > max { Err(Invalid::TooLong { field, len, max }) } else { Ok(()) }
}

fn unit_range(field: &'static str, v: f32, max: f32) -> Result<(), Invalid> {
    if v.is_finite() && (0.0..=max).contains(&v) {
        Ok(())
    } else {
        Err(Invalid::OutOfRange {
            field,
            expected: if max == 1.0 { "a number in 0..=1" } else { "a number in 0..=5" },
            got: v.to_string(),
        })
    }
}

/// A product as shown in a grid: enough to draw the card and link to the product page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub id: String,
    pub title: String,
    pub price: Price,
    pub category: Vec<String>,
    pub image: String,
    /// Units purchased in the interaction log (popularity signal).
    pub purchases: u32,
    /// The regular price when the product is on sale (above `price.amount`), else null. (No
    /// `skip_serializing_if`: cards are also stored with postcard, which needs every field.)
    #[serde(default)]
    pub list_price: Option<f64>,
}

impl Card {
    /// Share of the list price taken off, 0..=1 (0 when not on sale or the data is odd).
    pub fn discount(&self) -> f32 {
        discount(self.price.amount, self.list_price)
    }
}

/// [`Card::discount`] of a price and list price.
pub fn discount(price: f64, list_price: Option<f64>) -> f32 {
    match list_price {
        Some(l) if l > 0.0 && l.is_finite() && price.is_finite() => {
            ((1.0 - price / l) as f32).clamp(0.0, 1.0)
        }
        _ => 0.0,
    }
}

/// What a shopper did with an item. Its name ([`Event::as_str`], also its serde form and what
/// `FromStr` reads) is the one home of the interaction event names: the interactions log, the app's
/// stored history and the history codec ([`crate::history`]) all use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    View,
    Cart,
    Purchase,
}

impl Event {
    /// Every event.
    pub const ALL: [Event; 3] = [Event::View, Event::Cart, Event::Purchase];

    /// The event's name: `view`, `cart` or `purchase`.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::View => "view",
            Event::Cart => "cart",
            Event::Purchase => "purchase",
        }
    }
}

/// A name that is no [`Event`]'s (holds at most its first 40 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event must be view, cart or purchase, got {0:?}")]
pub struct UnknownEvent(pub String);

impl std::str::FromStr for Event {
    type Err = UnknownEvent;
    /// An event's name, trimmed.
    fn from_str(s: &str) -> Result<Self, UnknownEvent> {
        let s = s.trim();
        Event::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownEvent(s.chars().take(40).collect()))
    }
}

/// Category slug path of a product's category labels (`furniture/chairs`).
pub fn category_path(category: &[String]) -> String {
    category.iter().map(|c| text::slug(c)).collect::<Vec<_>>().join("/")
}

/// Whether slug path `path` is category `wanted` or below it.
pub fn in_category(path: &str, wanted: &str) -> bool {
    path == wanted || (path.starts_with(wanted) && path.as_bytes().get(wanted.len()) == Some(&b'/'))
}

/// One row of the interactions log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    pub user_id: String,
    pub item_id: String,
    /// Seconds since the Unix epoch (UTC).
    pub timestamp: i64,
    pub event: Event,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_parse_back_and_match_serde() {
        for e in Event::ALL {
            assert_eq!(e.as_str().parse::<Event>(), Ok(e));
            assert_eq!(serde_json::to_string(&e).unwrap(), format!("\"{}\"", e.as_str()));
        }
        assert_eq!(" cart ".parse::<Event>(), Ok(Event::Cart));
        assert!("odd".parse::<Event>().unwrap_err().to_string().contains("view, cart or purchase"));
    }

    fn product() -> Product {
        serde_json::from_str(
            r#"{"id":"p1","title":"Desk Chair","category":["Furniture","Chairs"],
                "price":{"amount":99.5,"currency":"USD"}}"#,
        )
        .unwrap()
    }

    #[test]
    fn cents_prints_like_two_decimal_formatting() {
        // Prices as catalogs hold them and as currency conversion makes them.
        for a in [0.0, 0.01, 0.1, 0.99, 1.0, 9.99, 12.5, 99.5, 1234.56, 1e9 + 0.07, 19.99 * 0.92, 7.3 * 1.17]
        {
            assert_eq!(cents(a), format!("{a:.2}"), "{a}");
            assert_eq!(cents(-a).trim_start_matches('-'), format!("{a:.2}"), "-{a}");
        }
        assert_eq!(cents(-3.5), "-3.50");
        assert_eq!(cents(f64::NAN), "0.00");
        assert_eq!(cents(f64::INFINITY), "0.00");
        assert_eq!(cents(1e300), "92233720368547758.07", "saturates, never panics");
        assert_eq!(cents(-0.001), "0.00", "no negative zero");
    }

    #[test]
    fn minimal_json_is_valid() {
        let p = product();
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(p.image_url(), "/img/category/furniture.svg");
    }

    #[test]
    fn validation_names_the_field() {
        let mut p = product();
        p.price.amount = f64::NAN;
        assert!(p.validate().unwrap_err().to_string().contains("price.amount"));
        let mut p = product();
        p.rating = Some(Rating { average: 7.0, count: 3 });
        assert!(p.validate().unwrap_err().to_string().contains("rating.average"));
        let mut p = product();
        p.id = "a/b".into();
        assert!(p.validate().unwrap_err().to_string().contains("`id`"));
        let mut p = product();
        p.category = vec![];
        assert_eq!(p.validate(), Err(Invalid::Empty { field: "category" }));
        let mut p = product();
        p.price.currency = "usd".into();
        assert!(p.validate().unwrap_err().to_string().contains("price.currency"));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let r: Result<Product, _> = serde_json::from_str(
            r#"{"id":"p1","title":"T","category":["A"],"price":{"amount":1,"currency":"USD"},"colour":"red"}"#,
        );
        assert!(r.unwrap_err().to_string().contains("colour"));
    }

    #[test]
    fn unknown_category_gets_generic_placeholder() {
        assert_eq!(placeholder_image(&["Garden".into()]), "/img/category/other.svg");
    }

    #[test]
    fn ids_fit_the_history_header_and_id_lists() {
        for ok in ["FUR-CH-1", "c:x", "Café-Crème", "x".repeat(MAX_ID).as_str()] {
            assert_eq!(Product { id: ok.into(), ..product() }.validate(), Ok(()), "{ok}");
        }
        for bad in ["a,b", "line\nbreak", "日本-1", "emoji-🪑", " padded", "padded "] {
            match (Product { id: bad.into(), ..product() }).validate() {
                Err(Invalid::OutOfRange { field: "id", .. }) => {}
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn images_are_https_or_the_shops_own_paths() {
        for ok in ["/img/a.svg", "https://cdn.shopify.com/s/files/x.jpg?v=1", "https://h", "/a//b.png"] {
            assert!(is_safe_image(ok), "{ok}");
            let p = Product { image: Some(ok.into()), ..product() };
            assert_eq!((p.validate(), p.image_url()), (Ok(()), ok.to_owned()));
        }
        for bad in [
            "//evil.test/x.png",
            "/\\evil.test/x.png",
            "http://cdn.test/x.png",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "https://",
            "https:///x.png",
            "https://user@evil.test/x.png",
            "/img/a.svg\" onerror=\"x",
            "/img/a b.svg",
            "img/a.svg",
        ] {
            assert!(!is_safe_image(bad), "{bad}");
            let p = Product { image: Some(bad.into()), ..product() };
            match p.validate() {
                Err(Invalid::OutOfRange { field: "image", .. }) => {}
                other => panic!("{bad}: {other:?}"),
            }
            // A value stored before the check is never shown: the placeholder instead.
            assert_eq!(p.image_url(), "/img/category/furniture.svg", "{bad}");
        }
        assert_eq!(Product { image: Some(" ".into()), ..product() }.validate(), Ok(()), "blank: no image");
        assert!(is_own_path("/engine-1a2b/engine.js"));
        for other in
            ["//evil.test/engine.js", "/\\evil.test/engine.js", "https://evil.test/e.js", "engine.js"]
        {
            assert!(!is_own_path(other), "{other}");
        }
        assert_eq!(placeholder_image(&[]), "/img/category/other.svg");
    }
}
