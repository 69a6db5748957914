//! Measurement, only while the shopper allows it (settings): an anonymous client id that puts the
//! device in an experiment variant, and the events the shop learns from (impressions, clicks, add to
//! cart, wishlist, checkout intent), batched on the device and sent to `/api/events`.
//!
//! The client id and the session id are random, derived from nothing; the client id is replaced when
//! the shopper clears their history and deleted when measurement is turned off; the session id is
//! replaced every day. A batch keeps its random id until the edge accepted it, so a batch sent by
//! beacon as the page hid and again later is stored once.

use std::cell::RefCell;

use leptos::prelude::WithUntracked;
use std::collections::HashSet;

use ranking::events::{EventKind, Surface};
use serde::{Deserialize, Serialize};

use crate::store::Store;

/// Events per batch before it is sealed for sending.
const BATCH_EVENTS: usize = 40;
/// Sealed batches kept while they cannot be sent (oldest dropped first).
const OUTBOX_KEPT: usize = 20;
/// Cookie the edge reads the client id from (the home page's prerender and every API call).
const COOKIE: &str = "sf_cid";

/// Events not yet sent: the open batch and the sealed ones waiting for the edge. Kept as the JSON
/// they are sent as, so the app never parses events back (the parsers would cost the first
/// download ~10 KB).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Outbox {
    /// Each event's JSON.
    open: Vec<String>,
    sealed: Vec<Sealed>,
}

/// A batch ready to send: its random id and its body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Sealed {
    id: String,
    body: String,
}

thread_local! {
    /// (path, list, item) shown on the current page view: a list drawn twice (the device's ranking,
    /// then the edge's) counts its impressions once.
    static SHOWN: RefCell<(String, HashSet<(String, String)>)> = RefCell::default();
    /// Events recorded since the outbox was last written: a grid records its cards' impressions one
    /// card at a time while it renders, and they reach localStorage together, in one read and write.
    static PENDING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// 128 random bits as 32 hex characters, from the browser's cryptographic generator.
fn random_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        // Never a fixed id shared by every device without a crypto API (none is known to lack it).
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn path() -> String {
    web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default()
}

/// Makes the client id if measurement is on and there is none, so variants split; deletes it when
/// measurement is off.
pub fn sync_client_id(store: Store) {
    let on = store.settings.with_untracked(|s| s.measure);
    let id: Option<String> = crate::store::read_opt("sf.cid");
    match (on, id) {
        (true, Some(id)) => set_cookie(&id),
        (true, None) => {
            // On a first visit the edge made the id with the page (its feed is in that id's variant).
            let id = cookie_id().unwrap_or_else(random_id);
            crate::store::write("sf.cid", &id);
            set_cookie(&id);
        }
        (false, _) => forget(),
    }
}

/// A new client id and session (the shopper cleared their history): unsent events go too, so nothing
/// links what came before to what comes after.
pub fn new_client_id(store: Store) {
    forget();
    sync_client_id(store);
}

/// Measurement off: the client id, the session and every unsent event are deleted. The cookie
/// stays as `off` (no id): it tells the edge not to make this device a new one.
pub fn forget() {
    PENDING.with_borrow_mut(Vec::clear);
    for key in ["sf.cid", "sf.session", "sf.events"] {
        crate::store::remove(key);
    }
    set_cookie("off");
}

/// The client id in the cookie, when it is one (random hex the edge or this app made).
fn cookie_id() -> Option<String> {
    use wasm_bindgen::JsCast;
    let doc = web_sys::window()?.document()?;
    let cookies = doc.unchecked_ref::<web_sys::HtmlDocument>().cookie().ok()?;
    let id = cookies.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == COOKIE)?.1;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_owned())
}

fn set_cookie(id: &str) {
    // A year. `Secure` on https (every deployed shop); `wrangler dev` serves plain http.
    let https = web_sys::window().and_then(|w| w.location().protocol().ok()).is_some_and(|p| p == "https:");
    let secure = if https { "; Secure" } else { "" };
    set_cookie_raw(&format!("{COOKIE}={id}; Path=/; Max-Age=31536000; SameSite=Lax{secure}"));
}

fn set_cookie_raw(cookie: &str) {
    use wasm_bindgen::JsCast;
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        let html: &web_sys::HtmlDocument = doc.unchecked_ref();
        let _ = html.set_cookie(cookie);
    }
}

/// The session id, replaced when the day changes; stored as `<day>:<id>` (the day in days since
/// 1970-01-01, UTC).
fn session() -> String {
    let today = now().div_euclid(86_400).to_string();
    let current: String = crate::store::read_opt("sf.session").unwrap_or_default();
    if let Some((day, id)) = current.split_once(':')
        && day == today
        && ranking::events::is_random_id(id)
    {
        return id.to_owned();
    }
    let id = random_id();
    crate::store::write("sf.session", &format!("{today}:{id}"));
    id
}

