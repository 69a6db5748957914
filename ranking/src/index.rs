//! The item index the feed ranks over: one entry per product with its card, unit vector (content plus
//! collaborative signal) and co-occurrence neighbours, in one KV value per build.

use serde::{Deserialize, Serialize};

use crate::catalog::Card;
use crate::kv::{Blob, Kind};
use crate::vector::Vectors;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemIndex {
    pub cards: Vec<Card>,
    /// Row `i` is item `i`'s unit vector.
    pub vectors: Vectors,
    /// Per item, up to [`MAX_NEIGHBOURS`] `(item, weight)` pairs of items the same shoppers
    /// interacted with (cosine of co-occurrence), strongest first.
    pub neighbours: Vec<Vec<(u32, f32)>>,
}

/// Neighbours kept per item.
pub const MAX_NEIGHBOURS: usize = 20;

impl Blob for ItemIndex {
    const KIND: Kind = Kind::Items;
}

impl ItemIndex {
    pub fn len(&self) -> usize {
        self.cards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }

    /// Position of an item id (linear; callers map a whole history at once with [`ItemIndex::lookup`]).
    pub fn position(&self, id: &str) -> Option<usize> {
        self.cards.iter().position(|c| c.id == id)
    }

    /// Positions of many ids, `None` for unknown ones, in one pass over the index.
    pub fn lookup(&self, ids: &[&str]) -> Vec<Option<usize>> {
        let mut out = vec![None; ids.len()];
        let mut wanted: Vec<(&str, usize)> = ids.iter().enumerate().map(|(k, id)| (*id, k)).collect();
        wanted.sort_unstable();
        for (i, card) in self.cards.iter().enumerate() {
            let start = wanted.partition_point(|(id, _)| *id < card.id.as_str());
            for (id, k) in &wanted[start..] {
                if *id != card.id {
                    break;
                }
                out[*k] = Some(i);
            }
        }
        out
    }
}
