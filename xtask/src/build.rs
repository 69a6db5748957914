//! Release builds of the app and the worker (skipped when their inputs did not change), the demo
//! index, and seeding of a local KV store.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::setup::{self, Tools};
use crate::{run, step, wasm};

/// KV namespace id used locally (matches edge/wrangler.toml).
pub const LOCAL_NAMESPACE: &str = "shopfront-local";

#[derive(Debug)]
pub struct Built {
    /// `kv/` folder of the demo build, one file per key.
    pub kv_dir: PathBuf,
}

pub fn all(tools: &Tools) -> Result<Built> {
    let root = &tools.root;
    build_app(tools)?;
    build_worker(tools)?;
    sizes(tools)?;

    step("index the demo catalog (Superstore) with the indexer");
    run(Command::new("cargo").current_dir(root).args(["build", "--quiet", "-p", "indexer"]))?;
    let indexer = root.join("target/debug/indexer");
    let demo = root.join("target/xtask/demo");
    run(Command::new(&indexer)
        .arg("import")
        .arg("superstore")
        .arg(setup::demo_csv(root))
        .arg("--out")
        .arg(&demo))?;
    let out = root.join("target/xtask/demo-build");
    index_demo(tools, &out, &[])?;
    Ok(Built { kv_dir: out.join("kv") })
}

/// `indexer build` of the imported demo catalog (with the model) into `out`, plus `extra` arguments.
fn index_demo(tools: &Tools, out: &Path, extra: &[&str]) -> Result<()> {
    let root = &tools.root;
    let demo = root.join("target/xtask/demo");
    run(Command::new(root.join("target/debug/indexer"))
        .arg("build")
        .arg("--catalog")
        .arg(demo.join("catalog.jsonl"))
        .arg("--interactions")
        .arg(demo.join("interactions.csv"))
        .arg("--model")
        .arg(setup::model_dir(root))
        // Two experiment variants, so the demo splits shoppers (and the experiment report has
        // something to compare): the weights the build chose (pure popularity on Superstore, whose
        // orders are near random) and a feed that follows the shopper's history.
        .arg("--variants")
        .arg(root.join("xtask/demo-variants.json"))
        .args(extra)
        .arg("--out")
        .arg(out))
}

/// The app's sources: what `build_app` fingerprints and `watch_app` polls.
const APP_INPUTS: &[&str] = &[
    "app/src",
    "app/Cargo.toml",
    "app/index.html",
    "engine",
    "style",
    "public",
    "edge/src/seo.rs",
    "xtask/src/wasm.rs",
    "ranking",
    "Cargo.toml",
    "Cargo.lock",
];

/// The app with its engine into `app/dist`, unless its sources did not change since the last build.
fn build_app(tools: &Tools) -> Result<()> {
    build_if_changed(tools, "app", APP_INPUTS, "app/dist/index.html", || {
        let dist = tools.root.join("app/dist");
        wasm::app(tools, &dist)?;
        let engine = wasm::engine(tools, &dist)?;
        name_engine(&dist, &engine)?;
        add_csp(&dist)?;
        service_worker(&dist)
    })
}

/// `cargo xtask dev --watch`: polls the app's sources once a second and rebuilds the app when they
/// change (a failed build is reported and the old one keeps being served).
pub fn watch_app() {
    let tools = setup::locate(None);
    let mut last = fingerprint(&tools.root, APP_INPUTS).ok();
    println!("  watching the app's sources (reload the page after a rebuild)");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        let now = fingerprint(&tools.root, APP_INPUTS).ok();
        if now == last {
            continue;
        }
        last = now;
        match build_app(&tools) {
            Ok(()) => println!("  app rebuilt"),
            Err(e) => eprintln!("  app build failed (still serving the last one): {e:#}"),
        }
    }
}

/// Names the engine's glue in the shell (`<meta name="shopfront-engine">`), where the app looks
/// for it after its first paint.
fn name_engine(dist: &Path, url: &str) -> Result<()> {
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index).context("cannot read dist/index.html")?;
    anyhow::ensure!(html.contains("</head>"), "dist/index.html has no </head>");
    let meta = format!("<meta name=\"shopfront-engine\" content=\"{url}\">");
    std::fs::write(&index, html.replacen("</head>", &format!("{meta}</head>"), 1))
        .context("cannot write dist/index.html")
}

/// The worker into `edge/build`, unless its sources did not change since the last build.
pub fn build_worker(tools: &Tools) -> Result<()> {
    let shared = ["ranking", "Cargo.toml", "Cargo.lock"];
    build_if_changed(
        tools,
        "edge",
        &[&["edge/src", "edge/Cargo.toml", "edge/shim.js", "xtask/src/wasm.rs"][..], &shared].concat(),
        "edge/build/index.js",
        || wasm::worker(tools, &tools.root.join("edge/build")),
    )
}

