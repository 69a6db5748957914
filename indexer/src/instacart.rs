//! Importer for Instacart's public order data ("The Instacart Online Grocery Shopping Dataset 2017")
//! as order lines: one row per product in an order, with the order's columns joined in (`order_id,
//! user_id, order_number, order_hour_of_day, days_since_prior_order, product_id, add_to_cart_order`,
//! other columns ignored), the shape of `orders.csv` joined with `order_products__*.csv`.
//!
//! The data has no dates, only each shopper's order sequence and the days between orders, so each
//! order gets a timestamp on the shopper's own clock (days since their first order, then the hour,
//! then the cart position in seconds): per-shopper time order, which is what evaluation splits on.
//! Every line is a purchase. Products are named from an optional `products.csv`
//! (`product_id,product_name,aisle_id,department_id`), else "Product <id>".

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Result;
use ranking::{Event, Interaction, Price, Product};

use crate::read::{Rejects, ensure_some};

/// What the files turned into.
#[derive(Debug)]
pub struct Imported {
    pub products: Vec<Product>,
    pub interactions: Vec<Interaction>,
    pub rejects: Rejects,
}

const COLUMNS: [&str; 6] = [
    "user_id",
    "order_number",
    "order_hour_of_day",
    "days_since_prior_order",
    "product_id",
    "add_to_cart_order",
];

/// Day zero of every shopper's clock (2020-09-13): any fixed instant works, as only order matters.
const EPOCH: i64 = 1_600_000_000;

struct Line {
    user: String,
    order: u32,
    product: String,
    hour: i64,
    cart: i64,
    gap: Option<i64>,
}

pub fn import(path: &Path, products_csv: Option<&Path>) -> Result<Imported> {
    let (cols, records, mut rejects) = crate::feeds::records(path, b',', &COLUMNS)?;
    let mut lines = Vec::new();
    for (line, rec) in &records {
        let get = |name: &str| crate::feeds::field(&cols, rec, name);
        // Numbers may be written as floats ("8.0") by the tools that join the files.
        let num = |name: &str| {
            get(name).parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).map(|v| v as i64)
        };
        let (user, product) = (get("user_id"), get("product_id"));
        let (Some(order), Some(hour), Some(cart)) =
            (num("order_number"), num("order_hour_of_day"), num("add_to_cart_order"))
        else {
            rejects.add(
                *line,
                "bad number",
                "order_number, order_hour_of_day and add_to_cart_order must be numbers".into(),
            );
            continue;
        };
        if user.is_empty() || product.is_empty() || hour > 23 {
            rejects.add(*line, "bad field", format!("user {user:?}, product {product:?}, hour {hour}"));
            continue;
        }
        let gap = num("days_since_prior_order");
        lines.push(Line { user: user.into(), order: order as u32, product: product.into(), hour, cart, gap });
    }
    // Each shopper's clock: the days between their orders, summed in order-number order.
    let mut gaps: HashMap<(&str, u32), i64> = HashMap::new();
    for l in &lines {
        gaps.insert((l.user.as_str(), l.order), l.gap.unwrap_or(0));
    }
    let mut by_user: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for &(u, o) in gaps.keys() {
        by_user.entry(u).or_default().push(o);
    }
    let mut day: HashMap<(&str, u32), i64> = HashMap::new();
    for (u, mut orders) in by_user {
        orders.sort_unstable();
        let mut d = 0;
        for (k, o) in orders.into_iter().enumerate() {
            if k > 0 {
                d += gaps[&(u, o)];
            }
            day.insert((u, o), d);
        }
    }
    let interactions: Vec<Interaction> = lines
        .iter()
        .map(|l| Interaction {
            user_id: l.user.clone(),
            item_id: l.product.clone(),
            timestamp: EPOCH + day[&(l.user.as_str(), l.order)] * 86_400 + l.hour * 3_600 + l.cart,
            event: Event::Purchase,
        })
        .collect();
    let names = match products_csv {
        Some(p) => product_names(p)?,
        None => HashMap::new(),
    };
    let mut ids: Vec<&str> = lines.iter().map(|l| l.product.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let products: Vec<Product> = ids
        .into_iter()
        .map(|id| {
            let title = names.get(id).cloned().unwrap_or_else(|| format!("Product {id}"));
            Product::new(id, title, vec!["Grocery".into()], Price { amount: 1.0, currency: "USD".into() })
        })
        .collect();
    ensure_some(&products, &rejects, "order lines")?;
    Ok(Imported { products, interactions, rejects })
}

/// `product_id → product_name` from Instacart's `products.csv`.
fn product_names(path: &Path) -> Result<HashMap<String, String>> {
    let (cols, records, _) = crate::feeds::records(path, b',', &["product_id", "product_name"])?;
    Ok(records
        .iter()
        .map(|(_, rec)| {
            let get = |name: &str| crate::feeds::field(&cols, rec, name).to_owned();
            (get("product_id"), get("product_name"))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_follow_each_shoppers_own_clock() {
        let dir = std::env::temp_dir().join(format!("instacart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("lines.csv");
        std::fs::write(
            &csv,
            ",order_id,user_id,order_number,order_dow,order_hour_of_day,days_since_prior_order,product_id,add_to_cart_order,reordered\n\
             0,10,1,2,0,9,7.0,200,1.0,0\n\
             1,9,1,1,2,8,,196,1.0,0\n\
             2,9,1,1,2,8,,14084,2.0,0\n\
             3,11,2,1,0,25,,196,1.0,0\n",
        )
        .unwrap();
        let r = import(&csv, None).unwrap();
        assert_eq!(r.products.len(), 3);
        assert_eq!(r.rejects.total, 1, "hour 25 is refused");
        let ts = |item: &str| {
            r.interactions.iter().find(|i| i.user_id == "1" && i.item_id == item).unwrap().timestamp
        };
        assert!(ts("196") < ts("14084") && ts("14084") < ts("200"));
        assert_eq!(ts("200") - ts("196"), 7 * 86_400 + 3_600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
