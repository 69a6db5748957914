//! Chooses the feed's model and weights for one shop, on a validation split carved out of the
//! interactions it is given (the same per-shopper temporal rule as `eval`): the embedding dimension
//! and training steps of ELSA, how fast the history's weight decays with age, and how much the
//! collaborative, content, co-occurrence and popularity signals count.
//!
//! Shops differ: on MovieLens the last few items predict the next far better than old ones, on
//! grocery orders (repeat baskets) recency hardly matters and popularity a lot. So nothing here is a
//! constant tuned on one data set: each build measures its own.
//!
//! The search is staged to stay cheap: first the model (dimension × steps, each with and without the
//! coarse model appended, with a few weight settings each), then the weights for the chosen model. Each validation shopper's signals are computed once
//! per model and decay with the same `ranking::feed` code the edge runs, for a pool of candidates
//! (the best items by each signal, the shopper's held-out items and a fixed sample of others); every
//! weight setting is then only a re-blend of that pool and the edge's own top-K with category cap.

use std::collections::HashSet;

use ranking::Event;
use ranking::feed::{self, Parts, Scored, Shopper};
use ranking::index::ItemIndex;
use ranking::vector::Vectors;
use ranking::weights::Weights;
use ranking::{Interaction, Product};
use rayon::prelude::*;
use serde::Serialize;

use crate::eval::{self, Holdout};
use crate::model::{self, ElsaParams, Training};

/// ELSA dimensions tried on catalogs the edge scans whole; a partitioned catalog keeps 64 so its
/// cells (decoded per request) stay the size they are.
const DIMS_SMALL: &[usize] = &[64, 128, 256];
const DIMS_LARGE: &[usize] = &[64];
/// Training steps at which the model is evaluated (full-batch Adam, learning rate 0.01).
const CHECKPOINTS: &[usize] = &[10, 20, 30, 45, 65, 90, 130];
/// Larger catalogs stop earlier: a step costs O(items·d²).
const CHECKPOINTS_LARGE: &[usize] = &[15, 30, 45];
/// The weight grid (relative to collaborative = 1), each axis roughly doubling.
const DECAYS: &[f32] = &[1.0, 0.9, 0.8, 0.65];
const SIMILARITY: &[f32] = &[0.0, 0.05, 0.2];
const CO_OCCURRENCE: &[f32] = &[0.0, 0.5, 1.0, 2.0, 4.0];
const POPULARITY: &[f32] = &[0.05, 0.1, 0.2, 0.4, 0.8, 1.6];
/// Items × validation shoppers scored per setting at most: a shopper's signals cost one pass over
/// the catalog, so large catalogs validate on fewer shoppers (100,000 items: 500; 1,000,000: 100).
const SCORING_BUDGET: usize = 50_000_000;
const MAX_USERS: usize = 2_000;
const MIN_USERS: usize = 20;
/// Models whose weights are searched in full (one for partitioned catalogs).
const FINALISTS: usize = 2;
/// Best items per signal in a shopper's candidate pool, and random others for AUC.
const POOL_PER_SIGNAL: usize = 60;
const AUC_NEGATIVES: usize = 100;
/// A setting within this share of the best validation Recall@K counts as level with it on the
/// shopper's first screen; among those, the one that ranks the whole catalog best (AUC) wins.
pub const RECALL_TOLERANCE: f64 = 0.03;

/// Validation quality of one setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Quality {
    pub recall: f64,
    pub ndcg: f64,
    /// Sampled: each held-out item against the same random unseen items.
    pub auc: f64,
}

/// One evaluated setting.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    pub elsa: Option<ElsaParams>,
    pub weights: Weights,
    pub quality: Quality,
}

/// What was chosen, and on what evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// `None`: no embeddings (too few interactions); the feed then uses content vectors.
    pub elsa: Option<ElsaParams>,
    pub weights: Weights,
    /// Validation shoppers the choice was measured on (0: nothing to measure, defaults kept).
    pub users: usize,
    pub quality: Option<Quality>,
    pub trials: usize,
}

