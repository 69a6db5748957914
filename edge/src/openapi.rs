//! Keeps `edge/openapi.json` true to the code: every documented path routes and every route is
//! documented; each path documents exactly the query parameters its parser reads, with the bounds,
//! defaults and sort values it enforces; errors are problem+json; and the schemas describe exactly what
//! serde writes for real answers.

use std::collections::BTreeSet;

use ranking::feed::Why;
use ranking::index::ItemIndex;
use ranking::kv::{CardList, ProductShard};
use ranking::lexical::{LexicalData, Lexicon, Match};
use ranking::locale::Locale;
use ranking::search::{MAX_QUERY, SearchIndex, SearchWhy};
use ranking::weights::Weights;
use ranking::wire::{FeedItem, FeedResponse, FeedSection, RelatedItem, RelatedResponse, SearchItem};
use ranking::{Event, Product};
use serde_json::{Value, json};

use crate::problem::{PROBLEM_JSON, Problem};
use crate::route::{self, MAX_HISTORY, Route};
use crate::serve::{self, Ctx};

fn spec() -> Value {
    serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json is valid JSON")
}

/// The target of a local `$ref` (`#/components/…`), else the schema itself.
fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("non-local $ref {r}"));
            spec.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {r}"))
        }
        None => v,
    }
}

/// The writes' paths (checkout, webhook, events), which take POST bodies: checked by their own tests.
const COMMERCE: [&str; 3] = ["/api/checkout", "/api/stripe/webhook", "/api/events"];

/// The documented index reads (every path but the checkout's).
fn paths(spec: &Value) -> Vec<String> {
    spec["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .filter(|p| !COMMERCE.contains(&p.as_str()))
        .cloned()
        .collect()
}

fn operation<'a>(spec: &'a Value, path: &str) -> &'a Value {
    let op = &spec["paths"][path]["get"];
    assert!(op.is_object(), "{path} has no GET operation");
    op
}

/// The documented parameters of a path's GET, `$ref`s resolved.
fn parameters<'a>(spec: &'a Value, path: &str) -> Vec<&'a Value> {
    let ps = operation(spec, path)["parameters"].as_array().map(Vec::as_slice).unwrap_or_default();
    ps.iter().map(|p| resolve(spec, p)).collect()
}

fn parameter<'a>(spec: &'a Value, path: &str, location: &str, name: &str) -> Option<&'a Value> {
    parameters(spec, path).into_iter().find(|p| p["in"] == location && p["name"] == name)
}

/// A request as the worker parses it: route (with the `X-History` header), then country, then
/// currency; the first error wins.
fn request(path: &str, query: &str, history: Option<&str>) -> Result<Route, Problem> {
    let route = route::route_with_history("GET", path, query, history)?;
    route::shopper_country(query, None)?;
    route::shopper_currency(query)?;
    Ok(route)
}

fn query(name: &str, value: &str) -> String {
    form_urlencoded::Serializer::new(String::new()).append_pair(name, value).finish()
}

/// The parameter a request was refused for (panics if it was accepted or failed otherwise).
fn refused(r: Result<Route, Problem>) -> &'static str {
    match r {
        Err(Problem::BadParam { param, .. }) => param,
        other => panic!("expected a 400, got {other:?}"),
    }
}

/// A documented path with an example id (one that needs percent-decoding) in place of `{id}`.
fn concrete(path: &str) -> String {
    path.replace("{id}", "FUR-CH%2D1%20x")
}

/// The documented path of each route. The match is exhaustive: a new `Route` variant does not compile
/// until it has an arm here, and [`every_route`] must then hold a sample of it, which the tests require
/// to be documented.
fn documented_path(r: &Route) -> &'static str {
    match r {
        Route::Feed { .. } => "/api/feed",
        Route::Search(_) => "/api/search",
        Route::Suggest { .. } => "/api/suggest",
        Route::Categories => "/api/categories",
        Route::Product { .. } => "/api/products/{id}",
        Route::Similar { .. } => "/api/products/{id}/similar",
        Route::BoughtTogether { .. } => "/api/products/{id}/bought-together",
        Route::Pack => "/api/pack",
        Route::Rows { .. } => "/api/rows",
    }
}

/// A sample of every `Route` variant, one per arm of [`documented_path`].
fn every_route() -> Vec<Route> {
    let search = match route::route("GET", "/api/search", "q=chair") {
        Ok(Route::Search(p)) => p,
        other => panic!("{other:?}"),
    };
    vec![
        Route::Feed { limit: 1, history: vec![] },
        Route::Search(search),
        Route::Suggest { q: "ch".into() },
        Route::Categories,
        Route::Product { id: "a".into() },
        Route::Similar { id: "a".into() },
        Route::BoughtTogether { id: "a".into() },
        Route::Pack,
        Route::Rows { ids: vec!["a".into()], related: true },
    ]
}

