//! Home feeds: the non-personal list (most purchased first) and the personal one, built from the
//! shopper's on-device history and the precomputed [`ItemIndex`].

use serde::{Deserialize, Serialize};

use crate::catalog::{Card, Event};
use crate::rows::Rows;
use crate::weights::{Weights, finite_or_zero};

/// Largest page of a feed.
pub const MAX_LIMIT: usize = 100;
/// History entries that shape the shopper's vector (most recent first); older ones only stop their
/// items from being recommended back.
pub const MAX_HISTORY: usize = 50;
/// History entries checked for exclusion at most (the edge accepts no more than this).
pub const MAX_EXCLUDED: usize = 200;

/// Positions of every known item in the (first [`MAX_EXCLUDED`] entries of the) history.
fn history_positions(index: &dyn Rows, history: &[Seen<'_>]) -> std::collections::HashSet<usize> {
    let ids: Vec<&str> = history.iter().take(MAX_EXCLUDED).map(|s| s.id).collect();
    index.lookup(&ids).into_iter().flatten().collect()
}

/// Sorts cards most purchased first, ties by id (the order of the stored `popular` list).
pub fn sort_by_popularity(cards: &mut [Card]) {
    crate::order::sort_by(cards, |a, b| b.purchases.cmp(&a.purchases).then_with(|| a.id.cmp(&b.id)));
}

/// One entry of a shopper's history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen<'a> {
    pub id: &'a str,
    pub event: Event,
}

/// Why an item scored what it did: each signal's weighted contribution, which sum to the score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Why {
    /// Chosen by shoppers with similar histories (the learnt item embeddings).
    #[serde(default)]
    pub collaborative: f32,
    /// Close in content (text) to the history.
    pub similarity: f32,
    pub co_occurrence: f32,
    pub popularity: f32,
    /// Share of the list price taken off (Deals only).
    #[serde(default)]
    pub discount: f32,
    /// The history item that contributed most, if any.
    pub because: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub index: usize,
    pub score: f32,
    pub why: Why,
}

/// Personal recommendations for a history (most recent first).
///
/// Contract: each item not in the history scores the [`blend`] of its [`Parts`] for the shopper
/// ([`Shopper::parts`]), and [`Why`] holds the weighted terms, which add up to the score. Unknown ids
/// are skipped; only the first [`MAX_HISTORY`] distinct ids count; an empty (or all-unknown) history
/// ranks by popularity alone (the cold start), diversified. Results are ordered by score desc then
/// index asc, with at most `max_per_category` per leaf category as long as enough other items exist.
/// Never panics, whatever the weights or data (NaN scores count as 0).
pub fn recommend(index: &dyn Rows, history: &[Seen<'_>], w: &Weights, limit: usize) -> Vec<Scored> {
    rank(index, history, w, limit.min(MAX_LIMIT))
}

/// A shopper's history prepared for scoring: each known item once, weighted, and the shopper's
/// vectors in the collaborative and the content space.
#[derive(Debug, Clone, PartialEq)]
pub struct Shopper {
    /// `(item, weight)`, most recent first: each of the first [`MAX_HISTORY`] distinct ids counts
    /// once, at its most recent position `k` and with its strongest event, weighing
    /// `event weight · recency_decay^k`.
    pub known: Vec<(usize, f32)>,
    /// The normalized weighted sum of the known items' collaborative vectors.
    pub collaborative: Vec<f32>,
    /// The normalized weighted sum of the known items' content vectors.
    pub content: Vec<f32>,
    /// Items never offered back: the known ones and the rest of the history's first
    /// [`MAX_EXCLUDED`] entries.
    pub excluded: std::collections::HashSet<usize>,
}

/// One item's signals for one shopper, before weights: what [`blend`] mixes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Parts {
    /// Collaborative cosine, floored at 0.
    pub collaborative: f32,
    /// Content cosine.
    pub similarity: f32,
    /// Weighted share of the history's co-occurrence neighbour weight on this item.
    pub co_occurrence: f32,
    /// The item's popularity signal, 0..=1.
    pub popularity: f32,
}

