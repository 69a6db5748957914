//! `cargo xtask deploy`: build, index, upload the KV build to the real namespace (entries first, the
//! `current` pointer last) and `wrangler deploy`. `--dry-run` does everything that needs no account:
//! builds, indexes, prints the upload commands and bundles the worker with `wrangler deploy --dry-run`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::setup::Tools;
use crate::{build, run, step};

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// Bundle and print what would be uploaded, without an account or network.
    #[arg(long)]
    dry_run: bool,
    /// Catalog to index (default: the Superstore demo).
    #[arg(long, requires = "interactions")]
    catalog: Option<PathBuf>,
    /// Interactions CSV for --catalog.
    #[arg(long)]
    interactions: Option<PathBuf>,
    /// Where `--dry-run` writes the bundled worker.
    #[arg(long, default_value = "target/xtask/deploy")]
    outdir: PathBuf,
}

/// The KV namespace id in edge/wrangler.toml (`id = "…"` of the SHOP binding).
fn namespace_id(wrangler_toml: &str) -> Option<String> {
    table_value(wrangler_toml, "[[kv_namespaces]]", "id")
}

/// The D1 database id in edge/wrangler.toml (`database_id = "…"` of the order store).
fn database_id(wrangler_toml: &str) -> Option<String> {
    table_value(wrangler_toml, "[[d1_databases]]", "database_id")
}

/// The first `key = "value"` inside a `table` header of wrangler.toml.
fn table_value(wrangler_toml: &str, table: &str, key: &str) -> Option<String> {
    let mut inside = false;
    for line in wrangler_toml.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == table;
        } else if inside
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            return Some(v.split('#').next()?.trim().trim_matches('"').to_owned());
        }
    }
    None
}

/// The id wrangler.toml ships with for the local order store.
const LOCAL_DATABASE: &str = "00000000-0000-4000-8000-000000000000";

pub fn deploy(tools: &Tools, args: &DeployArgs) -> Result<()> {
    let root = &tools.root;
    let built = build::all(tools)?;
    let build_dir = match (&args.catalog, &args.interactions) {
        (Some(catalog), Some(interactions)) => index(tools, catalog, interactions)?,
        _ => built.kv_dir.parent().map(Path::to_path_buf).context("demo build folder")?,
    };
    let toml =
        std::fs::read_to_string(root.join("edge/wrangler.toml")).context("cannot read edge/wrangler.toml")?;
    let ns = namespace_id(&toml).context("edge/wrangler.toml has no [[kv_namespaces]] id")?;
    if ns == build::LOCAL_NAMESPACE && !args.dry_run {
        bail!(
            "edge/wrangler.toml still has the local KV id {ns:?}: create a namespace with \
             `npx wrangler kv namespace create SHOP` and put its id there"
        );
    }
    let db = database_id(&toml).context("edge/wrangler.toml has no [[d1_databases]] database_id")?;
    if db == LOCAL_DATABASE && !args.dry_run {
        bail!(
            "edge/wrangler.toml still has the local D1 id: create the order store with \
             `npx wrangler d1 create shopfront` and put its id there"
        );
    }
    // `bulk put` of binary values is only broken against the local store (see docs/FORMATS.md); the
    // remote API stores base64 values as the bytes they encode.
    // `bulk.json`, `bulk-2.json`, … (big builds are split by size), then the pointer.
    let mut uploads = vec![build_dir.join("bulk.json")];
    for n in 2.. {
        let part = build_dir.join(format!("bulk-{n}.json"));
        if !part.is_file() {
            break;
        }
        uploads.push(part);
    }
    uploads.push(build_dir.join("bulk-current.json"));
    for file in &uploads {
        anyhow::ensure!(file.is_file(), "{} is missing", file.display());
    }
    let wrangler = tools.npm_bin("wrangler");
    let bulk = |file: &Path| {
        let mut cmd = tools.command(&wrangler);
        cmd.current_dir(root.join("edge")).args(["kv", "bulk", "put"]).arg(file).args([
            "--namespace-id",
            &ns,
            "--remote",
        ]);
        cmd
    };
    if args.dry_run {
        step("dry run: the KV upload would be (entries, then the `current` pointer)");
        for file in &uploads {
            println!(
                "  (cd edge && npx wrangler kv bulk put {} --namespace-id {ns} --remote)",
                file.display()
            );
        }
        step("dry run: the order store's migrations would be applied");
        println!("  (cd edge && npx wrangler d1 migrations apply shopfront --remote)");
        return bundle(tools, &root.join(&args.outdir));
    }
    step("apply the order store's D1 migrations (only those not applied yet)");
    run(tools
        .command(&wrangler)
        .current_dir(root.join("edge"))
        .args(["d1", "migrations", "apply", "shopfront", "--remote"])
        .stdin(std::process::Stdio::null()))?;
    step("upload the KV build (entries first, `current` last, so the edge never mixes builds)");
    for file in &uploads {
        run(&mut bulk(file))?;
    }
    step("wrangler deploy");
    run(tools.command(&wrangler).current_dir(root.join("edge")).arg("deploy"))
}

