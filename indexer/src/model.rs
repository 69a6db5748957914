//! Fits the feed's model on training interactions: ELSA item embeddings, new and rare items mapped
//! into their space from content, popularity, co-occurrence lists, and the item index built from them.

use std::collections::HashMap;

use ranking::index::ItemIndex;
use ranking::signals::Signals;
use ranking::vector::{Vectors, normalize};
use ranking::weights::Weights;
use ranking::{Interaction, Product};
use std::sync::Arc;

use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::cf::{Cooc, user_items};
use crate::elsa::{Elsa, Rows};

/// How the collaborative embeddings are trained (chosen on validation data, see `tune`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ElsaParams {
    pub dim: usize,
    pub steps: usize,
    /// With the [`COARSE_DIM`]-dimension coarse model's vectors appended to each item's.
    pub coarse: bool,
}

impl std::fmt::Display for ElsaParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ELSA {} dims, {} steps", self.dim, self.steps)?;
        if self.coarse {
            write!(f, ", plus a coarse {COARSE_DIM}-dim model ({COARSE_STEPS} steps)")?;
        }
        Ok(())
    }
}

/// A second, small ELSA model trained only a few steps from its small random start, appended to the
/// chosen model's vectors at [`COARSE_WEIGHT`] (a dot product of concatenated vectors is the sum of
/// both models' scores). Its rows are still close to a random projection of each item's
/// co-occurrence with every other item: graded similarity across the whole catalog, where the fully
/// trained model's cosines, floored at 0, say nothing about most items. On MovieLens validation it
/// raised AUC from 0.908 to 0.915 at the same Recall@20; on Instacart it did not help, so each build
/// chooses with or without it.
pub const COARSE_DIM: usize = 16;
pub const COARSE_STEPS: usize = 5;
pub const COARSE_WEIGHT: f32 = 0.5;

/// Seed of the embeddings' random start: builds are reproducible.
pub const SEED: u64 = 0x5EED;
/// Items with at least this many shoppers fit the map from content to the collaborative space.
pub const MIN_WARM: u32 = 3;
/// An item's learnt embedding counts `shoppers / (shoppers + RARE_PRIOR)` against its content map:
/// an embedding learnt from one or two shoppers is mostly noise.
pub const RARE_PRIOR: f32 = 2.0;

/// What the feed's model needs from the training interactions, computed once.
#[derive(Debug)]
pub struct Training {
    /// Per item, the distinct shoppers who interacted with it.
    pub shoppers: Vec<u32>,
    /// Per item, its purchases (what cards show and the popular lists sort by).
    pub purchases: Vec<u32>,
    /// Per item, its interactions in all (repeats included).
    pub volume: Vec<u32>,
    /// ELSA's input rows: per shopper, each item once with weight 1. (Event weights as input scored
    /// lower on validation: MovieLens Recall@20 0.282 against 0.290 binary; the feed still weighs
    /// events when it sums a history.)
    pub rows: Rows,
    pub neighbours: Vec<Vec<(u32, f32)>>,
}

impl Training {
    pub fn new(products: &[Product], train: &[Interaction], w: &Weights) -> Training {
        let pos: HashMap<&str, usize> =
            products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
        let users = user_items(train, &pos, w);
        let mut shoppers = vec![0u32; products.len()];
        for items in users.values() {
            items.iter().for_each(|&(i, _, _)| shoppers[i] += 1);
        }
        let per_user: Vec<Vec<(usize, f32)>> = {
            // Sorted by user id: the rows, and so the training, do not depend on hash order.
            let mut ids: Vec<&String> = users.keys().collect();
            ids.sort();
            ids.iter().map(|u| users[*u].iter().map(|&(i, _, _)| (i, 1.0)).collect()).collect()
        };
        let rows = Rows::new(per_user.iter().map(Vec::as_slice));
        let neighbours = Cooc::new(products.len(), &users).neighbours();
        let counts = crate::build::purchase_counts(train);
        let purchases = products.iter().map(|p| counts.get(p.id.as_str()).copied().unwrap_or(0)).collect();
        let mut volume = vec![0u32; products.len()];
        for i in train.iter().filter_map(|r| pos.get(r.item_id.as_str())) {
            volume[*i] = volume[*i].saturating_add(1);
        }
        Training { shoppers, purchases, volume, rows, neighbours }
    }

    /// Each item's popularity signal: log-scaled shoppers, ties broken by interactions in all.
    pub fn popularity(&self) -> Vec<f32> {
        let most = self.volume.iter().copied().max().unwrap_or(0) as f32 + 1.0;
        let count: Vec<f32> =
            self.shoppers.iter().zip(&self.volume).map(|(&s, &v)| s as f32 + v as f32 / most).collect();
        let max = count.iter().copied().fold(0.0, f32::max);
        count.iter().map(|&c| Signals::popularity_of(c, max)).collect()
    }

