//! The Workers runtime shell: reads KV, caches decoded values per index version in isolate memory,
//! calls the handlers in [`crate::api`] and writes responses. Only compiled for wasm32.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use ranking::embed::{Embedder, EmbedderData};
use ranking::index::ItemIndex;
use ranking::kv::{self, Blob, Manifest, ProductShard};
use ranking::lexical::{LexicalData, Lexicon};
use ranking::search::Catalog;
use ranking::weights::{Variants, Weights};
use serde::Serialize;
use worker::{Context, Env, Request, Response, event, kv::KvStore};

use crate::api::{self, Route};
use crate::problem::{ApiError, PROBLEM_JSON};

/// KV namespace binding name (wrangler.toml).
const KV_BINDING: &str = "SHOP";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let url = req.url()?;
    if !url.path().starts_with("/api/") {
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
    let country = req.headers().get("cf-ipcountry").ok().flatten();
    let answer = match (
        api::route_with_history(&method, url.path(), query, history.as_deref()),
        api::shopper_country(query, country.as_deref()),
    ) {
        (Ok(route), Ok(country)) => answer(&env, route, client, country.as_deref()).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match answer {
        Ok((body, cache)) => Ok(with_headers(json_response(body, 200, "application/json")?, cache)),
        Err(e) => {
            if e.status() >= 500 {
                worker::console_error!("{e}");
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

fn body<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Unavailable(format!("cannot encode response: {e}")))
}

async fn answer(
    env: &Env,
    route: Route,
    client: u64,
    country: Option<&str>,
) -> Result<(Vec<u8>, &'static str), ApiError> {
    let store =
        env.kv(KV_BINDING).map_err(|e| ApiError::Unavailable(format!("KV binding {KV_BINDING}: {e}")))?;
    let version = current_version(&store).await?;
    let v = version.as_str();
    // Weights per experiment variant; a build without them (or unreadable) ranks with the defaults.
    let variants = load::<Variants>(&store, v, &kv::keys::weights(v)).await.unwrap_or_else(|e| {
        worker::console_warn!("default weights: {e}");
        Rc::new(Variants::default())
    });
    let fallback = Weights::default();
    let (variant, weights) = variants.pick(client).unwrap_or(("default", &fallback));
    let ctx = api::Ctx {
        version: v,
        country,
        now: (worker::Date::now().as_millis() / 1000) as i64,
        variant,
        weights,
    };
    match route {
        Route::Feed { limit, history } => {
            let items = load::<ItemIndex>(&store, v, &kv::keys::items(v)).await?;
            // A personal answer must never be stored by a shared cache.
            let cache = if history.is_empty() { "public, max-age=60" } else { "private, no-store" };
            Ok((body(&api::feed(&items, &history, limit, ctx))?, cache))
        }
        Route::Categories => {
            let items = load::<ItemIndex>(&store, v, &kv::keys::items(v)).await?;
            Ok((body(&api::categories(&items, v))?, "public, max-age=300"))
        }
        Route::Suggest { q } => {
            let items = load::<ItemIndex>(&store, v, &kv::keys::items(v)).await?;
            let lexicon =
                load_as::<LexicalData, Lexicon>(&store, v, &kv::keys::search(v), Lexicon::new).await?;
            let embedder =
                load_as::<EmbedderData, Embedder>(&store, v, &kv::keys::embedder(v), Embedder::new)
                    .await
                    .ok();
            let cat = Catalog { items: &items, lexicon: Some(&lexicon), embedder: embedder.as_deref() };
            Ok((body(&api::suggest(cat, &q, ctx))?, "public, max-age=60"))
        }
        Route::Similar { id } => {
            let items = load::<ItemIndex>(&store, v, &kv::keys::items(v)).await?;
            Ok((body(&api::related(&items, &id, false, v)?)?, "public, max-age=300"))
        }
        Route::BoughtTogether { id } => {
            let items = load::<ItemIndex>(&store, v, &kv::keys::items(v)).await?;
            Ok((body(&api::related(&items, &id, true, v)?)?, "public, max-age=300"))
        }
        Route::Search(params) => {
            let items = load::<ItemIndex>(&store, v, &kv::keys::items(v)).await?;
            let lexicon =
                load_as::<LexicalData, Lexicon>(&store, v, &kv::keys::search(v), Lexicon::new).await?;
            // Without an embedder (indexed without a model, or unreadable) search is keyword-only.
            let embedder =
                match load_as::<EmbedderData, Embedder>(&store, v, &kv::keys::embedder(v), Embedder::new)
                    .await
                {
                    Ok(e) => Some(e),
                    Err(e) => {
                        worker::console_warn!("semantic search off: {e}");
                        None
                    }
                };
            let cat = Catalog { items: &items, lexicon: Some(&lexicon), embedder: embedder.as_deref() };
            let cache = if params.history.is_empty() { "public, max-age=60" } else { "private, no-store" };
            Ok((body(&api::search(cat, &params, ctx))?, cache))
        }
        Route::Product { id } => {
            let manifest = load::<Manifest>(&store, v, &kv::keys::manifest(v)).await?;
            let shard = kv::shard_of(&id, manifest.shard_count);
            let products = load::<ProductShard>(&store, v, &kv::keys::products(v, shard)).await?;
            Ok((body(&api::product(&products, &id, v)?)?, "public, max-age=300"))
        }
    }
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

async fn current_version(store: &KvStore) -> Result<String, ApiError> {
    let raw = store
        .get(kv::CURRENT)
        .text()
        .await
        .map_err(|e| ApiError::Unavailable(format!("cannot read KV key `current`: {e}")))?
        .ok_or_else(|| {
            ApiError::Unavailable("the index is not built yet: KV key `current` is missing".into())
        })?;
    let version =
        kv::parse_version_id(&raw).map_err(|e| ApiError::Unavailable(format!("KV key `current`: {e}")))?;
    CACHE.with_borrow_mut(|c| {
        if c.version != version {
            c.version = version.to_owned();
            c.values.clear();
        }
    });
    Ok(version.to_owned())
}

async fn load<T: Blob + Checked + 'static>(
    store: &KvStore,
    version: &str,
    key: &str,
) -> Result<Rc<T>, ApiError> {
    load_as::<T, T>(store, version, key, |v| v.is_consistent().then_some(v)).await
}

/// Values whose parts must agree with each other before handlers may index into them.
trait Checked {
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

/// Reads, decodes and converts a KV value once per isolate and index version (`convert` builds the
/// queryable form, e.g. hashing a vocabulary); later requests get the cached result.
async fn load_as<T: Blob, R: 'static>(
    store: &KvStore,
    version: &str,
    key: &str,
    convert: impl FnOnce(T) -> Option<R>,
) -> Result<Rc<R>, ApiError> {
    let cached = CACHE.with_borrow(|c| (c.version == version).then(|| c.values.get(key).cloned()).flatten());
    if let Some(v) = cached.and_then(|v| v.downcast::<R>().ok()) {
        return Ok(v);
    }
    let bytes = store
        .get(key)
        .bytes()
        .await
        .map_err(|e| ApiError::Unavailable(format!("cannot read KV key {key}: {e}")))?
        .ok_or_else(|| ApiError::Unavailable(format!("KV key {key} is missing")))?;
    let decoded = kv::decode::<T>(&bytes).map_err(|e| ApiError::Unavailable(format!("KV key {key}: {e}")))?;
    let value = Rc::new(
        convert(decoded).ok_or_else(|| ApiError::Unavailable(format!("KV key {key}: inconsistent data")))?,
    );
    CACHE.with_borrow_mut(|c| {
        if c.version == version {
            c.values.insert(key.to_owned(), value.clone() as Rc<dyn Any>);
        }
    });
    Ok(value)
}
