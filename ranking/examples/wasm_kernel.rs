//! The int8 scoring scan and the personal feed compiled to wasm, for `cargo xtask bench` to time in
//! Node (V8, the engine of workerd and Chromium), once with simd128 and once without.

use ranking::feed::{Seen, recommend};
use ranking::index::ItemIndex;
use ranking::vector::Query;
use ranking::weights::Weights;
use wasm_bindgen::prelude::*;

#[path = "../benches/synthetic.rs"]
mod synthetic;

/// Synthetic items and a query, built once; each method is one timed operation.
#[derive(Debug)]
#[wasm_bindgen]
pub struct Bench {
    index: ItemIndex,
    query: Query,
    ids: Vec<String>,
}

#[wasm_bindgen]
impl Bench {
    #[wasm_bindgen(constructor)]
    pub fn new(n: usize) -> Bench {
        let index = synthetic::index(n);
        let query = Query::new(&synthetic::vectors(1, 64, 2).get(0));
        Bench { index, query, ids: (0..20).map(|i| format!("p{}", i * 7)).collect() }
    }

    /// Scores every item against the query; returns the best score.
    pub fn scan(&self) -> f32 {
        let vs = &self.index.content;
        (0..vs.len()).map(|i| vs.dot(i, &self.query.codes, self.query.scale)).fold(f32::MIN, f32::max)
    }

    /// One personal feed of 24 items for a 20-item history; returns how many came back.
    pub fn feed(&self) -> usize {
        let history: Vec<Seen<'_>> =
            self.ids.iter().map(|id| Seen { id, event: ranking::Event::View }).collect();
        recommend(&self.index, &history, &Weights::default(), 24).len()
    }
}