/// `wrangler deploy --dry-run --outdir`: bundles the worker as it would be uploaded, and checks the
/// bundle holds the worker's JavaScript and its wasm.
pub fn bundle(tools: &Tools, outdir: &Path) -> Result<()> {
    step("wrangler deploy --dry-run (bundles the worker, uploads nothing)");
    if outdir.exists() {
        std::fs::remove_dir_all(outdir).with_context(|| format!("cannot clear {}", outdir.display()))?;
    }
    run(tools
        .command(tools.npm_bin("wrangler"))
        .current_dir(tools.root.join("edge"))
        .args(["deploy", "--dry-run", "--outdir"])
        .arg(outdir))?;
    let files: Vec<String> = std::fs::read_dir(outdir)
        .with_context(|| format!("cannot list {}", outdir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    let has = |ext: &str| files.iter().any(|f| f.ends_with(ext));
    anyhow::ensure!(
        has(".js") && has(".wasm"),
        "the bundle in {} lacks JS or wasm: {files:?}",
        outdir.display()
    );
    println!("  bundle in {}: {}", outdir.display(), files.join(", "));
    Ok(())
}

fn index(tools: &Tools, catalog: &Path, interactions: &Path) -> Result<PathBuf> {
    step(&format!("index {}", catalog.display()));
    let out = tools.root.join("target/xtask/deploy-build");
    run(Command::new(tools.root.join("target/debug/indexer"))
        .arg("build")
        .arg("--catalog")
        .arg(catalog)
        .arg("--interactions")
        .arg(interactions)
        .arg("--model")
        .arg(crate::setup::model_dir(&tools.root))
        .arg("--out")
        .arg(&out))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{LOCAL_DATABASE, database_id, namespace_id};

    #[test]
    fn reads_the_d1_database_id() {
        let toml = "[[kv_namespaces]]\nid = \"kv\"\n[[d1_databases]]\nbinding = \"DB\"\ndatabase_id = \"d1\" # note\n";
        assert_eq!(database_id(toml).as_deref(), Some("d1"));
        assert_eq!(database_id("[[kv_namespaces]]\ndatabase_id = \"no\"\n"), None);
        let real = include_str!("../../edge/wrangler.toml");
        assert_eq!(database_id(real).as_deref(), Some(LOCAL_DATABASE));
    }

    #[test]
    fn reads_the_kv_namespace_id() {
        let toml =
            "name = \"x\"\n[[kv_namespaces]]\nbinding = \"SHOP\"\nid = \"abc123\"\n[assets]\nid = \"no\"\n";
        assert_eq!(namespace_id(toml).as_deref(), Some("abc123"));
        assert_eq!(namespace_id("[assets]\nid = \"no\"\n"), None);
        let real = include_str!("../../edge/wrangler.toml");
        assert_eq!(namespace_id(real).as_deref(), Some(crate::build::LOCAL_NAMESPACE));
    }
}
