//! Builds the three wasm artifacts (the app, the on-device engine, the worker) with nothing installed
//! by `cargo install`: cargo for wasm32, wasm-bindgen's generator linked into xtask as a library,
//! and wasm-opt and esbuild from npm.
//!
//! What trunk and worker-build used to do, in the few steps this project needs: the app's shell
//! (`dist/index.html` with a content-hashed loader, stylesheet and preloads) and the worker's ES
//! module (wasm-bindgen's "module" output wrapped in `edge/shim.js` and bundled by esbuild).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use wasm_bindgen_cli_support::Bindgen;

use crate::setup::Tools;
use crate::{run, step};

const WASM32: &str = "wasm32-unknown-unknown";

/// `cargo build --release` of one package for wasm32 (the library, or the binary `bin`); returns the
/// linked module in the workspace's target dir.
fn cargo_wasm(tools: &Tools, package: &str, bin: Option<&str>) -> Result<PathBuf> {
    let mut cmd = tools.command("cargo");
    cmd.args(["build", "--quiet", "--release", "-p", package, "--target", WASM32]);
    match bin {
        Some(bin) => cmd.args(["--bin", bin]),
        None => cmd.arg("--lib"),
    };
    run(&mut cmd)?;
    let file = bin.unwrap_or(package).replace('-', "_");
    Ok(tools.root.join("target").join(WASM32).join("release").join(format!("{file}.wasm")))
}

/// Runs wasm-bindgen's generator over `input` into a fresh `out` folder (`<name>.js`,
/// `<name>_bg.wasm`, `snippets/`), configured by `target`.
fn bindgen(
    input: &Path,
    out: &Path,
    name: &str,
    target: impl FnOnce(&mut Bindgen) -> Result<()>,
) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    let mut bindgen = Bindgen::new();
    // The library omits the glue's default wasm URL unless told (the CLI keeps it): the engine is
    // imported and initialised without one.
    bindgen.input_path(input).out_name(name).typescript(false).omit_default_module_path(false);
    target(&mut bindgen)?;
    bindgen.generate(out).with_context(|| format!("wasm-bindgen failed on {}", input.display()))
}

/// Builds one of ranking's wasm examples into `target_dir` (with `rustflags` replacing the config's
/// when given: an empty string is the scalar build) and writes its CommonJS glue for Node into
/// `target_dir/<out>`, which it returns: the benchmarks load kernels and search in V8.
pub fn ranking_example_for_node(
    root: &Path,
    example: &str,
    target_dir: &Path,
    rustflags: Option<&str>,
    out: &str,
) -> Result<PathBuf> {
    let mut cmd = std::process::Command::new("cargo");
    cmd.current_dir(root)
        .args(["build", "--quiet", "-p", "ranking", "--example", example, "--release", "--target", WASM32])
        .arg("--target-dir")
        .arg(target_dir);
    if let Some(flags) = rustflags {
        cmd.env("RUSTFLAGS", flags);
    }
    run(&mut cmd)?;
    let input = target_dir.join(WASM32).join(format!("release/examples/{example}.wasm"));
    let out = target_dir.join(out);
    bindgen(&input, &out, example, |g| g.nodejs(true).map(|_| ()))?;
    // wasm-bindgen's nodejs output is CommonJS; the workspace package.json says "module".
    std::fs::write(out.join("package.json"), "{\"type\": \"commonjs\"}\n")?;
    Ok(out)
}

/// wasm-opt (binaryen from npm) in place with `args`.
fn wasm_opt(tools: &Tools, wasm: &Path, args: &[&str]) -> Result<()> {
    run(tools.command(tools.npm_bin("wasm-opt")).args(args).arg("--output").arg(wasm).arg(wasm))
}

/// A 64-bit content hash of `files`, as 16 hex digits (names of immutable, cacheable files).
fn content_hash(files: &[PathBuf]) -> Result<String> {
    let mut hash = DefaultHasher::new();
    for f in files {
        std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?.hash(&mut hash);
    }
    Ok(format!("{:016x}", hash.finish()))
}

/// Every file under `dir`, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    crate::build::collect(dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// Copies the folder `from` into `to` (created), file by file.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for f in files_under(from)? {
        let dest = to.join(f.strip_prefix(from)?);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::copy(&f, &dest)
            .with_context(|| format!("cannot copy {} to {}", f.display(), dest.display()))?;
    }
    Ok(())
}

