//! Pieces shared by pages: header with search as you type, product cards and grids, loading, error
//! and offline states.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use ranking::events::EventKind;
use ranking::wire::{FeedItem, NotePart, SearchItem};
use ranking::{Card, Price};

use crate::client::{self, FetchError};
use crate::i18n::{Lang, Msg};
use crate::store::Store;

/// Wait after the last keystroke before searching.
const DEBOUNCE: Duration = Duration::from_millis(250);

pub fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

#[component]
pub fn Header() -> impl IntoView {
    let store = expect_context::<Store>();
    let query = use_query_map();
    let location = use_location();
    let q = move || {
        if location.pathname.get() == "/search" {
            query.read().get("q").unwrap_or_default()
        } else {
            String::new()
        }
    };
    let input = NodeRef::<leptos::html::Input>::new();
    let navigate = use_navigate();
    let terms = RwSignal::new(Vec::<String>::new());
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let go = {
        let navigate = navigate.clone();
        move |text: &str, replace: bool| {
            let text = text.trim();
            if !text.is_empty() {
                navigate(
                    &format!("/search?q={}", encode(text)),
                    NavigateOptions { replace, ..Default::default() },
                );
            }
        }
    };
    // Our own submit instead of the router's <Form>, which would also serialize the button.
    let submit = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            if let Some(h) = pending.get_value() {
                h.clear();
            }
            go(&input.get().map(|i| i.value()).unwrap_or_default(), false);
        }
    };
    // Results as you type: after a pause, show them (replacing the URL, so Back skips keystrokes) and
    // fetch completions of the word being typed.
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        let go = go.clone();
        let handle = set_timeout_with_handle(
            move || {
                let on_search = use_location_path() == "/search";
                go(&text, on_search);
                let text = text.clone();
                leptos::task::spawn_local(async move {
                    if let Ok(s) = client::suggest(store, text.trim()).await {
                        terms.set(s.terms);
                    }
                });
            },
            DEBOUNCE,
        )
        .ok();
        pending.set_value(handle);
    };
    // A prerendered page stays until its route shows its own content; going elsewhere drops it.
    Effect::new(move |_| {
        location.pathname.track();
        location.search.track();
        crate::prerender::drop_unless_here();
    });
    let cart_count = move || store.cart.with(|c| c.iter().map(|l| l.qty).sum::<u32>());
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">"Shopfront"</A>
            <form class="search" role="search" action="/search" on:submit=submit>
                <label for="q" class="visually-hidden">{store.t(Msg::SearchLabel)}</label>
                <input id="q" node_ref=input type="search" name="q" placeholder=store.t(Msg::SearchLabel)
                    autocomplete="off" enterkeyhint="search" list="suggestions" prop:value=q on:input=on_input/>
                <datalist id="suggestions">
                    {move || terms.get().into_iter().map(|t| view! { <option value=t></option> }).collect_view()}
                </datalist>
                <button type="submit">{store.t(Msg::SearchButton)}</button>
            </form>
            <nav class="site-nav" aria-label="Shop">
                <A href="/c">{store.t(Msg::Categories)}</A>
                <A href="/wishlist">{store.t(Msg::Wishlist)}</A>
                <A href="/cart">{store.t(Msg::Cart)} " " <span class="count" data-testid="cart-count">{cart_count}</span></A>
                <A href="/settings">{store.t(Msg::Settings)}</A>
            </nav>
        </header>
        <Show when=move || !store.online.get()>
            <p class="offline" role="status" data-testid="offline">{store.t(Msg::Offline)}</p>
        </Show>
    }
}

fn use_location_path() -> String {
    web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default()
}

/// Formats a price for display (one format with the edge's prerendered HTML).
pub fn format_price(p: &Price) -> String {
    p.label()
}

/// One product in a grid, with what the ranking said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub card: Card,
    /// A short reason ("Because you viewed X · popular · 3-day delivery").
    pub note: Option<String>,
    /// A shop rule placed it (shown as "Featured", never more).
    pub featured: bool,
}

impl Tile {
    pub fn plain(card: Card) -> Tile {
        Tile { card, note: None, featured: false }
    }

