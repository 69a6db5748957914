//! The one integration-test binary: the indexer CLI on real files, and the architecture invariants.
//!
//! It is owned by the `indexer` package (so `CARGO_BIN_EXE_indexer` points at the built CLI) but lives
//! in the workspace's `tests/` folder with the browser and workerd tests.

// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod embeddings;
mod importers;
mod indexer_cli;
mod invariants;
mod ivf;
mod relevance;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Runs the indexer with `args`, returning exit status and output as text.
pub fn indexer(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let Output { status, stdout, stderr } =
        Command::new(env!("CARGO_BIN_EXE_indexer")).args(args).output().expect("indexer runs");
    (
        status.success(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// A temporary folder removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("shopfront-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
