//! The item index the feed ranks over: one entry per product with its card, its collaborative and
//! content vectors and its co-occurrence neighbours, in one KV value per build.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::catalog::Card;
use crate::kv::{Blob, Kind};
use crate::signals::Signals;
use crate::vector::Vectors;

/// Cards and signals are shared (`Arc`, stored as the values themselves): a request's view of IVF
/// cells ([`crate::ivf::merge`]) and the device pack take rows from several indexes, and copying
/// each card's strings cost more than the ranking that follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemIndex {
    pub cards: Vec<Arc<Card>>,
    /// Row `i` is item `i`'s collaborative vector: its row of the item embeddings the indexer learns
    /// from interactions (ELSA), for items with few interactions blended with (and for new items
    /// equal to) a map of its content vector into the same space. What feeds score and route with.
    pub vectors: Vectors,
    /// Row `i` is item `i`'s content (text) vector alone, the space queries are embedded into.
    pub content: Vectors,
    pub signals: Vec<Arc<Signals>>,
    /// Per item, up to [`MAX_NEIGHBOURS`] `(item, weight)` pairs of items the same shoppers
    /// interacted with (cosine of co-occurrence), strongest first.
    pub neighbours: Vec<Vec<(u32, f32)>>,
    /// Per item, the most similar items (collaborative, content and co-occurrence), best first.
    pub similar: Vec<Vec<u32>>,
    /// Per item, `(item, lift)` of items bought in the same order (same shopper, same day), by lift
    /// shrunk toward 1 for rare pairs, best first.
    pub bought_together: Vec<Vec<(u32, f32)>>,
}

/// Neighbours kept per item.
pub const MAX_NEIGHBOURS: usize = 20;
/// Largest vector dimension accepted from stored data (the model has 256).
pub const MAX_DIM: u32 = 4096;
/// Similar and bought-together items kept per item.
pub const MAX_RELATED: usize = 12;

/// One node of the category tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryNode {
    /// Slug path from the root, as search's `category` filter takes it (`furniture/chairs`).
    pub path: String,
    pub name: String,
    /// Products in this category and below.
    pub count: usize,
    pub children: Vec<CategoryNode>,
}

impl Blob for ItemIndex {
    const KIND: Kind = Kind::Items;
}

impl ItemIndex {
    /// An index without vectors or co-occurrence (keyword search and popularity still work): for a
    /// catalog indexed without a model, and for tests.
    pub fn plain(products: &[crate::catalog::Product], purchases: &[u32]) -> ItemIndex {
        let mut vectors = Vectors::new(1);
        products.iter().for_each(|_| vectors.push(&[0.0]));
        ItemIndex {
            cards: products
                .iter()
                .enumerate()
                .map(|(i, p)| Arc::new(p.card(purchases.get(i).copied().unwrap_or(0))))
                .collect(),
            content: vectors.clone(),
            vectors,
            neighbours: vec![Vec::new(); products.len()],
            signals: products.iter().map(|p| Arc::new(Signals::of(p, None))).collect(),
            similar: vec![Vec::new(); products.len()],
            bought_together: vec![Vec::new(); products.len()],
        }
    }

    /// An index with no rows, vectors of `dim` (`content_dim` for the content space).
    pub fn empty(dim: usize, content_dim: usize) -> ItemIndex {
        ItemIndex {
            cards: Vec::new(),
            vectors: Vectors::new(dim),
            content: Vectors::new(content_dim),
            signals: Vec::new(),
            neighbours: Vec::new(),
            similar: Vec::new(),
            bought_together: Vec::new(),
        }
    }

