//! The API's answers built from ranking results: one function per endpoint, called by the edge over
//! KV data and by the app over the candidates on the device, so both answer identically.

use crate::Event;
use crate::catalog::{Card, Price, Product};
use crate::feed::{self, Seen};
use crate::index::{CategoryNode, ItemIndex};
use crate::kv::{CardList, ProductShard};
use crate::locale::{Delivery, Locale};
use crate::rows::Rows;
use crate::rules::Rules;
use crate::search::{self, Filters, SearchIndex, SearchRequest, Sort};
use crate::signals::Signals;
use crate::weights::Weights;
use crate::wire::{
    CategoriesResponse, FeedItem, FeedResponse, FeedSection, ProductResponse, RelatedItem, RelatedResponse,
    SearchItem, SearchResponse, SuggestResponse,
};

/// Search parameters after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchParams {
    pub q: String,
    pub page: usize,
    pub limit: usize,
    pub filters: Filters,
    pub sort: Sort,
    /// The shopper's history (most recent first), for the personal boost; empty = none.
    pub history: Vec<(String, Event)>,
}

/// The app's search request to the on-device engine as [`search`] takes it (no in-stock filter:
/// the app offers none), so the device searches with the edge's parameters.
impl From<crate::wire::EngineSearch> for SearchParams {
    fn from(r: crate::wire::EngineSearch) -> SearchParams {
        SearchParams {
            q: r.q,
            page: r.page,
            limit: r.limit,
            filters: Filters {
                category: r.category,
                min_price: r.min_price,
                max_price: r.max_price,
                in_stock: false,
            },
            sort: r.sort,
            history: r.history,
        }
    }
}

/// What every handler answers under: the index version, the request time and the experiment variant.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub version: &'a str,
    /// The shopper's country (ISO 3166 alpha-2, upper case), for stock and the in-stock filter.
    pub country: Option<&'a str>,
    /// Unix seconds.
    pub now: i64,
    pub variant: &'a str,
    pub weights: &'a Weights,
    /// The shopper's explicit currency choice (`?currency=`), if any.
    pub currency: Option<&'a str>,
    /// Currencies, rates and delivery regions of this build; without them prices stay as indexed.
    pub locale: Option<&'a Locale>,
    /// The build's merchandising rules, if any.
    pub rules: Option<&'a Rules>,
}

impl Ctx<'_> {
    /// `price` in the shopper's currency, and the original when it was converted.
    pub fn price(&self, price: &Price) -> (Price, Option<Price>) {
        let Some(locale) = self.locale else { return (price.clone(), None) };
        match locale.convert(price, locale.currency_for(self.country, self.currency)) {
            Some(local) if local.currency != price.currency => (local, Some(price.clone())),
            _ => (price.clone(), None),
        }
    }

    /// The shopper's currency, when prices are shown converted.
    fn shown_currency(&self) -> Option<(&Locale, &str)> {
        let l = self.locale?;
        let c = l.currency_for(self.country, self.currency);
        (c != l.base_currency).then_some((l, c))
    }

    /// An amount in the shopper's currency, in the catalog's base currency.
    fn catalog_amount(&self, amount: f64) -> f64 {
        let Some((l, c)) = self.shown_currency() else { return amount };
        l.convert(&Price { amount, currency: c.to_owned() }, &l.base_currency).map_or(amount, |p| p.amount)
    }

    /// An amount in the catalog's base currency, in the shopper's.
    fn shown_amount(&self, amount: f64) -> f64 {
        let Some((l, c)) = self.shown_currency() else { return amount };
        l.convert(&Price { amount, currency: l.base_currency.clone() }, c).map_or(amount, |p| p.amount)
    }

    /// Delivery to the shopper's country from the locations with stock.
    pub fn delivery(&self, in_stock: Option<&[String]>) -> Option<Delivery> {
        self.locale?.delivery(in_stock?, self.country?)
    }

    /// A list price (in the currency of `price`) converted as `price` is, so the two compare.
    fn list_price(&self, list: Option<f64>, price: &Price) -> Option<f64> {
        list.map(|l| self.price(&Price { amount: l, currency: price.currency.clone() }).0.amount)
    }

    /// A card with its price localized, the original price if converted, and the delivery days.
    pub fn card(&self, card: &Card, signals: Option<&Signals>) -> (Card, Option<Price>, Option<u16>) {
        let (price, base) = self.price(&card.price);
        let list_price = self.list_price(card.list_price, &card.price);
        let days = self.delivery(signals.and_then(|s| s.in_stock.as_deref())).map(|d| d.days);
        (Card { price, list_price, ..card.clone() }, base, days)
    }
}
/// `GET /api/feed`: the home feed's sections for a history (cold start: "Trending" alone).
pub fn feed(items: &dyn Rows, history: &[(String, Event)], limit: usize, ctx: Ctx<'_>) -> FeedResponse {
    let seen: Vec<Seen<'_>> = history.iter().map(|(id, event)| Seen { id, event: *event }).collect();
    let sections = feed::home(items, &seen, ctx.weights, limit)
        .into_iter()
        .map(|s| FeedSection {
            id: s.id,
            title: s.title,
            because: s.because,
            items: s
                .items
                .into_iter()
                .filter_map(|i| {
                    let (card, base_price, delivery_days) =
                        ctx.card(&*items.card(i.index)?, items.signals(i.index).as_deref());
                    Some(FeedItem { card, score: i.score, why: i.why, base_price, delivery_days })
                })
                .collect(),
        })
        .collect();
    FeedResponse { sections, variant: ctx.variant.to_owned(), index_version: ctx.version.to_owned() }
}

