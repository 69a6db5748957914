//! The API's routes and request parsing: method, path, query and `X-History` into a bounded,
//! validated [`Route`] or [`Endpoint`], and the shopper's country, currency and experiment bucket.

use ranking::Event;
pub use ranking::answer::SearchParams;
use ranking::catalog;
use ranking::search::{Filters, MAX_QUERY, Sort};

use crate::problem::Problem;

/// A parsed, bounds-checked API request.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// `history`: (id, event), most recent first.
    Feed {
        limit: usize,
        history: Vec<(String, Event)>,
    },
    Similar {
        id: String,
    },
    Suggest {
        q: String,
    },
    Categories,
    BoughtTogether {
        id: String,
    },
    Search(SearchParams),
    Product {
        id: String,
    },
    /// The device pack ([`ranking::device::DevicePack`]), binary.
    Pack,
    /// Rows of these products (and with `related` of their similar and bought-together items) as a
    /// binary IVF cell, for ranking on the device.
    Rows {
        ids: Vec<String>,
        related: bool,
    },
}

impl Route {
    /// The edge cache's key for this answer (without version, variant, country and currency, which
    /// the caller adds), built from the parsed route rather than the raw query string: unknown,
    /// repeated or reordered parameters name the same entry, so nobody can force misses on demand.
    /// `None` for answers computed from a history, which are never cached.
    pub fn cache_key(&self) -> Option<String> {
        let mut q = form_urlencoded::Serializer::new(String::new());
        let path = match self {
            Route::Feed { history, .. } | Route::Search(SearchParams { history, .. })
                if !history.is_empty() =>
            {
                return None;
            }
            Route::Feed { limit, .. } => {
                q.append_pair("limit", &limit.to_string());
                "feed".to_owned()
            }
            Route::Search(p) => {
                q.append_pair("q", &p.q).append_pair("page", &p.page.to_string());
                q.append_pair("limit", &p.limit.to_string());
                if let Some(c) = &p.filters.category {
                    q.append_pair("category", c);
                }
                for (name, price) in [("min_price", p.filters.min_price), ("max_price", p.filters.max_price)]
                {
                    if let Some(v) = price {
                        q.append_pair(name, &v.to_string());
                    }
                }
                q.append_pair("in_stock", if p.filters.in_stock { "1" } else { "0" });
                q.append_pair("sort", &format!("{:?}", p.sort));
                "search".to_owned()
            }
            Route::Suggest { q: text } => {
                q.append_pair("q", text);
                "suggest".to_owned()
            }
            Route::Categories => "categories".to_owned(),
            Route::Pack => "pack".to_owned(),
            Route::Product { id } => format!("products/{}", encode(id)),
            Route::Similar { id } => format!("products/{}/similar", encode(id)),
            Route::BoughtTogether { id } => format!("products/{}/bought-together", encode(id)),
            Route::Rows { ids, related } => {
                q.append_pair("ids", &ids.join(",")).append_pair("related", if *related { "1" } else { "0" });
                "rows".to_owned()
            }
        };
        Some(format!("{path}?{}", q.finish()))
    }
}

fn encode(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

pub const DEFAULT_LIMIT: usize = 24;
/// Deepest result reachable by paging; deeper pages are a crawler, not a shopper.
pub const MAX_OFFSET: usize = 10_000;

/// Most history entries accepted; the shopper's device sends at most this many.
pub const MAX_HISTORY: usize = 100;

/// Longest query string read, in bytes.
pub const MAX_QUERY_STRING: usize = 16 * 1024;
/// Longest `X-History` header read, in bytes: room for [`MAX_HISTORY`] ids of the longest allowed
/// length even in 4-byte characters.
pub const MAX_HISTORY_HEADER: usize = 64 * 1024;

/// Parses method, path, query string (without `?`) and the `X-History` header into a route.
/// Every API endpoint: the index reads ([`Route`]) and the writes (checkout, webhook, events), which
/// read no index of their own until their body is parsed ([`crate::checkout`], [`crate::events`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    Read(Route),
    /// `GET /api/checkout`: whether the shop takes payments.
    CheckoutStatus,
    /// `POST /api/checkout`: a cart to pay.
    Checkout,
    /// `POST /api/stripe/webhook`: Stripe reporting a paid order.
    StripeWebhook,
    /// `POST /api/events`: what shoppers did with what they were shown.
    Events,
}