/// The app into a fresh `dist/`: its wasm and glue under content-hashed names, the stylesheet, the
/// public files, and `index.html` with the loader and preloads written into its head.
pub fn app(tools: &Tools, dist: &Path) -> Result<()> {
    let root = &tools.root;
    step("build the app (cargo wasm32, wasm-bindgen, wasm-opt -Oz)");
    let linked = cargo_wasm(tools, "app", Some("app"))?;
    let staging = root.join("target/xtask/bindgen/app");
    bindgen(&linked, &staging, "app", |g| g.web(true).map(|_| ()))?;
    wasm_opt(tools, &staging.join("app_bg.wasm"), &["-Oz"])?;

    if dist.exists() {
        std::fs::remove_dir_all(dist).with_context(|| format!("cannot clear {}", dist.display()))?;
    }
    std::fs::create_dir_all(dist).with_context(|| format!("cannot create {}", dist.display()))?;
    let stem = format!("app-{}", content_hash(&files_under(&staging)?)?);
    std::fs::copy(staging.join("app.js"), dist.join(format!("{stem}.js"))).context("cannot copy app.js")?;
    std::fs::copy(staging.join("app_bg.wasm"), dist.join(format!("{stem}_bg.wasm")))
        .context("cannot copy app_bg.wasm")?;
    let snippets = snippet_urls(&staging, dist)?;

    let css = root.join("style/main.css");
    let css_name = format!("main-{}.css", &content_hash(std::slice::from_ref(&css))?);
    std::fs::copy(&css, dist.join(&css_name)).context("cannot copy style/main.css")?;
    copy_dir(&root.join("public"), dist)?;

    let template =
        std::fs::read_to_string(root.join("app/index.html")).context("cannot read app/index.html")?;
    let html = shell_html(&template, &stem, &css_name, &snippets)?;
    std::fs::write(dist.join("index.html"), html).context("cannot write dist/index.html")
}

/// Copies wasm-bindgen's snippets (JS the app's crates inline) into `dist/snippets/` and returns
/// their URLs, which the shell preloads with the glue that imports them.
fn snippet_urls(staging: &Path, dist: &Path) -> Result<Vec<String>> {
    let snippets = staging.join("snippets");
    if !snippets.is_dir() {
        return Ok(Vec::new());
    }
    copy_dir(&snippets, &dist.join("snippets"))?;
    files_under(&snippets)?
        .iter()
        .map(|f| Ok(format!("/snippets/{}", f.strip_prefix(&snippets)?.to_string_lossy().replace('\\', "/"))))
        .collect()
}

/// `app/index.html` with, before `</head>`: the module loader (an inline script whose hash goes into
/// the CSP), the stylesheet, and preloads for the glue and its snippets.
///
/// The loader starts the app at once on a page without content of its own (the plain shell), and
/// after the page's `load` event on a page the edge prerendered: that page is painted already, its
/// images first, and the app's wasm (downloaded, compiled and started) then does not compete with
/// the first screen for the network or the main thread. So the wasm is not preloaded either.
fn shell_html(template: &str, stem: &str, css: &str, snippets: &[String]) -> Result<String> {
    ensure!(template.matches("</head>").count() == 1, "app/index.html needs exactly one </head>");
    let mut head = format!(
        "<script type=\"module\">import init from '/{stem}.js';\
         const start = () => init({{ module_or_path: '/{stem}_bg.wasm' }});\
         if (document.getElementById('prerender') && document.readyState !== 'complete') \
         addEventListener('load', start, {{ once: true }}); else start();</script>\n\
         <link rel=\"stylesheet\" href=\"/{css}\">\n\
         <link rel=\"modulepreload\" href=\"/{stem}.js\">\n"
    );
    for url in snippets {
        head.push_str(&format!("<link rel=\"modulepreload\" href=\"{url}\">\n"));
    }
    Ok(template.replacen("</head>", &format!("{head}</head>"), 1))
}

/// Builds the on-device ranking engine (`engine/`) as the app's second wasm module into
/// `dist/engine-<hash>/` (ES module glue, wasm-opt -Oz like the app) and returns its glue's URL.
pub fn engine(tools: &Tools, dist: &Path) -> Result<String> {
    step("build the on-device ranking engine (second wasm module)");
    let linked = cargo_wasm(tools, "engine", None)?;
    let staging = tools.root.join("target/xtask/bindgen/engine");
    bindgen(&linked, &staging, "engine", |g| g.web(true).map(|_| ()))?;
    wasm_opt(tools, &staging.join("engine_bg.wasm"), &["-Oz"])?;
    let files = ["engine.js", "engine_bg.wasm"].map(|f| staging.join(f));
    let dir = format!("engine-{}", content_hash(&files)?);
    std::fs::create_dir_all(dist.join(&dir))?;
    for f in &files {
        let name = f.file_name().context("no file name")?;
        std::fs::copy(f, dist.join(&dir).join(name))
            .with_context(|| format!("cannot copy {} into {}", f.display(), dist.display()))?;
    }
    Ok(format!("/{dir}/engine.js"))
}

/// The worker's handlers that `edge/shim.js` forwards; the build fails if the module exports others
/// (a new `#[event]` needs its line in the shim).
const WORKER_HANDLERS: &[&str] = &["fetch", "scheduled"];

