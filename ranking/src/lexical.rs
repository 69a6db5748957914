//! Keyword retrieval: BM25 over weighted fields (title, brand, category path, description) with
//! plural folding, prefix matching on the word being typed, and one-typo tolerance on longer words.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use fst::automaton::{Automaton, Levenshtein, Str};
use fst::{IntoStreamer, Map, MapBuilder, Streamer};
use serde::{Deserialize, Serialize};

use crate::catalog::Product;
use crate::kv::{Blob, Kind};
use crate::text;

/// BM25 saturation and length normalization (the usual defaults).
const K1: f32 = 1.2;
const B: f32 = 0.75;
/// Field weights: a word in the title says more about the product than one in its description.
pub const FIELD_WEIGHTS: [(Field, f32); 4] =
    [(Field::Title, 2.0), (Field::Brand, 1.5), (Field::Category, 1.0), (Field::Description, 0.5)];
/// How much a non-exact match counts relative to an exact one.
pub const PREFIX_WEIGHT: f32 = 0.6;
pub const TYPO_WEIGHT: f32 = 0.5;
/// Shortest word (in chars) that tolerates one typo (an insertion, deletion, substitution or swap
/// of neighbouring letters).
pub const TYPO_MIN_CHARS: usize = 5;
/// Most vocabulary terms one query word may expand to.
pub const MAX_EXPANSIONS: usize = 64;
/// Vocabulary terms scanned for completions before the most frequent are picked.
pub const MAX_COMPLETION_SCAN: usize = 20_000;
/// Longest query accepted, in chars; longer input is cut before tokenizing.
pub const MAX_QUERY: usize = 200;
/// At most this many query words are matched; the rest are ignored.
pub const MAX_QUERY_WORDS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field {
    Title,
    Brand,
    Category,
    Description,
}

/// The stored form: vocabulary FST (term → posting list number), postings and document lengths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LexicalData {
    #[serde(with = "serde_bytes")]
    pub fst: Vec<u8>,
    /// Per term: `(doc, field-weighted term frequency)`, by doc.
    pub postings: Vec<Vec<(u32, f32)>>,
    pub doc_len: Vec<f32>,
}

impl Blob for LexicalData {
    const KIND: Kind = Kind::Lexical;
}

fn field_text(p: &Product, f: Field) -> String {
    match f {
        Field::Title => p.title.clone(),
        Field::Brand => p.brand.clone().unwrap_or_default(),
        Field::Category => p.category.join(" "),
        Field::Description => p.description.clone().unwrap_or_default(),
    }
}

impl LexicalData {
    /// Indexes products; document `i` is `products[i]`.
    pub fn build(products: &[Product]) -> LexicalData {
        Self::build_with(products.len(), |d, f| field_text(&products[d], f))
    }

    /// Indexes cards by title and category (cards carry no brand or description): the keyword index
    /// of rows sent to the device, which has only cards.
    pub fn build_cards(items: &crate::columns::CellItems) -> LexicalData {
        Self::build_with(items.len(), |d, f| match f {
            Field::Title => items.titles.get(d).unwrap_or_default().to_owned(),
            Field::Category => items.category(d).join(" "),
            Field::Brand | Field::Description => String::new(),
        })
    }

    /// Indexes `count` documents whose field texts `field_of(doc, field)` gives.
    fn build_with(count: usize, field_of: impl Fn(usize, Field) -> String) -> LexicalData {
        let mut terms: std::collections::BTreeMap<String, HashMap<u32, f32>> = Default::default();
        let mut doc_len = Vec::with_capacity(count);
        for d in 0..count {
            let mut len = 0.0;
            for (field, w) in FIELD_WEIGHTS {
                for word in text::words(&field_of(d, field)) {
                    *terms.entry(word).or_default().entry(d as u32).or_insert(0.0) += w;
                    len += w;
                }
            }
            doc_len.push(len);
        }
        let mut builder = MapBuilder::memory();
        let mut postings = Vec::with_capacity(terms.len());
        for (i, (term, docs)) in terms.into_iter().enumerate() {
            // Keys arrive sorted and unique from the BTreeMap, the only way insert can fail.
            let _ = builder.insert(term.as_bytes(), i as u64);
            let mut list: Vec<(u32, f32)> = docs.into_iter().collect();
            crate::order::sort_by_key(&mut list, |(d, _)| *d);
            postings.push(list);
        }
        LexicalData { fst: builder.into_inner().unwrap_or_default(), postings, doc_len }
    }
}

/// The one-typo automata of a query's words, each built once per query and shared by every keyword
/// index it searches (the cells of a partitioned catalog): building one costs more than searching a
/// cell's vocabulary with it. `None` for a word no automaton can be built for.
#[derive(Debug, Default)]
pub struct Typos(RefCell<Vec<(String, Option<Rc<Levenshtein>>)>>);