impl Shopper {
    pub fn new(index: &dyn Rows, history: &[Seen<'_>], w: &Weights) -> Shopper {
        // Distinct ids, most recent first, each with its strongest event.
        let mut distinct: Vec<(&str, Event)> = Vec::new();
        for seen in history {
            if let Some(entry) = distinct.iter_mut().find(|(id, _)| *id == seen.id) {
                if w.event(seen.event) > w.event(entry.1) {
                    entry.1 = seen.event;
                }
            } else if distinct.len() < MAX_HISTORY {
                distinct.push((seen.id, seen.event));
            }
        }
        let ids: Vec<&str> = distinct.iter().map(|(id, _)| *id).collect();
        let items: Vec<(Option<usize>, Event)> =
            index.lookup(&ids).into_iter().zip(distinct.iter().map(|(_, e)| *e)).collect();
        Shopper::of_items(index, &items, history_positions(index, history), w)
    }

    /// A shopper from distinct history items already looked up (`None`: unknown), most recent
    /// first, and the items never to offer back (`excluded`).
    pub fn of_items(
        index: &dyn Rows,
        items: &[(Option<usize>, Event)],
        excluded: std::collections::HashSet<usize>,
        w: &Weights,
    ) -> Shopper {
        let decay = finite_or_zero(w.recency_decay).clamp(0.0, 1.0);
        let mut known = Vec::new();
        let mut factor = 1.0f32;
        for &(pos, event) in items.iter().take(MAX_HISTORY) {
            if let Some(p) = pos.filter(|&p| p < index.len()) {
                known.push((p, w.event(event) * factor));
            }
            factor *= decay;
        }
        let collaborative = crate::rows::weighted_sum(index, &known, false);
        let content = crate::rows::weighted_sum(index, &known, true);
        let mut excluded = excluded;
        excluded.extend(known.iter().map(|(p, _)| *p));
        Shopper { known, collaborative, content, excluded }
    }

    /// Every item's [`Parts`] for this shopper, and for each item the history item that gave it the
    /// most co-occurrence weight (`usize::MAX`: none). Items in the history are scored too; callers
    /// skip them.
    pub fn parts(&self, index: &dyn Rows) -> (Vec<Parts>, Vec<usize>) {
        let n = index.len();
        let (co, co_best) = self.co_occurrence(n, index);
        let personal = !self.known.is_empty();
        let collab = crate::vector::Query::new(&self.collaborative);
        let content = crate::vector::Query::new(&self.content);
        let parts = (0..n)
            .map(|i| Parts {
                collaborative: if personal {
                    finite_or_zero(index.collaborative_dot(i, &collab)).max(0.0)
                } else {
                    0.0
                },
                similarity: if personal { finite_or_zero(index.content_dot(i, &content)) } else { 0.0 },
                co_occurrence: co[i],
                popularity: finite_or_zero(index.popularity(i)),
            })
            .collect();
        (parts, co_best)
    }

    /// Per item, `Σ_k weight_k · neighbour weight(k → item) / Σ_k weight_k` over the known items,
    /// and the history item contributing most.
    fn co_occurrence(&self, n: usize, index: &dyn Rows) -> (Vec<f32>, Vec<usize>) {
        let mut co = vec![0.0f32; n];
        let mut best: Vec<(f32, usize)> = vec![(0.0, usize::MAX); n];
        let total: f32 = self.known.iter().map(|(_, k)| k).sum();
        if total > 0.0 {
            for &(p, k) in &self.known {
                for (j, weight) in index.neighbours(p) {
                    let c = k * finite_or_zero(weight) / total;
                    if j < n {
                        co[j] += c;
                        if c > best[j].0 {
                            best[j] = (c, p);
                        }
                    }
                }
            }
        }
        (co.into_iter().map(finite_or_zero).collect(), best.into_iter().map(|(_, p)| p).collect())
    }
}

/// An item's score: `collaborative·c + similarity·s + co_occurrence·o + popularity·p` with each term
/// in [`Why`] (non-finite terms count as 0).
pub fn blend(w: &Weights, p: &Parts) -> (f32, Why) {
    let f = finite_or_zero;
    let why = Why {
        collaborative: f(f(w.collaborative) * p.collaborative),
        similarity: f(f(w.similarity) * p.similarity),
        co_occurrence: f(f(w.co_occurrence) * p.co_occurrence),
        popularity: f(f(w.popularity) * p.popularity),
        discount: 0.0,
        because: None,
    };
    (why.collaborative + why.similarity + why.co_occurrence + why.popularity, why)
}

/// The weights of the cold start: popularity alone, whatever a variant says (a shop's trending list
/// must not depend on how much popularity counts next to a history).
fn cold_start(w: &Weights) -> Weights {
    Weights { collaborative: 0.0, similarity: 0.0, co_occurrence: 0.0, popularity: 1.0, ..w.clone() }
}

/// Every item not in the history with its [`blend`], in item order; and each item's co-occurrence
/// source (see [`Shopper::parts`]).
pub fn score_all(index: &dyn Rows, shopper: &Shopper, w: &Weights) -> (Vec<Scored>, Vec<usize>) {
    let (parts, co_best) = shopper.parts(index);
    (score_parts(&parts, shopper, w), co_best)
}

/// [`score_all`] from the items' parts already computed for `shopper`.
fn score_parts(parts: &[Parts], shopper: &Shopper, w: &Weights) -> Vec<Scored> {
    if shopper.known.is_empty() {
        return blend_all(parts, &shopper.excluded, &cold_start(w));
    }
    blend_all(parts, &shopper.excluded, w)
}

/// The cold start's ranking (popularity alone, nothing excluded, no category shares), from parts
/// computed for any shopper: what "Trending" lists.
fn trending(index: &dyn Rows, parts: &[Parts], w: &Weights, limit: usize) -> Vec<Scored> {
    let popular: Vec<Parts> =
        parts.iter().map(|p| Parts { popularity: p.popularity, ..Parts::default() }).collect();
    let scored = blend_all(&popular, &Default::default(), &cold_start(w));
    top(index, scored, &Caps::flat(w.max_per_category as usize), limit.min(index.len()))
}

/// Every item's [`blend`] of its `parts` under `w`, in item order, leaving out `excluded` ones.
fn blend_all(parts: &[Parts], excluded: &std::collections::HashSet<usize>, w: &Weights) -> Vec<Scored> {
    // A dense mask: hashing every item's position would cost more than blending it.
    let mut skip = vec![false; parts.len()];
    for &i in excluded {
        if let Some(s) = skip.get_mut(i) {
            *s = true;
        }
    }
    let kept = parts.iter().enumerate().filter(|(i, _)| !skip[*i]);
    kept.map(|(i, p)| {
        let (score, why) = blend(w, p);
        Scored { index: i, score, why }
    })
    .collect()
}

/// How many items of one leaf category a list may hold: the variant's `max_per_category`, raised for
/// a category to its share of the shopper's (weighted) history times the list's length. A shopper
/// who buys only garden tools sees mostly garden tools, one with varied taste sees variety, and the
/// cold start sees at most `max_per_category` of any category (calibration: Steck, "Calibrated
/// recommendations", RecSys 2018). A cap of 0 means none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Caps {
    base: usize,
    /// `(category path, share of the history's weight)`.
    shares: Vec<(Vec<String>, f32)>,
}

