//! Settings: language, currency, whether the history on this device personalizes the shop, and
//! whether the shop may measure (anonymously) what is shown and done.

use leptos::prelude::*;

use crate::i18n::{Lang, Msg};
use crate::store::Store;

/// Currencies offered in the picker (the build's locale converts them; others stay in the catalog's).
const CURRENCIES: [&str; 6] = ["USD", "EUR", "GBP", "CAD", "AUD", "JPY"];

#[component]
pub fn SettingsPage() -> impl IntoView {
    let store = expect_context::<Store>();
    let cleared = RwSignal::new(false);
    let lang = move || store.settings.with(|s| s.lang.tag());
    let currency = move || store.settings.with(|s| s.currency.clone().unwrap_or_default());
    view! {
        <h1>{store.t(Msg::Settings)}</h1>
        <form class="settings" on:submit=|ev| ev.prevent_default()>
            <label for="lang">{store.t(Msg::Language)}</label>
            <select id="lang" data-testid="lang" prop:value=lang
                on:change=move |ev| store.settings.update(|s| s.lang = Lang::from_tag(&event_target_value(&ev)))>
                {Lang::ALL.into_iter().map(|l| view! { <option value=l.tag() selected=move || lang() == l.tag()>{l.name()}</option> }).collect_view()}
            </select>
            <label for="currency">{store.t(Msg::Currency)}</label>
            <select id="currency" data-testid="currency" prop:value=currency
                on:change=move |ev| {
                    let c = event_target_value(&ev);
                    store.settings.update(|s| s.currency = (!c.is_empty()).then_some(c));
                }>
                <option value="" selected=move || currency().is_empty()>{store.t(Msg::CurrencyAuto)}</option>
                {CURRENCIES.into_iter().map(|c| view! { <option value=c selected=move || currency() == c>{c}</option> }).collect_view()}
            </select>
            <label class="check">
                <input type="checkbox" data-testid="personalize" prop:checked=move || store.settings.with(|s| s.personalize)
                    on:change=move |ev| store.settings.update(|s| s.personalize = event_target_checked(&ev))/>
                {store.t(Msg::Personalize)}
            </label>
            <p class="help">{store.t(Msg::PersonalizeHelp)}</p>
            <label class="check">
                <input type="checkbox" data-testid="measure" prop:checked=move || store.settings.with(|s| s.measure)
                    on:change=move |ev| {
                        store.settings.update(|s| s.measure = event_target_checked(&ev));
                        crate::measure::sync_client_id(store);
                    }/>
                {store.t(Msg::Measure)}
            </label>
            <p class="help">{store.t(Msg::MeasureHelp)}</p>
            <button type="button" data-testid="clear-history" on:click=move |_| { store.clear_history(); cleared.set(true); }>
                {store.t(Msg::ClearHistory)}
            </button>
            <Show when=move || cleared.get()><p role="status">{store.t(Msg::HistoryCleared)}</p></Show>
        </form>
    }
}
