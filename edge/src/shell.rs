//! The Workers runtime shell: reads KV, caches decoded values per index version in isolate memory,
//! calls the handlers in [`crate::api`] and writes responses. Only compiled for wasm32.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use ranking::device::{self, DevicePack, Source};
use ranking::embed::{Embedder, EmbedderData};
use ranking::feed::Seen;
use ranking::index::ItemIndex;
use ranking::ivf::{self, Cell, IvfHead, OpenCell, Router};
use ranking::kv::{self, Blob, CardList, Manifest, ProductShard};
use ranking::lexical::{LexicalData, Lexicon};
use ranking::locale::Locale;
use ranking::rules::Rules;
use ranking::search::Catalog;
use ranking::weights::{Variants, Weights};
use serde::Serialize;
use worker::{Context, Env, Request, Response, event, kv::KvStore};

use crate::api::{self, Endpoint, Route};
use crate::commerce;
use crate::problem::{ApiError, PROBLEM_JSON};
use crate::seo;

/// Most IVF cells kept decoded per isolate (~1 MB each).
const MAX_CACHED_CELLS: usize = 32;

/// KV namespace binding name (wrangler.toml).
pub(crate) const KV_BINDING: &str = "SHOP";

/// The daily cron (wrangler.toml `[triggers]`): events older than the shop's retention window go.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    if let Err(e) = commerce::expire_events(&env).await {
        worker::console_error!("expiring old events failed: {e}");
    }
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let url = req.url()?;
    if url.path() == "/" {
        return home_page(&req, &env, &ctx, &url).await;
    }
    if !url.path().starts_with("/api/") {
        if let Some(id) = seo::product_path_id(url.path()) {
            return product_page(&req, &env, &id, &url).await;
        }
        // Static files and the SPA shell: only reached when run_worker_first routes a path here.
        return env.assets("ASSETS")?.fetch_request(req).await;
    }
    let method = req.method().to_string();
    let history = req.headers().get("x-history").ok().flatten();
    let client = api::client_hash(
        req.headers().get("cookie").ok().flatten().as_deref(),
        req.headers().get("x-client-id").ok().flatten().as_deref(),
    );
    let query = url.query().unwrap_or("");
    let country = ip_country(&req);
    let mut content_type = "application/json";
    let answer = match (
        api::endpoint(&method, url.path(), query, history.as_deref()),
        api::shopper_country(query, country.as_deref()),
        api::shopper_currency(query),
    ) {
        (Ok(Endpoint::Read(route)), Ok(country), Ok(currency)) => {
            if matches!(route, Route::Pack | Route::Rows { .. }) {
                content_type = "application/octet-stream";
            }
            let shopper = Shopper { client, country: country.as_deref(), currency: currency.as_deref() };
            answer(&env, &ctx, &url, route, shopper).await
        }
        // Whether the shop takes payments changes only when its secrets do.
        (Ok(Endpoint::CheckoutStatus), Ok(_), Ok(_)) => {
            commerce::status(&env).map(|b| Answer::uncached(b, "public, max-age=300"))
        }
        (Ok(Endpoint::Checkout), Ok(country), Ok(currency)) => {
            let origin = url.origin().ascii_serialization();
            commerce::checkout(&mut req, &env, &origin, country.as_deref(), currency.as_deref())
                .await
                .map(|b| Answer::uncached(b, "no-store"))
        }
        (Ok(Endpoint::StripeWebhook), Ok(_), Ok(_)) => {
            commerce::webhook(&mut req, &env).await.map(|b| Answer::uncached(b, "no-store"))
        }
        (Ok(Endpoint::Events), Ok(_), Ok(_)) => commerce::events(&mut req, &env, client)
            .await
            .map(|b| Answer { status: 202, ..Answer::uncached(b, "no-store") }),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e),
    };
    match answer {
        Ok(a) => {
            let resp = with_headers(json_response(a.body, a.status, content_type)?, a.cache_control);
            if let Some(state) = a.edge_cache {
                resp.headers().set("x-edge-cache", state)?;
            }
            if !a.fell_back.is_empty() {
                resp.headers().set("x-degraded", &a.fell_back.join(", "))?;
            }
            Ok(resp)
        }
        Err(e) => {
            // One line per failed request; never the request itself (it may carry a history).
            match &e {
                ApiError::Degraded(..) => worker::console_error!("{e} (answered with the fallback feed)"),
                // A shop without Stripe is a setting, not a fault.
                ApiError::NotConfigured(_) => {}
                e if e.status() >= 500 => worker::console_error!("{e}"),
                _ => {}
            }
            let problem = serde_json::to_vec(&e.problem()).unwrap_or_default();
            let resp = json_response(problem, e.status(), PROBLEM_JSON)?;
            if let Some(allow) = e.allow() {
                resp.headers().set("allow", allow)?;
            }
            Ok(with_headers(resp, "no-store"))
        }
    }
}

