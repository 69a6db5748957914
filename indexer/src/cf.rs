//! Collaborative signal from interactions: item co-occurrence (same shopper), its cosine-normalized
//! neighbour lists, and content vectors smoothed over those neighbours.

use std::collections::HashMap;

use ranking::index::MAX_NEIGHBOURS;
use ranking::vector::normalize;
use ranking::weights::Weights;
use ranking::{Event, Interaction};

/// Items one shopper touches beyond this many (most recent kept) add no pairs: bounds the quadratic
/// pair count for heavy users and bots.
pub const MAX_ITEMS_PER_USER: usize = 200;

/// Weighted item co-occurrence counts.
#[derive(Debug)]
pub struct Cooc {
    /// Per item: `(other item, Σ over shared shoppers of w_a·w_b)`.
    pub pairs: Vec<HashMap<u32, f32>>,
    /// Per item: `Σ over shoppers of w²` (the diagonal), for cosine.
    pub norms: Vec<f32>,
}

/// Per user, their items with the strongest event weight seen, most recent first.
pub fn user_items<'a>(
    rows: impl IntoIterator<Item = &'a Interaction>,
    pos: &HashMap<&str, usize>,
    w: &Weights,
) -> HashMap<String, Vec<(usize, f32, i64)>> {
    let mut by_user: HashMap<String, HashMap<usize, (f32, i64)>> = HashMap::new();
    for r in rows {
        if let Some(&i) = pos.get(r.item_id.as_str()) {
            let e = by_user.entry(r.user_id.clone()).or_default().entry(i).or_insert((0.0, i64::MIN));
            e.0 = e.0.max(w.event(r.event));
            e.1 = e.1.max(r.timestamp);
        }
    }
    by_user
        .into_iter()
        .map(|(u, items)| {
            let mut v: Vec<(usize, f32, i64)> = items.into_iter().map(|(i, (wt, ts))| (i, wt, ts)).collect();
            v.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
            (u, v)
        })
        .collect()
}

impl Cooc {
    pub fn new(n: usize, users: &HashMap<String, Vec<(usize, f32, i64)>>) -> Cooc {
        let mut pairs = vec![HashMap::new(); n];
        let mut norms = vec![0.0f32; n];
        for items in users.values() {
            let items = &items[..items.len().min(MAX_ITEMS_PER_USER)];
            for (a, &(i, wi, _)) in items.iter().enumerate() {
                norms[i] += wi * wi;
                for &(j, wj, _) in &items[a + 1..] {
                    *pairs[i].entry(j as u32).or_insert(0.0) += wi * wj;
                    *pairs[j].entry(i as u32).or_insert(0.0) += wi * wj;
                }
            }
        }
        Cooc { pairs, norms }
    }

    /// Each item's strongest neighbours by cosine of co-occurrence, ties by index.
    pub fn neighbours(&self) -> Vec<Vec<(u32, f32)>> {
        self.pairs
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let mut v: Vec<(u32, f32)> = row
                    .iter()
                    .map(|(&j, &c)| {
                        (j, c / (self.norms[i] * self.norms[j as usize]).sqrt().max(f32::MIN_POSITIVE))
                    })
                    .collect();
                v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                v.truncate(MAX_NEIGHBOURS);
                v
            })
            .collect()
    }
}

/// Content vectors pulled toward their co-occurrence neighbours: `normalize(c_i + λ·Σ_j s_ij·c_j / Σ_j s_ij)`.
/// Items without neighbours (new items) keep their content vector, so they stay reachable.
pub fn smooth(content: &[Vec<f32>], neighbours: &[Vec<(u32, f32)>], lambda: f32) -> Vec<Vec<f32>> {
    content
        .iter()
        .zip(neighbours)
        .map(|(c, nb)| {
            let mut v = c.clone();
            let total: f32 = nb.iter().map(|(_, s)| s).sum();
            if total > 0.0 && lambda > 0.0 {
                for &(j, s) in nb {
                    for (x, y) in v.iter_mut().zip(&content[j as usize]) {
                        *x += lambda * s / total * y;
                    }
                }
            }
            normalize(&mut v);
            v
        })
        .collect()
}

