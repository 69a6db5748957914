//! Collaborative item embeddings: ELSA (Vančura, Alves, Kasalický, Kordík; RecSys 2022), a scalable
//! linear shallow autoencoder. Each item gets a row of `A` (items × d, L2-normalized rows) and a
//! shopper's interaction row `x` is reconstructed as `x·(A·Aᵀ − I)`, trained on the cosine between
//! reconstruction and `x` (the paper's normalized loss), full batch, with Adam.
//!
//! The edge scores exactly this model: a shopper vector is `x·A` (the history's rows, weighted), an
//! item's score is its dot product with it, and the `− I` is the feed's rule that history items are
//! never offered back. The loss over *every* item is computed exactly through the d × d Gram matrix
//! `AᵀA` (`|x·A·Aᵀ|² = z·(AᵀA)·zᵀ` with `z = x·A`), so a step costs O(interactions·d + items·d²):
//! linear in the catalog, with no dense items × items matrix and no negative sampling.

use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Interaction rows in compressed form: row `u` holds `items[offsets[u]..offsets[u + 1]]` with the
/// same positions of `weights`; and the same by item (columns), for gradients gathered per item.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub offsets: Vec<usize>,
    pub items: Vec<u32>,
    pub weights: Vec<f32>,
    columns: Vec<usize>,
    users: Vec<u32>,
    column_weights: Vec<f32>,
}

impl Rows {
    /// Rows from per-user `(item, weight)` lists; rows with fewer than two items are left out (with
    /// one item the reconstruction, which excludes the item itself, says nothing).
    pub fn new<'a>(users: impl IntoIterator<Item = &'a [(usize, f32)]>) -> Rows {
        let mut rows = Rows { offsets: vec![0], ..Rows::default() };
        for items in users.into_iter().filter(|r| r.len() >= 2) {
            for &(i, w) in items {
                rows.items.push(i as u32);
                rows.weights.push(w);
            }
            rows.offsets.push(rows.items.len());
        }
        rows.index_columns();
        rows
    }

    fn index_columns(&mut self) {
        let n = self.items.iter().map(|&i| i as usize + 1).max().unwrap_or(0);
        let mut columns = vec![0usize; n + 1];
        self.items.iter().for_each(|&i| columns[i as usize + 1] += 1);
        for i in 0..n {
            columns[i + 1] += columns[i];
        }
        let mut next = columns.clone();
        let (mut users, mut weights) = (vec![0u32; self.items.len()], vec![0.0f32; self.items.len()]);
        for u in 0..self.len() {
            for (i, x) in self.row(u) {
                users[next[i]] = u as u32;
                weights[next[i]] = x;
                next[i] += 1;
            }
        }
        (self.columns, self.users, self.column_weights) = (columns, users, weights);
    }

    /// Item `i`'s `(user, weight)` entries (none for an item no row holds).
    fn column(&self, i: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let r = match (self.columns.get(i), self.columns.get(i + 1)) {
            (Some(&a), Some(&b)) => a..b,
            _ => 0..0,
        };
        self.users[r.clone()].iter().map(|&u| u as usize).zip(self.column_weights[r].iter().copied())
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn row(&self, u: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let r = self.offsets[u]..self.offsets[u + 1];
        self.items[r.clone()].iter().map(|&i| i as usize).zip(self.weights[r].iter().copied())
    }
}

/// Adam's usual constants; the learning rate is ELSA's.
const LEARNING_RATE: f32 = 0.01;
const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPSILON: f32 = 1e-8;
/// Scale of the random initial weights.
const INIT: f32 = 0.01;

/// ELSA's training state: the raw weights (rows normalized on use) and Adam's moments.
#[derive(Debug)]
pub struct Elsa {
    items: usize,
    dim: usize,
    weights: Vec<f32>,
    first: Vec<f32>,
    second: Vec<f32>,
    steps: usize,
}