/// Chooses ELSA's parameters and the feed weights from `rows`, starting from `base` (event weights,
/// category cap and every search weight are kept).
pub fn choose(
    products: &[Product],
    content: &[Vec<f32>],
    rows: &[Interaction],
    base: &Weights,
    k: usize,
) -> Choice {
    let n = products.len();
    let default_elsa = ElsaParams { dim: 64, steps: 45, coarse: false };
    let (train, holdout) = eval::split(rows);
    let training = Training::new(products, &train, base);
    let users = validation_users(products, &train, &holdout, n);
    if users.len() < MIN_USERS {
        let elsa = Training::new(products, rows, base).learnable().then_some(default_elsa);
        return Choice { elsa, weights: base.clone(), users: 0, quality: None, trials: 0 };
    }
    let mut trials: Vec<Trial> = Vec::new();
    // One index, its collaborative vectors swapped per model; each model's vectors kept (quantized,
    // as served) so the later stages need no retraining.
    let mut index = training.index(products, content, &training.vectors(None, content));
    let mut models: Vec<(Option<ElsaParams>, Vectors)> = vec![(None, index.vectors.clone())];
    // Stage 1: the model, with a few weight settings around the defaults.
    let first_weights: Vec<Weights> = [(1.0, 0.2), (0.9, 0.2), (1.0, 0.05), (0.9, 0.05), (1.0, 0.8)]
        .iter()
        .map(|&(decay, popularity)| Weights { recency_decay: decay, popularity, ..base.clone() })
        .collect();
    let large = n > crate::ivf::PARTITION_ABOVE;
    let (dims, checkpoints) = if large { (DIMS_LARGE, CHECKPOINTS_LARGE) } else { (DIMS_SMALL, CHECKPOINTS) };
    let bar = crate::progress::bar((dims.len() * checkpoints.len()) as u64, "choosing the model");
    if training.learnable() {
        models.clear();
        // The coarse model is tried beside every checkpoint, except where cells are decoded per
        // request (its dimensions would grow them).
        let coarse = if large { None } else { training.coarse(content) };
        for &dim in dims {
            let mut elsa = training.elsa(dim);
            for &steps in checkpoints {
                while elsa.steps() < steps {
                    elsa.step(&training.rows);
                }
                let fine = training.vectors(Some(&elsa), content);
                let with_coarse = coarse.as_ref().map(|c| model::append_coarse(&fine, c));
                for (vectors, coarse) in [(Some(fine), false), (with_coarse, true)] {
                    let Some(vectors) = vectors else { continue };
                    index.vectors = Training::quantize(&vectors);
                    let params = Some(ElsaParams { dim, steps, coarse });
                    trials.extend(
                        measure(&index, &users, &first_weights, k)
                            .into_iter()
                            .map(|(weights, quality)| Trial { elsa: params, weights, quality }),
                    );
                    models.push((params, index.vectors.clone()));
                }
                bar.inc(1);
            }
        }
    } else {
        trials.extend(
            measure(&index, &users, &first_weights, k).into_iter().map(|(weights, quality)| Trial {
                elsa: None,
                weights,
                quality,
            }),
        );
    }
    bar.finish_and_clear();
    let use_model = |index: &mut ItemIndex, model: Option<ElsaParams>| {
        if let Some((_, v)) = models.iter().find(|(m, _)| *m == model) {
            index.vectors = v.clone();
        }
    };
    // Stage 2: the weights, for the few best models (stage 1's weights are only a rough guess).
    let grid: Vec<Weights> = weight_grid(base);
    for model in finalists(&trials, if large { 1 } else { FINALISTS }) {
        use_model(&mut index, model);
        trials.extend(measure(&index, &users, &grid, k).into_iter().map(|(weights, quality)| Trial {
            elsa: model,
            weights,
            quality,
        }));
    }
    let mut chosen = best(&trials).cloned();
    if let Some(c) = chosen.as_mut().filter(|c| personal(&c.weights)) {
        use_model(&mut index, c.elsa);
        let floor = popularity_only(&c.weights);
        if !clearly_better(&index, &users, &c.weights, &floor, k) {
            let quality = measure(&index, &users, std::slice::from_ref(&floor), k)[0].1;
            *c = Trial { elsa: c.elsa, weights: floor, quality };
        }
    }
    if let Some(c) = chosen.as_mut().filter(|c| !personal(&c.weights)) {
        // The feed does not read the embeddings (search's personal boost still does): the smallest
        // dimension's best model keeps the index and the device pack small.
        let smallest: Vec<Trial> = trials
            .iter()
            .filter(|t| t.elsa.is_some_and(|e| e.dim == dims[0] && !e.coarse) && personal(&t.weights))
            .cloned()
            .collect();
        c.elsa = best(&smallest).and_then(|t| t.elsa).or(c.elsa);
    }
    Choice {
        elsa: chosen.as_ref().and_then(|t| t.elsa),
        weights: chosen.as_ref().map_or_else(|| base.clone(), |t| t.weights.clone()),
        users: users.len(),
        quality: chosen.map(|t| t.quality),
        trials: trials.len(),
    }
}

/// The `count` models whose best stage-1 settings [`best`] ranks first, in that order.
fn finalists(trials: &[Trial], count: usize) -> Vec<Option<ElsaParams>> {
    let mut left: Vec<Trial> = trials.to_vec();
    let mut out = Vec::new();
    while out.len() < count {
        let Some(model) = best(&left).map(|t| t.elsa) else { break };
        out.push(model);
        left.retain(|t| t.elsa != model);
    }
    out
}

