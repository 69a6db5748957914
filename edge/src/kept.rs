//! The per-isolate memory budget: decoded KV values by key, each weighed in bytes, the least recently
//! used dropped first once their weights pass the budget.
//!
//! An isolate has 128 MB for everything. Without a budget, a crawler walking `/p/{id}` over a large
//! catalog keeps every product shard it touches (and a search every cell) until the isolate is
//! killed; with it, what is kept stays under [`BUDGET_BYTES`] whatever the traffic.

use std::any::Any;
use std::rc::Rc;

use lru::LruCache;

/// Bytes of decoded values one isolate keeps. Measured in workerd (docs/PERFORMANCE.md, "Memory"):
/// the isolate's heap is this plus the runtime, the request in flight and the allocator's slack.
pub const BUDGET_BYTES: usize = 48 << 20;

/// Values of one index version, least recently used first out.
pub struct Kept {
    values: LruCache<String, (Rc<dyn Any>, usize)>,
    bytes: usize,
    budget: usize,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept").field("values", &self.values.len()).field("bytes", &self.bytes).finish()
    }
}

impl Kept {
    pub fn new(budget: usize) -> Kept {
        Kept { values: LruCache::unbounded(), bytes: 0, budget }
    }

    /// The value under `key`, now the most recently used.
    pub fn get(&mut self, key: &str) -> Option<Rc<dyn Any>> {
        self.values.get(key).map(|(v, _)| v.clone())
    }

    /// Keeps `value`, weighing `weight` bytes, dropping the least recently used values until all fit.
    /// A value heavier than the whole budget is not kept (the request that read it still uses it).
    pub fn insert(&mut self, key: &str, value: Rc<dyn Any>, weight: usize) {
        if let Some((_, old)) = self.values.pop(key) {
            self.bytes -= old;
        }
        if weight > self.budget {
            return;
        }
        while self.bytes + weight > self.budget {
            let Some((_, (_, w))) = self.values.pop_lru() else { break };
            self.bytes -= w;
        }
        self.bytes += weight;
        self.values.put(key.to_owned(), (value, weight));
    }

    /// Bytes kept, by the weights given.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn clear(&mut self) {
        self.values.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &Kept) -> Vec<String> {
        let sorted: std::collections::BTreeSet<String> =
            k.values.iter().map(|(key, _)| key.clone()).collect();
        sorted.into_iter().collect()
    }

    #[test]
    fn the_least_recently_used_go_first_and_the_weights_stay_under_the_budget() {
        let mut k = Kept::new(100);
        k.insert("head", Rc::new(1u8), 30);
        k.insert("a", Rc::new(2u8), 30);
        k.insert("b", Rc::new(3u8), 30);
        assert_eq!(k.bytes(), 90);
        // Reading the head makes `a` the least recently used.
        assert!(k.get("head").is_some());
        k.insert("c", Rc::new(4u8), 30);
        assert_eq!(keys(&k), ["b", "c", "head"]);
        assert_eq!(k.bytes(), 90);
        // A heavy value pushes out as many as it needs, least recently used first.
        k.insert("big", Rc::new(5u8), 70);
        assert_eq!(keys(&k), ["big", "c"]);
        assert_eq!(k.bytes(), 100);
        // Replacing a key replaces its weight.
        k.insert("big", Rc::new(6u8), 10);
        assert_eq!((k.bytes(), k.len()), (40, 2));
        assert_eq!(k.get("big").and_then(|v| v.downcast::<u8>().ok()).map(|v| *v), Some(6));
    }

    #[test]
    fn a_value_over_the_whole_budget_is_not_kept_and_evicts_nothing() {
        let mut k = Kept::new(100);
        k.insert("a", Rc::new(1u8), 60);
        k.insert("huge", Rc::new(2u8), 101);
        assert_eq!(keys(&k), ["a"]);
        assert_eq!(k.bytes(), 60);
        k.clear();
        assert!(k.len() == 0 && k.bytes() == 0);
    }
}
