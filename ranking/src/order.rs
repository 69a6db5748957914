//! Every sort in the crate goes through one monomorphic sort of indices, so the wasm modules carry
//! one copy of the sort algorithm instead of one per comparator and element type.
//!
//! Why: the standard sorts are generic over the comparator, and each of the crate's ~20 comparators
//! instantiated its own driftsort (2-5 KB of wasm each); together 95 KB of the app's code before
//! wasm-opt. Here the algorithm is instantiated once, for `usize` indices with a `dyn` comparator; the
//! per-call generic part is a few lines (build the indices, apply the permutation). The indirection
//! costs little: elements are never moved during the sort, only once at the end.

use core::cmp::Ordering;

/// Sorts `v` by `cmp`, stably.
///
/// Contract: the result is exactly `v.sort_by(cmp)`'s (equal elements keep their order). Like the
/// standard sort, `cmp` must be a total order (every comparator here is: floats by `total_cmp`, ties
/// broken by an index or id); the standard sort may panic on one that is not.
pub fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    let mut perm: Vec<usize> = (0..v.len()).collect();
    sort_indices(&mut perm, &mut |a, b| cmp(&v[a], &v[b]));
    permute(v, perm);
}

/// Sorts `v` by a key, stably (see [`sort_by`]).
pub fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// Puts the first `k` elements of `v`'s order by `cmp` at its front, sorted; the others follow in
/// no particular order. Linear time plus `k log k`, for when only the head of a long list is shown.
///
/// Contract: `v[..k]` equals the first `k` elements of `v.sort_by(cmp)` when `cmp` is a total order
/// (ties broken by an id, as every ranking comparator does); `k >= v.len()` sorts everything.
pub fn sort_head_by<T>(v: &mut [T], k: usize, mut cmp: impl FnMut(&T, &T) -> Ordering) {
    if k >= v.len() {
        return sort_by(v, cmp);
    }
    if k == 0 {
        return;
    }
    let mut perm: Vec<usize> = (0..v.len()).collect();
    select_head(&mut perm, k, &mut |a, b| cmp(&v[a], &v[b]));
    permute(v, perm);
}

/// The one instance of the standard stable sort.
fn sort_indices(perm: &mut [usize], cmp: &mut dyn FnMut(usize, usize) -> Ordering) {
    perm.sort_by(|&a, &b| cmp(a, b));
}

/// The one instance of the standard selection, followed by the stable sort of the head.
fn select_head(perm: &mut [usize], k: usize, cmp: &mut dyn FnMut(usize, usize) -> Ordering) {
    perm.select_nth_unstable_by(k - 1, |&a, &b| cmp(a, b));
    sort_indices(&mut perm[..k], cmp);
}

/// Reorders `v` so that `v[i]` becomes the old `v[perm[i]]`, following each cycle with swaps.
/// `perm` must be a permutation of `0..v.len()` (it is: built above from `0..len` and only reordered).
fn permute<T>(v: &mut [T], mut perm: Vec<usize>) {
    for start in 0..perm.len() {
        let mut at = start;
        // A fixed point marks a position already in place (or a cycle already done).
        while perm[at] != at {
            let from = perm[at];
            perm[at] = at;
            if from == start {
                break;
            }
            v.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pseudo-random pairs with many equal keys, so stability is exercised.
    fn data(n: usize) -> Vec<(u8, usize)> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ((x % 7) as u8, i)
            })
            .collect()
    }

    #[test]
    fn same_order_as_the_standard_stable_sort() {
        for n in [0, 1, 2, 3, 10, 33, 1000] {
            let mut ours = data(n);
            let mut std = ours.clone();
            sort_by(&mut ours, |a, b| b.0.cmp(&a.0));
            std.sort_by_key(|p| std::cmp::Reverse(p.0));
            assert_eq!(ours, std, "n = {n}");
            sort_by_key(&mut ours, |p| p.0);
            std.sort_by_key(|p| p.0);
            assert_eq!(ours, std, "n = {n}");
        }
    }

    #[test]
    fn head_is_the_sorted_prefix() {
        for (n, k) in [(0, 0), (5, 0), (5, 1), (100, 7), (100, 99), (100, 100), (100, 500)] {
            let mut ours = data(n);
            let mut std = ours.clone();
            // A total order: key, then the unique position.
            sort_head_by(&mut ours, k, |a, b| a.cmp(b));
            std.sort();
            let k = k.min(n);
            assert_eq!(ours[..k], std[..k], "n = {n}, k = {k}");
            // Nothing lost or duplicated behind the head.
            ours.sort();
            assert_eq!(ours, std, "n = {n}, k = {k}");
        }
    }
}