/// The endpoint of a request; like [`route_with_history`], bounded and validated before anything else
/// is read.
pub fn endpoint(
    method: &str,
    path: &str,
    query: &str,
    history_header: Option<&str>,
) -> Result<Endpoint, Problem> {
    let method_error = |allow| method_not_allowed(method, allow);
    let commerce = match path.trim_end_matches('/') {
        "/api/checkout" => match method {
            "GET" | "HEAD" => Ok(Endpoint::CheckoutStatus),
            "POST" => Ok(Endpoint::Checkout),
            _ => Err(method_error("GET, HEAD, POST")),
        },
        "/api/stripe/webhook" => match method {
            "POST" => Ok(Endpoint::StripeWebhook),
            _ => Err(method_error("POST")),
        },
        "/api/events" => match method {
            "POST" => Ok(Endpoint::Events),
            _ => Err(method_error("POST")),
        },
        _ => return route_with_history(method, path, query, history_header).map(Endpoint::Read),
    }?;
    check_query_length(query)?;
    Ok(commerce)
}

/// A 405 naming the methods `allow`ed (the request's method cut short: it is the client's text).
fn method_not_allowed(method: &str, allow: &'static str) -> Problem {
    Problem::Method { method: method.chars().take(20).collect(), allow }
}

/// Bounds the query string before anything is parsed (Cloudflare itself refuses URLs over 16 KB).
fn check_query_length(query: &str) -> Result<(), Problem> {
    if query.len() > MAX_QUERY_STRING {
        return Err(bad(
            "query",
            format!("the query string is {} bytes, at most {MAX_QUERY_STRING}", query.len()),
        ));
    }
    Ok(())
}

pub fn route(method: &str, path: &str, query: &str) -> Result<Route, Problem> {
    route_with_history(method, path, query, None)
}

/// [`route`] with the `X-History` header, the only way a history is accepted: a `history` query
/// parameter is refused, since URLs end up in logs, caches and browser history.
pub fn route_with_history(
    method: &str,
    path: &str,
    query: &str,
    history_header: Option<&str>,
) -> Result<Route, Problem> {
    let path = path.trim_end_matches('/');
    let params = checked_request(method, path, query, history_header)?;
    let history = || parse_history(history_header.unwrap_or_default());
    match path {
        "/api/feed" => Ok(Route::Feed { limit: params.limit()?, history: history()? }),
        "/api/categories" => Ok(Route::Categories),
        "/api/pack" => Ok(Route::Pack),
        "/api/rows" => Ok(Route::Rows {
            ids: parse_ids(params.get("ids").unwrap_or_default())?,
            related: params.flag("related")?,
        }),
        "/api/suggest" => Ok(Route::Suggest { q: params.query()?.to_owned() }),
        "/api/search" => search_route(&params, history),
        _ => product_route(path),
    }
}

/// The query parameters of a request to a known read path with an allowed method, after the bounds
/// every read checks first (query string and `X-History` sizes, no history in the URL).
fn checked_request(
    method: &str,
    path: &str,
    query: &str,
    history_header: Option<&str>,
) -> Result<Params, Problem> {
    let known = ["/api/feed", "/api/search", "/api/suggest", "/api/categories", "/api/pack", "/api/rows"]
        .contains(&path)
        || path.starts_with("/api/products/");
    if !known {
        return Err(Problem::NoRoute(path.chars().take(200).collect()));
    }
    if method != "GET" && method != "HEAD" {
        return Err(method_not_allowed(method, "GET, HEAD"));
    }
    check_query_length(query)?;
    if let Some(h) = history_header
        && h.len() > MAX_HISTORY_HEADER
    {
        return Err(bad("history", format!("X-History is {} bytes, at most {MAX_HISTORY_HEADER}", h.len())));
    }
    let params = Params::parse(query);
    if params.get("history").is_some_and(|h| !h.is_empty()) {
        return Err(bad("history", "the history goes in the X-History header, never in the URL".into()));
    }
    Ok(params)
}

