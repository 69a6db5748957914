//! Fuzz target: any bytes as each importer's input file (catalog JSONL, interactions CSV, Shopify CSV,
//! Merchant Center TSV, Superstore CSV).
#![no_main]

use std::collections::HashSet;
use std::io::Write;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let dir = std::env::temp_dir().join(format!("shopfront-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("input");
    let Ok(mut f) = std::fs::File::create(&path) else { return };
    if f.write_all(body).is_err() {
        return;
    }
    drop(f);
    match pick % 5 {
        0 => {
            let _ = indexer::read::catalog(&path);
        }
        1 => {
            let known: HashSet<&str> = ["a", "b", "FUR-1"].into_iter().collect();
            let _ = indexer::read::interactions(&path, &known);
        }
        2 => {
            let _ = indexer::feeds::shopify(&path, "USD", Some("US"));
        }
        3 => {
            let _ = indexer::feeds::merchant(&path, Some("DE"));
        }
        _ => {
            let _ = indexer::superstore::import(&path);
        }
    }
});
