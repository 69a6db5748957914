//! Answering an API read from the build in any [`Kv`]: the build parts an answer depends on, the
//! whole-index and partitioned layouts, the device pack, the feed's fallback and cache policy.

use std::rc::Rc;

use ranking::Product;
use ranking::device::{self, DevicePack, Source};
use ranking::embed::{Embedder, EmbedderData};
use ranking::feed::Seen;
use ranking::index::ItemIndex;
use ranking::ivf::{self, Cell, CellPlan, Cells, IvfHead, OpenCell, Router};
use ranking::kv::{self, CardList, Manifest, ProductShard};
use ranking::lexical::{LexicalData, Lexicon};
use ranking::locale::Locale;
use ranking::rules::Rules;
use ranking::search::SearchIndex;
use ranking::weights::{Variants, Weights};
use serde::Serialize;

use crate::problem::Problem;
use crate::route::{Route, SearchParams};
// The answers themselves are built in `ranking`, so the app builds the same ones on the device.
use crate::store::{FellBack, Kv, load, load_all_as, load_as, load_optional_as, optional, raw, warn};
pub use ranking::answer::{Ctx, categories, categories_of, fallback_feed, feed, search, suggest};
use ranking::wire::{ProductResponse, RelatedResponse};

/// Who is asking, as far as an answer depends on it: experiment bucket, country and currency.
#[derive(Debug, Clone, Copy)]
pub struct Shopper<'a> {
    pub client: u64,
    pub country: Option<&'a str>,
    pub currency: Option<&'a str>,
}

/// The parts of the current build every answer is made under, read once per request.
#[derive(Debug)]
pub struct Build {
    pub version: String,
    variants: Option<Rc<Variants>>,
    locale: Option<Rc<Locale>>,
    rules: Option<Rules>,
    now: i64,
    /// Parts that could not be read, so defaults answered instead (`x-degraded`).
    pub fell: FellBack,
    default_weights: Weights,
}

impl Build {
    /// The current version's weights, localisation and rules in force at `now` (Unix seconds).
    pub async fn read(store: &impl Kv, now: i64) -> Result<Build, Problem> {
        let version = crate::store::current_version(store).await?;
        let v = version.as_str();
        let fell = FellBack::default();
        // Weights per experiment variant, localisation (prices in the catalog currency without it)
        // and merchandising rules: a build may lack any of them; an unreadable one degrades answers.
        let variants = optional::<Variants>(store, v, &kv::keys::weights(v), "weights", &fell).await;
        let locale = optional::<Locale>(store, v, &kv::keys::locale(v), "locale", &fell).await;
        // Only the rules in force, under numbers instead of the shop's ids: answers and the device
        // pack show what shapes a ranking, never rules yet to start or what the shop calls them.
        let rules =
            optional::<Rules>(store, v, &kv::keys::rules(v), "rules", &fell).await.map(|r| r.public(now));
        Ok(Build { version, variants, locale, rules, now, fell, default_weights: Weights::default() })
    }

    /// The handlers' context for this shopper: their experiment variant's weights, country, currency.
    pub fn ctx<'a>(&'a self, shopper: Shopper<'a>) -> Ctx<'a> {
        let (variant, weights) = self
            .variants
            .as_deref()
            .and_then(|vs| vs.pick(shopper.client))
            .unwrap_or(("default", &self.default_weights));
        Ctx {
            version: &self.version,
            country: shopper.country,
            now: self.now,
            variant,
            weights,
            currency: shopper.currency,
            locale: self.locale.as_deref(),
            rules: self.rules.as_ref(),
        }
    }
}

/// `Cache-Control` of an answer to `route`: an answer from a history must never be stored by a shared
/// cache; lists that follow what is popular or typed keep a minute, product data five.
pub fn cache_control(route: &Route) -> &'static str {
    match route {
        Route::Feed { history, .. } | Route::Search(SearchParams { history, .. }) if !history.is_empty() => {
            "private, no-store"
        }
        Route::Feed { .. } | Route::Search(_) | Route::Suggest { .. } => "public, max-age=60",
        _ => "public, max-age=300",
    }
}

