//! BERT WordPiece tokenization (the tokenizer of bge-base-en-v1.5, which Model2Vec potion models use),
//! so a query is cut into the same token ids at the edge, in the browser and in the indexer.
//!
//! Pipeline, as Hugging Face's `BertNormalizer` + `BertPreTokenizer` + `WordPiece` with lowercasing:
//! drop control characters, map whitespace to spaces, put spaces around CJK ideographs, decompose
//! (NFD) and drop nonspacing marks, lowercase; split on whitespace and make each punctuation character
//! its own word; then cut each word greedily into the longest vocabulary pieces (`##` marks a piece
//! that continues a word). A word that cannot be cut, or is longer than 100 chars, is `[UNK]`.

use std::collections::HashMap;

use unicode_categories::UnicodeCategories;
use unicode_normalization::UnicodeNormalization;

/// Longest word (in chars) WordPiece tries to cut; longer ones become `[UNK]`.
pub const MAX_WORD_CHARS: usize = 100;

/// A WordPiece vocabulary and its unknown-token id.
#[derive(Debug, Clone)]
pub struct WordPiece {
    ids: HashMap<String, u32>,
    unk: u32,
}

impl WordPiece {
    /// Builds the tokenizer from the vocabulary in id order. Returns `None` if `unk` is not in it.
    pub fn new(vocab: &[String], unk: &str) -> Option<WordPiece> {
        let ids: HashMap<String, u32> =
            vocab.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let unk = *ids.get(unk)?;
        Some(WordPiece { ids, unk })
    }

    pub fn unk(&self) -> u32 {
        self.unk
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Appends the token ids of `text` to `out`, at most `max_tokens` of them (`[UNK]` included).
    pub fn encode(&self, text: &str, max_tokens: usize, out: &mut Vec<u32>) {
        let normalized = normalize(text);
        let start = out.len();
        let mut piece = String::new();
        for word in pre_tokenize(&normalized) {
            if out.len() - start >= max_tokens {
                break;
            }
            self.word(word, &mut piece, out);
        }
        out.truncate(start + max_tokens);
    }

    fn word(&self, word: &str, piece: &mut String, out: &mut Vec<u32>) {
        if word.chars().count() > MAX_WORD_CHARS {
            out.push(self.unk);
            return;
        }
        let mark = out.len();
        let mut start = 0;
        while start < word.len() {
            // Longest piece starting at `start`, trying char boundaries from the end.
            let mut end = word.len();
            let mut found = None;
            while end > start {
                piece.clear();
                if start > 0 {
                    piece.push_str("##");
                }
                piece.push_str(&word[start..end]);
                if let Some(&id) = self.ids.get(piece.as_str()) {
                    found = Some(id);
                    break;
                }
                end = word[..end].char_indices().next_back().map_or(start, |(i, _)| i);
            }
            match found {
                Some(id) => {
                    out.push(id);
                    start = end;
                }
                None => {
                    out.truncate(mark);
                    out.push(self.unk);
                    return;
                }
            }
        }
    }
}

/// Bert normalization with lowercasing and accent stripping.
pub fn normalize(text: &str) -> String {
    let mut staged = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            staged.push(' ');
        } else if is_chinese_char(c) {
            staged.push(' ');
            staged.push(c);
            staged.push(' ');
        } else {
            staged.push(c);
        }
    }
    if staged.is_ascii() {
        return staged.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(staged.len());
    for c in staged.nfd().filter(|c| !c.is_mark_nonspacing()) {
        out.extend(c.to_lowercase());
    }
    out
}

/// Whitespace-separated words, with every punctuation character a word of its own.
pub fn pre_tokenize(text: &str) -> impl Iterator<Item = &str> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                words.push(&text[s..i]);
            }
        } else if c.is_ascii_punctuation() || c.is_punctuation() {
            if let Some(s) = start.take() {
                words.push(&text[s..i]);
            }
            words.push(&text[i..i + c.len_utf8()]);
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        words.push(&text[s..]);
    }
    words.into_iter()
}

fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    c.is_other()
}

fn is_chinese_char(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> WordPiece {
        let v: Vec<String> = [
            "[PAD]", "[UNK]", "chair", "##s", "office", ",", "un", "##want", "##ed", "cafe", "4", "/", "set",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        WordPiece::new(&v, "[UNK]").unwrap()
    }

    fn ids(text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        vocab().encode(text, 512, &mut out);
        out
    }

    #[test]
    fn greedy_longest_match() {
        assert_eq!(ids("Office Chairs"), [4, 2, 3]);
        assert_eq!(ids("unwanted,chair"), [6, 7, 8, 5, 2]);
        assert_eq!(ids("Chairs, 4/Set"), [2, 3, 5, 10, 11, 12]);
    }

    #[test]
    fn unknown_words_and_accents() {
        assert_eq!(ids("chairz"), [1], "a word that cannot be cut entirely is one [UNK]");
        assert_eq!(ids("CAFÉ"), [9]);
        assert_eq!(ids(&"a".repeat(101)), [1]);
        assert!(ids("").is_empty());
        assert!(ids("\u{0}\u{7}  \t").is_empty());
    }

    #[test]
    fn max_tokens_truncates() {
        let mut out = Vec::new();
        vocab().encode(&"chairs ".repeat(100), 5, &mut out);
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize("Über\tCafé 中"), "uber cafe  中 ");
        assert_eq!(pre_tokenize("hi, there!").collect::<Vec<_>>(), ["hi", ",", "there", "!"]);
    }
}
