//! Pieces shared by pages: header with search, product cards and grids, loading and error states.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use ranking::{Card, Price};

use crate::api::ApiError;

#[component]
pub fn Header() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let input = NodeRef::<leptos::html::Input>::new();
    let navigate = use_navigate();
    // Our own submit instead of the router's <Form>, which would also serialize the button.
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = input.get().map(|i| i.value()).unwrap_or_default();
        let text = text.trim();
        if !text.is_empty() {
            navigate(
                &format!("/search?q={}", String::from(js_sys::encode_uri_component(text))),
                Default::default(),
            );
        }
    };
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">"Shopfront"</A>
            <form class="search" role="search" action="/search" on:submit=submit>
                <label for="q" class="visually-hidden">"Search products"</label>
                <input id="q" node_ref=input type="search" name="q" placeholder="Search products"
                    autocomplete="off" enterkeyhint="search" prop:value=q/>
                <button type="submit">"Search"</button>
            </form>
        </header>
    }
}

/// Formats a price for display: symbol for common currencies, code otherwise.
pub fn format_price(p: &Price) -> String {
    let amount = if p.amount.is_finite() { p.amount } else { 0.0 };
    match p.currency.as_str() {
        "USD" => format!("${amount:.2}"),
        "EUR" => format!("€{amount:.2}"),
        "GBP" => format!("£{amount:.2}"),
        code => format!("{amount:.2} {code}"),
    }
}

/// A product in a grid; `featured` marks one a shop rule placed (shown as "Featured", never more).
#[component]
pub fn ProductCard(card: Card, #[prop(optional)] featured: bool) -> impl IntoView {
    let href = format!("/p/{}", String::from(js_sys::encode_uri_component(&card.id)));
    let category = card.category.last().cloned().unwrap_or_default();
    view! {
        <li class="card">
            <A href=href>
                {featured.then(|| view! { <span class="badge">"Featured"</span> })}
                <img src=card.image.clone() alt="" width="240" height="240" loading="lazy" decoding="async"/>
                <span class="card-title">{card.title.clone()}</span>
            </A>
            <span class="card-meta">
                <span class="price">{format_price(&card.price)}</span>
                {card.list_price.map(|l| {
                    let was = Price { amount: l, currency: card.price.currency.clone() };
                    view! { <s class="list-price" aria-label="regular price">{format_price(&was)}</s> }
                })}
                <span class="category">{category}</span>
            </span>
        </li>
    }
}

/// A grid of cards; ids in `featured` get the "Featured" badge.
#[component]
pub fn Grid(cards: Vec<Card>, #[prop(optional)] featured: Vec<String>) -> impl IntoView {
    view! {
        <ul class="grid" data-testid="product-grid">
            {cards
                .into_iter()
                .map(|card| {
                    let featured = featured.contains(&card.id);
                    view! { <ProductCard card featured/> }
                })
                .collect_view()}
        </ul>
    }
}

/// Grey cards of the grid's shape while a list loads (no layout shift when it arrives).
#[component]
pub fn SkeletonGrid(#[prop(default = 8)] count: usize) -> impl IntoView {
    view! {
        <ul class="grid skeleton" aria-busy="true" aria-label="Loading products">
            {(0..count).map(|_| view! { <li class="card"><div class="ph-img"></div><div class="ph-line"></div></li> }).collect_view()}
        </ul>
    }
}

/// A friendly error with a retry button.
#[component]
pub fn ErrorView(error: ApiError, retry: Callback<()>) -> impl IntoView {
    view! {
        <div class="error" role="alert">
            <p>{error.message()}</p>
            <button on:click=move |_| retry.run(())>"Try again"</button>
        </div>
    }
}