/// A product page: the SPA shell with the product's title, description, OpenGraph and JSON-LD, so
/// crawlers and link previews see the product without running wasm. Unknown products get the shell
/// with status 404 (the app shows its own message); an unreadable index, the plain shell.
async fn product_page(req: &Request, env: &Env, id: &str, url: &worker::Url) -> worker::Result<Response> {
    let mut shell_resp =
        env.assets("ASSETS")?.fetch(format!("{}/", url.origin().ascii_serialization()), None).await?;
    let shell = shell_resp.text().await?;
    let country = ip_country(req);
    let query = url.query().unwrap_or("");
    let country = api::shopper_country(query, country.as_deref()).ok().flatten();
    let currency = api::shopper_currency(query).ok().flatten();
    let fell = FellBack::default();
    let (status, html, tagged) =
        match product_meta(env, id, country.as_deref(), currency.as_deref(), &fell).await {
            Ok((product, price, in_stock)) => {
                let origin = url.origin().ascii_serialization();
                let canonical = seo::product_url(&origin, id);
                let image = seo::absolute(&origin, &product.image_url());
                let meta = seo::ProductMeta {
                    product: &product,
                    price: &price,
                    canonical: &canonical,
                    image: &image,
                    in_stock,
                };
                (200, seo::product_page(&shell, &meta), true)
            }
            Err(ApiError::UnknownProduct(_)) => (404, shell.clone(), false),
            Err(e) => {
                worker::console_warn!("product page {id} without SEO tags: {e}");
                (200, shell.clone(), false)
            }
        };
    let resp = Response::from_html(html)?.with_status(status);
    let h = resp.headers();
    h.set("content-security-policy", &seo::shell_csp(&shell))?;
    // Only a complete page may be kept by shared caches: a 404 (the product may be listed by the next
    // build) or a page without its tags or prices must not outlive the fault.
    let complete = tagged && fell.borrow().is_empty();
    h.set("cache-control", if complete { "public, max-age=60" } else { "no-store" })?;
    h.set("vary", "cf-ipcountry")?;
    h.set("x-content-type-options", "nosniff")?;
    h.set("referrer-policy", "strict-origin-when-cross-origin")?;
    Ok(resp)
}

/// Items per section of the prerendered home feed (the app asks for as many).
const PRERENDER_ITEMS: usize = 12;

/// The home page: the shell with the history-free feed as plain HTML ([`seo::home_page`]), from
/// the same cached answer as `/api/feed`, so the first grid needs no wasm; the plain shell when the
/// feed cannot be read.
async fn home_page(req: &Request, env: &Env, ctx: &Context, url: &worker::Url) -> worker::Result<Response> {
    let mut shell_resp =
        env.assets("ASSETS")?.fetch(format!("{}/", url.origin().ascii_serialization()), None).await?;
    let shell = shell_resp.text().await?;
    let query = url.query().unwrap_or("");
    let country = api::shopper_country(query, ip_country(req).as_deref()).ok().flatten();
    let currency = api::shopper_currency(query).ok().flatten();
    let client = api::client_hash(
        req.headers().get("cookie").ok().flatten().as_deref(),
        req.headers().get("x-client-id").ok().flatten().as_deref(),
    );
    let route = Route::Feed { limit: PRERENDER_ITEMS, history: Vec::new() };
    let shopper = Shopper { client, country: country.as_deref(), currency: currency.as_deref() };
    let html = match answer(env, ctx, url, route, shopper).await {
        Ok(a) => match serde_json::from_slice::<ranking::api::FeedResponse>(&a.body) {
            Ok(feed) => seo::home_page(&shell, &feed),
            Err(e) => {
                worker::console_warn!("home page without its feed: {e}");
                shell.clone()
            }
        },
        Err(e) => {
            worker::console_warn!("home page without its feed: {e}");
            shell.clone()
        }
    };
    let resp = Response::from_html(html)?;
    let h = resp.headers();
    h.set("content-security-policy", &seo::shell_csp(&shell))?;
    // Prices follow the country and the experiment variant the cookie picks.
    h.set("cache-control", "no-cache")?;
    h.set("vary", "cf-ipcountry, cookie")?;
    h.set("x-content-type-options", "nosniff")?;
    h.set("referrer-policy", "strict-origin-when-cross-origin")?;
    h.set("x-frame-options", "DENY")?;
    Ok(resp)
}

