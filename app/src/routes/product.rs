//! Product page: everything about one product.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api;
use crate::components::{ErrorView, format_price};

#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let product = LocalResource::new(move || {
        let id = id();
        async move { api::product(&id).await }
    });
    let retry = Callback::new(move |_| product.refetch());
    view! {
        {move || match product.get() {
            None => view! { <article class="product skeleton" aria-busy="true"><div class="ph-img"></div></article> }.into_any(),
            Some(Err(error)) => view! { <ErrorView error retry/> }.into_any(),
            Some(Ok(r)) => {
                let p = r.product;
                let path = p.category.join(" › ");
                view! {
                    <article class="product">
                        <img src=r.image alt="" width="480" height="480"/>
                        <div class="product-info">
                            <p class="breadcrumb">{path}</p>
                            <h1>{p.title.clone()}</h1>
                            <p class="price">{format_price(&p.price)}</p>
                            {p.description.clone().map(|d| view! { <p class="description">{d}</p> })}
                            <A href="/">"← Back to the shop"</A>
                        </div>
                    </article>
                }
                .into_any()
            }
        }}
    }
}