/// Writes the build's file list and a version (hash of that list and the files) into `dist/sw.js`,
/// so the service worker precaches exactly this build's shell and assets and drops older ones.
fn service_worker(dist: &Path) -> Result<()> {
    let mut files = Vec::new();
    collect(dist, &mut files)?;
    files.sort();
    let mut urls = vec!["/".to_owned()];
    let mut hash = std::hash::DefaultHasher::new();
    for f in &files {
        let rel = f.strip_prefix(dist)?.to_string_lossy().replace('\\', "/");
        if ["_headers", "sw.js", "index.html"].contains(&rel.as_str()) {
            continue;
        }
        std::hash::Hash::hash(
            &std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?,
            &mut hash,
        );
        urls.push(format!("/{rel}"));
    }
    std::hash::Hash::hash(
        &std::fs::read(dist.join("index.html")).context("cannot read dist/index.html")?,
        &mut hash,
    );
    let hash = std::hash::Hasher::finish(&hash);
    let path = dist.join("sw.js");
    let sw = std::fs::read_to_string(&path).context("cannot read dist/sw.js")?;
    // File names are plain ASCII; Debug quoting is valid JavaScript for them.
    let list = format!("[{}]", urls.iter().map(|u| format!("{u:?}")).collect::<Vec<_>>().join(", "));
    let (version, precache) = ("const VERSION = \"dev\";", "const PRECACHE = [\"/\"];");
    anyhow::ensure!(
        sw.contains(version) && sw.contains(precache),
        "dist/sw.js lacks the VERSION/PRECACHE lines"
    );
    let sw = sw
        .replace(version, &format!("const VERSION = \"{hash:016x}\";"))
        .replace(precache, &format!("const PRECACHE = {list};"));
    std::fs::write(&path, sw).context("cannot write dist/sw.js")
}

/// Puts the shell's Content-Security-Policy (its inline loader allowed by hash) into the `/*` rule of
/// `dist/_headers`, so every page served straight from assets carries the policy the worker sets on
/// product pages.
fn add_csp(dist: &Path) -> Result<()> {
    let shell = std::fs::read_to_string(dist.join("index.html")).context("cannot read dist/index.html")?;
    let path = dist.join("_headers");
    let headers = std::fs::read_to_string(&path).context("cannot read dist/_headers")?;
    let line = format!("/*\n  Content-Security-Policy: {}\n", edge::seo::shell_csp(&shell));
    anyhow::ensure!(headers.contains("/*\n"), "dist/_headers has no `/*` rule for the CSP");
    std::fs::write(&path, headers.replacen("/*\n", &line, 1)).context("cannot write dist/_headers")
}

/// Indexes the demo catalog again as a partitioned build (24 IVF cells of ~80 products), so the tests
/// run the large-catalog code path in workerd on real data. Returns its `kv/` folder.
pub fn partitioned_demo(tools: &Tools) -> Result<PathBuf> {
    step("index the demo catalog partitioned into 24 IVF cells (the large-catalog path)");
    let out = tools.root.join("target/xtask/demo-ivf-build");
    index_demo(tools, &out, &["--cells", "24"])?;
    Ok(out.join("kv"))
}

/// Writes a build's keys into the local KV store under `state` (wrangler's --persist-to folder).
pub fn seed(tools: &Tools, kv_dir: &Path, state: &Path) -> Result<()> {
    step(&format!("seed local KV at {}", state.display()));
    run(tools
        .node()
        .arg("xtask/seed-kv.mjs")
        .arg(kv_dir)
        .arg(state.join("v3/kv"))
        .arg(LOCAL_NAMESPACE)
        .arg("--prune"))?;
    migrate(tools, state)
}

/// Applies edge/migrations to the local D1 database under `state` (the order store); only the
/// migrations not applied yet run.
fn migrate(tools: &Tools, state: &Path) -> Result<()> {
    step("apply D1 migrations to the local order store");
    run(tools
        .command(tools.npm_bin("wrangler"))
        .current_dir(&tools.root)
        .args(["d1", "migrations", "apply", "shopfront", "--local", "--config", "edge/wrangler.toml"])
        .arg("--persist-to")
        .arg(state)
        .stdin(std::process::Stdio::null()))
}

/// Runs `build` unless the inputs' fingerprint equals the one of the last successful build and the
/// output still exists.
fn build_if_changed(
    tools: &Tools,
    name: &str,
    inputs: &[&str],
    output: &str,
    build: impl FnOnce() -> Result<()>,
) -> Result<()> {
    step(&format!("build {name} (release)"));
    let root = &tools.root;
    let stamp = root.join("target/xtask/stamps").join(name);
    let print = fingerprint(root, inputs)?.to_string();
    if root.join(output).is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(print.as_str())
    {
        println!("  up to date");
        return Ok(());
    }
    build()?;
    std::fs::create_dir_all(stamp.parent().unwrap_or(root)).context("cannot create stamp folder")?;
    std::fs::write(&stamp, print).with_context(|| format!("cannot write {}", stamp.display()))
}

fn fingerprint(root: &Path, inputs: &[&str]) -> Result<u64> {
    let mut files = Vec::new();
    for input in inputs {
        collect(&root.join(input), &mut files)?;
    }
    files.sort();
    let mut h = DefaultHasher::new();
    for path in files {
        let meta = std::fs::metadata(&path).with_context(|| format!("cannot stat {}", path.display()))?;
        path.hash(&mut h);
        meta.len().hash(&mut h);
        meta.modified().ok().hash(&mut h);
    }
    Ok(h.finish())
}

pub(crate) fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))? {
            collect(&entry?.path(), out)?;
        }
    } else if path.is_file() {
        out.push(path.to_owned());
    }
    Ok(())
}

/// Prints raw, gzip and brotli sizes of the shipped wasm and JS (the budget that bounds first paint).
fn sizes(tools: &Tools) -> Result<()> {
    step("sizes of what ships");
    run(tools.node().args(["xtask/sizes.mjs", "app/dist", "edge/build"]))
}