impl Typos {
    fn of(&self, word: &str) -> Option<Rc<Levenshtein>> {
        if let Some((_, lev)) = self.0.borrow().iter().find(|(w, _)| w == word) {
            return lev.clone();
        }
        let lev = Levenshtein::new(word, 1).ok().map(Rc::new);
        self.0.borrow_mut().push((word.to_owned(), lev.clone()));
        lev
    }
}

/// The queryable index.
#[derive(Debug)]
pub struct Lexicon {
    map: Map<Vec<u8>>,
    data: LexicalData,
    avg_len: f32,
}

/// How a query word matched a document's term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Match {
    Exact,
    Prefix,
    Typo,
}

/// One document's keyword result.
#[derive(Debug, Clone, PartialEq)]
pub struct LexHit {
    pub doc: usize,
    pub score: f32,
    /// Query words this document matched.
    pub matched: usize,
    /// Weakest kind of match used (for explanations).
    pub worst: Match,
}

impl Lexicon {
    /// `None` when the stored FST is corrupt.
    pub fn new(mut data: LexicalData) -> Option<Lexicon> {
        let map = Map::new(std::mem::take(&mut data.fst)).ok()?;
        // Reading a corrupt FST can panic; its checksum catches corruption once, here.
        map.as_fst().verify().ok()?;
        let n = data.doc_len.len().max(1) as f32;
        let avg_len = (data.doc_len.iter().sum::<f32>() / n).max(1.0);
        Some(Lexicon { map, data, avg_len })
    }

    pub fn docs(&self) -> usize {
        self.data.doc_len.len()
    }

    /// Vocabulary terms for one query word: `(posting list, kind)`.
    fn expand(&self, word: &str, last: bool, typos: &Typos) -> Vec<(usize, Match)> {
        let mut out = Vec::new();
        let push = |i: u64, m: Match, out: &mut Vec<(usize, Match)>| {
            if !out.iter().any(|(j, _)| *j == i as usize) {
                out.push((i as usize, m));
            }
        };
        for form in forms(word) {
            if let Some(i) = self.map.get(form.as_bytes()) {
                push(i, Match::Exact, &mut out);
            }
        }
        if last {
            for i in self.matching(Str::new(word).starts_with()) {
                push(i, Match::Prefix, &mut out);
            }
        }
        if out.is_empty() && word.chars().count() >= TYPO_MIN_CHARS {
            // Swapped neighbours ("chiar") are the commonest typo but two Levenshtein edits: look
            // each swap up directly, so they cost one edit like Damerau-Levenshtein counts them.
            let chars: Vec<char> = word.chars().collect();
            for i in 0..chars.len() - 1 {
                let mut swapped = chars.clone();
                swapped.swap(i, i + 1);
                let form: String = swapped.into_iter().collect();
                for f in [form.clone(), format!("{form}s")] {
                    if let Some(t) = self.map.get(f.as_bytes()) {
                        push(t, Match::Typo, &mut out);
                    }
                }
            }
            if let Some(lev) = typos.of(word) {
                for i in self.matching(&*lev) {
                    push(i, Match::Typo, &mut out);
                }
            }
        }
        out
    }

    /// Posting list numbers of the first [`MAX_EXPANSIONS`] terms an automaton accepts.
    fn matching<A: Automaton>(&self, automaton: A) -> Vec<u64> {
        let mut stream = self.map.search(automaton).into_stream();
        let mut out = Vec::new();
        while let Some((_, i)) = stream.next() {
            out.push(i);
            if out.len() >= MAX_EXPANSIONS {
                break;
            }
        }
        out
    }