/// The setting with the best AUC among those within [`RECALL_TOLERANCE`] of the best Recall@K.
pub fn best(trials: &[Trial]) -> Option<&Trial> {
    let top = trials.iter().map(|t| t.quality.recall).fold(0.0f64, f64::max);
    trials.iter().filter(|t| t.quality.recall >= top * (1.0 - RECALL_TOLERANCE)).max_by(|a, b| {
        a.quality.auc.total_cmp(&b.quality.auc).then(b.quality.recall.total_cmp(&a.quality.recall))
    })
}

fn weight_grid(base: &Weights) -> Vec<Weights> {
    let mut grid = Vec::new();
    for &recency_decay in DECAYS {
        for &similarity in SIMILARITY {
            for &co_occurrence in CO_OCCURRENCE {
                for &popularity in POPULARITY {
                    grid.push(Weights {
                        collaborative: 1.0,
                        similarity,
                        co_occurrence,
                        popularity,
                        recency_decay,
                        ..base.clone()
                    });
                }
            }
        }
        // Popularity alone, personalized by nothing: the floor a shop with no signal falls back to.
        grid.push(popularity_only(&Weights { recency_decay, ..base.clone() }));
    }
    grid
}

/// `w` with every personal signal off: the feed is the popular items, diversified.
fn popularity_only(w: &Weights) -> Weights {
    Weights { collaborative: 0.0, similarity: 0.0, co_occurrence: 0.0, popularity: 1.0, ..w.clone() }
}

fn personal(w: &Weights) -> bool {
    w.collaborative > 0.0 || w.similarity > 0.0 || w.co_occurrence > 0.0
}

/// Whether `a` beats `b` on validation Recall@K by more than twice the standard error of the
/// per-shopper difference: a personalized feed that does not clearly beat popularity is noise (on
/// near-random orders, such as the Superstore demo's, it would lose to popularity on new data).
fn clearly_better(index: &ItemIndex, users: &[User], a: &Weights, b: &Weights, k: usize) -> bool {
    let popular = top_by(index.len(), POOL_PER_SIGNAL, |i| index.signals[i].popularity);
    let recall = |w: &Weights| -> Vec<f64> {
        users
            .par_iter()
            .map(|user| {
                let shopper = Shopper::of_items(index, &user.history, user.seen.clone(), w);
                let (parts, _) = shopper.parts(index);
                let pool = pool(&parts, &popular, user, &shopper);
                quality(index, &shopper, &parts, &pool, user, w, k).recall
            })
            .collect()
    };
    let diffs: Vec<f64> = recall(a).iter().zip(recall(b)).map(|(x, y)| x - y).collect();
    let n = diffs.len() as f64;
    let mean = diffs.iter().sum::<f64>() / n.max(1.0);
    let var = diffs.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / (n - 1.0).max(1.0);
    mean > 2.0 * (var / n.max(1.0)).sqrt()
}

/// A validation shopper: distinct history items (most recent first, strongest event), everything
/// they had in training (never offered back), held-out items, and random unseen others for AUC.
#[derive(Debug)]
struct User {
    history: Vec<(Option<usize>, Event)>,
    seen: HashSet<usize>,
    targets: Vec<usize>,
    negatives: Vec<usize>,
}

fn validation_users(products: &[Product], train: &[Interaction], holdout: &Holdout, n: usize) -> Vec<User> {
    let histories = eval::histories(products, train);
    let pos: std::collections::HashMap<&str, usize> =
        products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
    let budget = (SCORING_BUDGET / n.max(1)).clamp(MIN_USERS * 5, MAX_USERS);
    // Evenly spaced over the shoppers (sorted by id): the same sample for the same data.
    let step = holdout.len().div_ceil(budget).max(1);
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    holdout
        .iter()
        .step_by(step)
        .filter_map(|(user, targets)| {
            let hist = histories.get(user.as_str())?;
            let seen: HashSet<usize> = hist.iter().map(|h| h.0).collect();
            let mut targets: Vec<usize> =
                targets.iter().filter_map(|t| pos.get(t.as_str()).copied()).collect();
            targets.sort_unstable();
            if targets.is_empty() {
                return None;
            }
            let mut negatives = Vec::new();
            for _ in 0..AUC_NEGATIVES * 4 {
                if negatives.len() == AUC_NEGATIVES || n <= seen.len() + targets.len() {
                    break;
                }
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let j = (rng % n as u64) as usize;
                if !seen.contains(&j) && !targets.contains(&j) && !negatives.contains(&j) {
                    negatives.push(j);
                }
            }
            let history = eval::distinct(hist).into_iter().map(|(i, e)| (Some(i), e)).collect();
            Some(User { history, seen, targets, negatives })
        })
        .collect()
}