#[test]
fn every_documented_path_routes_and_every_route_is_documented() {
    let spec = spec();
    let documented: BTreeSet<String> = paths(&spec).into_iter().collect();
    for path in &documented {
        let r =
            route::route("GET", &concrete(path), "").unwrap_or_else(|e| panic!("{path} does not route: {e}"));
        assert_eq!(documented_path(&r), path, "{path} routes to {r:?}");
        if path.contains("{id}") {
            let id = match &r {
                Route::Product { id } | Route::Similar { id } | Route::BoughtTogether { id } => id,
                other => panic!("{other:?} has no id"),
            };
            assert_eq!(id, "FUR-CH-1 x", "{path}: the id is percent-decoded");
        }
    }
    let routes = every_route();
    let variants: BTreeSet<&str> = routes.iter().map(documented_path).collect();
    assert_eq!(variants.len(), routes.len(), "one sample per variant");
    for path in variants {
        assert!(documented.contains(path), "route {path} is not documented in openapi.json");
    }
}

/// A value the parser refuses, for every query parameter any route reads.
fn malformed(name: &str) -> Option<String> {
    Some(match name {
        "q" => "é".repeat(MAX_QUERY + 1),
        "category" => "Furniture/Chairs".into(),
        "min_price" => "-1".into(),
        "max_price" => "NaN".into(),
        "in_stock" => "maybe".into(),
        "sort" => "cheapest".into(),
        "page" => "0".into(),
        "limit" => "0".into(),
        "history" => (0..=MAX_HISTORY).map(|i| format!("p{i}")).collect::<Vec<_>>().join(","),
        "country" => "Germany".into(),
        "currency" => "euro".into(),
        "ids" => (0..=ranking::device::MAX_ROWS_IDS).map(|i| format!("p{i}")).collect::<Vec<_>>().join(","),
        "related" => "maybe".into(),
        _ => return None,
    })
}

const KNOWN_QUERY: [&str; 12] = [
    "ids",
    "related",
    "q",
    "category",
    "min_price",
    "max_price",
    "in_stock",
    "sort",
    "page",
    "limit",
    "country",
    "currency",
];

#[test]
fn each_path_documents_exactly_the_query_parameters_it_reads() {
    let spec = spec();
    for path in paths(&spec) {
        let url = concrete(&path);
        let documented: BTreeSet<String> = parameters(&spec, &path)
            .into_iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().expect("name").to_owned())
            .collect();
        for name in &documented {
            let bad = malformed(name).unwrap_or_else(|| panic!("{path}: `{name}` is read by no route"));
            assert_eq!(refused(request(&url, &query(name, &bad), None)), name, "{path} {name}={bad:.20}");
        }
        for name in KNOWN_QUERY.iter().filter(|n| !documented.contains(**n)) {
            let bad = malformed(name).expect("known");
            let r = request(&url, &query(name, &bad), None);
            assert!(r.is_ok(), "{path} reads `{name}` but does not document it: {r:?}");
        }
    }
    // The search parameters the router accepts, named explicitly.
    for name in ["q", "category", "min_price", "max_price", "in_stock", "sort", "page", "limit", "country"] {
        assert!(parameter(&spec, "/api/search", "query", name).is_some(), "/api/search lacks `{name}`");
    }
}

#[test]
fn history_header_is_documented_where_it_is_read() {
    let spec = spec();
    let too_long = malformed("history").expect("history");
    for path in paths(&spec) {
        let url = concrete(&path);
        let read = request(&url, "", Some(&too_long)).is_err();
        let documented = parameter(&spec, &path, "header", "X-History");
        assert_eq!(read, documented.is_some(), "{path}: X-History read {read}, documented {documented:?}");
        if let Some(h) = documented {
            assert_eq!(refused(request(&url, &query("history", "a"), Some("a:cart"))), "history", "{path}");
            assert!(text_of(h).contains("query parameter is refused"), "{path}");
            let text = text_of(h);
            assert!(text.contains(&format!("{MAX_HISTORY} entries")), "{path}: X-History limit");
            assert!(text.contains(&format!("{} most recent", ranking::feed::MAX_HISTORY)), "{path}");
            assert!(text.contains(&format!("1-{} characters", ranking::catalog::MAX_ID)), "{path}");
            let r = request(&url, "", Some("a:view, b:purchase,c:cart,d")).expect("history");
            let parsed = match r {
                Route::Feed { history, .. } => history,
                Route::Search(p) => p.history,
                other => panic!("{other:?}"),
            };
            assert_eq!(parsed[..2], [("a".to_owned(), Event::View), ("b".to_owned(), Event::Purchase)]);
        }
    }
}

fn text_of(parameter: &serde_json::Value) -> &str {
    parameter["description"].as_str().expect("description")
}