/// The edge cache's key of a history-free answer: per origin, index version, variant, country and
/// currency (a new build never serves an old answer), then the parsed route; `None` when personal.
pub fn edge_cache_key(origin: &str, route: &Route, ctx: Ctx<'_>) -> Option<String> {
    route.cache_key().map(|route_key| {
        let (country, currency) = (ctx.country.unwrap_or("-"), ctx.currency.unwrap_or("-"));
        format!("{origin}/__edge-cache/{}/{}/{country}/{currency}/{route_key}", ctx.version, ctx.variant)
    })
}

/// The body of an answer to `route`; a feed that cannot be read degrades to the build's popular list.
pub async fn answer(
    store: &impl Kv,
    route: Route,
    ctx: Ctx<'_>,
    fell: &FellBack,
) -> Result<Vec<u8>, Problem> {
    let feed_limit = match &route {
        Route::Feed { limit, .. } => Some(*limit),
        _ => None,
    };
    match (respond(store, route, ctx, fell).await, feed_limit) {
        (Err(Problem::Unavailable(why)), Some(limit)) => {
            let v = ctx.version;
            match load::<CardList>(store, v, &kv::keys::popular(v)).await {
                // Logged once, with the response.
                Ok(popular) => Err(Problem::Degraded(why, Box::new(fallback_feed(&popular, limit, ctx)))),
                Err(_) => Err(Problem::Unavailable(why)),
            }
        }
        (result, _) => result,
    }
}

/// `GET /api/products/{id}/similar` or `/bought-together`.
pub fn related(
    items: &dyn ranking::rows::Rows,
    id: &str,
    bought_together: bool,
    ctx: Ctx<'_>,
) -> Result<RelatedResponse, Problem> {
    ranking::answer::related(items, id, bought_together, ctx)
        .ok_or_else(|| Problem::UnknownProduct(id.to_owned()))
}

/// `GET /api/products/{id}` from the shard that holds `id`.
pub fn product(shard: &ProductShard, id: &str, ctx: Ctx<'_>) -> Result<ProductResponse, Problem> {
    ranking::answer::product(shard, id, ctx).ok_or_else(|| Problem::UnknownProduct(id.to_owned()))
}

/// JSON of an answer.
pub fn body<T: Serialize>(value: &T) -> Result<Vec<u8>, Problem> {
    serde_json::to_vec(value).map_err(|e| Problem::Unavailable(format!("cannot encode response: {e}")))
}

/// The answer by layout: products and the pack are stored alike in both, the rest per layout.
async fn respond(store: &impl Kv, route: Route, ctx: Ctx<'_>, fell: &FellBack) -> Result<Vec<u8>, Problem> {
    let v = ctx.version;
    let manifest = load::<Manifest>(store, v, &kv::keys::manifest(v)).await?;
    match route {
        Route::Product { id } => body(&product(&*shard_of(store, v, &manifest, &id).await?, &id, ctx)?),
        Route::Pack => device_pack(store, ctx).await,
        route if manifest.cells > 0 => partitioned(store, route, ctx, fell).await,
        route => whole(store, route, ctx, fell).await,
    }
}

/// The product shard that holds `id`.
async fn shard_of(
    store: &impl Kv,
    v: &str,
    manifest: &Manifest,
    id: &str,
) -> Result<Rc<ProductShard>, Problem> {
    load::<ProductShard>(store, v, &kv::keys::products(v, kv::shard_of(id, manifest.shard_count))).await
}

/// A product of the current version as stored (prices in the catalog's currency).
pub async fn stored_product(store: &impl Kv, v: &str, id: &str) -> Result<Product, Problem> {
    let manifest = load::<Manifest>(store, v, &kv::keys::manifest(v)).await?;
    let shard = shard_of(store, v, &manifest, id).await?;
    shard.get(id).cloned().ok_or_else(|| Problem::UnknownProduct(id.to_owned()))
}

