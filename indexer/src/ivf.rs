//! Partitions a large item index into IVF cells: k-means over the items' vectors (trained on a
//! sample, then every item assigned to its nearest centroid with room), the items renumbered in cell
//! order, one [`Cell`] per centroid plus a cell of the most popular items, and the routing head.

use std::collections::{BTreeMap, HashMap};

use fst::{MapBuilder, Streamer};
use ranking::Product;
use ranking::index::ItemIndex;
use ranking::ivf::{Cell, IvfHead, ROUTES_PER_KEY};
use ranking::vector::{Vectors, normalize};

/// Catalogs above this many items are partitioned; below it one flat scan is cheaper than routing
/// (the usual switch point for vector indexes is around 10k vectors).
pub const PARTITION_ABOVE: usize = 20_000;
/// Target items per cell: a cell of ~1,000 items is under 1 MB, one quick KV read, and a request that
/// reads a dozen cells scores ~12k items.
pub const CELL_TARGET: usize = 1_000;
/// No cell takes more than this many times the target (items spill to their next nearest centroid).
const CELL_CAP_FACTOR: usize = 2;
/// Items sampled to train the centroids.
const TRAIN_SAMPLE: usize = 50_000;
const ITERATIONS: usize = 8;
/// Items in the popular cell.
pub const POPULAR_CELL: usize = 500;