impl Elsa {
    /// Random initial weights for `items` × `dim`, the same for the same seed.
    pub fn new(items: usize, dim: usize, seed: u64) -> Elsa {
        let mut rng = Normal::new(seed);
        let weights = (0..items * dim).map(|_| INIT * rng.sample()).collect();
        Elsa { items, dim, weights, first: vec![0.0; items * dim], second: vec![0.0; items * dim], steps: 0 }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The item embeddings: rows L2-normalized, items × dim, row-major.
    pub fn embeddings(&self) -> Vec<f32> {
        let mut a = self.weights.clone();
        a.par_chunks_exact_mut(self.dim.max(1)).for_each(ranking::vector::normalize);
        a
    }

    /// One full-batch Adam step on `rows`; returns the mean loss before the step (0 = perfect).
    pub fn step(&mut self, rows: &Rows) -> f32 {
        let (n, d) = (self.items, self.dim);
        if rows.is_empty() || n == 0 || d == 0 {
            return 0.0;
        }
        let norms: Vec<f32> =
            self.weights.par_chunks_exact(d).map(|w| w.iter().map(|x| x * x).sum::<f32>().sqrt()).collect();
        let a = self.embeddings();
        let (loss, grad_a) = loss_and_gradient(&a, n, d, rows);
        // Through the row normalization a = w / |w|: the gradient's part along a is removed.
        let mut grad = grad_a;
        grad.par_chunks_exact_mut(d).zip(a.par_chunks_exact(d)).zip(&norms).for_each(|((g, a), norm)| {
            let along: f32 = g.iter().zip(a).map(|(x, y)| x * y).sum();
            let inv = if *norm > 0.0 { 1.0 / norm } else { 0.0 };
            g.iter_mut().zip(a).for_each(|(x, y)| *x = (*x - along * y) * inv);
        });
        self.adam(&grad);
        loss
    }

    fn adam(&mut self, grad: &[f32]) {
        self.steps += 1;
        let t = self.steps as i32;
        let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
        (self.weights.par_iter_mut(), self.first.par_iter_mut(), self.second.par_iter_mut(), grad.par_iter())
            .into_par_iter()
            .for_each(|(w, m, v, g)| {
                let g = if g.is_finite() { *g } else { 0.0 };
                *m = BETA1 * *m + (1.0 - BETA1) * g;
                *v = BETA2 * *v + (1.0 - BETA2) * g * g;
                *w -= LEARNING_RATE * (*m / c1) / ((*v / c2).sqrt() + EPSILON);
            });
    }
}

/// The mean cosine loss `2 − 2·cos(x·(AAᵀ − I), x)` over the rows, and its gradient with respect to
/// the (normalized) embeddings `a` (items × d, row-major).
fn loss_and_gradient(a: &[f32], n: usize, d: usize, rows: &Rows) -> (f32, Vec<f32>) {
    let users = rows.len();
    let par = Par::rayon(0);
    let a_mat = MatRef::from_row_major_slice(a, n, d);
    // z_u = x_u·A, and s_u = |x_u|² (users × d, row-major like every matrix here).
    let mut z = vec![0.0f32; users * d];
    let mut s = vec![0.0f32; users];
    z.par_chunks_exact_mut(d).zip(s.par_iter_mut()).enumerate().for_each(|(u, (zu, su))| {
        for (i, x) in rows.row(u) {
            *su += x * x;
            zu.iter_mut().zip(&a[i * d..(i + 1) * d]).for_each(|(z, a)| *z += x * a);
        }
    });
    let z_mat = MatRef::from_row_major_slice(&z, users, d);
    let mut gram = Mat::<f32>::zeros(d, d);
    faer::linalg::matmul::matmul(gram.as_mut(), Accum::Replace, a_mat.transpose(), a_mat, 1.0, par);
    let mut zg = vec![0.0f32; users * d];
    let zg_mat = MatMut::from_row_major_slice_mut(&mut zg, users, d);
    faer::linalg::matmul::matmul(zg_mat, Accum::Replace, z_mat, gram.as_ref(), 1.0, par);
    // Per user: cos = (|z|² − s) / (√q·√s) with q = z·G·zᵀ − 2|z|² + s = |x·(AAᵀ − I)|².
    let scale = 1.0 / users as f32;
    let mut loss = 0.0f64;
    let mut grad_z = vec![0.0f32; users * d];
    let mut weighted_z = vec![0.0f32; users * d];
    for u in 0..users {
        let (zu, gu) = (&z[u * d..(u + 1) * d], &zg[u * d..(u + 1) * d]);
        let zz: f32 = zu.iter().map(|x| x * x).sum();
        let zgz: f32 = zu.iter().zip(gu).map(|(x, y)| x * y).sum();
        let num = zz - s[u];
        let q = (zgz - 2.0 * zz + s[u]).max(1e-12);
        let (sq, rs) = (q.sqrt(), s[u].sqrt().max(1e-12));
        loss += f64::from(2.0 - 2.0 * num / (sq * rs));
        // dL/dz = −2/U · [2z/√q − num·(Gz − 2z)/q^{3/2}] / √s
        // dL/dG = Σ_u num/(q^{3/2}·√s)/U · zᵀz, gathered as Zᵀ·(c ∘ Z).
        let c = num / (q * sq);
        for k in 0..d {
            grad_z[u * d + k] = -2.0 * scale * (2.0 * zu[k] / sq - c * (gu[k] - 2.0 * zu[k])) / rs;
            weighted_z[u * d + k] = scale * c / rs * zu[k];
        }
    }
    let mut grad_gram = Mat::<f32>::zeros(d, d);
    let weighted = MatRef::from_row_major_slice(&weighted_z, users, d);
    faer::linalg::matmul::matmul(grad_gram.as_mut(), Accum::Replace, weighted.transpose(), z_mat, 1.0, par);
    // dL/dA = Xᵀ·dL/dZ + 2·A·dL/dG (G = AᵀA, dL/dG symmetric).
    let mut grad = vec![0.0f32; n * d];
    let grad_mat = MatMut::from_row_major_slice_mut(&mut grad, n, d);
    faer::linalg::matmul::matmul(grad_mat, Accum::Replace, a_mat, grad_gram.as_ref(), 2.0, par);
    grad.par_chunks_exact_mut(d).enumerate().for_each(|(i, gi)| {
        for (u, x) in rows.column(i) {
            gi.iter_mut().zip(&grad_z[u * d..(u + 1) * d]).for_each(|(g, z)| *g += x * z);
        }
    });
    ((loss * f64::from(scale)) as f32, grad)
}

/// Standard normal samples from xorshift64* and Box–Muller: deterministic for a seed.
struct Normal(u64);

impl Normal {
    fn new(seed: u64) -> Normal {
        Normal(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        // In (0, 1]: ln never sees 0.
        (bits as f32 + 1.0) / (1u64 << 24) as f32
    }

    fn sample(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Rows {
        let users: Vec<Vec<(usize, f32)>> = vec![
            vec![(0, 1.0), (1, 1.0)],
            vec![(0, 1.0), (1, 2.0), (2, 1.0)],
            vec![(2, 1.0), (3, 1.0)],
            vec![(3, 1.0), (4, 3.0)],
            vec![(5, 1.0)],
        ];
        Rows::new(users.iter().map(Vec::as_slice))
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let rows = rows();
        assert_eq!(rows.len(), 4, "the one-item row is left out");
        let (n, d) = (6, 3);
        let mut a = Elsa::new(n, d, 7).embeddings();
        let (_, grad) = loss_and_gradient(&a, n, d, &rows);
        for idx in [0, 4, 7, 11, 15] {
            let h = 1e-3;
            a[idx] += h;
            let (up, _) = loss_and_gradient(&a, n, d, &rows);
            a[idx] -= 2.0 * h;
            let (down, _) = loss_and_gradient(&a, n, d, &rows);
            a[idx] += h;
            let numeric = (up - down) / (2.0 * h);
            assert!(
                (numeric - grad[idx]).abs() < 2e-2 * (1.0 + numeric.abs()),
                "{idx}: {numeric} vs {}",
                grad[idx]
            );
        }
    }

    #[test]
    fn training_lowers_the_loss_and_groups_co_occurring_items() {
        let rows = rows();
        let mut elsa = Elsa::new(6, 4, 1);
        let first = elsa.step(&rows);
        let mut last = first;
        for _ in 0..200 {
            last = elsa.step(&rows);
        }
        assert!(last < first * 0.8, "{first} -> {last}");
        let a = elsa.embeddings();
        let cos = |i: usize, j: usize| (0..4).map(|k| a[i * 4 + k] * a[j * 4 + k]).sum::<f32>();
        assert!(cos(0, 1) > cos(0, 4), "{} vs {}", cos(0, 1), cos(0, 4));
        assert!(a.iter().all(|x| x.is_finite()));
        assert_eq!(Elsa::new(6, 4, 1).embeddings(), Elsa::new(6, 4, 1).embeddings(), "deterministic");
    }
}
