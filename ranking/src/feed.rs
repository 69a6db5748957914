//! Home feeds: the non-personal list (most purchased first) and the personal one, built from the
//! shopper's on-device history and the precomputed [`ItemIndex`].

use serde::{Deserialize, Serialize};

use crate::catalog::{Card, Event};
use crate::index::ItemIndex;
use crate::weights::{Weights, finite_or_zero};

/// Largest page of a feed.
pub const MAX_LIMIT: usize = 100;
/// History entries that shape the shopper's vector (most recent first); older ones only stop their
/// items from being recommended back.
pub const MAX_HISTORY: usize = 50;
/// History entries checked for exclusion at most (the edge accepts no more than this).
pub const MAX_EXCLUDED: usize = 200;

/// Positions of every known item in the (first [`MAX_EXCLUDED`] entries of the) history.
fn history_positions(index: &ItemIndex, history: &[Seen<'_>]) -> std::collections::HashSet<usize> {
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
/// Contract: the user vector is the weighted sum of the history items' vectors, each weighted by its
/// event weight times `recency_decay^k` for the k-th most recent entry; each item not in the history
/// scores `similarity·cos(user, item) + co_occurrence·(weighted neighbour weight) + popularity·pop`,
/// and [`Why`] holds those three terms. Unknown ids are skipped; only the first [`MAX_HISTORY`]
/// entries count; an empty (or all-unknown) history yields the popular items, diversified. Results
/// are ordered by score desc then index asc, with at most `max_per_category` per leaf category as long
/// as enough other items exist. Never panics, whatever the weights or data (NaN scores count as 0).
pub fn recommend(index: &ItemIndex, history: &[Seen<'_>], w: &Weights, limit: usize) -> Vec<Scored> {
    rank(index, history, w, limit.min(MAX_LIMIT))
}

/// [`recommend`] without the page cap, for sections that must skip items shown above them.
fn rank(index: &ItemIndex, history: &[Seen<'_>], w: &Weights, limit: usize) -> Vec<Scored> {
    let n = index.len();
    let limit = limit.min(n);
    if limit == 0 {
        return Vec::new();
    }
    let (known, user) = user_vector(index, history, w);
    let total: f32 = known.iter().map(|(_, k)| k).sum();
    let query = crate::vector::Query::new(&user);

    let mut co = vec![0.0f32; n];
    let mut co_best: Vec<(f32, usize)> = vec![(0.0, usize::MAX); n];
    if total > 0.0 {
        for &(p, k) in &known {
            for &(j, weight) in index.neighbours.get(p).map(Vec::as_slice).unwrap_or(&[]) {
                let (j, c) = (j as usize, k * finite_or_zero(weight) / total);
                if j < n {
                    co[j] += c;
                    if c > co_best[j].0 {
                        co_best[j] = (c, p);
                    }
                }
            }
        }
    }

    let max_pop = index.cards.iter().map(|c| c.purchases).max().unwrap_or(0);
    let pop_norm = ((max_pop as f32) + 1.0).ln().max(f32::MIN_POSITIVE);
    let seen = history_positions(index, history);
    let (ws, wc, wp) =
        (finite_or_zero(w.similarity), finite_or_zero(w.co_occurrence), finite_or_zero(w.popularity));
    let mut scored: Vec<Scored> = (0..n)
        .filter(|i| !seen.contains(i))
        .map(|i| {
            let sim =
                if known.is_empty() { 0.0 } else { ws * index.vectors.dot(i, &query.codes, query.scale) };
            let cooc = wc * co[i];
            let pop = wp * ((index.cards[i].purchases as f32) + 1.0).ln() / pop_norm;
            let (sim, cooc, pop) = (finite_or_zero(sim), finite_or_zero(cooc), finite_or_zero(pop));
            Scored {
                index: i,
                score: sim + cooc + pop,
                why: Why {
                    similarity: sim,
                    co_occurrence: cooc,
                    popularity: pop,
                    discount: 0.0,
                    because: None,
                },
            }
        })
        .collect();
    let order = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index));
    // Only the head matters: select it in linear time, sort just that, and fall back to the full
    // order only if the category cap leaves the head short.
    let cap = w.max_per_category as usize;
    let head = (limit * 8 + 64).min(scored.len());
    let mut top = if head < scored.len() {
        crate::order::sort_head_by(&mut scored, head, order);
        let picked = diversify(index, &scored[..head], cap, limit);
        if cap == 0 || picked.len() == limit && distinct_enough(index, &picked, cap) {
            picked
        } else {
            crate::order::sort_by(&mut scored, order);
            diversify(index, &scored, cap, limit)
        }
    } else {
        crate::order::sort_by(&mut scored, order);
        diversify(index, &scored, cap, limit)
    };
    // Only the returned items need their "because": finding the nearest history item costs a scan
    // of the history per item.
    for s in &mut top {
        let source = if s.why.co_occurrence > 0.0 {
            Some(co_best[s.index].1)
        } else {
            nearest(index, &known, s.index)
        };
        s.why.because = source.and_then(|p| index.cards.get(p)).map(|c| c.id.clone());
    }
    top
}

/// The shopper's vector: history items' recommendation vectors weighted by event weight times
/// `recency_decay^k` (k-th most recent), normalized; with the known `(item, weight)` pairs. Unknown ids
/// are skipped and only the first [`MAX_HISTORY`] entries count.
pub fn user_vector(index: &ItemIndex, history: &[Seen<'_>], w: &Weights) -> (Vec<(usize, f32)>, Vec<f32>) {
    let history = &history[..history.len().min(MAX_HISTORY)];
    let ids: Vec<&str> = history.iter().map(|s| s.id).collect();
    let positions = index.lookup(&ids);
    let decay = finite_or_zero(w.recency_decay).clamp(0.0, 1.0);
    let mut known: Vec<(usize, f32)> = Vec::new();
    let mut factor = 1.0f32;
    for (seen, pos) in history.iter().zip(&positions) {
        if let Some(p) = pos {
            known.push((*p, w.event(seen.event) * factor));
        }
        factor *= decay;
    }
    let mut user = vec![0.0f32; index.vectors.dim as usize];
    for &(p, k) in &known {
        for (u, x) in user.iter_mut().zip(index.vectors.get(p)) {
            *u += k * x;
        }
    }
    crate::vector::normalize(&mut user);
    (known, user)
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
pub fn home(index: &ItemIndex, history: &[Seen<'_>], w: &Weights, per_section: usize) -> Vec<Section> {
    let mut sections = Vec::new();
    let (known, _) = user_vector(index, history, w);
    // Items in the history are never offered back, in any section.
    let mut shown = history_positions(index, history);
    if !known.is_empty() {
        let for_you = recommend(index, history, w, per_section);
        shown.extend(for_you.iter().map(|s| s.index));
        sections.push(Section {
            id: "for-you".into(),
            title: "For you".into(),
            because: None,
            items: for_you,
        });
        let last = known[0].0;
        let seen = shown.clone();
        let because: Vec<Scored> = index
            .similar_to(last)
            .into_iter()
            .filter(|(j, _)| !seen.contains(j) && !shown.contains(j))
            .take(per_section)
            .map(|(j, score)| Scored {
                index: j,
                score,
                why: Why { because: Some(index.cards[last].id.clone()), ..Why::default() },
            })
            .collect();
        shown.extend(because.iter().map(|s| s.index));
        if !because.is_empty() {
            sections.push(Section {
                id: "because".into(),
                title: format!("Because you viewed {}", index.cards[last].title),
                because: Some(index.cards[last].id.clone()),
                items: because,
            });
        }
    }
    let trending: Vec<Scored> = rank(index, &[], w, per_section.min(MAX_LIMIT) + shown.len())
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
    let deals = deals(index, history, w, per_section, &shown);
    if !deals.is_empty() {
        sections.push(Section { id: "deals".into(), title: "Deals".into(), because: None, items: deals });
    }
    sections
}

/// Smallest discount that makes a Deal: a few cents off is not one.
pub const MIN_DEAL: f32 = 0.05;

/// The Deals section: items at least [`MIN_DEAL`] below their list price, not shown above, scored by
/// `discount + popularity + similarity` to the shopper (the latter two weighted as in [`recommend`]),
/// at most `max_per_category` per category.
fn deals(
    index: &ItemIndex,
    history: &[Seen<'_>],
    w: &Weights,
    limit: usize,
    shown: &std::collections::HashSet<usize>,
) -> Vec<Scored> {
    let (known, user) = user_vector(index, history, w);
    let query = crate::vector::Query::new(&user);
    let max_pop = index.cards.iter().map(|c| c.purchases).max().unwrap_or(0);
    let pop_norm = ((max_pop as f32) + 1.0).ln().max(f32::MIN_POSITIVE);
    let (ws, wp) = (finite_or_zero(w.similarity), finite_or_zero(w.popularity));
    let mut scored: Vec<Scored> = index
        .cards
        .iter()
        .enumerate()
        .filter(|(i, c)| c.discount() >= MIN_DEAL && !shown.contains(i))
        .map(|(i, c)| {
            let discount = finite_or_zero(c.discount());
            let pop = finite_or_zero(wp * ((c.purchases as f32) + 1.0).ln() / pop_norm);
            let sim = if known.is_empty() {
                0.0
            } else {
                finite_or_zero(ws * index.vectors.dot(i, &query.codes, query.scale))
            };
            Scored {
                index: i,
                score: discount + pop + sim,
                why: Why { similarity: sim, popularity: pop, discount, ..Why::default() },
            }
        })
        .collect();
    crate::order::sort_by(&mut scored, |a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    diversify(index, &scored, w.max_per_category as usize, limit.min(MAX_LIMIT))
}

/// The history item most similar to item `i` (by vector), for "because you viewed".
fn nearest(index: &ItemIndex, known: &[(usize, f32)], i: usize) -> Option<usize> {
    let q = crate::vector::Query::new(&index.vectors.get(i));
    known
        .iter()
        .map(|&(p, k)| (k * index.vectors.dot(p, &q.codes, q.scale), p))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| p)
}

/// True when no category exceeds `cap` in `picked`: the head held enough variety, so the full
/// ranking would pick the same items.
fn distinct_enough(index: &ItemIndex, picked: &[Scored], cap: usize) -> bool {
    let mut per: std::collections::HashMap<&[String], usize> = std::collections::HashMap::new();
    picked.iter().all(|s| {
        let c = per.entry(index.cards[s.index].category.as_slice()).or_insert(0);
        *c += 1;
        *c <= cap
    })
}

/// Takes the best `limit` items with at most `cap` per leaf category, filling up with the skipped
/// ones (in score order) when the cap leaves too few.
fn diversify(index: &ItemIndex, sorted: &[Scored], cap: usize, limit: usize) -> Vec<Scored> {
    if cap == 0 {
        return sorted.iter().take(limit).cloned().collect();
    }
    let mut per: std::collections::HashMap<&[String], usize> = std::collections::HashMap::new();
    let (mut out, mut rest) = (Vec::with_capacity(limit), Vec::new());
    for s in sorted.iter().cloned() {
        if out.len() == limit {
            break;
        }
        let cat = index.cards[s.index].category.as_slice();
        let count = per.entry(cat).or_insert(0);
        if *count < cap {
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
        let signals = vec![
            crate::signals::Signals::of(
                &serde_json::from_str(
                    r#"{"id":"a","title":"T","category":["C"],"price":{"amount":1,"currency":"USD"}}"#
                )
                .unwrap(),
                None
            );
            cards.len()
        ];
        let similar = vec![vec![1, 5, 4], vec![0, 5], vec![3], vec![2], vec![], vec![0, 1]];
        ItemIndex {
            cards,
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
            let sum = s.why.similarity + s.why.co_occurrence + s.why.popularity;
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
    }

    #[test]
    fn deals_are_discounted_items_not_shown_above_best_discount_first() {
        let mut idx = index();
        // paper-d 40% off, lamp-e 20% off, chair-b 2% off (not a deal).
        for (id, list) in [("paper-d", 1.0 / 0.6), ("lamp-e", 1.25), ("chair-b", 1.0 / 0.98)] {
            let i = idx.position(id).unwrap();
            idx.cards[i].list_price = Some(list);
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
