//! Where the payment provider sends the shopper after paying (`/checkout/done`): the cart empties and
//! its products join the device's history as purchases.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::Msg;
use crate::store::Store;

#[component]
pub fn OrderPaid() -> impl IntoView {
    let store = expect_context::<Store>();
    store.order_paid();
    view! {
        <div class="empty" data-testid="order-paid">
            <h1>{store.t(Msg::OrderPaid)}</h1>
            <p>{store.t(Msg::OrderPaidBody)}</p>
            <A href="/">{store.t(Msg::BackToShop)}</A>
        </div>
    }
}