/// A route's value of an integer query parameter.
fn int_value(r: &Route, name: &str) -> usize {
    match (r, name) {
        (Route::Feed { limit, .. }, "limit") => *limit,
        (Route::Search(p), "limit") => p.limit,
        (Route::Search(p), "page") => p.page,
        _ => panic!("{r:?} has no integer {name}"),
    }
}

fn number(schema: &Value, key: &str) -> usize {
    let n = schema[key].as_u64().unwrap_or_else(|| panic!("{key} of {schema}"));
    usize::try_from(n).expect("fits")
}

#[test]
fn documented_bounds_and_defaults_are_the_enforced_ones() {
    let spec = spec();
    let mut checked = 0;
    for path in paths(&spec) {
        let url = concrete(&path);
        for p in parameters(&spec, &path).into_iter().filter(|p| p["in"] == "query") {
            let name = p["name"].as_str().expect("name");
            let schema = resolve(&spec, &p["schema"]);
            // A page is only reachable to MAX_OFFSET one result at a time.
            let with = |v: usize| {
                let q = query(name, &v.to_string());
                request(&url, &if name == "limit" { q } else { format!("{q}&limit=1") }, None)
            };
            if schema["type"] == "integer" {
                let (min, max, default) =
                    (number(schema, "minimum"), number(schema, "maximum"), number(schema, "default"));
                let absent = request(&url, "", None).expect("defaults route");
                assert_eq!(int_value(&absent, name), default, "{path} {name} default");
                assert_eq!(int_value(&with(max).expect("max"), name), max, "{path} {name}={max}");
                assert_eq!(int_value(&with(min).expect("min"), name), min, "{path} {name}={min}");
                assert_eq!(refused(with(max + 1)), name, "{path} {name}={}", max + 1);
                assert_eq!(refused(with(min - 1)), name, "{path} {name}={}", min - 1);
                assert_eq!(refused(request(&url, &query(name, ""), None)), name, "{path} empty {name}");
                checked += 1;
            }
            if let Some(max) = schema["maxLength"].as_u64().map(|m| usize::try_from(m).expect("fits")) {
                let text = |n: usize| if name == "q" { "é".repeat(n) } else { "a".repeat(n) };
                assert!(request(&url, &query(name, &text(max)), None).is_ok(), "{path} {name} of {max}");
                assert_eq!(refused(request(&url, &query(name, &text(max + 1)), None)), name, "{path}");
                checked += 1;
            }
        }
        if let Some(id) = parameter(&spec, &path, "path", "id") {
            let max = number(resolve(&spec, &id["schema"]), "maxLength");
            let at = |n: usize| path.replace("{id}", &"%C3%A9".repeat(n));
            assert!(request(&at(max), "", None).is_ok(), "{path}: an id of {max} characters");
            assert_eq!(refused(request(&at(max + 1), "", None)), "id", "{path}");
        }
    }
    assert!(checked >= 6, "limit (feed, search), page, q (search, suggest) and category: {checked}");
    // The deepest page: (page - 1) * limit may reach MAX_OFFSET, not pass it.
    assert!(request("/api/search", "page=101&limit=100", None).is_ok());
    assert_eq!(refused(request("/api/search", "page=102&limit=100", None)), "page");
}

#[test]
fn documented_sorts_are_the_accepted_ones() {
    let spec = spec();
    let schema = resolve(&spec, &parameter(&spec, "/api/search", "query", "sort").expect("sort")["schema"]);
    let values: Vec<&str> =
        schema["enum"].as_array().expect("sort enum").iter().map(|v| v.as_str().expect("string")).collect();
    let sort_of = |q: &str| match request("/api/search", q, None) {
        Ok(Route::Search(p)) => p.sort,
        other => panic!("{q}: {other:?}"),
    };
    let mut sorts = Vec::new();
    for v in &values {
        let sort = sort_of(&query("sort", v));
        assert_eq!(serde_json::to_value(sort).expect("sort"), json!(v), "sort={v} parses to its own name");
        assert!(!sorts.contains(&sort), "sort={v} duplicates another value");
        sorts.push(sort);
    }
    assert_eq!(json!(sort_of("")), schema["default"], "default sort");
    assert_eq!(json!(sort_of("sort=")), schema["default"], "empty sort");
    for undocumented in ["cheapest", "Relevance", "price-asc", "rating"] {
        let e = request("/api/search", &query("sort", undocumented), None).expect_err(undocumented);
        assert_eq!((e.status(), e.problem().param.as_deref()), (400, Some("sort")), "sort={undocumented}");
    }
}

