//! EASE (Steck, WWW 2019), the baseline `eval` measures the feed against: item-item weights
//! `B = I − P·diagMat(1 / diag(P))` with `P = (XᵀX + λI)⁻¹` and a zero diagonal, scores `x·B` for a
//! binary history `x`. Exact (a dense items × items inverse), so only for catalogs of at most
//! [`MAX_ITEMS`] items.

use faer::Mat;
use faer::linalg::solvers::DenseSolveCore;

/// Largest catalog EASE is computed for: the inverse costs items³ and items² memory.
pub const MAX_ITEMS: usize = 20_000;

/// A fitted EASE model.
#[derive(Debug)]
pub struct Ease {
    n: usize,
    /// Row-major items × items weights.
    b: Vec<f32>,
}

impl Ease {
    /// Fits EASE with regularization `lambda` on binary rows (each shopper's distinct items); `None`
    /// when the catalog is over [`MAX_ITEMS`] or the system cannot be solved.
    pub fn fit(rows: &[Vec<usize>], n: usize, lambda: f32) -> Option<Ease> {
        if n == 0 || n > MAX_ITEMS {
            return None;
        }
        let mut g = Mat::<f32>::zeros(n, n);
        for row in rows {
            for &i in row {
                for &j in row {
                    g[(i, j)] += 1.0;
                }
            }
        }
        for i in 0..n {
            g[(i, i)] += lambda;
        }
        // f32 is enough: λ bounds the condition number by (largest co-occurrence count + λ) / λ.
        let p = g.llt(faer::Side::Lower).ok()?.inverse();
        let mut b = vec![0.0f32; n * n];
        for j in 0..n {
            let d = p[(j, j)];
            if d == 0.0 || !d.is_finite() {
                continue;
            }
            for i in 0..n {
                if i != j {
                    b[i * n + j] = -p[(i, j)] / d;
                }
            }
        }
        Some(Ease { n, b })
    }

    /// Every item's score for a shopper who has `history` (distinct items).
    pub fn scores(&self, history: &[usize]) -> Vec<f32> {
        let mut s = vec![0.0f32; self.n];
        for &i in history.iter().filter(|&&i| i < self.n) {
            s.iter_mut().zip(&self.b[i * self.n..(i + 1) * self.n]).for_each(|(s, b)| *s += b);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommends_what_co_occurs_and_never_itself() {
        // Items 0 and 1 always go together; 2 and 3 together; 4 alone.
        let rows: Vec<Vec<usize>> =
            (0..20).map(|u| if u % 2 == 0 { vec![0, 1] } else { vec![2, 3] }).chain([vec![4]]).collect();
        let ease = Ease::fit(&rows, 5, 1.0).unwrap();
        let s = ease.scores(&[0]);
        assert!(s[1] > s[2] && s[1] > s[3] && s[1] > s[4], "{s:?}");
        assert_eq!(s[0], 0.0, "zero diagonal");
        assert!(Ease::fit(&rows, MAX_ITEMS + 1, 1.0).is_none());
    }
}