/// Answers from the whole item index (a catalog small enough for one value).
async fn whole(store: &impl Kv, route: Route, ctx: Ctx<'_>, fell: &FellBack) -> Result<Vec<u8>, Problem> {
    let v = ctx.version;
    let items = load::<ItemIndex>(store, v, &kv::keys::items(v)).await?;
    match route {
        Route::Feed { limit, history } => body(&feed(&*items, &history, limit, ctx)),
        Route::Categories => body(&categories(&items, v)),
        Route::Similar { id } => body(&related(&*items, &id, false, ctx)?),
        Route::BoughtTogether { id } => body(&related(&*items, &id, true, ctx)?),
        Route::Suggest { q } => {
            let lexicon =
                load_as::<LexicalData, Lexicon>(store, v, &kv::keys::search(v), Lexicon::new).await?;
            let embedder = embedder(store, v, fell).await;
            body(&suggest(SearchIndex::new(&items, Some(&lexicon), embedder.as_deref()), &q, ctx))
        }
        Route::Search(params) => {
            let lexicon =
                load_as::<LexicalData, Lexicon>(store, v, &kv::keys::search(v), Lexicon::new).await?;
            let embedder = embedder(store, v, fell).await;
            body(&search(SearchIndex::new(&items, Some(&lexicon), embedder.as_deref()), &params, ctx))
        }
        Route::Rows { ids, related } => {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            Ok(kv::encode(&device::rows_cell(&[Source::Index(&items)], &ids, related)))
        }
        Route::Product { .. } | Route::Pack => fell_through(),
    }
}

fn fell_through() -> Result<Vec<u8>, Problem> {
    Err(Problem::Unavailable("product or pack route fell through".into()))
}

/// The device pack: the stored `pack` cell as it is, with this shopper's variant, weights, country,
/// currency, locale and rules around it.
async fn device_pack(store: &impl Kv, ctx: Ctx<'_>) -> Result<Vec<u8>, Problem> {
    let cell = raw(store, &kv::keys::pack(ctx.version)).await?;
    let pack = DevicePack {
        index_version: ctx.version.to_owned(),
        variant: ctx.variant.to_owned(),
        weights: ctx.weights.clone(),
        country: ctx.country.map(str::to_owned),
        currency: ctx.currency.map(str::to_owned),
        locale: ctx.locale.cloned(),
        rules: ctx.rules.cloned(),
        cell,
    };
    Ok(kv::encode(&pack))
}

/// The query embedder; without it (indexed without a model) search is keyword-only, and when it is
/// unreadable the answer is keyword-only and degraded.
async fn embedder(store: &impl Kv, v: &str, fell: &FellBack) -> Option<Rc<Embedder>> {
    match load_optional_as::<EmbedderData, Embedder>(store, v, &kv::keys::embedder(v), Embedder::new).await {
        Ok(e) => e,
        Err(e) => {
            warn(&format!("semantic search off: {e}"));
            fell.borrow_mut().push("embedder");
            None
        }
    }
}

/// Answers from a partitioned build: the routing head picks the cells a request needs
/// ([`ranking::ivf`]'s planning), only those are read (and kept per isolate), and ranked where they
/// lie ([`Cells`]) by the same handlers.
async fn partitioned(
    store: &impl Kv,
    route: Route,
    ctx: Ctx<'_>,
    fell: &FellBack,
) -> Result<Vec<u8>, Problem> {
    let v = ctx.version;
    let router = load_as::<IvfHead, Router>(store, v, &kv::keys::ivf(v), Router::new).await?;
    match route {
        Route::Categories => body(&categories_of(router.categories().to_vec(), v)),
        Route::Feed { limit, history } => partitioned_feed(store, &router, limit, &history, ctx).await,
        Route::Similar { id } => partitioned_related(store, &router, &id, false, ctx).await,
        Route::BoughtTogether { id } => partitioned_related(store, &router, &id, true, ctx).await,
        Route::Search(params) => partitioned_search(store, &router, &params, ctx, fell).await,
        Route::Rows { ids, related } => rows(store, &router, &ids, related, v).await,
        Route::Suggest { q } => {
            let embedder = embedder(store, v, fell).await;
            let all = cells(store, v, &router.search_cells(&q, None, embedder.as_deref())).await?;
            let refs = refs(&all);
            let cells = Cells::new(&refs);
            body(&suggest(SearchIndex::cells(&cells, embedder.as_deref(), Some(&router)), &q, ctx))
        }
        Route::Product { .. } | Route::Pack => fell_through(),
    }
}