    /// Whether there is anything to learn embeddings from.
    pub fn learnable(&self) -> bool {
        self.rows.len() >= 2
    }

    /// A fresh ELSA model of `dim` for these items.
    pub fn elsa(&self, dim: usize) -> Elsa {
        Elsa::new(self.shoppers.len(), dim, SEED)
    }

    /// Trains ELSA as `params` says; `None` when there is nothing to learn from.
    pub fn train(&self, params: ElsaParams) -> Option<Elsa> {
        if !self.learnable() {
            return None;
        }
        let mut elsa = self.elsa(params.dim);
        let bar = crate::progress::bar(params.steps as u64, "ELSA embeddings");
        for _ in 0..params.steps {
            elsa.step(&self.rows);
            bar.inc(1);
        }
        bar.finish_and_clear();
        Some(elsa)
    }

    /// The coarse model's item vectors (see [`COARSE_DIM`]); `None` when there is nothing to learn.
    pub fn coarse(&self, content: &[Vec<f32>]) -> Option<Vec<Vec<f32>>> {
        let params = ElsaParams { dim: COARSE_DIM, steps: COARSE_STEPS, coarse: false };
        self.train(params).map(|m| self.vectors(Some(&m), content))
    }

    /// The collaborative vectors the feed serves for `params` (trained here), the content vectors
    /// without a model or anything to learn.
    pub fn collaborative(&self, params: Option<ElsaParams>, content: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let Some(model) = params.and_then(|p| self.train(p)) else { return content.to_vec() };
        let fine = self.vectors(Some(&model), content);
        match params.filter(|p| p.coarse).and_then(|_| self.coarse(content)) {
            Some(coarse) => append_coarse(&fine, &coarse),
            None => fine,
        }
    }

    /// The items' collaborative vectors: the learnt embeddings, blended for rare items with (and for
    /// items no shopper touched replaced by) their content vector mapped into the same space by a
    /// ridge regression fitted on the items with at least [`MIN_WARM`] shoppers. Without a model
    /// (`None`), the content vectors themselves.
    pub fn vectors(&self, elsa: Option<&Elsa>, content: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let Some(elsa) = elsa else { return content.to_vec() };
        let (d, a) = (elsa.dim(), elsa.embeddings());
        let cd = content.first().map_or(0, Vec::len);
        let flat: Vec<f32> = content.iter().flat_map(|c| c.iter().copied()).collect();
        let c_mat = MatRef::from_row_major_slice(&flat, content.len(), cd);
        let map = content_map(c_mat, &a, d, &self.shoppers);
        // Every item's content vector through the map at once.
        let mut mapped = vec![0.0f32; content.len() * d];
        let mapped_mat = MatMut::from_row_major_slice_mut(&mut mapped, content.len(), d);
        faer::linalg::matmul::matmul(mapped_mat, Accum::Replace, c_mat, map.as_ref(), 1.0, Par::rayon(0));
        a.chunks_exact(d)
            .zip(mapped.chunks_exact_mut(d))
            .zip(&self.shoppers)
            .map(|((learnt, m), &shoppers)| {
                normalize(m);
                let alpha = shoppers as f32 / (shoppers as f32 + RARE_PRIOR);
                let mut v: Vec<f32> =
                    learnt.iter().zip(m.iter()).map(|(l, m)| alpha * l + (1.0 - alpha) * m).collect();
                normalize(&mut v);
                v
            })
            .collect()
    }

    /// `vectors` quantized as the index stores them.
    pub fn quantize(vectors: &[Vec<f32>]) -> Vectors {
        let mut out = Vectors::new(vectors.first().map_or(1, Vec::len));
        vectors.iter().for_each(|v| out.push(v));
        out
    }

    /// The item index the feed ranks over, with `vectors` as collaborative vectors; `similar` and
    /// `bought_together` lists are left empty (the feed does not read them; [`Training::serve`]
    /// fills them).
    pub fn index(&self, products: &[Product], content: &[Vec<f32>], vectors: &[Vec<f32>]) -> ItemIndex {
        let popularity = self.popularity();
        let (collab, content_vectors) = (Training::quantize(vectors), Training::quantize(content));
        let n = products.len();
        ItemIndex {
            cards: products.iter().zip(&self.purchases).map(|(p, &n)| Arc::new(p.card(n))).collect(),
            vectors: collab,
            content: content_vectors,
            signals: products
                .iter()
                .zip(popularity)
                .map(|(p, popularity)| {
                    let created = p.created_at.as_deref().and_then(|t| crate::read::parse_timestamp(t).ok());
                    Arc::new(Signals { popularity, ..Signals::of(p, created) })
                })
                .collect(),
            neighbours: self.neighbours.clone(),
            similar: vec![Vec::new(); n],
            bought_together: vec![Vec::new(); n],
        }
    }
}

