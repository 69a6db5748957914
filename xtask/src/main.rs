//! `cargo xtask`: the project's automation, so setup, builds and tests are code, not wiki pages.

mod build;
mod deploy;
mod fuzz;
mod serve;
mod setup;

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
    },
    /// Set up everything, then run every test: native, wasm32 build, workerd, headless Chromium.
    Test,
    /// Only install the toolchain pieces (target, cargo tools, npm packages, Chromium).
    Setup,
    /// Build the app and the worker (release) and index the demo catalog.
    Build,
    /// Benchmarks: ranking kernels natively (criterion) and in wasm under V8 (simd128 and scalar),
    /// per-endpoint latency of the built worker in workerd, and a load run (autocannon) per index.
    Bench {
        /// Also index synthetic catalogs of these sizes (e.g. `100000,1000000`) and load-test them.
        #[arg(long, value_delimiter = ',')]
        scale: Vec<usize>,
        /// Seconds per load scenario.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    /// Build, index, upload the KV build and `wrangler deploy` (`--dry-run`: bundle only, offline).
    Deploy(deploy::DeployArgs),
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
        Cmd::Dev { port } => dev(port),
        Cmd::Test => test(),
        Cmd::Setup => setup::all(setup::Need::Dev).map(|_| ()),
        Cmd::Build => setup::all(setup::Need::Dev).and_then(|tools| build::all(&tools).map(|_| ())),
        Cmd::Bench { scale, seconds } => {
            setup::all(setup::Need::Test).and_then(|tools| bench(&tools, &scale, seconds))
        }
        Cmd::Fuzz { seconds } => setup::all(setup::Need::Dev)
            .and_then(|tools| build::all(&tools).and_then(|_| build::partitioned_demo(&tools)).map(|_| tools))
            .and_then(|tools| fuzz::fuzz(&tools, seconds)),
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

fn dev(port: u16) -> Result<()> {
    let tools = setup::all(setup::Need::Dev)?;
    let built = build::all(&tools)?;
    let state = root().join(".wrangler/state");
    build::seed(&tools, &built.kv_dir, &state)?;
    serve::dev_forever(&tools, port, &state)
}

fn test() -> Result<()> {
    let tools = setup::all(setup::Need::Test)?;
    let root = root();
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
    serve::stop_group_on_ctrl_c();
    let server = serve::Wrangler::start(&tools, port, &state)?;
    let result = run(tools
        .node()
        .current_dir(&root)
        .env("BASE_URL", format!("http://127.0.0.1:{port}"))
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
        let mut cmd = Command::new("cargo");
        cmd.current_dir(&root)
            .args([
                "build",
                "--quiet",
                "-p",
                "ranking",
                "--example",
                "wasm_kernel",
                "--release",
                "--target",
                "wasm32-unknown-unknown",
                "--target-dir",
            ])
            .arg(&target_dir);
        if let Some(f) = flags {
            // An empty RUSTFLAGS replaces the config's `+simd128`: the scalar build.
            cmd.env("RUSTFLAGS", f);
        }
        run(&mut cmd)?;
        let out = target_dir.join("node");
        run(tools
            .command(tools.cargo_bin.join("wasm-bindgen"))
            .arg(target_dir.join("wasm32-unknown-unknown/release/examples/wasm_kernel.wasm"))
            .args(["--target", "nodejs", "--out-dir"])
            .arg(&out))?;
        // wasm-bindgen's nodejs output is CommonJS; the workspace package.json says "module".
        std::fs::write(out.join("package.json"), "{\"type\": \"commonjs\"}\n")?;
        dirs.push(format!("{label}={}", out.display()));
    }
    step("wasm benchmarks in Node (V8)");
    run(tools.node().arg("xtask/wasm-bench.mjs").args(&dirs))?;
    step("search compiled to wasm for Node (the side-by-side with Orama)");
    let search_dir = root.join("target/wasm-bench-simd128");
    run(Command::new("cargo")
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "-p",
            "ranking",
            "--example",
            "wasm_search",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--target-dir",
        ])
        .arg(&search_dir))?;
    let search_pkg = search_dir.join("search-node");
    run(tools
        .command(tools.cargo_bin.join("wasm-bindgen"))
        .arg(search_dir.join("wasm32-unknown-unknown/release/examples/wasm_search.wasm"))
        .args(["--target", "nodejs", "--out-dir"])
        .arg(&search_pkg))?;
    std::fs::write(search_pkg.join("package.json"), "{\"type\": \"commonjs\"}\n")?;
    let built = build::all(tools)?;
    step("edge latency: built worker in workerd (Miniflare), demo index");
    run(tools.node().arg("xtask/edge-latency.mjs").arg(&built.kv_dir).arg("200"))?;
    step("search side by side with Orama in Node: same catalog, same queries");
    run(tools
        .node()
        .arg("xtask/orama.mjs")
        .arg(&built.kv_dir)
        .arg(&search_pkg)
        .arg(root.join("target/xtask/demo/catalog.jsonl"))
        .arg("20"))?;
    let mut indexes = vec![built.kv_dir.clone()];
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
        indexes.push(out.join("kv"));
    }
    for kv in &indexes {
        for cache in [&[][..], &["--no-cache"][..]] {
            step(&format!("load: {} {}", kv.display(), cache.join(" ")));
            run(tools.node().arg("xtask/load.mjs").arg(kv).arg(seconds.to_string()).arg("8").args(cache))?;
        }
    }
    step("Lighthouse (mobile preset) against wrangler dev with the demo index, Debian Chromium");
    let state = root.join("target/xtask/bench-state");
    if state.exists() {
        std::fs::remove_dir_all(&state).with_context(|| format!("cannot clear {}", state.display()))?;
    }
    build::seed(tools, &built.kv_dir, &state)?;
    let port = serve::free_port()?;
    serve::stop_group_on_ctrl_c();
    let server = serve::Wrangler::start(tools, port, &state)?;
    let report = root.join("tests/artifacts/lighthouse-mobile.html");
    let result = run(tools
        .node()
        .env("CHROMIUM", &tools.chromium)
        .arg("xtask/lighthouse.mjs")
        .arg(format!("http://127.0.0.1:{port}/"))
        .arg(&report)
        .arg("3"));
    drop(server);
    result
}
