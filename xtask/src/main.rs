//! `cargo xtask`: the project's automation, so setup, builds and tests are code, not wiki pages.

mod build;
mod deploy;
mod fuzz;
mod serve;
mod setup;
mod wasm;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Storefront automation")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Set up everything, build, index the demo catalog, seed local KV and serve the store.
    Dev {
        #[arg(long, default_value_t = 8787)]
        port: u16,
        /// Rebuild the app when its sources change (wrangler rebuilds the worker by itself through
        /// wrangler.toml's build command); reload the page to see the new build.
        #[arg(long)]
        watch: bool,
    },
    /// Set up everything, then run every test: formatting and clippy (-D warnings), native, wasm32
    /// build, workerd, headless Chromium.
    Test,
    /// Only install the toolchain pieces (target, cargo tools, npm packages, Chromium).
    Setup,
    /// Build the app and the worker (release) and index the demo catalog.
    Build,
    /// Build only the worker into edge/build, if its sources changed: wrangler.toml's build command,
    /// so `wrangler dev` and `wrangler deploy` work on their own (run `cargo xtask setup` once first).
    BuildWorker,
    /// Benchmarks: ranking kernels natively (criterion) and in wasm under V8 (simd128 and scalar),
    /// per-endpoint latency of the built worker in workerd, a load run (autocannon) and a memory crawl
    /// per index, a minute of every endpoint and a minute of event batches into D1, search side by
    /// side with Orama, and Lighthouse; the raw outputs are written to the end of docs/PERFORMANCE.md.
    Bench {
        /// Also index synthetic catalogs of these sizes (e.g. `100000,1000000`), load-test and crawl them.
        #[arg(long, value_delimiter = ',')]
        scale: Vec<usize>,
        /// Seconds per load scenario.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    /// Build, index, upload the KV build and `wrangler deploy` (`--dry-run`: bundle only, offline).
    Deploy(deploy::DeployArgs),
    /// The experiment report from the events in the local D1 (what `cargo xtask dev` served):
    /// exports them with wrangler and runs `indexer experiments`; `--traffic N` first sends N
    /// SYNTHETIC demo sessions to the running dev server (xtask/traffic.mjs).
    Experiments {
        /// Port of the running `cargo xtask dev`, for `--traffic`.
        #[arg(long, default_value_t = 8787)]
        port: u16,
        /// Simulated sessions to send first (synthetic traffic, for the demo only).
        #[arg(long)]
        traffic: Option<u32>,
        /// Print JSON instead of markdown.
        #[arg(long)]
        json: bool,
    },
    /// Fuzz every input parser (KV values, queries, requests, catalog files) for a fixed time each.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
    },
}

fn main() {
    let start = Instant::now();
    let result = match Cli::parse().command {
        Cmd::Dev { port, watch } => dev(port, watch),
        Cmd::BuildWorker => build::build_worker(&setup::locate(None)),
        Cmd::Test => test(),
        Cmd::Setup => setup::all(setup::Need::Dev).map(|_| ()),
        Cmd::Build => setup::all(setup::Need::Dev).and_then(|tools| build::all(&tools).map(|_| ())),
        Cmd::Bench { scale, seconds } => {
            setup::all(setup::Need::Test).and_then(|tools| bench(&tools, &scale, seconds))
        }
        Cmd::Fuzz { seconds } => setup::all(setup::Need::Dev)
            .and_then(|tools| build::all(&tools).and_then(|_| build::partitioned_demo(&tools)).map(|_| tools))
            .and_then(|tools| fuzz::fuzz(&tools, seconds)),
        Cmd::Experiments { port, traffic, json } => {
            setup::all(setup::Need::Dev).and_then(|tools| experiments(&tools, port, traffic, json))
        }
        Cmd::Deploy(args) => setup::all(setup::Need::Dev).and_then(|tools| deploy::deploy(&tools, &args)),
    };
    match result {
        Ok(()) => println!("xtask: done in {:.1} s", start.elapsed().as_secs_f64()),
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            std::process::exit(1);
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Prints a step header, so a long run says what it is doing.
pub fn step(msg: &str) {
    println!("\n==> {msg}");
}

/// Runs a command to completion, failing with its command line when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("command failed ({status}): {shown}");
    }
    Ok(())
}

/// Runs a command, printing its standard output when it ends and returning it (for the bench report).
fn capture(cmd: &mut Command) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {shown}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{text}");
    if !out.status.success() {
        bail!("command failed ({}): {shown}", out.status);
    }
    Ok(text)
}

/// `text` with paths inside the checkout made relative to it: the report is committed and read on
/// other machines, where this machine's directories mean nothing.
fn relative_paths(root: &std::path::Path, text: &str) -> String {
    text.replace(&format!("{}/", root.display()), "")
}

