//! Localisation data stored with each build: the shopper's currency (country → currency, FX rates
//! from the catalog's currency) and delivery estimates (country → region, days between regions), so
//! prices and "3-day delivery" are shown the same on the edge and on the device.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::Price;
use crate::kv::{Blob, Kind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Locale {
    /// Currency the catalog's prices are converted from when they carry no rate of their own.
    pub base_currency: String,
    /// ISO country → ISO 4217 currency shown there.
    pub currencies: BTreeMap<String, String>,
    /// Currency → units of it per one unit of `base_currency` (the base itself is 1).
    pub rates: BTreeMap<String, f64>,
    /// ISO country → delivery region (e.g. `DE` → `EU`).
    pub regions: BTreeMap<String, String>,
    /// Days to deliver from a warehouse region to a shopper region (either direction).
    pub days: Vec<RegionDays>,
    /// Days when the warehouse is in the shopper's own country.
    pub same_country_days: u16,
    /// Days within one region when no pair says otherwise.
    pub same_region_days: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionDays {
    pub from: String,
    pub to: String,
    pub days: u16,
}

impl Blob for Locale {
    const KIND: Kind = Kind::Locale;
}

/// Where an item ships from and how long it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub days: u16,
    /// The stock location (country or region) it ships from.
    pub from: String,
}

/// Why localisation data is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocaleError {
    #[error("{field}: {code:?} is not a {what}")]
    Code { field: &'static str, code: String, what: &'static str },
    #[error("rates: {currency} has rate {rate}; rates must be finite and positive")]
    Rate { currency: String, rate: f64 },
    #[error("currencies: {country} uses {currency}, which has no rate")]
    NoRate { country: String, currency: String },
}

fn is_code(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_uppercase())
}

impl Locale {
    /// Checks every code and rate; the indexer refuses a build with bad localisation data.
    pub fn validate(&self) -> Result<(), LocaleError> {
        let code = |field, code: &str, len, what| {
            if is_code(code, len) {
                Ok(())
            } else {
                Err(LocaleError::Code { field, code: code.to_owned(), what })
            }
        };
        code("base_currency", &self.base_currency, 3, "currency code (3 upper-case letters)")?;
        for (currency, &rate) in &self.rates {
            code("rates", currency, 3, "currency code (3 upper-case letters)")?;
            if !(rate.is_finite() && rate > 0.0) {
                return Err(LocaleError::Rate { currency: currency.clone(), rate });
            }
        }
        for (country, currency) in &self.currencies {
            code("currencies", country, 2, "country code (2 upper-case letters)")?;
            if currency != &self.base_currency && !self.rates.contains_key(currency) {
                return Err(LocaleError::NoRate { country: country.clone(), currency: currency.clone() });
            }
        }
        for country in self.regions.keys() {
            code("regions", country, 2, "country code (2 upper-case letters)")?;
        }
        Ok(())
    }

    /// The currency to show: an explicit choice with a known rate, else the country's, else the base.
    pub fn currency_for<'a>(&'a self, country: Option<&str>, choice: Option<&'a str>) -> &'a str {
        let known = |c: &&str| *c == self.base_currency || self.rates.contains_key(*c);
        choice
            .filter(known)
            .or_else(|| country.and_then(|c| self.currencies.get(c)).map(String::as_str).filter(known))
            .unwrap_or(&self.base_currency)
    }

    /// The same data with `currency` as the base (the catalog's currency, so price filters compare
    /// like with like); `None` when there is no rate for it.
    pub fn rebased(&self, currency: &str) -> Option<Locale> {
        let r = self.rate(currency)?;
        let mut rates: BTreeMap<String, f64> = self.rates.iter().map(|(c, x)| (c.clone(), x / r)).collect();
        rates.remove(currency);
        rates.insert(self.base_currency.clone(), 1.0 / r);
        Some(Locale { base_currency: currency.to_owned(), rates, ..self.clone() })
    }

    fn rate(&self, currency: &str) -> Option<f64> {
        if currency == self.base_currency { Some(1.0) } else { self.rates.get(currency).copied() }
    }

    /// `price` in `currency`, rounded to cents; `None` when either currency has no rate or the result
    /// is not a finite amount.
    pub fn convert(&self, price: &Price, currency: &str) -> Option<Price> {
        if price.currency == currency {
            return Some(price.clone());
        }
        let amount = price.amount / self.rate(&price.currency)? * self.rate(currency)?;
        let amount = (amount * 100.0).round() / 100.0;
        amount.is_finite().then(|| Price { amount, currency: currency.to_owned() })
    }