/// The product, its price in the shopper's currency and whether it is in stock anywhere.
async fn product_meta(
    env: &Env,
    id: &str,
    country: Option<&str>,
    currency: Option<&str>,
    fell: &FellBack,
) -> Result<(ranking::Product, ranking::Price, Option<bool>), ApiError> {
    let store =
        env.kv(KV_BINDING).map_err(|e| ApiError::Unavailable(format!("KV binding {KV_BINDING}: {e}")))?;
    let version = current_version(&store).await?;
    let v = version.as_str();
    let manifest = load::<Manifest>(&store, v, &kv::keys::manifest(v)).await?;
    let shard =
        load::<ProductShard>(&store, v, &kv::keys::products(v, kv::shard_of(id, manifest.shard_count)))
            .await?;
    let product = shard.get(id).cloned().ok_or_else(|| ApiError::UnknownProduct(id.to_owned()))?;
    let locale = optional::<Locale>(&store, v, &kv::keys::locale(v), "locale", fell).await;
    let weights = Weights::default();
    let ctx = api::Ctx {
        version: v,
        country,
        now: 0,
        variant: "default",
        weights: &weights,
        currency,
        locale: locale.as_deref(),
        rules: None,
    };
    let (price, _) = ctx.price(&product.price);
    let in_stock = product.stock.as_ref().map(|s| s.values().any(|q| *q > 0));
    Ok((product, price, in_stock))
}

/// The country Cloudflare located the shopper in: the `CF-IPCountry` header, else `request.cf.country`.
fn ip_country(req: &Request) -> Option<String> {
    req.headers().get("cf-ipcountry").ok().flatten().or_else(|| req.cf().and_then(|cf| cf.country()))
}

fn json_response(body: Vec<u8>, status: u16, content_type: &str) -> worker::Result<Response> {
    let resp = Response::from_bytes(body)?;
    resp.headers().set("content-type", content_type)?;
    Ok(resp.with_status(status))
}

/// Security and caching headers on every API response.
fn with_headers(resp: Response, cache: &str) -> Response {
    let h = resp.headers();
    let _ = h.set("cache-control", cache);
    // Answers differ by history, experiment variant (client id or cookie) and country: a shared cache
    // must not answer one shopper with another's.
    let _ = h.set("vary", "x-history, x-client-id, cookie, cf-ipcountry");
    let _ = h.set("x-content-type-options", "nosniff");
    let _ = h.set("referrer-policy", "strict-origin-when-cross-origin");
    let _ = h.set("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
    resp
}

pub(crate) fn body<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Unavailable(format!("cannot encode response: {e}")))
}

/// Who is asking, as far as an answer depends on it: experiment bucket, country and currency.
#[derive(Debug, Clone, Copy)]
struct Shopper<'a> {
    client: u64,
    country: Option<&'a str>,
    currency: Option<&'a str>,
}

/// An API answer before it becomes a response.
struct Answer {
    /// 200, or 202 for events accepted for storage.
    status: u16,
    body: Vec<u8>,
    cache_control: &'static str,
    /// `x-edge-cache`: `hit`, `miss`, or `None` when the answer may not be cached.
    edge_cache: Option<&'static str>,
    /// Build parts that could not be read, so defaults answered instead (`x-degraded`).
    fell_back: Vec<&'static str>,
}

