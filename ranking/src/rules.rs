//! Merchandising rules: the shop owner's pins, boosts, buries and hides, stored with each build and
//! applied by [`crate::search::search`] after scoring, so the edge and the on-device re-rank obey them
//! alike.

use serde::{Deserialize, Serialize};

use crate::index::ItemIndex;
use crate::kv::{Blob, Kind};

/// Every rule of a build, in file order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

impl Blob for Rules {
    const KIND: Kind = Kind::Rules;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    /// Higher wins when two rules pin the same slot or both apply; ties go to the earlier id.
    pub priority: i32,
    pub when: Trigger,
    /// Active from this unix second (inclusive), when set.
    pub from: Option<i64>,
    /// Active until this unix second (exclusive), when set.
    pub until: Option<i64>,
    pub actions: Vec<Action>,
}

/// When a rule applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Trigger {
    Always,
    /// The normalized query equals this text.
    QueryIs(String),
    /// The normalized query contains these words, in order.
    QueryContains(String),
    /// The category filter is this slug path or below it.
    Category(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// Put a product at a 1-based position of the result list (relevance order only).
    Pin { product: String, position: u32 },
    /// Add to the score of matching products (negative: bury).
    Boost { filter: Filter, by: f32 },
    /// Remove matching products from the results.
    Hide { filter: Filter },
}

/// Which products an action touches; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// Brand, case-insensitive.
    pub brand: Option<String>,
    /// Category slug path (node and below).
    pub category: Option<String>,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    /// In stock (true) or out of stock (false) in the shopper's country.
    pub in_stock: Option<bool>,
}

impl Filter {
    pub fn matches(&self, items: &ItemIndex, i: usize, country: Option<&str>) -> bool {
        let (Some(card), Some(s)) = (items.cards.get(i), items.signals.get(i)) else { return false };
        let price = card.price.amount;
        self.brand.as_deref().is_none_or(|b| s.brand.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(b)))
            && self.category.as_deref().is_none_or(|c| {
                let path = crate::search::category_path(&card.category);
                path == c || (path.starts_with(c) && path.as_bytes().get(c.len()) == Some(&b'/'))
            })
            && self.min_price.is_none_or(|m| price >= m)
            && self.max_price.is_none_or(|m| price <= m)
            && self.in_stock.is_none_or(|want| (s.stock_in(country) > 0.0) == want)
    }
}

/// What a search is, for matching triggers.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub query: &'a str,
    pub category: Option<&'a str>,
    /// Unix seconds.
    pub now: i64,
}

impl Rule {
    /// Whether the rule applies to this search (trigger and date window).
    pub fn applies(&self, cx: &Context<'_>) -> bool {
        let in_window = self.from.is_none_or(|f| cx.now >= f) && self.until.is_none_or(|u| cx.now < u);
        let query = crate::text::words(cx.query).join(" ");
        in_window
            && match &self.when {
                Trigger::Always => true,
                Trigger::QueryIs(q) => query == crate::text::words(q).join(" "),
                Trigger::QueryContains(q) => {
                    let want = crate::text::words(q).join(" ");
                    !want.is_empty() && format!(" {query} ").contains(&format!(" {want} "))
                }
                Trigger::Category(c) => cx.category.is_some_and(|f| {
                    f == c || (f.starts_with(c.as_str()) && f.as_bytes().get(c.len()) == Some(&b'/'))
                }),
            }
    }
}

impl Rules {
    /// The rules that apply, highest priority first, then by id (deterministic).
    pub fn active<'a>(&'a self, cx: &Context<'_>) -> Vec<&'a Rule> {
        let mut out: Vec<&Rule> = self.rules.iter().filter(|r| r.applies(cx)).collect();
        crate::order::sort_by(&mut out, |a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)));
        out
    }
}

impl Rules {
    /// Products pinned by the rules that apply to this search (to read their cells).
    pub fn pinned(&self, query: &str, category: Option<&str>, now: i64) -> Vec<String> {
        let cx = Context { query, category, now };
        self.active(&cx)
            .into_iter()
            .flat_map(|r| &r.actions)
            .filter_map(|a| match a {
                Action::Pin { product, .. } => Some(product.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Where pins land: `(index, 0-based slot, rule id)`. Pins are taken in rule order (priority, then
/// id, then action order); a pin whose slot is taken goes to the next free slot, a product pinned
/// twice keeps its first slot.
pub fn pin_slots(
    active: &[&Rule],
    position_of: impl Fn(&str) -> Option<usize>,
) -> Vec<(usize, usize, String)> {
    let mut out: Vec<(usize, usize, String)> = Vec::new();
    for rule in active {
        for action in &rule.actions {
            let Action::Pin { product, position } = action else { continue };
            let Some(i) = position_of(product) else { continue };
            if out.iter().any(|(j, _, _)| *j == i) {
                continue;
            }
            let mut slot = (*position).max(1) as usize - 1;
            while out.iter().any(|(_, s, _)| *s == slot) {
                slot += 1;
            }
            out.push((i, slot, rule.id.clone()));
        }
    }
    out
}