impl Caps {
    pub fn new(index: &dyn Rows, shopper: &Shopper, base: usize) -> Caps {
        let total: f32 = shopper.known.iter().map(|(_, k)| k).sum();
        let mut shares: Vec<(Vec<String>, f32)> = Vec::new();
        if total > 0.0 {
            for &(p, k) in &shopper.known {
                if p >= index.len() {
                    continue;
                }
                let category = index.category(p);
                match shares.iter_mut().find(|(c, _)| c.as_slice() == category) {
                    Some(entry) => entry.1 += k / total,
                    None => shares.push((category.to_vec(), k / total)),
                }
            }
        }
        Caps { base, shares }
    }

    /// The cap alone, for a list with no history behind it.
    pub fn flat(base: usize) -> Caps {
        Caps { base, shares: Vec::new() }
    }

    /// Most items of `category` in a list of `limit`.
    fn of(&self, category: &[String], limit: usize) -> usize {
        if self.base == 0 {
            return usize::MAX;
        }
        let share = self.shares.iter().find(|(c, _)| c.as_slice() == category).map_or(0.0, |(_, s)| *s);
        self.base.max((finite_or_zero(share).clamp(0.0, 1.0) * limit as f32).ceil() as usize)
    }
}

/// Orders scored items best first (ties by index) and takes `limit` with at most [`Caps`] items of
/// each leaf category (see [`diversify`]).
pub fn top(index: &dyn Rows, mut scored: Vec<Scored>, caps: &Caps, limit: usize) -> Vec<Scored> {
    let order = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index));
    // Only the head matters: select it in linear time, sort just that, and fall back to the full
    // order only if the category cap leaves the head short.
    let head = (limit * 8 + 64).min(scored.len());
    if head < scored.len() {
        crate::order::sort_head_by(&mut scored, head, order);
        let picked = diversify(index, &scored[..head], caps, limit);
        if caps.base == 0 || picked.len() == limit && distinct_enough(index, &picked, caps, limit) {
            return picked;
        }
    }
    crate::order::sort_by(&mut scored, order);
    diversify(index, &scored, caps, limit)
}

