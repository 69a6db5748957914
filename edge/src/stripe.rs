//! Stripe's wire, as Stripe documents it: the Checkout Session form the edge posts, the session it gets
//! back, the `Stripe-Signature` check of webhooks and the paid orders read from their events. No I/O,
//! so all of it is tested natively; the wasm shell (`commerce`) only sends and receives.

use hmac::{Hmac, Mac};
use ranking::checkout::PricedLine;
use ranking::{Price, checkout::MAX_LINES};
use serde::Deserialize;
use sha2::Sha256;

/// Stripe's API, unless the `STRIPE_API_BASE` variable points elsewhere (tests use a local stand-in).
pub const API_BASE: &str = "https://api.stripe.com";
/// How far a webhook's signed timestamp may be from the edge's clock, in seconds (Stripe's libraries
/// default to 300 for replays; the same bound is applied to timestamps from the future).
pub const TOLERANCE_SECONDS: i64 = 300;
/// Largest unit amount Stripe accepts (eight digits in the currency's smallest unit).
const MAX_UNIT_AMOUNT: i64 = 99_999_999;
/// The placeholder Stripe fills in with the session's id on the success URL.
const SESSION_ID_TEMPLATE: &str = "{CHECKOUT_SESSION_ID}";

/// The payment page languages Checkout offers (`locale` of a session).
const LOCALES: [&str; 45] = [
    "auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA",
    "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru",
    "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW", "hi", "is", "ar", "he",
];

/// Currencies Stripe charges in whole units (no minor unit).
const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF",
    "XPF",
];
/// Currencies with three decimals, which Stripe takes in thousandths rounded to a multiple of ten.
const THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];

/// What Stripe's side of a checkout can get wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StripeError {
    #[error(
        "line {line}: {amount} {currency} cannot be charged (Stripe takes 1 to {MAX_UNIT_AMOUNT} minor units)"
    )]
    Amount { line: usize, amount: f64, currency: String },
    #[error("locale must be one of Checkout's languages (en, de, fr, …), got {0:?}")]
    Locale(String),
    #[error("Stripe-Signature: {0}")]
    Signature(&'static str),
    #[error("the event is not one Stripe sends: {0}")]
    Event(String),
}

/// `amount` in the currency's smallest unit, as Stripe's `unit_amount` takes it.
pub fn minor_units(price: &Price) -> Option<i64> {
    let code = price.currency.to_ascii_uppercase();
    let units = if ZERO_DECIMAL.contains(&code.as_str()) {
        price.amount.round()
    } else if THREE_DECIMAL.contains(&code.as_str()) {
        (price.amount * 100.0).round() * 10.0
    } else {
        (price.amount * 100.0).round()
    };
    // The range check also turns NaN away (every comparison with it is false).
    ((1.0..=MAX_UNIT_AMOUNT as f64).contains(&units)).then_some(units as i64)
}

/// A locale for the payment page, checked against Checkout's list.
pub fn locale(raw: &str) -> Result<&'static str, StripeError> {
    LOCALES
        .iter()
        .find(|l| **l == raw)
        .copied()
        .ok_or_else(|| StripeError::Locale(raw.chars().take(20).collect()))
}

/// The form of `POST /v1/checkout/sessions`: one `price_data` line per cart line (prices from the
/// build, never from the request), the shop's own success and cancel URLs, and one metadata entry per
/// line (`line_N` = `quantity*id`) from which the webhook learns what was bought.
pub fn session_form(
    lines: &[PricedLine],
    origin: &str,
    locale: Option<&'static str>,
) -> Result<Vec<(String, String)>, StripeError> {
    let mut form = vec![
        ("mode".to_owned(), "payment".to_owned()),
        ("success_url".to_owned(), format!("{origin}/checkout/done?session_id={SESSION_ID_TEMPLATE}")),
        ("cancel_url".to_owned(), format!("{origin}/cart?checkout=cancelled")),
    ];
    if let Some(l) = locale {
        form.push(("locale".to_owned(), l.to_owned()));
    }
    for (n, line) in lines.iter().enumerate() {
        let amount = minor_units(&line.unit).ok_or_else(|| StripeError::Amount {
            line: n,
            amount: line.unit.amount,
            currency: line.unit.currency.clone(),
        })?;
        let item = |field: &str| format!("line_items[{n}]{field}");
        form.push((item("[price_data][currency]"), line.unit.currency.to_ascii_lowercase()));
        form.push((item("[price_data][unit_amount]"), amount.to_string()));
        form.push((item("[price_data][product_data][name]"), line.title.clone()));
        form.push((item("[quantity]"), line.quantity.to_string()));
        form.push((format!("metadata[line_{n}]"), format!("{}*{}", line.quantity, line.id)));
    }
    Ok(form)
}

/// `application/x-www-form-urlencoded` of a form, as Stripe's API takes request bodies.
pub fn encode_form(form: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish()
}