#[test]
fn errors_are_documented_as_problem_json() {
    let spec = spec();
    for path in paths(&spec) {
        let responses = operation(&spec, &path)["responses"].as_object().expect("responses");
        let mut statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
        ranking::order::sort_by(&mut statuses, Ord::cmp);
        let expected: &[&str] = if path.contains("{id}") {
            &["200", "400", "404", "405", "503"]
        } else {
            &["200", "400", "405", "503"]
        };
        assert_eq!(statuses, expected, "{path}: the statuses the worker answers");
        for (status, response) in responses {
            let response = resolve(&spec, response);
            let content = response["content"].as_object().expect("content");
            let types: Vec<&String> = content.keys().collect();
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(types, [PROBLEM_JSON], "{path} {status}");
                assert_eq!(content[PROBLEM_JSON]["schema"]["$ref"], "#/components/schemas/Problem");
            } else {
                // The device's ranking data is binary (KV format); everything else is JSON.
                let binary =
                    matches!(route::route("GET", &concrete(&path), ""), Ok(Route::Pack | Route::Rows { .. }));
                let expected = if binary { "application/octet-stream" } else { "application/json" };
                assert_eq!(types, [expected], "{path} {status}");
            }
        }
    }
}

#[test]
fn every_ref_resolves() {
    fn walk(spec: &Value, v: &Value, n: &mut usize) {
        match v {
            Value::Object(o) => {
                if o.contains_key("$ref") {
                    resolve(spec, v);
                    *n += 1;
                }
                o.values().for_each(|c| walk(spec, c, n));
            }
            Value::Array(a) => a.iter().for_each(|c| walk(spec, c, n)),
            _ => {}
        }
    }
    let spec = spec();
    let mut n = 0;
    walk(&spec, &spec, &mut n);
    assert!(n > 50, "{n} refs");
}

// ------------------------------------------------------------------------------------------------
// Schemas against serde output.

/// Checks `value` against a JSON Schema subset (`$ref`, `anyOf`, `type`, `enum`, `const`, bounds,
/// `properties`, `required`, `additionalProperties`, `items`, `maxItems`), strictly: an object member
/// the schema does not name is an error. Records `Schema.member` for members of named schemas seen.
fn check(
    spec: &Value,
    value: &Value,
    schema: &Value,
    at: &str,
    seen: &mut BTreeSet<String>,
) -> Result<(), String> {
    check_named(spec, value, schema, at, seen, None)
}

fn check_named(
    spec: &Value,
    value: &Value,
    schema: &Value,
    at: &str,
    seen: &mut BTreeSet<String>,
    name: Option<&str>,
) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next();
        return check_named(spec, value, resolve(spec, schema), at, seen, name);
    }
    if let Some(any) = schema["anyOf"].as_array() {
        return check_any_of(spec, value, any, at, seen);
    }
    check_scalar(value, schema, at)?;
    match value {
        Value::Object(members) => check_members(spec, members, schema, at, seen, name),
        Value::Array(items) => check_items(spec, items, schema, at, seen),
        _ => Ok(()),
    }
}

/// The first `anyOf` branch that fits (only its members count as seen).
fn check_any_of(
    spec: &Value,
    value: &Value,
    any: &[Value],
    at: &str,
    seen: &mut BTreeSet<String>,
) -> Result<(), String> {
    let mut errors = Vec::new();
    for branch in any {
        let mut s = seen.clone();
        match check_named(spec, value, branch, at, &mut s, None) {
            Ok(()) => {
                *seen = s;
                return Ok(());
            }
            Err(e) => errors.push(e),
        }
    }
    Err(format!("{at}: no anyOf branch fits: {errors:?}"))
}

/// The JSON Schema type name of a value.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `type`, `enum`, `const`, `minimum` and `maximum`.
fn check_scalar(value: &Value, schema: &Value, at: &str) -> Result<(), String> {
    let kind = json_type(value);
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Err(format!("{at}: schema without a type: {schema}")),
    };
    if !(types.contains(&kind) || (kind == "integer" && types.contains(&"number"))) {
        return Err(format!("{at}: {kind} {value} is not {types:?}"));
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    if schema.get("const").is_some_and(|c| c != value) {
        return Err(format!("{at}: {value} is not {}", schema["const"]));
    }
    if let Some(n) = value.as_f64()
        && (schema["minimum"].as_f64().is_some_and(|m| n < m)
            || schema["maximum"].as_f64().is_some_and(|m| n > m))
    {
        return Err(format!("{at}: {n} is out of bounds"));
    }
    Ok(())
}

