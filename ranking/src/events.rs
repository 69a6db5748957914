//! What shoppers do with what they were shown, as the app batches it and `POST /api/events` takes it:
//! the one home of the event wire format and its validation, so the app, the edge and the indexer's
//! report read the same names. A batch carries no history and no client id: the session id is random
//! and rotates daily, the experiment variant is added by the edge.

use serde::{Deserialize, Serialize};

/// Most events in one batch.
pub const MAX_EVENTS: usize = 100;
/// Largest batch body in bytes.
pub const MAX_BATCH_BYTES: usize = 32 * 1024;
/// How far in the future an event may be stamped (clock skew), in seconds.
pub const MAX_AHEAD_SECONDS: i64 = 10 * 60;
/// How old an event may be (kept on a device that was offline), in seconds.
pub const MAX_AGE_SECONDS: i64 = 7 * 86_400;
/// Most characters of a batch or session id (at least [`MIN_ID`]).
pub const MAX_ID: usize = 64;
pub const MIN_ID: usize = 16;

/// One batch of events from one device session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    /// Random, made by the device for this batch and kept with it until accepted: a retry of the same
    /// batch is recognised and not counted twice.
    pub batch: String,
    /// Random, made by the device; a new one at least every day.
    pub session: String,
    pub events: Vec<ShopEvent>,
}

/// One thing a shopper did (or was shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopEvent {
    pub kind: EventKind,
    pub surface: Surface,
    /// The list on the surface (`trending`, `for-you`, `results`, `similar`, …), for impressions and
    /// clicks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    pub item: String,
    /// 0-based position in the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// Unix seconds on the device's clock.
    pub at: i64,
}

/// The kinds of event, by their wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Impression,
    Click,
    AddToCart,
    Wishlist,
    CheckoutIntent,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::Impression,
        EventKind::Click,
        EventKind::AddToCart,
        EventKind::Wishlist,
        EventKind::CheckoutIntent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventKind::Impression => "impression",
            EventKind::Click => "click",
            EventKind::AddToCart => "add_to_cart",
            EventKind::Wishlist => "wishlist",
            EventKind::CheckoutIntent => "checkout_intent",
        }
    }

    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Where in the shop it happened, by wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    Home,
    Search,
    Category,
    Product,
    Cart,
    Wishlist,
    Viewed,
}

impl Surface {
    pub fn name(self) -> &'static str {
        match self {
            Surface::Home => "home",
            Surface::Search => "search",
            Surface::Category => "category",
            Surface::Product => "product",
            Surface::Cart => "cart",
            Surface::Wishlist => "wishlist",
            Surface::Viewed => "viewed",
        }
    }

    /// The surface of an app path (`/`, `/search`, `/c/…`, `/p/…`, …).
    pub fn of_path(path: &str) -> Surface {
        match path.split('/').nth(1).unwrap_or("") {
            "search" => Surface::Search,
            "c" => Surface::Category,
            "p" => Surface::Product,
            "cart" | "checkout" => Surface::Cart,
            "wishlist" => Surface::Wishlist,
            "viewed" => Surface::Viewed,
            _ => Surface::Home,
        }
    }
}

/// Why a batch is refused; [`BatchError::field`] names the part at fault as a JSON path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct BatchError {
    pub field: String,
    pub reason: String,
}

impl BatchError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> BatchError {
        BatchError { field: field.into(), reason: reason.into() }
    }
}