    /// The fastest delivery to `country` from a location holding stock (country codes or region
    /// names, as the catalog's `stock` keys): same country, then same region, then the region pair
    /// table. `None` when the country is unknown or no location has a route to it.
    pub fn delivery(&self, in_stock: &[String], country: &str) -> Option<Delivery> {
        let to = self.regions.get(country)?;
        let region_of = |loc: &str| self.regions.get(loc).map_or(loc, String::as_str).to_owned();
        in_stock
            .iter()
            .filter_map(|loc| {
                let days = if loc.eq_ignore_ascii_case(country) {
                    self.same_country_days
                } else {
                    let from = region_of(&loc.to_ascii_uppercase());
                    if from.eq_ignore_ascii_case(to) {
                        self.pair(&from, to).unwrap_or(self.same_region_days)
                    } else {
                        self.pair(&from, to)?
                    }
                };
                Some(Delivery { days, from: loc.clone() })
            })
            .min_by(|a, b| a.days.cmp(&b.days).then(a.from.cmp(&b.from)))
    }

    fn pair(&self, a: &str, b: &str) -> Option<u16> {
        self.days
            .iter()
            .find(|d| {
                (d.from.eq_ignore_ascii_case(a) && d.to.eq_ignore_ascii_case(b))
                    || (d.from.eq_ignore_ascii_case(b) && d.to.eq_ignore_ascii_case(a))
            })
            .map(|d| d.days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locale() -> Locale {
        Locale {
            base_currency: "USD".into(),
            currencies: [("US", "USD"), ("DE", "EUR"), ("JP", "JPY")]
                .into_iter()
                .map(|(a, b)| (a.into(), b.into()))
                .collect(),
            rates: [("EUR".to_owned(), 0.9), ("JPY".to_owned(), 150.0)].into_iter().collect(),
            regions: [("US", "NA"), ("CA", "NA"), ("DE", "EU"), ("FR", "EU"), ("JP", "APAC")]
                .into_iter()
                .map(|(a, b)| (a.into(), b.into()))
                .collect(),
            days: vec![RegionDays { from: "NA".into(), to: "EU".into(), days: 7 }],
            same_country_days: 2,
            same_region_days: 4,
        }
    }

    #[test]
    fn currency_and_conversion() {
        let l = locale();
        assert!(l.validate().is_ok());
        assert_eq!(l.currency_for(Some("DE"), None), "EUR");
        assert_eq!(l.currency_for(Some("DE"), Some("JPY")), "JPY");
        assert_eq!(l.currency_for(Some("DE"), Some("XXX")), "EUR", "unknown choice ignored");
        assert_eq!(l.currency_for(Some("BR"), None), "USD", "unmapped country: base currency");
        let usd = Price { amount: 10.0, currency: "USD".into() };
        assert_eq!(l.convert(&usd, "EUR"), Some(Price { amount: 9.0, currency: "EUR".into() }));
        let eur = Price { amount: 9.0, currency: "EUR".into() };
        assert_eq!(l.convert(&eur, "JPY").map(|p| p.amount), Some(1500.0));
        assert_eq!(l.convert(&usd, "GBP"), None);
        let nan = Price { amount: f64::NAN, currency: "USD".into() };
        assert_eq!(l.convert(&nan, "EUR"), None);
    }

    #[test]
    fn rebasing_keeps_every_conversion() {
        let l = locale();
        let eur = l.rebased("EUR").unwrap();
        assert_eq!(eur.base_currency, "EUR");
        assert!(eur.validate().is_ok());
        let p = Price { amount: 50.0, currency: "EUR".into() };
        for to in ["USD", "JPY", "EUR"] {
            assert_eq!(eur.convert(&p, to), l.convert(&p, to), "{to}");
        }
        assert!(l.rebased("GBP").is_none());
    }

    #[test]
    fn delivery_prefers_the_nearest_stock() {
        let l = locale();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(l.delivery(&s(&["US", "FR"]), "DE"), Some(Delivery { days: 4, from: "FR".into() }));
        assert_eq!(l.delivery(&s(&["US", "DE"]), "DE"), Some(Delivery { days: 2, from: "DE".into() }));
        assert_eq!(l.delivery(&s(&["CA"]), "DE"), Some(Delivery { days: 7, from: "CA".into() }));
        assert_eq!(
            l.delivery(&s(&["EU"]), "DE"),
            Some(Delivery { days: 4, from: "EU".into() }),
            "a region key"
        );
        assert_eq!(l.delivery(&s(&["JP"]), "DE"), None, "no route");
        assert_eq!(l.delivery(&s(&["US"]), "ZZ"), None, "unknown country");
        assert_eq!(l.delivery(&[], "DE"), None);
    }

    #[test]
    fn validation_names_the_bad_field() {
        let mut l = locale();
        l.rates.insert("GBP".into(), -1.0);
        assert!(matches!(l.validate(), Err(LocaleError::Rate { .. })));
        let mut l = locale();
        l.currencies.insert("GB".into(), "GBP".into());
        assert_eq!(l.validate(), Err(LocaleError::NoRate { country: "GB".into(), currency: "GBP".into() }));
        let mut l = locale();
        l.regions.insert("germany".into(), "EU".into());
        assert!(matches!(l.validate(), Err(LocaleError::Code { field: "regions", .. })));
    }
}
