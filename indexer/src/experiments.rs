//! The experiment report: per variant, from the shop's events (`POST /api/events`, stored in D1), the
//! sessions, impressions, click-through and add-to-cart rate with 95% intervals, each variant's uplift
//! over control with a two-proportion z-test, and a sample-ratio-mismatch check (variants split
//! sessions evenly, so a skewed split says assignment or logging is broken and the uplifts cannot be
//! trusted). Also turns the events into the interactions the next build learns from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use ranking::{Event, Interaction};
use serde::Serialize;
use serde_json::Value;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

use crate::read::Rejects;

/// The query whose `wrangler d1 execute --json` output [`read_events`] reads.
pub const EVENTS_QUERY: &str =
    "SELECT day, at, session, variant, surface, kind, list, item_id, position FROM events ORDER BY at";

/// A stored event, as much of it as the report and the importer need.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub at: i64,
    pub session: String,
    pub variant: String,
    pub kind: String,
    pub item: String,
}

/// Reads the rows of a `wrangler d1 execute --json` output of [`EVENTS_QUERY`] (or a plain array of
/// rows); a row without the fields is skipped with its number and why.
pub fn read_events(path: &Path) -> Result<(Vec<StoredEvent>, Rejects)> {
    let rows = crate::orders::d1_rows(path, EVENTS_QUERY)?;
    let mut rejects = Rejects::new(path);
    let mut events = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let text = |name: &str| row.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
        let parsed = (|| {
            Some(StoredEvent {
                at: row.get("at").and_then(Value::as_i64)?,
                session: text("session")?.to_owned(),
                variant: text("variant")?.to_owned(),
                kind: text("kind")?.to_owned(),
                item: text("item_id")?.to_owned(),
            })
        })();
        match parsed {
            Some(e) => events.push(e),
            None => rejects.add(
                n + 1,
                "missing field",
                format!("row {}: needs at, session, variant, kind, item_id: {row}", n + 1),
            ),
        }
    }
    Ok((events, rejects))
}

/// A proportion with its 95% Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub hits: u64,
    pub trials: u64,
    pub rate: f64,
    pub low: f64,
    pub high: f64,
}

impl Rate {
    pub fn new(hits: u64, trials: u64) -> Rate {
        if trials == 0 {
            return Rate { hits, trials, rate: 0.0, low: 0.0, high: 0.0 };
        }
        let (n, p, z) = (trials as f64, hits as f64 / trials as f64, 1.959_963_984_540_054);
        let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
        let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
        Rate { hits, trials, rate: p, low: (centre - half).max(0.0), high: (centre + half).min(1.0) }
    }
}

/// A variant's rate against control's: relative uplift and the two-sided p-value of a pooled
/// two-proportion z-test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Uplift {
    pub relative: f64,
    pub p_value: f64,
}

pub fn uplift(variant: Rate, control: Rate) -> Option<Uplift> {
    if variant.trials == 0 || control.trials == 0 || control.rate == 0.0 {
        return None;
    }
    let pooled = (variant.hits + control.hits) as f64 / (variant.trials + control.trials) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / variant.trials as f64 + 1.0 / control.trials as f64)).sqrt();
    let z = if se > 0.0 { (variant.rate - control.rate) / se } else { 0.0 };
    let normal = Normal::standard();
    Some(Uplift { relative: variant.rate / control.rate - 1.0, p_value: 2.0 * (1.0 - normal.cdf(z.abs())) })
}

/// One variant's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantReport {
    pub name: String,
    pub sessions: u64,
    pub impressions: u64,
    /// Clicks per impression.
    pub click_through: Rate,
    /// Sessions with an add to cart, per session.
    pub add_to_cart: Rate,
    pub click_through_uplift: Option<Uplift>,
    pub add_to_cart_uplift: Option<Uplift>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub control: String,
    pub variants: Vec<VariantReport>,
    /// p-value of a chi-square test that sessions split evenly across variants.
    pub sample_ratio_p: Option<f64>,
    /// `sample_ratio_p` below 0.001: the split is not the configured one.
    pub sample_ratio_mismatch: bool,
}

