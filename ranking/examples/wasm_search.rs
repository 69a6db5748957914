//! The edge's search compiled to wasm for Node, so `xtask/orama.mjs` can time it side by side with
//! Orama in the same runtime on the same catalog and queries. It also hands Orama the same document
//! and query vectors, so both hybrid modes rank with one embedding model.

use ranking::embed::{Embedder, EmbedderData};
use ranking::index::ItemIndex;
use ranking::kv;
use ranking::lexical::{LexicalData, Lexicon};
use ranking::search::{self, SearchIndex, SearchRequest};
use ranking::weights::Weights;
use wasm_bindgen::prelude::*;

/// A build's item index, keyword index and query embedder, decoded from their KV values.
#[derive(Debug)]
#[wasm_bindgen]
pub struct Engine {
    items: ItemIndex,
    lexicon: Lexicon,
    embedder: Embedder,
}

#[wasm_bindgen]
impl Engine {
    /// From the `items`, `search` and `embedder` values of a build (the bytes the edge reads).
    #[wasm_bindgen(constructor)]
    pub fn new(items: &[u8], search: &[u8], embedder: &[u8]) -> Result<Engine, String> {
        let items: ItemIndex = kv::decode(items).map_err(|e| format!("items: {e}"))?;
        let lexicon = Lexicon::new(kv::decode::<LexicalData>(search).map_err(|e| format!("search: {e}"))?)
            .ok_or("search: corrupt FST")?;
        let embedder =
            Embedder::new(kv::decode::<EmbedderData>(embedder).map_err(|e| format!("embedder: {e}"))?)
                .ok_or("embedder: inconsistent")?;
        Ok(Engine { items, lexicon, embedder })
    }

    /// The ids of the best `limit` products for `query`: keyword only (BM25 with prefixes and
    /// typos, plus the shop signals) or hybrid (also the query embedding), as the edge ranks them.
    pub fn search(&self, query: &str, hybrid: bool, limit: usize) -> Vec<String> {
        let cat = SearchIndex::new(&self.items, Some(&self.lexicon), hybrid.then_some(&self.embedder));
        let req = SearchRequest { query, limit, ..Default::default() };
        search::search(cat, &req, &Weights::default())
            .hits
            .iter()
            .filter_map(|h| self.items.cards.get(h.index).map(|c| c.id.clone()))
            .collect()
    }

    /// The query's embedding (what the edge computes per request).
    pub fn embed(&self, query: &str) -> Vec<f32> {
        self.embedder.embed(query).unwrap_or_default()
    }

    /// Product `i`'s content vector, dequantized (the vectors search compares queries with).
    pub fn content_vector(&self, i: usize) -> Vec<f32> {
        if i < self.items.len() { self.items.content.get(i) } else { Vec::new() }
    }

    pub fn count(&self) -> usize {
        self.items.len()
    }

    pub fn id(&self, i: usize) -> String {
        self.items.cards.get(i).map(|c| c.id.clone()).unwrap_or_default()
    }
}
