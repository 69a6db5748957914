//! The checkout endpoints over parsed input: the cart read from a request body, priced from the build
//! ([`ranking::checkout`]) into Stripe's session form ([`crate::stripe`]), and a webhook read into the
//! rows the order store keeps. The wasm shell (`commerce`) does the I/O around these.

use ranking::answer::Ctx;
use ranking::checkout;
use ranking::wire::CheckoutRequest;
use ranking::{Product, checkout::CartError};
use sha2::{Digest, Sha256};

use crate::problem::Problem;
use crate::stripe::{self, PaidOrder, StripeError};

/// Largest `POST /api/checkout` body (40 lines of 128-character ids fit in a third of it).
pub const MAX_CHECKOUT_BODY: usize = 16 * 1024;
/// Largest webhook body: a Checkout Session event is a few kilobytes.
pub const MAX_WEBHOOK_BODY: usize = 256 * 1024;

/// The cart from a JSON body; an error names the field at fault (`lines[1].quantity`).
pub fn cart(content_type: Option<&str>, body: &[u8]) -> Result<CheckoutRequest, Problem> {
    crate::body::json(content_type, body, &["application/json"], "the cart must be sent as application/json")
}

/// The form of the Checkout Session for a cart: every line priced from the build (`lookup` finds a
/// product by id) in the shopper's currency, with the shop's `origin` for the return URLs.
pub fn session_form<'p>(
    request: &CheckoutRequest,
    lookup: impl Fn(&str) -> Option<&'p Product>,
    ctx: &Ctx<'_>,
    origin: &str,
) -> Result<String, Problem> {
    let locale = match request.locale.as_deref() {
        None => None,
        Some(raw) => Some(stripe::locale(raw).map_err(|e| body_error("locale", e.to_string()))?),
    };
    let lines = checkout::price_cart(&request.lines, lookup, ctx).map_err(cart_error)?;
    let form = stripe::session_form(&lines, origin, locale).map_err(|e| match e {
        StripeError::Amount { line, .. } => body_error(&format!("lines[{line}].id"), e.to_string()),
        other => body_error("lines", other.to_string()),
    })?;
    Ok(stripe::encode_form(&form))
}

fn cart_error(e: CartError) -> Problem {
    Problem::BadBody { field: e.field(), reason: e.to_string() }
}

fn body_error(field: &str, reason: String) -> Problem {
    Problem::BadBody { field: field.to_owned(), reason }
}

/// A webhook delivery: its signature checked against the endpoint's secret at `now` (unix seconds),
/// then the paid order it reports, if any.
pub fn webhook(
    signature: Option<&str>,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<Option<PaidOrder>, Problem> {
    let header = signature.ok_or_else(|| Problem::BadSignature("no Stripe-Signature header".to_owned()))?;
    stripe::verify_signature(header, body, secret, now).map_err(|e| Problem::BadSignature(e.to_string()))?;
    stripe::paid_order(body).map_err(|e| body_error("body", e.to_string()))
}

/// A value bound to an SQL statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Sql {
    Text(String),
    Int(i64),
    Null,
}

/// Whether an event was recorded already (one row, or none).
pub const SEEN_EVENT: &str = "SELECT 1 AS seen FROM stripe_events WHERE event_hash = ?1";

/// The statements that record a paid order, run as one D1 batch (one transaction): the event's hash
/// first, whose primary key makes a second delivery fail the whole batch, then the order (the day
/// only) and its lines. Nothing that identifies the buyer is stored: no customer, e-mail, address,
/// amount or session id, and the event id only hashed.
pub fn record_order(order: &PaidOrder, now: i64) -> Vec<(&'static str, Vec<Sql>)> {
    let day = now.div_euclid(86_400);
    let mut statements = vec![
        (
            "INSERT INTO stripe_events (event_hash, day) VALUES (?1, ?2)",
            vec![Sql::Text(event_hash(&order.event_id)), Sql::Int(day)],
        ),
        ("INSERT INTO orders (day) VALUES (?1)", vec![Sql::Int(day)]),
    ];
    for (id, quantity) in &order.lines {
        statements.push((
            // The order inserted just before, in the same transaction.
            "INSERT INTO order_lines (order_id, item_id, quantity) VALUES ((SELECT max(id) FROM orders), ?1, ?2)",
            vec![Sql::Text(id.clone()), Sql::Int(i64::from(*quantity))],
        ));
    }
    statements
}

