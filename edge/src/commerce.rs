//! The writes' I/O, wasm only: reads the cart's (or the events') products from KV, posts the Checkout
//! Session to Stripe, and writes paid orders and shop events to D1 (and expires old events). The logic between these reads and writes is in
//! [`crate::checkout`] and [`crate::stripe`], tested natively.

use std::rc::Rc;

use futures_util::StreamExt;

use ranking::kv::{self, Manifest, ProductShard};
use ranking::locale::Locale;
use ranking::weights::Weights;
use ranking::wire::{CheckoutResponse, CheckoutStatus};
use worker::kv::KvStore;
use worker::wasm_bindgen::JsValue;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

use crate::checkout::{self, MAX_CHECKOUT_BODY, MAX_WEBHOOK_BODY, SEEN_EVENT, Sql};
use crate::events::SEEN_BATCH;
use crate::problem::Problem;
use crate::serve::body;
use crate::shell::{kv_store, now};
use crate::store::{FellBack, current_version, load, optional};
use crate::stripe::{self, Session};
use ranking::answer::Ctx;
use ranking::events::MAX_BATCH_BYTES;
use ranking::weights::Variants;

/// Secret: the shop's Stripe secret key (`wrangler secret put STRIPE_SECRET_KEY`).
const SECRET_KEY: &str = "STRIPE_SECRET_KEY";
/// Secret: the signing secret of the shop's webhook endpoint (`whsec_…`).
const WEBHOOK_SECRET: &str = "STRIPE_WEBHOOK_SECRET";
/// Variable: Stripe's API base URL, for a local stand-in in tests ([`stripe::API_BASE`] without it).
const API_BASE: &str = "STRIPE_API_BASE";
/// D1 binding of the order and event store (wrangler.toml).
const DB_BINDING: &str = "DB";
/// Variable: days events are kept (`crate::events::DEFAULT_RETENTION_DAYS` without it).
const RETENTION: &str = "EVENT_RETENTION_DAYS";

/// A secret or variable, when set and not empty.
fn setting(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|s| s.to_string()).filter(|s| !s.trim().is_empty())
}

/// `GET /api/checkout`.
pub(crate) fn status(env: &Env) -> Result<Vec<u8>, Problem> {
    body(&CheckoutStatus { enabled: setting(env, SECRET_KEY).is_some() })
}

/// The request body, refused when it passes `limit` (read to its end first when that is at most
/// [`crate::body::DRAIN_LIMIT`], so the client hears the refusal).
async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, Problem> {
    crate::body::check_length(req.headers().get("content-length").ok().flatten().as_deref(), limit)?;
    let unreadable = |e: worker::Error| Problem::BadBody { field: "body".into(), reason: e.to_string() };
    let mut stream = req.stream().map_err(unreadable)?;
    let (mut bytes, mut seen) = (Vec::new(), 0_usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreadable)?;
        seen += chunk.len();
        if seen > crate::body::DRAIN_LIMIT {
            break;
        }
        // Past the limit the rest is read and dropped, never kept.
        if seen <= limit {
            bytes.extend_from_slice(&chunk);
        }
    }
    if seen > limit {
        return Err(Problem::TooLarge { limit });
    }
    Ok(bytes)
}