/// Validation quality of each weight setting (in order), every shopper scored with `ranking::feed`.
fn measure(index: &ItemIndex, users: &[User], settings: &[Weights], k: usize) -> Vec<(Weights, Quality)> {
    let mut totals = vec![Quality::default(); settings.len()];
    let popular = top_by(index.len(), POOL_PER_SIGNAL, |i| index.signals[i].popularity);
    // Settings sharing a decay share the shopper's signals.
    let mut decays: Vec<f32> = settings.iter().map(|w| w.recency_decay).collect();
    decays.sort_by(f32::total_cmp);
    decays.dedup();
    for decay in decays {
        let w = Weights { recency_decay: decay, ..settings[0].clone() };
        let chosen: Vec<(usize, &Weights)> =
            settings.iter().enumerate().filter(|(_, s)| s.recency_decay == decay).collect();
        let sums = users
            .par_iter()
            .map(|user| {
                let shopper = Shopper::of_items(index, &user.history, user.seen.clone(), &w);
                let (parts, _) = shopper.parts(index);
                let pool = pool(&parts, &popular, user, &shopper);
                chosen
                    .iter()
                    .map(|(_, s)| quality(index, &shopper, &parts, &pool, user, s, k))
                    .collect::<Vec<_>>()
            })
            .reduce(
                || vec![Quality::default(); chosen.len()],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| {
                        x.recall += y.recall;
                        x.ndcg += y.ndcg;
                        x.auc += y.auc;
                    });
                    a
                },
            );
        for ((i, _), sum) in chosen.iter().zip(sums) {
            totals[*i] = sum;
        }
    }
    let u = users.len().max(1) as f64;
    settings
        .iter()
        .cloned()
        .zip(totals)
        .map(|(w, t)| (w, Quality { recall: t.recall / u, ndcg: t.ndcg / u, auc: t.auc / u }))
        .collect()
}

/// The candidates a shopper's top K is taken from: the best by each signal, the held-out items and
/// the AUC sample, minus everything never offered back.
fn pool(parts: &[Parts], popular: &[usize], user: &User, shopper: &Shopper) -> Vec<usize> {
    let n = parts.len();
    let mut pool: Vec<usize> = popular.to_vec();
    pool.extend(top_by(n, POOL_PER_SIGNAL, |i| parts[i].collaborative));
    pool.extend(top_by(n, POOL_PER_SIGNAL, |i| parts[i].similarity));
    pool.extend(top_by(n, POOL_PER_SIGNAL, |i| parts[i].co_occurrence));
    pool.extend(&user.targets);
    pool.extend(&user.negatives);
    pool.sort_unstable();
    pool.dedup();
    pool.retain(|i| !shopper.excluded.contains(i));
    pool
}

/// The `k` items with the largest positive `key`, in no particular order (one pass, a `k`-heap).
fn top_by(n: usize, k: usize, key: impl Fn(usize) -> f32) -> Vec<usize> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    #[derive(PartialEq)]
    struct Entry(f32, usize);
    impl Eq for Entry {}
    impl PartialOrd for Entry {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Entry {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
        }
    }
    let mut heap: BinaryHeap<Reverse<Entry>> = BinaryHeap::with_capacity(k + 1);
    for i in 0..n {
        let v = key(i);
        // Zero, negative and NaN keys say nothing about the item.
        if v.is_nan() || v <= 0.0 {
            continue;
        }
        if heap.len() < k {
            heap.push(Reverse(Entry(v, i)));
        } else if heap.peek().is_some_and(|Reverse(min)| Entry(v, i) > *min) {
            heap.pop();
            heap.push(Reverse(Entry(v, i)));
        }
    }
    heap.into_iter().map(|Reverse(e)| e.1).collect()
}

/// Recall and NDCG of the edge's top K over the pool, and the sampled AUC, for one setting.
fn quality(
    index: &ItemIndex,
    shopper: &Shopper,
    parts: &[Parts],
    pool: &[usize],
    user: &User,
    w: &Weights,
    k: usize,
) -> Quality {
    let scored: Vec<Scored> = pool
        .iter()
        .map(|&i| {
            let (score, why) = feed::blend(w, &parts[i]);
            Scored { index: i, score, why }
        })
        .collect();
    let score = |i: usize| feed::blend(w, &parts[i]).0;
    let caps = feed::Caps::new(index, shopper, w.max_per_category as usize);
    let list: Vec<usize> = feed::top(index, scored, &caps, k).iter().map(|s| s.index).collect();
    let targets: HashSet<usize> = user.targets.iter().copied().collect();
    let (recall, ndcg) = eval::score(&list, &targets, k);
    let auc = eval::auc_sampled(&user.targets, &user.negatives, score);
    Quality { recall, ndcg, auc }
}
