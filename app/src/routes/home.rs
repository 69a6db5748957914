//! Home: the feed's sections ("Trending" for a new shopper).

use leptos::prelude::*;

use crate::api;
use crate::components::{ErrorView, Grid, SkeletonGrid};

#[component]
pub fn Home() -> impl IntoView {
    let feed = LocalResource::new(|| api::feed(24));
    let retry = Callback::new(move |_| feed.refetch());
    view! {
        <h1 class="visually-hidden">"Shopfront"</h1>
        {move || match feed.get() {
            None => view! { <SkeletonGrid/> }.into_any(),
            Some(Err(error)) => view! { <ErrorView error retry/> }.into_any(),
            Some(Ok(f)) => f
                .sections
                .into_iter()
                .map(|s| {
                    let heading = format!("section-{}", s.id);
                    let labelled_by = heading.clone();
                    view! {
                        <section aria-labelledby=labelled_by>
                            <h2 id=heading>{s.title}</h2>
                            <Grid cards=s.items.into_iter().map(|i| i.card).collect()/>
                        </section>
                    }
                })
                .collect_view()
                .into_any(),
        }}
    }
}
