//! Static text embeddings (Model2Vec style): a text's vector is the mean of its tokens' rows in a
//! table, minus a fixed offset, L2-normalized. The indexer builds the table (PCA-reduced and int8
//! quantized) and embeds products with this same code, so a query embedded at the edge or in the
//! browser lands in exactly the products' space.

use serde::{Deserialize, Serialize};

use crate::kv::{Blob, Kind};
use crate::vector::{Vectors, normalize};
use crate::wordpiece::WordPiece;

/// Most tokens pooled per text (Model2Vec's default `max_length`).
pub const MAX_TOKENS: usize = 512;

/// The stored query embedder: vocabulary, one int8 row per token, and the centering offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedderData {
    /// WordPiece vocabulary in id order.
    pub vocab: Vec<String>,
    pub unk: String,
    /// Row `i` is token `i`'s embedding (reduced dimension).
    pub rows: Vectors,
    /// Subtracted from the pooled mean before normalizing (the PCA centre, projected).
    pub offset: Vec<f32>,
}

impl Blob for EmbedderData {
    const KIND: Kind = Kind::Embedder;
}

/// A ready-to-use encoder (the vocabulary hashed once per process or isolate).
#[derive(Debug, Clone)]
pub struct Embedder {
    wordpiece: WordPiece,
    data: EmbedderData,
}

impl Embedder {
    /// `None` when the data is inconsistent (no unk token in the vocabulary, rows missing).
    pub fn new(data: EmbedderData) -> Option<Embedder> {
        let wordpiece = WordPiece::new(&data.vocab, &data.unk)?;
        let dim = data.rows.dim as usize;
        let consistent = data.rows.len() == data.vocab.len()
            && data.rows.codes.len() == data.vocab.len() * dim
            && data.offset.len() == dim;
        consistent.then_some(Embedder { wordpiece, data })
    }

    pub fn dim(&self) -> usize {
        self.data.rows.dim as usize
    }

    pub fn wordpiece(&self) -> &WordPiece {
        &self.wordpiece
    }

    /// The unit vector of `text`, or `None` when it has no known token (nothing to go on).
    pub fn embed(&self, text: &str) -> Option<Vec<f32>> {
        let mut ids = Vec::new();
        self.wordpiece.encode(text, MAX_TOKENS, &mut ids);
        let rows = &self.data.rows;
        let mut v = mean_pool(&ids, self.wordpiece.unk(), self.dim(), |id, sum| {
            let i = id as usize;
            let scale = rows.scales.get(i).copied().unwrap_or(0.0);
            for (s, &c) in sum.iter_mut().zip(rows.codes(i)) {
                *s += f32::from(c) * scale;
            }
        })?;
        for (x, o) in v.iter_mut().zip(&self.data.offset) {
            *x -= o;
        }
        normalize(&mut v);
        v.iter().any(|x| *x != 0.0).then_some(v)
    }
}

/// Mean of the rows of `ids`, skipping `unk`; `add_row(id, sum)` adds one row into `sum`.
/// `None` when no id is left. Rows are added in token order, so results are reproducible.
pub fn mean_pool(
    ids: &[u32],
    unk: u32,
    dim: usize,
    mut add_row: impl FnMut(u32, &mut [f32]),
) -> Option<Vec<f32>> {
    let mut sum = vec![0.0f32; dim];
    let mut n = 0usize;
    for &id in ids.iter().filter(|&&id| id != unk) {
        add_row(id, &mut sum);
        n += 1;
    }
    if n == 0 {
        return None;
    }
    let n = n as f32;
    sum.iter_mut().for_each(|x| *x /= n);
    Some(sum)
}

/// Turns a search query into a vector of the content space. Search holds its embedder through this
/// trait, so code that never embeds (the app, which searches the device's candidates by keyword) does
/// not link the tokenizer and its Unicode tables.
pub trait QueryEmbed: std::fmt::Debug {
    fn embed_query(&self, text: &str) -> Option<Vec<f32>>;
}

impl QueryEmbed for Embedder {
    fn embed_query(&self, text: &str) -> Option<Vec<f32>> {
        self.embed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedder() -> Embedder {
        let vocab: Vec<String> =
            ["[UNK]", "red", "chair", "##s", "paper"].iter().map(|s| s.to_string()).collect();
        let mut rows = Vectors::new(3);
        for r in [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.5], [0.0, 0.0, 1.0]] {
            rows.push(&r);
        }
        Embedder::new(EmbedderData { vocab, unk: "[UNK]".into(), rows, offset: vec![0.0, 0.0, 0.0] }).unwrap()
    }

    #[test]
    fn mean_of_known_tokens_normalized() {
        let e = embedder();
        let v = e.embed("Red Chair").unwrap();
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert!((v[0] - s).abs() < 0.01 && (v[1] - s).abs() < 0.01 && v[2].abs() < 0.01, "{v:?}");
        assert_eq!(e.embed("xyz ###"), None, "no known token");
        assert_eq!(e.embed(""), None);
        // The unknown word is skipped, not averaged in as zeros.
        assert_eq!(e.embed("red xyz"), e.embed("red"));
    }

    #[test]
    fn inconsistent_data_is_refused() {
        let mut data = embedder().data;
        data.offset.pop();
        assert!(Embedder::new(data.clone()).is_none());
        data.offset.push(0.0);
        data.unk = "[NOPE]".into();
        assert!(Embedder::new(data).is_none());
    }
}
