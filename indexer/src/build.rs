//! Turns a validated catalog and interactions into the KV entries of one build, and writes them out
//! both as files for local seeding and as `wrangler kv bulk put` JSON for a real deployment.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine;
use ranking::kv::{self, CardList, Manifest, ProductShard};
use ranking::lexical::LexicalData;
use ranking::{Event, Interaction, Product, feed};

/// Most purchased cards kept in the `popular` list; the feed pages through at most this many.
pub const POPULAR_KEEP: usize = 500;

/// One build's KV entries (the `current` pointer excluded) and its version id.
#[derive(Debug)]
pub struct Build {
    pub version: String,
    pub entries: Vec<(String, Vec<u8>)>,
}

/// Optional parts of a build: the query embedder (needs a model) and the item index.
#[derive(Debug, Default)]
pub struct Extra {
    pub embedder: Option<ranking::embed::EmbedderData>,
    pub items: Option<ranking::index::ItemIndex>,
    /// Ranking weights per experiment variant (default: one variant, `default`).
    pub variants: ranking::weights::Variants,
    /// Each item's IVF cell: when given, the item index is written as cells plus a routing head
    /// instead of one `items` value.
    pub cells: Option<Vec<u32>>,
    /// Currencies, FX rates and delivery regions.
    pub locale: Option<ranking::locale::Locale>,
    /// Merchandising rules, validated.
    pub rules: Option<ranking::rules::Rules>,
}

/// The keys of a partitioned item index, before the version is known.
enum CellKey {
    Head,
    Cell(usize),
    Popular,
}

/// Purchases per item id.
pub fn purchase_counts(interactions: &[Interaction]) -> HashMap<&str, u32> {
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for i in interactions.iter().filter(|i| i.event == Event::Purchase) {
        *counts.entry(i.item_id.as_str()).or_default() += 1;
    }
    counts
}

/// Builds every entry. The version id is derived from the content unless given, so indexing the same
/// input twice yields the same keys (an idempotent re-seed) and any change yields new ones.
pub fn build(
    products: &[Product],
    interactions: &[Interaction],
    version: Option<&str>,
    built_at: i64,
    extra: Extra,
) -> Result<Build> {
    let counts = purchase_counts(interactions);
    let count = |p: &Product| counts.get(p.id.as_str()).copied().unwrap_or(0);

    let shard_count = products.len().div_ceil(kv::PRODUCTS_PER_SHARD).max(1) as u32;
    let mut shards = vec![Vec::new(); shard_count as usize];
    for p in products {
        shards[kv::shard_of(&p.id, shard_count) as usize].push(p.clone());
    }

    let mut cards: Vec<_> = products.iter().map(|p| p.card(count(p))).collect();
    feed::sort_by_popularity(&mut cards);
    cards.truncate(POPULAR_KEEP);
    let popular = kv::encode(&CardList { cards });
    // A partitioned build keeps a keyword index per cell instead of one for the whole catalog.
    let search = extra.cells.is_none().then(|| kv::encode(&LexicalData::build(products)));
    let shard_bytes: Vec<Vec<u8>> =
        shards.into_iter().map(|products| kv::encode(&ProductShard { products })).collect();
    let embedder = extra.embedder.as_ref().map(kv::encode);
    let (items, partition) = match (&extra.items, &extra.cells) {
        (Some(index), Some(cells)) => (None, Some(crate::ivf::partition(products, index, cells))),
        (index, _) => (index.as_ref().map(kv::encode), None),
    };
    let cell_bytes: Vec<(CellKey, Vec<u8>)> = partition
        .as_ref()
        .map(|p| {
            let mut out = vec![(CellKey::Head, kv::encode(&p.head))];
            out.extend(p.cells.iter().enumerate().map(|(c, cell)| (CellKey::Cell(c), kv::encode(cell))));
            out.push((CellKey::Popular, kv::encode(&p.popular)));
            out
        })
        .unwrap_or_default();
    let cell_count = partition.as_ref().map_or(0, |p| p.cells.len() as u32);
    // The app's device pack: from the partition (global numbers) or the whole index (row numbers).
    let pack = match (&partition, &extra.items) {
        (Some(p), _) => Some(kv::encode(&p.pack)),
        (None, Some(index)) => {
            let identity: Vec<u32> = (0..index.len() as u32).collect();
            Some(kv::encode(&ranking::device::pack_cell(products, index, &identity)))
        }
        (None, None) => None,
    };
    let weights = kv::encode(&extra.variants);
    let locale = extra.locale.as_ref().map(kv::encode);
    let rules = extra.rules.as_ref().map(kv::encode);

    let version = match version {
        Some(v) => kv::parse_version_id(v).map_err(anyhow::Error::from)?.to_owned(),
        None => {
            let hash = shard_bytes
                .iter()
                .chain([&popular])
                .chain(search.iter())
                .chain(embedder.iter())
                .chain(items.iter())
                .chain(pack.iter())
                .chain(cell_bytes.iter().map(|(_, b)| b))
                .chain([&weights])
                .chain(locale.iter())
                .chain(rules.iter())
                .fold(kv::FNV_OFFSET, |h, b| kv::fnv1a(h, b));
            format!("v{}-{hash:016x}", kv::FORMAT_VERSION)
        }
    };
    let manifest = Manifest {
        version: version.clone(),
        built_at,
        product_count: products.len() as u32,
        shard_count,
        cells: cell_count,
    };
    let mut entries = vec![(kv::keys::manifest(&version), kv::encode(&manifest))];
    for (i, bytes) in shard_bytes.into_iter().enumerate() {
        entries.push((kv::keys::products(&version, i as u32), bytes));
    }
    entries.push((kv::keys::popular(&version), popular));
    if let Some(bytes) = search {
        entries.push((kv::keys::search(&version), bytes));
    }
    if let Some(bytes) = embedder {
        entries.push((kv::keys::embedder(&version), bytes));
    }
    if let Some(bytes) = items {
        entries.push((kv::keys::items(&version), bytes));
    }
    if let Some(bytes) = pack {
        entries.push((kv::keys::pack(&version), bytes));
    }
    for (key, bytes) in cell_bytes {
        let key = match key {
            CellKey::Head => kv::keys::ivf(&version),
            CellKey::Cell(c) => kv::keys::cell(&version, c),
            CellKey::Popular => kv::keys::popular_cell(&version),
        };
        entries.push((key, bytes));
    }
    entries.push((kv::keys::weights(&version), weights));
    if let Some(bytes) = locale {
        entries.push((kv::keys::locale(&version), bytes));
    }
    if let Some(bytes) = rules {
        entries.push((kv::keys::rules(&version), bytes));
    }
    Ok(Build { version, entries })
}

