//! Merchandising rules: the shop owner's pins, boosts, buries and hides, stored with each build and
//! applied by [`crate::search::search`] after scoring, so the edge and the on-device re-rank obey them
//! alike.

use serde::{Deserialize, Serialize};

use crate::catalog::{category_path, in_category};
use crate::kv::{Blob, Kind};
use crate::rows::Rows;

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
    pub fn matches(&self, items: &dyn Rows, i: usize, country: Option<&str>) -> bool {
        let Some(stock) = items.stock_in(i, country) else { return false };
        let price = items.price(i);
        self.brand.as_deref().is_none_or(|b| items.brand(i).is_some_and(|x| x.eq_ignore_ascii_case(b)))
            && self.category.as_deref().is_none_or(|c| in_category(&category_path(items.category(i)), c))
            && self.min_price.is_none_or(|m| price >= m)
            && self.max_price.is_none_or(|m| price <= m)
            && self.in_stock.is_none_or(|want| (stock > 0.0) == want)
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
        let query = crate::text::words(cx.query).join(" ");
        self.in_force(cx.now)
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

impl Rule {
    /// Whether `now` (unix seconds) is inside the rule's date window.
    pub fn in_force(&self, now: i64) -> bool {
        self.from.is_none_or(|f| now >= f) && self.until.is_none_or(|u| now < u)
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
    /// What may leave the edge (in the device pack and in answers' `why.rules`): the rules in force at
    /// `now` (a rule that starts later would reveal a coming sale or change), in file order, with
    /// the shop's rule ids replaced by `r1`, `r2`, … numbered in id order (zero-padded, so ties
    /// between equal priorities still go the same way).
    pub fn public(&self, now: i64) -> Rules {
        let rules = self
            .rules
            .iter()
            .zip(self.numbers())
            .filter(|(r, _)| r.in_force(now))
            .map(|(r, id)| Rule { id, ..r.clone() })
            .collect();
        Rules { rules }
    }

    /// Each rule's public name, in file order: `r1`, `r2`, … numbered in id order, zero-padded.
    pub fn numbers(&self) -> Vec<String> {
        let mut ids: Vec<&str> = self.rules.iter().map(|r| r.id.as_str()).collect();
        crate::order::sort_by(&mut ids, |a, b| a.cmp(b));
        let width = ids.len().to_string().len();
        self.rules
            .iter()
            .map(|r| format!("r{:0width$}", ids.partition_point(|id| *id < r.id.as_str()) + 1))
            .collect()
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, priority: i32, from: Option<i64>, until: Option<i64>) -> Rule {
        let actions = vec![Action::Pin { product: format!("P{}", id.len()), position: 1 }];
        Rule { id: id.into(), priority, when: Trigger::Always, from, until, actions }
    }

    #[test]
    fn only_rules_in_force_leave_the_edge_and_without_the_shops_ids() {
        let rules = Rules {
            rules: vec![
                rule("summer-sale-secret", 1, Some(1_000), None),
                rule("b-pin", 5, None, None),
                rule("a-pin", 5, Some(10), Some(500)),
                rule("expired", 9, None, Some(100)),
            ],
        };
        let now = 200;
        let public = rules.public(now);
        let ids: Vec<&str> = public.rules.iter().map(|r| r.id.as_str()).collect();
        // File order kept; numbered by the original ids' order (a-pin < b-pin < expired < summer…).
        assert_eq!(ids, ["r2", "r1"]);
        let text = format!("{public:?}");
        for secret in ["summer", "secret", "a-pin", "b-pin", "expired"] {
            assert!(!text.contains(secret), "{secret} leaks: {text}");
        }
        // The same rules apply, in the same order, so the device ranks as the edge does.
        let cx = Context { query: "x", category: None, now };
        let pins = |r: &Rules| -> Vec<String> {
            r.active(&cx).iter().flat_map(|r| &r.actions).map(|a| format!("{a:?}")).collect()
        };
        assert_eq!(pins(&public), pins(&rules));
        assert_eq!(public.public(now), public, "stable");
        let later = rules.public(1_000);
        assert_eq!(later.rules.len(), 2, "{later:?}");
        assert!(later.rules.iter().any(|r| r.from == Some(1_000)), "the sale is shipped once it starts");
    }
}
