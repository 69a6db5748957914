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

/// Values of one index version, least recently used first out; except the parts of the build that
/// every request reads (routing head, query embedder, manifest, weights…), kept for the whole
/// version: they count against the budget, but evicting one only makes every request decode it
/// again (at 1,000,000 products the head is the largest value, and LRU under load dropped it first).
pub struct Kept {
    values: LruCache<String, (Rc<dyn Any>, usize)>,
    lasting: std::collections::HashMap<String, (Rc<dyn Any>, usize)>,
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
        Kept { values: LruCache::unbounded(), lasting: Default::default(), bytes: 0, budget }
    }

    /// The value under `key`, now the most recently used.
    pub fn get(&mut self, key: &str) -> Option<Rc<dyn Any>> {
        if let Some((v, _)) = self.lasting.get(key) {
            return Some(v.clone());
        }
        self.values.get(key).map(|(v, _)| v.clone())
    }

    /// Keeps `value`, weighing `weight` bytes, dropping the least recently used values until all fit.
    /// A value heavier than the room the lasting ones leave is not kept (the request that read it
    /// still uses it). A `lasting` value is kept whatever it weighs, the others dropped to make room.
    pub fn insert(&mut self, key: &str, value: Rc<dyn Any>, weight: usize, lasting: bool) {
        let old = self.values.pop(key).or_else(|| self.lasting.remove(key));
        self.bytes -= old.map_or(0, |(_, w)| w);
        let lasting_bytes: usize = self.lasting.values().map(|(_, w)| w).sum();
        if !lasting && lasting_bytes + weight > self.budget {
            return;
        }
        while self.bytes + weight > self.budget {
            let Some((_, (_, w))) = self.values.pop_lru() else { break };
            self.bytes -= w;
        }
        self.bytes += weight;
        if lasting {
            self.lasting.insert(key.to_owned(), (value, weight));
        } else {
            self.values.put(key.to_owned(), (value, weight));
        }
    }

    /// Bytes kept, by the weights given.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.values.len() + self.lasting.len()
    }

    pub fn clear(&mut self) {
        self.values.clear();
        self.lasting.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &Kept) -> Vec<String> {
        let sorted: std::collections::BTreeSet<String> =
            k.values.iter().map(|(key, _)| key.clone()).chain(k.lasting.keys().cloned()).collect();
        sorted.into_iter().collect()
    }

    #[test]
    fn the_least_recently_used_go_first_and_the_weights_stay_under_the_budget() {
        let mut k = Kept::new(100);
        k.insert("head", Rc::new(1u8), 30, false);
        k.insert("a", Rc::new(2u8), 30, false);
        k.insert("b", Rc::new(3u8), 30, false);
        assert_eq!(k.bytes(), 90);
        // Reading the head makes `a` the least recently used.
        assert!(k.get("head").is_some());
        k.insert("c", Rc::new(4u8), 30, false);
        assert_eq!(keys(&k), ["b", "c", "head"]);
        assert_eq!(k.bytes(), 90);
        // A heavy value pushes out as many as it needs, least recently used first.
        k.insert("big", Rc::new(5u8), 70, false);
        assert_eq!(keys(&k), ["big", "c"]);
        assert_eq!(k.bytes(), 100);
        // Replacing a key replaces its weight.
        k.insert("big", Rc::new(6u8), 10, false);
        assert_eq!((k.bytes(), k.len()), (40, 2));
        assert_eq!(k.get("big").and_then(|v| v.downcast::<u8>().ok()).map(|v| *v), Some(6));
    }

    #[test]
    fn a_value_over_the_whole_budget_is_not_kept_and_evicts_nothing() {
        let mut k = Kept::new(100);
        k.insert("a", Rc::new(1u8), 60, false);
        k.insert("huge", Rc::new(2u8), 101, false);
        assert_eq!(keys(&k), ["a"]);
        assert_eq!(k.bytes(), 60);
        k.clear();
        assert!(k.len() == 0 && k.bytes() == 0);
    }

    #[test]
    fn lasting_values_stay_and_leave_the_rest_of_the_budget_to_the_others() {
        let mut k = Kept::new(100);
        k.insert("head", Rc::new(1u8), 60, true);
        k.insert("a", Rc::new(2u8), 30, false);
        // However long ago it was read, the head stays; the others share the 40 bytes it leaves.
        k.insert("b", Rc::new(3u8), 30, false);
        assert_eq!(keys(&k), ["b", "head"]);
        assert_eq!(k.bytes(), 90);
        assert!(k.get("head").is_some());
        // A value over the room left is not kept, and evicts nothing.
        k.insert("c", Rc::new(4u8), 50, false);
        assert_eq!(keys(&k), ["b", "head"]);
        // A lasting value is kept whatever it weighs; the others go to make room.
        k.insert("embedder", Rc::new(5u8), 50, true);
        assert_eq!(keys(&k), ["embedder", "head"]);
        assert_eq!(k.bytes(), 110);
        // A new version starts empty.
        k.clear();
        assert!(k.len() == 0 && k.bytes() == 0);
    }
}
