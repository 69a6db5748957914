//! The indexer CLI on small files written here: partial imports keep valid rows and report the rest
//! with file, line and reason; builds are versioned by content.

use std::ffi::OsStr;

use ranking::kv::{self, CardList, Manifest};

use crate::{TempDir, indexer};

const GOOD: &str = r#"{"id":"c1","title":"Hon Stacking Chair","category":["Furniture","Chairs"],"price":{"amount":99.5,"currency":"USD"}}"#;
const GOOD2: &str = r#"{"id":"p1","title":"Xerox Paper","category":["Office Supplies","Paper"],"price":{"amount":5,"currency":"USD"},"rating":{"average":4.5,"count":10}}"#;

fn build(
    dir: &TempDir,
    catalog: &std::path::Path,
    interactions: Option<&std::path::Path>,
) -> (bool, String, String) {
    let out = dir.0.join("out");
    let mut args: Vec<&OsStr> =
        vec!["build".as_ref(), "--catalog".as_ref(), catalog.as_os_str(), "--out".as_ref(), out.as_os_str()];
    if let Some(i) = interactions {
        args.extend(["--interactions".as_ref(), i.as_os_str()]);
    }
    indexer(&args)
}

#[test]
fn bad_catalog_rows_are_skipped_with_file_line_and_reason() {
    let dir = TempDir::new("badrows");
    let catalog = dir.file(
        "catalog.jsonl",
        &[
            GOOD,
            "{not json",
            r#"{"id":"neg","title":"T","category":["A"],"price":{"amount":-1,"currency":"USD"}}"#,
            "",
            GOOD.replace("Hon", "Other").as_str(),
            r#"{"id":"x","title":"T","category":["A"],"price":{"amount":1,"currency":"USD"},"colour":"red"}"#,
            GOOD2,
        ]
        .join("\n"),
    );
    let (ok, stdout, stderr) = build(&dir, &catalog, None);
    assert!(ok, "partial catalog imports: {stderr}");
    let name = catalog.display().to_string();
    assert!(stdout.contains("skipped 4 row(s)"), "{stdout}");
    assert!(stdout.contains(&format!("{name}:2: ")), "{stdout}");
    assert!(
        stdout.contains(&format!("{name}:3: field `price.amount` must be a finite number >= 0, got -1")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("{name}:5: duplicate id \"c1\" (first on line 1)")), "{stdout}");
    assert!(stdout.contains(&format!("{name}:6: unknown field `colour`")), "{stdout}");
    assert!(stdout.contains("2 products"), "{stdout}");
}

#[test]
fn nothing_valid_fails_and_says_why() {
    let dir = TempDir::new("novalid");
    let catalog = dir.file("catalog.jsonl", "{\"id\":1}\n[]\n");
    let (ok, _, stderr) = build(&dir, &catalog, None);
    assert!(!ok);
    assert!(stderr.contains("no valid products found"), "{stderr}");
    assert!(stderr.contains(&format!("{}:1:", catalog.display())), "{stderr}");
    assert!(stderr.contains("2 x invalid JSON or field"), "{stderr}");
}

#[test]
fn interactions_header_and_rows_are_checked() {
    let dir = TempDir::new("interactions");
    let catalog = dir.file("catalog.jsonl", &format!("{GOOD}\n{GOOD2}\n"));
    let bad_header = dir.file("bad.csv", "user,item,ts,event\nu1,c1,1700000000,view\n");
    let (ok, _, stderr) = build(&dir, &catalog, Some(&bad_header));
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "{}:1: header must be `user_id,item_id,timestamp,event`",
            bad_header.display()
        )),
        "{stderr}"
    );

    let rows = dir.file(
        "interactions.csv",
        "user_id,item_id,timestamp,event\n\
         u1,c1,1700000000,purchase\n\
         u1,nope,1700000000,view\n\
         u2,c1,last tuesday,view\n\
         u2,p1,2024-01-02T03:04:05Z,like\n\
         u3,c1,2024-01-02,purchase\n\
         u3,p1,2024-01-02T03:04:05+02:00,cart\n",
    );
    let (ok, stdout, stderr) = build(&dir, &catalog, Some(&rows));
    assert!(ok, "{stderr}");
    let name = rows.display().to_string();
    assert!(stdout.contains("skipped 3 row(s)"), "{stdout}");
    assert!(stdout.contains(&format!("{name}:3: item_id \"nope\" is not in the catalog")), "{stdout}");
    assert!(stdout.contains(&format!("{name}:4: timestamp must be unix seconds or RFC 3339")), "{stdout}");
    assert!(stdout.contains(&format!("{name}:5: event must be view, cart or purchase")), "{stdout}");
    assert!(stdout.contains("2 products in 1 shard(s), one item index, 3 interactions"), "{stdout}");

    // The feed is ordered by purchases: c1 was bought twice, p1 never.
    let out = dir.0.join("out/kv");
    let version = std::fs::read_to_string(out.join("current")).unwrap();
    let popular: CardList = kv::decode(&std::fs::read(out.join(&version).join("popular")).unwrap()).unwrap();
    let order: Vec<_> = popular.cards.iter().map(|c| (c.id.as_str(), c.purchases)).collect();
    assert_eq!(order, [("c1", 2), ("p1", 0)]);
}