/// An object's members: each documented (recorded as `Schema.member` of a named schema) or allowed by
/// `additionalProperties`, and every `required` one present.
fn check_members(
    spec: &Value,
    members: &serde_json::Map<String, Value>,
    schema: &Value,
    at: &str,
    seen: &mut BTreeSet<String>,
    name: Option<&str>,
) -> Result<(), String> {
    let props = schema["properties"].as_object();
    for (k, v) in members {
        let sub = if let Some(s) = props.and_then(|p| p.get(k)) {
            if let Some(name) = name {
                seen.insert(format!("{name}.{k}"));
            }
            s
        } else if schema["additionalProperties"].is_object() {
            &schema["additionalProperties"]
        } else {
            return Err(format!("{at}: member `{k}` is not documented"));
        };
        check(spec, v, sub, &format!("{at}.{k}"), seen)?;
    }
    for r in schema["required"].as_array().into_iter().flatten() {
        let r = r.as_str().expect("required names");
        if !members.contains_key(r) {
            return Err(format!("{at}: required member `{r}` is missing"));
        }
    }
    Ok(())
}

/// An array's length and items.
fn check_items(
    spec: &Value,
    items: &[Value],
    schema: &Value,
    at: &str,
    seen: &mut BTreeSet<String>,
) -> Result<(), String> {
    if schema["maxItems"].as_u64().is_some_and(|m| items.len() as u64 > m) {
        return Err(format!("{at}: more than {} items", schema["maxItems"]));
    }
    for (i, v) in items.iter().enumerate() {
        check(spec, v, &schema["items"], &format!("{at}[{i}]"), seen)?;
    }
    Ok(())
}

fn product(v: Value) -> Product {
    let p: Product = serde_json::from_value(v).expect("product");
    p.validate().expect("valid product");
    p
}

/// Products with every optional field (`a`), none (`c`), and on sale with stock (`b`).
fn products() -> Vec<Product> {
    vec![
        product(json!({
            "id": "a", "title": "Red Office Chair", "description": "Mesh back.", "category": ["Furniture", "Chairs"],
            "brand": "Sitwell", "price": {"amount": 80.0, "currency": "USD"}, "list_price": 100.0,
            "image": "https://img.example/a.jpg", "rating": {"average": 4.5, "count": 12}, "return_rate": 0.05,
            "seller": {"id": "s1", "trust": 0.9}, "conversion_rate": 0.1, "stock": {"US": 5, "FR": 2, "JP": 0},
            "created_at": "2024-05-01"
        })),
        product(json!({
            "id": "b", "title": "Blue Chair", "category": ["Furniture", "Chairs"],
            "price": {"amount": 30.0, "currency": "USD"}, "list_price": 40.0, "stock": {"DE": 1}
        })),
        product(json!({
            "id": "c", "title": "Desk Lamp", "category": ["Technology", "Lighting"],
            "price": {"amount": 12.5, "currency": "USD"}
        })),
    ]
}

fn locale() -> Locale {
    let l: Locale = serde_json::from_str(include_str!("../../indexer/data/locale.json")).expect("locale");
    l.validate().expect("valid locale");
    l
}