/// The served item index, its IVF cells when partitioned, and how long each part took.
#[derive(Debug)]
pub struct IndexBuild {
    pub index: ItemIndex,
    pub cells: Option<Vec<u32>>,
    /// `(part, seconds)` in the order they ran.
    pub timings: Vec<(&'static str, f64)>,
}

impl Training {
    /// The item index the edge serves: [`Training::index`] with similar and bought-together lists,
    /// and each item's IVF cell when `cells` asks for some (`Some(k)`: k cells, 0 none; `None`: one
    /// per [`crate::ivf::CELL_TARGET`] items for catalogs over [`crate::ivf::PARTITION_ABOVE`]).
    /// Cells and similar items come from both spaces: each item's collaborative and content vectors
    /// side by side, so a cell holds items alike in both and a similar item is close in either.
    pub fn serve(
        &self,
        products: &[Product],
        content: &[Vec<f32>],
        elsa: Option<ElsaParams>,
        train: &[Interaction],
        cells: Option<usize>,
    ) -> IndexBuild {
        let mut timings = Vec::new();
        let mut clock = std::time::Instant::now();
        let mut lap = |name: &'static str| {
            timings.push((name, clock.elapsed().as_secs_f64()));
            clock = std::time::Instant::now();
        };
        let vectors = self.collaborative(elsa, content);
        lap("ELSA embeddings");
        let mut index = self.index(products, content, &vectors);
        lap("item vectors and signals");
        let joint: Vec<Vec<f32>> = vectors
            .iter()
            .zip(content)
            .map(|(v, c)| v.iter().chain(c).map(|x| x * std::f32::consts::FRAC_1_SQRT_2).collect())
            .collect();
        drop(vectors);
        let n = products.len();
        let over = n > crate::ivf::PARTITION_ABOVE;
        let k = cells.unwrap_or(if over { n.div_ceil(crate::ivf::CELL_TARGET) } else { 0 });
        let cells = (k > 0 && n > 0).then(|| crate::ivf::assign(&joint, k));
        lap("k-means cells");
        // Above the flat-scan limit, similar items are searched within k-means groups even when the
        // index is not partitioned (`--cells 0`).
        let groups = match &cells {
            Some(c) => Some(c.clone()),
            None => over.then(|| crate::ivf::assign(&joint, n.div_ceil(crate::ivf::CELL_TARGET))),
        };
        index.similar = crate::cf::similar(
            &joint,
            &self.neighbours,
            groups.as_deref().unwrap_or(&[]),
            ranking::index::MAX_RELATED,
        );
        lap("similar items");
        let pos: HashMap<&str, usize> =
            products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
        index.bought_together = crate::cf::bought_together(train, &pos, n, ranking::index::MAX_RELATED);
        lap("bought together");
        IndexBuild { index, cells, timings }
    }
}

/// Each item's `fine` vector followed by its `coarse` one at [`COARSE_WEIGHT`].
pub fn append_coarse(fine: &[Vec<f32>], coarse: &[Vec<f32>]) -> Vec<Vec<f32>> {
    fine.iter()
        .zip(coarse)
        .map(|(f, c)| f.iter().copied().chain(c.iter().map(|x| x * COARSE_WEIGHT)).collect())
        .collect()
}

