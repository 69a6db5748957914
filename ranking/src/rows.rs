//! What ranking reads of the items it ranks, by position: [`Rows`]. A whole [`ItemIndex`] is one
//! implementation; several IVF cells read where they lie ([`crate::ivf::Cells`]) are another, so a
//! partitioned request ranks without first copying its cells into one index.
//!
//! Positions are `0..len()`. Every method tolerates any position: one out of range reads as an item
//! with nothing (no card, zero vectors, empty lists), as ranking code never panics on data.

use std::borrow::Cow;

use crate::catalog::Card;
use crate::index::ItemIndex;
use crate::signals::Signals;
use crate::vector::Vectors;

pub trait Rows: std::fmt::Debug {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `i`'s card (put together from columns in a cell: for the items an answer returns).
    fn card(&self, i: usize) -> Option<Cow<'_, Card>>;

    /// Item `i`'s business signals (as [`Rows::card`]).
    fn signals(&self, i: usize) -> Option<Cow<'_, Signals>>;

    /// Item `i`'s id.
    fn id(&self, i: usize) -> Option<&str>;

    /// Item `i`'s category path (names, root first).
    fn category(&self, i: usize) -> &[String];

    /// Item `i`'s brand.
    fn brand(&self, i: usize) -> Option<&str>;

    /// Item `i`'s scoring signals; `None` for an unknown item.
    fn sig(&self, i: usize) -> Option<Sig> {
        self.signals(i).map(|s| Sig::of(&s))
    }

    /// [`Signals::stock_in`] of item `i`; `None` for an unknown item.
    fn stock_in(&self, i: usize, country: Option<&str>) -> Option<f32> {
        self.signals(i).map(|s| s.stock_in(country))
    }

    /// Share of item `i`'s list price taken off ([`Card::discount`]).
    fn discount(&self, i: usize) -> f32 {
        self.card(i).map_or(0.0, |c| c.discount())
    }

    /// Item `i`'s collaborative vector: the set holding it and its row there.
    fn collaborative(&self, i: usize) -> Option<(&Vectors, usize)>;

    /// Item `i`'s content vector: the set holding it and its row there.
    fn content(&self, i: usize) -> Option<(&Vectors, usize)>;

    /// Dimensions of the collaborative and the content vectors.
    fn dims(&self) -> (usize, usize);

    /// Item `i`'s co-occurrence neighbours as `(position, weight)`, strongest first; items outside
    /// these rows are left out.
    fn neighbours(&self, i: usize) -> Vec<(usize, f32)>;

    /// Item `i`'s precomputed most similar items (positions), best first; as [`Rows::neighbours`].
    fn similar(&self, i: usize) -> Vec<usize>;

    /// Item `i`'s bought-together items as `(position, lift)`, best first; as [`Rows::neighbours`].
    fn bought_together(&self, i: usize) -> Vec<(usize, f32)>;

    /// Positions of many ids, `None` for unknown ones.
    fn lookup(&self, ids: &[&str]) -> Vec<Option<usize>>;

    /// Position of one id.
    fn position(&self, id: &str) -> Option<usize> {
        self.lookup(&[id]).into_iter().next().flatten()
    }

    /// Item `i`'s price in the catalog currency (NaN when unknown, which no price filter takes).
    fn price(&self, i: usize) -> f64 {
        self.card(i).map_or(f64::NAN, |c| c.price.amount)
    }

    /// Units of item `i` purchased in the interaction log.
    fn purchases(&self, i: usize) -> u32 {
        self.card(i).map_or(0, |c| c.purchases)
    }

    /// Item `i`'s popularity signal, 0..=1 (0 when unknown).
    fn popularity(&self, i: usize) -> f32 {
        self.sig(i).map_or(0.0, |s| s.popularity)
    }

    /// The most units any item here was purchased (what search scales popularity by).
    fn max_purchases(&self) -> u32 {
        (0..self.len()).map(|i| self.purchases(i)).max().unwrap_or(0)
    }

    /// Collaborative dot product of item `i` with a quantized query (0 when unknown).
    fn collaborative_dot(&self, i: usize, q: &crate::vector::Query) -> f32 {
        self.collaborative(i).map_or(0.0, |(v, r)| v.dot(r, &q.codes, q.scale))
    }

    /// Content dot product of item `i` with a quantized query (0 when unknown).
    fn content_dot(&self, i: usize, q: &crate::vector::Query) -> f32 {
        self.content(i).map_or(0.0, |(v, r)| v.dot(r, &q.codes, q.scale))
    }