impl Answer {
    /// An answer no edge cache keeps, with its own `Cache-Control`.
    fn uncached(body: Vec<u8>, cache_control: &'static str) -> Answer {
        Answer { status: 200, body, cache_control, edge_cache: None, fell_back: Vec::new() }
    }
}

/// Parts of the build that failed to load for one request (each falls back to a default). Such an
/// answer is served but never stored: a cache would keep the fallback for everyone.
pub(crate) type FellBack = RefCell<Vec<&'static str>>;

/// An optional part of the build: `None` when this build has none, a default (and noted in `fell`)
/// when it is there but unreadable.
pub(crate) async fn optional<T: Blob + Checked + 'static>(
    store: &KvStore,
    v: &str,
    key: &str,
    part: &'static str,
    fell: &FellBack,
) -> Option<Rc<T>> {
    match load_optional_as::<T, T>(store, v, key, |x| x.is_consistent().then_some(x)).await {
        Ok(value) => value,
        Err(e) => {
            worker::console_warn!("{part} unreadable, defaults used: {e}");
            fell.borrow_mut().push(part);
            None
        }
    }
}

async fn answer(
    env: &Env,
    ctx: &Context,
    url: &worker::Url,
    route: Route,
    shopper: Shopper<'_>,
) -> Result<Answer, ApiError> {
    let store =
        env.kv(KV_BINDING).map_err(|e| ApiError::Unavailable(format!("KV binding {KV_BINDING}: {e}")))?;
    let version = current_version(&store).await?;
    let v = version.as_str();
    let fell = FellBack::default();
    // Weights per experiment variant, localisation (prices in the catalog currency without it) and
    // merchandising rules: a build may lack any of them; an unreadable one degrades the answer.
    let variants = optional::<Variants>(&store, v, &kv::keys::weights(v), "weights", &fell).await;
    let locale = optional::<Locale>(&store, v, &kv::keys::locale(v), "locale", &fell).await;
    let now = (worker::Date::now().as_millis() / 1000) as i64;
    // Only the rules in force, under numbers instead of the shop's ids: answers and the device pack
    // show what shapes a ranking, never rules yet to start or what the shop calls them.
    let rules =
        optional::<Rules>(&store, v, &kv::keys::rules(v), "rules", &fell).await.map(|r| r.public(now));
    let fallback = Weights::default();
    let (variant, weights) =
        variants.as_deref().and_then(|vs| vs.pick(shopper.client)).unwrap_or(("default", &fallback));
    let api_ctx = api::Ctx {
        version: v,
        country: shopper.country,
        now,
        variant,
        weights,
        currency: shopper.currency,
        locale: locale.as_deref(),
        rules: rules.as_ref(),
    };
    let feed_limit = match &route {
        Route::Feed { limit, .. } => Some(*limit),
        _ => None,
    };
    // History-free answers are the same for every shopper of one variant, country and currency: the
    // Cache API keeps them per index version (a new build never serves an old answer), under the
    // shop's own origin and a key made from the parsed route.
    let key = route.cache_key().map(|route_key| {
        format!(
            "{}/__edge-cache/{v}/{variant}/{}/{}/{route_key}",
            url.origin().ascii_serialization(),
            shopper.country.unwrap_or("-"),
            shopper.currency.unwrap_or("-")
        )
    });
    let cache = worker::Cache::default();
    if let Some(key) = &key
        && let Ok(Some(mut hit)) = cache.get(key.as_str(), false).await
        && let Ok(bytes) = hit.bytes().await
    {
        let control = if matches!(route, Route::Feed { .. } | Route::Search(_) | Route::Suggest { .. }) {
            "public, max-age=60"
        } else {
            "public, max-age=300"
        };
        return Ok(Answer {
            status: 200,
            body: bytes,
            cache_control: control,
            edge_cache: Some("hit"),
            fell_back: Vec::new(),
        });
    }
    let result = match (respond(&store, route, api_ctx, &fell).await, feed_limit) {
        // The feed degrades to the build's non-personal popular list rather than an empty page.
        (Err(ApiError::Unavailable(why)), Some(limit)) => {
            match load::<CardList>(&store, v, &kv::keys::popular(v)).await {
                Ok(popular) => {
                    // Logged once, with the response (below in `fetch`).
                    Err(ApiError::Degraded(why, Box::new(api::fallback_feed(&popular, limit, api_ctx))))
                }
                Err(_) => Err(ApiError::Unavailable(why)),
            }
        }
        (result, _) => result,
    }?;
    let fell_back = fell.into_inner();
    if !fell_back.is_empty() {
        return Ok(Answer {
            status: 200,
            body: result.0,
            cache_control: "no-store",
            edge_cache: None,
            fell_back,
        });
    }
    let Some(key) = key else {
        return Ok(Answer {
            status: 200,
            body: result.0,
            cache_control: result.1,
            edge_cache: None,
            fell_back,
        });
    };
    // Cache API entries need a max-age. Stored after the response is sent; a failed put only costs
    // the next request a recompute.
    if let Ok(stored) = Response::from_bytes(result.0.clone()) {
        let _ = stored.headers().set("cache-control", result.1);
        ctx.wait_until(async move {
            if let Err(e) = worker::Cache::default().put(key.as_str(), stored).await {
                worker::console_warn!("edge cache put failed: {e}");
            }
        });
    }
    Ok(Answer { status: 200, body: result.0, cache_control: result.1, edge_cache: Some("miss"), fell_back })
}

