//! Prices a cart from the build: the one place that decides what a shopper pays for each line, so a
//! price, a stock level or a product the device remembers from an older build never reaches payment.

use crate::answer::Ctx;
use crate::catalog::{Price, Product};
use crate::wire::CartLine;

/// Most lines one checkout takes (the payment provider's session metadata holds one key per line).
pub const MAX_LINES: usize = 40;
/// Most units of one product per checkout.
pub const MAX_QUANTITY: i64 = 99;

/// A cart line as it will be paid: the build's title and unit price in the shopper's currency.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedLine {
    pub id: String,
    pub title: String,
    pub quantity: u32,
    pub unit: Price,
}

/// Why a cart cannot be paid; [`CartError::field`] names the part of the request at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CartError {
    #[error("the cart is empty")]
    Empty,
    #[error("the cart has {0} lines, at most {MAX_LINES}")]
    TooManyLines(usize),
    #[error("line {line}: {reason}")]
    Line { line: usize, field: &'static str, reason: String },
}

impl CartError {
    /// The request field at fault, as a JSON path: `lines` or `lines[2].quantity`.
    pub fn field(&self) -> String {
        match self {
            CartError::Empty | CartError::TooManyLines(_) => "lines".to_owned(),
            CartError::Line { line, field, .. } => format!("lines[{line}].{field}"),
        }
    }
}

/// Every line priced from the build (`lookup` finds a product by id), or the first line that cannot
/// be sold: unknown id, quantity outside 1..=[`MAX_QUANTITY`], the same product twice, out of stock
/// for the shopper's country, or a price that cannot be shown in the shopper's currency.
pub fn price_cart<'p>(
    lines: &[CartLine],
    lookup: impl Fn(&str) -> Option<&'p Product>,
    ctx: &Ctx<'_>,
) -> Result<Vec<PricedLine>, CartError> {
    check_shape(lines)?;
    let priced = lines
        .iter()
        .enumerate()
        .map(|(n, line)| price_line(n, line, lookup(&line.id), ctx))
        .collect::<Result<Vec<_>, _>>()?;
    // One payment has one currency: a line whose price could not be converted cannot join it.
    if let Some(first) = priced.first()
        && let Some(n) = priced.iter().position(|l| l.unit.currency != first.unit.currency)
    {
        return Err(CartError::Line {
            line: n,
            field: "id",
            reason: format!("{} cannot be priced in {}", priced[n].id, first.unit.currency),
        });
    }
    Ok(priced)
}

/// The cart's shape alone: lines present, not too many, quantities in range, no product twice.
fn check_shape(lines: &[CartLine]) -> Result<(), CartError> {
    if lines.is_empty() {
        return Err(CartError::Empty);
    }
    if lines.len() > MAX_LINES {
        return Err(CartError::TooManyLines(lines.len()));
    }
    for (n, line) in lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            let reason = format!("quantity must be 1..={MAX_QUANTITY}, got {}", line.quantity);
            return Err(CartError::Line { line: n, field: "quantity", reason });
        }
        if let Some(first) = lines[..n].iter().position(|l| l.id == line.id) {
            let reason = format!("{:?} is already on line {first}", short(&line.id));
            return Err(CartError::Line { line: n, field: "id", reason });
        }
    }
    Ok(())
}

fn price_line(
    n: usize,
    line: &CartLine,
    product: Option<&Product>,
    ctx: &Ctx<'_>,
) -> Result<PricedLine, CartError> {
    let Some(product) = product else {
        let reason = format!("no product {:?} in this shop", short(&line.id));
        return Err(CartError::Line { line: n, field: "id", reason });
    };
    if !deliverable(product, ctx) {
        let to = ctx.country.unwrap_or("any country");
        let reason = format!("{} is out of stock for delivery to {to}", product.id);
        return Err(CartError::Line { line: n, field: "id", reason });
    }
    // `check_shape` bounded the quantity to 1..=99.
    let quantity = u32::try_from(line.quantity).unwrap_or(1);
    Ok(PricedLine {
        id: product.id.clone(),
        title: product.title.clone(),
        quantity,
        unit: ctx.price(&product.price).0,
    })
}

/// Whether the product can be delivered to the shopper: no stock data means the shop sells it
/// without tracking; otherwise some location must hold it and, where the build knows the shopper's
/// region, have a delivery route there (what the product page shows as delivery days).
pub fn deliverable(product: &Product, ctx: &Ctx<'_>) -> bool {
    let Some(stock) = &product.stock else { return true };
    let held: Vec<String> = stock.iter().filter(|(_, q)| **q > 0).map(|(loc, _)| loc.clone()).collect();
    if held.is_empty() {
        return false;
    }
    match (ctx.locale, ctx.country) {
        (Some(locale), Some(country)) if locale.regions.contains_key(country) => {
            locale.delivery(&held, country).is_some()
        }
        _ => true,
    }
}

