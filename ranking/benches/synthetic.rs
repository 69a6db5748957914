//! Synthetic unit vectors and an item index for the kernel benchmarks (native criterion bench and
//! the wasm example), so both time the same data.

use ranking::catalog::{Card, Price};
use ranking::index::ItemIndex;
use ranking::signals::Signals;
use ranking::vector::Vectors;

/// Deterministic pseudo-random unit vectors (xorshift), so runs compare.
pub fn vectors(n: usize, dim: usize, mut s: u64) -> Vectors {
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

/// `n` items in 50 categories with 64-dim vectors and 10 co-occurrence neighbours each.
pub fn index(n: usize) -> ItemIndex {
    let vs = vectors(n, 64, 7);
    let signals = Signals {
        quality: 0.5,
        trust: 0.5,
        conversion: 0.5,
        in_stock: None,
        created_at: None,
        brand: None,
        popularity: 0.5,
    };
    ItemIndex {
        cards: (0..n)
            .map(|i| Card {
                id: format!("p{i}"),
                title: String::new(),
                price: Price { amount: 1.0, currency: "USD".into() },
                category: vec![format!("c{}", i % 50)],
                image: String::new(),
                purchases: (i % 97) as u32,
                list_price: None,
            })
            .map(std::sync::Arc::new)
            .collect(),
        content: vs.clone(),
        vectors: vs,
        signals: (0..n).map(|_| std::sync::Arc::new(signals.clone())).collect(),
        neighbours: (0..n).map(|i| (1..=10).map(|k| (((i + k * 31) % n) as u32, 0.1)).collect()).collect(),
        similar: vec![Vec::new(); n],
        bought_together: vec![Vec::new(); n],
    }
}