async fn respond(
    store: &KvStore,
    route: Route,
    ctx: api::Ctx<'_>,
    fell: &FellBack,
) -> Result<(Vec<u8>, &'static str), ApiError> {
    let (store, v) = (store, ctx.version);
    let manifest = load::<Manifest>(store, v, &kv::keys::manifest(v)).await?;
    if let Route::Product { id } = &route {
        let shard = kv::shard_of(id, manifest.shard_count);
        let products = load::<ProductShard>(store, v, &kv::keys::products(v, shard)).await?;
        return Ok((body(&api::product(&products, id, ctx)?)?, "public, max-age=300"));
    }
    if let Route::Pack = route {
        return Ok((device_pack(store, ctx).await?, "public, max-age=300"));
    }
    if manifest.cells > 0 {
        return partitioned(store, route, ctx, fell).await;
    }
    match route {
        Route::Feed { limit, history } => {
            let items = load::<ItemIndex>(store, v, &kv::keys::items(v)).await?;
            // A personal answer must never be stored by a shared cache.
            let cache = if history.is_empty() { "public, max-age=60" } else { "private, no-store" };
            Ok((body(&api::feed(&items, &history, limit, ctx))?, cache))
        }
        Route::Categories => {
            let items = load::<ItemIndex>(store, v, &kv::keys::items(v)).await?;
            Ok((body(&api::categories(&items, v))?, "public, max-age=300"))
        }
        Route::Suggest { q } => {
            let items = load::<ItemIndex>(store, v, &kv::keys::items(v)).await?;
            let lexicon =
                load_as::<LexicalData, Lexicon>(store, v, &kv::keys::search(v), Lexicon::new).await?;
            let embedder = embedder(store, v, fell).await;
            let cat = Catalog::new(&items, Some(&lexicon), embedder.as_deref());
            Ok((body(&api::suggest(cat, &q, ctx))?, "public, max-age=60"))
        }
        Route::Similar { id } => {
            let items = load::<ItemIndex>(store, v, &kv::keys::items(v)).await?;
            Ok((body(&api::related(&items, &id, false, ctx)?)?, "public, max-age=300"))
        }
        Route::BoughtTogether { id } => {
            let items = load::<ItemIndex>(store, v, &kv::keys::items(v)).await?;
            Ok((body(&api::related(&items, &id, true, ctx)?)?, "public, max-age=300"))
        }
        Route::Search(params) => {
            let items = load::<ItemIndex>(store, v, &kv::keys::items(v)).await?;
            let lexicon =
                load_as::<LexicalData, Lexicon>(store, v, &kv::keys::search(v), Lexicon::new).await?;
            let embedder = embedder(store, v, fell).await;
            let cat = Catalog::new(&items, Some(&lexicon), embedder.as_deref());
            let cache = if params.history.is_empty() { "public, max-age=60" } else { "private, no-store" };
            Ok((body(&api::search(cat, &params, ctx))?, cache))
        }
        Route::Rows { ids, related } => {
            let items = load::<ItemIndex>(store, v, &kv::keys::items(v)).await?;
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let cell = device::rows_cell(&[Source { items: &items, globals: None }], &ids, related);
            Ok((kv::encode(&cell), "public, max-age=300"))
        }
        Route::Product { .. } | Route::Pack => {
            Err(ApiError::Unavailable("product or pack route fell through".into()))
        }
    }
}

