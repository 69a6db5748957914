//! What the app keeps on the device: history, cart, wishlist, recently viewed and settings, stored in
//! localStorage so they survive reloads. Each is a signal; an effect writes it back when it changes.
//! Nothing here is sent anywhere: [`Store::history_header`] is the only way history leaves, and only
//! when the shopper has personalization on.

use leptos::prelude::*;
use ranking::events::EventKind;
use ranking::{Card, Event};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Msg};

/// History entries kept (the edge accepts 100; ranking's user vector uses the 50 most recent).
pub const HISTORY_KEPT: usize = 100;
/// Recently viewed products kept.
pub const VIEWED_KEPT: usize = 24;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartLine {
    pub card: Card,
    pub qty: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub lang: Lang,
    /// An explicit currency (ISO 4217); `None` follows the shopper's country.
    pub currency: Option<String>,
    /// A country chosen with `?country=` on any page (for testing and explicit choice).
    pub country: Option<String>,
    pub personalize: bool,
    /// "Help improve the shop": an anonymous client id (experiment variants) and events
    /// ([`crate::measure`]). Off: neither exists on the device.
    pub measure: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { lang: Lang::En, currency: None, country: None, personalize: true, measure: true }
    }
}

/// The device's state, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct Store {
    /// `(product id, event)`, most recent first.
    pub history: RwSignal<Vec<(String, Event)>>,
    pub cart: RwSignal<Vec<CartLine>>,
    pub wishlist: RwSignal<Vec<Card>>,
    /// Cards of recently viewed products, most recent first.
    pub viewed: RwSignal<Vec<Card>>,
    pub settings: RwSignal<Settings>,
    /// False after a request failed for want of a network or was answered from the offline cache.
    pub online: RwSignal<bool>,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// A stored value, or the default when it is missing or unreadable (an old or hand-edited entry must
/// not break the app).
fn read<T: DeserializeOwned + Default>(key: &str) -> T {
    read_opt(key).unwrap_or_default()
}

/// A stored value, if there is a readable one.
pub fn read_opt<T: DeserializeOwned>(key: &str) -> Option<T> {
    storage().and_then(|s| s.get_item(key).ok().flatten()).and_then(|raw| serde_json::from_str(&raw).ok())
}