    /// BM25 term weight with the query word's `idf`.
    fn bm25(&self, idf: f32, doc: u32, tf: f32) -> f32 {
        let dl = self.data.doc_len.get(doc as usize).copied().unwrap_or(self.avg_len);
        idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * dl / self.avg_len))
    }

    /// Scores every document matching at least one query word.
    ///
    /// Contract: a word's score in a document is the best, over its expansions, of
    /// `weight(kind) · BM25(term, doc)` with the idf of the word (from the documents all its expansions
    /// match), where exact (plural-folded) matches weigh 1, prefix matches
    /// (last word only, as the shopper is still typing it) [`PREFIX_WEIGHT`], and one-edit matches
    /// (words of [`TYPO_MIN_CHARS`]+ chars with no exact or prefix match) [`TYPO_WEIGHT`]. A document's
    /// score is the sum over words. Returns hits in document order; never panics.
    pub fn search(&self, query: &str) -> (Vec<LexHit>, usize) {
        self.search_with(query, &|_, _| None, &Typos::default())
    }

    /// [`Lexicon::search`] with `idf(word, is_last)` overriding a query word's idf when it returns
    /// one: a cell of a partitioned catalog scores with the whole catalog's statistics, so a word
    /// common in one cell but rare overall weighs the same in every cell. Searches of one query in
    /// several cells share `typos`.
    pub fn search_with(
        &self,
        query: &str,
        idf_of: &dyn Fn(&str, bool) -> Option<f32>,
        typos: &Typos,
    ) -> (Vec<LexHit>, usize) {
        let query: String = query.chars().take(MAX_QUERY).collect();
        let mut words = text::words(&query);
        let ends_in_word = query.chars().last().is_some_and(char::is_alphanumeric);
        // The word being typed is the query's last one, wherever deduplication leaves it.
        let typing = if ends_in_word { words.last().cloned() } else { None };
        let mut seen = std::collections::HashSet::new();
        words.retain(|w| seen.insert(w.clone()));
        words.truncate(MAX_QUERY_WORDS);
        let n_words = words.len();
        // Per document (dense: a search may match every document of a cell, and hashing each costs
        // more than scoring it): score so far, words matched, weakest match. Postings naming a
        // document past the index are corrupt and skipped.
        let docs = self.docs();
        let mut acc: Vec<(f32, usize, Match)> = vec![(0.0, 0, Match::Exact); docs];
        let mut best: Vec<Option<(f32, Match)>> = vec![None; docs];
        for word in &words {
            let last = typing.as_deref() == Some(word.as_str());
            best.iter_mut().for_each(|b| *b = None);
            let expansions = self.expand(word, last, typos);
            // One idf per query word, from every document any of its expansions matches: otherwise
            // a rare completion ("chairside" for "chair") would outweigh the word itself.
            let df = {
                let mut docs: Vec<u32> = expansions
                    .iter()
                    .flat_map(|(list, _)| {
                        self.data.postings.get(*list).into_iter().flatten().map(|(d, _)| *d)
                    })
                    .collect();
                crate::order::sort_by(&mut docs, Ord::cmp);
                docs.dedup();
                docs.len() as f32
            };
            let idf = idf_of(word, last).unwrap_or_else(|| idf(self.docs() as f32, df));
            for (list, kind) in expansions {
                let w = match kind {
                    Match::Exact => 1.0,
                    Match::Prefix => PREFIX_WEIGHT,
                    Match::Typo => TYPO_WEIGHT,
                };
                for &(doc, tf) in self.data.postings.get(list).map(Vec::as_slice).unwrap_or(&[]) {
                    let Some(b) = best.get_mut(doc as usize) else { continue };
                    let s = w * self.bm25(idf, doc, tf);
                    let e = b.get_or_insert((0.0, kind));
                    if s > e.0 {
                        *e = (s, kind);
                    }
                }
            }
            for (e, (s, kind)) in acc.iter_mut().zip(&best).filter_map(|(e, b)| Some((e, (*b)?))) {
                e.0 += if s.is_finite() { s } else { 0.0 };
                e.1 += 1;
                e.2 = worse(e.2, kind);
            }
        }
        let hits: Vec<LexHit> = acc
            .into_iter()
            .enumerate()
            .filter(|(_, (_, matched, _))| *matched > 0)
            .map(|(doc, (score, matched, worst))| LexHit { doc, score, matched, worst })
            .collect();
        (hits, n_words)
    }

    /// Completions of the last word of `prefix`, most frequent (by document count) first.
    pub fn complete(&self, prefix: &str, limit: usize) -> Vec<String> {
        let words = text::words(prefix);
        let Some(last) = words.last() else { return Vec::new() };
        let mut found = Vec::new();
        let mut stream = self.map.search(Str::new(last).starts_with()).into_stream();
        while let Some((term, i)) = stream.next() {
            let df = self.data.postings.get(i as usize).map_or(0, Vec::len);
            found.push((df, String::from_utf8_lossy(term).into_owned()));
            if found.len() >= MAX_COMPLETION_SCAN {
                break;
            }
        }
        crate::order::sort_by(&mut found, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        found.into_iter().take(limit).map(|(_, t)| t).collect()
    }
}

/// The forms of a query word matched exactly: itself and its plural or singular (`s`, `es`).
pub fn forms(word: &str) -> Vec<String> {
    let singular = word.strip_suffix("es").into_iter().chain(word.strip_suffix('s'));
    [word.to_owned(), format!("{word}s"), format!("{word}es")]
        .into_iter()
        .chain(singular.map(String::from))
        .collect()
}

/// BM25's idf of a term in `df` of `n` documents (always positive).
pub fn idf(n: f32, df: f32) -> f32 {
    let df = df.clamp(0.0, n.max(0.0));
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

fn worse(a: Match, b: Match) -> Match {
    let rank = |m| match m {
        Match::Exact => 0,
        Match::Prefix => 1,
        Match::Typo => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}