fn ctx<'a>(weights: &'a Weights, locale: &'a Locale) -> Ctx<'a> {
    Ctx {
        version: "v1",
        country: Some("DE"),
        now: 1_750_000_000,
        variant: "default",
        weights,
        currency: None,
        locale: Some(locale),
        rules: None,
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serializes")
}

/// Real answers of every path (from the handlers, with hand-made parts for what the test catalog cannot
/// produce), each with the path it answers.
fn answers() -> Vec<(&'static str, Value)> {
    let (weights, locale) = (Weights::default(), locale());
    let ctx = ctx(&weights, &locale);
    let products = products();
    let items = ItemIndex::plain(&products, &[3, 2, 1]);
    let lexicon = Lexicon::new(LexicalData::build(&products)).expect("lexicon");
    let cat = SearchIndex::new(&items, Some(&lexicon), None);
    let mut out = feed_answers(&items, &products, ctx);
    out.extend(search_answers(cat, ctx));
    out.push(("/api/suggest", to_json(&serve::suggest(cat, "red ch", ctx))));
    out.push(("/api/categories", to_json(&serve::categories(&items, "v1"))));
    out.extend(product_answers(&items, &products, ctx));
    out
}

/// `/api/feed`: cold, warm, and a "because you viewed" section with every optional member.
fn feed_answers(items: &ItemIndex, products: &[Product], ctx: Ctx<'_>) -> Vec<(&'static str, Value)> {
    let cold = serve::feed(items, &[], 3, ctx);
    let warm = serve::feed(items, &[("c".into(), Event::Cart)], 3, ctx);
    let because = FeedResponse {
        sections: vec![FeedSection {
            id: "because".into(),
            title: "Because you viewed Red Office Chair".into(),
            because: Some("a".into()),
            items: vec![FeedItem {
                card: products[1].card(7),
                score: 0.5,
                why: Why { similarity: 0.5, because: Some("a".into()), ..Why::default() },
                base_price: Some(products[1].price.clone()),
                delivery_days: Some(4),
            }],
        }],
        variant: "b".into(),
        index_version: "v1".into(),
    };
    vec![("/api/feed", to_json(&cold)), ("/api/feed", to_json(&warm)), ("/api/feed", to_json(&because))]
}

/// `/api/search`: with every kind of explanation, sorted and filtered, and empty.
fn search_answers(cat: SearchIndex<'_>, ctx: Ctx<'_>) -> Vec<(&'static str, Value)> {
    let search = |q: &str| match route::route("GET", "/api/search", q) {
        Ok(Route::Search(p)) => serve::search(cat, &p, ctx),
        other => panic!("{other:?}"),
    };
    let mut found = search("q=chair&country=DE");
    let mut semantic = found.items.first().cloned().expect("a hit");
    semantic.why = SearchWhy {
        keyword: Some(Match::Typo),
        semantic: Some(0.42),
        merchandising: 1.0,
        featured: true,
        rules: vec!["summer-chairs".into()],
        ..SearchWhy::default()
    };
    found.items.push(SearchItem { delivery_days: None, base_price: None, ..semantic });
    found.approximate = true;
    vec![
        ("/api/search", to_json(&found)),
        ("/api/search", to_json(&search("q=lamp&sort=price_desc&in_stock=1"))),
        ("/api/search", to_json(&search(""))),
    ]
}

/// `/api/products/{id}` converted and not, and its related lists.
fn product_answers(items: &ItemIndex, products: &[Product], ctx: Ctx<'_>) -> Vec<(&'static str, Value)> {
    let shard = ProductShard { products: products.to_vec() };
    let related = RelatedResponse {
        items: vec![RelatedItem {
            card: products[0].card(7),
            score: 1.0,
            base_price: Some(products[0].price.clone()),
            delivery_days: Some(2),
        }],
        index_version: "v1".into(),
    };
    let bare = Ctx { country: None, locale: None, ..ctx };
    vec![
        ("/api/products/{id}", to_json(&serve::product(&shard, "a", ctx).expect("a"))),
        ("/api/products/{id}", to_json(&serve::product(&shard, "c", bare).expect("c"))),
        ("/api/products/{id}/similar", to_json(&serve::related(items, "a", false, ctx).expect("a"))),
        ("/api/products/{id}/bought-together", to_json(&related)),
    ]
}

/// The documented paths that can answer an error (`/api/feed` alone degrades with a `fallback`; an
/// unknown route is no documented path). Exhaustive, so a new kind of error must be placed.
fn answered_by(e: &Problem, path: &str) -> bool {
    match e {
        Problem::BadParam { .. } | Problem::Method { .. } | Problem::Unavailable(_) => true,
        Problem::UnknownProduct(_) => path.contains("{id}"),
        Problem::NoRoute(_) => false,
        Problem::Degraded(..) => path == "/api/feed",
        // The checkout's errors belong to its own endpoints, checked by `checkout_endpoints_*`.
        Problem::BadBody { .. }
        | Problem::TooLarge { .. }
        | Problem::BadSignature(_)
        | Problem::NotConfigured(_)
        | Problem::Provider(_)
        | Problem::Storage(_) => false,
    }
}

fn errors() -> Vec<Problem> {
    let (weights, locale) = (Weights::default(), locale());
    let popular = CardList { cards: products().iter().map(|p| p.card(1)).collect() };
    let fallback = serve::fallback_feed(&popular, 2, ctx(&weights, &locale));
    vec![
        route::route("GET", "/api/feed", "limit=0").expect_err("limit"),
        Problem::UnknownProduct("a".into()),
        route::route("GET", "/api/nope", "").expect_err("no route"),
        route::route("DELETE", "/api/feed", "").expect_err("method"),
        Problem::Unavailable("KV key v1/items is missing".into()),
        Problem::Degraded("KV key v1/items is missing".into(), Box::new(fallback)),
    ]
}

#[test]
fn schemas_describe_exactly_what_serde_writes() {
    let spec = spec();
    let mut seen = BTreeSet::new();
    for (path, answer) in answers() {
        let schema = &operation(&spec, path)["responses"]["200"]["content"]["application/json"]["schema"];
        check(&spec, &answer, schema, path, &mut seen).unwrap_or_else(|e| panic!("{e}\n{answer:#}"));
    }
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    for e in errors() {
        let body = to_json(&e.problem());
        check(&spec, &body, &problem, "problem", &mut seen).unwrap_or_else(|err| panic!("{err}\n{body:#}"));
        let mut answered = 0;
        for path in paths(&spec).into_iter().filter(|p| answered_by(&e, p)) {
            let doc = &operation(&spec, &path)["responses"][e.status().to_string()];
            assert!(
                doc["content"][PROBLEM_JSON].is_object(),
                "{path} does not document {}: {e:?}",
                e.status()
            );
            if matches!(e, Problem::Degraded(..)) {
                let text = doc["description"].as_str().unwrap_or_default();
                assert!(text.contains("`fallback`"), "{path}: {} does not mention `fallback`", e.status());
            }
            answered += 1;
        }
        assert_eq!(answered == 0, matches!(e, Problem::NoRoute(_)), "{e:?} is answered by {answered} paths");
    }

    for (schema, body) in checkout_bodies() {
        let schema = json!({ "$ref": format!("#/components/schemas/{schema}") });
        check(&spec, &body, &schema, "checkout", &mut seen).unwrap_or_else(|e| panic!("{e}\n{body:#}"));
    }
    for (_, e) in checkout_errors() {
        let body = to_json(&e.problem());
        check(&spec, &body, &problem, "problem", &mut seen).unwrap_or_else(|err| panic!("{err}\n{body:#}"));
    }

    // Every documented member appears in some answer: none is invented, misspelt or stale.
    let mut documented = BTreeSet::new();
    for (name, schema) in spec["components"]["schemas"].as_object().expect("schemas") {
        for member in schema["properties"].as_object().into_iter().flat_map(|p| p.keys()) {
            documented.insert(format!("{name}.{member}"));
        }
    }
    let never: Vec<&String> = documented.difference(&seen).collect();
    assert!(never.is_empty(), "documented but never written: {never:?}");
}

#[test]
fn the_checker_refuses_what_the_schemas_do_not_say() {
    let spec = spec();
    let mut seen = BTreeSet::new();
    let schema = json!({"$ref": "#/components/schemas/ProductResponse"});
    let (weights, locale) = (Weights::default(), locale());
    let shard = ProductShard { products: products() };
    let good = to_json(&serve::product(&shard, "a", ctx(&weights, &locale)).expect("a"));
    assert!(check(&spec, &good, &schema, "ok", &mut seen).is_ok());
    let mut extra = good.clone();
    extra["product"]["colour"] = json!("red");
    assert!(check(&spec, &extra, &schema, "extra", &mut seen).is_err(), "an undocumented member");
    let mut missing = good.clone();
    missing.as_object_mut().expect("object").remove("index_version");
    assert!(check(&spec, &missing, &schema, "missing", &mut seen).is_err(), "a missing required member");
    let mut wrong = good;
    wrong["delivery"]["days"] = json!("two");
    assert!(check(&spec, &wrong, &schema, "wrong", &mut seen).is_err(), "a wrong type");
}

/// Bodies of the checkout's requests and answers, as serde reads and writes them, by schema name.
fn checkout_bodies() -> Vec<(&'static str, Value)> {
    use ranking::wire::{CartLine, CheckoutRequest, CheckoutResponse, CheckoutStatus};
    let cart =
        CheckoutRequest { lines: vec![CartLine { id: "a".into(), quantity: 2 }], locale: Some("de".into()) };
    let parsed = crate::checkout::cart(Some("application/json"), &serde_json::to_vec(&cart).expect("json"));
    assert_eq!(parsed.as_ref(), Ok(&cart), "the request reads back");
    vec![
        ("CheckoutRequest", to_json(&cart)),
        (
            "CheckoutResponse",
            to_json(&CheckoutResponse { url: "https://checkout.stripe.com/c/pay/cs_1".into() }),
        ),
        ("CheckoutStatus", to_json(&CheckoutStatus { enabled: false })),
        ("WebhookAnswer", json!({ "received": true, "recorded": false })),
        ("EventsAnswer", json!({ "accepted": 2, "stored": true })),
        ("EventBatch", to_json(&event_batch())),
    ]
}

/// Each error the checkout's endpoints answer, with the (path, method) answering it.
fn checkout_errors() -> Vec<((&'static str, &'static str), Problem)> {
    let checkout = ("/api/checkout", "post");
    let webhook = ("/api/stripe/webhook", "post");
    let events = ("/api/events", "post");
    let empty = crate::checkout::cart(Some("application/json"), br#"{"lines":[]}"#).expect("parses");
    let weights = Weights::default();
    let priced = crate::checkout::session_form(&empty, |_| None, &ctx(&weights, &locale()), "https://s");
    vec![
        (checkout, priced.expect_err("an empty cart")),
        (checkout, crate::checkout::cart(Some("text/plain"), b"").expect_err("content type")),
        (checkout, Problem::TooLarge { limit: crate::checkout::MAX_CHECKOUT_BODY }),
        (checkout, Problem::NotConfigured("no key")),
        (checkout, Problem::Provider("Stripe answered 400".into())),
        (checkout, Problem::Unavailable("KV key v1/manifest is missing".into())),
        (
            ("/api/checkout", "get"),
            route::endpoint("GET", "/api/checkout", "country=Germany", None).map_or_else(
                |e| e,
                |_| route::shopper_country("country=Germany", None).expect_err("country"),
            ),
        ),
        (webhook, crate::checkout::webhook(None, b"{}", "whsec", 0).expect_err("unsigned")),
        (webhook, Problem::TooLarge { limit: crate::checkout::MAX_WEBHOOK_BODY }),
        (webhook, Problem::NotConfigured("no webhook secret")),
        (webhook, Problem::Storage("order store: D1 failed".into())),
        (events, crate::events::batch(Some("text/html"), b"{}").expect_err("content type")),
        (events, Problem::TooLarge { limit: ranking::events::MAX_BATCH_BYTES }),
        (events, Problem::Storage("D1 failed".into())),
    ]
}

/// The documented operations of the checkout's paths, as (path, method).
fn checkout_operations(spec: &Value) -> Vec<(String, String)> {
    COMMERCE
        .iter()
        .flat_map(|path| {
            let ops = spec["paths"][*path].as_object().unwrap_or_else(|| panic!("{path} is not documented"));
            ops.keys().map(|m| ((*path).to_owned(), m.clone())).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn checkout_endpoints_route_as_documented_and_refuse_other_methods() {
    use crate::route::Endpoint;
    let spec = spec();
    let operations = checkout_operations(&spec);
    for (path, method) in &operations {
        let e = route::endpoint(&method.to_uppercase(), path, "", None)
            .unwrap_or_else(|e| panic!("{path} {method}: {e}"));
        let expected = match (path.as_str(), method.as_str()) {
            ("/api/checkout", "get") => Endpoint::CheckoutStatus,
            ("/api/checkout", "post") => Endpoint::Checkout,
            ("/api/stripe/webhook", "post") => Endpoint::StripeWebhook,
            ("/api/events", "post") => Endpoint::Events,
            other => panic!("undocumented operation {other:?} in the test"),
        };
        assert_eq!(e, expected, "{path} {method}");
    }
    for path in COMMERCE {
        let documented: Vec<String> =
            operations.iter().filter(|(p, _)| p == path).map(|(_, m)| m.to_uppercase()).collect();
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            match route::endpoint(method, path, "", None) {
                Ok(_) => {
                    assert!(documented.iter().any(|m| m == method), "{path} answers undocumented {method}")
                }
                Err(e) => {
                    assert!(!documented.iter().any(|m| m == method), "{path} refuses documented {method}");
                    let allow = e.allow().expect("405 names what is allowed");
                    let op = &spec["paths"][path][documented[0].to_lowercase()];
                    let header = resolve(&spec, &op["responses"]["405"]["headers"]["Allow"]);
                    assert_eq!(header["schema"]["const"], json!(allow), "{path}: documented Allow");
                    for m in &documented {
                        assert!(allow.contains(m.as_str()), "{path}: Allow lacks {m}");
                    }
                }
            }
        }
        let huge = "a".repeat(20_000);
        assert_eq!(refused(route::endpoint("POST", path, &huge, None).map(|_| Route::Pack)), "query");
    }
}

#[test]
fn checkout_errors_are_documented_as_problem_json_where_they_happen() {
    let spec = spec();
    let operations = checkout_operations(&spec);
    let mut answered = BTreeSet::new();
    for ((path, method), e) in checkout_errors() {
        let doc = &spec["paths"][path][method]["responses"][e.status().to_string()];
        assert!(
            doc["content"][PROBLEM_JSON].is_object(),
            "{path} {method} does not document {}: {e:?}",
            e.status()
        );
        let slug = e.problem().kind.rsplit('#').next().expect("slug").to_owned();
        let text = doc["description"].as_str().unwrap_or_default();
        assert!(
            text.contains(&slug) || e.status() == 400,
            "{path} {method} {}: type {slug} not named",
            e.status()
        );
        answered.insert((path.to_owned(), method.to_owned(), e.status().to_string()));
    }
    // And no documented error status is one the code cannot answer.
    for (path, method) in operations {
        let responses = spec["paths"][&path][&method]["responses"].as_object().expect("responses");
        for status in responses.keys().filter(|s| !["200", "202", "405"].contains(&s.as_str())) {
            assert!(
                answered.contains(&(path.clone(), method.clone(), status.clone())),
                "{path} {method} documents {status}, which no sample error answers"
            );
        }
    }
}

/// A batch with every field of an event, as the app sends it, read back by the edge's parser.
fn event_batch() -> ranking::events::EventBatch {
    use ranking::events::{EventBatch, EventKind, ShopEvent, Surface};
    let batch = EventBatch {
        batch: "b".repeat(20),
        session: "s".repeat(20),
        events: vec![ShopEvent {
            kind: EventKind::Impression,
            surface: Surface::Home,
            list: Some("trending".into()),
            item: "a".into(),
            position: Some(0),
            at: 1,
        }],
    };
    let parsed = crate::events::batch(Some("application/json"), &serde_json::to_vec(&batch).expect("json"));
    assert_eq!(parsed.as_ref(), Ok(&batch), "the batch reads back");
    batch
}
