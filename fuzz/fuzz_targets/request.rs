//! Fuzz target: any request line, query string and headers through the edge's parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    // method \n path \n query \n x-history \n cookie
    let mut parts = s.splitn(5, '\n');
    let method = parts.next().unwrap_or("GET");
    let path = parts.next().unwrap_or("/api/feed");
    let query = parts.next().unwrap_or("");
    let history = parts.next();
    let cookie = parts.next();
    if let Ok(route) = edge::route::route_with_history(method, path, query, history) {
        let _ = route.cache_key();
    }
    let _ = edge::route::route("GET", path, query);
    let _ = edge::route::shopper_country(query, history);
    let _ = edge::route::shopper_currency(query);
    let _ = edge::route::client_hash(cookie, history);
    let _ = edge::seo::product_path_id(path);
    let _ = edge::seo::escape(query);
    let _ = edge::seo::shell_csp(s);
});