/// The device pack: the stored `pack` cell as it is, with this shopper's variant, weights, country,
/// currency, locale and rules around it.
async fn device_pack(store: &KvStore, ctx: api::Ctx<'_>) -> Result<Vec<u8>, ApiError> {
    let key = kv::keys::pack(ctx.version);
    let cell = store
        .get(&key)
        .bytes()
        .await
        .map_err(|e| ApiError::Unavailable(format!("cannot read KV key {key}: {e}")))?
        .ok_or_else(|| ApiError::Unavailable(format!("KV key {key} is missing")))?;
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
async fn embedder(store: &KvStore, v: &str, fell: &FellBack) -> Option<Rc<Embedder>> {
    match load_optional_as::<EmbedderData, Embedder>(store, v, &kv::keys::embedder(v), Embedder::new).await {
        Ok(e) => e,
        Err(e) => {
            worker::console_warn!("semantic search off: {e}");
            fell.borrow_mut().push("embedder");
            None
        }
    }
}

/// Answers from a partitioned build: the routing head picks the cells a request needs, only those
/// are read (and kept per isolate), merged into a view, and ranked by the same handlers.
async fn partitioned(
    store: &KvStore,
    route: Route,
    ctx: api::Ctx<'_>,
    fell: &FellBack,
) -> Result<(Vec<u8>, &'static str), ApiError> {
    let v = ctx.version;
    let router = load_as::<IvfHead, Router>(store, v, &kv::keys::ivf(v), Router::new).await?;
    match route {
        Route::Categories => {
            Ok((body(&api::categories_of(router.categories().to_vec(), v))?, "public, max-age=300"))
        }
        Route::Feed { limit, history } => {
            let wanted = ivf::feed_cells(&router, history.iter().map(|(id, _)| id.as_str()));
            let mut cells = cells(store, v, &wanted).await?;
            if !history.is_empty() {
                // The shopper's vector, from the history items just loaded, picks the nearest cells.
                let seen: Vec<Seen<'_>> = history.iter().map(|(id, e)| Seen { id, event: *e }).collect();
                let user = {
                    let refs: Vec<&OpenCell> = cells.iter().map(Rc::as_ref).collect();
                    ivf::user_vector(&refs, &seen, ctx.weights)
                };
                let probes = ivf::feed_probe_cells(&router, &wanted, &user);
                cells.extend(self::cells(store, v, &probes).await?);
            }
            let refs: Vec<&OpenCell> = cells.iter().map(Rc::as_ref).collect();
            let ids: Vec<&str> = history.iter().map(|(id, _)| id.as_str()).collect();
            let view = ivf::merge(&refs, &ids);
            let cache = if history.is_empty() { "public, max-age=60" } else { "private, no-store" };
            Ok((body(&api::feed(&view.items, &history, limit, ctx))?, cache))
        }
        Route::Similar { id } => related(store, &router, &id, false, ctx).await,
        Route::BoughtTogether { id } => related(store, &router, &id, true, ctx).await,
        Route::Search(params) => {
            let embedder = embedder(store, v, fell).await;
            let category = params.filters.category.as_deref();
            let pinned = ctx.rules.map(|r| r.pinned(&params.q, category, ctx.now)).unwrap_or_default();
            let wanted = ivf::search_plan(&router, &params.q, category, embedder.as_deref(), &pinned);
            let all = cells(store, v, &wanted).await?;
            let refs: Vec<&OpenCell> = all.iter().map(Rc::as_ref).collect();
            let ids: Vec<&str> = params.history.iter().map(|(id, _)| id.as_str()).collect();
            let view = ivf::merge(&refs, &ids);
            let cat = Catalog::view(&view, embedder.as_deref(), Some(&router));
            let mut found = api::search(cat, &params, ctx);
            found.approximate = true;
            let cache = if params.history.is_empty() { "public, max-age=60" } else { "private, no-store" };
            Ok((body(&found)?, cache))
        }
        Route::Rows { ids, related } => {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let mut wanted = ivf::home_cells(&router, ids.iter().copied());
            if related {
                let homes = cells(store, v, &wanted).await?;
                let refs: Vec<&OpenCell> = homes.iter().map(Rc::as_ref).collect();
                ivf::add_related_cells(&router, &mut wanted, &refs, &ids);
            }
            let all = cells(store, v, &wanted).await?;
            let sources: Vec<Source<'_>> =
                all.iter().map(|c| Source { items: &c.items, globals: Some(&c.globals) }).collect();
            Ok((kv::encode(&device::rows_cell(&sources, &ids, related)), "public, max-age=300"))
        }
        Route::Suggest { q } => {
            let embedder = embedder(store, v, fell).await;
            let wanted = router.search_cells(&q, None, embedder.as_deref());
            let all = cells(store, v, &wanted).await?;
            let refs: Vec<&OpenCell> = all.iter().map(Rc::as_ref).collect();
            let view = ivf::merge(&refs, &[]);
            let cat = Catalog::view(&view, embedder.as_deref(), Some(&router));
            Ok((body(&api::suggest(cat, &q, ctx))?, "public, max-age=60"))
        }
        Route::Product { .. } | Route::Pack => {
            Err(ApiError::Unavailable("product or pack route fell through".into()))
        }
    }
}

/// Similar or bought-together items from a partitioned build: the product's cell, then the cells of
/// the items its lists name.
async fn related(
    store: &KvStore,
    router: &Router,
    id: &str,
    together: bool,
    ctx: api::Ctx<'_>,
) -> Result<(Vec<u8>, &'static str), ApiError> {
    let v = ctx.version;
    let mut wanted = ivf::home_cells(router, [id]);
    if wanted.is_empty() {
        return Err(ApiError::UnknownProduct(id.to_owned()));
    }
    // Bounded like every other request: related items in further cells are left out.
    let homes = cells(store, v, &wanted).await?;
    let refs: Vec<&OpenCell> = homes.iter().map(Rc::as_ref).collect();
    ivf::add_related_cells(router, &mut wanted, &refs, &[id]);
    let all = cells(store, v, &wanted).await?;
    let refs: Vec<&OpenCell> = all.iter().map(Rc::as_ref).collect();
    let view = ivf::merge(&refs, &[id]);
    Ok((body(&api::related(&view.items, id, together, ctx)?)?, "public, max-age=300"))
}

/// Reads cells (`None`: the popular cell), in order.
async fn cells(store: &KvStore, v: &str, wanted: &[Option<usize>]) -> Result<Vec<Rc<OpenCell>>, ApiError> {
    let mut out = Vec::with_capacity(wanted.len());
    for c in wanted {
        let key = match c {
            Some(c) => kv::keys::cell(v, *c),
            None => kv::keys::popular_cell(v),
        };
        out.push(load_as::<Cell, OpenCell>(store, v, &key, OpenCell::new).await?);
    }
    Ok(out)
}

/// Decoded values of one index version, kept for the isolate's life; dropped when `current` moves.
#[derive(Default)]
struct Cache {
    version: String,
    values: HashMap<String, Rc<dyn Any>>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

pub(crate) async fn current_version(store: &KvStore) -> Result<String, ApiError> {
    let live = pointer(store, kv::CURRENT).await?.ok_or_else(|| {
        ApiError::Unavailable("the index is not built yet: KV key `current` is missing".into())
    })?;
    // Mid-deploy, `current` may name a build of another format than this worker reads: it then
    // serves the last build of its own format, if there is one (else the values say what is wrong).
    let version = match kv::format_of(&live) {
        Some(f) if f != kv::FORMAT_VERSION => {
            pointer(store, &kv::current_key(kv::FORMAT_VERSION)).await?.unwrap_or(live)
        }
        _ => live,
    };
    CACHE.with_borrow_mut(|c| {
        if c.version != version {
            c.version.clone_from(&version);
            c.values.clear();
        }
    });
    Ok(version)
}

/// The version id a pointer key names, `None` when the key is missing.
async fn pointer(store: &KvStore, key: &str) -> Result<Option<String>, ApiError> {
    let Some(raw) = store
        .get(key)
        .text()
        .await
        .map_err(|e| ApiError::Unavailable(format!("cannot read KV key `{key}`: {e}")))?
    else {
        return Ok(None);
    };
    let version =
        kv::parse_version_id(&raw).map_err(|e| ApiError::Unavailable(format!("KV key `{key}`: {e}")))?;
    Ok(Some(version.to_owned()))
}

pub(crate) async fn load<T: Blob + Checked + 'static>(
    store: &KvStore,
    version: &str,
    key: &str,
) -> Result<Rc<T>, ApiError> {
    load_as::<T, T>(store, version, key, |v| v.is_consistent().then_some(v)).await
}

/// Values whose parts must agree with each other before handlers may index into them.
pub(crate) trait Checked {
    fn is_consistent(&self) -> bool {
        true
    }
}

impl Checked for ItemIndex {
    fn is_consistent(&self) -> bool {
        ItemIndex::is_consistent(self)
    }
}
impl Checked for Manifest {}
impl Checked for ProductShard {}
impl Checked for Variants {}
impl Checked for CardList {}
impl Checked for Rules {}
impl Checked for Locale {
    fn is_consistent(&self) -> bool {
        self.validate().is_ok()
    }
}

/// Reads, decodes and converts a KV value once per isolate and index version (`convert` builds the
/// queryable form, e.g. hashing a vocabulary); later requests get the cached result.
async fn load_as<T: Blob, R: 'static>(
    store: &KvStore,
    version: &str,
    key: &str,
    convert: impl FnOnce(T) -> Option<R>,
) -> Result<Rc<R>, ApiError> {
    load_optional_as(store, version, key, convert)
        .await?
        .ok_or_else(|| ApiError::Unavailable(format!("KV key {key} is missing")))
}

