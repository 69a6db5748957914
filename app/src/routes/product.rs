//! Product page: price in the shopper's currency, delivery estimate, cart and wishlist, similar items
//! and items bought together. A view goes into the device's history (and, with personalization on,
//! the product's rows are fetched so the device can re-rank with it).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use ranking::Card;
use ranking::wire::ProductResponse;

use crate::client::{self, FetchError};
use crate::components::{ErrorView, Grid, Tile, format_price};
use crate::device::{self, DeviceGen};
use crate::fetch::Fetch;
use crate::i18n::Msg;
use crate::store::Store;

#[component]
pub fn ProductPage() -> impl IntoView {
    let store = expect_context::<Store>();
    let DeviceGen(generation) = expect_context::<DeviceGen>();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // Opened from a link: the answer the edge prerendered the page from.
    let prerendered = crate::prerender::answer(store, "product");
    let product = Fetch::starting_with(prerendered.map(Ok), move || {
        let id = id();
        async move { client::product(store, &id).await }
    });
    let retry = Callback::new(move |_| product.refetch());
    // The view is recorded once the product is known (an unknown id is not history).
    Effect::new(move |_| {
        if let Some(Ok(r)) = product.get() {
            let card = Card { image: r.image.clone(), ..r.product.card(0) };
            store.viewed_product(&card);
            let id = card.id.clone();
            if store.settings.with_untracked(|s| s.personalize) && !device::has_rows(&id) {
                leptos::task::spawn_local(async move {
                    if let Ok(bytes) = client::rows(store, &id).await
                        && device::install_rows(&id, &bytes).is_ok()
                    {
                        generation.update(|g| *g += 1);
                    }
                });
            }
        }
    });
    view! {
        {move || {
            let answer = product.get();
            // The prerendered page (the same markup) gives way once there is content to show.
            if answer.is_some() {
                crate::prerender::drop_soon();
            }
            shown(store, answer, retry)
        }}
    }
}

/// The product page for an answer: a skeleton while there is none, the error, or the product.
fn shown(store: Store, answer: Option<Result<ProductResponse, FetchError>>, retry: Callback<()>) -> AnyView {
    match answer {
        None => {
            view! { <article class="product skeleton" aria-busy="true"><div class="ph-img"></div></article> }
                .into_any()
        }
        Some(Err(error)) => view! { <ErrorView error retry/> }.into_any(),
        Some(Ok(r)) => {
            let card = Card { image: r.image.clone(), ..r.product.card(0) };
            let p = r.product;
            let path = p.category.join(" › ");
            let list = p.list_price.map(|l| ranking::Price { amount: l, currency: p.price.currency.clone() });
            let (in_cart, for_cart, for_wish) = (card.id.clone(), card.clone(), card.clone());
            let wish_id = StoredValue::new(card.id.clone());
            let wished = move || wish_id.with_value(|id| store.in_wishlist(id));
            let qty =
                move || store.cart.with(|c| c.iter().find(|l| l.card.id == in_cart).map_or(0, |l| l.qty));
            view! {
                <article class="product">
                    <img src=r.image alt=p.title.clone() width="480" height="480" fetchpriority="high"/>
                    <div class="product-info">
                        <p class="breadcrumb">{path}</p>
                        <h1>{p.title.clone()}</h1>
                        <p>
                            <span class="price" data-testid="price">{format_price(&p.price)}</span>
                            {list.map(|l| view! { <s class="list-price" aria-label=store.t(Msg::RegularPrice)>{format_price(&l)}</s> })}
                        </p>
                        {r.delivery.map(|d| view! {
                            <p class="delivery" data-testid="delivery">{store.t(Msg::DeliveryIn)} " " {d.days} " " {store.t(Msg::Days)}</p>
                        })}
                        <div class="actions">
                            <button class="primary" data-testid="add-to-cart" on:click=move |_| store.add_to_cart(&for_cart)>
                                {store.t(Msg::AddToCart)}
                                {move || (qty() > 0).then(|| format!(" ({} {})", qty(), store.t(Msg::InCart)))}
                            </button>
                            <button class="secondary" data-testid="wishlist" aria-pressed=move || wished().to_string()
                                on:click=move |_| store.toggle_wishlist(&for_wish)>
                                {move || if wished() { store.t(Msg::RemoveFromWishlist) } else { store.t(Msg::SaveToWishlist) }}
                            </button>
                        </div>
                        {p.description.clone().map(|d| view! { <p class="description">{d}</p> })}
                        <a href="/">{store.t(Msg::BackToShop)}</a>
                    </div>
                </article>
                <Related id=p.id.clone() bought_together=false/>
                <Related id=p.id.clone() bought_together=true/>
            }
            .into_any()
        }
    }
}

/// Similar items or items bought together; nothing when there are none or they fail to load.
#[component]
fn Related(id: String, bought_together: bool) -> impl IntoView {
    let store = expect_context::<Store>();
    let list = Fetch::new(move || {
        let id = id.clone();
        async move { client::related(store, &id, bought_together).await }
    });
    let title = if bought_together { Msg::BoughtTogether } else { Msg::SimilarItems };
    let key = if bought_together { "bought-together" } else { "similar" };
    move || {
        list.get().and_then(Result::ok).filter(|r| !r.items.is_empty()).map(|r| {
            let tiles: Vec<Tile> = r.items.into_iter().map(|i| Tile::plain(i.card)).collect();
            view! {
                <section aria-labelledby=format!("section-{key}") data-section=key>
                    <h2 id=format!("section-{key}")>{store.t(title)}</h2>
                    <Grid tiles list=key/>
                </section>
            }
        })
    }
}
