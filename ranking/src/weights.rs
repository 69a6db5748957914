//! Ranking weights: data, not constants, so each experiment variant can carry its own (stored in KV).

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::catalog::Event;
use crate::kv::{Blob, Kind};

/// How much each signal counts. `indexer build` chooses the feed's weights for each shop on a
/// validation split of its own interactions; these defaults (docs/RELEVANCE.md) apply where it cannot
/// (no interactions) and to fields a stored variant leaves out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    /// Collaborative affinity: the cosine, floored at 0, between the shopper's vector and the item's in
    /// the learnt item-embedding space (ELSA), i.e. "shoppers with histories like this one chose it".
    pub collaborative: f32,
    /// Content similarity: the cosine between the shopper's and the item's text vectors.
    pub similarity: f32,
    /// Co-occurrence with the items in the history.
    pub co_occurrence: f32,
    /// The item's popularity signal (log-scaled shoppers, 0..=1).
    pub popularity: f32,
    /// Each older history entry counts this much of the one after it (0..=1).
    pub recency_decay: f32,
    pub view: f32,
    pub cart: f32,
    pub purchase: f32,
    /// Most items from one leaf category in a feed section (diversity); 0 = no cap.
    pub max_per_category: u32,
    /// Search: weight of the fused keyword + semantic relevance (0..=1).
    pub relevance: f32,
    /// Search: share of the keyword and the semantic ranking in reciprocal rank fusion.
    pub keyword: f32,
    pub semantic: f32,
    /// Search: least cosine for a product found only by meaning, not by a keyword.
    pub min_semantic: f32,
    /// Search: factor on products found only by meaning while keyword matches exist.
    pub semantic_only: f32,
    /// Search: business signals (each 0..=1) and the shopper's affinity.
    pub quality: f32,
    pub trust: f32,
    pub conversion: f32,
    pub in_stock: f32,
    pub freshness: f32,
    pub search_popularity: f32,
    pub personal: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            collaborative: 1.0,
            similarity: 0.05,
            co_occurrence: 0.25,
            popularity: 0.2,
            recency_decay: 0.95,
            view: 1.0,
            cart: 2.0,
            purchase: 3.0,
            max_per_category: 6,
            relevance: 1.0,
            keyword: 1.0,
            semantic: 1.0,
            min_semantic: 0.4,
            semantic_only: 0.5,
            quality: 0.1,
            trust: 0.05,
            conversion: 0.05,
            in_stock: 0.1,
            freshness: 0.03,
            search_popularity: 0.1,
            personal: 0.15,
        }
    }
}

impl Weights {
    pub fn event(&self, e: Event) -> f32 {
        let w = match e {
            Event::View => self.view,
            Event::Cart => self.cart,
            Event::Purchase => self.purchase,
        };
        finite_or_zero(w).max(0.0)
    }
}

/// Stored weights are data: a NaN must not poison every score.
pub fn finite_or_zero(x: f32) -> f32 {
    if x.is_finite() { x } else { 0.0 }
}

/// Weights by experiment variant name, stored in KV with each build. The edge hashes an anonymous
/// client id to a variant and ranks with its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variants(pub BTreeMap<String, Weights>);

impl Blob for Variants {
    const KIND: Kind = Kind::Weights;
}

impl Default for Variants {
    fn default() -> Self {
        Variants([("default".to_owned(), Weights::default())].into_iter().collect())
    }
}

impl Variants {
    /// The variant for a stable client hash: variants in name order, each an equal share.
    /// `None` only when there are no variants.
    pub fn pick(&self, client_hash: u64) -> Option<(&str, &Weights)> {
        let n = self.0.len() as u64;
        if n == 0 {
            return None;
        }
        self.0.iter().nth((client_hash % n) as usize).map(|(k, w)| (k.as_str(), w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_split_clients_evenly_and_stably() {
        let v = Variants(
            [
                ("a".to_owned(), Weights::default()),
                ("b".to_owned(), Weights { personal: 0.5, ..Weights::default() }),
            ]
            .into_iter()
            .collect(),
        );
        let picks: Vec<&str> = (0..1000u64).map(|h| v.pick(h).unwrap().0).collect();
        let a = picks.iter().filter(|p| **p == "a").count();
        assert_eq!(a, 500);
        assert_eq!(v.pick(7), v.pick(7));
        assert!(Variants(BTreeMap::new()).pick(1).is_none());
    }

    #[test]
    fn stored_json_takes_defaults_and_rejects_typos() {
        let w: Weights = serde_json::from_str(r#"{"personal": 0.3}"#).unwrap();
        assert_eq!(w, Weights { personal: 0.3, ..Weights::default() });
        assert!(serde_json::from_str::<Weights>(r#"{"persnal": 0.3}"#).is_err());
    }
}