/// `/api/search`: the query, paging within [`MAX_OFFSET`], filters, sort and the history.
fn search_route(
    params: &Params,
    history: impl FnOnce() -> Result<Vec<(String, Event)>, Problem>,
) -> Result<Route, Problem> {
    let q = params.query()?;
    let limit = params.limit()?;
    let page = params.number("page", 1, 1, MAX_OFFSET)?;
    if let (Some(lo), Some(hi)) = (params.price("min_price")?, params.price("max_price")?)
        && lo > hi
    {
        return Err(bad("min_price", format!("min_price {lo} is above max_price {hi}")));
    }
    if (page - 1) * limit > MAX_OFFSET {
        return Err(bad("page", format!("page {page} is past the deepest result ({MAX_OFFSET})")));
    }
    Ok(Route::Search(SearchParams {
        q: q.to_owned(),
        page,
        limit,
        filters: Filters {
            category: params.category()?,
            min_price: params.price("min_price")?,
            max_price: params.price("max_price")?,
            in_stock: params.flag("in_stock")?,
        },
        sort: params.sort()?,
        history: history()?,
    }))
}

/// `/api/products/{id}` and its `similar` and `bought-together` lists; the id percent-decoded.
fn product_route(path: &str) -> Result<Route, Problem> {
    let rest = path.strip_prefix("/api/products/").unwrap_or_default();
    let (raw, sub) = match rest.split_once('/') {
        Some((id, sub)) => (id, Some(sub)),
        None => (rest, None),
    };
    let id = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| bad("id", "product id is not valid UTF-8".into()))?;
    if id.is_empty() || id.chars().count() > catalog::MAX_ID {
        return Err(bad("id", format!("product id must be 1 to {} characters without '/'", catalog::MAX_ID)));
    }
    let id = id.into_owned();
    match sub {
        None => Ok(Route::Product { id }),
        Some("similar") => Ok(Route::Similar { id }),
        Some("bought-together") => Ok(Route::BoughtTogether { id }),
        Some(_) => Err(Problem::NoRoute(path.chars().take(200).collect())),
    }
}

/// Product ids separated by commas: at most [`ranking::device::MAX_ROWS_IDS`], each 1 to
/// [`catalog::MAX_ID`] characters. None is an empty list (an empty cell).
pub fn parse_ids(raw: &str) -> Result<Vec<String>, Problem> {
    let ids: Vec<String> =
        raw.split(',').map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned).collect();
    let max = ranking::device::MAX_ROWS_IDS;
    if ids.len() > max {
        return Err(bad("ids", format!("ids has {} entries, at most {max} are allowed", ids.len())));
    }
    if ids.iter().any(|id| id.chars().count() > catalog::MAX_ID) {
        return Err(bad("ids", format!("ids must be 1 to {} characters each", catalog::MAX_ID)));
    }
    Ok(ids)
}

/// `id` or `id:event` entries separated by commas, most recent first (event: view, cart, purchase).
pub fn parse_history(raw: &str) -> Result<Vec<(String, Event)>, Problem> {
    ranking::history::decode(raw, MAX_HISTORY).map_err(|e| bad("history", e.to_string()))
}

fn bad(param: &'static str, reason: String) -> Problem {
    Problem::BadParam { param, reason }
}