#[test]
fn builds_are_versioned_by_content_and_write_deploy_files() {
    let dir = TempDir::new("versions");
    let catalog = dir.file("catalog.jsonl", &format!("{GOOD}\n{GOOD2}\n"));
    let read_version = || std::fs::read_to_string(dir.0.join("out/kv/current")).unwrap();
    assert!(build(&dir, &catalog, None).0);
    let v1 = read_version();
    assert!(build(&dir, &catalog, None).0);
    assert_eq!(read_version(), v1, "same input, same version");
    let manifest: Manifest =
        kv::decode(&std::fs::read(dir.0.join("out/kv").join(&v1).join("manifest")).unwrap()).unwrap();
    assert_eq!(
        (manifest.product_count, manifest.shard_count, manifest.version.as_str()),
        (2, 1, v1.as_str())
    );

    let bulk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.0.join("out/bulk.json")).unwrap()).unwrap();
    let keys: Vec<&str> = bulk.as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert!(keys.iter().all(|k| k.starts_with(&format!("{v1}/"))), "{keys:?}");
    assert!(bulk.as_array().unwrap().iter().all(|e| e["base64"] == true));
    let current: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.0.join("out/bulk-current.json")).unwrap()).unwrap();
    assert_eq!(current[0]["value"], v1.as_str());

    std::fs::write(&catalog, format!("{GOOD}\n")).unwrap();
    assert!(build(&dir, &catalog, None).0);
    let v2 = read_version();
    assert_ne!(v2, v1, "new content, new version");
    assert!(!dir.0.join("out/kv").join(&v1).exists(), "the out folder holds one build");
}

