//! `POST /api/events` over parsed input: the batch read from its body, checked
//! ([`ranking::events::check_batch`]) and turned into the D1 statements that store it once. The wasm
//! shell (`commerce`) reads the products it names and runs the statements.

use ranking::events::{self, EventBatch};

use crate::checkout::Sql;
use crate::problem::Problem;

/// A batch from its body: JSON, sent as `application/json` (fetch) or `text/plain` (what
/// `navigator.sendBeacon` sends for a string); an error names the field at fault.
pub fn batch(content_type: Option<&str>, body: &[u8]) -> Result<EventBatch, Problem> {
    crate::body::json(
        content_type,
        body,
        &["application/json", "text/plain"],
        "events are sent as application/json (or text/plain from sendBeacon)",
    )
}

/// Checks a batch at `now`; `known` says whether a product id is in the current build.
pub fn check(batch: &EventBatch, now: i64, known: impl Fn(&str) -> bool) -> Result<(), Problem> {
    events::check_batch(batch, now, known).map_err(|e| Problem::BadBody { field: e.field, reason: e.reason })
}

/// Whether a batch was stored already.
pub const SEEN_BATCH: &str = "SELECT 1 AS seen FROM event_batches WHERE batch_id = ?1";

/// The statements that store a checked batch as one D1 batch (one transaction): its id first, whose
/// primary key makes a second delivery fail the whole transaction, then one row per event with the
/// variant the edge assigned. Times are the device's, clamped to `now`; the day is the edge's.
pub fn store(batch: &EventBatch, variant: &str, now: i64) -> Vec<(&'static str, Vec<Sql>)> {
    let day = now.div_euclid(86_400);
    let mut statements = vec![(
        "INSERT INTO event_batches (batch_id, day) VALUES (?1, ?2)",
        vec![Sql::Text(batch.batch.clone()), Sql::Int(day)],
    )];
    for e in &batch.events {
        statements.push((
            "INSERT INTO events (day, at, session, variant, surface, kind, list, item_id, position) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            vec![
                Sql::Int(day),
                Sql::Int(e.at.min(now)),
                Sql::Text(batch.session.clone()),
                Sql::Text(variant.to_owned()),
                Sql::Text(e.surface.name().to_owned()),
                Sql::Text(e.kind.name().to_owned()),
                e.list.clone().map_or(Sql::Null, Sql::Text),
                Sql::Text(e.item.clone()),
                e.position.map_or(Sql::Null, |p| Sql::Int(i64::from(p))),
            ],
        ));
    }
    statements
}

/// The statements of the daily cron: events and batch ids older than `retention_days` go.
pub fn expire(now: i64, retention_days: i64) -> Vec<(&'static str, Vec<Sql>)> {
    let oldest = now.div_euclid(86_400) - retention_days.max(1);
    vec![
        ("DELETE FROM events WHERE day < ?1", vec![Sql::Int(oldest)]),
        ("DELETE FROM event_batches WHERE day < ?1", vec![Sql::Int(oldest)]),
    ]
}

/// Days events are kept unless the shop sets `EVENT_RETENTION_DAYS`.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;

/// The retention window from the variable's text: a whole number of days, 1 to 3650, else the default.
pub fn retention_days(raw: Option<&str>) -> i64 {
    raw.and_then(|r| r.trim().parse::<i64>().ok())
        .filter(|d| (1..=3650).contains(d))
        .unwrap_or(DEFAULT_RETENTION_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"batch":"bbbbbbbbbbbbbbbbbbbb","session":"ssssssssssssssssssss","events":[
        {"kind":"impression","surface":"home","list":"trending","item":"a","position":0,"at":100},
        {"kind":"add_to_cart","surface":"product","item":"b","at":999999}]}"#;

    #[test]
    fn a_batch_reads_from_json_or_beacon_text_and_errors_name_the_field() {
        let b = batch(Some("text/plain;charset=UTF-8"), BODY).expect("beacon");
        assert_eq!(b.events.len(), 2);
        assert_eq!(batch(Some("application/json"), BODY).expect("json"), b);
        let field = |r: Result<EventBatch, Problem>| match r {
            Err(Problem::BadBody { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(batch(Some("text/html"), BODY)), "Content-Type");
        assert_eq!(
            field(batch(
                Some("application/json"),
                br#"{"batch":"x","session":"y","events":[{"kind":"buy"}]}"#
            )),
            "events[0].kind"
        );
        let known = |id: &str| id == "a";
        let mut recent = b.clone();
        recent.events[0].at = 999_000;
        let refused = check(&recent, 999_999, known);
        assert!(
            matches!(&refused, Err(Problem::BadBody { field, .. }) if field == "events[1].item"),
            "{refused:?}"
        );
        let old = check(&b, 999_999, known);
        assert!(matches!(&old, Err(Problem::BadBody { field, .. }) if field == "events[0].at"), "{old:?}");
    }

    #[test]
    fn a_batch_is_stored_once_with_the_edges_variant_and_day() {
        let b = batch(Some("application/json"), BODY).expect("batch");
        let now = 86_400 * 10 + 7;
        let statements = store(&b, "b", now);
        assert_eq!(statements.len(), 3);
        assert_eq!(statements[0].1, vec![Sql::Text("b".repeat(20)), Sql::Int(10)]);
        let first = &statements[1].1;
        assert_eq!(
            first[..4],
            [Sql::Int(10), Sql::Int(100), Sql::Text("s".repeat(20)), Sql::Text("b".into())]
        );
        assert_eq!(first[6], Sql::Text("trending".into()));
        assert_eq!(statements[2].1[1], Sql::Int(now), "a device clock ahead is clamped to the edge's");
        assert_eq!(statements[2].1[8], Sql::Null);
    }

    #[test]
    fn retention_defaults_and_bounds() {
        assert_eq!(retention_days(None), 90);
        assert_eq!(retention_days(Some("30")), 30);
        assert_eq!(retention_days(Some("0")), 90);
        assert_eq!(retention_days(Some("forever")), 90);
        assert_eq!(expire(86_400 * 100, 30)[0].1, vec![Sql::Int(70)]);
    }
}
