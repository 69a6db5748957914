//! Markdown and SVG report of an evaluation run.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::eval::Report;

pub fn write(dir: &Path, r: &Report, with_model: bool, dim: usize, lambda: f32) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let k = r.k;
    let mut md = String::new();
    let _ = writeln!(md, "# Feed evaluation\n");
    let _ = writeln!(
        md,
        "Per-user temporal split (last 20% of each user's interactions held out), {} users, K = {k}. \
         Content vectors: {}; co-occurrence smoothing λ = {lambda}.\n",
        r.users,
        if with_model { format!("potion-base-8M reduced to {dim} dims") } else { "none".into() }
    );
    let _ = writeln!(md, "| model | Recall@{k} | NDCG@{k} | coverage |\n| --- | ---: | ---: | ---: |");
    for (name, m) in &r.models {
        let _ = writeln!(md, "| {name} | {:.4} | {:.4} | {:.3} |", m.recall, m.ndcg, m.coverage);
    }
    let _ = writeln!(md, "\n![Recall and NDCG by model](eval.svg)");
    std::fs::write(dir.join("eval.md"), md).context("cannot write eval.md")?;
    std::fs::write(dir.join("eval.svg"), svg(r)).context("cannot write eval.svg")?;
    Ok(())
}

/// Horizontal bars of Recall@K and NDCG@K per model, scaled to the best value.
fn svg(r: &Report) -> String {
    let max = r.models.values().flat_map(|m| [m.recall, m.ndcg]).fold(0.0f64, f64::max).max(1e-9);
    let (row, left, width) = (44.0, 210.0, 360.0);
    let height = 30.0 + row * r.models.len() as f64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"{height}\" viewBox=\"0 0 640 {height}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"640\" height=\"{height}\" fill=\"#fff\"/>\
         <text x=\"{left}\" y=\"16\">Recall@{k} (dark) and NDCG@{k} (light)</text>",
        k = r.k
    );
    for (i, (name, m)) in r.models.iter().enumerate() {
        let y = 26.0 + row * i as f64;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            y + 20.0,
            escape(name)
        );
        for (j, (v, colour)) in [(m.recall, "#1d5c4d"), (m.ndcg, "#8cc5b5")].iter().enumerate() {
            let w = width * v / max;
            let yy = y + 4.0 + 17.0 * j as f64;
            let _ = write!(
                s,
                "<rect x=\"{left}\" y=\"{yy}\" width=\"{w:.1}\" height=\"15\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\">{v:.4}</text>",
                left + w + 4.0,
                yy + 12.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