/// Cell of each item (by k-means), `k` cells, every cell at most `CELL_CAP_FACTOR · n / k` items.
/// Deterministic: the sample and the initial centroids are evenly spaced items.
pub fn assign(vectors: &[Vec<f32>], k: usize) -> Vec<u32> {
    let n = vectors.len();
    let k = k.clamp(1, n.max(1));
    let dim = vectors.first().map_or(0, Vec::len);
    let step = (n / TRAIN_SAMPLE.min(n).max(1)).max(1);
    let sample: Vec<&[f32]> = vectors.iter().step_by(step).map(Vec::as_slice).collect();
    let mut centroids: Vec<f32> = (0..k).flat_map(|c| sample[c * sample.len() / k].iter().copied()).collect();
    let bar = crate::progress::bar(ITERATIONS as u64, "k-means");
    for _ in 0..ITERATIONS {
        let mut sums = vec![0.0f32; k * dim];
        for_each_scored(&sample, &centroids, k, |i, row| {
            let c = (0..k).fold(0, |b, c| if row[c] > row[b] { c } else { b });
            sums[c * dim..(c + 1) * dim].iter_mut().zip(sample[i]).for_each(|(s, x)| *s += x);
        });
        for (c, s) in sums.chunks_exact_mut(dim.max(1)).enumerate() {
            normalize(s);
            // An empty cluster keeps its old centroid.
            if s.iter().any(|x| *x != 0.0) {
                centroids[c * dim..(c + 1) * dim].copy_from_slice(s);
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let cap = (CELL_CAP_FACTOR * n).div_ceil(k).max(1);
    let mut sizes = vec![0usize; k];
    let mut out = vec![0u32; n];
    let all: Vec<&[f32]> = vectors.iter().map(Vec::as_slice).collect();
    for_each_scored(&all, &centroids, k, |i, row| {
        let mut scored: Vec<(f32, usize)> = row.iter().copied().zip(0..).collect();
        let order = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        // Nearly always one of the few nearest cells has room: order those, and the rest only when
        // all of them are full.
        let head = scored.len().min(8);
        scored.select_nth_unstable_by(head - 1, order);
        scored[..head].sort_by(order);
        if scored[..head].iter().all(|s| sizes[s.1] >= cap) {
            scored.sort_by(order);
        }
        let c = scored.iter().map(|s| s.1).find(|&c| sizes[c] < cap).unwrap_or(scored[0].1);
        sizes[c] += 1;
        out[i] = c as u32;
    });
    out
}

/// Calls `f(i, scores)` for each row `i` of `rows` in order, `scores[c]` its dot product with
/// centroid `c` (`centroids`: `k` rows, row-major); the products are computed a block of rows at a
/// time as one matrix product.
fn for_each_scored(rows: &[&[f32]], centroids: &[f32], k: usize, mut f: impl FnMut(usize, &[f32])) {
    const BLOCK: usize = 4096;
    let dim = centroids.len() / k.max(1);
    let c_mat = faer::MatRef::from_row_major_slice(centroids, k, dim);
    let mut scores = vec![0.0f32; BLOCK * k];
    for (b, block) in rows.chunks(BLOCK).enumerate() {
        let flat: Vec<f32> = block.iter().flat_map(|r| r.iter().copied()).collect();
        let x = faer::MatRef::from_row_major_slice(&flat, block.len(), dim);
        let out = faer::MatMut::from_row_major_slice_mut(&mut scores[..block.len() * k], block.len(), k);
        faer::linalg::matmul::matmul(
            out,
            faer::Accum::Replace,
            x,
            c_mat.transpose(),
            1.0,
            faer::Par::rayon(0),
        );
        for (r, row) in scores.chunks_exact(k).take(block.len()).enumerate() {
            f(b * BLOCK + r, row);
        }
    }
}

/// A partitioned build: the head, the cells in order, and the popular cell.
#[derive(Debug)]
pub struct Partition {
    pub head: IvfHead,
    pub cells: Vec<Cell>,
    pub popular: Cell,
    /// The device pack's cell ([`ranking::device::pack_cell`]), in global numbers.
    pub pack: Cell,
}

/// Splits `index` (rows in `products` order) into the cells of `assignment`.
pub fn partition(products: &[Product], index: &ItemIndex, assignment: &[u32]) -> Partition {
    let n = index.len().min(products.len()).min(assignment.len());
    let k = assignment.iter().take(n).map(|&c| c as usize + 1).max().unwrap_or(1);
    // Renumber: items in cell order, by original position within a cell.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (assignment[i], i));
    let mut global = vec![0u32; n];
    for (g, &i) in order.iter().enumerate() {
        global[i] = g as u32;
    }
    let mut offsets = vec![0u32; k + 1];
    for &i in &order {
        offsets[assignment[i] as usize + 1] += 1;
    }
    for c in 0..k {
        offsets[c + 1] += offsets[c];
    }
    let (dim, content_dim) = (index.vectors.dim as usize, index.content.dim as usize);
    let mut centroids = Vec::with_capacity(k * dim);
    let mut content_centroids = Vec::with_capacity(k * content_dim);
    let bar = crate::progress::bar(k as u64, "writing cells");
    let cells: Vec<Cell> = (0..k)
        .map(|c| {
            bar.inc(1);
            let rows = &order[offsets[c] as usize..offsets[c + 1] as usize];
            centroids.extend(mean(&index.vectors, rows, dim));
            content_centroids.extend(mean(&index.content, rows, content_dim));
            subset(products, index, rows, &global)
        })
        .collect();
    bar.finish_and_clear();

    let mut by_popularity: Vec<usize> = (0..n).collect();
    by_popularity.sort_by(|&a, &b| index.cards[b].purchases.cmp(&index.cards[a].purchases).then(a.cmp(&b)));
    by_popularity.truncate(POPULAR_CELL);
    let popular = subset(products, index, &by_popularity, &global);

    let head = IvfHead {
        dim: dim as u32,
        content_dim: content_dim as u32,
        centroids,
        content_centroids,
        offsets,
        ids: id_map(products, &global),
        vocabulary: Vec::new(),
        term_routes: Default::default(),
        category_routes: category_routes(index, assignment),
        categories: index.categories(),
    };
    let pack = ranking::device::pack_cell(products, index, &global);
    let mut p = Partition { head, cells, popular, pack };
    term_routes(&mut p);
    p
}

fn mean(vectors: &Vectors, rows: &[usize], dim: usize) -> Vec<f32> {
    let mut m = vec![0.0f32; dim];
    for &i in rows {
        m.iter_mut().zip(vectors.get(i)).for_each(|(s, x)| *s += x);
    }
    normalize(&mut m);
    m
}

/// The rows of `index` as a cell, references renumbered to global item numbers.
fn subset(products: &[Product], index: &ItemIndex, rows: &[usize], global: &[u32]) -> Cell {
    Cell::of_rows(products, index, rows, global)
}

fn id_map(products: &[Product], global: &[u32]) -> Vec<u8> {
    let mut ids: Vec<(&str, u64)> =
        products.iter().zip(global).map(|(p, &g)| (p.id.as_str(), u64::from(g))).collect();
    ids.sort_unstable();
    ids.dedup_by(|a, b| a.0 == b.0);
    let mut b = MapBuilder::memory();
    for (id, g) in ids {
        // Sorted and unique: insert cannot fail.
        let _ = b.insert(id, g);
    }
    b.into_inner().unwrap_or_default()
}

/// Per category path (every level), the cells with most of its products.
fn category_routes(index: &ItemIndex, assignment: &[u32]) -> Vec<(String, Vec<u16>)> {
    let mut counts: BTreeMap<String, HashMap<u16, u32>> = BTreeMap::new();
    for (card, &c) in index.cards.iter().zip(assignment) {
        let slugs: Vec<String> = card.category.iter().map(|s| ranking::text::slug(s)).collect();
        for depth in 1..=slugs.len() {
            *counts.entry(slugs[..depth].join("/")).or_default().entry(c as u16).or_default() += 1;
        }
    }
    counts.into_iter().map(|(path, cells)| (path, top_cells(cells))).collect()
}

fn top_cells(cells: HashMap<u16, u32>) -> Vec<u16> {
    let mut v: Vec<(u32, u16)> = cells.into_iter().map(|(c, n)| (n, c)).collect();
    v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().take(ROUTES_PER_KEY).map(|(_, c)| c).collect()
}

/// The whole vocabulary with each term's document count and the cells where it occurs most.
fn term_routes(p: &mut Partition) {
    let mut terms: BTreeMap<String, (u32, HashMap<u16, u32>)> = BTreeMap::new();
    for (c, cell) in p.cells.iter().enumerate() {
        let Ok(map) = fst::Map::new(cell.lexical.fst.clone()) else { continue };
        let mut stream = map.stream();
        while let Some((term, t)) = stream.next() {
            let df = cell.lexical.postings.get(t as usize).map_or(0, Vec::len) as u32;
            let e = terms.entry(String::from_utf8_lossy(term).into_owned()).or_default();
            e.0 += df;
            e.1.insert(c as u16, df);
        }
    }
    let mut b = MapBuilder::memory();
    let mut routes = ranking::ivf::TermRoutes::default();
    for (t, (term, (df, cells))) in terms.into_iter().enumerate() {
        let _ = b.insert(term, t as u64);
        routes.push(df, &top_cells(cells));
    }
    p.head.vocabulary = b.into_inner().unwrap_or_default();
    p.head.term_routes = routes;
}