/// KV's limit on one value.
pub const KV_VALUE_LIMIT: usize = 25 * 1024 * 1024;

/// Largest `wrangler kv bulk put` file written: Cloudflare's bulk write takes at most 100 MB per
/// request and wrangler 4.86 splits uploads by key count only, so big builds need several files.
pub const BULK_FILE_LIMIT: usize = 90 * 1024 * 1024;

/// The entries as `wrangler kv bulk put` JSON arrays (base64 values), each at most `limit` bytes
/// unless one entry alone is larger, in entry order.
pub fn bulk_parts(entries: &[(String, Vec<u8>)], limit: usize) -> Vec<Vec<u8>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for (k, v) in entries {
        let item = serde_json::json!({"key": k, "value": b64.encode(v), "base64": true}).to_string();
        // `[` + items joined by `,` + `]`.
        if !current.is_empty() && current.len() + 1 + item.len() + 1 > limit {
            current.push(b']');
            parts.push(std::mem::take(&mut current));
        }
        current.push(if current.is_empty() { b'[' } else { b',' });
        current.extend_from_slice(item.as_bytes());
    }
    if current.is_empty() {
        current.push(b'[');
    }
    current.push(b']');
    parts.push(current);
    parts
}

/// Writes the build into `out`:
/// - `kv/<key>`: one file per key (the key's `/` as directories), then `kv/current` last;
/// - `bulk.json` (then `bulk-2.json`, … for builds over [`BULK_FILE_LIMIT`]) with every entry, and
///   `bulk-current.json` (the pointer), for `wrangler kv bulk put` against a real namespace, uploaded
///   in that order so the pointer flips last.
///
/// The previous `kv/` tree is replaced, so the folder always holds exactly one build.
pub fn write(out: &Path, build: &Build) -> Result<Vec<PathBuf>> {
    for (key, bytes) in &build.entries {
        anyhow::ensure!(
            bytes.len() <= KV_VALUE_LIMIT,
            "KV value {key} is {} bytes, over KV's 25 MiB limit",
            bytes.len()
        );
    }
    let kv_dir = out.join("kv");
    if kv_dir.exists() {
        fs::remove_dir_all(&kv_dir).with_context(|| format!("cannot clear {}", kv_dir.display()))?;
    }
    let mut written = Vec::new();
    for (key, bytes) in &build.entries {
        let path = kv_dir.join(key);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    // Files of an earlier, larger build would be uploaded too: remove every numbered part first.
    for entry in fs::read_dir(out).with_context(|| format!("cannot list {}", out.display()))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("bulk-") && name != "bulk-current.json" && name.ends_with(".json") {
            fs::remove_file(entry.path()).with_context(|| format!("cannot remove {name}"))?;
        }
    }
    for (n, part) in bulk_parts(&build.entries, BULK_FILE_LIMIT).into_iter().enumerate() {
        let name = if n == 0 { "bulk.json".to_owned() } else { format!("bulk-{}.json", n + 1) };
        fs::write(out.join(&name), part).with_context(|| format!("cannot write {name}"))?;
    }
    // This format's own pointer first, then the shared one (see `kv::current_key`).
    let own = kv::current_key(kv::FORMAT_VERSION);
    let current = serde_json::json!([
        {"key": own, "value": build.version},
        {"key": kv::CURRENT, "value": build.version},
    ]);
    fs::write(out.join("bulk-current.json"), serde_json::to_vec(&current)?)
        .context("cannot write bulk-current.json")?;
    for name in [own.as_str(), kv::CURRENT] {
        let pointer = kv_dir.join(name);
        fs::write(&pointer, &build.version).with_context(|| format!("cannot write {}", pointer.display()))?;
        written.push(pointer);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_files_stay_under_the_limit_and_keep_every_entry_in_order() {
        let entries: Vec<(String, Vec<u8>)> =
            (0..10).map(|i| (format!("v/k{i}"), vec![i as u8; 300])).collect();
        let parts = bulk_parts(&entries, 1200);
        assert!(parts.len() > 1, "{} parts", parts.len());
        let mut keys = Vec::new();
        for p in &parts {
            assert!(p.len() <= 1200, "{} bytes", p.len());
            let v: Vec<serde_json::Value> = serde_json::from_slice(p).unwrap();
            keys.extend(v.iter().map(|e| e["key"].as_str().unwrap().to_owned()));
        }
        assert_eq!(keys, entries.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>());
        assert_eq!(bulk_parts(&entries, usize::MAX).len(), 1);
        assert_eq!(bulk_parts(&[], 10), [b"[]".to_vec()]);
    }
}