/// The feed when the item index is unreadable: the build's most popular products as "Trending",
/// first `limit`, not personal (served with a 503 problem).
pub fn fallback_feed(popular: &CardList, limit: usize, ctx: Ctx<'_>) -> FeedResponse {
    let items: Vec<FeedItem> = popular
        .cards
        .iter()
        .take(limit)
        .map(|c| {
            let (card, base_price, _) = ctx.card(c, None);
            FeedItem { card, score: 0.0, why: Default::default(), base_price, delivery_days: None }
        })
        .collect();
    let sections = if items.is_empty() {
        Vec::new()
    } else {
        vec![FeedSection { id: "trending".into(), title: "Trending".into(), because: None, items }]
    };
    FeedResponse { sections, variant: ctx.variant.to_owned(), index_version: ctx.version.to_owned() }
}

/// `GET /api/suggest`: up to 8 completions of the word being typed and the 5 best products.
pub fn suggest(cat: SearchIndex<'_>, q: &str, ctx: Ctx<'_>) -> SuggestResponse {
    let s = search::suggest(cat, q, ctx.weights, ctx.now, 8, 5);
    let products = s.hits.iter().filter_map(|h| Some(ctx.card(&*cat.items.card(h.index)?, None).0)).collect();
    SuggestResponse { query: q.to_owned(), terms: s.terms, products, index_version: ctx.version.to_owned() }
}

/// `GET /api/categories`
pub fn categories(items: &ItemIndex, version: &str) -> CategoriesResponse {
    categories_of(items.categories(), version)
}

/// `GET /api/categories` of a partitioned build, whose tree is stored in the routing head.
pub fn categories_of(tree: Vec<CategoryNode>, version: &str) -> CategoriesResponse {
    CategoriesResponse { categories: tree, index_version: version.to_owned() }
}

/// `GET /api/products/{id}/similar` or `/bought-together`; `None` when `id` is not in `items`.
pub fn related(items: &dyn Rows, id: &str, bought_together: bool, ctx: Ctx<'_>) -> Option<RelatedResponse> {
    let i = items.position(id)?;
    let list = if bought_together { items.bought_with(i) } else { items.similar_to(i) };
    let out = list
        .into_iter()
        .filter_map(|(j, score)| {
            let (card, base_price, delivery_days) = ctx.card(&*items.card(j)?, items.signals(j).as_deref());
            Some(RelatedItem { card, score, base_price, delivery_days })
        })
        .collect();
    Some(RelatedResponse { items: out, index_version: ctx.version.to_owned() })
}

/// `GET /api/search`: hybrid search with filters, sort and facets, paged.
pub fn search(cat: SearchIndex<'_>, p: &SearchParams, ctx: Ctx<'_>) -> SearchResponse {
    let seen: Vec<Seen<'_>> = p.history.iter().map(|(id, event)| Seen { id, event: *event }).collect();
    // Price bounds arrive in the shopper's currency; ranking compares catalog prices.
    let mut filters = p.filters.clone();
    filters.min_price = filters.min_price.map(|a| ctx.catalog_amount(a));
    filters.max_price = filters.max_price.map(|a| ctx.catalog_amount(a));
    let req = SearchRequest {
        query: &p.q,
        history: &seen,
        filters,
        sort: p.sort,
        now: ctx.now,
        country: ctx.country,
        offset: p.page.saturating_sub(1).saturating_mul(p.limit),
        limit: p.limit,
        rules: ctx.rules,
    };
    let mut found = search::search(cat, &req, ctx.weights);
    for bucket in &mut found.facets.price {
        bucket.min = ctx.shown_amount(bucket.min);
        bucket.max = bucket.max.map(|m| ctx.shown_amount(m));
    }
    SearchResponse {
        query: p.q.clone(),
        total: found.total,
        page: p.page,
        limit: p.limit,
        partial: found.partial,
        approximate: false,
        items: found
            .hits
            .into_iter()
            .filter_map(|h| {
                let (card, base_price, delivery_days) =
                    ctx.card(&*cat.items.card(h.index)?, cat.items.signals(h.index).as_deref());
                Some(SearchItem { card, score: h.score, why: h.why, base_price, delivery_days })
            })
            .collect(),
        facets: found.facets,
        variant: ctx.variant.to_owned(),
        index_version: ctx.version.to_owned(),
    }
}

