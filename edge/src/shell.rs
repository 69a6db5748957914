//! The Workers runtime shell, wasm only: the fetch and cron events, Workers KV behind [`Kv`], the
//! Cache API, and responses with their headers. What to answer is decided in [`crate::serve`] and
//! [`crate::pages`], natively tested.

use worker::{Context, Env, Request, Response, event, kv::KvStore};

use crate::commerce;
use crate::pages::{self, Page};
use crate::problem::{PROBLEM_JSON, Problem};
use crate::route::{self, Endpoint, Route};
use crate::seo;
use crate::serve::{self, Build, Shopper};
use crate::store::Kv;

/// KV namespace binding name (wrangler.toml).
const KV_BINDING: &str = "SHOP";

/// The daily cron (wrangler.toml `[triggers]`): events older than the shop's retention window go.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    if let Err(e) = commerce::expire_events(&env).await {
        worker::console_error!("expiring old events failed: {e}");
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let response = respond(req, env, ctx).await;
    if let Some(note) = crate::store::memory_growth() {
        worker::console_log!("{note}");
    }
    response
}

async fn respond(mut req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let url = req.url()?;
    if url.path() == "/" {
        return home_page(&req, &env, &ctx, &url).await;
    }
    if !url.path().starts_with("/api/") {
        if let Some(id) = seo::product_path_id(url.path()) {
            return product_page(&req, &env, &ctx, &id, &url).await;
        }
        if let Some(page) = pages::ResultsUrl::parse(url.path(), url.query()) {
            return results_page(&req, &env, &ctx, &url, &page).await;
        }
        // Static files and the SPA shell: only reached when run_worker_first routes a path here.
        return env.assets("ASSETS")?.fetch_request(req).await;
    }
    let content_type = content_type(&url);
    match api_answer(&mut req, &env, &ctx, &url).await {
        Ok(a) => answer_response(a, content_type),
        Err(e) => problem_response(&e),
    }
}

/// Binary answers (the device pack, product rows) are postcard; the rest JSON.
fn content_type(url: &worker::Url) -> &'static str {
    match url.path().trim_end_matches('/') {
        "/api/pack" | "/api/rows" => "application/octet-stream",
        _ => "application/json",
    }
}

/// The answer to an API request: an index read, or one of the writes in [`commerce`].
async fn api_answer(
    req: &mut Request,
    env: &Env,
    ctx: &Context,
    url: &worker::Url,
) -> Result<Answer, Problem> {
    let method = req.method().to_string();
    let history = header(req, "x-history");
    let client = client(req);
    let query = url.query().unwrap_or("");
    let endpoint = route::endpoint(&method, url.path(), query, history.as_deref())?;
    let country = route::shopper_country(query, ip_country(req).as_deref())?;
    let currency = route::shopper_currency(query)?;
    let (country, currency) = (country.as_deref(), currency.as_deref());
    match endpoint {
        Endpoint::Read(route) => answer(env, ctx, url, route, Shopper { client, country, currency }).await,
        // Whether the shop takes payments changes only when its secrets do.
        Endpoint::CheckoutStatus => commerce::status(env).map(|b| Answer::uncached(b, "public, max-age=300")),
        Endpoint::Checkout => {
            let origin = url.origin().ascii_serialization();
            let body = commerce::checkout(req, env, &origin, country, currency).await?;
            Ok(Answer::uncached(body, "no-store"))
        }
        Endpoint::StripeWebhook => commerce::webhook(req, env).await.map(|b| Answer::uncached(b, "no-store")),
        Endpoint::Events => {
            let body = commerce::events(req, env, client).await?;
            Ok(Answer { status: 202, ..Answer::uncached(body, "no-store") })
        }
    }
}

/// A request header, when present and readable.
fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The experiment bucket of the request's anonymous client id.
fn client(req: &Request) -> u64 {
    route::client_hash(header(req, "cookie").as_deref(), header(req, "x-client-id").as_deref())
}

fn answer_response(a: Answer, content_type: &str) -> worker::Result<Response> {
    let resp = with_headers(json_response(a.body, a.status, content_type)?, a.cache_control);
    if let Some(state) = a.edge_cache {
        resp.headers().set("x-edge-cache", state)?;
    }
    if !a.fell_back.is_empty() {
        resp.headers().set("x-degraded", &a.fell_back.join(", "))?;
    }
    Ok(resp)
}