/// Below this p-value the sessions' split is called a mismatch (as experimentation platforms do).
const SRM_ALPHA: f64 = 0.001;

/// The report of `events`; `control` names the control variant (default: the first by name, as
/// variants are assigned in name order).
pub fn report(events: &[StoredEvent], control: Option<&str>) -> Result<Report> {
    let mut sessions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut carted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for e in events {
        sessions.entry(&e.variant).or_default().insert(&e.session);
        let c = counts.entry(&e.variant).or_default();
        match e.kind.as_str() {
            "impression" => c.0 += 1,
            "click" => c.1 += 1,
            "add_to_cart" => {
                carted.entry(&e.variant).or_default().insert(&e.session);
            }
            _ => {}
        }
    }
    anyhow::ensure!(!sessions.is_empty(), "no events to report on");
    let control = match control {
        Some(c) => {
            anyhow::ensure!(sessions.contains_key(c), "control variant {c:?} has no events");
            c.to_owned()
        }
        None => sessions.keys().next().map(|k| (*k).to_owned()).unwrap_or_default(),
    };
    let rates = |v: &str| {
        let (impressions, clicks) = counts.get(v).copied().unwrap_or_default();
        let n = sessions.get(v).map_or(0, |s| s.len() as u64);
        let carts = carted.get(v).map_or(0, |s| s.len() as u64);
        (n, impressions, Rate::new(clicks.min(impressions), impressions), Rate::new(carts, n))
    };
    let (_, _, control_ctr, control_atc) = rates(&control);
    let variants: Vec<VariantReport> = sessions
        .keys()
        .map(|v| {
            let (n, impressions, ctr, atc) = rates(v);
            let vs_control = *v != control;
            VariantReport {
                name: (*v).to_owned(),
                sessions: n,
                impressions,
                click_through: ctr,
                add_to_cart: atc,
                click_through_uplift: vs_control.then(|| uplift(ctr, control_ctr)).flatten(),
                add_to_cart_uplift: vs_control.then(|| uplift(atc, control_atc)).flatten(),
            }
        })
        .collect();
    let sample_ratio_p = sample_ratio_p(&variants.iter().map(|v| v.sessions).collect::<Vec<_>>());
    Ok(Report {
        control,
        sample_ratio_mismatch: sample_ratio_p.is_some_and(|p| p < SRM_ALPHA),
        sample_ratio_p,
        variants,
    })
}

/// Chi-square goodness of fit of session counts against an even split.
fn sample_ratio_p(sessions: &[u64]) -> Option<f64> {
    let total: u64 = sessions.iter().sum();
    if sessions.len() < 2 || total == 0 {
        return None;
    }
    let expected = total as f64 / sessions.len() as f64;
    let chi2: f64 = sessions.iter().map(|&n| (n as f64 - expected).powi(2) / expected).sum();
    let dist = ChiSquared::new((sessions.len() - 1) as f64).ok()?;
    Some(1.0 - dist.cdf(chi2))
}

