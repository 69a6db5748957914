//! Category pages: `/c` lists the top-level categories, `/c/{path}` shows a category's subcategories
//! and its products (search with an empty query and the category filter, so sort, facets and paging
//! work as on search).

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use ranking::index::CategoryNode;
use ranking::wire::SearchQuery;

use crate::client;
use crate::fetch::Fetch;
use crate::i18n::Msg;
use crate::routes::search::Results;
use crate::store::Store;

fn find<'a>(nodes: &'a [CategoryNode], path: &str) -> Option<&'a CategoryNode> {
    nodes.iter().find_map(|n| if n.path == path { Some(n) } else { find(&n.children, path) })
}

#[component]
pub fn CategoryPage() -> impl IntoView {
    let store = expect_context::<Store>();
    let params = use_params_map();
    let query = use_query_map();
    let path = move || params.read().get("path").unwrap_or_default().trim_matches('/').to_owned();
    let prerendered = crate::prerender::answer(store, "categories");
    let tree =
        Fetch::starting_with(prerendered.map(Ok), move || async move { client::categories(store).await });
    let q = Signal::derive(move || {
        let m = query.read();
        let path = path();
        SearchQuery {
            q: String::new(),
            category: (!path.is_empty()).then_some(path),
            min_price: m.get("min_price"),
            max_price: m.get("max_price"),
            sort: m.get("sort"),
            page: m.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1),
        }
    });
    view! {
        {move || {
            let path = path();
            // The category list alone (`/c`): the prerendered page gives way once the tree is here
            // (a category's page waits for its results instead).
            if path.is_empty() && tree.with(Option::is_some) {
                crate::prerender::drop_soon();
            }
            let nodes = tree.get().and_then(Result::ok).map(|t| t.categories).unwrap_or_default();
            let (name, children) = if path.is_empty() {
                (store.t(Msg::Categories).to_owned(), nodes.clone())
            } else {
                match find(&nodes, &path) {
                    Some(n) => (n.name.clone(), n.children.clone()),
                    None => (path.rsplit('/').next().unwrap_or_default().replace('-', " "), Vec::new()),
                }
            };
            view! {
                <h1 class="category-title">{name}</h1>
                <nav class="facets" aria-label=store.t(Msg::Categories)>
                    {children.into_iter().map(|c| view! {
                        <a href=format!("/c/{}", c.path) class="chip">{c.name} " (" {c.count} ")"</a>
                    }).collect_view()}
                </nav>
            }
        }}
        {move || (!path().is_empty()).then(|| view! { <Results query=q base="/c".to_owned()/> })}
    }
}