/// Decoded query parameters; the first of repeated names wins, unknown names are ignored.
#[derive(Debug)]
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str) -> Params {
        Params(form_urlencoded::parse(query.as_bytes()).into_owned().collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn number(&self, name: &'static str, default: usize, min: usize, max: usize) -> Result<usize, Problem> {
        let Some(raw) = self.get(name) else { return Ok(default) };
        match raw.trim().parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(bad(
                name,
                format!("{name} must be a whole number in {min}..={max}, got {:?}", truncate(raw)),
            )),
        }
    }

    /// The search text `q`, at most [`MAX_QUERY`] characters.
    fn query(&self) -> Result<&str, Problem> {
        let q = self.get("q").unwrap_or_default();
        let len = q.chars().count();
        if len > MAX_QUERY {
            return Err(bad("q", format!("q must be at most {MAX_QUERY} characters, got {len}")));
        }
        Ok(q)
    }

    fn limit(&self) -> Result<usize, Problem> {
        self.number("limit", DEFAULT_LIMIT, 1, ranking::feed::MAX_LIMIT)
    }

    fn price(&self, name: &'static str) -> Result<Option<f64>, Problem> {
        let Some(raw) = self.get(name).filter(|v| !v.is_empty()) else { return Ok(None) };
        match raw.trim().parse::<f64>() {
            Ok(p) if p.is_finite() && p >= 0.0 => Ok(Some(p)),
            _ => Err(bad(name, format!("{name} must be a number >= 0, got {:?}", truncate(raw)))),
        }
    }

    fn flag(&self, name: &'static str) -> Result<bool, Problem> {
        match self.get(name).map(str::trim) {
            None | Some("" | "false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(other) => Err(bad(name, format!("{name} must be true or false, got {:?}", truncate(other)))),
        }
    }

    fn sort(&self) -> Result<Sort, Problem> {
        self.get("sort").unwrap_or_default().parse::<Sort>().map_err(|e| bad("sort", e.to_string()))
    }

    /// A category path of slugs (`furniture/chairs`), as the facets name them.
    fn category(&self) -> Result<Option<String>, Problem> {
        let Some(raw) = self.get("category").map(str::trim).filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        // Slugs keep Unicode letters ("bürobedarf"), as the facets and /api/categories name them.
        let ok = raw.chars().count() <= 200
            && raw
                .split('/')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '-'))
            && raw == raw.to_lowercase();
        if ok {
            Ok(Some(raw.to_owned()))
        } else {
            Err(bad(
                "category",
                format!(
                    "category must be a path of lowercase slugs like furniture/chairs, got {:?}",
                    truncate(raw)
                ),
            ))
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The shopper's explicit currency (`?currency=`, three letters), upper-cased; a malformed one is a
/// 400, an unknown one is ignored later (the country's currency applies).
pub fn shopper_currency(query: &str) -> Result<Option<String>, Problem> {
    match Params::parse(query).get("currency").filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(Some(c.to_ascii_uppercase()))
        }
        Some(c) => Err(bad(
            "currency",
            format!("currency must be a three-letter ISO 4217 code, got {:?}", truncate(c)),
        )),
    }
}

/// The shopper's country: `?country=` (for testing and explicit choice) over Cloudflare's
/// `CF-IPCountry` header. A malformed parameter is a 400; a malformed or unknown header (`XX`, `T1`)
/// means no country.
pub fn shopper_country(query: &str, header: Option<&str>) -> Result<Option<String>, Problem> {
    let valid = |c: &str| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic());
    if let Some(raw) = Params::parse(query).get("country").filter(|c| !c.is_empty()) {
        return if valid(raw) {
            Ok(Some(raw.to_ascii_uppercase()))
        } else {
            Err(bad("country", format!("country must be a two-letter ISO code, got {:?}", truncate(raw))))
        };
    }
    Ok(header
        .map(str::trim)
        .filter(|c| valid(c) && !c.eq_ignore_ascii_case("XX"))
        .map(str::to_ascii_uppercase))
}