/// Only purchases, for signals that must not count browsing.
pub fn is_purchase(i: &Interaction) -> bool {
    i.event == Event::Purchase
}

/// Per item, the most similar items: cosine of the recommendation vectors plus co-occurrence weight.
/// Up to [`crate::ivf::PARTITION_ABOVE`] items every pair is scored; above, an item's candidates are
/// its co-occurrence neighbours and the items of its IVF cell (`cells`), so the cost grows with
/// catalog × cell size rather than the catalog's square.
pub fn similar(
    vectors: &[Vec<f32>],
    neighbours: &[Vec<(u32, f32)>],
    cells: &[u32],
    k: usize,
) -> Vec<Vec<u32>> {
    let n = vectors.len();
    let dot = |a: &[f32], b: &[f32]| -> f32 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
    let mut members: HashMap<u32, Vec<usize>> = HashMap::new();
    if n > crate::ivf::PARTITION_ABOVE {
        for (i, &c) in cells.iter().enumerate() {
            members.entry(c).or_default().push(i);
        }
    }
    let bar = crate::progress::bar(n as u64, "similar items");
    let out = (0..n)
        .map(|i| {
            bar.inc(1);
            let cooc: HashMap<u32, f32> =
                neighbours.get(i).map(|v| v.iter().copied().collect()).unwrap_or_default();
            let candidates: Vec<usize> = if n <= crate::ivf::PARTITION_ABOVE {
                (0..n).collect()
            } else {
                let mut c: Vec<usize> = cooc.keys().map(|&j| j as usize).collect();
                c.extend(cells.get(i).and_then(|c| members.get(c)).into_iter().flatten().copied());
                c
            };
            let mut scored: Vec<(f32, usize)> = candidates
                .into_iter()
                .filter(|&j| j != i)
                .map(|j| (dot(&vectors[i], &vectors[j]) + cooc.get(&(j as u32)).copied().unwrap_or(0.0), j))
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            scored.dedup_by_key(|s| s.1);
            scored.into_iter().take(k).map(|(_, j)| j as u32).collect()
        })
        .collect();
    bar.finish_and_clear();
    out
}

/// Per item, items bought in the same order (same shopper, same UTC day), ranked by lift
/// `c_ab·N / (c_a·c_b)` shrunk by `c_ab / (c_ab + 1)` so one lucky co-purchase of two rare items does
/// not top the list; ties by count, then index.
pub fn bought_together(
    rows: &[Interaction],
    pos: &HashMap<&str, usize>,
    n: usize,
    k: usize,
) -> Vec<Vec<(u32, f32)>> {
    let mut baskets: HashMap<(&str, i64), Vec<usize>> = HashMap::new();
    for r in rows.iter().filter(|r| is_purchase(r)) {
        if let Some(&i) = pos.get(r.item_id.as_str()) {
            baskets.entry((r.user_id.as_str(), r.timestamp.div_euclid(86_400))).or_default().push(i);
        }
    }
    let mut single = vec![0f32; n];
    let mut pairs: Vec<HashMap<u32, f32>> = vec![HashMap::new(); n];
    for items in baskets.values_mut() {
        items.sort_unstable();
        items.dedup();
        items.truncate(MAX_ITEMS_PER_USER);
        for (a, &i) in items.iter().enumerate() {
            single[i] += 1.0;
            for &j in &items[a + 1..] {
                *pairs[i].entry(j as u32).or_default() += 1.0;
                *pairs[j].entry(i as u32).or_default() += 1.0;
            }
        }
    }
    let total = baskets.len() as f32;
    pairs
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let mut v: Vec<(u32, f32, f32)> = row
                .into_iter()
                .map(|(j, c)| {
                    let lift = c * total / (single[i] * single[j as usize]).max(1.0);
                    (j, lift * c / (c + 1.0), c)
                })
                .collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(&b.0)));
            v.into_iter().take(k).map(|(j, lift, _)| (j, lift)).collect()
        })
        .collect()
}
