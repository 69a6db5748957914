//! Search results for the query, filters, sort and page in the URL, so a search can be shared and the
//! Back button works. Facets narrow by category and price. The device searches the products it holds
//! while the edge answers (so a list re-ranks at once after a product view) and when there is no
//! network.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use ranking::page::{Chip, ResultsPage};
use ranking::search::Sort;
use ranking::wire::{SearchQuery, SearchResponse};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::client::{self, FetchError};
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

/// The URL of a results page (see [`SearchQuery::url`]).
pub fn url(base: &str, q: &SearchQuery) -> String {
    q.url(base, encode)
}

/// The device's answer when the edge cannot be reached.
fn on_device(store: Store, q: &SearchQuery) -> Option<SearchResponse> {
    device::search(q, PAGE, &store.ranking_history())
}

#[component]
pub fn Results(query: Signal<SearchQuery>, base: String) -> impl IntoView {
    let store = expect_context::<Store>();
    let DeviceGen(generation) = expect_context::<DeviceGen>();
    // Opened from a link: the answer the edge prerendered the page from.
    let prerendered = crate::prerender::answer::<SearchResponse>(store, "search");
    // (A page without results is the app's own: it adds ways to browse instead.)
    let prerendered_here = prerendered.as_ref().is_some_and(|r| r.total > 0);
    let results = Fetch::starting_with(prerendered.map(Ok), move || {
        let q = query.get();
        let history = store.history_header();
        async move { client::search(store, &q, history).await }
    });
    let retry = Callback::new(move |_| results.refetch());
    let base = StoredValue::new(base);
    // The prerendered results stay on screen (the same nodes) until the query or answer changes.
    let adopt = StoredValue::new(prerendered_here);
    view! {
        <section aria-live="polite" class="results">
            {move || {
                let q = query.get();
                if adopt.get_value() {
                    adopt.set_value(false);
                    return adopted_results(store, base.get_value(), q);
                }
                let (view, content) = match results.get() {
                    // While the edge answers, the device's own ranking of what it holds (re-ranked
                    // with the latest product view, no round trip), else a skeleton.
                    None => {
                        generation.track();
                        match on_device(store, &q) {
                            Some(r) if r.total > 0 => (found(store, r, q, base.get_value(), "device").into_any(), true),
                            _ => (view! { <SkeletonGrid/> }.into_any(), false),
                        }
                    }
                    Some(Ok(r)) => (found(store, r, q, base.get_value(), "edge").into_any(), true),
                    Some(Err(FetchError::Network)) => {
                        generation.track();
                        match on_device(store, &q) {
                            Some(r) => (found(store, r, q, base.get_value(), "device").into_any(), true),
                            None => (view! { <ErrorView error=FetchError::Network retry/> }.into_any(), true),
                        }
                    }
                    Some(Err(error)) => (view! { <ErrorView error retry/> }.into_any(), true),
                };
                // The prerendered page (the same markup) gives way once there is content to show.
                if content {
                    crate::prerender::drop_soon();
                }
                view
            }}
        </section>
    }
}

/// The prerendered results taken over, their sort select given the handler the app's own has.
fn adopted_results(store: Store, base: String, q: SearchQuery) -> AnyView {
    let sorting = sort_handler(base, q);
    crate::prerender::adopted(store, "main section.results", move |el| {
        let Ok(Some(select)) = el.query_selector("select[data-testid=sort]") else { return };
        let sorting = sorting.clone();
        let on_change = Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
            sorting(event_target_value(&ev))
        });
        let _ = select.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        // Lives as long as the select, which the page owns.
        on_change.forget();
    })
}

/// Goes to the results of `q` sorted by the sort named (from page 1).
fn sort_handler(base: String, q: SearchQuery) -> std::rc::Rc<dyn Fn(String)> {
    let navigate = use_navigate();
    std::rc::Rc::new(move |sort: String| {
        let mut next = q.clone();
        next.sort = Some(sort).filter(|s| s != Sort::Relevance.as_str());
        next.page = 1;
        navigate(&url(&base, &next), Default::default());
    })
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
    let page = ResultsPage::new(&r, &q, &base, &encode);
    let heading = if q.q.is_empty() {
        format!("{} {}", r.total, store.t(Msg::ResultsFor).split(' ').next().unwrap_or_default())
    } else {
        format!("{} {} “{}”", r.total, store.t(Msg::ResultsFor), r.query)
    };
    let tiles: Vec<Tile> = r.items.into_iter().map(|i| Tile::search(i, lang)).collect();
    let sorting = sort_handler(base, q.clone());
    let on_sort = move |ev: leptos::ev::Event| sorting(event_target_value(&ev));
    let sorts = Sort::ALL.map(|s| (s.as_str(), sort_label(s)));
    let sort_now = page.sort;
    let chips = |chips: Vec<Chip>, facet: &'static str| {
        chips
            .into_iter()
            .map(|c| view! { <a href=c.href class="chip" data-facet=facet>{c.label} " (" {c.count} ")"</a> })
            .collect_view()
    };
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
                {page.any_category.map(|href| view! { <a href=href class="chip">{store.t(Msg::AllCategories)}</a> })}
                {chips(page.categories, "category")}
            </nav>
            <nav class="facets" aria-label=store.t(Msg::Price)>
                {page.any_price.map(|href| view! { <a href=href class="chip">{store.t(Msg::AnyPrice)}</a> })}
                {chips(page.prices, "price")}
            </nav>
            <Grid tiles lead=true list="results"/>
            <nav class="pager" aria-label=store.t(Msg::Page)>
                {page.prev.map(|href| view! { <a href=href rel="prev">{store.t(Msg::Previous)}</a> })}
                <span>{store.t(Msg::Page)} " " {q.page} " / " {page.pages}</span>
                {page.next.map(|href| view! { <a href=href rel="next">{store.t(Msg::Next)}</a> })}
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
                        <a href=format!("/c/{}", c.path) class="chip">{c.name}</a>
                    }).collect_view()}
                </nav>
            }
        })
    }
}