#[test]
fn superstore_import_derives_prices_and_purchases() {
    let dir = TempDir::new("superstore");
    let header = "\"Row ID\",\"Order ID\",\"Order Date\",\"Ship Date\",\"Ship Mode\",\"Customer ID\",\"Customer Name\",\"Segment\",\"Country\",\"City\",\"State\",\"Postal Code\",\"Region\",\"Product ID\",\"Category\",\"Sub-Category\",\"Product Name\",\"Sales\",\"Quantity\",\"Discount\",\"Profit\"";
    let row = |n: u32, date: &str, cust: &str, id: &str, name: &str, sales: &str, qty: &str, disc: &str| {
        format!(
            "{n},\"CA-1\",{date},{date},\"Standard\",\"{cust}\",\"X\",\"Consumer\",\"United States\",\"Henderson\",\"Kentucky\",42420,\"South\",\"{id}\",\"Furniture\",\"Chairs\",\"{name}\",{sales},{qty},{disc},1"
        )
    };
    let csv = [
        header.to_owned(),
        row(1, "2016-11-08", "C1", "FUR-1", "Desk Chair", "200", "2", "0"), // unit 100
        row(2, "2016-11-09", "C2", "FUR-1", "Desk Chair", "90", "1", "0.1"), // unit 100
        row(3, "2016-11-10", "C3", "FUR-1", "Desk Chair, Old", "130", "1", "0"), // unit 130
        row(4, "2016-11-10", "C3", "FUR-2", "Stool", "abc", "1", "0"),
        row(5, "2016-11-11", "C1", "FUR-2", "Stool", "30", "2", "0.5"), // unit 30
    ]
    .join("\n");
    let src = dir.file("superstore.csv", &csv);
    let out = dir.0.join("demo");
    let (ok, stdout, stderr) = indexer(&[
        "import".as_ref(),
        "superstore".as_ref(),
        src.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(&format!("{}:5: Sales is not a number: \"abc\"", src.display())), "{stdout}");
    assert!(
        stdout.contains("imported 2 products and 4 purchase interactions (1 ids had several names"),
        "{stdout}"
    );
    let catalog = std::fs::read_to_string(out.join("catalog.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(catalog.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], "FUR-1");
    assert_eq!(first["title"], "Desk Chair");
    assert_eq!(first["price"]["amount"], 100.0);
    assert_eq!(first["category"], serde_json::json!(["Furniture", "Chairs"]));
    assert!(first.get("brand").is_none(), "absent fields are left out");
    let interactions = std::fs::read_to_string(out.join("interactions.csv")).unwrap();
    assert_eq!(interactions.lines().next(), Some("user_id,item_id,timestamp,event"));
    assert_eq!(interactions.lines().nth(1), Some("C1,FUR-1,2016-11-08T00:00:00Z,purchase"));

    // The imported files are valid input for a build.
    let (ok, _, stderr) = indexer(&[
        "build".as_ref(),
        "--catalog".as_ref(),
        out.join("catalog.jsonl").as_os_str(),
        "--interactions".as_ref(),
        out.join("interactions.csv").as_os_str(),
        "--out".as_ref(),
        dir.0.join("kv").as_os_str(),
    ]);
    assert!(ok, "{stderr}");
}

#[test]
fn experiment_variants_are_validated_and_stored() {
    let dir = TempDir::new("variants");
    let catalog = dir.file("catalog.jsonl", &format!("{GOOD}\n{GOOD2}\n"));
    let out = dir.0.join("out");
    let run = |variants: &std::path::Path| {
        indexer(&[
            "build".as_ref(),
            "--catalog".as_ref(),
            catalog.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--variants".as_ref(),
            variants.as_os_str(),
        ])
    };
    let bad = dir.file("bad.json", "{\n  \"a\": {\"similarity\": 1},\n  \"b\": {\"simliarity\": 2}\n}\n");
    let (ok, _, err) = run(&bad);
    assert!(!ok);
    assert!(err.contains(&format!("{}:3:", bad.display())) && err.contains("simliarity"), "{err}");
    let good = dir.file("good.json", r#"{"control": {}, "more-personal": {"personal": 0.5}}"#);
    let (ok, _, err) = run(&good);
    assert!(ok, "{err}");
    let version = std::fs::read_to_string(out.join("kv/current")).unwrap();
    let v: ranking::weights::Variants =
        kv::decode(&std::fs::read(out.join("kv").join(&version).join("weights")).unwrap()).unwrap();
    assert_eq!(v.0.keys().collect::<Vec<_>>(), ["control", "more-personal"]);
    assert_eq!(v.0["more-personal"].personal, 0.5);
    assert_eq!(v.0["control"], ranking::weights::Weights::default());
}

#[test]
fn a_bad_locale_file_stops_the_build_and_names_the_place() {
    let dir = TempDir::new("locale");
    let catalog = dir.file("catalog.jsonl", &format!("{GOOD}\n"));
    let out = dir.0.join("out");
    let run = |locale: &std::path::Path| {
        indexer(&[
            "build".as_ref(),
            "--catalog".as_ref(),
            catalog.as_os_str(),
            "--locale".as_ref(),
            locale.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
    };
    let syntax = dir.file("syntax.json", "{\n  \"base_currency\": \"USD\",\n  \"rates\": {,}\n}\n");
    let (ok, _, stderr) = run(&syntax);
    assert!(!ok);
    assert!(stderr.contains(&format!("{}:3:", syntax.display())), "{stderr}");
    let shipped = include_str!("../../indexer/data/locale.json");
    let negative = dir.file("negative.json", &shipped.replace("\"GBP\": 0.78", "\"GBP\": -0.78"));
    let (ok, _, stderr) = run(&negative);
    assert!(!ok);
    assert!(stderr.contains("rates: GBP has rate -0.78"), "{stderr}");
    assert!(!out.join("kv/current").exists(), "nothing written");
    let (ok, stdout, stderr) = run(&dir.file("good.json", shipped));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("/locale"), "{stdout}");
}

#[test]
fn rules_are_validated_with_their_line_and_stored() {
    let dir = TempDir::new("rules");
    let catalog = dir.file("catalog.jsonl", &format!("{GOOD}\n{GOOD2}\n"));
    let out = dir.0.join("out");
    let run = |rules: &std::path::Path| {
        indexer(&[
            "build".as_ref(),
            "--catalog".as_ref(),
            catalog.as_os_str(),
            "--rules".as_ref(),
            rules.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
    };
    let bad = dir.file(
        "bad.json",
        r#"{"rules": [
  {"id": "ok", "when": {"query": "chair"}, "pin": [{"product": "c1", "position": 1}]},
  {"id": "ghost", "when": {"query": "chair"}, "pin": [{"product": "nope", "position": 1}]},
  {"id": "two-triggers", "when": {"always": true, "query": "x"}, "hide": [{"brand": "X"}]},
  {"id": "empty-filter", "when": {"always": true}, "boost": [{"filter": {}, "by": 1}]},
  {"id": "window", "when": {"always": true}, "from": "2026-12-01T00:00:00Z", "until": "2026-11-01T00:00:00Z", "hide": [{"brand": "X"}]},
  {"id": "ok", "when": {"always": true}, "hide": [{"brand": "X"}]}
]}"#,
    );
    let (ok, _, stderr) = run(&bad);
    assert!(!ok);
    let name = bad.display().to_string();
    assert!(stderr.contains("5 invalid rule(s), nothing written"), "{stderr}");
    assert!(
        stderr.contains(&format!("{name}:3: rule \"ghost\": pin: no product with id \"nope\"")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:4: rule \"two-triggers\": `when` needs exactly one")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:5: rule \"empty-filter\": a filter needs at least one")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:6: rule \"window\": `from` must be before `until`")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("{name}:7: rule \"ok\": duplicate id")), "{stderr}");
    assert!(!out.join("kv/current").exists(), "nothing written");
    let syntax = dir.file("syntax.json", "{\"rules\": [\n  {\"id\": \"x\", \"when\": 3}\n]}");
    let (ok, _, stderr) = run(&syntax);
    assert!(!ok && stderr.contains(&format!("{}:2:", syntax.display())), "{stderr}");

    let good = dir.file(
        "good.json",
        r#"{"rules": [{"id": "p", "priority": 2, "when": {"query": "chair"}, "pin": [{"product": "p1", "position": 1}]}]}"#,
    );
    let (ok, stdout, stderr) = run(&good);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 rule(s)"), "{stdout}");
    let version = std::fs::read_to_string(out.join("kv/current")).unwrap();
    let stored: ranking::rules::Rules =
        ranking::kv::decode(&std::fs::read(out.join("kv").join(ranking::kv::keys::rules(&version))).unwrap())
            .unwrap();
    assert_eq!(stored.rules[0].id, "p");
    assert_eq!(stored.rules[0].priority, 2);
}

#[test]
fn the_locale_is_rebased_on_the_catalog_currency_and_mixed_currencies_are_refused() {
    let dir = TempDir::new("currency");
    let eur = GOOD.replace("\"USD\"", "\"EUR\"");
    let out = dir.0.join("out");
    let build = |catalog: &std::path::Path| {
        indexer(&[
            "build".as_ref(),
            "--catalog".as_ref(),
            catalog.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
    };
    let (ok, _, stderr) = build(&dir.file("eur.jsonl", &format!("{eur}\n")));
    assert!(ok, "{stderr}");
    let version = std::fs::read_to_string(out.join("kv/current")).unwrap();
    let stored: ranking::locale::Locale = ranking::kv::decode(
        &std::fs::read(out.join("kv").join(ranking::kv::keys::locale(&version))).unwrap(),
    )
    .unwrap();
    assert_eq!(stored.base_currency, "EUR");
    let p = ranking::Price { amount: 91.0, currency: "EUR".into() };
    assert_eq!(stored.convert(&p, "USD").map(|p| p.amount), Some(100.0), "the shipped 0.91 EUR per USD");
    let (ok, _, stderr) = build(&dir.file("mixed.jsonl", &format!("{eur}\n{GOOD2}\n")));
    assert!(!ok);
    assert!(stderr.contains("catalog prices mix currencies (EUR, USD)"), "{stderr}");
}
