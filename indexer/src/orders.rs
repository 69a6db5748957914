//! Importer for the shop's own paid orders, as the edge's Stripe webhook records them in D1 and
//! `wrangler d1 execute shopfront --json --command "<ORDERS_QUERY>"` prints them: each order becomes
//! one anonymous shopper (`order-<id>`) whose lines are purchases on the order's day, so the next build
//! learns what is bought together from the shop's own sales.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ranking::{Event, Interaction};
use serde_json::Value;

use crate::read::Rejects;

/// The query whose `--json` output this importer reads.
pub const ORDERS_QUERY: &str = "SELECT orders.id AS order_id, day, item_id, quantity \
     FROM order_lines JOIN orders ON orders.id = order_id ORDER BY order_id";

/// Reads the rows of a `wrangler d1 execute --json` output (an array of result sets, each with
/// `results`) or a plain array of rows. A row that is not an order line is skipped with its number
/// and why; a file that is not such JSON at all is an error.
pub fn import(path: &Path) -> Result<(Vec<Interaction>, Rejects)> {
    let rows = d1_rows(path, ORDERS_QUERY)?;
    let mut rejects = Rejects::new(path);
    let mut interactions = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        match interaction(row) {
            Ok(i) => interactions.push(i),
            Err((kind, detail)) => rejects.add(n + 1, kind, format!("row {}: {detail}", n + 1)),
        }
    }
    Ok((interactions, rejects))
}

/// The rows of a `wrangler d1 execute --json --command "<query>"` output (or a plain array of rows).
pub fn d1_rows(path: &Path, query: &str) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: Value = serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let rows = rows_of(&json).with_context(|| {
        format!(
            "{}: expected the output of `wrangler d1 execute --json --command \"{query}\"`",
            path.display()
        )
    })?;
    Ok(rows.into_iter().cloned().collect())
}

fn rows_of(json: &Value) -> Result<Vec<&Value>> {
    let Some(items) = json.as_array() else { bail!("the file is not a JSON array") };
    if items.iter().all(|i| i.get("results").is_some()) {
        let mut rows = Vec::new();
        for set in items {
            if set.get("success") == Some(&Value::Bool(false)) {
                bail!("a result set says the query failed");
            }
            rows.extend(set["results"].as_array().context("`results` is not an array")?);
        }
        return Ok(rows);
    }
    Ok(items.iter().collect())
}

/// One order line: an error is `(kind, detail)` for the reject summary.
fn interaction(row: &Value) -> std::result::Result<Interaction, (&'static str, String)> {
    let int = |name: &str| row.get(name).and_then(Value::as_i64);
    let order = int("order_id").ok_or(("no order_id", format!("no integer order_id in {row}")))?;
    let day = int("day")
        .filter(|d| (0..=2_932_896).contains(d))
        .ok_or(("bad day", format!("day must be days since 1970-01-01 in {row}")))?;
    let item = row.get("item_id").and_then(Value::as_str).filter(|s| !s.is_empty());
    let item = item.ok_or(("no item_id", format!("no item_id in {row}")))?;
    // Quantity says how many, not how much more the shopper wanted it: one purchase per line, as
    // every other importer counts order lines.
    Ok(Interaction {
        user_id: format!("order-{order}"),
        item_id: item.to_owned(),
        timestamp: day * 86_400,
        event: Event::Purchase,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(json: &str) -> Result<(Vec<Interaction>, Rejects)> {
        let dir = std::env::temp_dir().join(format!("orders-{}-{}", std::process::id(), json.len()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("orders.json");
        std::fs::write(&path, json).expect("write");
        import(&path)
    }

    #[test]
    fn wrangler_output_becomes_one_shopper_per_order() {
        let json = r#"[{"results":[
            {"order_id":1,"day":20424,"item_id":"FUR-1","quantity":2},
            {"order_id":1,"day":20424,"item_id":"OFF-2","quantity":1},
            {"order_id":2,"day":20425,"item_id":"FUR-1","quantity":1},
            {"order_id":3,"day":"yesterday","item_id":"X","quantity":1},
            {"order_id":4,"day":20425}
        ],"success":true,"meta":{}}]"#;
        let (rows, rejects) = run(json).expect("imported");
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[0].user_id.as_str(), rows[0].item_id.as_str()), ("order-1", "FUR-1"));
        assert_eq!(rows[1].user_id, rows[0].user_id, "one order, one shopper");
        assert_eq!(rows[2].timestamp, 20425 * 86_400);
        assert!(rows.iter().all(|r| r.event == Event::Purchase));
        assert_eq!(rejects.total, 2);
        assert!(rejects.examples[0].1.starts_with("row 4:"), "{:?}", rejects.examples);
        let plain = run(r#"[{"order_id":9,"day":1,"item_id":"A","quantity":1}]"#).expect("plain rows");
        assert_eq!(plain.0[0].user_id, "order-9");
    }

    #[test]
    fn other_files_are_refused_with_what_was_expected() {
        for bad in ["{}", "not json", r#"[{"results":[],"success":false}]"#] {
            let e = run(bad).expect_err(bad);
            assert!(format!("{e:#}").contains("orders.json"), "{e:#}");
        }
    }
}
