//! Markdown and SVG report of an evaluation run.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::eval::Report;

pub fn write(dir: &Path, r: &Report, with_model: bool, dim: usize) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let k = r.k;
    let mut md = String::new();
    let _ = writeln!(md, "# Feed evaluation\n");
    let c = &r.chosen;
    let model = match c.elsa {
        Some(e) => format!("item embeddings: {e}"),
        None => "no item embeddings (too few interactions)".to_owned(),
    };
    let _ = writeln!(
        md,
        "Per-user temporal split (last 20% of each user's interactions held out), {} users, K = {k}. \
         Content vectors: {}. The feed's model and weights were chosen on a validation split of the \
         training part ({} shoppers): {model}; weights collaborative {}, similarity {}, co-occurrence {}, \
         popularity {}, recency decay {}. EASE's λ ({}) was chosen on the same validation split.\n",
        r.users,
        if with_model { format!("potion-base-8M reduced to {dim} dims") } else { "none".into() },
        c.users,
        c.weights.collaborative,
        c.weights.similarity,
        c.weights.co_occurrence,
        c.weights.popularity,
        c.weights.recency_decay,
        r.ease_lambda.map_or("not computed".to_owned(), |l| l.to_string()),
    );
    let _ = writeln!(
        md,
        "| model | Recall@{k} | NDCG@{k} | AUC | coverage | new-item Recall@{k} |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    );
    for (name, m) in &r.models {
        let new = r.new_items.recall.get(name).copied().unwrap_or(0.0);
        let _ = writeln!(
            md,
            "| {name} | {:.4} | {:.4} | {:.4} | {:.3} | {new:.4} |",
            m.recall, m.ndcg, m.auc, m.coverage
        );
    }
    let _ = writeln!(
        md,
        "\nNew items: each model ranks only the {} items nobody interacted with in training, for the {} \
         shoppers who have such an item held out.\n\n![Recall and NDCG by model](eval.svg)",
        r.new_items.items, r.new_items.users
    );
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
