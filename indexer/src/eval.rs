//! Offline evaluation of the home feed: per-user temporal split, the SAME `ranking::feed::recommend`
//! the edge serves, and baselines (popularity, item-kNN) computed in the same run on the same split.

use std::collections::{BTreeMap, HashMap, HashSet};

use ranking::feed::{Seen, recommend};
use ranking::index::ItemIndex;
use ranking::signals::Signals;
use ranking::vector::Vectors;
use ranking::weights::Weights;
use ranking::{Interaction, Product};
use serde::Serialize;

use crate::cf::{Cooc, smooth, user_items};

#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub recall: f64,
    pub ndcg: f64,
    pub coverage: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub users: usize,
    pub k: usize,
    pub models: BTreeMap<String, Metrics>,
}

/// Holds out the last 20% (at least one) of each user's interactions by time; users with fewer than
/// two interactions are skipped. Returns `(train rows, held-out items per user)`; held-out items the
/// user already had in training are not targets (no model may recommend a seen item).
pub fn split(rows: &[Interaction]) -> (Vec<Interaction>, BTreeMap<String, HashSet<String>>) {
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

/// Builds the item index the feed uses from training interactions only.
pub fn item_index(
    products: &[Product],
    content: &[Vec<f32>],
    train: &[Interaction],
    w: &Weights,
    lambda: f32,
) -> ItemIndex {
    item_index_with_cells(products, content, train, w, lambda, None).index
}

/// An item index, its IVF cells when partitioned, and how long each part took.
#[derive(Debug)]
pub struct IndexBuild {
    pub index: ItemIndex,
    pub cells: Option<Vec<u32>>,
    /// `(part, seconds)` in the order they ran.
    pub timings: Vec<(&'static str, f64)>,
}

/// [`item_index`], and each item's IVF cell (k-means over the recommendation vectors) when `cells`
/// asks for some: `Some(k)` cells (0: none), `None` one per [`crate::ivf::CELL_TARGET`] items for
/// catalogs over [`crate::ivf::PARTITION_ABOVE`] items.
pub fn item_index_with_cells(
    products: &[Product],
    content: &[Vec<f32>],
    train: &[Interaction],
    w: &Weights,
    lambda: f32,
    cells: Option<usize>,
) -> IndexBuild {
    let mut timings = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str| {
        timings.push((name, clock.elapsed().as_secs_f64()));
        clock = std::time::Instant::now();
    };
    let pos: HashMap<&str, usize> = products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
    let users = user_items(train, &pos, w);
    let cooc = Cooc::new(products.len(), &users);
    lap("co-occurrence");
    let neighbours = cooc.neighbours();
    drop(cooc);
    let hybrid = smooth(content, &neighbours, lambda);
    lap("neighbours and smoothing");
    let dim = content.first().map_or(1, Vec::len);
    let mut vectors = Vectors::new(dim);
    hybrid.iter().for_each(|v| vectors.push(v));
    let mut content_vectors = Vectors::new(dim);
    content.iter().for_each(|v| content_vectors.push(v));
    let counts = crate::build::purchase_counts(train);
    let cards = products.iter().map(|p| p.card(counts.get(p.id.as_str()).copied().unwrap_or(0))).collect();
    let signals = products
        .iter()
        .map(|p| Signals::of(p, p.created_at.as_deref().and_then(|t| crate::read::parse_timestamp(t).ok())))
        .collect();
    let n = products.len();
    let k = cells.unwrap_or(if n > crate::ivf::PARTITION_ABOVE {
        n.div_ceil(crate::ivf::CELL_TARGET)
    } else {
        0
    });
    lap("cards, signals, quantizing");
    let cells = (k > 0 && n > 0).then(|| crate::ivf::assign(&hybrid, k));
    lap("k-means cells");
    // Above the flat-scan limit, similar items are searched within k-means groups even when the
    // index is not partitioned (`--cells 0`).
    let groups = match &cells {
        Some(c) => Some(c.clone()),
        None => (n > crate::ivf::PARTITION_ABOVE)
            .then(|| crate::ivf::assign(&hybrid, n.div_ceil(crate::ivf::CELL_TARGET))),
    };
    let similar = crate::cf::similar(
        &hybrid,
        &neighbours,
        groups.as_deref().unwrap_or(&[]),
        ranking::index::MAX_RELATED,
    );
    lap("similar items");
    let bought_together =
        crate::cf::bought_together(train, &pos, products.len(), ranking::index::MAX_RELATED);
    lap("bought together");
    IndexBuild {
        index: ItemIndex {
            cards,
            vectors,
            content: content_vectors,
            neighbours,
            signals,
            similar,
            bought_together,
        },
        cells,
        timings,
    }
}

/// Scores one ranked list against the targets.
fn score(list: &[usize], targets: &HashSet<usize>, k: usize) -> (f64, f64) {
    let hits: Vec<usize> =
        list.iter().take(k).enumerate().filter(|(_, i)| targets.contains(i)).map(|(r, _)| r).collect();
    let recall = hits.len() as f64 / targets.len() as f64;
    let dcg: f64 = hits.iter().map(|&r| 1.0 / ((r + 2) as f64).log2()).sum();
    let idcg: f64 = (0..targets.len().min(k)).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
    (recall, if idcg > 0.0 { dcg / idcg } else { 0.0 })
}

/// A user's training history: `(item, event)`, most recent first.
type History = Vec<(usize, ranking::Event)>;

/// A named recommender: `(item index, history most recent first, k) -> ranked item positions`.
type Model<'a> = Box<dyn Fn(&[(usize, ranking::Event)], usize) -> Vec<usize> + 'a>;

pub fn run(
    products: &[Product],
    content: &[Vec<f32>],
    rows: &[Interaction],
    k: usize,
    w: &Weights,
    lambda: f32,
) -> Report {
    let (train, test) = split(rows);
    let pos: HashMap<&str, usize> = products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
    let n = products.len();
    let users = user_items(&train, &pos, w);
    let cooc = Cooc::new(n, &users);

    let full = item_index(products, content, &train, w, lambda);
    let content_only = item_index(products, content, &train, w, 0.0);
    let by_pop: Vec<usize> = {
        let mut v: Vec<usize> = (0..n).collect();
        v.sort_by(|&a, &b| full.cards[b].purchases.cmp(&full.cards[a].purchases).then(a.cmp(&b)));
        v
    };
    let cf_only = Weights { similarity: 0.0, ..w.clone() };
    let text_only = Weights { co_occurrence: 0.0, ..w.clone() };
    let variants = [
        ("feed", &full, w.clone()),
        ("feed (co-occurrence only)", &full, cf_only),
        ("feed (content only)", &content_only, text_only),
    ];
    let mut models: Vec<(String, Model<'_>)> = Vec::new();
    for (name, index, weights) in variants {
        models.push((
            name.to_owned(),
            Box::new(move |hist, k| {
                let seen: Vec<Seen<'_>> =
                    hist.iter().map(|&(i, e)| Seen { id: index.cards[i].id.as_str(), event: e }).collect();
                recommend(index, &seen, &weights, k).into_iter().map(|s| s.index).collect()
            }),
        ));
    }
    models.push((
        "popularity".into(),
        Box::new(|hist, k| {
            let seen: HashSet<usize> = hist.iter().map(|h| h.0).collect();
            by_pop.iter().copied().filter(|i| !seen.contains(i)).take(k).collect()
        }),
    ));
    models.push((
        "item-kNN".into(),
        Box::new(|hist, k| {
            let seen: HashSet<usize> = hist.iter().map(|h| h.0).collect();
            let mut score: HashMap<usize, f32> = HashMap::new();
            for &(h, _) in hist {
                for (&j, &c) in &cooc.pairs[h] {
                    let cos = c / (cooc.norms[h] * cooc.norms[j as usize]).sqrt().max(f32::MIN_POSITIVE);
                    *score.entry(j as usize).or_default() += cos;
                }
            }
            let mut v: Vec<(usize, f32)> = score.into_iter().filter(|(i, _)| !seen.contains(i)).collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut out: Vec<usize> = v.into_iter().map(|(i, _)| i).take(k).collect();
            // Too few neighbours: fill with popular items, as any deployed kNN would.
            for &i in &by_pop {
                if out.len() >= k {
                    break;
                }
                if !seen.contains(&i) && !out.contains(&i) {
                    out.push(i);
                }
            }
            out
        }),
    ));

    let histories: Vec<(History, HashSet<usize>)> = test
        .iter()
        .filter_map(|(user, targets)| {
            let hist: Vec<(usize, ranking::Event)> = {
                let mut rs: Vec<&Interaction> = train.iter().filter(|r| &r.user_id == user).collect();
                rs.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(a.item_id.cmp(&b.item_id)));
                rs.iter().filter_map(|r| pos.get(r.item_id.as_str()).map(|&i| (i, r.event))).collect()
            };
            let targets: HashSet<usize> =
                targets.iter().filter_map(|t| pos.get(t.as_str()).copied()).collect();
            (!targets.is_empty()).then_some((hist, targets))
        })
        .collect();

    let mut out = BTreeMap::new();
    for (name, model) in &models {
        let (mut recall, mut ndcg) = (0.0, 0.0);
        let mut covered = HashSet::new();
        for (hist, targets) in &histories {
            let list = model(hist, k);
            covered.extend(list.iter().copied());
            let (r, g) = score(&list, targets, k);
            recall += r;
            ndcg += g;
        }
        let u = histories.len().max(1) as f64;
        out.insert(
            name.clone(),
            Metrics { recall: recall / u, ndcg: ndcg / u, coverage: covered.len() as f64 / n.max(1) as f64 },
        );
    }
    Report { users: histories.len(), k, models: out }
}
