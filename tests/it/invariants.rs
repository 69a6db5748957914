//! Checks that keep ARCHITECTURE.md's "Architecture invariant:" lines true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::root;

/// Dependency graph of Cargo.lock: package name -> names it depends on.
fn lock_graph() -> BTreeMap<String, Vec<String>> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let mut graph = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let name = block.lines().find_map(|l| l.strip_prefix("name = \"")).unwrap().trim_end_matches('"');
        let deps = match block.split_once("dependencies = [") {
            Some((_, rest)) => rest
                .split(']')
                .next()
                .unwrap()
                .lines()
                .filter_map(|l| l.trim().strip_prefix('"'))
                .map(|d| d.split([' ', '"']).next().unwrap().to_owned())
                .collect(),
            None => Vec::new(),
        };
        graph.entry(name.to_owned()).or_insert_with(Vec::new).extend(deps);
    }
    graph
}

fn closure(graph: &BTreeMap<String, Vec<String>>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![start.to_owned()];
    while let Some(n) = todo.pop() {
        if seen.insert(n.clone()) {
            todo.extend(graph.get(&n).cloned().unwrap_or_default());
        }
    }
    seen
}

/// Architecture invariant: `ranking` depends on no web, UI or worker crate.
#[test]
fn ranking_depends_on_no_web_ui_or_worker_crate() {
    // Start from ranking's normal dependencies (its dev-dependencies are in Cargo.lock too, and may
    // use anything); registry packages list only their normal dependencies in the lock.
    let manifest = std::fs::read_to_string(root().join("ranking/Cargo.toml")).unwrap();
    let section = manifest.split("[dependencies]").nth(1).unwrap().split("\n[").next().unwrap();
    let direct: Vec<&str> = section
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| l.split(['=', '.', ' ']).next().unwrap())
        .collect();
    assert!(direct.contains(&"postcard"), "{direct:?}");
    let graph = lock_graph();
    let deps: BTreeSet<String> = direct.iter().flat_map(|d| closure(&graph, d)).collect();
    assert!(deps.contains("postcard"), "the lock graph was read: {deps:?}");
    for banned in ["leptos", "worker", "web-sys", "js-sys", "wasm-bindgen", "gloo-net", "tokio", "reqwest"] {
        assert!(!deps.contains(banned), "ranking depends on {banned}: {deps:?}");
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !["target", "node_modules", "dist", "build", ".git", ".wrangler", "snapshots"]
                .contains(&name.as_str())
            {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") || name.ends_with(".mjs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["ranking", "indexer", "edge", "app", "engine", "fuzz", "xtask", "tests"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 20, "found the sources: {files:?}");
    files
}

/// Architecture invariant: `ranking` does no I/O.
#[test]
fn ranking_does_no_io() {
    let mut files = Vec::new();
    rust_files(&root().join("ranking/src"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for banned in [
            "std::fs",
            "std::net",
            "std::process",
            "std::env",
            "std::io",
            "std::time::SystemTime",
            "Instant::now",
        ] {
            assert!(!text.contains(banned), "{} uses {banned}", file.display());
        }
    }
}

/// Architecture invariant: the wasm modules sort only through `ranking::order` (one instance of the
/// sort algorithm instead of one per comparator: ~95 KB of the app's code before wasm-opt).
#[test]
fn wasm_code_sorts_through_ranking_order() {
    for file in sources() {
        let rel = file.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
        let shipped = ["ranking/src/", "edge/src/", "app/src/"].iter().any(|d| rel.starts_with(d));
        if !shipped || rel == "ranking/src/order.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for banned in [
            ".sort();",
            ".sort_by(",
            ".sort_by_key(",
            ".sort_unstable",
            ".select_nth_unstable",
            ".sort_by_cached_key(",
        ] {
            assert!(!text.contains(banned), "{rel} sorts with {banned}; use ranking::order");
        }
    }
}

/// Architecture invariant: what the edge keeps between requests is held in one place, `store.rs`'s
/// cache of decoded values, within the isolate's memory budget (`kept.rs`).
#[test]
fn edge_keeps_state_only_in_the_budgeted_cache() {
    let mut checked = 0;
    for file in sources() {
        let rel = file.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
        if !rel.starts_with("edge/src/") || rel == "edge/src/store.rs" {
            continue;
        }
        checked += 1;
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("thread_local!"), "{rel} keeps per-isolate state outside store.rs");
        for line in text.lines().filter(|l| l.trim_start().starts_with("static ") || l.contains(" static ")) {
            let shared =
                ["RefCell", "Cell<", "Mutex", "RwLock", "OnceCell", "OnceLock", "LazyLock", "Atomic"];
            assert!(!shared.iter().any(|s| line.contains(s)), "{rel} keeps state in a static: {line}");
        }
    }
    assert!(checked > 10, "found the edge's sources");
}