/// A feed from the popular cell and the history's cells, then the cells nearest the shopper's vector
/// (made from the history items just loaded).
async fn partitioned_feed(
    store: &impl Kv,
    router: &Router,
    limit: usize,
    history: &[(String, ranking::Event)],
    ctx: Ctx<'_>,
) -> Result<Vec<u8>, Problem> {
    let v = ctx.version;
    let ids: Vec<&str> = history.iter().map(|(id, _)| id.as_str()).collect();
    let wanted = ivf::feed_cells(router, ids.iter().copied());
    let mut all = cells(store, v, &wanted).await?;
    if !history.is_empty() {
        let seen: Vec<Seen<'_>> = history.iter().map(|(id, e)| Seen { id, event: *e }).collect();
        let user = ivf::user_vector(&refs(&all), &seen, ctx.weights);
        all.extend(cells(store, v, &ivf::feed_probe_cells(router, &wanted, &user)).await?);
    }
    let refs = refs(&all);
    body(&feed(&Cells::new(&refs), history, limit, ctx))
}

/// A search over the routed cells and those of pinned products; marked approximate.
async fn partitioned_search(
    store: &impl Kv,
    router: &Router,
    params: &SearchParams,
    ctx: Ctx<'_>,
    fell: &FellBack,
) -> Result<Vec<u8>, Problem> {
    let v = ctx.version;
    let embedder = embedder(store, v, fell).await;
    let category = params.filters.category.as_deref();
    let pinned = ctx.rules.map(|r| r.pinned(&params.q, category, ctx.now)).unwrap_or_default();
    let wanted = ivf::search_plan(router, &params.q, category, embedder.as_deref(), &pinned);
    let all = cells(store, v, &wanted).await?;
    let refs = refs(&all);
    let cells = Cells::new(&refs);
    let mut found = search(SearchIndex::cells(&cells, embedder.as_deref(), Some(router)), params, ctx);
    found.approximate = true;
    body(&found)
}

/// Rows of products (and with `related` of the items their lists name) as one binary cell.
async fn rows(
    store: &impl Kv,
    router: &Router,
    ids: &[String],
    related: bool,
    v: &str,
) -> Result<Vec<u8>, Problem> {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut wanted = ivf::home_cells(router, ids.iter().copied());
    if related {
        let homes = cells(store, v, &wanted).await?;
        ivf::add_related_cells(router, &mut wanted, &refs(&homes), &ids);
    }
    let all = cells(store, v, &wanted).await?;
    let sources: Vec<Source<'_>> =
        all.iter().map(|c| Source::Cell { items: &c.items, globals: &c.globals }).collect();
    Ok(kv::encode(&device::rows_cell(&sources, &ids, related)))
}

/// Similar or bought-together items from a partitioned build: the product's cell, then the cells of
/// the items its lists name (bounded like every request: items in further cells are left out).
async fn partitioned_related(
    store: &impl Kv,
    router: &Router,
    id: &str,
    together: bool,
    ctx: Ctx<'_>,
) -> Result<Vec<u8>, Problem> {
    let v = ctx.version;
    let mut wanted = ivf::home_cells(router, [id]);
    if wanted.is_empty() {
        return Err(Problem::UnknownProduct(id.to_owned()));
    }
    let homes = cells(store, v, &wanted).await?;
    ivf::add_related_cells(router, &mut wanted, &refs(&homes), &[id]);
    let all = cells(store, v, &wanted).await?;
    let refs = refs(&all);
    body(&related(&Cells::new(&refs), id, together, ctx)?)
}

/// Reads cells (`None`: the popular cell), in order; the KV reads of those not kept are in flight at
/// once ([`load_all_as`]).
async fn cells(store: &impl Kv, v: &str, wanted: &CellPlan) -> Result<Vec<Rc<OpenCell>>, Problem> {
    let keys: Vec<String> = wanted
        .iter()
        .map(|c| match c {
            Some(c) => kv::keys::cell(v, *c),
            None => kv::keys::popular_cell(v),
        })
        .collect();
    load_all_as::<Cell, OpenCell>(store, v, &keys, OpenCell::new).await
}

fn refs(cells: &[Rc<OpenCell>]) -> Vec<&OpenCell> {
    cells.iter().map(Rc::as_ref).collect()
}