/// The part of Stripe's Checkout Session answer the shop uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Session {
    pub id: String,
    /// The hosted payment page.
    pub url: String,
}

/// The message of a Stripe error answer (`{"error": {"message": …}}`), for the shop's log.
pub fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Outer {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        message: Option<String>,
    }
    serde_json::from_slice::<Outer>(body)
        .ok()
        .and_then(|o| o.error.message)
        .unwrap_or_else(|| "no error message".to_owned())
}

/// Checks a webhook's `Stripe-Signature` header (`t=…,v1=…[,v1=…]`): some `v1` must be the
/// HMAC-SHA256, keyed with the endpoint's signing secret, of `"{t}.{payload}"`, compared in constant
/// time, and `t` must be within [`TOLERANCE_SECONDS`] of `now`.
pub fn verify_signature(header: &str, payload: &[u8], secret: &str, now: i64) -> Result<(), StripeError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => {
                timestamp = Some(t.parse::<i64>().map_err(|_| StripeError::Signature("bad timestamp"))?)
            }
            Some(("v1", hex)) => signatures.push(hex),
            _ => {}
        }
    }
    let t = timestamp.ok_or(StripeError::Signature("no timestamp"))?;
    if signatures.is_empty() {
        return Err(StripeError::Signature("no v1 signature"));
    }
    if (now - t).abs() > TOLERANCE_SECONDS {
        return Err(StripeError::Signature("timestamp outside the tolerance"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| StripeError::Signature("unusable signing secret"))?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let matches =
        signatures.iter().filter_map(|hex| from_hex(hex)).any(|sig| mac.clone().verify_slice(&sig).is_ok());
    if matches { Ok(()) } else { Err(StripeError::Signature("no signature matches")) }
}

fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// A paid order as the shop records it: what was bought and how many, nothing about who.
#[derive(Debug, Clone, PartialEq)]
pub struct PaidOrder {
    /// Stripe's event id, only to refuse a second delivery of the same event.
    pub event_id: String,
    pub lines: Vec<(String, u32)>,
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Deserialize)]
struct SessionObject {
    #[serde(default)]
    payment_status: Option<String>,
    #[serde(default)]
    metadata: std::collections::BTreeMap<String, String>,
}

