//! Search results for the `q` in the URL, so a search can be shared and the back button works.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api;
use crate::components::{ErrorView, Grid, SkeletonGrid};

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let results = LocalResource::new(move || {
        let q = q();
        async move { api::search(&q, 1).await }
    });
    let retry = Callback::new(move |_| results.refetch());
    view! {
        <section aria-live="polite">
            {move || match results.get() {
                None => view! { <SkeletonGrid/> }.into_any(),
                Some(Err(error)) => view! { <ErrorView error retry/> }.into_any(),
                Some(Ok(r)) if r.total == 0 => view! {
                    <div class="empty">
                        <h1>"No results for “" {r.query} "”"</h1>
                        <p>"Check the spelling, or try a shorter or more general word such as “chair” or “paper”."</p>
                    </div>
                }.into_any(),
                Some(Ok(r)) => {
                    let featured = r.items.iter().filter(|h| h.why.featured).map(|h| h.card.id.clone()).collect();
                    view! {
                        <h1>{r.total} " results for “" {r.query} "”"</h1>
                        <Grid cards=r.items.into_iter().map(|h| h.card).collect() featured/>
                    }.into_any()
                }
            }}
        </section>
    }
}