    /// Appends row `r` of `src` (which must be consistent, `r` in range). Its neighbour, similar and
    /// bought-together references go through `map` (dropped where it says `None`); with `lists`
    /// false they are left empty. The one copy routine of IVF cells, views and history rows.
    pub fn push_row(&mut self, src: &ItemIndex, r: usize, lists: bool, map: impl Fn(u32) -> Option<u32>) {
        self.cards.push(src.cards[r].clone());
        self.vectors.push_codes(src.vectors.codes(r), src.vectors.scale(r));
        self.content.push_codes(src.content.codes(r), src.content.scale(r));
        self.signals.push(src.signals[r].clone());
        if !lists {
            self.neighbours.push(Vec::new());
            self.similar.push(Vec::new());
            self.bought_together.push(Vec::new());
            return;
        }
        self.neighbours.push(src.neighbours[r].iter().filter_map(|&(j, w)| Some((map(j)?, w))).collect());
        self.similar.push(src.similar[r].iter().filter_map(|&j| map(j)).collect());
        self.bought_together
            .push(src.bought_together[r].iter().filter_map(|&(j, w)| Some((map(j)?, w))).collect());
    }

    pub fn len(&self) -> usize {
        self.cards.len()
    }

    /// Every per-item list has one entry per card and every vector set one row per card. Values read
    /// from KV are checked with this before use; ranking code also tolerates inconsistent data.
    pub fn is_consistent(&self) -> bool {
        let n = self.cards.len();
        self.vectors.dim <= MAX_DIM
            && self.content.dim <= MAX_DIM
            && self.vectors.len() == n
            && self.content.len() == n
            && self.vectors.codes.len() == n * self.vectors.dim as usize
            && self.content.codes.len() == n * self.content.dim as usize
            && self.signals.len() == n
            && self.neighbours.len() == n
            && self.similar.len() == n
            && self.bought_together.len() == n
    }

    /// The category tree with product counts, children by name.
    pub fn categories(&self) -> Vec<CategoryNode> {
        fn insert(nodes: &mut Vec<CategoryNode>, path: &[String], parent: &str) {
            let Some((name, rest)) = path.split_first() else { return };
            let slug = crate::text::slug(name);
            let full = if parent.is_empty() { slug } else { format!("{parent}/{slug}") };
            let pos = match nodes.iter().position(|n| n.path == full) {
                Some(p) => p,
                None => {
                    nodes.push(CategoryNode {
                        path: full,
                        name: name.clone(),
                        count: 0,
                        children: Vec::new(),
                    });
                    nodes.len() - 1
                }
            };
            let node = &mut nodes[pos];
            node.count += 1;
            let path_of_node = node.path.clone();
            insert(&mut node.children, rest, &path_of_node);
        }
        fn sort(nodes: &mut [CategoryNode]) {
            crate::order::sort_by(nodes, |a, b| a.name.cmp(&b.name));
            nodes.iter_mut().for_each(|n| sort(&mut n.children));
        }
        let mut roots = Vec::new();
        for c in &self.cards {
            insert(&mut roots, &c.category, "");
        }
        sort(&mut roots);
        roots
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
        if ids.is_empty() {
            return out;
        }
        let mut wanted: Vec<(&str, usize)> = ids.iter().enumerate().map(|(k, id)| (*id, k)).collect();
        crate::order::sort_by(&mut wanted, Ord::cmp);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistency_and_category_tree() {
        let p = |id: &str, cat: &[&str]| {
            crate::catalog::Product::new(
                id,
                "T",
                cat.iter().map(|c| c.to_string()).collect(),
                crate::catalog::Price { amount: 1.0, currency: "USD".into() },
            )
        };
        let products = [p("a", &["Office", "Paper"]), p("b", &["Office", "Pens"]), p("c", &["Home"])];
        let mut idx = ItemIndex::plain(&products, &[]);
        assert!(idx.is_consistent());
        let tree = idx.categories();
        assert_eq!(
            tree.iter().map(|n| (n.path.as_str(), n.count)).collect::<Vec<_>>(),
            [("home", 1), ("office", 2)]
        );
        assert_eq!(
            tree[1].children.iter().map(|n| n.path.as_str()).collect::<Vec<_>>(),
            ["office/paper", "office/pens"]
        );
        idx.similar.pop();
        assert!(!idx.is_consistent());
        assert_eq!(idx.lookup(&["c", "zz", "a", "a"]), [Some(2), None, Some(0), Some(0)]);
    }
}
