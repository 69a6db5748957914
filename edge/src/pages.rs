//! The HTML pages the edge serves itself: the home page with its prerendered feed and product pages
//! with their head tags, assembled from the app shell and the build ([`crate::seo`] writes the HTML).

use ranking::kv;
use ranking::locale::Locale;
use ranking::weights::Weights;
use ranking::wire::{CategoriesResponse, FeedResponse, ProductResponse, SearchQuery, SearchResponse};
use ranking::{Price, Product};

use crate::problem::Problem;
use crate::serve::stored_product;
use crate::store::{FellBack, Kv, current_version, optional, warn};
use crate::{prerender, seo};
use ranking::answer::Ctx;

/// Items per section of the prerendered home feed (the app asks for as many).
pub const PRERENDER_ITEMS: usize = 12;

/// A page before it becomes a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub status: u16,
    pub html: String,
    /// The shell's CSP (the hash of its inline loader).
    pub csp: String,
    pub cache_control: &'static str,
}

/// The home page: the shell with the history-free feed (the `/api/feed` answer's body) as the app's
/// own markup, and the answer itself for the app to start from, so the first grid needs no wasm and
/// stays when the app starts (`url`: the page's path and query); the plain shell when the feed cannot be read.
pub fn home_page(shell: &str, url: &str, feed: Result<Vec<u8>, Problem>) -> Page {
    let parsed = feed.and_then(|body| {
        let feed =
            serde_json::from_slice::<FeedResponse>(&body).map_err(|e| Problem::Unavailable(e.to_string()))?;
        Ok((feed, body))
    });
    let html = match parsed {
        Ok((feed, body)) => prerender::page(shell, url, "", &prerender::home_main(&feed), &[("feed", &body)]),
        Err(e) => {
            warn(&format!("home page without its feed: {e}"));
            shell.to_owned()
        }
    };
    // Prices follow the country and the experiment variant the cookie picks.
    Page { status: 200, html, csp: seo::shell_csp(shell), cache_control: "no-cache" }
}

/// A results page's URL: `/search?…` (a search) or `/c/{path}?…` (a category's products), and `/c`
/// (the category list, no search).
#[derive(Debug, Clone, PartialEq)]
pub struct ResultsUrl {
    pub query: SearchQuery,
    /// `/search` or `/c`.
    pub base: &'static str,
    /// The category path of a `/c` page (empty for `/c` itself); `None` on `/search`.
    pub category: Option<String>,
}

impl ResultsUrl {
    /// The results page `path` and `query` name, `None` for any other path. On `/c/{path}` the
    /// category comes from the path and the query's `q` and `category` are ignored, as the app does.
    pub fn parse(path: &str, query: Option<&str>) -> Option<ResultsUrl> {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect();
        let mut q = SearchQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if path == "/search" {
            return Some(ResultsUrl { query: q, base: "/search", category: None });
        }
        let tail = if path == "/c" { "" } else { path.strip_prefix("/c/")? };
        let category =
            percent_encoding::percent_decode_str(tail).decode_utf8().ok()?.trim_matches('/').to_owned();
        q.q = String::new();
        q.category = (!category.is_empty()).then(|| category.clone());
        Some(ResultsUrl { query: q, base: "/c", category: Some(category) })
    }

    /// Whether the page shows search results (every page but the category list).
    pub fn searches(&self) -> bool {
        self.category.as_deref() != Some("")
    }

    /// The `GET /api/search` query string that answers this page, as the app asks it.
    pub fn api_query(&self) -> String {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(self.query.pairs()).finish()
    }
}

