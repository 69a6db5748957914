//! Cart: lines with quantities and a subtotal in the shopper's currency, kept on the device.

use leptos::prelude::*;
use leptos_router::components::A;
use ranking::Price;

use crate::components::{encode, format_price};
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
            }
            .into_any()
        }}
    }
}