/// The report as markdown, with the chart beside it (`chart` is the SVG's file name).
pub fn markdown(r: &Report, chart: &str) -> String {
    let pct = |x: f64| format!("{:.2}%", x * 100.0);
    let ci = |r: &Rate| format!("{} [{}, {}]", pct(r.rate), pct(r.low), pct(r.high));
    let up = |u: &Option<Uplift>| match u {
        Some(u) => format!("{:+.1}% (p = {:.3})", u.relative * 100.0, u.p_value),
        None => "control".to_owned(),
    };
    let mut out = String::from("# Experiment report\n\n");
    out.push_str(&format!("Control: `{}`. Intervals are 95% (Wilson); uplift is against control, p from a two-proportion z-test.\n\n", r.control));
    out.push_str(
        "| variant | sessions | impressions | click-through | uplift | add-to-cart rate | uplift |\n",
    );
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for v in &r.variants {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            v.name,
            v.sessions,
            v.impressions,
            ci(&v.click_through),
            up(&v.click_through_uplift),
            ci(&v.add_to_cart),
            up(&v.add_to_cart_uplift)
        ));
    }
    match r.sample_ratio_p {
        Some(p) if r.sample_ratio_mismatch => out.push_str(&format!(
            "\n**Sample ratio mismatch** (p = {p:.2e}): sessions did not split evenly; fix assignment or logging before reading the uplifts.\n"
        )),
        Some(p) => out.push_str(&format!("\nSessions split as configured (sample-ratio check p = {p:.3}).\n")),
        None => out.push_str("\nOne variant only: no comparison.\n"),
    }
    out.push_str(&format!("\n![click-through and add-to-cart rate by variant]({chart})\n"));
    out
}

/// A bar chart of both rates per variant with their intervals.
pub fn svg(r: &Report) -> String {
    let (w, h, pad, bar) = (640.0, 300.0, 48.0, 28.0);
    let max = r
        .variants
        .iter()
        .flat_map(|v| [v.click_through.high, v.add_to_cart.high])
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let y = |x: f64| h - pad - x / max * (h - 2.0 * pad);
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12"><title>Click-through and add-to-cart rate by variant (95% intervals)</title><line x1="{pad}" y1="{}" x2="{}" y2="{}" stroke="#333"/>"##,
        h - pad,
        w - pad,
        h - pad
    );
    let group = (w - 2.0 * pad) / r.variants.len().max(1) as f64;
    for (i, v) in r.variants.iter().enumerate() {
        let x0 = pad + group * i as f64 + group / 2.0 - bar - 4.0;
        for (j, (rate, colour)) in
            [(&v.click_through, "#1d5c4d"), (&v.add_to_cart, "#c9822b")].into_iter().enumerate()
        {
            let x = x0 + j as f64 * (bar + 8.0);
            let top = y(rate.rate);
            out.push_str(&format!(
                r##"<rect x="{x:.1}" y="{top:.1}" width="{bar}" height="{:.1}" fill="{colour}"/><line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#000"/>"##,
                (h - pad - top).max(0.0),
                x + bar / 2.0,
                x + bar / 2.0,
                y(rate.low),
                y(rate.high)
            ));
        }
        out.push_str(&format!(
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            pad + group * i as f64 + group / 2.0,
            h - pad + 18.0,
            escape(&v.name)
        ));
    }
    out.push_str(&format!(
        r##"<rect x="{pad}" y="12" width="10" height="10" fill="#1d5c4d"/><text x="{}" y="21">click-through</text><rect x="{}" y="12" width="10" height="10" fill="#c9822b"/><text x="{}" y="21">add-to-cart rate (sessions)</text></svg>"##,
        pad + 14.0,
        pad + 120.0,
        pad + 134.0
    ));
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The events as interactions for the next build: the session is the shopper, a click a view, an
/// add to cart a cart event, a checkout intent a purchase (impressions and wishlist saves say too
/// little about taste on their own and are left out).
pub fn interactions(events: &[StoredEvent]) -> Vec<Interaction> {
    events
        .iter()
        .filter_map(|e| {
            let event = match e.kind.as_str() {
                "click" => Event::View,
                "add_to_cart" => Event::Cart,
                "checkout_intent" => Event::Purchase,
                _ => return None,
            };
            Some(Interaction {
                user_id: format!("session-{}", e.session),
                item_id: e.item.clone(),
                timestamp: e.at,
                event,
            })
        })
        .collect()
}

