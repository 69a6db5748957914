//! Importers for the two catalog exports shop owners most often have: Shopify's product CSV and a
//! Google Merchant Center product feed (TSV). Both produce the project's own `Product`s, with bad rows
//! reported by line like every other input.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use ranking::catalog::{Price, Product};

use crate::read::{Rejects, ensure_some};

/// Column index by lower-cased header name.
pub(crate) type Columns = BTreeMap<String, usize>;
/// Data rows with their line numbers.
pub(crate) type Rows = Vec<(usize, csv::StringRecord)>;

/// Reads a delimited file with headers; returns the header index lookup and the records with lines.
pub(crate) fn records(path: &Path, delimiter: u8, required: &[&str]) -> Result<(Columns, Rows, Rejects)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .quoting(delimiter == b',')
        .from_path(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let header =
        reader.headers().with_context(|| format!("{}:1: cannot read header", path.display()))?.clone();
    let cols: BTreeMap<String, usize> =
        header.iter().enumerate().map(|(i, h)| (h.trim().to_lowercase(), i)).collect();
    for r in required {
        if !cols.contains_key(*r) {
            bail!("{}:1: missing column {r:?}", path.display());
        }
    }
    let mut rejects = Rejects::new(path);
    let mut rows = Vec::new();
    for rec in reader.records() {
        match rec {
            Ok(r) => rows.push((r.position().map_or(0, |p| p.line() as usize), r)),
            Err(e) => {
                rejects.add(e.position().map_or(0, |p| p.line() as usize), "malformed row", e.to_string())
            }
        }
    }
    Ok((cols, rows, rejects))
}

pub(crate) fn field<'r>(cols: &BTreeMap<String, usize>, rec: &'r csv::StringRecord, name: &str) -> &'r str {
    cols.get(name).and_then(|&i| rec.get(i)).unwrap_or("").trim()
}

/// Text of an HTML fragment: tags dropped, common entities decoded, whitespace collapsed.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn validated(p: Product, line: usize, rejects: &mut Rejects, out: &mut Vec<Product>) {
    match p.validate() {
        Ok(()) => out.push(p),
        Err(e) => rejects.add(line, "invalid field value", format!("product {:?}: {e}", p.id)),
    }
}

/// Shopify's product CSV: one row per variant/image, grouped by `Handle`; the first row of a handle
/// carries the title. Price is the lowest variant price; stock the sum of variant quantities, under
/// `country` when given. Draft and archived products are skipped.
pub fn shopify(path: &Path, currency: &str, country: Option<&str>) -> Result<(Vec<Product>, Rejects)> {
    let (cols, rows, mut rejects) = records(path, b',', &["handle", "title", "variant price"])?;
    let mut order: Vec<String> = Vec::new();
    let mut acc: BTreeMap<String, (usize, Product, u32)> = BTreeMap::new();
    for (line, rec) in &rows {
        let handle = field(&cols, rec, "handle");
        if handle.is_empty() {
            rejects.add(*line, "empty handle", "Handle is empty".into());
            continue;
        }
        let price = field(&cols, rec, "variant price");
        let qty: u32 = field(&cols, rec, "variant inventory qty").parse::<i64>().unwrap_or(0).max(0) as u32;
        let image = field(&cols, rec, "image src");
        if let Some((_, p, stock)) = acc.get_mut(handle) {
            if let Ok(v) = price.parse::<f64>()
                && v.is_finite()
                && v >= 0.0
                && (p.price.amount < 0.0 || v < p.price.amount)
            {
                p.price.amount = v;
            }
            *stock += qty;
            if p.image.is_none() {
                p.image = shown_image(image);
            }
            continue;
        }
        let status = field(&cols, rec, "status").to_lowercase();
        if status == "draft" || status == "archived" {
            rejects.add(*line, "not active", format!("product {handle:?} has status {status}"));
            acc.insert(handle.to_owned(), (*line, skip_marker(), 0));
            continue;
        }
        let category: Vec<String> = {
            let taxonomy = field(&cols, rec, "product category");
            let kind = field(&cols, rec, "type");
            let source = if taxonomy.is_empty() { kind } else { taxonomy };
            source.split('>').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
        };
        let amount = match price.parse::<f64>() {
            Ok(v) => v,
            Err(_) => {
                rejects.add(*line, "bad price", format!("Variant Price is not a number: {price:?}"));
                acc.insert(handle.to_owned(), (*line, skip_marker(), 0));
                continue;
            }
        };
        let description = html_text(field(&cols, rec, "body (html)"));
        let vendor = field(&cols, rec, "vendor");
        // "Compare-at" is Shopify's regular price of a variant on sale.
        let compare_at = field(&cols, rec, "variant compare at price").parse::<f64>().ok();
        order.push(handle.to_owned());
        acc.insert(
            handle.to_owned(),
            (
                *line,
                Product {
                    description: (!description.is_empty()).then_some(description),
                    brand: (!vendor.is_empty()).then(|| vendor.to_owned()),
                    image: shown_image(image),
                    list_price: compare_at.filter(|c| *c > amount),
                    ..Product::new(
                        handle,
                        field(&cols, rec, "title"),
                        if category.is_empty() { vec!["Uncategorized".into()] } else { category },
                        Price { amount, currency: currency.to_owned() },
                    )
                },
                qty,
            ),
        );
    }
    let mut products = Vec::new();
    for handle in order {
        if let Some((line, mut p, stock)) = acc.remove(&handle) {
            if let Some(c) = country {
                p.stock = Some([(c.to_owned(), stock)].into_iter().collect());
            }
            validated(p, line, &mut rejects, &mut products);
        }
    }
    ensure_some(&products, &rejects, "products")?;
    Ok((products, rejects))
}