fn problem_response(e: &Problem) -> worker::Result<Response> {
    // One line per failed request; never the request itself (it may carry a history).
    match e {
        Problem::Degraded(..) => worker::console_error!("{e} (answered with the fallback feed)"),
        // A shop without Stripe is a setting, not a fault.
        Problem::NotConfigured(_) => {}
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

/// The app shell (`index.html`) from the static assets.
async fn app_shell(env: &Env, url: &worker::Url) -> worker::Result<String> {
    let origin = url.origin().ascii_serialization();
    env.assets("ASSETS")?.fetch(format!("{origin}/"), None).await?.text().await
}

/// The country and currency a page is shown for; a malformed parameter is ignored (a page is never
/// a 400).
fn page_shopper(req: &Request, url: &worker::Url) -> (Option<String>, Option<String>) {
    let query = url.query().unwrap_or("");
    let country = route::shopper_country(query, ip_country(req).as_deref()).ok().flatten();
    (country, route::shopper_currency(query).ok().flatten())
}

/// The shopper a page is made for, and the client id the edge made when the device had none (a
/// first visit: the page is then ranked in that id's variant, and the id goes out with it).
fn page_shopper_and_id<'a>(
    req: &Request,
    country: &'a Option<String>,
    currency: &'a Option<String>,
) -> (Shopper<'a>, Option<String>) {
    let minted = route::needs_client_id(header(req, "cookie").as_deref()).then(new_client_id).flatten();
    let client = match &minted {
        Some(id) => route::client_hash(None, Some(id)),
        None => client(req),
    };
    (Shopper { client, country: country.as_deref(), currency: currency.as_deref() }, minted)
}

/// The page's path and query, as the app compares it with the prerendered page's.
fn here(url: &worker::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// A product page ([`pages::product_page`]) for the shopper's country and currency, its article
/// prerendered ([`pages::with_product`]).
async fn product_page(
    req: &Request,
    env: &Env,
    ctx: &Context,
    id: &str,
    url: &worker::Url,
) -> worker::Result<Response> {
    let shell = app_shell(env, url).await?;
    let (country, currency) = page_shopper(req, url);
    let origin = url.origin().ascii_serialization();
    let mut page = match kv_store(env) {
        Ok(store) => {
            pages::product_page(&store, &shell, &origin, id, country.as_deref(), currency.as_deref()).await
        }
        Err(e) => {
            worker::console_warn!("product page {id} without SEO tags: {e}");
            Page { status: 200, csp: seo::shell_csp(&shell), html: shell, cache_control: "no-store" }
        }
    };
    // A product's answer depends on the country and currency, not on the variant: no client id is
    // needed, and the page stays one that shared caches may keep.
    let shopper = Shopper { client: 0, country: country.as_deref(), currency: currency.as_deref() };
    if page.status == 200 {
        let product =
            answer(env, ctx, url, Route::Product { id: id.to_owned() }, shopper).await.map(|a| a.body);
        page = pages::with_product(page, &here(url), product);
    }
    page_response(page, url, None, "cf-ipcountry")
}

/// A search or category page ([`pages::results_page`]) with the history-free answers.
async fn results_page(
    req: &Request,
    env: &Env,
    ctx: &Context,
    url: &worker::Url,
    page: &pages::ResultsUrl,
) -> worker::Result<Response> {
    let shell = app_shell(env, url).await?;
    let (country, currency) = page_shopper(req, url);
    let (shopper, minted) = page_shopper_and_id(req, &country, &currency);
    let categories = match page.category {
        Some(_) => Some(answer(env, ctx, url, Route::Categories, shopper).await.map(|a| a.body)),
        None => None,
    };
    let search = match page.searches() {
        true => Some(match route::route("GET", "/api/search", &page.api_query()) {
            Ok(r) => answer(env, ctx, url, r, shopper).await.map(|a| a.body),
            Err(e) => Err(e),
        }),
        false => None,
    };
    let made = pages::results_page(&shell, &here(url), page, search, categories);
    page_response(made, url, minted, "cf-ipcountry, cookie")
}

/// The home page ([`pages::home_page`]), its feed from the same cached answer as `/api/feed`.
async fn home_page(req: &Request, env: &Env, ctx: &Context, url: &worker::Url) -> worker::Result<Response> {
    let shell = app_shell(env, url).await?;
    let (country, currency) = page_shopper(req, url);
    let (shopper, minted) = page_shopper_and_id(req, &country, &currency);
    let route = Route::Feed { limit: pages::PRERENDER_ITEMS, history: Vec::new() };
    let feed = answer(env, ctx, url, route, shopper).await.map(|a| a.body);
    page_response(pages::home_page(&shell, &here(url), feed), url, minted, "cf-ipcountry, cookie")
}

/// A page's response: its headers, `vary`, and the client id cookie the edge made, if it did.
fn page_response(
    page: Page,
    url: &worker::Url,
    minted: Option<String>,
    vary: &str,
) -> worker::Result<Response> {
    let resp = html_response(page)?;
    let h = resp.headers();
    h.set("vary", vary)?;
    h.set("x-frame-options", "DENY")?;
    if let Some(id) = minted {
        h.append("set-cookie", &route::client_cookie(&id, url.scheme() == "https"))?;
        // The id is this device's alone: no shared cache may keep the response that carries it (the
        // browser may, for Back and Forward).
        h.set("cache-control", "private, no-cache")?;
    }
    Ok(resp)
}

/// A random client id (32 hex digits, as the app makes them) from the runtime's `crypto.randomUUID`.
fn new_client_id() -> Option<String> {
    use worker::js_sys::{Function, Reflect, global};
    use worker::wasm_bindgen::{JsCast, JsValue};
    let crypto = Reflect::get(&global(), &JsValue::from_str("crypto")).ok()?;
    let uuid = Reflect::get(&crypto, &JsValue::from_str("randomUUID")).ok()?.dyn_into::<Function>().ok()?;
    let id: String = uuid.call0(&crypto).ok()?.as_string()?.chars().filter(char::is_ascii_hexdigit).collect();
    (id.len() == 32).then_some(id)
}

/// A page's response with the headers every page has.
fn html_response(page: Page) -> worker::Result<Response> {
    let resp = Response::from_html(page.html)?.with_status(page.status);
    let h = resp.headers();
    h.set("content-security-policy", &page.csp)?;
    h.set("cache-control", page.cache_control)?;
    h.set("x-content-type-options", "nosniff")?;
    h.set("referrer-policy", "strict-origin-when-cross-origin")?;
    Ok(resp)
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

/// Workers KV as the serving logic's store.
impl Kv for KvStore {
    async fn bytes(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.get(key).bytes().await.map_err(|e| e.to_string())
    }

    async fn text(&self, key: &str) -> Result<Option<String>, String> {
        self.get(key).text().await.map_err(|e| e.to_string())
    }
}

/// The shop's KV namespace.
pub(crate) fn kv_store(env: &Env) -> Result<KvStore, Problem> {
    env.kv(KV_BINDING).map_err(|e| Problem::Unavailable(format!("KV binding {KV_BINDING}: {e}")))
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    (worker::Date::now().as_millis() / 1000) as i64
}

/// An index read: from the Cache API when a history-free answer of this build is kept, else from KV
/// (and then kept, after the response is sent).
async fn answer(
    env: &Env,
    ctx: &Context,
    url: &worker::Url,
    route: Route,
    shopper: Shopper<'_>,
) -> Result<Answer, Problem> {
    let store = kv_store(env)?;
    let build = Build::read(&store, now()).await?;
    let api_ctx = build.ctx(shopper);
    let cache_control = serve::cache_control(&route);
    let key = serve::edge_cache_key(&url.origin().ascii_serialization(), &route, api_ctx);
    if let Some(key) = &key
        && let Some(body) = cached(key).await
    {
        return Ok(Answer { edge_cache: Some("hit"), ..Answer::uncached(body, cache_control) });
    }
    let body = serve::answer(&store, route, api_ctx, &build.fell).await?;
    let fell_back = build.fell.take();
    if !fell_back.is_empty() {
        return Ok(Answer { fell_back, ..Answer::uncached(body, "no-store") });
    }
    let Some(key) = key else { return Ok(Answer::uncached(body, cache_control)) };
    keep(ctx, key, &body, cache_control);
    Ok(Answer { edge_cache: Some("miss"), ..Answer::uncached(body, cache_control) })
}

/// A kept answer's body, if the Cache API has one.
async fn cached(key: &str) -> Option<Vec<u8>> {
    let mut hit = worker::Cache::default().get(key, false).await.ok()??;
    hit.bytes().await.ok()
}

/// Keeps an answer in the Cache API after the response is sent (entries need a max-age); a failed
/// put only costs the next request a recompute.
fn keep(ctx: &Context, key: String, body: &[u8], cache_control: &str) {
    let Ok(stored) = Response::from_bytes(body.to_vec()) else { return };
    let _ = stored.headers().set("cache-control", cache_control);
    ctx.wait_until(async move {
        if let Err(e) = worker::Cache::default().put(key.as_str(), stored).await {
            worker::console_warn!("edge cache put failed: {e}");
        }
    });
}