/// `GET /api/products/{id}` from the shard that holds `id`: the product with its price (and list
/// price, as on cards) in the shopper's currency and its delivery; `None` when the shard lacks `id`.
pub fn product(shard: &ProductShard, id: &str, ctx: Ctx<'_>) -> Option<ProductResponse> {
    let p = shard.get(id)?;
    let (price, base_price) = ctx.price(&p.price);
    let in_stock: Option<Vec<String>> =
        p.stock.as_ref().map(|s| s.iter().filter(|(_, q)| **q > 0).map(|(loc, _)| loc.clone()).collect());
    Some(ProductResponse {
        image: p.image_url(),
        delivery: ctx.delivery(in_stock.as_deref()),
        product: Product { list_price: ctx.list_price(p.list_price, &p.price), price, ..p.clone() },
        base_price,
        index_version: ctx.version.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::Weights;

    fn product_of(id: &str, title: &str) -> Product {
        serde_json::from_value(serde_json::json!({
            "id": id, "title": title, "category": ["Furniture", "Seating"],
            "price": {"amount": 10.0, "currency": "USD"}
        }))
        .unwrap()
    }

    fn ctx<'a>(w: &'a Weights, locale: Option<&'a Locale>, country: Option<&'a str>) -> Ctx<'a> {
        Ctx {
            version: "v1",
            country,
            now: 0,
            variant: "default",
            weights: w,
            currency: None,
            locale,
            rules: None,
        }
    }

    /// The localisation data the indexer ships by default.
    fn shipped_locale() -> Locale {
        let l: Locale = serde_json::from_str(include_str!("../../indexer/data/locale.json")).unwrap();
        l.validate().unwrap();
        l
    }

    #[test]
    fn product_found_and_missing() {
        let shard = ProductShard { products: vec![product_of("a", "Chair")] };
        let w = Weights::default();
        let r = product(&shard, "a", ctx(&w, None, None)).unwrap();
        assert_eq!((r.product.title.as_str(), r.image.as_str()), ("Chair", "/img/category/furniture.svg"));
        assert_eq!((r.base_price, r.delivery), (None, None));
        assert!(product(&shard, "b", ctx(&w, None, None)).is_none());
    }

    #[test]
    fn products_priced_in_the_shoppers_currency_and_delivered_from_the_nearest_stock() {
        let mut p = product_of("a", "Chair");
        p.stock =
            Some([("US".to_owned(), 5), ("FR".to_owned(), 2), ("JP".to_owned(), 0)].into_iter().collect());
        p.list_price = Some(p.price.amount * 2.0);
        let shard = ProductShard { products: vec![p.clone()] };
        let (w, locale) = (Weights::default(), shipped_locale());
        let r = product(&shard, "a", ctx(&w, Some(&locale), Some("DE"))).unwrap();
        assert_eq!(r.product.price.currency, "EUR");
        assert!(
            (r.product.price.amount - (p.price.amount * locale.rates["EUR"] * 100.0).round() / 100.0).abs()
                < 1e-9
        );
        assert_eq!(r.base_price.as_ref(), Some(&p.price));
        let list = (p.price.amount * 2.0 * locale.rates["EUR"] * 100.0).round() / 100.0;
        assert_eq!(r.product.list_price, Some(list), "the list price is converted too");
        assert_eq!(r.delivery, Some(Delivery { days: locale.same_region_days, from: "FR".into() }));
        let us = product(&shard, "a", ctx(&w, Some(&locale), Some("US"))).unwrap();
        assert_eq!((us.product.price, us.base_price), (p.price.clone(), None));
        assert_eq!(us.delivery.map(|d| d.days), Some(locale.same_country_days));
        // An explicit currency wins over the country's; an unknown country keeps the catalog's.
        let chosen = Ctx { currency: Some("JPY"), ..ctx(&w, Some(&locale), Some("DE")) };
        assert_eq!(product(&shard, "a", chosen).unwrap().product.price.currency, "JPY");
        let nowhere = product(&shard, "a", ctx(&w, Some(&locale), Some("ZZ"))).unwrap();
        assert_eq!((nowhere.product.price.currency.as_str(), nowhere.delivery), ("USD", None));
    }
}