/// Every source file opens with a `//!` line saying what it is for.
#[test]
fn every_source_file_says_what_it_is_for() {
    for file in sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} does not open with a //! line", file.display());
    }
}

/// Architecture invariant: HTTP error bodies are made in one place (`edge/src/problem.rs`).
#[test]
fn problem_json_is_made_in_one_place() {
    for file in sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
        if rel.starts_with("edge/") && rel != "edge/src/problem.rs" {
            assert!(!text.contains("\"application/problem+json\""), "{rel} builds problem+json itself");
        }
    }
}

/// Architecture invariant: every network call of the app lives in `app/src/client.rs`.
#[test]
fn app_network_calls_live_in_client_module() {
    for file in sources() {
        let rel = file.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
        if rel.starts_with("app/") && rel != "app/src/client.rs" {
            let text = std::fs::read_to_string(&file).unwrap();
            for banned in [
                "gloo_net",
                "Request::",
                "fetch_with",
                "XmlHttpRequest",
                "WebSocket",
                ".service_worker()",
                "import(",
            ] {
                assert!(!text.contains(banned), "{rel} makes a network call ({banned})");
            }
        }
    }
}

/// Architecture invariant: the app's own wasm ranks nothing; it calls the engine module (`engine/`), so
/// its first download carries no ranking engine.
#[test]
fn app_ranks_only_through_the_engine_module() {
    for file in sources() {
        let rel = file.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
        if rel.starts_with("app/") {
            let text = std::fs::read_to_string(&file).unwrap();
            for banned in [
                "ranking::answer",
                "ranking::ivf",
                "ranking::kv",
                "ranking::device",
                "ranking::lexical",
                "ranking::search::search",
                "ranking::feed::home",
            ] {
                assert!(!text.contains(banned), "{rel} ranks in the app's own module ({banned})");
            }
        }
    }
    let app = std::fs::read_to_string(root().join("app/Cargo.toml")).unwrap();
    assert!(
        !app.lines().any(|l| l.trim_start().starts_with("engine")),
        "the app must load the engine as a module, not link it"
    );
}

/// Each category placeholder `ranking` links to exists in `public/`.
#[test]
fn category_placeholders_exist() {
    for cat in ranking::catalog::PLACEHOLDER_CATEGORIES.iter().chain(&["other"]) {
        let path = root().join(format!("public/img/category/{cat}.svg"));
        let svg = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing", path.display()));
        assert!(svg.contains("width=\"480\" height=\"480\""), "{} has explicit dimensions", path.display());
    }
}

/// CI runs the README's test command, and the README shows both commands.
#[test]
fn ci_runs_the_readme_test_command() {
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim_start().starts_with("cargo xtask test")), "{ci}");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("cargo xtask dev") && readme.contains("cargo xtask test"));
}

/// wrangler 4.86 bundles workerd 2026-04-26: a later compatibility date would not start.
#[test]
fn compatibility_date_is_supported_by_the_pinned_workerd() {
    let toml = std::fs::read_to_string(root().join("edge/wrangler.toml")).unwrap();
    let date =
        toml.lines().find_map(|l| l.strip_prefix("compatibility_date = \"")).unwrap().trim_end_matches('"');
    assert!(date <= "2026-04-26", "compatibility_date {date} is newer than the bundled workerd");
}

/// Every type stored in KV is decoded from arbitrary bytes by the `kv_decode` fuzz target.
#[test]
fn every_stored_kind_is_fuzzed() {
    let fuzz = std::fs::read_to_string(root().join("fuzz/fuzz_targets/kv_decode.rs")).unwrap();
    let mut stored = Vec::new();
    for file in sources().iter().filter(|p| p.starts_with(root().join("ranking/src"))) {
        let text = std::fs::read_to_string(file).unwrap();
        stored.extend(
            text.lines()
                .filter_map(|l| l.strip_prefix("impl Blob for ")?.strip_suffix(" {"))
                .map(str::to_owned),
        );
    }
    assert!(stored.len() >= 12, "found only {stored:?}");
    for ty in &stored {
        assert!(
            fuzz.contains(&format!("{ty}>(&")),
            "{ty} is stored in KV but the kv_decode fuzz target never decodes it"
        );
    }
}

