//! The Shopify CSV and Merchant Center TSV importers on small exports in those formats.

use crate::{TempDir, indexer};

const SHOPIFY: &str = "Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,Option1 Value,Variant SKU,Variant Inventory Qty,Variant Price,Variant Compare At Price,Image Src,Status
oak-desk,Oak Desk,\"<p>Solid <b>oak</b> &amp; steel.</p>\",Nordic,Furniture > Office Furniture > Desks,Desk,,true,Size,Small,D-S,4,349.00,399.00,https://cdn.example/oak.jpg,active
oak-desk,,,,,,,,Size,Large,D-L,2,299.00,,,
draft-lamp,Draft Lamp,,Lumo,,Lighting,,false,,,L-1,1,20.00,,,draft
bad-price,Broken,,X,,Misc,,true,,,B-1,1,free,,,active
paper,Copy Paper,,,,Paper,,true,,,P-1,0,5.5,,,active
";

const MERCHANT: &str = "id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tsale_price\tbrand\tgoogle_product_category\tproduct_type
sku-1\tDesk Lamp\tLED, <i>dimmable</i>\thttps://shop.example/l\thttps://cdn.example/l.jpg\tin stock\t39.90 EUR\t29.90 EUR\tLumo\t\tHome > Lighting > Lamps
sku-2\tStool\t\thttps://shop.example/s\t//cdn.example/s.jpg\tout of stock\t15 EUR\t\t\tFurniture\t
sku-3\tBroken\t\t\t\tin stock\tfifteen\t\t\t\tMisc
sku-1\tDuplicate\t\t\t\tin stock\t1 EUR\t\t\t\tMisc
";

fn products(dir: &TempDir) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.0.join("out/catalog.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn shopify_groups_variants_and_reports_bad_rows() {
    let dir = TempDir::new("shopify");
    let src = dir.file("products_export.csv", SHOPIFY);
    let out = dir.0.join("out");
    let (ok, stdout, err) = indexer(&[
        "import".as_ref(),
        "shopify".as_ref(),
        src.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--currency".as_ref(),
        "EUR".as_ref(),
        "--country".as_ref(),
        "DE".as_ref(),
    ]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains(&format!("{}:4: product \"draft-lamp\" has status draft", src.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{}:5: Variant Price is not a number: \"free\"", src.display())),
        "{stdout}"
    );
    let ps = products(&dir);
    assert_eq!(ps.len(), 2);
    let desk = &ps[0];
    assert_eq!(desk["id"], "oak-desk");
    assert_eq!(
        desk["price"],
        serde_json::json!({"amount": 299.0, "currency": "EUR"}),
        "lowest variant price"
    );
    assert_eq!(desk["description"], "Solid oak & steel.");
    assert_eq!(desk["category"], serde_json::json!(["Furniture", "Office Furniture", "Desks"]));
    assert_eq!(desk["brand"], "Nordic");
    assert_eq!(desk["stock"], serde_json::json!({"DE": 6}));
    assert_eq!(desk["list_price"], 399.0, "compare-at price is the list price");
    assert_eq!(ps[1]["list_price"].as_f64(), None);
    assert_eq!(ps[1]["category"], serde_json::json!(["Paper"]), "Type when there is no taxonomy");
}

#[test]
fn merchant_feed_prices_categories_and_availability() {
    let dir = TempDir::new("merchant");
    let src = dir.file("feed.tsv", MERCHANT);
    let out = dir.0.join("out");
    let (ok, stdout, err) = indexer(&[
        "import".as_ref(),
        "merchant".as_ref(),
        src.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--country".as_ref(),
        "FR".as_ref(),
    ]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains(&format!("{}:4: price must look like \"12.99 USD\", got \"fifteen\"", src.display())),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("{}:5: duplicate id \"sku-1\"", src.display())), "{stdout}");
    let ps = products(&dir);
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0]["price"], serde_json::json!({"amount": 29.9, "currency": "EUR"}), "sale price wins");
    assert_eq!(ps[0]["category"], serde_json::json!(["Home", "Lighting", "Lamps"]));
    assert_eq!(ps[0]["description"], "LED, dimmable");
    assert_eq!(ps[0]["stock"], serde_json::json!({"FR": 1}));
    assert_eq!(ps[1]["stock"], serde_json::json!({"FR": 0}));
    assert_eq!(ps[0]["list_price"], 39.9, "with a sale price, the regular price is the list price");
    assert_eq!(ps[1]["list_price"].as_f64(), None);
    assert_eq!(ps[1]["category"], serde_json::json!(["Furniture"]));
    // An image from another host relative to the scheme is left out (the product keeps a placeholder).
    assert_eq!(ps[0]["image"], "https://cdn.example/l.jpg");
    assert_eq!(ps[1].get("image").filter(|v| !v.is_null()), None, "{}", ps[1]);
}

#[test]
fn an_export_with_nothing_valid_fails_with_reasons() {
    let dir = TempDir::new("merchant-bad");
    let src = dir.file("feed.tsv", "id\ttitle\tprice\nx\tT\tnope\n");
    let out = dir.0.join("out");
    let (ok, _, err) = indexer(&[
        "import".as_ref(),
        "merchant".as_ref(),
        src.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(!ok);
    assert!(err.contains("no valid products found") && err.contains(":2:"), "{err}");
    let src = dir.file("wrong.tsv", "sku\tname\nx\tT\n");
    let (ok, _, err) = indexer(&[
        "import".as_ref(),
        "merchant".as_ref(),
        src.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(!ok && err.contains(":1: missing column \"id\""), "{err}");
}