/// Records one event on the current page, if the shopper allows measurement.
pub fn record(store: Store, kind: EventKind, item: &str, list: Option<&str>, position: Option<usize>) {
    if !store.settings.with_untracked(|s| s.measure) {
        return;
    }
    let path = path();
    if kind == EventKind::Impression {
        let first = SHOWN.with_borrow_mut(|(page, shown)| {
            if *page != path {
                *page = path.clone();
                shown.clear();
            }
            shown.insert((list.unwrap_or_default().to_owned(), item.to_owned()))
        });
        if !first {
            return;
        }
    }
    let json = event_json(kind, Surface::of_path(&path), list, item, position);
    let first = PENDING.with_borrow_mut(|pending| {
        pending.push(json);
        pending.len() == 1
    });
    // Written once the current render is done (a microtask), so a whole grid costs one write.
    if first {
        leptos::task::spawn_local(async { write_pending() });
    }
}

/// Moves the pending events into the stored outbox, sealing a batch every [`BATCH_EVENTS`].
fn write_pending() {
    let events = PENDING.with_borrow_mut(std::mem::take);
    if events.is_empty() {
        return;
    }
    let mut outbox: Outbox = crate::store::read_opt("sf.events").unwrap_or_default();
    for json in events {
        outbox.open.push(json);
        if outbox.open.len() >= BATCH_EVENTS {
            seal(&mut outbox);
        }
    }
    crate::store::write("sf.events", &outbox);
}

/// A `ranking::events::ShopEvent` as JSON, written by hand: serde's serializer for it would cost the
/// first download more than these lines (`tests` check they agree).
fn event_json(
    kind: EventKind,
    surface: Surface,
    list: Option<&str>,
    item: &str,
    position: Option<usize>,
) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
    let mut json =
        format!(r#"{{"kind":"{}","surface":"{}","item":{}"#, kind.name(), surface.name(), quote(item));
    if let Some(list) = list {
        json.push_str(&format!(r#","list":{}"#, quote(list)));
    }
    if let Some(p) = position.filter(|p| *p < 1000) {
        json.push_str(&format!(r#","position":{p}"#));
    }
    json.push_str(&format!(r#","at":{}}}"#, now()));
    json
}

fn seal(outbox: &mut Outbox) {
    if outbox.open.is_empty() {
        return;
    }
    let events = std::mem::take(&mut outbox.open);
    let id = random_id();
    // `EventBatch`'s JSON, written around the events' own (ids are hex: nothing to escape).
    let body = format!(r#"{{"batch":"{id}","session":"{}","events":[{}]}}"#, session(), events.join(","));
    outbox.sealed.push(Sealed { id, body });
    let extra = outbox.sealed.len().saturating_sub(OUTBOX_KEPT);
    outbox.sealed.drain(..extra);
}

/// Sends every waiting batch, oldest first: an accepted one (202) or one the edge refuses (400: it
/// can never be stored) leaves the outbox; with no network the rest wait for the next try.
pub async fn flush(store: Store) {
    if !store.settings.with_untracked(|s| s.measure) {
        return;
    }
    write_pending();
    let Some(mut outbox) = crate::store::read_opt::<Outbox>("sf.events") else { return };
    if !outbox.open.is_empty() {
        seal(&mut outbox);
        crate::store::write("sf.events", &outbox);
    }
    for batch in outbox.sealed {
        match crate::client::send_events(store, &batch.body).await {
            Ok(()) | Err(crate::client::FetchError::Status { status: 400..=499, .. }) => {
                let mut now: Outbox = crate::store::read_opt("sf.events").unwrap_or_default();
                now.sealed.retain(|b| b.id != batch.id);
                crate::store::write("sf.events", &now);
            }
            Err(_) => break,
        }
    }
}

/// The page is being hidden (tab switched, closed, app backgrounded): what is waiting goes by beacon,
/// which outlives the page. The batches stay in the outbox until a later [`flush`] hears them
/// accepted; the edge stores each batch id once.
pub fn on_hide(store: Store) {
    if !store.settings.with_untracked(|s| s.measure) {
        return;
    }
    write_pending();
    let Some(mut outbox) = crate::store::read_opt::<Outbox>("sf.events") else { return };
    seal(&mut outbox);
    crate::store::write("sf.events", &outbox);
    for batch in &outbox.sealed {
        crate::client::beacon_events(&batch.body);
    }
}

/// How often waiting events are sent while the page is open.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// Sends events on each page change, every [`FLUSH_EVERY`] and by beacon when the page hides. Renders
/// nothing; placed inside the router.
#[leptos::prelude::component]
pub fn Measure() -> impl leptos::prelude::IntoView {
    use leptos::prelude::*;
    let store = expect_context::<Store>();
    let location = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        location.pathname.track();
        leptos::task::spawn_local(flush(store));
    });
    let _ = set_interval_with_handle(move || leptos::task::spawn_local(flush(store)), FLUSH_EVERY);
    let hidden = move || {
        let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
        if hidden {
            on_hide(store);
        }
    };
    // `pagehide` for closing and navigating away, `visibilitychange` for phones switching apps (the
    // last moment a page in the background is sure to run).
    let _ = window_event_listener_untyped("visibilitychange", move |_| hidden());
    let _ = window_event_listener_untyped("pagehide", move |_| on_hide(store));
}