/// The key a Stripe event is remembered by: SHA-256 of its id, hex.
pub fn event_hash(event_id: &str) -> String {
    Sha256::digest(event_id.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ranking::Price;
    use ranking::weights::Weights;

    fn field(r: Result<impl std::fmt::Debug, Problem>) -> String {
        match r {
            Err(Problem::BadBody { field, .. }) => field,
            other => panic!("expected a bad body, got {other:?}"),
        }
    }

    #[test]
    fn the_cart_is_json_and_errors_name_the_field() {
        let json = Some("application/json; charset=utf-8");
        let ok = cart(json, br#"{"lines":[{"id":"a","quantity":2,"price":0.01}],"locale":"de"}"#);
        let ok = ok.expect("a cart");
        assert_eq!(
            (ok.lines[0].id.as_str(), ok.lines[0].quantity, ok.locale.as_deref()),
            ("a", 2, Some("de"))
        );
        assert_eq!(field(cart(Some("text/plain"), b"{}")), "Content-Type");
        assert_eq!(field(cart(None, b"{}")), "Content-Type");
        assert_eq!(field(cart(json, br#"{"lines":[{"id":"a","quantity":"2"}]}"#)), "lines[0].quantity");
        assert_eq!(field(cart(json, br#"{"lines":[{"id":"a","quantity":1},{"quantity":1}]}"#)), "lines[1]");
        assert_eq!(field(cart(json, br#"{"lines":"#)), "lines");
        assert_eq!(field(cart(json, b"[]")), "body");
    }

    #[test]
    fn the_form_takes_prices_from_the_build_and_names_bad_lines() {
        let chair = Product::new(
            "c",
            "Chair",
            vec!["Furniture".into()],
            Price { amount: 12.5, currency: "USD".into() },
        );
        let find = |id: &str| (id == "c").then_some(&chair);
        let weights = Weights::default();
        let ctx = Ctx {
            version: "v",
            country: None,
            now: 0,
            variant: "default",
            weights: &weights,
            currency: None,
            locale: None,
            rules: None,
        };
        let request = |body: &[u8]| cart(Some("application/json"), body).expect("cart");
        let form = session_form(&request(br#"{"lines":[{"id":"c","quantity":3}]}"#), find, &ctx, "https://s");
        let form = form.expect("form");
        assert!(form.contains("unit_amount%5D=1250&"), "{form}");
        assert!(form.contains("%5Bquantity%5D=3&"), "{form}");
        let refused = |body: &[u8]| field(session_form(&request(body), find, &ctx, "https://s"));
        assert_eq!(refused(br#"{"lines":[{"id":"c","quantity":1},{"id":"x","quantity":1}]}"#), "lines[1].id");
        assert_eq!(refused(br#"{"lines":[]}"#), "lines");
        assert_eq!(refused(br#"{"lines":[{"id":"c","quantity":1}],"locale":"xx"}"#), "locale");
    }

    #[test]
    fn an_order_is_recorded_by_day_with_its_event_hashed() {
        let order = PaidOrder { event_id: "evt_1".into(), lines: vec![("a".into(), 2), ("b".into(), 1)] };
        let statements = record_order(&order, 86_400 * 3 + 5);
        assert_eq!(statements.len(), 4);
        assert_eq!(statements[0].1, vec![Sql::Text(event_hash("evt_1")), Sql::Int(3)]);
        assert_eq!(statements[3].1, vec![Sql::Text("b".into()), Sql::Int(1)]);
        assert_eq!(event_hash("evt_1").len(), 64);
        let all = format!("{statements:?}");
        assert!(!all.contains("evt_1"), "the event id is stored hashed only");
    }
}
