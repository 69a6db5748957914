//! Reads the project's own input formats (catalog JSON Lines, interactions CSV) row by row, keeping
//! every valid row and a precise report of the rest.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ranking::{Event, Interaction, Product};

/// Rows skipped while importing one file, with why.
#[derive(Debug, Default)]
pub struct Rejects {
    pub file: PathBuf,
    /// `(line, reason)`, first [`Rejects::KEEP`] only.
    pub examples: Vec<(usize, String)>,
    /// Count of skipped rows by short reason.
    pub by_reason: BTreeMap<String, usize>,
    pub total: usize,
}

impl Rejects {
    const KEEP: usize = 20;

    pub fn new(file: &Path) -> Self {
        Rejects { file: file.to_owned(), ..Default::default() }
    }

    /// Records a skipped row. `kind` groups reasons in the summary; `detail` is the full message.
    pub fn add(&mut self, line: usize, kind: &str, detail: String) {
        self.total += 1;
        *self.by_reason.entry(kind.to_owned()).or_default() += 1;
        if self.examples.len() < Self::KEEP {
            self.examples.push((line, detail));
        }
    }

    /// A CSV record with its line number, or `None` once a malformed row is recorded here.
    pub fn record(&mut self, rec: csv::Result<csv::StringRecord>) -> Option<(usize, csv::StringRecord)> {
        match rec {
            Ok(rec) => Some((rec.position().map_or(0, |p| p.line() as usize), rec)),
            Err(e) => {
                self.add(e.position().map_or(0, |p| p.line() as usize), "malformed CSV", e.to_string());
                None
            }
        }
    }
}

impl fmt::Display for Rejects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total == 0 {
            return Ok(());
        }
        writeln!(f, "{}: skipped {} row(s):", self.file.display(), self.total)?;
        for (reason, n) in &self.by_reason {
            writeln!(f, "  {n} x {reason}")?;
        }
        for (line, detail) in &self.examples {
            writeln!(f, "  {}:{line}: {detail}", self.file.display())?;
        }
        if self.total > self.examples.len() {
            writeln!(f, "  ... and {} more", self.total - self.examples.len())?;
        }
        Ok(())
    }
}

/// Fails the import when no row survived, with the reasons, as the contract says: partial input is
/// imported, nothing-valid is an error.
pub fn ensure_some<T>(rows: &[T], rejects: &Rejects, what: &str) -> Result<()> {
    if rows.is_empty() {
        bail!("{}: no valid {what} found\n{rejects}", rejects.file.display());
    }
    Ok(())
}

/// Reads a catalog in JSON Lines (one product per line; blank lines ignored).
pub fn catalog(path: &Path) -> Result<(Vec<Product>, Rejects)> {
    let file = File::open(path).with_context(|| format!("cannot open catalog {}", path.display()))?;
    let mut rejects = Rejects::new(path);
    let mut products = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                rejects.add(n, "unreadable line", format!("cannot read line: {e}"));
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let product: Product = match serde_json::from_str(&line) {
            Ok(p) => p,
            Err(e) => {
                rejects.add(n, "invalid JSON or field", e.to_string());
                continue;
            }
        };
        if let Err(e) = product.validate() {
            rejects.add(n, "invalid field value", e.to_string());
            continue;
        }
        if let Some(t) = &product.created_at
            && let Err(e) = parse_timestamp(t)
        {
            rejects.add(n, "invalid field value", format!("field `created_at`: {e}"));
            continue;
        }
        if let Some(first) = seen.get(&product.id) {
            rejects.add(n, "duplicate id", format!("duplicate id {:?} (first on line {first})", product.id));
            continue;
        }
        seen.insert(product.id.clone(), n);
        products.push(product);
    }
    ensure_some(&products, &rejects, "products")?;
    Ok((products, rejects))
}

/// The header an interactions CSV must have.
pub const INTERACTIONS_HEADER: [&str; 4] = ["user_id", "item_id", "timestamp", "event"];

/// Reads interactions CSV. Rows naming an item not in `known_items` are skipped (and counted).
/// An empty file (or header only) is allowed: a new shop has no history yet.
pub fn interactions(path: &Path, known_items: &HashSet<&str>) -> Result<(Vec<Interaction>, Rejects)> {
    interactions_where(path, |id| known_items.contains(id))
}

/// [`interactions`] of any item id (a file to be merged before the catalog is known).
pub fn interactions_any(path: &Path) -> Result<(Vec<Interaction>, Rejects)> {
    interactions_where(path, |_| true)
}

fn interactions_where(path: &Path, known: impl Fn(&str) -> bool) -> Result<(Vec<Interaction>, Rejects)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot open interactions {}", path.display()))?;
    let header = reader.headers().with_context(|| format!("{}:1: cannot read header", path.display()))?;
    let got: Vec<&str> = header.iter().map(str::trim).collect();
    if got != INTERACTIONS_HEADER {
        bail!(
            "{}:1: header must be `{}`, got `{}`",
            path.display(),
            INTERACTIONS_HEADER.join(","),
            got.join(",")
        );
    }
    let mut rejects = Rejects::new(path);
    let mut rows = Vec::new();
    for rec in reader.records() {
        let Some((line, rec)) = rejects.record(rec) else { continue };
        match interaction(&rec, &known) {
            Ok(i) => rows.push(i),
            Err((kind, detail)) => rejects.add(line, kind, detail),
        }
    }
    if rows.is_empty() && rejects.total > 0 {
        ensure_some(&rows, &rejects, "interactions")?;
    }
    Ok((rows, rejects))
}

fn interaction(
    rec: &csv::StringRecord,
    known: &impl Fn(&str) -> bool,
) -> Result<Interaction, (&'static str, String)> {
    if rec.len() != 4 {
        return Err(("wrong column count", format!("expected 4 columns, got {}", rec.len())));
    }
    let user_id = rec[0].trim();
    let item_id = rec[1].trim();
    if user_id.is_empty() {
        return Err(("empty user_id", "user_id is empty".into()));
    }
    if !known(item_id) {
        return Err(("unknown item_id", format!("item_id {item_id:?} is not in the catalog")));
    }
    let timestamp = parse_timestamp(&rec[2]).map_err(|e| ("bad timestamp", e))?;
    let event = rec[3].parse::<Event>().map_err(|e| ("bad event", e.to_string()))?;
    Ok(Interaction { user_id: user_id.to_owned(), item_id: item_id.to_owned(), timestamp, event })
}

/// Unix seconds, or an RFC 3339 date-time (a bare date means midnight UTC).
pub fn parse_timestamp(raw: &str) -> Result<i64, String> {
    let s = raw.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs);
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second());
    }
    if let Ok(date) = s.parse::<jiff::civil::Date>()
        && let Ok(z) = date.to_zoned(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp().as_second());
    }
    Err(format!("timestamp must be unix seconds or RFC 3339, got {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1700000000"), Ok(1_700_000_000));
        assert_eq!(parse_timestamp("2016-11-08T00:00:00Z"), Ok(1_478_563_200));
        assert_eq!(parse_timestamp("2016-11-08T01:00:00+01:00"), Ok(1_478_563_200));
        assert_eq!(parse_timestamp("2016-11-08"), Ok(1_478_563_200));
        assert!(parse_timestamp("yesterday").unwrap_err().contains("yesterday"));
    }
}