pub fn remove(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

pub fn write<T: Serialize>(key: &str, value: &T) {
    if let (Some(s), Ok(raw)) = (storage(), serde_json::to_string(value)) {
        // A full or disabled storage only loses persistence, never the session's state.
        let _ = s.set_item(key, &raw);
    }
}

impl Store {
    /// Reads everything from localStorage and keeps it written back on every change.
    pub fn load() -> Store {
        let store = Store {
            history: RwSignal::new(read("sf.history")),
            cart: RwSignal::new(read("sf.cart")),
            wishlist: RwSignal::new(read("sf.wishlist")),
            viewed: RwSignal::new(read("sf.viewed")),
            settings: RwSignal::new(read("sf.settings")),
            online: RwSignal::new(true),
        };
        // `?country=XX` on the first page picks the shopper's country from then on.
        if let Some(country) = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .and_then(|q| query_value(&q, "country"))
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            store.settings.update(|s| s.country = Some(country.to_ascii_uppercase()));
        }
        Effect::new(move |_| store.history.with(|v| write("sf.history", v)));
        Effect::new(move |_| store.cart.with(|v| write("sf.cart", v)));
        Effect::new(move |_| store.wishlist.with(|v| write("sf.wishlist", v)));
        Effect::new(move |_| store.viewed.with(|v| write("sf.viewed", v)));
        Effect::new(move |_| store.settings.with(|v| write("sf.settings", v)));
        store
    }

    /// The shopper's language. Untracked: a change of language re-renders the whole app (see
    /// `App`), so each string is plain text rather than a reactive closure of its own (dozens of
    /// those cost the wasm ~10% of its size).
    pub fn lang(self) -> Lang {
        self.settings.with_untracked(|s| s.lang)
    }

    /// The text of `msg` in the shopper's language.
    pub fn t(self, msg: Msg) -> &'static str {
        crate::i18n::t(self.lang(), msg)
    }

    /// Notes a product view: first in the history and in recently viewed.
    pub fn viewed_product(self, card: &Card) {
        self.record(&card.id, Event::View);
        self.viewed.update(|v| {
            v.retain(|c| c.id != card.id);
            v.insert(0, card.clone());
            v.truncate(VIEWED_KEPT);
        });
    }

    fn record(self, id: &str, event: Event) {
        self.history.update(|h| {
            h.retain(|(i, _)| i != id);
            h.insert(0, (id.to_owned(), event));
            h.truncate(HISTORY_KEPT);
        });
    }

    /// History as ranking takes it, or empty when personalization is off.
    pub fn ranking_history(self) -> Vec<(String, Event)> {
        if self.settings.with(|s| s.personalize) { self.history.get() } else { Vec::new() }
    }

    /// The `X-History` header value (`id:event,…`), `None` when personalization is off or there is no
    /// history: the only way history leaves the device.
    pub fn history_header(self) -> Option<String> {
        let h = self.ranking_history();
        (!h.is_empty()).then(|| ranking::history::encode(&h))
    }

    /// Forgets the history, recently viewed and every API answer the service worker kept.
    pub fn clear_history(self) {
        self.history.set(Vec::new());
        self.viewed.set(Vec::new());
        crate::client::forget_offline_answers();
        crate::measure::new_client_id(self);
    }

    pub fn add_to_cart(self, card: &Card) {
        self.cart.update(|c| match c.iter_mut().find(|l| l.card.id == card.id) {
            Some(line) => line.qty = line.qty.saturating_add(1),
            None => c.push(CartLine { card: card.clone(), qty: 1 }),
        });
        self.record(&card.id, Event::Cart);
        crate::measure::record(self, EventKind::AddToCart, &card.id, None, None);
    }

    /// The cart's order was paid: its products join the history as purchases (on this device only,
    /// like every event) and the cart empties. A second call finds the cart empty and does nothing.
    pub fn order_paid(self) {
        for line in self.cart.get_untracked() {
            self.record(&line.card.id, Event::Purchase);
        }
        self.cart.set(Vec::new());
    }

    /// Sets a line's quantity; 0 removes it.
    pub fn set_qty(self, id: &str, qty: u32) {
        self.cart.update(|c| {
            if qty == 0 {
                c.retain(|l| l.card.id != id);
            } else if let Some(line) = c.iter_mut().find(|l| l.card.id == id) {
                line.qty = qty.min(99);
            }
        });
    }

    pub fn in_wishlist(self, id: &str) -> bool {
        self.wishlist.with(|w| w.iter().any(|c| c.id == id))
    }

    pub fn toggle_wishlist(self, card: &Card) {
        self.wishlist.update(|w| {
            if w.iter().any(|c| c.id == card.id) {
                w.retain(|c| c.id != card.id);
            } else {
                w.insert(0, card.clone());
                crate::measure::record(self, EventKind::Wishlist, &card.id, None, None);
            }
        });
    }

    /// `country=…&currency=…` for every API request, from the settings.
    pub fn locale_query(self) -> Vec<(&'static str, String)> {
        self.settings.with(|s| {
            let mut q = Vec::new();
            if let Some(c) = &s.country {
                q.push(("country", c.clone()));
            }
            if let Some(c) = &s.currency {
                q.push(("currency", c.clone()));
            }
            q
        })
    }
}

/// The first value of `name` in a query string (`?a=1&b=2`), percent-decoded.
pub fn query_value(query: &str, name: &str) -> Option<String> {
    query.trim_start_matches('?').split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name)
            .then(|| js_sys::decode_uri_component(&v.replace('+', " ")).map(String::from).unwrap_or_default())
    })
}