/// Writes `report.md`, `chart.svg` and `report.json` into `out`.
pub fn write(r: &Report, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    std::fs::write(out.join("chart.svg"), svg(r)).context("cannot write chart.svg")?;
    std::fs::write(out.join("report.md"), markdown(r, "chart.svg")).context("cannot write report.md")?;
    std::fs::write(out.join("report.json"), serde_json::to_string_pretty(r)?)
        .context("cannot write report.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(session: &str, variant: &str, kind: &str) -> StoredEvent {
        StoredEvent {
            at: 1,
            session: session.into(),
            variant: variant.into(),
            kind: kind.into(),
            item: "x".into(),
        }
    }

    /// `sessions` sessions of one variant, each with 10 impressions, `clicks` of which clicked, and an
    /// add to cart in the first `carts` sessions.
    fn sessions(variant: &str, sessions: usize, clicks: usize, carts: usize) -> Vec<StoredEvent> {
        let mut out = Vec::new();
        for s in 0..sessions {
            let id = format!("{variant}-{s}");
            out.extend((0..10).map(|_| event(&id, variant, "impression")));
            out.extend((0..clicks).map(|_| event(&id, variant, "click")));
            if s < carts {
                out.push(event(&id, variant, "add_to_cart"));
            }
        }
        out
    }

    #[test]
    fn wilson_intervals_match_the_textbook() {
        // 10 of 100: Wilson's 95% interval is [0.0552, 0.1744].
        let r = Rate::new(10, 100);
        assert!((r.low - 0.0552).abs() < 1e-3 && (r.high - 0.1744).abs() < 1e-3, "{r:?}");
        assert_eq!(Rate::new(0, 0).rate, 0.0);
    }

    #[test]
    fn a_real_difference_is_significant_and_noise_is_not() {
        let mut events = sessions("a", 500, 1, 50);
        events.extend(sessions("b", 500, 2, 100));
        let r = report(&events, None).expect("report");
        assert_eq!(r.control, "a");
        let b = &r.variants[1];
        let ctr = b.click_through_uplift.expect("uplift");
        assert!((ctr.relative - 1.0).abs() < 1e-9 && ctr.p_value < 1e-6, "{ctr:?}");
        let atc = b.add_to_cart_uplift.expect("uplift");
        assert!((atc.relative - 1.0).abs() < 1e-9 && atc.p_value < 0.001, "{atc:?}");
        assert!(!r.sample_ratio_mismatch);
        let mut same = sessions("a", 500, 1, 50);
        same.extend(sessions("b", 500, 1, 52));
        let atc = report(&same, None).expect("report").variants[1].add_to_cart_uplift.expect("uplift");
        assert!(atc.p_value > 0.5, "{atc:?}");
    }

    #[test]
    fn a_skewed_split_is_flagged() {
        let mut events = sessions("a", 600, 1, 10);
        events.extend(sessions("b", 400, 1, 10));
        let r = report(&events, Some("a")).expect("report");
        assert!(r.sample_ratio_mismatch, "{:?}", r.sample_ratio_p);
        assert!(markdown(&r, "chart.svg").contains("Sample ratio mismatch"));
        assert!(report(&events, Some("c")).is_err(), "an unknown control");
    }

    #[test]
    fn events_become_interactions_by_session() {
        let events =
            [event("s1", "a", "impression"), event("s1", "a", "click"), event("s1", "a", "checkout_intent")];
        let rows = interactions(&events);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].user_id.as_str(), rows[0].event, rows[1].event),
            ("session-s1", Event::View, Event::Purchase)
        );
    }

    #[test]
    fn the_chart_is_svg_with_a_bar_per_rate() {
        let mut events = sessions("a", 10, 1, 1);
        events.extend(sessions("b<script>", 10, 2, 2));
        let chart = svg(&report(&events, None).expect("report"));
        assert!(chart.starts_with("<svg") && chart.ends_with("</svg>"));
        assert_eq!(chart.matches("<rect").count(), 4 + 2, "two bars per variant and the legend");
        assert!(!chart.contains("<script>"));
    }
}
