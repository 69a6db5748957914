//! Reads and validates the shop owner's merchandising rules file (JSON, docs/FORMATS.md) into the
//! stored [`ranking::rules::Rules`]; every problem is reported with the rule's line and the reason.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Result, bail};
use ranking::Product;
use ranking::rules::{Action, Filter, Rule, Rules, Trigger};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    rules: Vec<RuleIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleIn {
    id: String,
    #[serde(default)]
    priority: i32,
    when: WhenIn,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    pin: Vec<PinIn>,
    #[serde(default)]
    boost: Vec<BoostIn>,
    #[serde(default)]
    bury: Vec<BoostIn>,
    #[serde(default)]
    hide: Vec<FilterIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhenIn {
    #[serde(default)]
    always: bool,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    query_contains: Option<String>,
    #[serde(default)]
    category: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinIn {
    product: String,
    position: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BoostIn {
    filter: FilterIn,
    by: f32,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilterIn {
    #[serde(default)]
    brand: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    min_price: Option<f64>,
    #[serde(default)]
    max_price: Option<f64>,
    #[serde(default)]
    in_stock: Option<bool>,
}

/// Largest position a pin may name (deeper pins are never seen).
pub const MAX_PIN_POSITION: u32 = 100;

fn slug_path_ok(path: &str) -> bool {
    !path.is_empty()
        && path == path.to_lowercase()
        && path.split('/').all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '-'))
}

fn filter(f: FilterIn) -> Result<Filter, String> {
    let empty = f.brand.is_none()
        && f.category.is_none()
        && f.min_price.is_none()
        && f.max_price.is_none()
        && f.in_stock.is_none();
    if empty {
        return Err("a filter needs at least one of brand, category, min_price, max_price, in_stock".into());
    }
    if let Some(c) = &f.category
        && !slug_path_ok(c)
    {
        return Err(format!("filter category {c:?} must be a path of lowercase slugs like furniture/chairs"));
    }
    for p in [f.min_price, f.max_price].into_iter().flatten() {
        if !(p.is_finite() && p >= 0.0) {
            return Err(format!("filter prices must be finite and >= 0, got {p}"));
        }
    }
    if let (Some(lo), Some(hi)) = (f.min_price, f.max_price)
        && lo > hi
    {
        return Err(format!("filter min_price {lo} is above max_price {hi}"));
    }
    Ok(Filter {
        brand: f.brand,
        category: f.category,
        min_price: f.min_price,
        max_price: f.max_price,
        in_stock: f.in_stock,
    })
}

fn time(field: &str, raw: Option<String>) -> Result<Option<i64>, String> {
    raw.map(|t| {
        t.parse::<jiff::Timestamp>().map(|ts| ts.as_second()).map_err(|e| {
            format!("{field} must be an RFC 3339 date-time like 2026-11-27T00:00:00Z, got {t:?}: {e}")
        })
    })
    .transpose()
}

fn rule(r: RuleIn, products: &HashSet<&str>) -> Result<Rule, String> {
    let w = r.when;
    let triggers = [w.always, w.query.is_some(), w.query_contains.is_some(), w.category.is_some()];
    let when = match (triggers.iter().filter(|t| **t).count(), w) {
        (1, WhenIn { always: true, .. }) => Trigger::Always,
        (1, WhenIn { query: Some(q), .. }) if !q.trim().is_empty() => Trigger::QueryIs(q),
        (1, WhenIn { query_contains: Some(q), .. }) if !q.trim().is_empty() => Trigger::QueryContains(q),
        (1, WhenIn { category: Some(c), .. }) if slug_path_ok(&c) => Trigger::Category(c),
        (1, _) => return Err("`when` has an empty query or a category that is not a slug path".into()),
        _ => {
            return Err(
                "`when` needs exactly one of \"always\": true, \"query\", \"query_contains\", \"category\""
                    .into(),
            );
        }
    };
    let (from, until) = (time("from", r.from)?, time("until", r.until)?);
    if let (Some(f), Some(u)) = (from, until)
        && f >= u
    {
        return Err("`from` must be before `until`".into());
    }
    let mut actions = Vec::new();
    for p in r.pin {
        if !products.contains(p.product.as_str()) {
            return Err(format!("pin: no product with id {:?} in the catalog", p.product));
        }
        if !(1..=MAX_PIN_POSITION).contains(&p.position) {
            return Err(format!("pin: position must be 1..={MAX_PIN_POSITION}, got {}", p.position));
        }
        actions.push(Action::Pin { product: p.product, position: p.position });
    }
    for (list, sign) in [(r.boost, 1.0f32), (r.bury, -1.0)] {
        for b in list {
            if !(b.by.is_finite() && b.by > 0.0 && b.by <= 10.0) {
                return Err(format!("boost/bury `by` must be in (0, 10], got {}", b.by));
            }
            actions.push(Action::Boost { filter: filter(b.filter)?, by: sign * b.by });
        }
    }
    for h in r.hide {
        actions.push(Action::Hide { filter: filter(h)? });
    }
    if actions.is_empty() {
        return Err("a rule needs at least one of pin, boost, bury, hide".into());
    }
    Ok(Rule { id: r.id, priority: r.priority, when, from, until, actions })
}

/// The line of the `nth` (0-based) `"id": "<id>"` in the file (1 when not found).
fn line_of(text: &str, id: &str, nth: usize) -> usize {
    let needle = serde_json::to_string(id).unwrap_or_default();
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains("\"id\"") && l.contains(&needle))
        .nth(nth)
        .map_or(1, |(i, _)| i + 1)
}

/// Reads and validates a rules file against the catalog.
pub fn read(path: &Path, products: &[Product]) -> Result<Rules> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
    let file: File = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{name}:{}:{}: {e}", e.line(), e.column()))?;
    let ids: HashSet<&str> = products.iter().map(|p| p.id.as_str()).collect();
    let mut seen = HashSet::new();
    let mut occurrences: std::collections::HashMap<String, usize> = Default::default();
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for r in file.rules {
        let id = r.id.clone();
        let nth = occurrences.entry(id.clone()).or_default();
        let line = line_of(&text, &id, *nth);
        *nth += 1;
        if id.trim().is_empty() {
            errors.push(format!("{name}:{line}: a rule needs a non-empty id"));
            continue;
        }
        if !seen.insert(id.clone()) {
            errors.push(format!("{name}:{line}: rule {id:?}: duplicate id"));
            continue;
        }
        match rule(r, &ids) {
            Ok(rule) => rules.push(rule),
            Err(why) => errors.push(format!("{name}:{line}: rule {id:?}: {why}")),
        }
    }
    if !errors.is_empty() {
        bail!(
            "{} invalid rule(s), nothing written (the live rules stay):\n  {}",
            errors.len(),
            errors.join("\n  ")
        );
    }
    Ok(Rules { rules })
}
