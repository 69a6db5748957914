//! Cart: lines with quantities and a subtotal in the shopper's currency, kept on the device, and the
//! way to pay for them when the shop takes payments.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use ranking::Price;
use ranking::events::EventKind;
use ranking::wire::{CartLine, CheckoutRequest};

use crate::client;
use crate::components::{encode, format_price};
use crate::fetch::Fetch;
use crate::i18n::Msg;
use crate::store::Store;

#[component]
pub fn CartPage() -> impl IntoView {
    let store = expect_context::<Store>();
    // One subtotal per currency: a line added before the shopper changed currency keeps its price.
    let subtotals = move || {
        let mut totals: Vec<Price> = Vec::new();
        for line in store.cart.get() {
            let amount = line.card.price.amount * f64::from(line.qty);
            match totals.iter_mut().find(|p| p.currency == line.card.price.currency) {
                Some(p) => p.amount += amount,
                None => totals.push(Price { amount, currency: line.card.price.currency.clone() }),
            }
        }
        totals.iter().map(format_price).collect::<Vec<_>>().join(" + ")
    };
    view! {
        <h1>{store.t(Msg::Cart)}</h1>
        {move || {
            let lines = store.cart.get();
            if lines.is_empty() {
                return view! { <p class="empty">{store.t(Msg::CartEmpty)}</p> }.into_any();
            }
            view! {
                <ul class="lines" data-testid="cart-lines">
                    {lines.into_iter().map(|line| {
                        let (id, qty) = (line.card.id.clone(), line.qty);
                        let (less, more, gone) = (id.clone(), id.clone(), id.clone());
                        view! {
                            <li class="line" data-id=id.clone()>
                                <img src=line.card.image.clone() alt="" width="64" height="64" loading="lazy"/>
                                <A href=format!("/p/{}", encode(&id))>{line.card.title.clone()}</A>
                                <span class="price">{format_price(&line.card.price)}</span>
                                <span class="qty">
                                    <button aria-label=store.t(Msg::Decrease) on:click=move |_| store.set_qty(&less, qty - 1)>"−"</button>
                                    <span aria-label=store.t(Msg::Quantity) data-testid="qty">{qty}</span>
                                    <button aria-label=store.t(Msg::Increase) on:click=move |_| store.set_qty(&more, qty + 1)>"+"</button>
                                </span>
                                <button class="secondary" on:click=move |_| store.set_qty(&gone, 0)>{store.t(Msg::Remove)}</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <p class="subtotal">{store.t(Msg::Subtotal)} ": " <strong data-testid="subtotal">{subtotals}</strong></p>
                <Checkout/>
            }
            .into_any()
        }}
    }
}

/// The checkout button, shown only when the shop takes payments: the edge prices the cart and the
/// shopper goes to the payment page. Offline it is disabled with a note (and the status is refetched
/// when the shop is back); back from a cancelled payment, a note says the cart is unchanged.
#[component]
fn Checkout() -> impl IntoView {
    let store = expect_context::<Store>();
    let status = Fetch::new(move || client::checkout_status(store));
    // Offline the shop cannot say whether it takes payments: the button shows, disabled, with a note.
    let shown = move || status.with(|s| matches!(s, Some(Ok(s)) if s.enabled)) || !store.online.get();
    let cancelled = use_query_map().with_untracked(|q| q.get("checkout").as_deref() == Some("cancelled"));
    Effect::new(move |was_online: Option<bool>| {
        let online = store.online.get();
        if was_online == Some(false) && online {
            status.refetch();
        }
        online
    });
    let busy = RwSignal::new(false);
    let failed = RwSignal::new(None::<String>);
    let pay = move |_| {
        let lines = store.cart.with_untracked(|c| {
            c.iter().map(|l| CartLine { id: l.card.id.clone(), quantity: i64::from(l.qty) }).collect()
        });
        let request: CheckoutRequest = CheckoutRequest { lines, locale: Some(store.lang().tag().to_owned()) };
        for line in &request.lines {
            crate::measure::record(store, EventKind::CheckoutIntent, &line.id, None, None);
        }
        busy.set(true);
        failed.set(None);
        leptos::task::spawn_local(async move {
            match client::checkout(store, &request).await {
                // The page is left; `busy` stays, so a second tap cannot open a second session.
                Ok(session) => client::go_to(&session.url),
                Err(e) => {
                    failed.set(Some(format!("{} {}", store.t(Msg::CheckoutFailed), e.message(store.lang()))));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        {cancelled.then(|| view! { <p class="note" data-testid="checkout-cancelled">{store.t(Msg::CheckoutCancelled)}</p> })}
        <div class="checkout" hidden=move || !shown()>
            <button class="primary" data-testid="checkout" on:click=pay
                disabled=move || busy.get() || !store.online.get()>{store.t(Msg::Checkout)}</button>
            <p class="note" data-testid="checkout-offline" hidden=move || store.online.get()>{store.t(Msg::CheckoutOffline)}</p>
            {move || failed.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
        </div>
    }
}