/// Workers invocation logs record each request's URL and headers, so `X-History` would be kept by
/// Cloudflare: they stay off (custom logs, which never carry a history, stay on).
#[test]
fn invocation_logs_are_off() {
    let toml = std::fs::read_to_string(root().join("edge/wrangler.toml")).unwrap();
    let logs = toml.split("[observability.logs]").nth(1).expect("an [observability.logs] table");
    let table = logs.split("\n[").next().unwrap();
    assert!(
        table.lines().any(|l| l.split('#').next().unwrap().replace(' ', "") == "invocation_logs=false"),
        "[observability.logs] must set invocation_logs = false: {table}"
    );
}

/// Architecture invariant: the order and event stores keep what was bought and done, never who did
/// it. Every column the migrations create is on this list; a new one (an e-mail, an IP, a client id)
/// fails here until it is argued for.
#[test]
fn the_order_store_holds_nothing_about_buyers() {
    const ALLOWED: [&str; 14] = [
        "event_hash",
        "day",
        "id",
        "order_id",
        "item_id",
        "quantity",
        "batch_id",
        "at",
        "session",
        "variant",
        "surface",
        "kind",
        "list",
        "position",
    ];
    let mut columns = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("edge/migrations")).unwrap() {
        let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let code: String = sql.lines().map(|l| l.split("--").next().unwrap()).collect::<Vec<_>>().join("\n");
        let lower = code.to_lowercase();
        assert!(!lower.contains("alter table"), "migrations add columns only in CREATE TABLE, checked here");
        for table in lower.split("create table").skip(1) {
            let table = table.split(';').next().unwrap();
            let body = &table[table.find('(').unwrap() + 1..table.rfind(')').unwrap()];
            for column in body.split(',').filter_map(|c| c.split_whitespace().next()) {
                if !["primary", "foreign", "unique", "check", "constraint"].contains(&column) {
                    columns.insert(column.to_owned());
                }
            }
        }
    }
    assert!(columns.contains("item_id"), "the migrations were read: {columns:?}");
    for column in &columns {
        assert!(ALLOWED.contains(&column.as_str()), "order store column {column:?} is not on the list");
    }
}

/// The Stripe keys are Workers secrets: never in wrangler.toml, and the local file that holds them
/// (`edge/.dev.vars`) is ignored by git.
#[test]
fn stripe_keys_are_never_committed() {
    let toml = std::fs::read_to_string(root().join("edge/wrangler.toml")).unwrap();
    for line in toml.lines().map(|l| l.split('#').next().unwrap()) {
        assert!(!line.contains("STRIPE_SECRET_KEY") && !line.contains("STRIPE_WEBHOOK_SECRET"), "{line}");
        assert!(!line.contains("sk_live_") && !line.contains("whsec_"), "{line}");
    }
    let ignored = std::fs::read_to_string(root().join(".gitignore")).unwrap();
    assert!(ignored.lines().any(|l| l.trim() == "/edge/.dev.vars"), ".gitignore must list /edge/.dev.vars");
}

/// The D1 export queries the importers name are the ones the README, `cargo xtask experiments` and
/// the workerd tests run, word for word: an export of other columns would import nothing.
#[test]
fn d1_export_queries_have_one_wording() {
    let read = |path: &str| std::fs::read_to_string(root().join(path)).unwrap();
    let (readme, xtask, edge) =
        (read("README.md"), read("xtask/src/main.rs"), read("tests/e2e/edge.test.mjs"));
    let events = indexer::experiments::EVENTS_QUERY;
    let orders = indexer::orders::ORDERS_QUERY;
    assert!(xtask.contains(&format!("\"{events}\"")), "xtask's export differs from {events:?}");
    assert!(edge.contains(&format!("\"{events}\"")), "the workerd test's export differs");
    assert!(edge.contains(&format!("\"{orders}\"")), "the workerd test's order export differs");
    assert!(readme.contains(orders), "README's order export differs from {orders:?}");
}
