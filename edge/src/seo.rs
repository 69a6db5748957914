//! Server-side SEO for product pages: the SPA's HTML shell with the product's title, description,
//! canonical URL, OpenGraph tags and schema.org Product JSON-LD injected, every product string escaped,
//! and the Content-Security-Policy that lets the shell's own scripts and wasm run and nothing else.

use base64::Engine;
use ranking::catalog::{Price, Product};
use sha2::{Digest, Sha256};

/// Longest description put in meta tags (search engines cut around 160 characters).
const META_DESCRIPTION: usize = 300;

/// The product id of an app product URL (`/p/{percent-encoded id}`), `None` for other paths and for
/// ids that could not exist (empty, too long, a further `/`).
pub fn product_path_id(path: &str) -> Option<String> {
    let raw = path.strip_prefix("/p/")?;
    let id = percent_encoding::percent_decode_str(raw).decode_utf8().ok()?;
    let fine = !id.is_empty() && id.chars().count() <= ranking::catalog::MAX_ID && !raw.contains('/');
    fine.then(|| id.into_owned())
}

/// Characters a product id keeps unescaped in its URL: the same as JavaScript's
/// `encodeURIComponent`, so the canonical URL equals the links the app makes.
pub(crate) const URL_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// An absolute URL for a path on this origin (`/img/…`) or the URL itself otherwise (`//host/…` is
/// not a path here: [`ranking::catalog::is_own_path`]).
pub fn absolute(origin: &str, url: &str) -> String {
    if ranking::catalog::is_own_path(url) { format!("{origin}{url}") } else { url.to_owned() }
}

/// The canonical URL of a product page.
pub fn product_url(origin: &str, id: &str) -> String {
    format!("{origin}/p/{}", percent_encoding::utf8_percent_encode(id, URL_COMPONENT))
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: no `<`, `>` or `&` can end the element or open a comment.
fn script_json(value: &serde_json::Value) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// What a product page's head says about the product.
#[derive(Debug, Clone)]
pub struct ProductMeta<'a> {
    pub product: &'a Product,
    /// Price in the shopper's currency.
    pub price: &'a Price,
    /// Absolute URL of the product page.
    pub canonical: &'a str,
    /// Absolute URL of the product image.
    pub image: &'a str,
    /// In stock somewhere (None: the catalog has no stock data).
    pub in_stock: Option<bool>,
}

/// The product's schema.org JSON-LD: offer, availability, brand and rating when known.
fn product_json_ld(meta: &ProductMeta<'_>) -> serde_json::Value {
    let p = meta.product;
    let mut ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.title,
        "sku": p.id,
        "image": meta.image,
        "url": meta.canonical,
        "category": p.category.join(" > "),
        "offers": {
            "@type": "Offer",
            "price": format!("{:.2}", meta.price.amount),
            "priceCurrency": meta.price.currency,
            "url": meta.canonical,
        },
    });
    if let Some(d) = &p.description {
        ld["description"] = d.as_str().into();
    }
    if let Some(b) = &p.brand {
        ld["brand"] = serde_json::json!({"@type": "Brand", "name": b});
    }
    if let Some(stock) = meta.in_stock {
        ld["offers"]["availability"] =
            if stock { "https://schema.org/InStock" } else { "https://schema.org/OutOfStock" }.into();
    }
    if let Some(r) = p.rating.as_ref().filter(|r| r.count > 0 && r.average.is_finite()) {
        ld["aggregateRating"] =
            serde_json::json!({"@type": "AggregateRating", "ratingValue": r.average, "reviewCount": r.count});
    }
    ld
}

