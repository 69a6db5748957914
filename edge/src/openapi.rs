//! Keeps `edge/openapi.json` true to the router: every documented path routes, every route is
//! documented, and the documented parameters and sort values are the ones the parser accepts.

use serde_json::Value;

use crate::api::{Route, route};

fn spec() -> Value {
    serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json is valid JSON")
}

/// The documented path a route answers, by variant: a new variant fails to compile here until it is
/// added, and then the test fails until it is documented.
fn documented_path(r: &Route) -> &'static str {
    match r {
        Route::Feed { .. } => "/api/feed",
        Route::Search(_) => "/api/search",
        Route::Suggest { .. } => "/api/suggest",
        Route::Categories => "/api/categories",
        Route::Product { .. } => "/api/products/{id}",
        Route::Similar { .. } => "/api/products/{id}/similar",
        Route::BoughtTogether { .. } => "/api/products/{id}/bought-together",
    }
}

#[test]
fn every_documented_path_routes_and_every_route_is_documented() {
    let spec = spec();
    let paths = spec["paths"].as_object().expect("paths");
    let mut routed = Vec::new();
    for path in paths.keys() {
        let concrete = path.replace("{id}", "FUR-BO-1%20x");
        let r = route("GET", &concrete, "").unwrap_or_else(|e| panic!("{path} does not route: {e}"));
        assert_eq!(documented_path(&r), path, "{path} routes to {r:?}");
        routed.push(documented_path(&r));
    }
    let all = [
        Route::Feed { limit: 1, history: vec![] },
        Route::Search(match route("GET", "/api/search", "").expect("search") {
            Route::Search(p) => p,
            other => panic!("{other:?}"),
        }),
        Route::Suggest { q: String::new() },
        Route::Categories,
        Route::Product { id: "a".into() },
        Route::Similar { id: "a".into() },
        Route::BoughtTogether { id: "a".into() },
    ];
    for r in &all {
        assert!(routed.contains(&documented_path(r)), "{} is not documented", documented_path(r));
    }
}

#[test]
fn search_parameters_and_sorts_match_the_parser() {
    let spec = spec();
    let params: Vec<&str> = spec["paths"]["/api/search"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in
        ["q", "category", "min_price", "max_price", "in_stock", "sort", "history", "page", "limit", "country"]
    {
        assert!(params.contains(&name), "/api/search does not document `{name}`");
    }
    let sort = spec["paths"]["/api/search"]["get"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "sort"))
        .and_then(|p| p["schema"]["enum"].as_array())
        .expect("sort enum");
    for value in sort {
        let v = value.as_str().expect("string");
        assert!(route("GET", "/api/search", &format!("sort={v}")).is_ok(), "documented sort {v} is refused");
    }
    let e = route("GET", "/api/search", "sort=cheapest").expect_err("undocumented sort");
    assert_eq!((e.status(), e.problem().param.as_deref()), (400, Some("sort")));
    // Documented bounds are the enforced ones.
    let limit = |q: &str| route("GET", "/api/feed", q).map(|_| ()).map_err(|e| e.status());
    assert_eq!((limit("limit=100"), limit("limit=101"), limit("limit=0")), (Ok(()), Err(400), Err(400)));
}

#[test]
fn errors_are_documented_as_problem_json() {
    let spec = spec();
    let mut seen = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (status, resp) in item["get"]["responses"].as_object().expect("responses") {
            if status.starts_with('4') || status.starts_with('5') {
                seen += 1;
                assert!(
                    resp["content"][crate::problem::PROBLEM_JSON].is_object(),
                    "{path} {status} is not problem+json"
                );
            }
        }
    }
    assert!(seen >= 7 * 3, "every path documents 400, 405 and 503 at least ({seen})");
}
