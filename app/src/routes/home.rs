//! Home: the feed, most purchased first.

use leptos::prelude::*;

use crate::api;
use crate::components::{ErrorView, Grid, SkeletonGrid};

#[component]
pub fn Home() -> impl IntoView {
    let feed = LocalResource::new(|| api::feed(24));
    let retry = Callback::new(move |_| feed.refetch());
    view! {
        <section aria-labelledby="popular-heading">
            <h1 id="popular-heading">"Popular right now"</h1>
            {move || match feed.get() {
                None => view! { <SkeletonGrid/> }.into_any(),
                Some(Ok(f)) => view! { <Grid cards=f.items/> }.into_any(),
                Some(Err(error)) => view! { <ErrorView error retry/> }.into_any(),
            }}
        </section>
    }
}
