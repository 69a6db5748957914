//! Co-occurrence signals from interactions: item co-occurrence (same shopper) and its
//! cosine-normalized neighbour lists, similar items, and items bought together.

use std::collections::HashMap;

use ranking::index::MAX_NEIGHBOURS;
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

/// Only purchases, for signals that must not count browsing.
pub fn is_purchase(i: &Interaction) -> bool {
    i.event == Event::Purchase
}

/// Per item, the most similar items: dot product of the given vectors plus co-occurrence weight.
/// Up to [`crate::ivf::PARTITION_ABOVE`] items every pair is scored; above, an item's candidates are
/// its co-occurrence neighbours and the items of its IVF cell (`cells`), so the cost grows with
/// catalog × cell size rather than the catalog's square. Dot products are computed a block of rows at
/// a time as matrix products.
pub fn similar(
    vectors: &[Vec<f32>],
    neighbours: &[Vec<(u32, f32)>],
    cells: &[u32],
    k: usize,
) -> Vec<Vec<u32>> {
    let n = vectors.len();
    let dim = vectors.first().map_or(0, Vec::len);
    // The groups whose members are each other's candidates, and each item's place in its group.
    let groups: Vec<Vec<usize>> = if n <= crate::ivf::PARTITION_ABOVE || cells.len() < n {
        vec![(0..n).collect()]
    } else {
        let mut members: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, &c) in cells.iter().enumerate().take(n) {
            members.entry(c).or_default().push(i);
        }
        let mut groups: Vec<Vec<usize>> = members.into_values().collect();
        groups.sort();
        groups
    };
    let mut group_of = vec![0u32; n];
    let mut slot = vec![0u32; n];
    for (g, mem) in groups.iter().enumerate() {
        for (s, &i) in mem.iter().enumerate() {
            group_of[i] = g as u32;
            slot[i] = s as u32;
        }
    }
    let bar = crate::progress::bar(n as u64, "similar items");
    let mut out = vec![Vec::new(); n];
    const ROWS: usize = 1024;
    for (g, mem) in groups.iter().enumerate() {
        let block: Vec<f32> = mem.iter().flat_map(|&j| vectors[j].iter().copied()).collect();
        let cand = faer::MatRef::from_row_major_slice(&block, mem.len(), dim);
        let mut scores = vec![0.0f32; ROWS.min(mem.len()) * mem.len()];
        for (r0, rows) in mem.chunks(ROWS).enumerate() {
            let x = cand.subrows(r0 * ROWS, rows.len());
            let s_mat = faer::MatMut::from_row_major_slice_mut(
                &mut scores[..rows.len() * mem.len()],
                rows.len(),
                mem.len(),
            );
            faer::linalg::matmul::matmul(
                s_mat,
                faer::Accum::Replace,
                x,
                cand.transpose(),
                1.0,
                faer::Par::rayon(0),
            );
            for (r, &i) in rows.iter().enumerate() {
                bar.inc(1);
                let mut scored: Vec<(f32, usize)> = scores[r * mem.len()..(r + 1) * mem.len()]
                    .iter()
                    .zip(mem)
                    .map(|(&d, &j)| (d, j))
                    .collect();
                // Co-occurrence neighbours always count: added to an in-group score, or scored alone.
                for &(j, w) in neighbours.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                    let j = j as usize;
                    if j >= n {
                        continue;
                    }
                    if group_of[j] as usize == g {
                        scored[slot[j] as usize].0 += w;
                    } else {
                        scored.push((dot(&vectors[i], &vectors[j]) + w, j));
                    }
                }
                scored.retain(|&(_, j)| j != i);
                out[i] = best(scored, k);
            }
        }
    }
    bar.finish_and_clear();
    out
}

/// The `k` best `(score, item)`, best first, ties by index.
fn best(mut scored: Vec<(f32, usize)>, k: usize) -> Vec<u32> {
    let order = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    // Only the best k are kept: select them in linear time, then order just those.
    if k > 0 && scored.len() > k {
        scored.select_nth_unstable_by(k - 1, order);
        scored.truncate(k);
    }
    scored.sort_by(order);
    scored.into_iter().take(k).map(|(_, j)| j as u32).collect()
}

/// Dot product with eight independent sums, so the compiler can use SIMD lanes (a single running
/// float sum must be added in order and cannot be vectorized).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
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