/// A random id as the device makes them: [`MIN_ID`] to [`MAX_ID`] letters, digits, `-` or `_`.
pub fn is_random_id(id: &str) -> bool {
    (MIN_ID..=MAX_ID).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A list's name: 1 to 32 lower-case letters, digits or `-` (`for-you`, `bought-together`).
fn is_list_name(list: &str) -> bool {
    (1..=32).contains(&list.len())
        && list.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Checks a batch received at `now` (unix seconds): ids, count, list names, timestamps within
/// [`MAX_AGE_SECONDS`] behind and [`MAX_AHEAD_SECONDS`] ahead, and every item one `known` accepts.
/// The first fault is the error; a batch with any fault is stored not at all.
pub fn check_batch(batch: &EventBatch, now: i64, known: impl Fn(&str) -> bool) -> Result<(), BatchError> {
    if !is_random_id(&batch.batch) {
        return Err(BatchError::new(
            "batch",
            format!("must be {MIN_ID} to {MAX_ID} letters, digits, - or _"),
        ));
    }
    if !is_random_id(&batch.session) {
        return Err(BatchError::new(
            "session",
            format!("must be {MIN_ID} to {MAX_ID} letters, digits, - or _"),
        ));
    }
    if batch.events.is_empty() || batch.events.len() > MAX_EVENTS {
        return Err(BatchError::new(
            "events",
            format!("1 to {MAX_EVENTS} events, got {}", batch.events.len()),
        ));
    }
    for (n, e) in batch.events.iter().enumerate() {
        let at = |field: &str| format!("events[{n}].{field}");
        if e.list.as_deref().is_some_and(|l| !is_list_name(l)) {
            return Err(BatchError::new(at("list"), "1 to 32 lower-case letters, digits or -"));
        }
        if e.at > now + MAX_AHEAD_SECONDS {
            return Err(BatchError::new(at("at"), format!("{} is in the future (now {now})", e.at)));
        }
        if e.at < now - MAX_AGE_SECONDS {
            return Err(BatchError::new(
                at("at"),
                format!("{} is older than {} days", e.at, MAX_AGE_SECONDS / 86_400),
            ));
        }
        if e.position.is_some_and(|p| p >= 1000) {
            return Err(BatchError::new(at("position"), "must be below 1000"));
        }
        if !known(&e.item) {
            let id: String = e.item.chars().take(crate::catalog::MAX_ID).collect();
            return Err(BatchError::new(at("item"), format!("no product {id:?} in this shop")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn event(item: &str) -> ShopEvent {
        ShopEvent {
            kind: EventKind::Click,
            surface: Surface::Home,
            list: Some("trending".into()),
            item: item.into(),
            position: Some(3),
            at: NOW - 5,
        }
    }

    fn batch(events: Vec<ShopEvent>) -> EventBatch {
        EventBatch { batch: "b".repeat(20), session: "s".repeat(20), events }
    }

    fn field(b: &EventBatch) -> String {
        check_batch(b, NOW, |id| id.starts_with("ok")).map_err(|e| e.field).err().unwrap_or_default()
    }

    #[test]
    fn a_good_batch_passes_and_each_fault_names_its_field() {
        assert_eq!(
            check_batch(&batch(vec![event("ok-1"), event("ok-2")]), NOW, |id| id.starts_with("ok")),
            Ok(())
        );
        assert_eq!(field(&batch(vec![])), "events");
        assert_eq!(field(&batch(vec![event("ok"); MAX_EVENTS + 1])), "events");
        assert_eq!(field(&batch(vec![event("ok"), event("nope")])), "events[1].item");
        let mut future = event("ok");
        future.at = NOW + MAX_AHEAD_SECONDS + 1;
        assert_eq!(field(&batch(vec![future])), "events[0].at");
        let mut old = event("ok");
        old.at = NOW - MAX_AGE_SECONDS - 1;
        assert_eq!(field(&batch(vec![old])), "events[0].at");
        let mut list = event("ok");
        list.list = Some("Trending!".into());
        assert_eq!(field(&batch(vec![list])), "events[0].list");
        let mut short = batch(vec![event("ok")]);
        short.batch = "abc".into();
        assert_eq!(field(&short), "batch");
        let mut odd = batch(vec![event("ok")]);
        odd.session = "s p a c e s and more than sixteen".into();
        assert_eq!(field(&odd), "session");
    }

    #[test]
    fn wire_names_are_stable() {
        let json = serde_json::to_value(event("ok")).expect("json");
        assert_eq!(json["kind"], "click");
        assert_eq!(json["surface"], "home");
        for k in EventKind::ALL {
            assert_eq!(serde_json::to_value(k).expect("json"), k.name());
            assert_eq!(EventKind::from_name(k.name()), Some(k));
        }
        assert_eq!(Surface::of_path("/p/FUR-1"), Surface::Product);
        assert_eq!(Surface::of_path("/c/furniture/chairs"), Surface::Category);
        assert_eq!(Surface::of_path("/"), Surface::Home);
    }
}