/// [`recommend`] without the page cap, for sections that must skip items shown above them.
fn rank(index: &dyn Rows, history: &[Seen<'_>], w: &Weights, limit: usize) -> Vec<Scored> {
    let shopper = Shopper::new(index, history, w);
    let (scored, co_best) = score_all(index, &shopper, w);
    let caps = Caps::new(index, &shopper, w.max_per_category as usize);
    let picked = top(index, scored, &caps, limit.min(index.len()));
    explain(index, &shopper, &co_best, picked)
}

/// Fills in each item's "because": the history item behind its larger personal term (co-occurrence
/// or collaborative). Only returned items need it: finding the nearest history item costs a scan of
/// the history per item.
fn explain(index: &dyn Rows, shopper: &Shopper, co_best: &[usize], mut items: Vec<Scored>) -> Vec<Scored> {
    for s in &mut items {
        let source = if s.why.co_occurrence > 0.0 && s.why.co_occurrence >= s.why.collaborative {
            co_best.get(s.index).copied().filter(|&p| p != usize::MAX)
        } else {
            nearest(index, &shopper.known, s.index)
        };
        s.why.because = source.and_then(|p| index.id(p)).map(str::to_owned);
    }
    items
}

/// The shopper's collaborative vector (see [`Shopper`]), with the known `(item, weight)` pairs: what
/// search's personal affinity and the partitioned layout's routing use.
pub fn user_vector(index: &dyn Rows, history: &[Seen<'_>], w: &Weights) -> (Vec<(usize, f32)>, Vec<f32>) {
    let s = Shopper::new(index, history, w);
    (s.known, s.collaborative)
}

/// A titled row of the home feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// `for-you`, `because`, `trending`.
    pub id: String,
    pub title: String,
    /// For `because`: the history item it is about.
    pub because: Option<String>,
    pub items: Vec<Scored>,
}

/// The home feed: "For you" and "Because you viewed <item>" when the history has known items, then
/// "Trending" (popular, diversified). No item appears twice across sections, and none from the history.
///
/// Contract: `For you` is [`recommend`]; `Because you viewed` lists the precomputed similar items of
/// the most recent known history item, minus the history; `Trending` is [`recommend`] with an empty
/// history, minus items already shown; `Deals` lists items on sale (see [`deals`]). Each section has
/// at most `per_section` items; empty sections are left out. An empty or unknown history gives
/// `Trending` (and `Deals` when anything is on sale) alone: the cold start.
pub fn home(index: &dyn Rows, history: &[Seen<'_>], w: &Weights, per_section: usize) -> Vec<Section> {
    let mut sections = Vec::new();
    let per_section = per_section.min(MAX_LIMIT);
    // Scored once: "For you" and "Deals" rank the same scores, "Trending" the same popularity.
    let shopper = Shopper::new(index, history, w);
    let (parts, co_best) = shopper.parts(index);
    let scored = score_parts(&parts, &shopper, w);
    let caps = Caps::new(index, &shopper, w.max_per_category as usize);
    // Items in the history are never offered back, in any section.
    let mut shown = shopper.excluded.clone();
    if let Some((last, last_card)) = shopper.known.first().and_then(|&(p, _)| Some((p, index.card(p)?))) {
        let picked = top(index, scored.clone(), &caps, per_section);
        let for_you = explain(index, &shopper, &co_best, picked);
        shown.extend(for_you.iter().map(|s| s.index));
        sections.push(Section {
            id: "for-you".into(),
            title: "For you".into(),
            because: None,
            items: for_you,
        });
        let because: Vec<Scored> = index
            .similar_to(last)
            .into_iter()
            .filter(|(j, _)| !shown.contains(j))
            .take(per_section)
            .map(|(j, score)| Scored {
                index: j,
                score,
                why: Why { because: Some(last_card.id.clone()), ..Why::default() },
            })
            .collect();
        shown.extend(because.iter().map(|s| s.index));
        if !because.is_empty() {
            sections.push(Section {
                id: "because".into(),
                title: format!("Because you viewed {}", last_card.title),
                because: Some(last_card.id.clone()),
                items: because,
            });
        }
    }
    let trending: Vec<Scored> = trending(index, &parts, w, per_section + shown.len())
        .into_iter()
        .filter(|s| !shown.contains(&s.index))
        .take(per_section)
        .collect();
    shown.extend(trending.iter().map(|s| s.index));
    if !trending.is_empty() {
        sections.push(Section {
            id: "trending".into(),
            title: "Trending".into(),
            because: None,
            items: trending,
        });
    }
    let deals = deals(index, scored, &caps, per_section, &shown);
    if !deals.is_empty() {
        sections.push(Section { id: "deals".into(), title: "Deals".into(), because: None, items: deals });
    }
    sections
}

/// Smallest discount that makes a Deal: a few cents off is not one.
pub const MIN_DEAL: f32 = 0.05;

/// The Deals section: items at least [`MIN_DEAL`] below their list price, not shown above, scored by
/// their discount plus their score for the shopper (`scored`, from [`score_all`]), diversified as
/// "For you" is.
fn deals(
    index: &dyn Rows,
    scored: Vec<Scored>,
    caps: &Caps,
    limit: usize,
    shown: &std::collections::HashSet<usize>,
) -> Vec<Scored> {
    let on_sale: Vec<Scored> = scored
        .into_iter()
        .filter(|s| !shown.contains(&s.index))
        .filter_map(|mut s| {
            let discount = finite_or_zero(index.discount(s.index));
            (discount >= MIN_DEAL).then(|| {
                s.why.discount = discount;
                s.score += discount;
                s
            })
        })
        .collect();
    top(index, on_sale, caps, limit)
}

/// The history item most similar to item `i` (by collaborative vector, weighted as in the shopper's
/// vector), for "because".
fn nearest(index: &dyn Rows, known: &[(usize, f32)], i: usize) -> Option<usize> {
    let (v, r) = index.collaborative(i)?;
    let q = crate::vector::Query::new(&v.get(r));
    known
        .iter()
        .map(|&(p, k)| (k * index.collaborative_dot(p, &q), p))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| p)
}

/// True when no category exceeds its cap in `picked`: the head held enough variety, so the full
/// ranking would pick the same items.
fn distinct_enough(index: &dyn Rows, picked: &[Scored], caps: &Caps, limit: usize) -> bool {
    let mut per: std::collections::HashMap<&[String], usize> = std::collections::HashMap::new();
    picked.iter().all(|s| {
        let cat = index.category(s.index);
        let c = per.entry(cat).or_insert(0);
        *c += 1;
        *c <= caps.of(cat, limit)
    })
}

/// Takes the best `limit` items with at most [`Caps`] items per leaf category, filling up with the
/// skipped ones (in score order) when the caps leave too few.
fn diversify(index: &dyn Rows, sorted: &[Scored], caps: &Caps, limit: usize) -> Vec<Scored> {
    if caps.base == 0 {
        return sorted.iter().take(limit).cloned().collect();
    }
    let mut per: std::collections::HashMap<&[String], usize> = std::collections::HashMap::new();
    let (mut out, mut rest) = (Vec::with_capacity(limit), Vec::new());
    for s in sorted.iter().cloned() {
        if out.len() == limit {
            break;
        }
        let cat = index.category(s.index);
        let count = per.entry(cat).or_insert(0);
        if *count < caps.of(cat, limit) {
            *count += 1;
            out.push(s);
        } else {
            rest.push(s);
        }
    }
    let missing = limit - out.len();
    out.extend(rest.into_iter().take(missing));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Price;
    use crate::index::ItemIndex;
    use crate::vector::Vectors;
    use proptest::prelude::*;

    /// Six items on a plane: chairs point one way, paper the other; a/b and c/d co-occur.
    fn index() -> ItemIndex {
        let items = [
            ("chair-a", "Chairs", [1.0, 0.1], 5),
            ("chair-b", "Chairs", [0.9, 0.2], 1),
            ("paper-c", "Paper", [0.1, 1.0], 9),
            ("paper-d", "Paper", [0.2, 0.9], 2),
            ("lamp-e", "Lamps", [0.7, 0.7], 0),
            ("chair-f", "Chairs", [0.95, 0.0], 3),
        ];
        let mut vectors = Vectors::new(2);
        let mut cards = Vec::new();
        for (id, cat, v, n) in items {
            let mut v = v.to_vec();
            crate::vector::normalize(&mut v);
            vectors.push(&v);
            cards.push(Card {
                id: id.into(),
                title: id.into(),
                price: Price { amount: 1.0, currency: "USD".into() },
                category: vec!["Office".into(), cat.into()],
                image: String::new(),
                purchases: n,
                list_price: None,
            });
        }
        let neighbours = vec![vec![(1, 0.8)], vec![(0, 0.8)], vec![(3, 0.5)], vec![(2, 0.5)], vec![], vec![]];
        let plain = crate::signals::Signals::of(
            &serde_json::from_str(
                r#"{"id":"a","title":"T","category":["C"],"price":{"amount":1,"currency":"USD"}}"#,
            )
            .unwrap(),
            None,
        );
        // Popularity as the indexer computes it, from the same counts as the cards' purchases.
        let signals = cards
            .iter()
            .map(|c| {
                std::sync::Arc::new(crate::signals::Signals {
                    popularity: crate::signals::Signals::popularity_of(c.purchases as f32, 9.0),
                    ..plain.clone()
                })
            })
            .collect();
        let similar = vec![vec![1, 5, 4], vec![0, 5], vec![3], vec![2], vec![], vec![0, 1]];
        ItemIndex {
            cards: cards.into_iter().map(std::sync::Arc::new).collect(),
            content: vectors.clone(),
            vectors,
            neighbours,
            signals,
            similar,
            bought_together: vec![vec![]; 6],
        }
    }

    fn ids(index: &ItemIndex, r: &[Scored]) -> Vec<String> {
        r.iter().map(|s| index.cards[s.index].id.clone()).collect()
    }

    #[test]
    fn cold_start_is_popular_and_diverse() {
        let idx = index();
        let w = Weights { max_per_category: 1, ..Weights::default() };
        let r = recommend(&idx, &[], &w, 4);
        // One per category first; then the best of the rest (chair-f outsells paper-d).
        assert_eq!(ids(&idx, &r), ["paper-c", "chair-a", "lamp-e", "chair-f"]);
        assert!(r.iter().all(|s| s.why.because.is_none() && s.why.similarity == 0.0));
    }

    #[test]
    fn history_pulls_similar_and_co_occurring_items() {
        let idx = index();
        let w = Weights { similarity: 1.0, popularity: 0.1, ..Weights::default() };
        let history = [Seen { id: "chair-a", event: Event::View }];
        let r = recommend(&idx, &history, &w, 5);
        insta::assert_debug_snapshot!(
            r.iter()
                .map(|s| (
                    idx.cards[s.index].id.as_str(),
                    (s.score * 1000.0).round() / 1000.0,
                    s.why.because.as_deref()
                ))
                .collect::<Vec<_>>()
        );
        assert!(!ids(&idx, &r).contains(&"chair-a".to_string()), "seen items are not recommended");
        for s in &r {
            let sum = s.why.collaborative + s.why.similarity + s.why.co_occurrence + s.why.popularity;
            assert!((sum - s.score).abs() < 1e-5, "explanation adds up to the score");
        }
    }

    #[test]
    fn recent_and_stronger_events_count_more() {
        let idx = index();
        let w = Weights {
            popularity: 0.0,
            co_occurrence: 0.0,
            similarity: 1.0,
            max_per_category: 0,
            recency_decay: 0.3,
            purchase: 10.0,
            ..Weights::default()
        };
        // Viewed a chair, then paper: the recent paper dominates.
        let chair_then_paper =
            [Seen { id: "paper-c", event: Event::View }, Seen { id: "chair-a", event: Event::View }];
        assert_eq!(ids(&idx, &recommend(&idx, &chair_then_paper, &w, 1)), ["paper-d"]);
        // Bought the chair before viewing paper: the purchase outweighs recency.
        let bought_chair =
            [Seen { id: "paper-c", event: Event::View }, Seen { id: "chair-a", event: Event::Purchase }];
        assert_eq!(ids(&idx, &recommend(&idx, &bought_chair, &w, 1)), ["chair-b"]);
    }

    #[test]
    fn home_sections() {
        let idx = index();
        let w = Weights::default();
        let cold = home(&idx, &[], &w, 3);
        assert_eq!(cold.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["trending"]);
        let warm = home(
            &idx,
            &[Seen { id: "chair-a", event: Event::View }, Seen { id: "nope", event: Event::View }],
            &w,
            2,
        );
        assert_eq!(
            warm.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["for-you", "because", "trending"]
        );
        assert_eq!(warm[1].title, "Because you viewed chair-a");
        let all: Vec<usize> = warm.iter().flat_map(|s| s.items.iter().map(|i| i.index)).collect();
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len(), "no item twice");
        assert!(!all.contains(&0), "the viewed item is not recommended back");
        // Trending is the cold start's ranking minus what the sections above show.
        let above: Vec<usize> = warm[..2].iter().flat_map(|s| s.items.iter().map(|i| i.index)).collect();
        let cold_order = recommend(&idx, &[], &w, idx.len());
        let expected: Vec<(usize, f32)> = cold_order
            .iter()
            .filter(|s| s.index != 0 && !above.contains(&s.index))
            .take(2)
            .map(|s| (s.index, s.score))
            .collect();
        assert_eq!(warm[2].items.iter().map(|s| (s.index, s.score)).collect::<Vec<_>>(), expected);
        assert_eq!(cold[0].items, recommend(&idx, &[], &w, 3));
    }

    #[test]
    fn deals_are_discounted_items_not_shown_above_best_discount_first() {
        let mut idx = index();
        // paper-d 40% off, lamp-e 20% off, chair-b 2% off (not a deal).
        for (id, list) in [("paper-d", 1.0 / 0.6), ("lamp-e", 1.25), ("chair-b", 1.0 / 0.98)] {
            let i = idx.position(id).unwrap();
            std::sync::Arc::make_mut(&mut idx.cards[i]).list_price = Some(list);
        }
        let w = Weights { popularity: 0.0, ..Weights::default() };
        let cold = home(&idx, &[], &w, 2);
        assert_eq!(cold.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["trending", "deals"]);
        let deals = &cold[1];
        let shown: Vec<usize> = cold[0].items.iter().map(|s| s.index).collect();
        assert!(deals.items.iter().all(|d| !shown.contains(&d.index)), "nothing twice");
        assert!(deals.items.iter().all(|d| d.why.discount >= MIN_DEAL));
        assert!(!ids(&idx, &deals.items).contains(&"chair-b".to_owned()), "2% off is not a deal");
        let expected: Vec<String> = ["paper-d", "lamp-e"]
            .into_iter()
            .filter(|id| !shown.contains(&idx.position(id).unwrap()))
            .map(String::from)
            .collect();
        assert_eq!(ids(&idx, &deals.items), expected);
        let d = &deals.items[0];
        assert!((d.score - (d.why.discount + d.why.popularity + d.why.similarity)).abs() < 1e-6);
        // No item on sale: no Deals section.
        assert!(home(&index(), &[], &w, 2).iter().all(|s| s.id != "deals"));
    }

    #[test]
    fn old_history_is_never_recommended_back() {
        let idx = index();
        let mut history: Vec<Seen<'_>> =
            (0..60).map(|_| Seen { id: "unknown", event: Event::View }).collect();
        history.push(Seen { id: "paper-c", event: Event::Purchase });
        let r = recommend(&idx, &history, &Weights::default(), 6);
        assert!(!ids(&idx, &r).contains(&"paper-c".to_string()), "{:?}", ids(&idx, &r));
        let sections = home(&idx, &history, &Weights::default(), 6);
        assert!(sections.iter().all(|s| s.items.iter().all(|i| i.index != 2)));
    }

    #[test]
    fn trending_fills_after_a_full_page_for_you() {
        let products: Vec<crate::catalog::Product> = (0..300)
            .map(|i| {
                crate::catalog::Product::new(
                    format!("p{i}"),
                    "T",
                    vec![format!("c{}", i % 40)],
                    crate::catalog::Price { amount: 1.0, currency: "USD".into() },
                )
            })
            .collect();
        let purchases: Vec<u32> = (0..300).map(|i| 300 - i).collect();
        let idx = ItemIndex::plain(&products, &purchases);
        let sections = home(&idx, &[Seen { id: "p0", event: Event::View }], &Weights::default(), 100);
        let trending = sections.iter().find(|s| s.id == "trending").unwrap();
        assert_eq!(trending.items.len(), 100);
    }

    #[test]
    fn a_history_counts_each_item_once_with_its_strongest_event() {
        let idx = index();
        let w = Weights::default();
        let viewed_then_bought = [
            Seen { id: "chair-a", event: Event::View },
            Seen { id: "paper-c", event: Event::View },
            Seen { id: "chair-a", event: Event::Purchase },
        ];
        let s = Shopper::new(&idx, &viewed_then_bought, &w);
        let chair = idx.position("chair-a").unwrap();
        let paper = idx.position("paper-c").unwrap();
        // chair-a at its most recent position (0) with the purchase's weight; paper-c one step older.
        assert_eq!(s.known, vec![(chair, w.purchase), (paper, w.view * w.recency_decay)]);
        assert!(s.excluded.contains(&chair) && s.excluded.contains(&paper));
    }

    #[test]
    fn the_cold_start_ranks_by_popularity_whatever_the_weights() {
        let idx = index();
        let w = Weights { popularity: 0.0, max_per_category: 0, ..Weights::default() };
        let r = recommend(&idx, &[], &w, 3);
        assert_eq!(ids(&idx, &r), ["paper-c", "chair-a", "chair-f"], "most purchased first");
        assert!(r.iter().all(|s| s.why.popularity > 0.0 && (s.score - s.why.popularity).abs() < 1e-6));
    }

    #[test]
    fn caps_follow_the_shoppers_own_mix_of_categories() {
        let idx = index();
        let w = Weights { max_per_category: 1, popularity: 0.0, ..Weights::default() };
        // Only chairs in the history: chairs may fill the list.
        let chairs = [Seen { id: "chair-a", event: Event::View }];
        let r = recommend(&idx, &chairs, &w, 2);
        assert_eq!(ids(&idx, &r), ["chair-b", "chair-f"]);
        // A chair and paper, equally: at most one chair in two.
        let mixed = [Seen { id: "chair-a", event: Event::View }, Seen { id: "paper-c", event: Event::View }];
        let w = Weights { recency_decay: 1.0, ..w };
        let r = recommend(&idx, &mixed, &w, 2);
        let chairs_shown = r.iter().filter(|s| idx.cards[s.index].category[1] == "Chairs").count();
        assert_eq!(chairs_shown, 1, "{:?}", ids(&idx, &r));
        // No history: the plain cap.
        let caps = Caps::flat(1);
        assert_eq!(caps.of(&["Office".into(), "Chairs".into()], 20), 1);
        assert_eq!(Caps::flat(0).of(&[], 20), usize::MAX, "0 means no cap");
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let idx = index();
        let nan = Weights {
            similarity: f32::NAN,
            popularity: f32::INFINITY,
            recency_decay: f32::NAN,
            ..Weights::default()
        };
        let long: Vec<Seen<'_>> = (0..10_000).map(|_| Seen { id: "chair-a", event: Event::Cart }).collect();
        assert_eq!(recommend(&idx, &long, &nan, 3).len(), 3);
        assert_eq!(
            recommend(&idx, &[Seen { id: "nope", event: Event::View }], &Weights::default(), 1000).len(),
            6
        );
        let empty = ItemIndex {
            similar: vec![],
            bought_together: vec![],
            cards: vec![],
            vectors: Vectors::new(2),
            content: Vectors::new(2),
            neighbours: vec![],
            signals: vec![],
        };
        assert!(recommend(&empty, &long, &Weights::default(), 10).is_empty());
    }

    proptest! {
        #[test]
        fn never_panics_and_scores_are_finite(
            hist in proptest::collection::vec((0usize..8, 0u8..3), 0..30),
            sim in proptest::num::f32::ANY, pop in proptest::num::f32::ANY, decay in proptest::num::f32::ANY,
            limit in 0usize..200,
        ) {
            let idx = index();
            let names = ["chair-a", "chair-b", "paper-c", "paper-d", "lamp-e", "chair-f", "x", ""];
            let events = [Event::View, Event::Cart, Event::Purchase];
            let history: Vec<Seen<'_>> = hist.iter().map(|&(i, e)| Seen { id: names[i], event: events[e as usize] }).collect();
            let w = Weights { similarity: sim, popularity: pop, recency_decay: decay, ..Weights::default() };
            let r = recommend(&idx, &history, &w, limit);
            prop_assert!(r.len() <= limit.min(6));
            prop_assert!(r.iter().all(|s| s.score.is_finite()));
        }
    }
}