/// The shell with the product's head tags: `<title>` and the description meta replaced, the rest
/// inserted before `</head>`. A shell without `</head>` is returned with the tags prepended.
pub fn product_page(shell: &str, meta: &ProductMeta<'_>) -> String {
    let p = meta.product;
    let title = escape(&p.title);
    let description: String =
        p.description.as_deref().unwrap_or(&p.title).chars().take(META_DESCRIPTION).collect();
    let description = escape(&description);
    let ld = product_json_ld(meta);
    let (canonical, image) = (escape(meta.canonical), escape(meta.image));
    let price = format!("{:.2}", meta.price.amount);
    let currency = escape(&meta.price.currency);
    let tags = format!(
        "<link rel=\"canonical\" href=\"{canonical}\">\n\
         <meta property=\"og:type\" content=\"product\">\n\
         <meta property=\"og:title\" content=\"{title}\">\n\
         <meta property=\"og:description\" content=\"{description}\">\n\
         <meta property=\"og:url\" content=\"{canonical}\">\n\
         <meta property=\"og:image\" content=\"{image}\">\n\
         <meta property=\"product:price:amount\" content=\"{price}\">\n\
         <meta property=\"product:price:currency\" content=\"{currency}\">\n\
         <script type=\"application/ld+json\">{}</script>\n",
        script_json(&ld)
    );
    let html = replace_element(shell, "<title>", "</title>", &format!("<title>{title} · Shopfront</title>"));
    with_head_tags(&replace_description(&html, &description), &tags)
}

/// The robots tag of pages crawlers should follow but not index.
pub const NOINDEX: &str = "<meta name=\"robots\" content=\"noindex, follow\">\n";

/// `html` with `tags` inserted before `</head>` (prepended when there is none).
pub fn with_head_tags(html: &str, tags: &str) -> String {
    match html.find("</head>") {
        Some(i) => format!("{}{tags}{}", &html[..i], &html[i..]),
        None => format!("{tags}{html}"),
    }
}

fn replace_element(html: &str, open: &str, close: &str, with: &str) -> String {
    let Some(start) = html.find(open) else { return html.to_owned() };
    let Some(len) = html[start..].find(close) else { return html.to_owned() };
    format!("{}{with}{}", &html[..start], &html[start + len + close.len()..])
}

fn replace_description(html: &str, description: &str) -> String {
    let Some(start) = html.find("<meta name=\"description\"") else { return html.to_owned() };
    let Some(len) = html[start..].find('>') else { return html.to_owned() };
    format!(
        "{}<meta name=\"description\" content=\"{description}\">{}",
        &html[..start],
        &html[start + len + 1..]
    )
}