/// An id cut for an error message (ids from a request may be any length).
fn short(id: &str) -> String {
    id.chars().take(crate::catalog::MAX_ID).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locale::{Locale, RegionDays};
    use crate::weights::Weights;
    use std::collections::BTreeMap;

    fn product(id: &str, amount: f64, stock: Option<&[(&str, u32)]>) -> Product {
        let price = Price { amount, currency: "USD".into() };
        let mut p = Product::new(id, format!("Title {id}"), vec!["Furniture".into()], price);
        p.stock = stock.map(|s| s.iter().map(|(l, q)| ((*l).to_owned(), *q)).collect::<BTreeMap<_, _>>());
        p
    }

    fn locale() -> Locale {
        Locale {
            base_currency: "USD".into(),
            currencies: [("US", "USD"), ("DE", "EUR")].map(|(a, b)| (a.into(), b.into())).into(),
            rates: [("EUR".to_owned(), 0.5)].into(),
            regions: [("US", "NA"), ("DE", "EU"), ("FR", "EU")].map(|(a, b)| (a.into(), b.into())).into(),
            days: vec![RegionDays { from: "NA".into(), to: "NA".into(), days: 3 }],
            same_country_days: 1,
            same_region_days: 4,
        }
    }

    fn ctx<'a>(weights: &'a Weights, locale: Option<&'a Locale>, country: Option<&'a str>) -> Ctx<'a> {
        Ctx {
            version: "v",
            country,
            now: 0,
            variant: "default",
            weights,
            currency: None,
            locale,
            rules: None,
        }
    }

    fn line(id: &str, quantity: i64) -> CartLine {
        CartLine { id: id.into(), quantity }
    }

    #[test]
    fn prices_come_from_the_build_in_the_shoppers_currency() {
        let catalog = [product("a", 10.0, None), product("b", 3.5, Some(&[("FR", 2)]))];
        let find = |id: &str| catalog.iter().find(|p| p.id == id);
        let (w, l) = (Weights::default(), locale());
        let priced = price_cart(&[line("a", 2), line("b", 1)], find, &ctx(&w, Some(&l), Some("DE")));
        let priced = priced.expect("priced");
        assert_eq!(priced[0].unit, Price { amount: 5.0, currency: "EUR".into() });
        assert_eq!((priced[0].quantity, priced[0].title.as_str()), (2, "Title a"));
        assert_eq!(priced[1].unit, Price { amount: 1.75, currency: "EUR".into() });
    }

    #[test]
    fn each_refusal_names_its_line_and_field() {
        let catalog = [product("a", 10.0, None), product("gone", 1.0, Some(&[("US", 0)]))];
        let find = |id: &str| catalog.iter().find(|p| p.id == id);
        let (w, l) = (Weights::default(), locale());
        let c = ctx(&w, Some(&l), Some("US"));
        let field = |lines: &[CartLine]| price_cart(lines, find, &c).map_err(|e| e.field());
        assert_eq!(field(&[]), Err("lines".into()));
        assert_eq!(field(&vec![line("a", 1); MAX_LINES + 1]), Err("lines".into()));
        assert_eq!(field(&[line("a", 1), line("nope", 1)]), Err("lines[1].id".into()));
        assert_eq!(field(&[line("a", 0)]), Err("lines[0].quantity".into()));
        assert_eq!(field(&[line("a", 100)]), Err("lines[0].quantity".into()));
        assert_eq!(field(&[line("a", -3)]), Err("lines[0].quantity".into()));
        assert_eq!(field(&[line("a", 1), line("a", 2)]), Err("lines[1].id".into()));
        assert_eq!(field(&[line("gone", 1)]), Err("lines[0].id".into()));
        assert!(field(&[line("a", 99)]).is_ok());
    }

    #[test]
    fn stock_counts_only_where_it_can_be_delivered_from() {
        let (w, l) = (Weights::default(), locale());
        let in_france = product("f", 1.0, Some(&[("FR", 3)]));
        // France is in Germany's region; the build has no route from Europe to North America.
        assert!(deliverable(&in_france, &ctx(&w, Some(&l), Some("DE"))));
        assert!(!deliverable(&in_france, &ctx(&w, Some(&l), Some("US"))));
        // A country the build does not place, or no country at all: stock anywhere will do.
        assert!(deliverable(&in_france, &ctx(&w, Some(&l), Some("BR"))));
        assert!(deliverable(&in_france, &ctx(&w, None, None)));
        assert!(!deliverable(&product("z", 1.0, Some(&[("FR", 0)])), &ctx(&w, None, None)));
        assert!(deliverable(&product("u", 1.0, None), &ctx(&w, Some(&l), Some("US"))));
    }

    #[test]
    fn a_price_that_cannot_be_converted_is_refused_not_mixed() {
        let mut yen = product("y", 500.0, None);
        yen.price.currency = "JPY".into();
        let catalog = [product("a", 10.0, None), yen];
        let find = |id: &str| catalog.iter().find(|p| p.id == id);
        let (w, l) = (Weights::default(), locale());
        let err = price_cart(&[line("a", 1), line("y", 1)], find, &ctx(&w, Some(&l), Some("DE")));
        assert_eq!(err.map_err(|e| e.field()), Err("lines[1].id".into()));
    }
}
