//! The HTML pages the edge serves itself: the home page with its prerendered feed and product pages
//! with their head tags, assembled from the app shell and the build ([`crate::seo`] writes the HTML).

use ranking::kv;
use ranking::locale::Locale;
use ranking::weights::Weights;
use ranking::wire::FeedResponse;
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
        Ok((feed, body)) => prerender::page(shell, url, "", &prerender::home_main(&feed), Some(&body)),
        Err(e) => {
            warn(&format!("home page without its feed: {e}"));
            shell.to_owned()
        }
    };
    // Prices follow the country and the experiment variant the cookie picks.
    Page { status: 200, html, csp: seo::shell_csp(shell), cache_control: "no-cache" }
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
