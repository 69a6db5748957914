//! Offline evaluation of the home feed: a per-user temporal split; the feed's model and weights chosen
//! on a validation split carved out of the training part (`tune`), never on the test split; then the
//! SAME `ranking::feed` scoring the edge serves, and baselines (popularity, item-kNN, EASE with λ
//! chosen on the same validation split) measured once on the test split, in the same run.

use std::collections::{BTreeMap, HashMap, HashSet};

use ranking::Event;
use ranking::feed::{self, Shopper};
use ranking::weights::Weights;
use ranking::{Interaction, Product};
use serde::Serialize;

use crate::cf::{Cooc, user_items};
use crate::ease::Ease;
use crate::model::Training;
use crate::tune::Choice;

#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub recall: f64,
    pub ndcg: f64,
    pub coverage: f64,
    /// The chance that a held-out item outranks a random unseen one (ties count half).
    pub auc: f64,
}

/// Recall@K on new items: held-out items nobody interacted with in training, each model ranking only
/// such items (the cold start of a product added since the last build).
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewItems {
    /// Shoppers with at least one new item held out.
    pub users: usize,
    /// Items without training interactions.
    pub items: usize,
    pub recall: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub users: usize,
    pub k: usize,
    pub models: BTreeMap<String, Metrics>,
    pub new_items: NewItems,
    /// What the validation split chose for the feed.
    pub chosen: Choice,
    /// EASE's λ, chosen on the validation split (`None`: catalog too large for exact EASE).
    pub ease_lambda: Option<f32>,
}

/// Held-out item ids per user.
pub type Holdout = BTreeMap<String, HashSet<String>>;

/// Holds out the last 20% (at least one) of each user's interactions by time; users with fewer than
/// two interactions are skipped. Returns `(train rows, held-out items per user)`; held-out items the
/// user already had in training are not targets (no model may recommend a seen item).
pub fn split(rows: &[Interaction]) -> (Vec<Interaction>, Holdout) {
    let mut by_user: BTreeMap<&str, Vec<&Interaction>> = BTreeMap::new();
    for r in rows {
        by_user.entry(r.user_id.as_str()).or_default().push(r);
    }
    let (mut train, mut test) = (Vec::new(), BTreeMap::new());
    for (user, mut rs) in by_user {
        rs.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then(a.item_id.cmp(&b.item_id)));
        if rs.len() < 2 {
            train.extend(rs.into_iter().cloned());
            continue;
        }
        let held = (rs.len() as f64 * 0.2).ceil().max(1.0) as usize;
        let cut = rs.len() - held;
        let seen: HashSet<&str> = rs[..cut].iter().map(|r| r.item_id.as_str()).collect();
        let targets: HashSet<String> = rs[cut..]
            .iter()
            .filter(|r| !seen.contains(r.item_id.as_str()))
            .map(|r| r.item_id.clone())
            .collect();
        train.extend(rs[..cut].iter().map(|r| (*r).clone()));
        if !targets.is_empty() {
            test.insert(user.to_owned(), targets);
        }
    }
    (train, test)
}

/// Each user's training interactions as `(item, event)`, most recent first (ties by item id).
pub fn histories<'a>(
    products: &[Product],
    train: &'a [Interaction],
) -> HashMap<&'a str, Vec<(usize, Event)>> {
    let pos: HashMap<&str, usize> = products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
    let mut by_user: HashMap<&str, Vec<&Interaction>> = HashMap::new();
    for r in train {
        by_user.entry(r.user_id.as_str()).or_default().push(r);
    }
    by_user
        .into_iter()
        .map(|(u, mut rs)| {
            rs.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(a.item_id.cmp(&b.item_id)));
            (u, rs.iter().filter_map(|r| pos.get(r.item_id.as_str()).map(|&i| (i, r.event))).collect())
        })
        .collect()
}

/// A history as the device keeps it: each item once, at its most recent position, with its
/// strongest event.
pub fn distinct(history: &[(usize, Event)]) -> Vec<(usize, Event)> {
    let mut out: Vec<(usize, Event)> = Vec::new();
    let mut at: HashMap<usize, usize> = HashMap::new();
    for &(i, e) in history {
        match at.get(&i) {
            Some(&k) => out[k].1 = out[k].1.max(e),
            None => {
                at.insert(i, out.len());
                out.push((i, e));
            }
        }
    }
    out
}

/// Recall and NDCG (binary gains) of one ranked list against the targets.
pub fn score(list: &[usize], targets: &HashSet<usize>, k: usize) -> (f64, f64) {
    let hits: Vec<usize> =
        list.iter().take(k).enumerate().filter(|(_, i)| targets.contains(i)).map(|(r, _)| r).collect();
    let recall = hits.len() as f64 / targets.len().max(1) as f64;
    let dcg: f64 = hits.iter().map(|&r| 1.0 / ((r + 2) as f64).log2()).sum();
    let idcg: f64 = (0..targets.len().min(k)).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
    (recall, if idcg > 0.0 { dcg / idcg } else { 0.0 })
}

