//! Home: the feed's sections ("For you", "Because you viewed …", "Trending", "Deals") and recently
//! viewed products. Ranked on the device at once (after a product view, no round trip), then replaced
//! by the edge's answer over the whole catalog when it arrives.

use leptos::prelude::*;
use ranking::wire::FeedResponse;

use crate::client::{self, FetchError};
use crate::components::{ErrorView, Grid, SkeletonGrid, Tile};
use crate::device::{self, DeviceGen};
use crate::fetch::Fetch;
use crate::i18n::Msg;
use crate::store::Store;

/// Items per feed section.
pub const PER_SECTION: usize = 12;

#[component]
pub fn Home() -> impl IntoView {
    let store = expect_context::<Store>();
    let DeviceGen(generation) = expect_context::<DeviceGen>();
    // A first visit starts from the feed the edge prerendered into the page, and keeps its nodes.
    let prerendered = crate::prerender::answer::<FeedResponse>(store, "feed");
    let adopt = StoredValue::new(prerendered.is_some());
    let edge = Fetch::starting_with(prerendered.map(Ok), move || {
        let history = store.history_header();
        async move { client::feed(store, PER_SECTION, history).await }
    });
    let retry = Callback::new(move |_| edge.refetch());
    let on_device = move || {
        generation.track();
        device::feed(&store.ranking_history(), PER_SECTION)
    };
    view! {
        {move || {
            let edge_answer = edge.get();
            if adopt.get_value() {
                adopt.set_value(false);
                return crate::prerender::adopted(store, "main", |_| {});
            }
            // The device ranks only while the edge's answer is missing (loading, failed, offline).
            let device_answer = if matches!(edge_answer, Some(Ok(_))) { None } else { on_device() };
            let view = home_view(edge_answer, device_answer, retry, store);
            // The app's own grid replaces the edge's prerendered one once there is one to show.
            if edge.with(Option::is_some) || view.1 {
                crate::prerender::drop_soon();
            }
            view! { <h1 class="visually-hidden">"Shopfront"</h1> {view.0} }.into_any()
        }}
        <RecentlyViewed/>
    }
}

/// What the home shows, and whether it is real content (not the skeleton).
fn home_view(
    edge: Option<Result<FeedResponse, FetchError>>,
    on_device: Option<FeedResponse>,
    retry: Callback<()>,
    store: Store,
) -> (AnyView, bool) {
    match edge {
        Some(Ok(feed)) => (sections(store, feed, "edge").into_any(), true),
        other => match (on_device, other) {
            (Some(feed), _) if !feed.sections.is_empty() => {
                (sections(store, feed, "device").into_any(), true)
            }
            (_, None) => (view! { <SkeletonGrid/> }.into_any(), false),
            (_, Some(Err(FetchError::Status { fallback: Some(feed), .. }))) => {
                (sections(store, *feed, "fallback").into_any(), true)
            }
            (_, Some(Err(error))) => (view! { <ErrorView error retry/> }.into_any(), true),
            (_, Some(Ok(_))) => (().into_any(), true),
        },
    }
}

fn sections(store: Store, feed: FeedResponse, source: &'static str) -> impl IntoView {
    let lang = store.lang();
    let viewed = store.viewed.get();
    let title_of = move |id: &str| viewed.iter().find(|c| c.id == id).map(|c| c.title.clone());
    feed.sections
        .into_iter()
        .enumerate()
        .map(|(n, s)| {
            let title = match s.id.as_str() {
                "for-you" => store.t(Msg::ForYou).to_owned(),
                "trending" => store.t(Msg::Trending).to_owned(),
                "deals" => store.t(Msg::Deals).to_owned(),
                "because" => match s.because.as_deref().and_then(&title_of) {
                    Some(t) => format!("{} {t}", store.t(Msg::BecauseYouViewed)),
                    None => s.title.clone(),
                },
                _ => s.title.clone(),
            };
            let list = s.list();
            let heading = format!("section-{}", s.id);
            let labelled_by = heading.clone();
            let tiles: Vec<Tile> = s.items.into_iter().map(|i| Tile::feed(i, lang, &title_of)).collect();
            view! {
                <section aria-labelledby=labelled_by data-section=s.id data-source=source>
                    <h2 id=heading>{title}</h2>
                    {(source == "device").then(|| view! { <p class="source-note">{store.t(Msg::OnDevice)}</p> })}
                    <Grid tiles lead=n == 0 list/>
                </section>
            }
        })
        .collect_view()
}

/// The products viewed last, straight from the device.
#[component]
fn RecentlyViewed() -> impl IntoView {
    let store = expect_context::<Store>();
    move || {
        let cards = store.viewed.get();
        (!cards.is_empty()).then(|| {
            let tiles: Vec<Tile> = cards.into_iter().take(8).map(Tile::plain).collect();
            view! {
                <section aria-labelledby="section-viewed" data-section="viewed">
                    <h2 id="section-viewed"><a href="/viewed">{store.t(Msg::RecentlyViewed)}</a></h2>
                    <Grid tiles list="viewed"/>
                </section>
            }
        })
    }
}