/// Replaces the generated part of docs/PERFORMANCE.md (after its marker line) with this run's
/// outputs, so the report always holds the raw numbers of the latest `cargo xtask bench`.
fn write_report(root: &std::path::Path, sections: &[(String, String)]) -> Result<()> {
    const MARKER: &str = "<!-- Everything below is written by `cargo xtask bench`; edit above this line. -->";
    let path = root.join("docs/PERFORMANCE.md");
    let doc = std::fs::read_to_string(&path).context("cannot read docs/PERFORMANCE.md")?;
    let head = doc.split(MARKER).next().unwrap_or_default().trim_end();
    let when = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map_or_else(|_| "unknown time".to_owned(), |o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mut out = format!(
        "{head}\n\n{MARKER}\n\n## Latest `cargo xtask bench` run\n\n{when}, {cores} cores. Raw output of each step;\nthe tables above are medians of several such runs.\n"
    );
    let relative = |s: &str| relative_paths(root, s);
    for (title, text) in sections {
        out.push_str(&format!("\n### {}\n\n```text\n{}\n```\n", relative(title), relative(text.trim_end())));
    }
    std::fs::write(&path, out).context("cannot write docs/PERFORMANCE.md")?;
    println!("\nreport written to {}", path.display());
    Ok(())
}

fn dev(port: u16, watch: bool) -> Result<()> {
    let tools = setup::all(setup::Need::Dev)?;
    let built = build::all(&tools)?;
    let state = root().join(".wrangler/state");
    build::seed(&tools, &built.kv_dir, &state)?;
    if watch {
        std::thread::spawn(build::watch_app);
    }
    serve::dev_forever(&tools, port, &state)
}

/// `cargo xtask experiments`: optional synthetic traffic, then the local events through the report.
fn experiments(tools: &setup::Tools, port: u16, traffic: Option<u32>, json: bool) -> Result<()> {
    let root = root();
    if let Some(sessions) = traffic {
        step(&format!("send {sessions} SYNTHETIC sessions to http://127.0.0.1:{port}"));
        run(tools
            .node()
            .current_dir(&root)
            .arg("xtask/traffic.mjs")
            .arg(format!("http://127.0.0.1:{port}"))
            .arg(sessions.to_string()))?;
    }
    step("export the events from the local D1 (wrangler d1 execute --local --json)");
    let export = tools
        .command(tools.npm_bin("wrangler"))
        .current_dir(&root)
        .args(["d1", "execute", "shopfront", "--local", "--json", "--config", "edge/wrangler.toml"])
        .arg("--persist-to")
        .arg(root.join(".wrangler/state"))
        .arg("--command")
        .arg(EVENTS_QUERY)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot start wrangler")?;
    if !export.status.success() {
        bail!(
            "wrangler d1 execute failed ({}): is the local database there (`cargo xtask dev`)?",
            export.status
        );
    }
    let export = export.stdout;
    let out = root.join("target/xtask/experiments");
    std::fs::create_dir_all(&out).context("cannot create target/xtask/experiments")?;
    let file = out.join("events.json");
    std::fs::write(&file, export).context("cannot write the events export")?;
    run(Command::new("cargo").current_dir(&root).args(["build", "--quiet", "-p", "indexer"]))?;
    let mut report = Command::new(root.join("target/debug/indexer"));
    report.arg("experiments").arg(&file).arg("--out").arg(out.join("report"));
    if json {
        report.arg("--json");
    }
    run(&mut report)
}

/// The export `indexer experiments` reads (its `EVENTS_QUERY`).
const EVENTS_QUERY: &str =
    "SELECT day, at, session, variant, surface, kind, list, item_id, position FROM events ORDER BY at";

/// The style gate, first so a slip fails in seconds: formatting, and clippy with every warning an
/// error, natively (all targets) and for the crates that ship as wasm (whose code differs by cfg).
fn style(root: &Path) -> Result<()> {
    step("style: cargo fmt --check");
    run(Command::new("cargo").current_dir(root).args(["fmt", "--all", "--check"]))?;
    step("lints: cargo clippy --workspace --all-targets -D warnings");
    run(Command::new("cargo").current_dir(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("lints: cargo clippy for wasm32 (app, edge, engine, ranking) -D warnings");
    run(Command::new("cargo").current_dir(root).args([
        "clippy",
        "-p",
        "app",
        "-p",
        "edge",
        "-p",
        "engine",
        "-p",
        "ranking",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))
}

/// The Stripe keys the browser tests' worker and stand-in share (test values, never real keys).
const STANDIN_SECRET_KEY: &str = "sk_test_standin";
const STANDIN_WEBHOOK_SECRET: &str = "whsec_standin";

fn test() -> Result<()> {
    let tools = setup::all(setup::Need::Test)?;
    let root = root();
    style(&root)?;
    step("native tests: cargo test --workspace --exclude app");
    run(Command::new("cargo").current_dir(&root).args(["test", "--workspace", "--exclude", "app"]))?;
    step("wasm32 build of ranking");
    run(Command::new("cargo").current_dir(&root).args([
        "build",
        "-p",
        "ranking",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    let built = build::all(&tools)?;
    let ivf_kv = build::partitioned_demo(&tools)?;

    step("edge tests: built worker in workerd (Miniflare) with KV seeded by the indexer");
    run(tools.node().current_dir(&root).env("KV_DIR", &built.kv_dir).env("IVF_KV_DIR", &ivf_kv).args([
        "--test",
        "--test-concurrency=1",
        "tests/e2e/edge.test.mjs",
    ]))?;

    deploy::bundle(&tools, &root.join("target/xtask/deploy"))?;

    step("browser tests: headless Chromium against wrangler dev");
    let state = root.join("target/xtask/test-state");
    if state.exists() {
        std::fs::remove_dir_all(&state).with_context(|| format!("cannot clear {}", state.display()))?;
    }
    build::seed(&tools, &built.kv_dir, &state)?;
    let port = serve::free_port()?;
    // The browser's checkout goes to a local stand-in for Stripe (tests/e2e/stripe-standin.mjs,
    // started by the tests on this port); the keys are test values, not secrets.
    let stripe_port = serve::free_port()?;
    let stripe = [
        ("STRIPE_SECRET_KEY", STANDIN_SECRET_KEY.to_owned()),
        ("STRIPE_WEBHOOK_SECRET", STANDIN_WEBHOOK_SECRET.to_owned()),
        ("STRIPE_API_BASE", format!("http://127.0.0.1:{stripe_port}")),
    ];
    serve::stop_group_on_ctrl_c();
    let server = serve::Wrangler::start(&tools, port, &state, &stripe)?;
    let result = run(tools
        .node()
        .current_dir(&root)
        .env("BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("STRIPE_PORT", stripe_port.to_string())
        .env("SHOP_STATE", &state)
        .env("STRIPE_SECRET_KEY", STANDIN_SECRET_KEY)
        .env("STRIPE_WEBHOOK_SECRET", STANDIN_WEBHOOK_SECRET)
        .env("CHROMIUM", &tools.chromium)
        .env("ARTIFACTS", root.join("tests/artifacts"))
        .args(["--test", "--test-concurrency=1", "tests/e2e/browser.test.mjs"]));
    drop(server);
    result?;
    println!("\nall test suites passed");
    Ok(())
}

fn bench(tools: &setup::Tools, scale: &[usize], seconds: u32) -> Result<()> {
    let root = root();
    step("native benchmarks: cargo bench -p ranking (criterion)");
    run(Command::new("cargo").current_dir(&root).args([
        "bench",
        "-p",
        "ranking",
        "--bench",
        "kernels",
        "--",
        "--warm-up-time",
        "1",
        "--measurement-time",
        "3",
    ]))?;
    let mut dirs = Vec::new();
    for (label, flags) in [("simd128", None), ("scalar", Some(""))] {
        step(&format!("wasm kernel build ({label})"));
        let target_dir = root.join(format!("target/wasm-bench-{label}"));
        let out = wasm::ranking_example_for_node(&root, "wasm_kernel", &target_dir, flags, "node")?;
        dirs.push(format!("{label}={}", out.display()));
    }
    let mut report: Vec<(String, String)> = Vec::new();
    step("wasm benchmarks in Node (V8)");
    report.push((
        "Kernels in wasm (Node, V8)".into(),
        capture(tools.node().arg("xtask/wasm-bench.mjs").args(&dirs))?,
    ));
    step("search compiled to wasm for Node (the side-by-side with Orama)");
    let search_pkg = wasm::ranking_example_for_node(
        &root,
        "wasm_search",
        &root.join("target/wasm-bench-simd128"),
        None,
        "search-node",
    )?;
    let built = build::all(tools)?;
    report.push((
        "What ships (raw, gzip, brotli)".into(),
        capture(tools.node().args(["xtask/sizes.mjs", "app/dist", "edge/build"]))?,
    ));
    step("edge latency: built worker in workerd (Miniflare), demo index");
    report.push((
        "Edge latency, demo index".into(),
        capture(tools.node().arg("xtask/edge-latency.mjs").arg(&built.kv_dir).arg("200"))?,
    ));
    step("search side by side with Orama in Node: same catalog, same queries");
    let orama = capture(
        tools
            .node()
            .arg("xtask/orama.mjs")
            .arg(&built.kv_dir)
            .arg(&search_pkg)
            .arg(root.join("target/xtask/demo/catalog.jsonl"))
            .arg("20"),
    )?;
    report.push(("Search side by side with Orama".into(), orama));
    // Each index with the catalog it was built from (the memory crawl walks its products).
    let mut indexes = vec![(built.kv_dir.clone(), root.join("target/xtask/demo/catalog.jsonl"))];
    if !scale.is_empty() {
        run(Command::new("cargo").current_dir(&root).args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "indexer",
        ]))?;
    }
    for &n in scale {
        let indexer = root.join("target/release/indexer");
        let data = root.join(format!("target/scale/syn{n}"));
        let out = root.join(format!("target/scale/build{n}"));
        step(&format!("synthetic catalog of {n} products (benchmarks only) and its index"));
        run(Command::new(&indexer).args(["import", "synthetic", "--n", &n.to_string(), "--out"]).arg(&data))?;
        run(Command::new(&indexer)
            .args(["build", "--catalog"])
            .arg(data.join("catalog.jsonl"))
            .arg("--interactions")
            .arg(data.join("interactions.csv"))
            .arg("--model")
            .arg(setup::model_dir(&root))
            .arg("--out")
            .arg(&out))?;
        indexes.push((out.join("kv"), data.join("catalog.jsonl")));
    }
    for (kv, _) in &indexes {
        for cache in [&[][..], &["--no-cache"][..]] {
            step(&format!("load: {} {}", kv.display(), cache.join(" ")));
            let out = capture(
                tools.node().arg("xtask/load.mjs").arg(kv).arg(seconds.to_string()).arg("8").args(cache),
            )?;
            report.push((format!("Load, {} {}", kv.display(), cache.join(" ")), out));
        }
    }
    for (kv, catalog) in &indexes {
        step(&format!("memory: a crawl of 10,000 product pages and 1,000 searches, {}", kv.display()));
        let out = capture(tools.node().arg("xtask/crawl.mjs").arg(kv).arg(catalog).args(["10000", "1000"]))?;
        report.push((format!("Memory after a crawl, {}", kv.display()), out));
    }
    for cache in [&[][..], &["--no-cache"][..]] {
        step(&format!(
            "load: a minute of every endpoint at the highest rate, demo index {}",
            cache.join(" ")
        ));
        let out = capture(
            tools
                .node()
                .env("LOAD_ONLY", "mixed")
                .arg("xtask/load.mjs")
                .arg(&built.kv_dir)
                .args(["60", "32"])
                .args(cache),
        )?;
        report.push((format!("Load, 60 s, 32 connections, every endpoint {}", cache.join(" ")), out));
    }
    step("load: POST /api/events for about a minute at the highest rate, rows in D1 counted");
    let out = capture(tools.node().arg("xtask/events-load.mjs").arg(&built.kv_dir).args(["60", "32"]))?;
    report.push(("Load, POST /api/events into D1, ~60 s, 32 connections".to_owned(), out));
    step("Lighthouse (mobile preset) against wrangler dev with the demo index, Debian Chromium");
    let state = root.join("target/xtask/bench-state");
    if state.exists() {
        std::fs::remove_dir_all(&state).with_context(|| format!("cannot clear {}", state.display()))?;
    }
    build::seed(tools, &built.kv_dir, &state)?;
    let port = serve::free_port()?;
    serve::stop_group_on_ctrl_c();
    let server = serve::Wrangler::start(tools, port, &state, &[])?;
    // The three ways shoppers arrive: the home page, a shared search, a product from a search engine.
    let product = first_product(&root.join("target/xtask/demo/catalog.jsonl"))?;
    let result = capture(
        tools
            .node()
            .env("CHROMIUM", &tools.chromium)
            .arg("xtask/lighthouse.mjs")
            .arg(format!("http://127.0.0.1:{port}"))
            .arg(root.join("tests/artifacts"))
            .arg("5")
            .args(["home=/", "search=/search?q=office%20chair"])
            .arg(format!("product=/p/{product}")),
    );
    drop(server);
    report.push(("Lighthouse (mobile preset)".into(), result?));
    write_report(&root, &report)
}

/// The id of the catalog's first product, as its page's path segment.
fn first_product(catalog: &std::path::Path) -> Result<String> {
    let text =
        std::fs::read_to_string(catalog).with_context(|| format!("cannot read {}", catalog.display()))?;
    let line = text.lines().next().with_context(|| format!("{}: no products", catalog.display()))?;
    let product: serde_json::Value = serde_json::from_str(line)
        .with_context(|| format!("{}, line 1: not a product", catalog.display()))?;
    let id = product["id"].as_str().with_context(|| format!("{}, line 1: no id", catalog.display()))?;
    // The page path percent-encodes the id (the demo's are letters, digits and dashes).
    Ok(id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn report_paths_are_relative_to_the_checkout() {
        let root = std::path::Path::new("/home/ci/shop");
        assert_eq!(
            super::relative_paths(root, "load: /home/ci/shop/target/xtask/demo-build/kv, /tmp/x"),
            "load: target/xtask/demo-build/kv, /tmp/x"
        );
    }
}