/// AUC of `targets` against `negatives` under `score` (ties count half).
pub fn auc_sampled(targets: &[usize], negatives: &[usize], score: impl Fn(usize) -> f32) -> f64 {
    let mut neg: Vec<f32> = negatives.iter().map(|&j| score(j)).collect();
    neg.sort_by(f32::total_cmp);
    auc_sorted(targets.iter().map(|&i| score(i)), &neg)
}

fn auc_sorted(targets: impl Iterator<Item = f32>, neg: &[f32]) -> f64 {
    let (mut sum, mut count) = (0.0f64, 0usize);
    for s in targets {
        let below = neg.partition_point(|&x| x.total_cmp(&s).is_lt());
        let equal = neg[below..].partition_point(|&x| x.total_cmp(&s).is_le());
        sum += (below as f64 + 0.5 * equal as f64) / neg.len().max(1) as f64;
        count += 1;
    }
    if count == 0 { 0.0 } else { sum / count as f64 }
}

/// One test shopper.
struct Case {
    history: Vec<(usize, Event)>,
    seen: HashSet<usize>,
    targets: HashSet<usize>,
}

/// A model's full scores (higher first; unseen items only are compared) and its served top K.
type Ranked = (Vec<f32>, Vec<usize>);
type Model<'a> = Box<dyn Fn(&Case, usize) -> Ranked + 'a>;

/// How equal scores are ordered.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tie {
    /// By catalog position, as the served feed orders them.
    Position,
    /// By a fixed hash of the position: for lists where every score ties (popularity or EASE on
    /// items nobody touched), where catalog order (often by date) would leak into the metric.
    Hash,
}

/// The top `k` of `scores` among items not in `skip`.
fn top_k(scores: &[f32], skip: &HashSet<usize>, k: usize, tie: Tie) -> Vec<usize> {
    let mut v: Vec<usize> = (0..scores.len()).filter(|i| !skip.contains(i)).collect();
    let key = |i: usize| match tie {
        Tie::Position => i as u64,
        Tie::Hash => (i as u64 ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9),
    };
    let order = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(key(*a).cmp(&key(*b)));
    if v.len() > k && k > 0 {
        v.select_nth_unstable_by(k - 1, order);
        v.truncate(k);
    }
    v.sort_by(order);
    v
}

/// Distinct training items per user, for EASE and item-kNN.
fn item_sets(histories: &HashMap<&str, Vec<(usize, Event)>>) -> Vec<Vec<usize>> {
    let mut users: Vec<&&str> = histories.keys().collect();
    users.sort();
    users.iter().map(|u| distinct(&histories[**u]).into_iter().map(|(i, _)| i).collect()).collect()
}

/// EASE's λ on the validation split carved from `train` (best Recall@K), `None` for catalogs too
/// large for exact EASE.
fn ease_lambda(products: &[Product], train: &[Interaction], k: usize) -> Option<f32> {
    let n = products.len();
    if n > crate::ease::MAX_ITEMS {
        return None;
    }
    let (vtrain, holdout) = split(train);
    let hist = histories(products, &vtrain);
    let rows = item_sets(&hist);
    let pos: HashMap<&str, usize> = products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
    let recall = |lambda: f32| -> f64 {
        let Some(ease) = Ease::fit(&rows, n, lambda) else { return -1.0 };
        let mut total = 0.0;
        for (user, targets) in &holdout {
            let h: Vec<usize> = hist
                .get(user.as_str())
                .map(|h| distinct(h).iter().map(|x| x.0).collect())
                .unwrap_or_default();
            let seen: HashSet<usize> = h.iter().copied().collect();
            let t: HashSet<usize> = targets.iter().filter_map(|t| pos.get(t.as_str()).copied()).collect();
            total += score(&top_k(&ease.scores(&h), &seen, k, Tie::Position), &t, k).0;
        }
        total / holdout.len().max(1) as f64
    };
    // A coarse grid four apart, then halfway steps around the best.
    let mut tried: Vec<(f32, f64)> = [25.0, 100.0, 400.0, 1600.0].iter().map(|&l| (l, recall(l))).collect();
    let best =
        |t: &[(f32, f64)]| t.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.total_cmp(&a.0)));
    if let Some((l, _)) = best(&tried) {
        for l in [l / 2.0, l * 2.0] {
            tried.push((l, recall(l)));
        }
    }
    best(&tried).map(|(l, _)| l)
}