/// `POST /api/checkout`: prices the cart from the current build and answers with the URL of a new
/// Checkout Session.
pub(crate) async fn checkout(
    req: &mut Request,
    env: &Env,
    origin: &str,
    country: Option<&str>,
    currency: Option<&str>,
) -> Result<Vec<u8>, Problem> {
    let key = setting(env, SECRET_KEY)
        .ok_or(Problem::NotConfigured("this shop takes no payments yet (no STRIPE_SECRET_KEY)"))?;
    let content_type = req.headers().get("content-type").ok().flatten();
    let cart = checkout::cart(content_type.as_deref(), &read_body(req, MAX_CHECKOUT_BODY).await?)?;
    let store = kv_store(env)?;
    let version = current_version(&store).await?;
    let v = version.as_str();
    let shards = shards_holding(&store, v, cart.lines.iter().map(|l| l.id.as_str())).await?;
    // Without its currencies the build prices in the catalog's currency; never with a stale fallback.
    let fell = FellBack::default();
    let locale = optional::<Locale>(&store, v, &kv::keys::locale(v), "locale", &fell).await;
    if !fell.borrow().is_empty() {
        return Err(Problem::Unavailable("the build's currencies cannot be read".into()));
    }
    let weights = Weights::default();
    let ctx = Ctx {
        version: v,
        country,
        now: now(),
        variant: "default",
        weights: &weights,
        currency,
        locale: locale.as_deref(),
        rules: None,
    };
    let lookup = |id: &str| shards.iter().find_map(|s| s.get(id));
    let form = checkout::session_form(&cart, lookup, &ctx, origin)?;
    let session = create_session(env, &key, form).await?;
    body(&CheckoutResponse { url: session.url })
}

/// `POST {base}/v1/checkout/sessions` with the secret key as bearer token.
async fn create_session(env: &Env, key: &str, form: String) -> Result<Session, Problem> {
    let base = env.var(API_BASE).map(|v| v.to_string()).unwrap_or_else(|_| stripe::API_BASE.to_owned());
    let headers = Headers::new();
    let provider = |e: worker::Error| Problem::Provider(format!("Stripe could not be reached: {e}"));
    headers.set("authorization", &format!("Bearer {key}")).map_err(provider)?;
    headers.set("content-type", "application/x-www-form-urlencoded").map_err(provider)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(&form)));
    let url = format!("{}/v1/checkout/sessions", base.trim_end_matches('/'));
    let request = Request::new_with_init(&url, &init).map_err(provider)?;
    let mut resp = Fetch::Request(request).send().await.map_err(provider)?;
    let status = resp.status_code();
    let bytes = resp.bytes().await.map_err(provider)?;
    if !(200..300).contains(&status) {
        // Stripe's message names the parameter it refused; it carries nothing about the shopper.
        let why = stripe::error_message(&bytes);
        worker::console_error!("Stripe refused a Checkout Session ({status}): {why}");
        return Err(Problem::Provider(format!("Stripe answered {status}")));
    }
    serde_json::from_slice::<Session>(&bytes)
        .map_err(|e| Problem::Provider(format!("Stripe's session could not be read: {e}")))
}

/// `POST /api/stripe/webhook`: records each paid order once; anything not signed by Stripe with the
/// shop's endpoint secret, or too old, is refused before it is read.
pub(crate) async fn webhook(req: &mut Request, env: &Env) -> Result<Vec<u8>, Problem> {
    let secret = setting(env, WEBHOOK_SECRET)
        .ok_or(Problem::NotConfigured("this shop has no webhook endpoint (no STRIPE_WEBHOOK_SECRET)"))?;
    let signature = req.headers().get("stripe-signature").ok().flatten();
    let payload = read_body(req, MAX_WEBHOOK_BODY).await?;
    let now = now();
    let recorded = match checkout::webhook(signature.as_deref(), &payload, &secret, now)? {
        Some(order) => record(env, &order, now).await?,
        None => false,
    };
    body(&serde_json::json!({ "received": true, "recorded": recorded }))
}

/// Writes an order unless its event was recorded before; `false` for a repeated delivery.
async fn record(env: &Env, order: &stripe::PaidOrder, now: i64) -> Result<bool, Problem> {
    let hash = checkout::event_hash(&order.event_id);
    run_once(env, SEEN_EVENT, &hash, checkout::record_order(order, now)).await
}