/// Ridge regression `M = (CᵀC + μI)⁻¹·CᵀA` (content dim × collaborative dim) over the warm items:
/// their content rows `C` and embeddings `A` (`a`: every item's, row-major).
fn content_map(content: MatRef<'_, f32>, a: &[f32], d: usize, shoppers: &[u32]) -> Mat<f32> {
    let cd = content.ncols();
    let warm: Vec<usize> = (0..content.nrows()).filter(|&i| shoppers[i] >= MIN_WARM).collect();
    let c_warm = Mat::<f32>::from_fn(warm.len(), cd, |r, k| content[(warm[r], k)]);
    let a_warm = Mat::<f32>::from_fn(warm.len(), d, |r, k| a[warm[r] * d + k]);
    let par = Par::rayon(0);
    let mut ctc = Mat::<f32>::zeros(cd, cd);
    faer::linalg::matmul::matmul(ctc.as_mut(), Accum::Replace, c_warm.transpose(), c_warm.as_ref(), 1.0, par);
    let mut cta = Mat::<f32>::zeros(cd, d);
    faer::linalg::matmul::matmul(cta.as_mut(), Accum::Replace, c_warm.transpose(), a_warm.as_ref(), 1.0, par);
    // Content rows are unit vectors: μ is a few items' worth of evidence per dimension. Solved in
    // f64: the small system is cheap, its conditioning unknown.
    let mu = 1.0 + 0.01 * warm.len() as f64 / cd.max(1) as f64;
    let ctc = Mat::<f64>::from_fn(cd, cd, |r, s| f64::from(ctc[(r, s)]) + if r == s { mu } else { 0.0 });
    let cta = Mat::<f64>::from_fn(cd, d, |r, k| f64::from(cta[(r, k)]));
    match ctc.llt(faer::Side::Lower) {
        Ok(llt) => {
            use faer::linalg::solvers::Solve;
            let sol = llt.solve(&cta);
            Mat::<f32>::from_fn(cd, d, |r, k| sol[(r, k)] as f32)
        }
        Err(_) => Mat::<f32>::zeros(cd, d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ranking::{Event, Price};

    /// 40 products in two tastes (even and odd ids); each of 60 shoppers buys 6 of one taste.
    fn two_tastes() -> (Vec<Product>, Vec<Interaction>) {
        let price = Price { amount: 1.0, currency: "USD".into() };
        let products =
            (0..40).map(|i| Product::new(format!("p{i}"), "x", vec!["c".into()], price.clone())).collect();
        let rows = (0..60)
            .flat_map(|u: usize| {
                (0..6).map(move |k| Interaction {
                    user_id: format!("u{u}"),
                    item_id: format!("p{}", (u * 7 + k * 2) % 40 / 2 * 2 + u % 2),
                    timestamp: k as i64,
                    event: Event::Purchase,
                })
            })
            .collect();
        (products, rows)
    }

    #[test]
    fn the_coarse_model_already_separates_tastes_and_adds_its_score() {
        let (products, rows) = two_tastes();
        let training = Training::new(&products, &rows, &Weights::default());
        let content: Vec<Vec<f32>> = (0..40).map(|i| vec![1.0, (i % 3) as f32]).collect();
        let coarse = training.coarse(&content).expect("learnable");
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let (mut same, mut other) = (0.0, 0.0);
        for i in 0..40 {
            for j in (0..40).filter(|&j| j != i) {
                *if i % 2 == j % 2 { &mut same } else { &mut other } += dot(&coarse[i], &coarse[j]);
            }
        }
        // 19 same-taste and 20 other-taste partners for each of 40 items.
        let (same, other) = (same / (40.0 * 19.0), other / (40.0 * 20.0));
        assert!(same > other + 0.1, "mean cosine: same taste {same}, other {other}");

        let params = ElsaParams { dim: 8, steps: 10, coarse: false };
        let fine = training.collaborative(Some(params), &content);
        let both = training.collaborative(Some(ElsaParams { coarse: true, ..params }), &content);
        assert_eq!(both[0].len(), 8 + COARSE_DIM);
        let w2 = COARSE_WEIGHT * COARSE_WEIGHT;
        for (i, j) in [(0, 2), (0, 1), (5, 30)] {
            assert_eq!(both[i][..8], fine[i][..]);
            let expected = dot(&fine[i], &fine[j]) + w2 * dot(&coarse[i], &coarse[j]);
            assert!((dot(&both[i], &both[j]) - expected).abs() < 1e-5);
        }
    }

    #[test]
    fn the_content_map_carries_content_neighbours_into_the_learnt_space() {
        // Two content clusters whose items were learnt at two opposite collaborative directions.
        let content: Vec<Vec<f32>> = (0..40)
            .map(|i| {
                let mut v = if i % 2 == 0 { vec![1.0, 0.1 * (i % 5) as f32] } else { vec![0.1, 1.0] };
                normalize(&mut v);
                v
            })
            .collect();
        let a: Vec<f32> =
            (0..40).flat_map(|i| if i % 2 == 0 { [1.0, 0.0, 0.0] } else { [0.0, 0.0, 1.0] }).collect();
        let mut shoppers = vec![10u32; 40];
        shoppers[0] = 0;
        let flat: Vec<f32> = content.iter().flat_map(|c| c.iter().copied()).collect();
        let map = content_map(MatRef::from_row_major_slice(&flat, 40, 2), &a, 3, &shoppers);
        let mut cold: Vec<f32> =
            (0..3).map(|k| content[0][0] * map[(0, k)] + content[0][1] * map[(1, k)]).collect();
        normalize(&mut cold);
        assert!(cold[0] > 0.9 && cold[2].abs() < 0.3, "{cold:?}");
    }
}
