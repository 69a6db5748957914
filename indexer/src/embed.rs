//! Content embeddings: loads a Model2Vec model folder (tokenizer.json, model.safetensors), reduces its
//! token table with PCA to the index dimension, quantizes it, and embeds products with the shared
//! `ranking::embed` code, the same code that embeds queries at the edge and in the browser.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use nalgebra::{DMatrix, SymmetricEigen};
use ranking::embed::{Embedder, EmbedderData, MAX_TOKENS, mean_pool};
use ranking::vector::{Vectors, normalize};
use ranking::wordpiece::WordPiece;

/// A Model2Vec model in full precision.
#[derive(Debug)]
pub struct Model {
    pub vocab: Vec<String>,
    pub unk: String,
    pub dim: usize,
    /// `vocab.len() × dim`, row-major.
    pub table: Vec<f32>,
    pub wordpiece: WordPiece,
}

pub fn load(dir: &Path) -> Result<Model> {
    let tok_path = dir.join("tokenizer.json");
    let tok: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&tok_path).with_context(|| {
            format!("cannot read {} (is --model a Model2Vec folder?)", tok_path.display())
        })?)
        .with_context(|| format!("{} is not JSON", tok_path.display()))?;
    let model = &tok["model"];
    ensure!(
        model["type"] == "WordPiece",
        "{}: only WordPiece tokenizers are supported, found {}",
        tok_path.display(),
        model["type"]
    );
    ensure!(
        tok["normalizer"]["type"] == "BertNormalizer" && tok["normalizer"]["lowercase"] == true,
        "{}: expected a lowercasing BertNormalizer",
        tok_path.display()
    );
    let vocab_map =
        model["vocab"].as_object().with_context(|| format!("{}: model.vocab missing", tok_path.display()))?;
    let mut vocab = vec![String::new(); vocab_map.len()];
    for (token, id) in vocab_map {
        let id = id
            .as_u64()
            .filter(|&i| (i as usize) < vocab.len())
            .with_context(|| format!("{}: bad id for {token:?}", tok_path.display()))?;
        vocab[id as usize] = token.clone();
    }
    let unk = model["unk_token"].as_str().unwrap_or("[UNK]").to_owned();
    let wordpiece = WordPiece::new(&vocab, &unk)
        .with_context(|| format!("{}: unk token {unk:?} not in vocabulary", tok_path.display()))?;

    let st_path = dir.join("model.safetensors");
    let bytes = std::fs::read(&st_path).with_context(|| format!("cannot read {}", st_path.display()))?;
    let tensors = safetensors::SafeTensors::deserialize(&bytes)
        .with_context(|| format!("{} is not safetensors", st_path.display()))?;
    let emb = tensors
        .tensor("embeddings")
        .with_context(|| format!("{}: no `embeddings` tensor", st_path.display()))?;
    ensure!(
        emb.dtype() == safetensors::Dtype::F32,
        "{}: embeddings must be F32, found {:?}",
        st_path.display(),
        emb.dtype()
    );
    let shape = emb.shape();
    ensure!(
        shape.len() == 2 && shape[0] == vocab.len(),
        "{}: embeddings shape {shape:?} does not match a vocabulary of {}",
        st_path.display(),
        vocab.len()
    );
    let table: Vec<f32> =
        emb.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Ok(Model { dim: shape[1], vocab, unk, table, wordpiece })
}

impl Model {
    /// The model's own (unreduced, L2-normalized) embedding of `text`, as Model2Vec computes it.
    pub fn embed_full(&self, text: &str) -> Option<Vec<f32>> {
        let mut v = self.mean(text)?;
        normalize(&mut v);
        Some(v)
    }

    fn mean(&self, text: &str) -> Option<Vec<f32>> {
        let mut ids = Vec::new();
        self.wordpiece.encode(text, MAX_TOKENS, &mut ids);
        mean_pool(&ids, self.wordpiece.unk(), self.dim, |id, sum| {
            let row = &self.table[id as usize * self.dim..(id as usize + 1) * self.dim];
            sum.iter_mut().zip(row).for_each(|(s, r)| *s += r);
        })
    }

    /// Reduces the token table to `dim` dimensions with PCA fitted on the product texts, and
    /// returns the query embedder plus each text's vector (zeros for a text with no known token).
    pub fn reduce(&self, texts: &[String], dim: usize) -> Result<(EmbedderData, Vec<Vec<f32>>)> {
        if dim == 0 || dim > self.dim {
            bail!("--dim must be 1..={}, got {dim}", self.dim);
        }
        let means: Vec<Vec<f32>> = texts.iter().filter_map(|t| self.mean(t)).collect();
        ensure!(!means.is_empty(), "no product text has a token the model knows");
        let d = self.dim;
        let n = means.len() as f64;
        let mut centre = vec![0.0f64; d];
        for m in &means {
            centre.iter_mut().zip(m).for_each(|(c, x)| *c += f64::from(*x) / n);
        }
        let mut cov = DMatrix::<f64>::zeros(d, d);
        for m in &means {
            let x =
                nalgebra::DVector::from_iterator(d, m.iter().zip(&centre).map(|(v, c)| f64::from(*v) - c));
            cov.syger(1.0 / n, &x, &x, 1.0);
        }
        let cov = cov.symmetric_part();
        let eig = SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        // Projection rows: the top `dim` principal directions.
        let proj: Vec<Vec<f32>> = order[..dim]
            .iter()
            .map(|&k| eig.eigenvectors.column(k).iter().map(|&x| x as f32).collect())
            .collect();
        let project = |v: &[f32]| -> Vec<f32> {
            proj.iter().map(|p| p.iter().zip(v).map(|(a, b)| a * b).sum()).collect()
        };

        let mut rows = Vectors::new(dim);
        for t in 0..self.vocab.len() {
            rows.push(&project(&self.table[t * d..(t + 1) * d]));
        }
        let centre32: Vec<f32> = centre.iter().map(|&c| c as f32).collect();
        let data = EmbedderData {
            vocab: self.vocab.clone(),
            unk: self.unk.clone(),
            rows,
            offset: project(&centre32),
        };
        let embedder = Embedder::new(data.clone()).context("reduced embedder is inconsistent")?;
        let vectors = texts.iter().map(|t| embedder.embed(t).unwrap_or_else(|| vec![0.0; dim])).collect();
        Ok((data, vectors))
    }
}

/// Share of each text's 10 nearest neighbours (by full-precision model vectors) that the reduced
/// vectors also rank in their top 10: how much of the model's notion of similarity a dimension keeps.
pub fn neighbour_overlap(full: &[Vec<f32>], reduced: &[Vec<f32>], sample: usize) -> f64 {
    let top = |vs: &[Vec<f32>], i: usize| -> Vec<usize> {
        let mut s: Vec<(f32, usize)> = vs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, v)| (v.iter().zip(&vs[i]).map(|(a, b)| a * b).sum(), j))
            .collect();
        s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        s.into_iter().take(10).map(|(_, j)| j).collect()
    };
    let n = full.len();
    let step = (n / sample.max(1)).max(1);
    let (mut hit, mut all) = (0usize, 0usize);
    for i in (0..n).step_by(step) {
        let a = top(full, i);
        let b = top(reduced, i);
        hit += a.iter().filter(|j| b.contains(j)).count();
        all += a.len();
    }
    if all == 0 { 0.0 } else { hit as f64 / all as f64 }
}
