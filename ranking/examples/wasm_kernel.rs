//! The int8 scoring scan and the personal feed compiled to wasm, for `cargo xtask bench` to time in
//! Node (V8, the engine of workerd and Chromium), once with simd128 and once without.

use ranking::catalog::{Card, Price};
use ranking::feed::{Seen, recommend};
use ranking::index::ItemIndex;
use ranking::signals::Signals;
use ranking::vector::{Query, Vectors};
use ranking::weights::Weights;
use wasm_bindgen::prelude::*;

fn vectors(n: usize, dim: usize, mut s: u64) -> Vectors {
    let mut vs = Vectors::new(dim);
    for _ in 0..n {
        let mut v: Vec<f32> = (0..dim)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 2001) as f32 / 1000.0 - 1.0
            })
            .collect();
        ranking::vector::normalize(&mut v);
        vs.push(&v);
    }
    vs
}

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
        let vs = vectors(n, 64, 1);
        let signals = Signals { quality: 0.5, trust: 0.5, conversion: 0.5, in_stock: None, created_at: None };
        let index = ItemIndex {
            cards: (0..n)
                .map(|i| Card {
                    id: format!("p{i}"),
                    title: String::new(),
                    price: Price { amount: 1.0, currency: "USD".into() },
                    category: vec![format!("c{}", i % 50)],
                    image: String::new(),
                    purchases: (i % 97) as u32,
                })
                .collect(),
            content: vs.clone(),
            vectors: vs,
            signals: vec![signals; n],
            neighbours: (0..n)
                .map(|i| (1..=10).map(|k| (((i + k * 31) % n) as u32, 0.1)).collect())
                .collect(),
            similar: vec![Vec::new(); n],
            bought_together: vec![Vec::new(); n],
        };
        let query = Query::new(&vectors(1, 64, 2).get(0));
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