/// A search or category page: the shell with the edge's answers (`search` when the page searches,
/// `categories` on category pages) as the app's markup, and the answers for the app to start from.
/// `url` is the page's path and query. The plain shell when an answer cannot be read (the app then
/// asks, and shows what is wrong).
pub fn results_page(
    shell: &str,
    url: &str,
    page: &ResultsUrl,
    search: Option<Result<Vec<u8>, Problem>>,
    categories: Option<Result<Vec<u8>, Problem>>,
) -> Page {
    let plain = |e: Problem| {
        warn(&format!("results page without its content: {e}"));
        Page { status: 200, html: shell.to_owned(), csp: seo::shell_csp(shell), cache_control: "no-store" }
    };
    let mut main = String::new();
    let mut data: Vec<(&str, Vec<u8>)> = Vec::new();
    if let Some(tree) = categories {
        let body = match tree {
            Ok(b) => b,
            Err(e) => return plain(e),
        };
        match serde_json::from_slice::<CategoriesResponse>(&body) {
            Ok(t) => main
                .push_str(&prerender::category_head(&t.categories, page.category.as_deref().unwrap_or(""))),
            Err(e) => return plain(Problem::Unavailable(e.to_string())),
        }
        data.push(("categories", body));
    }
    if let Some(search) = search {
        let body = match search {
            Ok(b) => b,
            Err(e) => return plain(e),
        };
        match serde_json::from_slice::<SearchResponse>(&body) {
            Ok(r) => main.push_str(&prerender::results(&r, &page.query, page.base)),
            Err(e) => return plain(Problem::Unavailable(e.to_string())),
        }
        data.push(("search", body));
    }
    let blocks: Vec<(&str, &[u8])> = data.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let mut html = prerender::page(shell, url, &page.query.q, &main, &blocks);
    if page.base == "/search" {
        // Every query and facet combination is a URL: crawlers follow its links to the products and
        // category pages (the pages to index) but keep the results pages themselves out.
        html = seo::with_head_tags(&html, seo::NOINDEX);
    }
    // Answers follow the country and the experiment variant the cookie picks.
    Page { status: 200, html, csp: seo::shell_csp(shell), cache_control: "no-cache" }
}

/// A product page with the product's article prerendered from the `/api/products/{id}` answer (and
/// that answer for the app); the page unchanged when there is none.
pub fn with_product(page: Page, url: &str, answer: Result<Vec<u8>, Problem>) -> Page {
    let parsed = answer.and_then(|body| {
        let r = serde_json::from_slice::<ProductResponse>(&body)
            .map_err(|e| Problem::Unavailable(e.to_string()))?;
        Ok((r, body))
    });
    match parsed {
        Ok((r, body)) => {
            let html = prerender::page(&page.html, url, "", &prerender::product(&r), &[("product", &body)]);
            Page { html, ..page }
        }
        Err(e) => {
            warn(&format!("product page without its content: {e}"));
            page
        }
    }
}

/// A product page: the SPA shell with the product's title, description, OpenGraph and JSON-LD, so
/// crawlers and link previews see the product without running wasm. Unknown products get the shell
/// with status 404 (the app shows its own message); an unreadable index, the plain shell.
pub async fn product_page(
    store: &impl Kv,
    shell: &str,
    origin: &str,
    id: &str,
    country: Option<&str>,
    currency: Option<&str>,
) -> Page {
    let fell = FellBack::default();
    let (status, html, tagged) = match product_meta(store, id, country, currency, &fell).await {
        Ok((product, price, in_stock)) => {
            let canonical = seo::product_url(origin, id);
            let image = seo::absolute(origin, &product.image_url());
            let meta = seo::ProductMeta {
                product: &product,
                price: &price,
                canonical: &canonical,
                image: &image,
                in_stock,
            };
            (200, seo::product_page(shell, &meta), true)
        }
        Err(Problem::UnknownProduct(_)) => (404, shell.to_owned(), false),
        Err(e) => {
            warn(&format!("product page {id} without SEO tags: {e}"));
            (200, shell.to_owned(), false)
        }
    };
    // Only a complete page may be kept by shared caches: a 404 (the product may be listed by the next
    // build) or a page without its tags or prices must not outlive the fault.
    let complete = tagged && fell.borrow().is_empty();
    let cache_control = if complete { "public, max-age=60" } else { "no-store" };
    Page { status, html, csp: seo::shell_csp(shell), cache_control }
}

/// The product, its price in the shopper's currency and whether it is in stock anywhere.
async fn product_meta(
    store: &impl Kv,
    id: &str,
    country: Option<&str>,
    currency: Option<&str>,
    fell: &FellBack,
) -> Result<(Product, Price, Option<bool>), Problem> {
    let version = current_version(store).await?;
    let v = version.as_str();
    let product = stored_product(store, v, id).await?;
    let locale = optional::<Locale>(store, v, &kv::keys::locale(v), "locale", fell).await;
    let weights = Weights::default();
    let ctx = Ctx {
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
