//! Throughput of the ranking kernels on synthetic data: int8 scoring scan, the personal feed and the
//! memory-bandwidth floor of the same machine (`cargo bench -p ranking`).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ranking::catalog::{Card, Price};
use ranking::feed::{Seen, recommend};
use ranking::index::ItemIndex;
use ranking::signals::Signals;
use ranking::vector::{Query, Vectors};
use ranking::weights::Weights;

/// Deterministic pseudo-random unit vectors (xorshift), so runs compare.
fn vectors(n: usize, dim: usize, seed: u64) -> Vectors {
    let mut s = seed;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 2001) as f32 / 1000.0 - 1.0
    };
    let mut vs = Vectors::new(dim);
    for _ in 0..n {
        let mut v: Vec<f32> = (0..dim).map(|_| next()).collect();
        ranking::vector::normalize(&mut v);
        vs.push(&v);
    }
    vs
}

fn index(n: usize) -> ItemIndex {
    let vs = vectors(n, 64, 7);
    let signals = Signals::of(
        &serde_json::from_str(
            r#"{"id":"x","title":"t","category":["c"],"price":{"amount":1,"currency":"USD"}}"#,
        )
        .unwrap(),
        None,
    );
    ItemIndex {
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
        neighbours: (0..n).map(|i| (1..=10).map(|k| (((i + k * 31) % n) as u32, 0.1)).collect()).collect(),
        similar: vec![Vec::new(); n],
        bought_together: vec![Vec::new(); n],
    }
}

fn scan(c: &mut Criterion) {
    let mut g = c.benchmark_group("int8 scan, 64 dims");
    for n in [10_000usize, 100_000] {
        let vs = vectors(n, 64, 1);
        let q = Query::new(&vectors(1, 64, 2).get(0));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| {
                let mut best = f32::MIN;
                for i in 0..n {
                    best = best.max(vs.dot(i, &q.codes, q.scale));
                }
                black_box(best)
            })
        });
    }
    g.finish();
}

/// Reading memory as fast as one core can: the floor any scan of the same bytes is bound by.
fn bandwidth(c: &mut Criterion) {
    let bytes = vec![1u8; 64 << 20];
    let mut g = c.benchmark_group("memory read");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("64 MiB sum", |b| {
        b.iter(|| {
            let words = bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
            black_box(words.fold(0u64, u64::wrapping_add))
        })
    });
    g.finish();
}

fn feed(c: &mut Criterion) {
    let mut g = c.benchmark_group("personal feed (20 history items, 24 results)");
    for n in [10_000usize, 100_000] {
        let idx = index(n);
        let ids: Vec<String> = (0..20).map(|i| format!("p{}", i * 7)).collect();
        let history: Vec<Seen<'_>> = ids.iter().map(|id| Seen { id, event: ranking::Event::View }).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(recommend(&idx, &history, &Weights::default(), 24)))
        });
    }
    g.finish();
}

criterion_group!(benches, scan, bandwidth, feed);
criterion_main!(benches);