/// The experiment bucket of an anonymous client id (cookie `sf_cid` or header `X-Client-Id`): a
/// stable hash of a random id the device made. No id, or one that is not 8 to 64 letters, digits,
/// `-` or `_`, gets bucket 0, so nothing personal can ride along.
pub fn client_hash(cookie: Option<&str>, header: Option<&str>) -> u64 {
    let from_cookie = cookie.and_then(|c| {
        c.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == "sf_cid").map(|(_, v)| v)
    });
    let id = header.or(from_cookie).map(str::trim).filter(|id| {
        (8..=64).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    id.map_or(0, |id| ranking::kv::fnv1a(ranking::kv::FNV_OFFSET, id.as_bytes()))
}

/// The client id cookie's name (the app's `measure::COOKIE`).
pub const CLIENT_COOKIE: &str = "sf_cid";

/// Whether a page request comes from a device that has no client id cookie at all, so the edge makes
/// one and ranks the prerendered page with it: the app keeps that id and starts from that page, and
/// the first screen is in the shopper's own experiment variant. A device that turned measurement off
/// keeps the cookie as `off` (no id, no variant of its own) and never gets one made.
pub fn needs_client_id(cookie: Option<&str>) -> bool {
    let names = cookie.into_iter().flat_map(|c| c.split(';')).filter_map(|kv| kv.trim().split_once('='));
    !names.into_iter().any(|(k, _)| k == CLIENT_COOKIE)
}

/// The `Set-Cookie` value for a client id the edge made (`https`: the page was served over https).
pub fn client_cookie(id: &str, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{CLIENT_COOKIE}={id}; Path=/; Max-Age=31536000; SameSite=Lax{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_is_made_only_for_devices_without_the_cookie() {
        assert!(needs_client_id(None));
        assert!(needs_client_id(Some("theme=dark; other=1")));
        assert!(!needs_client_id(Some("theme=dark; sf_cid=0123456789abcdef0123456789abcdef")));
        assert!(!needs_client_id(Some("sf_cid=off")), "measurement off: none made");
        // "off" is no id: such a device ranks without a variant of its own.
        assert_eq!(client_hash(Some("sf_cid=off"), None), 0);
        let id = "0123456789abcdef0123456789abcdef";
        assert_ne!(client_hash(Some(&format!("sf_cid={id}")), None), 0);
        assert_eq!(
            client_cookie(id, true),
            format!("sf_cid={id}; Path=/; Max-Age=31536000; SameSite=Lax; Secure")
        );
        assert!(!client_cookie(id, false).contains("Secure"));
    }

    #[test]
    fn oversized_query_strings_and_history_headers_are_refused_before_parsing() {
        let long = format!("q=chair&x={}", "a".repeat(MAX_QUERY_STRING));
        assert!(matches!(route("GET", "/api/search", &long), Err(Problem::BadParam { param: "query", .. })));
        let header = "p,".repeat(MAX_HISTORY_HEADER / 2 + 1);
        assert!(matches!(
            route_with_history("GET", "/api/feed", "", Some(&header)),
            Err(Problem::BadParam { param: "history", .. })
        ));
        // The longest legitimate history fits: 100 ids of 128 four-byte characters, with events.
        let id = "😀".repeat(ranking::catalog::MAX_ID);
        let full = (0..MAX_HISTORY).map(|_| format!("{id}:purchase")).collect::<Vec<_>>().join(",");
        assert!(full.len() <= MAX_HISTORY_HEADER, "{}", full.len());
        assert!(route_with_history("GET", "/api/feed", "", Some(&full)).is_ok());
    }

    #[test]
    fn country_and_currency_from_parameters_or_header() {
        assert_eq!(shopper_currency("currency=eur"), Ok(Some("EUR".into())));
        assert_eq!(
            shopper_currency("currency=euro").unwrap_err().problem().param.as_deref(),
            Some("currency")
        );
        assert_eq!(shopper_country("country=de", Some("US")), Ok(Some("DE".into())));
        assert_eq!(shopper_country("", Some("fr")), Ok(Some("FR".into())));
        assert_eq!(shopper_country("", Some("XX")), Ok(None));
        assert_eq!(shopper_country("", Some("T1")), Ok(None));
        assert_eq!(shopper_country("", None), Ok(None));
        assert!(matches!(
            shopper_country("country=Germany", None),
            Err(Problem::BadParam { param: "country", .. })
        ));
    }

    #[test]
    fn client_ids_hash_to_stable_buckets() {
        let a = client_hash(Some("theme=dark; sf_cid=abcdef123456"), None);
        assert_ne!(a, 0);
        assert_eq!(a, client_hash(None, Some("abcdef123456")), "cookie and header name the same client");
        assert_eq!(client_hash(None, Some("short")), 0);
        assert_eq!(client_hash(None, Some("has spaces in it!")), 0);
        assert_eq!(client_hash(None, None), 0);
    }

    #[test]
    fn routes() {
        assert_eq!(route("GET", "/api/feed", ""), Ok(Route::Feed { limit: DEFAULT_LIMIT, history: vec![] }));
        assert_eq!(route("GET", "/api/feed/", "limit=5&x=1"), Ok(Route::Feed { limit: 5, history: vec![] }));
        assert_eq!(
            route_with_history("GET", "/api/feed", "", Some("a:cart, b ,c:x:purchase,d:odd")),
            Ok(Route::Feed {
                limit: DEFAULT_LIMIT,
                history: vec![
                    ("a".into(), Event::Cart),
                    ("b".into(), Event::View),
                    ("c:x".into(), Event::Purchase),
                    ("d:odd".into(), Event::View)
                ]
            }),
            "unknown suffixes stay part of the id"
        );
        assert_eq!(route("GET", "/api/products/a%2Fb/similar", ""), Ok(Route::Similar { id: "a/b".into() }));
        assert_eq!(
            route("GET", "/api/products/x/bought-together", ""),
            Ok(Route::BoughtTogether { id: "x".into() })
        );
        assert_eq!(route("GET", "/api/products/x/reviews", "").unwrap_err().status(), 404);
        assert_eq!(route("GET", "/api/suggest", "q=off"), Ok(Route::Suggest { q: "off".into() }));
        assert_eq!(route("GET", "/api/categories", ""), Ok(Route::Categories));
        assert_eq!(
            route("GET", "/api/search", "q=office+chair&page=2&limit=10"),
            Ok(Route::Search(SearchParams {
                q: "office chair".into(),
                page: 2,
                limit: 10,
                filters: Filters::default(),
                sort: Sort::Relevance,
                history: vec![]
            }))
        );
        assert_eq!(
            route("GET", "/api/products/FUR%2DCH-1", ""),
            Ok(Route::Product { id: "FUR-CH-1".into() })
        );
    }

    #[test]
    fn bad_params_name_the_field() {
        let param = |r: Result<Route, Problem>| match r {
            Err(Problem::BadParam { param, .. }) => param,
            other => panic!("expected BadParam, got {other:?}"),
        };
        assert_eq!(param(route("GET", "/api/feed", "limit=0")), "limit");
        assert_eq!(param(route("GET", "/api/feed", "limit=abc")), "limit");
        assert_eq!(param(route("GET", "/api/search", "q=a&page=0")), "page");
        assert_eq!(param(route("GET", "/api/search", "q=a&page=9999&limit=100")), "page");
        assert_eq!(param(route("GET", "/api/search", &format!("q={}", "a".repeat(201)))), "q");
        assert_eq!(param(route("GET", "/api/products/%FF", "")), "id");
        assert_eq!(param(route("GET", "/api/search", "q=a&sort=cheapest")), "sort");
        assert_eq!(param(route("GET", "/api/search", "q=a&min_price=-1")), "min_price");
        assert_eq!(param(route("GET", "/api/search", "q=a&min_price=9&max_price=3")), "min_price");
        assert_eq!(param(route("GET", "/api/search", "q=a&max_price=NaN")), "max_price");
        assert_eq!(param(route("GET", "/api/search", "q=a&in_stock=maybe")), "in_stock");
        assert_eq!(param(route("GET", "/api/search", "q=a&category=Furniture")), "category");
        assert_eq!(param(route("GET", "/api/search", "q=a&category=a//b")), "category");
        assert!(route("GET", "/api/search", "q=a&category=b%C3%BCrobedarf/stifte").is_ok(), "Unicode slugs");
        assert_eq!(param(route("GET", &format!("/api/products/{}", "x".repeat(129)), "")), "id");
        let long: Vec<String> = (0..101).map(|i| format!("p{i}")).collect();
        let header = long.join(",");
        assert_eq!(param(route_with_history("GET", "/api/feed", "", Some(&header))), "history");
        // A history in the URL would be logged and cached on the way: refused, whatever the route.
        for path in ["/api/feed", "/api/search", "/api/products/x"] {
            assert_eq!(param(route_with_history("GET", path, "history=p1", Some("p2"))), "history", "{path}");
        }
        assert!(route("GET", "/api/feed", "history=").is_ok(), "given empty, as absent");
    }

    #[test]
    fn cache_keys_come_from_the_parsed_route() {
        let key = |path: &str, query: &str| route("GET", path, query).unwrap().cache_key().unwrap();
        // Unknown, repeated and reordered parameters, and spellings of the same value, share one key.
        assert_eq!(key("/api/search", "q=chair&zz=1"), key("/api/search", "q=chair&zz=2"));
        assert_eq!(key("/api/search", "limit=5&q=chair"), key("/api/search", "q=chair&limit=5&q=desk"));
        assert_eq!(key("/api/search", "q=chair"), key("/api/search", "q=chair&page=1&sort=&in_stock=false"));
        assert_eq!(key("/api/feed/", "limit=08&utm_source=x"), key("/api/feed", "limit=8"));
        // What changes the answer changes the key.
        let distinct = [
            key("/api/search", "q=chair"),
            key("/api/search", "q=chairs"),
            key("/api/search", "q=chair&page=2"),
            key("/api/search", "q=chair&sort=price_asc"),
            key("/api/search", "q=chair&in_stock=true"),
            key("/api/search", "q=chair&min_price=5"),
            key("/api/search", "q=chair&max_price=5"),
            key("/api/search", "q=chair&category=furniture"),
            key("/api/suggest", "q=chair"),
            key("/api/feed", ""),
            key("/api/feed", "limit=5"),
            key("/api/products/a", ""),
            key("/api/products/a/similar", ""),
            key("/api/products/a/bought-together", ""),
            key("/api/products/a%3Fb", ""),
            key("/api/rows", "ids=a"),
            key("/api/rows", "ids=a&related=true"),
            key("/api/categories", ""),
            key("/api/pack", ""),
        ];
        assert_eq!(
            distinct.iter().collect::<std::collections::HashSet<_>>().len(),
            distinct.len(),
            "{distinct:?}"
        );
        assert!(!key("/api/products/a%3Fb", "").contains("a?b"), "ids are encoded");
        let personal = route_with_history("GET", "/api/search", "q=a", Some("p1")).unwrap();
        assert_eq!(personal.cache_key(), None, "answers from a history are never cached");
        assert_eq!(route_with_history("GET", "/api/feed", "", Some("p1")).unwrap().cache_key(), None);
    }

    #[test]
    fn unknown_route_and_method() {
        assert_eq!(route("GET", "/api/nope", "").unwrap_err().status(), 404);
        assert_eq!(route("GET", "/api/products/", "").unwrap_err().status(), 404);
        let e = route("POST", "/api/feed", "").unwrap_err();
        assert_eq!((e.status(), e.allow()), (405, Some("GET, HEAD")));
    }
}
