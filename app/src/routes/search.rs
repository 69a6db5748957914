//! Search results for the query, filters, sort and page in the URL, so a search can be shared and the
//! Back button works. Facets narrow by category and price. The device searches the products it holds
//! while the edge answers (so a list re-ranks at once after a product view) and when there is no
//! network.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use ranking::search::Sort;
use ranking::wire::SearchResponse;

use crate::client::{self, FetchError, SearchQuery};
use crate::components::{ErrorView, Grid, SkeletonGrid, Tile, encode};
use crate::device::{self, DeviceGen};
use crate::fetch::Fetch;
use crate::i18n::Msg;
use crate::store::Store;

/// Results per page.
pub const PAGE: usize = 24;

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = Signal::derive(move || {
        let m = query.read();
        SearchQuery {
            q: m.get("q").unwrap_or_default(),
            category: m.get("category"),
            min_price: m.get("min_price"),
            max_price: m.get("max_price"),
            sort: m.get("sort"),
            page: m.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1),
        }
    });
    view! { <Results query=q base="/search".to_owned()/> }
}

/// The label a shopper reads for a sort.
fn sort_label(sort: Sort) -> Msg {
    match sort {
        Sort::Relevance => Msg::SortRelevance,
        Sort::PriceAsc => Msg::SortPriceAsc,
        Sort::PriceDesc => Msg::SortPriceDesc,
        Sort::Newest => Msg::SortNewest,
    }
}

/// The URL of a results page: `/search?q=…&…`, or for `base` `/c` the category in the path
/// (`/c/furniture/chairs?sort=…`).
pub fn url(base: &str, q: &SearchQuery) -> String {
    let in_path = base == "/c";
    let path =
        if in_path { format!("/c/{}", q.category.clone().unwrap_or_default()) } else { base.to_owned() };
    let pairs: Vec<String> = q
        .pairs()
        .into_iter()
        .filter(|(k, _)| !(in_path && (*k == "q" || *k == "category")))
        .map(|(k, v)| format!("{k}={}", encode(&v)))
        .collect();
    if pairs.is_empty() { path } else { format!("{path}?{}", pairs.join("&")) }
}

/// The device's answer when the edge cannot be reached.
fn on_device(store: Store, q: &SearchQuery) -> Option<SearchResponse> {
    device::search(q, PAGE, &store.ranking_history())
}

#[component]
pub fn Results(query: Signal<SearchQuery>, base: String) -> impl IntoView {
    let store = expect_context::<Store>();
    let DeviceGen(generation) = expect_context::<DeviceGen>();
    let results = Fetch::new(move || {
        let q = query.get();
        let history = store.history_header();
        async move { client::search(store, &q, history).await }
    });
    let retry = Callback::new(move |_| results.refetch());
    let base = StoredValue::new(base);
    view! {
        <section aria-live="polite" class="results">
            {move || {
                let q = query.get();
                match results.get() {
                    // While the edge answers, the device's own ranking of what it holds (re-ranked
                    // with the latest product view, no round trip), else a skeleton.
                    None => {
                        generation.track();
                        match on_device(store, &q) {
                            Some(r) if r.total > 0 => found(store, r, q, base.get_value(), "device").into_any(),
                            _ => view! { <SkeletonGrid/> }.into_any(),
                        }
                    }
                    Some(Ok(r)) => found(store, r, q, base.get_value(), "edge").into_any(),
                    Some(Err(FetchError::Network)) => {
                        generation.track();
                        match on_device(store, &q) {
                            Some(r) => found(store, r, q, base.get_value(), "device").into_any(),
                            None => view! { <ErrorView error=FetchError::Network retry/> }.into_any(),
                        }
                    }
                    Some(Err(error)) => view! { <ErrorView error retry/> }.into_any(),
                }
            }}
        </section>
    }
}