/// [`load_as`] for a value a build may lack: `Ok(None)` when the key is missing.
async fn load_optional_as<T: Blob, R: 'static>(
    store: &KvStore,
    version: &str,
    key: &str,
    convert: impl FnOnce(T) -> Option<R>,
) -> Result<Option<Rc<R>>, ApiError> {
    let cached = CACHE.with_borrow(|c| (c.version == version).then(|| c.values.get(key).cloned()).flatten());
    if let Some(v) = cached.and_then(|v| v.downcast::<R>().ok()) {
        return Ok(Some(v));
    }
    let Some(bytes) = store
        .get(key)
        .bytes()
        .await
        .map_err(|e| ApiError::Unavailable(format!("cannot read KV key {key}: {e}")))?
    else {
        return Ok(None);
    };
    let decoded = kv::decode::<T>(&bytes).map_err(|e| ApiError::Unavailable(format!("KV key {key}: {e}")))?;
    let value = Rc::new(
        convert(decoded).ok_or_else(|| ApiError::Unavailable(format!("KV key {key}: inconsistent data")))?,
    );
    CACHE.with_borrow_mut(|c| {
        if c.version == version {
            // Cells of a large catalog would outgrow the isolate's 128 MB if all were kept: past the
            // cap, drop an arbitrary other cell (requests still using it hold their own reference).
            if key.contains("/cells/") {
                let cached: Vec<String> =
                    c.values.keys().filter(|k| k.contains("/cells/")).cloned().collect();
                if cached.len() >= MAX_CACHED_CELLS
                    && let Some(old) = cached.iter().find(|k| !k.ends_with("/popular"))
                {
                    c.values.remove(old);
                }
            }
            c.values.insert(key.to_owned(), value.clone() as Rc<dyn Any>);
        }
    });
    Ok(Some(value))
}