/// The worker into `out` (`index.js` + `index_bg.wasm`, what wrangler.toml's `main` names):
/// wasm-bindgen's "module" output with the state-reset function (so a trapped instance is replaced,
/// as worker-build does), wasm-opt -O, then `edge/shim.js` bundled with the glue by esbuild.
pub fn worker(tools: &Tools, out: &Path) -> Result<()> {
    let root = &tools.root;
    step("build the worker (cargo wasm32, wasm-bindgen, wasm-opt, esbuild)");
    // The worker crate's macros read this to await promises through js-sys, as worker-build sets.
    let mut cmd = tools.command("cargo");
    cmd.env("WASM_BINDGEN_USE_JS_SYS", "1").args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "edge",
        "--lib",
        "--target",
        WASM32,
    ]);
    run(&mut cmd)?;
    let linked = root.join("target").join(WASM32).join("release/edge.wasm");
    let staging = root.join("target/xtask/bindgen/edge");
    bindgen(&linked, &staging, "index", |g| {
        g.module(true)?.reset_state_function(true).force_enable_abort_handler(true);
        Ok(())
    })?;
    // The features workerd supports, listed rather than --all-features so binaryen never emits an
    // encoding the runtime cannot load.
    let features = [
        "--enable-mutable-globals",
        "--enable-sign-ext",
        "--enable-nontrapping-float-to-int",
        "--enable-bulk-memory",
        "--enable-multivalue",
        "--enable-reference-types",
        "--enable-exception-handling",
    ];
    wasm_opt(tools, &staging.join("index_bg.wasm"), &[&["-O"][..], &features].concat())?;
    check_exports(&std::fs::read_to_string(staging.join("index.js")).context("cannot read the glue")?)?;
    std::fs::copy(root.join("edge/shim.js"), staging.join("shim.js")).context("cannot copy edge/shim.js")?;
    bundle_worker(tools, &staging, out)
}

/// Fails unless the glue exports exactly the handlers the shim forwards (plus wasm-bindgen's own).
fn check_exports(glue: &str) -> Result<()> {
    let mut found: Vec<&str> = glue
        .lines()
        .filter_map(|l| {
            l.strip_prefix("export function ").or_else(|| l.strip_prefix("export async function "))
        })
        .filter_map(|rest| rest.split('(').next())
        .map(str::trim)
        .filter(|name| !name.starts_with("__"))
        .collect();
    found.sort_unstable();
    if found != WORKER_HANDLERS {
        bail!("the worker exports {found:?} but edge/shim.js forwards {WORKER_HANDLERS:?}");
    }
    Ok(())
}

/// esbuild bundles `shim.js` and the glue into one minified ES module beside the wasm, which stays a
/// separate file that workerd compiles.
fn bundle_worker(tools: &Tools, staging: &Path, out: &Path) -> Result<()> {
    run(tools.command(tools.npm_bin("esbuild")).current_dir(staging).args([
        "--bundle",
        "--format=esm",
        "--minify",
        "--external:./index_bg.wasm",
        "--external:cloudflare:*",
        "--outfile=bundle.js",
        "./shim.js",
    ]))?;
    // wasm-bindgen's "module" target imports the wasm as a source-phase import; workerd's module
    // rules give a compiled module for a plain import of a .wasm file.
    let js = std::fs::read_to_string(staging.join("bundle.js")).context("cannot read the bundle")?;
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    std::fs::write(out.join("index.js"), js.replace("import source ", "import "))
        .context("cannot write the worker's index.js")?;
    std::fs::copy(staging.join("index_bg.wasm"), out.join("index_bg.wasm"))
        .context("cannot copy the worker's wasm")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_gets_loader_stylesheet_and_preloads_in_its_head() {
        let html = shell_html(
            "<html><head><title>x</title></head><body></body></html>",
            "app-00ff",
            "main-11.css",
            &["/snippets/app-1/inline0.js".to_owned()],
        )
        .unwrap();
        let head = &html[..html.find("</head>").unwrap()];
        assert!(head.contains("import init from '/app-00ff.js';const start = () => init({ module_or_path: '/app-00ff_bg.wasm' });"));
        // A prerendered page starts the app once it has loaded; the plain shell at once.
        assert!(head.contains("if (document.getElementById('prerender') && document.readyState !== 'complete') addEventListener('load', start, { once: true }); else start();"));
        assert!(head.contains("<link rel=\"stylesheet\" href=\"/main-11.css\">"));
        assert!(head.contains("<link rel=\"modulepreload\" href=\"/snippets/app-1/inline0.js\">"));
        assert!(!head.contains("rel=\"preload\""), "the wasm is fetched when the app starts");
        assert!(shell_html("<html><body></body></html>", "a", "b", &[]).is_err());
    }

    #[test]
    fn worker_exports_must_match_the_shim() {
        let glue = "export function fetch(req, env, ctx) {\nexport function scheduled(e, env, ctx) {\nexport function __wbg_reset_state() {\n";
        assert!(check_exports(glue).is_ok());
        let extra = format!("{glue}export function queue(b, env, ctx) {{\n");
        assert!(check_exports(&extra).unwrap_err().to_string().contains("queue"));
        assert!(check_exports("export function fetch(a) {\n").is_err());
    }
}
