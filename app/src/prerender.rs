//! The edge's prerendered first screen (`#prerender`, see `edge/src/prerender.rs`): whether it is
//! this page's, the answer it was made from, taking its content over, and dropping it.
//!
//! Why take it over rather than render anew: the prerendered grid is what the shopper already sees
//! (and its first image is the page's largest paint). Painting the same grid again once the wasm has
//! loaded would be a second, late largest paint and a flash; moving the nodes keeps them on screen.

use leptos::prelude::*;
use ranking::events::EventKind;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;

use crate::i18n::Lang;
use crate::store::Store;

const ROOT_ID: &str = "prerender";
const DATA_ID: &str = "prerender-data";

/// The URL (path and query) the app is showing.
fn here() -> String {
    let loc = window().location();
    format!("{}{}", loc.pathname().unwrap_or_default(), loc.search().unwrap_or_default())
}

fn root() -> Option<web_sys::Element> {
    document().get_element_by_id(ROOT_ID)
}

/// The answer named `name` (`feed`, `search`, `categories`, `product`) the prerendered content of
/// this page was made from, when the app would show exactly that: the page is the prerender's, and
/// the shopper's device changes nothing the edge could not know (no history sent, English, the
/// edge's choice of country and currency). `None` otherwise, and the page asks the edge as usual.
/// Untracked: a page reads it once, when it starts.
pub fn answer<T: DeserializeOwned>(store: Store, name: &str) -> Option<T> {
    untrack(|| read_answer(store, name))
}

fn read_answer<T: DeserializeOwned>(store: Store, name: &str) -> Option<T> {
    let root = root()?;
    let same_page = root.get_attribute("data-path").is_some_and(|p| p == here());
    let neutral = store.history_header().is_none()
        && store
            .settings
            .with_untracked(|s| s.lang == Lang::En && s.currency.is_none() && s.country.is_none());
    if !(same_page && neutral) {
        return None;
    }
    let text = document().get_element_by_id(&format!("{DATA_ID}-{name}"))?.text_content()?;
    serde_json::from_str(&text).ok()
}

/// Moves the children of the prerendered element `from` (a selector inside `#prerender`: `main`,
/// or a part of it the page renders itself around) into `slot`: the same nodes, so nothing is
/// painted again. Records the impressions of their cards and clicks on them as the app's own cards
/// do, and drops the rest of the prerender (the app renders the identical rest itself).
pub fn adopt(store: Store, slot: &web_sys::Element, from: &str) {
    let Some(source) = root().and_then(|r| r.query_selector(from).ok().flatten()) else { return };
    while let Some(child) = source.first_child() {
        if slot.append_child(&child).is_err() {
            break;
        }
    }
    drop_it();
    measure_cards(store, slot);
}

/// A box-less element that takes the prerendered `from` over once it is on the page; `then` runs
/// on it afterwards (a page's own event handlers for the adopted markup).
pub fn adopted(store: Store, from: &'static str, then: impl Fn(&web_sys::Element) + 'static) -> AnyView {
    let slot = NodeRef::<leptos::html::Div>::new();
    slot.on_load(move |el| {
        adopt(store, &el, from);
        then(&el);
    });
    view! { <div class="adopted" node_ref=slot></div> }.into_any()
}

/// Impressions of the adopted cards now, clicks as they come: the list is the grid's `data-list`,
/// the position the card's place in it.
fn measure_cards(store: Store, slot: &web_sys::Element) {
    let Ok(grids) = slot.query_selector_all("ul[data-list]") else { return };
    for g in 0..grids.length() {
        let Some(grid) = grids.item(g).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) else { continue };
        let list = grid.get_attribute("data-list").unwrap_or_default();
        let cards = grid.children();
        for i in 0..cards.length() {
            if let Some(id) = cards.item(i).and_then(|c| c.get_attribute("data-id")) {
                crate::measure::record(store, EventKind::Impression, &id, Some(&list), Some(i as usize));
            }
        }
    }
    let on_click =
        wasm_bindgen::closure::Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
            if let Some((id, list, position)) = clicked_card(&ev) {
                crate::measure::record(store, EventKind::Click, &id, Some(&list), Some(position));
            }
        });
    let _ = slot.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    // Lives as long as the slot, which the page owns.
    on_click.forget();
}

/// The card a click landed in: its id, list and position.
fn clicked_card(ev: &web_sys::Event) -> Option<(String, String, usize)> {
    let target = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
    let card = target.closest("li.card[data-id]").ok()??;
    let grid = card.parent_element()?;
    let list = grid.get_attribute("data-list")?;
    let siblings = grid.children();
    let position = (0..siblings.length()).find(|&i| siblings.item(i).as_ref() == Some(&card))?;
    Some((card.get_attribute("data-id")?, list, position as usize))
}

/// Removes the prerender (and its data) once the app shows its own content, or when the shopper has
/// moved on to a page it was not made for. Idempotent.
pub fn drop_it() {
    if let Some(el) = root() {
        el.remove();
    }
}

/// [`drop_it`] once the view being rendered is on the page: in a microtask, so within the task that
/// rendered it, before anything else runs or paints (the prerendered page and the app's copy of it
/// are never both there for anyone to see).
pub fn drop_soon() {
    queue_microtask(drop_it);
}

/// Drops the prerender if it belongs to another page than the one shown.
pub fn drop_unless_here() {
    if root().is_some_and(|r| r.get_attribute("data-path").is_none_or(|p| p != here())) {
        drop_it();
    }
}