    /// A feed item with its explanation; `title_of` names a history product.
    pub fn feed(item: FeedItem, lang: Lang, title_of: &dyn Fn(&str) -> Option<String>) -> Tile {
        let t = |m| crate::i18n::t(lang, m);
        let parts: Vec<String> = item
            .note_parts()
            .into_iter()
            .filter_map(|part| match part {
                NotePart::BecauseYouViewed(id) => {
                    title_of(id).map(|title| format!("{} {title}", t(Msg::BecauseYouViewed)))
                }
                NotePart::Popular => Some(t(Msg::Popular).into()),
                NotePart::PercentOff(percent) => Some(format!("{percent}% {}", t(Msg::Off))),
                NotePart::DeliveryDays(d) => Some(format!("{d}{}", t(Msg::DayDelivery))),
            })
            .collect();
        Tile { card: item.card, note: (!parts.is_empty()).then(|| parts.join(" · ")), featured: false }
    }

    pub fn search(item: SearchItem, lang: Lang) -> Tile {
        let note = item.delivery_days.map(|d| format!("{d}{}", crate::i18n::t(lang, Msg::DayDelivery)));
        Tile { featured: item.why.featured, note, card: item.card }
    }
}

/// Cards a phone shows before any scrolling (two rows of two): in the page's leading grid their
/// images load at once rather than lazily, the first with high priority (it is the largest paint).
const ABOVE_THE_FOLD: usize = 4;

/// One product card; `lead`: its position in the page's leading grid, if it is in it; `placed`: the
/// list it is in and its position there, for the shop's measurement of impressions and clicks.
#[component]
pub fn ProductCard(
    tile: Tile,
    #[prop(optional_no_strip)] lead: Option<usize>,
    #[prop(optional_no_strip)] placed: Option<(&'static str, usize)>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let Tile { card, note, featured } = tile;
    let href = format!("/p/{}", encode(&card.id));
    let category = card.category.last().cloned().unwrap_or_default();
    if let Some((list, position)) = placed {
        crate::measure::record(store, EventKind::Impression, &card.id, Some(list), Some(position));
    }
    let clicked = card.id.clone();
    let on_click = move |_| {
        if let Some((list, position)) = placed {
            crate::measure::record(store, EventKind::Click, &clicked, Some(list), Some(position));
        }
    };
    view! {
        <li class="card" data-id=card.id.clone() on:click=on_click>
            <A href=href>
                {featured.then(|| view! { <span class="badge">{store.t(Msg::Featured)}</span> })}
                <img src=card.image.clone() alt="" width="240" height="240" decoding="async"
                    loading=lead.is_none_or(|i| i >= ABOVE_THE_FOLD).then_some("lazy")
                    fetchpriority=(lead == Some(0)).then_some("high")/>
                <span class="card-title">{card.title.clone()}</span>
            </A>
            <span class="card-meta">
                <span class="price">{format_price(&card.price)}</span>
                {card.list_price.map(|l| {
                    let was = Price { amount: l, currency: card.price.currency.clone() };
                    view! { <s class="list-price" aria-label=store.t(Msg::RegularPrice)>{format_price(&was)}</s> }
                })}
                <span class="category">{category}</span>
            </span>
            {note.map(|n| view! { <span class="why">{n}</span> })}
        </li>
    }
}

/// A grid of product cards; `lead`: the page's first grid, whose top cards are above the fold;
/// `list`: the list's name in the shop's measurement (`trending`, `results`, `similar`, …).
#[component]
pub fn Grid(tiles: Vec<Tile>, #[prop(optional)] lead: bool, list: &'static str) -> impl IntoView {
    view! {
        <ul class="grid" data-testid="product-grid" data-list=list>
            {tiles
                .into_iter()
                .enumerate()
                .map(|(i, tile)| view! { <ProductCard tile lead=lead.then_some(i) placed=Some((list, i)) /> })
                .collect_view()}
        </ul>
    }
}

/// Grey cards of the grid's shape while a list loads (no layout shift when it arrives).
#[component]
pub fn SkeletonGrid(#[prop(default = 8)] count: usize) -> impl IntoView {
    let store = expect_context::<Store>();
    view! {
        <ul class="grid skeleton" aria-busy="true" aria-label=store.t(Msg::Loading)>
            {(0..count).map(|_| view! { <li class="card"><div class="ph-img"></div><div class="ph-line"></div></li> }).collect_view()}
        </ul>
    }
}

/// A friendly error with a retry button.
#[component]
pub fn ErrorView(error: FetchError, retry: Callback<()>) -> impl IntoView {
    let store = expect_context::<Store>();
    view! {
        <div class="error" role="alert">
            <p>{move || error.message(store.lang())}</p>
            <button on:click=move |_| retry.run(())>{store.t(Msg::TryAgain)}</button>
        </div>
    }
}