/// The Content-Security-Policy for the app shell: scripts only from this origin plus the shell's own
/// inline scripts by hash (the module loader the build writes), wasm compilation allowed, no plugins, no framing, API
/// calls to this origin only. JSON-LD blocks are data, not scripts, and need no hash.
pub fn shell_csp(shell: &str) -> String {
    let hashes: Vec<String> = inline_scripts(shell)
        .into_iter()
        .map(|s| {
            let digest = Sha256::digest(s.as_bytes());
            format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {}; style-src 'self'; img-src 'self' data: https:; \
         connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'",
        hashes.join(" ")
    )
}

/// Bodies of executable inline `<script>` elements (no `src`, no JSON data type).
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<script") {
        let after = &rest[i..];
        let Some(tag_end) = after.find('>') else { break };
        let tag = &after[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = after[body_start..].find("</script>") else { break };
        // Data blocks (JSON-LD, the prerendered answer) are never run.
        let data = tag.contains("type=\"application/ld+json\"") || tag.contains("type=\"application/json\"");
        let executable = !tag.contains("src=") && !data;
        if executable {
            out.push(&after[body_start..body_start + close]);
        }
        rest = &after[body_start + close..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHELL: &str = "<!doctype html><html><head><title>Shopfront</title>\n\
        <meta name=\"description\" content=\"Generic\">\n<script type=\"module\">import init from '/app.js';</script>\n\
        </head><body></body></html>";

    fn meta<'a>(p: &'a Product, price: &'a Price) -> ProductMeta<'a> {
        ProductMeta {
            product: p,
            price,
            canonical: "https://shop.test/p/A%201",
            image: "https://shop.test/img/a.svg",
            in_stock: Some(true),
        }
    }

    #[test]
    fn injects_title_description_opengraph_and_json_ld() {
        let mut p = Product::new(
            "A 1",
            "Oak Chair",
            vec!["Furniture".into(), "Chairs".into()],
            Price { amount: 20.0, currency: "USD".into() },
        );
        p.description = Some("Solid oak, seats one.".into());
        let price = Price { amount: 18.2, currency: "EUR".into() };
        let html = product_page(SHELL, &meta(&p, &price));
        assert!(html.contains("<title>Oak Chair · Shopfront</title>"), "{html}");
        assert!(html.contains("<meta name=\"description\" content=\"Solid oak, seats one.\">"));
        assert!(!html.contains("Generic"));
        assert!(html.contains("<link rel=\"canonical\" href=\"https://shop.test/p/A%201\">"));
        assert!(html.contains("<meta property=\"og:title\" content=\"Oak Chair\">"));
        assert!(html.contains("<meta property=\"product:price:currency\" content=\"EUR\">"));
        let start = html.find("application/ld+json\">").unwrap() + "application/ld+json\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let ld: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(ld["@type"], "Product");
        assert_eq!(ld["sku"], "A 1");
        assert_eq!(ld["offers"]["price"], "18.20");
        assert_eq!(ld["offers"]["availability"], "https://schema.org/InStock");
        assert!(html.find("</head>").unwrap() > end, "tags go inside the head");
    }

    #[test]
    fn product_text_cannot_inject_markup() {
        let evil = "</title><script>alert(1)</script>\"'&";
        let mut p =
            Product::new("x", evil, vec!["<b>".into()], Price { amount: 1.0, currency: "USD".into() });
        p.description = Some("</script><script>alert(2)</script>".into());
        p.brand = Some("<img src=x onerror=alert(3)>".into());
        let price = p.price.clone();
        let html = product_page(SHELL, &meta(&p, &price));
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(html.contains("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
        // Exactly the shell's script and the JSON-LD block remain as script elements.
        assert_eq!(html.matches("<script").count(), 2);
        assert_eq!(inline_scripts(&html).len(), 1, "JSON-LD is not executable");
        let start = html.find("application/ld+json\">").unwrap() + "application/ld+json\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let ld: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(ld["name"], evil, "the JSON-LD still carries the exact text");
    }

    #[test]
    fn og_image_is_the_products_own_or_https_never_another_host() {
        let mut p = Product::new(
            "x",
            "Lamp",
            vec!["Furniture".into()],
            Price { amount: 1.0, currency: "USD".into() },
        );
        for (image, shown) in [
            ("/img/lamp.png", "https://shop.test/img/lamp.png"),
            ("https://cdn.test/lamp.png", "https://cdn.test/lamp.png"),
            // Stored by a build from before images were checked: the placeholder instead.
            ("//evil.test/x.png", "https://shop.test/img/category/furniture.svg"),
            ("http://cdn.test/x.png", "https://shop.test/img/category/furniture.svg"),
        ] {
            p.image = Some(image.into());
            assert_eq!(absolute("https://shop.test", &p.image_url()), shown, "{image}");
        }
    }

    #[test]
    fn product_paths() {
        assert_eq!(product_path_id("/p/FUR-BO-1").as_deref(), Some("FUR-BO-1"));
        assert_eq!(product_path_id("/p/A%201").as_deref(), Some("A 1"));
        assert_eq!(product_path_id("/p/"), None);
        assert_eq!(product_path_id("/p/a/b"), None);
        assert_eq!(product_path_id("/search"), None);
        assert_eq!(product_path_id(&format!("/p/{}", "x".repeat(500))), None);
        assert_eq!(
            product_url("https://s.test", "FUR-BO-1 (x)/é"),
            "https://s.test/p/FUR-BO-1%20(x)%2F%C3%A9"
        );
        assert_eq!(product_path_id("/p/FUR-BO-1%20(x)%2F%C3%A9").as_deref(), Some("FUR-BO-1 (x)/é"));
    }

    #[test]
    fn csp_allows_exactly_the_shell_scripts() {
        let csp = shell_csp(SHELL);
        let digest = Sha256::digest("import init from '/app.js';".as_bytes());
        let hash = base64::engine::general_purpose::STANDARD.encode(digest);
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
        assert!(csp.contains("'wasm-unsafe-eval'") && !csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"));
        // Imported catalogs (Shopify, Merchant Center) link product images on their CDNs.
        assert!(csp.contains("img-src 'self' data: https:"), "{csp}");
        assert_eq!(csp.matches("sha256-").count(), 1);
    }
}
