//! Throughput of the ranking kernels on synthetic data: int8 scoring scan, the personal feed and the
//! memory-bandwidth floor of the same machine (`cargo bench -p ranking`).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ranking::feed::{Seen, recommend};
use ranking::vector::Query;
use ranking::weights::Weights;

#[path = "synthetic.rs"]
mod synthetic;

use synthetic::{index, vectors};

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