/// The order a verified webhook event reports as paid: `checkout.session.completed` once its payment
/// status is `paid` (or no payment was required), and `checkout.session.async_payment_succeeded` for
/// delayed payment methods. Other events are acknowledged and recorded nowhere (`None`).
pub fn paid_order(payload: &[u8]) -> Result<Option<PaidOrder>, StripeError> {
    let event: Event = serde_json::from_slice(payload).map_err(|e| StripeError::Event(e.to_string()))?;
    let paid_now = match event.kind.as_str() {
        "checkout.session.completed" => true,
        "checkout.session.async_payment_succeeded" => true,
        _ => return Ok(None),
    };
    let session: SessionObject =
        serde_json::from_value(event.data.object).map_err(|e| StripeError::Event(e.to_string()))?;
    let status = session.payment_status.as_deref().unwrap_or("");
    if !(paid_now && matches!(status, "paid" | "no_payment_required")) {
        return Ok(None);
    }
    let mut lines = Vec::new();
    for n in 0..MAX_LINES {
        let Some(entry) = session.metadata.get(&format!("line_{n}")) else { break };
        let parsed = entry.split_once('*').and_then(|(q, id)| Some((id.to_owned(), q.parse::<u32>().ok()?)));
        let (id, quantity) =
            parsed.ok_or_else(|| StripeError::Event(format!("metadata line_{n} is not quantity*id")))?;
        lines.push((id, quantity));
    }
    if lines.is_empty() {
        // A session this shop did not create (no line metadata): nothing to learn from.
        return Ok(None);
    }
    Ok(Some(PaidOrder { event_id: event.id, lines }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, title: &str, quantity: u32, amount: f64, currency: &str) -> PricedLine {
        PricedLine {
            id: id.into(),
            title: title.into(),
            quantity,
            unit: Price { amount, currency: currency.into() },
        }
    }

    fn sign(secret: &str, t: i64, payload: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(format!("{t}.").as_bytes());
        mac.update(payload);
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn minor_units_follow_the_currency() {
        let p = |amount: f64, currency: &str| minor_units(&Price { amount, currency: currency.into() });
        assert_eq!(p(19.99, "USD"), Some(1999));
        assert_eq!(p(0.1 + 0.2, "EUR"), Some(30));
        assert_eq!(p(1500.4, "JPY"), Some(1500));
        assert_eq!(p(1.2345, "KWD"), Some(1230));
        assert_eq!(p(0.0, "USD"), None);
        assert_eq!(p(f64::NAN, "USD"), None);
        assert_eq!(p(1e9, "USD"), None);
    }

    #[test]
    fn the_session_form_is_stripes_and_priced_from_the_lines() {
        let lines = [line("FUR-1", "Chair & Co", 2, 19.99, "EUR"), line("OFF-2", "Pen", 1, 1.0, "EUR")];
        let form = session_form(&lines, "https://shop.example", Some("de")).expect("form");
        let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("mode"), Some("payment"));
        assert_eq!(
            get("success_url"),
            Some("https://shop.example/checkout/done?session_id={CHECKOUT_SESSION_ID}")
        );
        assert_eq!(get("cancel_url"), Some("https://shop.example/cart?checkout=cancelled"));
        assert_eq!(get("locale"), Some("de"));
        assert_eq!(get("line_items[0][price_data][currency]"), Some("eur"));
        assert_eq!(get("line_items[0][price_data][unit_amount]"), Some("1999"));
        assert_eq!(get("line_items[0][price_data][product_data][name]"), Some("Chair & Co"));
        assert_eq!(get("line_items[0][quantity]"), Some("2"));
        assert_eq!(get("line_items[1][price_data][unit_amount]"), Some("100"));
        assert_eq!(get("metadata[line_1]"), Some("1*OFF-2"));
        let body = encode_form(&form);
        assert!(
            body.contains("line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=Chair+%26+Co"),
            "{body}"
        );
        let free = [line("X", "Free", 1, 0.0, "USD")];
        assert!(matches!(session_form(&free, "https://s", None), Err(StripeError::Amount { line: 0, .. })));
    }

    #[test]
    fn locales_are_checkouts() {
        assert_eq!(locale("de"), Ok("de"));
        assert_eq!(locale("pt-BR"), Ok("pt-BR"));
        assert!(locale("klingon").is_err());
        assert!(locale("").is_err());
    }

    #[test]
    fn a_signature_must_match_the_payload_the_secret_and_the_time() {
        let (secret, now, payload) = ("whsec_test", 1_700_000_000, br#"{"id":"evt_1"}"#.as_slice());
        let good = sign(secret, now, payload);
        let header = format!("t={now},v1={good}");
        assert_eq!(verify_signature(&header, payload, secret, now + 10), Ok(()));
        // Stripe may list several v1 signatures while a secret is rolled; one matching is enough.
        let rolled = format!("t={now},v1={},v1={good},v0=abc", "00".repeat(32));
        assert_eq!(verify_signature(&rolled, payload, secret, now), Ok(()));
        let refused = |h: &str, p: &[u8], s: &str, at: i64| verify_signature(h, p, s, at).is_err();
        assert!(refused(&header, br#"{"id":"evt_2"}"#, secret, now), "another payload");
        assert!(refused(&header, payload, "whsec_other", now), "another secret");
        assert!(refused(&header, payload, secret, now + TOLERANCE_SECONDS + 1), "too old");
        assert!(refused(&header, payload, secret, now - TOLERANCE_SECONDS - 1), "from the future");
        assert!(refused(&format!("v1={good}"), payload, secret, now), "no timestamp");
        assert!(refused(&format!("t={now}"), payload, secret, now), "no signature");
        assert!(refused(&format!("t=soon,v1={good}"), payload, secret, now), "bad timestamp");
        assert!(refused(&format!("t={now},v1={}", &good[1..]), payload, secret, now), "odd hex");
        assert!(refused("", payload, secret, now), "empty header");
    }

    fn event(kind: &str, status: &str, metadata: &str) -> Vec<u8> {
        format!(
            r#"{{"id":"evt_9","object":"event","type":"{kind}","data":{{"object":{{"id":"cs_test_1","object":"checkout.session","payment_status":"{status}","metadata":{metadata}}}}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn paid_orders_come_from_completed_paid_sessions_only() {
        let meta = r#"{"line_0":"2*FUR-1","line_1":"1*a*b"}"#;
        let order = paid_order(&event("checkout.session.completed", "paid", meta)).expect("parsed");
        assert_eq!(
            order,
            Some(PaidOrder { event_id: "evt_9".into(), lines: vec![("FUR-1".into(), 2), ("a*b".into(), 1)] })
        );
        assert_eq!(paid_order(&event("checkout.session.completed", "unpaid", meta)), Ok(None));
        assert!(
            paid_order(&event("checkout.session.async_payment_succeeded", "paid", meta))
                .expect("ok")
                .is_some()
        );
        assert_eq!(paid_order(&event("charge.refunded", "paid", meta)), Ok(None));
        assert_eq!(paid_order(&event("checkout.session.completed", "paid", "{}")), Ok(None));
        assert!(paid_order(&event("checkout.session.completed", "paid", r#"{"line_0":"two*X"}"#)).is_err());
        assert!(paid_order(b"{not json").is_err());
        assert!(paid_order(br#"{"id":"evt_1","type":"checkout.session.completed"}"#).is_err());
    }
}
