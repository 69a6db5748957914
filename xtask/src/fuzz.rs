//! `cargo xtask fuzz`: every fuzz target in `fuzz/` (cargo-fuzz, libFuzzer) for a fixed time each, the
//! KV decoder seeded with real values from the demo builds; prints executions and coverage per target.
//! Not part of `cargo xtask test` (it needs nightly and minutes).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::setup::{self, Tools};
use crate::step;

/// The fuzz targets, each an input the shop takes from outside.
const TARGETS: [&str; 4] = ["kv_decode", "query", "request", "importers"];
/// cargo-fuzz (only `cargo xtask fuzz` installs it; it needs the nightly toolchain anyway).
const CARGO_FUZZ: &str = "0.13.2";

pub fn fuzz(tools: &Tools, seconds: u32) -> Result<()> {
    let root = &tools.root;
    step("setup: nightly toolchain (libFuzzer instrumentation needs it)");
    let toolchains = setup::output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if !toolchains.lines().any(|l| l.starts_with("nightly")) {
        crate::run(Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))
            .context("installing the nightly toolchain (needs static.rust-lang.org)")?;
    } else {
        println!("  present");
    }
    setup::cargo_tool(&tools.cargo_bin, "cargo-fuzz", "cargo-fuzz", CARGO_FUZZ, true)?;
    // Real KV values are the best seeds: the fuzzer starts from valid frames and mutates inward.
    let corpus = root.join("target/fuzz-corpus");
    seed_kv(root, &corpus.join("kv_decode"))?;
    let mut failed = Vec::new();
    for target in TARGETS {
        step(&format!("fuzz {target} for {seconds} s"));
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let out = Command::new("cargo")
            .current_dir(root)
            .args(["+nightly", "fuzz", "run", target, "-s", "none", "--target-dir", "target/fuzz"])
            .arg(&dir)
            .args(["--", &format!("-max_total_time={seconds}"), "-max_len=200000", "-print_final_stats=1"])
            .output()
            .with_context(|| format!("cannot run cargo fuzz for {target}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        let done = log.lines().rev().find(|l| l.contains("DONE") || l.contains("cov:")).unwrap_or("");
        println!("  {}", done.trim());
        if let Some(runs) = log.lines().find(|l| l.starts_with("Done ")) {
            println!("  {runs}");
        }
        if !out.status.success() {
            // A crash: libFuzzer saved the input under fuzz/artifacts/<target>/.
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
            failed.push(target);
        }
    }
    if !failed.is_empty() {
        bail!("fuzz targets failed: {failed:?} (inputs in fuzz/artifacts/; add each as a regression test)");
    }
    Ok(())
}

/// Copies the small KV values of the demo builds (all but the embedder) into the corpus.
fn seed_kv(root: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for build in ["target/xtask/demo-build/kv", "target/xtask/demo-ivf-build/kv"] {
        let mut stack = vec![root.join(build)];
        while let Some(p) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&p) else { continue };
            for e in entries.flatten() {
                let path = e.path();
                let size = e.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
                if path.is_dir() {
                    stack.push(path);
                } else if size <= 200_000 {
                    let name = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('/', "_");
                    std::fs::copy(&path, dir.join(name))
                        .with_context(|| format!("cannot seed {}", path.display()))?;
                }
            }
        }
    }
    Ok(())
}