fn found(
    store: Store,
    r: SearchResponse,
    q: SearchQuery,
    base: String,
    source: &'static str,
) -> impl IntoView {
    let lang = store.lang();
    if r.total == 0 {
        return view! {
            <div class="empty" data-source=source>
                <h1>{store.t(Msg::NoResultsFor)} " “" {r.query} "”"</h1>
                <p>{store.t(Msg::NoResultsHint)}</p>
                <BrowseInstead/>
            </div>
        }
        .into_any();
    }
    let pages = r.total.div_ceil(r.limit.max(1));
    let heading = if q.q.is_empty() {
        format!("{} {}", r.total, store.t(Msg::ResultsFor).split(' ').next().unwrap_or_default())
    } else {
        format!("{} {} “{}”", r.total, store.t(Msg::ResultsFor), r.query)
    };
    let tiles: Vec<Tile> = r.items.into_iter().map(|i| Tile::search(i, lang)).collect();
    let with = |f: &dyn Fn(&mut SearchQuery)| {
        let mut next = q.clone();
        next.page = 1;
        f(&mut next);
        url(&base, &next)
    };
    // Category facet: the children of the current category (or the top level).
    let depth = q.category.as_deref().map_or(0, |c| c.split('/').count());
    let prefix = q.category.clone().map(|c| format!("{c}/")).unwrap_or_default();
    let categories: Vec<(String, usize)> = r
        .facets
        .category
        .iter()
        .filter(|(path, _)| path.starts_with(&prefix) && path.split('/').count() == depth + 1)
        .map(|(p, n)| (p.clone(), *n))
        .collect();
    let navigate = use_navigate();
    let sort_now = q.sort.clone().unwrap_or_else(|| Sort::Relevance.as_str().into());
    let sort_base = base.clone();
    let sort_q = q.clone();
    let on_sort = move |ev: leptos::ev::Event| {
        let mut next = sort_q.clone();
        next.sort = Some(event_target_value(&ev)).filter(|s| s != Sort::Relevance.as_str());
        next.page = 1;
        navigate(&url(&sort_base, &next), Default::default());
    };
    let sorts = Sort::ALL.map(|s| (s.as_str(), sort_label(s)));
    let prev = (q.page > 1).then(|| {
        let mut p = q.clone();
        p.page -= 1;
        url(&base, &p)
    });
    let next = (q.page < pages).then(|| {
        let mut p = q.clone();
        p.page += 1;
        url(&base, &p)
    });
    let any_category = q.category.is_some().then(|| with(&|n| n.category = None));
    let any_price = (q.min_price.is_some() || q.max_price.is_some()).then(|| {
        with(&|n| {
            n.min_price = None;
            n.max_price = None;
        })
    });
    view! {
        <div data-source=source>
            <h1 data-testid="result-count">{heading}</h1>
            <div class="toolbar">
                <label>
                    {store.t(Msg::SortBy)} " "
                    <select data-testid="sort" on:change=on_sort>
                        {sorts.into_iter().map(|(value, msg)| view! {
                            <option value=value selected=sort_now == value>{store.t(msg)}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <nav class="facets" aria-label=store.t(Msg::Category)>
                {any_category.map(|href| view! { <A href=href attr:class="chip">{store.t(Msg::AllCategories)}</A> })}
                {categories.into_iter().map(|(path, count)| {
                    let name = path.rsplit('/').next().unwrap_or_default().replace('-', " ");
                    let href = with(&|n| n.category = Some(path.clone()));
                    view! { <A href=href attr:class="chip" attr:data-facet="category">{name} " (" {count} ")"</A> }
                }).collect_view()}
            </nav>
            <nav class="facets" aria-label=store.t(Msg::Price)>
                {any_price.map(|href| view! { <A href=href attr:class="chip">{store.t(Msg::AnyPrice)}</A> })}
                {r.facets.price.into_iter().filter(|b| b.count > 0).map(|b| {
                    let (lo, hi) = (whole(b.min), b.max.map(whole));
                    let href = with(&|n| {
                        n.min_price = Some(lo.to_string());
                        n.max_price = hi.map(|h| h.to_string());
                    });
                    let label = match hi {
                        Some(h) => format!("{lo}–{h}"),
                        None => format!("{lo}+"),
                    };
                    view! { <A href=href attr:class="chip" attr:data-facet="price">{label} " (" {b.count} ")"</A> }
                }).collect_view()}
            </nav>
            <Grid tiles lead=true list="results"/>
            <nav class="pager" aria-label=store.t(Msg::Page)>
                {prev.map(|href| view! { <A href=href attr:rel="prev">{store.t(Msg::Previous)}</A> })}
                <span>{store.t(Msg::Page)} " " {q.page} " / " {pages}</span>
                {next.map(|href| view! { <A href=href attr:rel="next">{store.t(Msg::Next)}</A> })}
            </nav>
        </div>
    }
    .into_any()
}

/// Where to go from "no results": the shop's top-level categories.
#[component]
fn BrowseInstead() -> impl IntoView {
    let store = expect_context::<Store>();
    let tree = Fetch::new(move || async move { client::categories(store).await });
    move || {
        tree.get().and_then(Result::ok).map(|t| {
            view! {
                <nav class="facets" aria-label=store.t(Msg::Categories) data-testid="browse-instead">
                    {t.categories.into_iter().map(|c| view! {
                        <A href=format!("/c/{}", c.path) attr:class="chip">{c.name}</A>
                    }).collect_view()}
                </nav>
            }
        })
    }
}

/// A price bound as a whole number. Integer formatting on purpose: printing floats links Rust's float
/// formatting, ~12 KB of wasm the app otherwise does without (see `ranking::catalog::cents`).
fn whole(amount: f64) -> i64 {
    if amount.is_finite() { amount.round() as i64 } else { 0 }
}