    /// Item `i`'s most similar items, best first, scored 1, 1/2, 1/3… by rank (the list is
    /// precomputed from content and co-occurrence); empty for an unknown item.
    fn similar_to(&self, i: usize) -> Vec<(usize, f32)> {
        self.similar(i)
            .into_iter()
            .enumerate()
            .map(|(rank, j)| (j, 1.0 / (rank as f32 + 1.0)))
            .filter(|&(j, _)| j < self.len() && j != i)
            .collect()
    }

    /// Items bought in the same orders as item `i`, by shrunk lift; empty for an unknown item.
    fn bought_with(&self, i: usize) -> Vec<(usize, f32)> {
        self.bought_together(i).into_iter().filter(|&(j, _)| j < self.len() && j != i).collect()
    }
}

/// The signals search and feeds score with, copied out of a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sig {
    pub quality: f32,
    pub trust: f32,
    pub conversion: f32,
    pub popularity: f32,
    pub created_at: Option<i64>,
}

impl Sig {
    pub fn of(s: &Signals) -> Sig {
        Sig {
            quality: s.quality,
            trust: s.trust,
            conversion: s.conversion,
            popularity: s.popularity,
            created_at: s.created_at,
        }
    }

    /// [`Signals::freshness`].
    pub fn freshness(&self, now: i64) -> f32 {
        crate::signals::freshness(self.created_at, now)
    }
}

impl Rows for ItemIndex {
    fn len(&self) -> usize {
        self.cards.len()
    }

    fn card(&self, i: usize) -> Option<Cow<'_, Card>> {
        self.cards.get(i).map(|c| Cow::Borrowed(&**c))
    }

    fn signals(&self, i: usize) -> Option<Cow<'_, Signals>> {
        self.signals.get(i).map(|s| Cow::Borrowed(&**s))
    }

    fn id(&self, i: usize) -> Option<&str> {
        self.cards.get(i).map(|c| c.id.as_str())
    }

    fn category(&self, i: usize) -> &[String] {
        self.cards.get(i).map_or(&[], |c| c.category.as_slice())
    }

    fn brand(&self, i: usize) -> Option<&str> {
        self.signals.get(i)?.brand.as_deref()
    }

    fn price(&self, i: usize) -> f64 {
        self.cards.get(i).map_or(f64::NAN, |c| c.price.amount)
    }

    fn purchases(&self, i: usize) -> u32 {
        self.cards.get(i).map_or(0, |c| c.purchases)
    }

    fn collaborative(&self, i: usize) -> Option<(&Vectors, usize)> {
        (i < self.vectors.len()).then_some((&self.vectors, i))
    }

    fn content(&self, i: usize) -> Option<(&Vectors, usize)> {
        (i < self.content.len()).then_some((&self.content, i))
    }

    fn dims(&self) -> (usize, usize) {
        (self.vectors.dim as usize, self.content.dim as usize)
    }

    fn neighbours(&self, i: usize) -> Vec<(usize, f32)> {
        let list = self.neighbours.get(i).map(Vec::as_slice).unwrap_or(&[]);
        list.iter().map(|&(j, w)| (j as usize, w)).filter(|&(j, _)| j < self.cards.len()).collect()
    }

    fn similar(&self, i: usize) -> Vec<usize> {
        let list = self.similar.get(i).map(Vec::as_slice).unwrap_or(&[]);
        list.iter().map(|&j| j as usize).filter(|&j| j < self.cards.len()).collect()
    }

    fn bought_together(&self, i: usize) -> Vec<(usize, f32)> {
        let list = self.bought_together.get(i).map(Vec::as_slice).unwrap_or(&[]);
        list.iter().map(|&(j, w)| (j as usize, w)).filter(|&(j, _)| j < self.cards.len()).collect()
    }

    fn lookup(&self, ids: &[&str]) -> Vec<Option<usize>> {
        ItemIndex::lookup(self, ids)
    }

    fn position(&self, id: &str) -> Option<usize> {
        ItemIndex::position(self, id)
    }
}

/// The normalized sum of the rows' vectors (collaborative, or with `content` the content ones)
/// weighted by `known` `(position, weight)`.
pub fn weighted_sum(rows: &dyn Rows, known: &[(usize, f32)], content: bool) -> Vec<f32> {
    let (dim, content_dim) = rows.dims();
    let mut sum = vec![0.0f32; if content { content_dim } else { dim }];
    for &(p, k) in known {
        let found = if content { rows.content(p) } else { rows.collaborative(p) };
        let Some((v, r)) = found else { continue };
        let scale = v.scale(r);
        for (u, &c) in sum.iter_mut().zip(v.codes(r)) {
            // Dequantized first, then weighed: the order the whole index always summed in.
            let x = f32::from(c) * scale;
            *u += k * x;
        }
    }
    crate::vector::normalize(&mut sum);
    sum
}