/// Runs `statements` as one D1 transaction unless `seen` (a query with `key` as `?1`) finds a row;
/// `false` when it did, or when a concurrent delivery of the same key committed first (the
/// statements' first insert has `key` as its primary key, so theirs and ours cannot both commit).
async fn run_once(
    env: &Env,
    seen: &str,
    key: &str,
    statements: Vec<(&'static str, Vec<Sql>)>,
) -> Result<bool, Problem> {
    let storage = |e: worker::Error| Problem::Storage(format!("D1: {e}"));
    let db = env.d1(DB_BINDING).map_err(storage)?;
    let is_seen = || async {
        let stmt = db.prepare(seen).bind(&[JsValue::from_str(key)]).map_err(storage)?;
        stmt.first::<serde_json::Value>(None).await.map(|row| row.is_some()).map_err(storage)
    };
    if is_seen().await? {
        return Ok(false);
    }
    let mut batch = Vec::new();
    for (sql, params) in statements {
        batch.push(db.prepare(sql).bind(&js_values(&params)).map_err(storage)?);
    }
    match db.batch(batch).await {
        Ok(_) => Ok(true),
        Err(e) if is_seen().await? => {
            worker::console_warn!("stored by a concurrent delivery: {e}");
            Ok(false)
        }
        Err(e) => Err(storage(e)),
    }
}

/// `POST /api/events`: a checked batch stored once, with the experiment variant of the client id
/// (cookie `sf_cid` or `X-Client-Id`, hashed to `client`); the id itself is not stored.
pub(crate) async fn events(req: &mut Request, env: &Env, client: u64) -> Result<Vec<u8>, Problem> {
    let content_type = req.headers().get("content-type").ok().flatten();
    let batch = crate::events::batch(content_type.as_deref(), &read_body(req, MAX_BATCH_BYTES).await?)?;
    let store = kv_store(env)?;
    let version = current_version(&store).await?;
    let v = version.as_str();
    let shards = shards_holding(&store, v, batch.events.iter().map(|e| e.item.as_str())).await?;
    let now = now();
    crate::events::check(&batch, now, |id| shards.iter().any(|s| s.get(id).is_some()))?;
    let fell = FellBack::default();
    let variants = optional::<Variants>(&store, v, &kv::keys::weights(v), "weights", &fell).await;
    let variant = variants.as_deref().and_then(|vs| vs.pick(client)).map_or("default", |(name, _)| name);
    let stored = run_once(env, SEEN_BATCH, &batch.batch, crate::events::store(&batch, variant, now)).await?;
    body(&serde_json::json!({ "accepted": batch.events.len(), "stored": stored }))
}

/// The daily cron: deletes events older than the shop's retention window.
pub(crate) async fn expire_events(env: &Env) -> Result<(), Problem> {
    let retention = crate::events::retention_days(env.var(RETENTION).ok().map(|v| v.to_string()).as_deref());
    let now = now();
    let storage = |e: worker::Error| Problem::Storage(format!("D1: {e}"));
    let db = env.d1(DB_BINDING).map_err(storage)?;
    for (sql, params) in crate::events::expire(now, retention) {
        db.prepare(sql).bind(&js_values(&params)).map_err(storage)?.run().await.map_err(storage)?;
    }
    Ok(())
}

/// Statement parameters as D1 binds them (integers as JS numbers: days and positions fit exactly).
fn js_values(params: &[Sql]) -> Vec<JsValue> {
    params
        .iter()
        .map(|p| match p {
            Sql::Text(t) => JsValue::from_str(t),
            Sql::Int(i) => JsValue::from_f64(*i as f64),
            Sql::Null => JsValue::NULL,
        })
        .collect()
}

/// The product shards that hold `ids` in the current build, each read once.
async fn shards_holding<'a>(
    store: &KvStore,
    v: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<Vec<Rc<ProductShard>>, Problem> {
    let manifest = load::<Manifest>(store, v, &kv::keys::manifest(v)).await?;
    let mut shards: Vec<(u32, Rc<ProductShard>)> = Vec::new();
    for id in ids {
        let n = kv::shard_of(id, manifest.shard_count);
        if !shards.iter().any(|(m, _)| *m == n) {
            shards.push((n, load::<ProductShard>(store, v, &kv::keys::products(v, n)).await?));
        }
    }
    Ok(shards.into_iter().map(|(_, s)| s).collect())
}