/// A placeholder for a handle whose first row was rejected, so its later rows are not re-read as new.
fn skip_marker() -> Product {
    Product::new("", "", Vec::new(), Price { amount: -1.0, currency: String::new() })
}

/// Google Merchant Center feed (tab-separated): `price` and `sale_price` as "12.99 USD" (the sale price
/// wins), category from `product_type` ("Home > Furniture > Chairs") or `google_product_category`,
/// `availability` as stock under `country` when given.
pub fn merchant(path: &Path, country: Option<&str>) -> Result<(Vec<Product>, Rejects)> {
    let (cols, rows, mut rejects) = records(path, b'\t', &["id", "title", "price"])?;
    let mut products = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (line, rec) in &rows {
        let id = field(&cols, rec, "id");
        if !seen.insert(id.to_owned()) {
            rejects.add(*line, "duplicate id", format!("duplicate id {id:?}"));
            continue;
        }
        let sale = field(&cols, rec, "sale_price");
        // With a sale price, the regular `price` is the list price (when in the same currency).
        let regular = parse_money(field(&cols, rec, "price")).ok();
        let price = match parse_money(if sale.is_empty() { field(&cols, rec, "price") } else { sale }) {
            Ok(p) => p,
            Err(e) => {
                rejects.add(*line, "bad price", e);
                continue;
            }
        };
        let category: Vec<String> = {
            let t = field(&cols, rec, "product_type");
            let source = if t.is_empty() { field(&cols, rec, "google_product_category") } else { t };
            source.split('>').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
        };
        let stock = country.map(|c| {
            let available = matches!(
                field(&cols, rec, "availability").to_lowercase().as_str(),
                "in stock" | "in_stock" | "preorder"
            );
            [(c.to_owned(), u32::from(available))].into_iter().collect()
        });
        let text = |name| Some(field(&cols, rec, name).to_owned()).filter(|s| !s.is_empty());
        let p = Product {
            description: text("description").map(|d| html_text(&d)),
            brand: text("brand"),
            image: text("image_link").as_deref().and_then(shown_image),
            stock,
            list_price: regular
                .filter(|r| !sale.is_empty() && r.currency == price.currency && r.amount > price.amount)
                .map(|r| r.amount),
            ..Product::new(
                id,
                field(&cols, rec, "title"),
                if category.is_empty() { vec!["Uncategorized".into()] } else { category },
                price,
            )
        };
        validated(p, *line, &mut rejects, &mut products);
    }
    ensure_some(&products, &rejects, "products")?;
    Ok((products, rejects))
}

/// "12.99 USD" (Merchant Center's money format).
pub fn parse_money(s: &str) -> Result<Price, String> {
    let mut parts = s.split_whitespace();
    match (parts.next().map(|a| a.parse::<f64>()), parts.next(), parts.next()) {
        (Some(Ok(amount)), Some(cur), None) => Ok(Price { amount, currency: cur.to_uppercase() }),
        _ => Err(format!("price must look like \"12.99 USD\", got {s:?}")),
    }
}

/// An export's image URL if the storefront would show it ([`ranking::catalog::is_safe_image`]):
/// an `http:` or other-host link is left out, so the product keeps its category placeholder rather
/// than the whole product being refused.
fn shown_image(url: &str) -> Option<String> {
    let url = url.trim();
    ranking::catalog::is_safe_image(url).then(|| url.to_owned())
}
