//! Business signals of a product, precomputed by the indexer into 0..=1 values so ranking can weigh
//! them: quality (ratings, shrunk by count, and returns), seller trust, conversion, stock by region,
//! and listing date.

use serde::{Deserialize, Serialize};

use crate::catalog::Product;

/// Ratings count as this many votes of [`PRIOR_RATING`] before their own, so 1 review of 5 stars does
/// not outrank 500 reviews averaging 4.8.
pub const PRIOR_VOTES: f32 = 10.0;
pub const PRIOR_RATING: f32 = 3.5;
/// A conversion rate at or above this counts fully.
pub const FULL_CONVERSION: f32 = 0.10;
/// Value used for a signal the catalog does not provide, so missing data neither helps nor hurts much.
pub const NEUTRAL: f32 = 0.5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Shrunk rating / 5 times (1 - return rate).
    pub quality: f32,
    pub trust: f32,
    pub conversion: f32,
    /// Regions (ISO country codes or region names, upper-cased) with stock > 0; `None` = no stock data.
    pub in_stock: Option<Vec<String>>,
    /// Unix seconds of listing, if known.
    pub created_at: Option<i64>,
    /// The brand, for merchandising rules that match on it.
    #[serde(default)]
    pub brand: Option<String>,
    /// How many shoppers interacted with the product (ties broken by its interactions in all),
    /// log-scaled over the whole catalog to 0..=1 by the indexer, so a cell, a view or the device pack
    /// scores it as the whole index does.
    pub popularity: f32,
}

impl Signals {
    pub fn of(p: &Product, created_at: Option<i64>) -> Signals {
        let rating = p.rating.as_ref().map_or(PRIOR_RATING, |r| {
            let c = r.count as f32;
            (r.average * c + PRIOR_RATING * PRIOR_VOTES) / (c + PRIOR_VOTES)
        });
        let returns = p.return_rate.unwrap_or(0.0).clamp(0.0, 1.0);
        let in_stock = p.stock.as_ref().map(|s| {
            s.iter().filter(|(_, q)| **q > 0).map(|(region, _)| region.to_ascii_uppercase()).collect()
        });
        Signals {
            quality: finite01(rating / 5.0 * (1.0 - returns)),
            trust: p.seller.as_ref().map_or(NEUTRAL, |s| finite01(s.trust)),
            conversion: p.conversion_rate.map_or(NEUTRAL, |c| finite01(c / FULL_CONVERSION)),
            in_stock,
            created_at,
            brand: p.brand.clone(),
            popularity: 0.0,
        }
    }

    /// The log-scaled popularity of `count` shoppers when the most popular item has `max`.
    pub fn popularity_of(count: f32, max: f32) -> f32 {
        if max > 0.0 { finite01(count.ln_1p() / max.ln_1p()) } else { 0.0 }
    }

    /// 1 when in stock in `country`, 0 when stock data says it is not, [`NEUTRAL`] without data.
    pub fn stock_in(&self, country: Option<&str>) -> f32 {
        stock_in(self.in_stock.as_deref(), country)
    }

    /// Freshness in 0..=1: 1 when listed now, halving every 90 days; 0 when unknown.
    pub fn freshness(&self, now: i64) -> f32 {
        freshness(self.created_at, now)
    }
}

/// [`Signals::stock_in`] of the regions with stock (`None`: no stock data).
pub fn stock_in(in_stock: Option<&[String]>, country: Option<&str>) -> f32 {
    match (in_stock, country) {
        (None, _) => NEUTRAL,
        (Some(regions), Some(c)) => {
            if regions.iter().any(|r| r.eq_ignore_ascii_case(c)) {
                1.0
            } else {
                0.0
            }
        }
        (Some(regions), None) => {
            if regions.is_empty() {
                0.0
            } else {
                1.0
            }
        }
    }
}

/// [`Signals::freshness`] of a listing time.
pub fn freshness(created_at: Option<i64>, now: i64) -> f32 {
    match created_at {
        None => 0.0,
        Some(t) => {
            let days = (now.saturating_sub(t)).max(0) as f32 / 86_400.0;
            finite01(0.5f32.powf(days / 90.0))
        }
    }
}

fn finite01(x: f32) -> f32 {
    if x.is_finite() { x.clamp(0.0, 1.0) } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Rating, Seller};

    fn product() -> Product {
        serde_json::from_str(
            r#"{"id":"a","title":"T","category":["C"],"price":{"amount":1,"currency":"USD"}}"#,
        )
        .unwrap()
    }

    #[test]
    fn rating_shrinks_by_count() {
        let mut few = product();
        few.rating = Some(Rating { average: 5.0, count: 1 });
        let mut many = product();
        many.rating = Some(Rating { average: 4.8, count: 500 });
        assert!(Signals::of(&many, None).quality > Signals::of(&few, None).quality);
        let mut returned = many.clone();
        returned.return_rate = Some(0.5);
        assert!((Signals::of(&returned, None).quality - Signals::of(&many, None).quality / 2.0).abs() < 1e-6);
    }

    #[test]
    fn missing_data_is_neutral_and_bad_data_bounded() {
        let s = Signals::of(&product(), None);
        assert_eq!(
            (s.trust, s.conversion, s.stock_in(Some("US")), s.freshness(0)),
            (NEUTRAL, NEUTRAL, NEUTRAL, 0.0)
        );
        let mut p = product();
        p.seller = Some(Seller { id: "s".into(), trust: f32::NAN });
        p.conversion_rate = Some(7.0);
        let s = Signals::of(&p, Some(i64::MIN));
        assert_eq!((s.trust, s.conversion), (0.0, 1.0));
        assert!(s.freshness(i64::MAX).is_finite());
    }

    #[test]
    fn stock_by_country() {
        let mut p = product();
        p.stock = Some([("DE".to_string(), 3), ("US".to_string(), 0)].into_iter().collect());
        let s = Signals::of(&p, None);
        assert_eq!((s.stock_in(Some("de")), s.stock_in(Some("US")), s.stock_in(None)), (1.0, 0.0, 1.0));
    }
}
