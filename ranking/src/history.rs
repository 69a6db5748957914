//! The shopper's history on the wire: one codec for the `X-History` header the app sends and the edge
//! reads, and for the history the app hands the on-device engine ([`crate::wire::EngineSearch`]).
//!
//! Form: `id:event` entries separated by commas, most recent first; the event is a
//! [`Event::as_str`] name, and an entry without a known one (`id`, or `id:odd`) is a view of the whole
//! entry. Ids are never empty and at most [`MAX_ID`] characters.

use crate::catalog::{Event, MAX_ID};

/// Why a history was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("history has more than {0} entries")]
    TooLong(usize),
    #[error("history ids must be 1 to {MAX_ID} characters")]
    BadId,
}

/// Encodes a history (most recent first) as `id:event,…`.
pub fn encode(history: &[(String, Event)]) -> String {
    let entries: Vec<String> = history.iter().map(|(id, e)| format!("{id}:{}", e.as_str())).collect();
    entries.join(",")
}

/// Decodes `id:event,…` (blank entries skipped), refusing more than `max` entries or a bad id.
pub fn decode(raw: &str, max: usize) -> Result<Vec<(String, Event)>, HistoryError> {
    let mut out = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if out.len() == max {
            return Err(HistoryError::TooLong(max));
        }
        let (id, event) = match entry.rsplit_once(':').map(|(id, ev)| (id, ev.parse::<Event>())) {
            Some((id, Ok(e))) => (id, e),
            _ => (entry, Event::View),
        };
        if id.is_empty() || id.chars().count() > MAX_ID {
            return Err(HistoryError::BadId);
        }
        out.push((id.to_owned(), event));
    }
    Ok(out)
}

/// Serde in the codec's form (a string), for a `Vec<(String, Event)>` field:
/// `#[serde(with = "crate::history::codec")]`. Decodes without an entry limit.
pub mod codec {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::catalog::Event;

    /// Writes the history as [`super::encode`] does.
    pub fn serialize<S: Serializer>(history: &[(String, Event)], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(history))
    }

    /// Reads the history as [`super::decode`] does.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Event)>, D::Error> {
        let raw = String::deserialize(d)?;
        super::decode(&raw, usize::MAX).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(entries: &[(&str, Event)]) -> Vec<(String, Event)> {
        entries.iter().map(|(id, e)| ((*id).to_owned(), *e)).collect()
    }

    #[test]
    fn encodes_and_decodes_back() {
        let history = h(&[("p1", Event::View), ("a:b", Event::Cart), ("p3", Event::Purchase)]);
        let raw = encode(&history);
        assert_eq!(raw, "p1:view,a:b:cart,p3:purchase");
        assert_eq!(decode(&raw, 10), Ok(history));
        assert_eq!(encode(&[]), "");
        assert_eq!(decode("", 10), Ok(vec![]));
    }

    #[test]
    fn lenient_on_events_strict_on_ids_and_length() {
        assert_eq!(
            decode("a:cart, b ,c:x:purchase,d:odd", 10),
            Ok(h(&[
                ("a", Event::Cart),
                ("b", Event::View),
                ("c:x", Event::Purchase),
                ("d:odd", Event::View)
            ]))
        );
        assert_eq!(decode("a,b,c", 2), Err(HistoryError::TooLong(2)));
        assert_eq!(decode(":view", 2), Err(HistoryError::BadId));
        assert_eq!(decode(&"x".repeat(MAX_ID + 1), 2), Err(HistoryError::BadId));
        assert_eq!(HistoryError::TooLong(100).to_string(), "history has more than 100 entries");
    }
}