pub fn run(
    products: &[Product],
    content: &[Vec<f32>],
    rows: &[Interaction],
    k: usize,
    base: &Weights,
) -> Report {
    let (train, test) = split(rows);
    let n = products.len();
    let chosen = crate::tune::choose(products, content, &train, base, k);
    let training = Training::new(products, &train, base);
    let index = training.index(products, content, &training.collaborative(chosen.elsa, content));
    let hist = histories(products, &train);
    let pos: HashMap<&str, usize> = products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
    let cases: Vec<Case> = test
        .iter()
        .filter_map(|(user, targets)| {
            let history = hist.get(user.as_str()).cloned().unwrap_or_default();
            let targets: HashSet<usize> =
                targets.iter().filter_map(|t| pos.get(t.as_str()).copied()).collect();
            let seen = history.iter().map(|h| h.0).collect();
            (!targets.is_empty()).then_some(Case { history, seen, targets })
        })
        .collect();

    let mut models: Vec<(String, Model<'_>)> = Vec::new();
    let w = &chosen.weights;
    let variants = [
        ("feed", w.clone()),
        (
            "feed (collaborative only)",
            Weights { similarity: 0.0, co_occurrence: 0.0, popularity: 0.0, collaborative: 1.0, ..w.clone() },
        ),
        (
            "feed (content only)",
            Weights { similarity: 1.0, co_occurrence: 0.0, popularity: 0.0, collaborative: 0.0, ..w.clone() },
        ),
        ("feed (no category cap)", Weights { max_per_category: 0, ..w.clone() }),
    ];
    let index = &index;
    for (name, weights) in variants {
        models.push((
            name.to_owned(),
            Box::new(move |case: &Case, k| {
                let items: Vec<(Option<usize>, Event)> =
                    distinct(&case.history).into_iter().map(|(i, e)| (Some(i), e)).collect();
                let shopper = Shopper::of_items(index, &items, case.seen.clone(), &weights);
                let (scored, _) = feed::score_all(index, &shopper, &weights);
                let mut scores = vec![f32::MIN; index.len()];
                scored.iter().for_each(|s| scores[s.index] = s.score);
                let caps = feed::Caps::new(index, &shopper, weights.max_per_category as usize);
                let top = feed::top(index, scored, &caps, k);
                (scores, top.iter().map(|s| s.index).collect())
            }),
        ));
    }
    let popularity: Vec<f32> = training.popularity();
    models.push((
        "popularity".into(),
        Box::new(move |case: &Case, k| {
            let s = popularity.clone();
            let top = top_k(&s, &case.seen, k, Tie::Position);
            (s, top)
        }),
    ));
    let users = user_items(&train, &pos, base);
    let cooc = Cooc::new(n, &users);
    let knn_pop = training.popularity();
    models.push((
        "item-kNN".into(),
        Box::new(move |case: &Case, k| {
            // Cosine on co-occurrence over the whole history; popularity (scaled far below any
            // co-occurrence) orders the rest, as a deployed kNN would fill its list.
            let mut s: Vec<f32> = knn_pop.iter().map(|p| p * 1e-6).collect();
            for h in &case.seen {
                for (&j, &c) in &cooc.pairs[*h] {
                    s[j as usize] +=
                        c / (cooc.norms[*h] * cooc.norms[j as usize]).sqrt().max(f32::MIN_POSITIVE);
                }
            }
            let top = top_k(&s, &case.seen, k, Tie::Position);
            (s, top)
        }),
    ));
    let ease_lambda = ease_lambda(products, &train, k);
    if let Some(ease) = ease_lambda.and_then(|l| Ease::fit(&item_sets(&hist), n, l)) {
        models.push((
            "EASE".into(),
            Box::new(move |case: &Case, k| {
                let h: Vec<usize> = case.seen.iter().copied().collect();
                let s = ease.scores(&h);
                let top = top_k(&s, &case.seen, k, Tie::Position);
                (s, top)
            }),
        ));
    }

    let new: HashSet<usize> = (0..n).filter(|&i| training.shoppers[i] == 0).collect();
    let known: HashSet<usize> = (0..n).filter(|i| !new.contains(i)).collect();
    let mut new_items = NewItems { items: new.len(), ..NewItems::default() };
    let mut out = BTreeMap::new();
    for (name, model) in &models {
        let (mut recall, mut ndcg, mut auc, mut cold, mut cold_users) = (0.0, 0.0, 0.0, 0.0, 0usize);
        let mut covered = HashSet::new();
        for case in &cases {
            let (scores, list) = model(case, k);
            covered.extend(list.iter().copied());
            let (r, g) = score(&list, &case.targets, k);
            recall += r;
            ndcg += g;
            let mut neg: Vec<f32> = (0..n)
                .filter(|i| !case.seen.contains(i) && !case.targets.contains(i))
                .map(|i| scores[i])
                .collect();
            neg.sort_by(f32::total_cmp);
            auc += auc_sorted(case.targets.iter().map(|&i| scores[i]), &neg);
            let cold_targets: HashSet<usize> = case.targets.intersection(&new).copied().collect();
            if !cold_targets.is_empty() {
                cold += score(&top_k(&scores, &known, k, Tie::Hash), &cold_targets, k).0;
                cold_users += 1;
            }
        }
        let u = cases.len().max(1) as f64;
        out.insert(
            name.clone(),
            Metrics {
                recall: recall / u,
                ndcg: ndcg / u,
                coverage: covered.len() as f64 / n.max(1) as f64,
                auc: auc / u,
            },
        );
        new_items.users = cold_users;
        new_items.recall.insert(name.clone(), cold / cold_users.max(1) as f64);
    }
    Report { users: cases.len(), k, models: out, new_items, chosen, ease_lambda }
}
