//! The first screen of an entry page as plain HTML, in the app's own markup: the header and the
//! page's main content, so a shared link paints at once, crawlers see products, and the app takes the
//! nodes over instead of painting anew (the home feed's grid) or swaps in identical markup.
//!
//! The markup mirrors the app's components (`app/src/components.rs`, `app/src/routes/`) in English,
//! the app's default language; the browser test compares the two element by element. Every string
//! from the catalog is escaped; nothing here is a script, so the shell's CSP stays as it is.

use ranking::Card;
use ranking::index::CategoryNode;
use ranking::page::{Chip, ResultsPage};
use ranking::wire::{FeedResponse, NotePart, ProductResponse, SearchQuery, SearchResponse};

use crate::seo::{URL_COMPONENT, escape};

/// Id of the element holding the prerendered header and main content.
pub const ROOT_ID: &str = "prerender";
/// Id prefix of the JSON data blocks with the answers the content was made from (the app starts from
/// them): `prerender-data-feed`, `prerender-data-search`, …
pub const DATA_ID: &str = "prerender-data";

/// Cards a phone shows before any scrolling (the app's `ABOVE_THE_FOLD`): eager images, the first
/// with high priority.
const ABOVE_THE_FOLD: usize = 4;

/// The app's header as the app renders it, in English: same boxes, so taking it over shifts nothing.
/// The cart count keeps its room but is not shown (the cart is on the device). A plain GET form, so
/// search works before the wasm has loaded.
fn header(q: &str) -> String {
    format!(
        "<header class=\"site-header\"><a href=\"/\" class=\"brand\">Shopfront</a>\
         <form class=\"search\" role=\"search\" action=\"/search\">\
         <input type=\"search\" name=\"q\" placeholder=\"Search products\" aria-label=\"Search products\" \
         autocomplete=\"off\" enterkeyhint=\"search\" value=\"{}\"><button type=\"submit\">Search</button></form>\
         <nav class=\"site-nav\" aria-label=\"Shop\"><a href=\"/c\">Categories</a><a href=\"/wishlist\">Wishlist</a>\
         <a href=\"/cart\">Cart <span class=\"count\">0</span></a>\
         <a href=\"/settings\">Settings</a></nav></header>",
        escape(q)
    )
}

/// The shell with `main` (the page's content) and its header inserted as the body's first child, and
/// `data` (the JSON answers it was made from, by name: `feed`, `search`, `categories`, `product`) as
/// data blocks the app reads instead of asking again. `path` is the URL (path and query) the content
/// belongs to, `q` the search box's text. A shell without `<body>` is returned unchanged.
pub fn page(shell: &str, path: &str, q: &str, main: &str, data: &[(&str, &[u8])]) -> String {
    let Some(at) = shell.find("<body>").map(|i| i + "<body>".len()) else { return shell.to_owned() };
    let mut html =
        format!("<div id=\"{ROOT_ID}\" data-path=\"{}\">{}<main>{main}</main>", escape(path), header(q));
    for (name, body) in data {
        if let Ok(json) = std::str::from_utf8(body) {
            html.push_str(&format!(
                "<script type=\"application/json\" id=\"{DATA_ID}-{}\">{}</script>",
                escape(name),
                script_safe(json)
            ));
        }
    }
    html.push_str("</div>");
    format!("{}{html}{}", &shell[..at], &shell[at..])
}

/// JSON text safe inside a `<script>` element: `<`, `>` and `&` only occur inside JSON strings, where
/// their `\u` escapes mean the same, and then nothing can close the element or open a comment.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// One card as the app's `ProductCard` renders it. `lead`: its position in the page's leading grid.
#[derive(Debug)]
pub struct CardHtml<'a> {
    pub card: &'a Card,
    pub note: Option<String>,
    pub featured: bool,
    pub lead: Option<usize>,
}

impl CardHtml<'_> {
    fn render(&self, out: &mut String) {
        let c = self.card;
        let loading = match self.lead {
            Some(0) => " fetchpriority=\"high\"",
            Some(i) if i < ABOVE_THE_FOLD => "",
            _ => " loading=\"lazy\"",
        };
        let id = escape(&c.id);
        let href = escape(&percent_encoding::utf8_percent_encode(&c.id, URL_COMPONENT).to_string());
        out.push_str(&format!("<li class=\"card\" data-id=\"{id}\"><a href=\"/p/{href}\">"));
        if self.featured {
            out.push_str("<span class=\"badge\">Featured</span>");
        }
        out.push_str(&format!(
            "<img src=\"{}\" alt=\"\" width=\"240\" height=\"240\" decoding=\"async\"{loading}>\
             <span class=\"card-title\">{}</span></a><span class=\"card-meta\"><span class=\"price\">{}</span>",
            escape(&c.image),
            escape(&c.title),
            escape(&c.price.label()),
        ));
        if let Some(l) = c.list_price {
            let was = ranking::Price { amount: l, currency: c.price.currency.clone() };
            out.push_str(&format!(
                "<s class=\"list-price\" aria-label=\"regular price\">{}</s>",
                escape(&was.label())
            ));
        }
        out.push_str(&format!(
            "<span class=\"category\">{}</span></span>",
            escape(c.category.last().map_or("", String::as_str))
        ));
        if let Some(n) = &self.note {
            out.push_str(&format!("<span class=\"why\">{}</span>", escape(n)));
        }
        out.push_str("</li>");
    }
}

/// The app's `Grid`: the cards in a list named `list` for the shop's measurement.
pub fn grid(cards: &[CardHtml<'_>], list: &str) -> String {
    let mut out = format!("<ul class=\"grid\" data-testid=\"product-grid\" data-list=\"{}\">", escape(list));
    for c in cards {
        c.render(&mut out);
    }
    out.push_str("</ul>");
    out
}

/// A feed card's note in English (the history-free feed has no "because" part: no history names).
pub fn feed_note(parts: &[NotePart<'_>]) -> Option<String> {
    let words: Vec<String> = parts
        .iter()
        .filter_map(|p| match p {
            NotePart::BecauseYouViewed(_) => None,
            NotePart::Popular => Some("popular".to_owned()),
            NotePart::PercentOff(n) => Some(format!("{n}% off")),
            NotePart::DeliveryDays(d) => Some(format!("{d}-day delivery")),
        })
        .collect();
    (!words.is_empty()).then(|| words.join(" · "))
}

/// The home page's main content: the app's visually hidden heading and the feed's sections, as the
/// app's home route renders an edge answer.
pub fn home_main(feed: &FeedResponse) -> String {
    let mut html = String::from("<h1 class=\"visually-hidden\">Shopfront</h1>");
    for (n, s) in feed.sections.iter().enumerate() {
        let id = escape(&s.id);
        let cards: Vec<CardHtml<'_>> = s
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| CardHtml {
                card: &item.card,
                note: feed_note(&item.note_parts()),
                featured: false,
                lead: (n == 0).then_some(i),
            })
            .collect();
        html.push_str(&format!(
            "<section aria-labelledby=\"section-{id}\" data-section=\"{id}\" data-source=\"edge\">\
             <h2 id=\"section-{id}\">{}</h2>{}</section>",
            escape(&s.title),
            grid(&cards, s.list())
        ));
    }
    html
}

/// JavaScript's `encodeURIComponent`, for the links a results page makes.
fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, URL_COMPONENT).to_string()
}

/// The app's English words for the sorts, in `Sort::ALL` order.
fn sort_label(sort: ranking::search::Sort) -> &'static str {
    use ranking::search::Sort;
    match sort {
        Sort::Relevance => "Relevance",
        Sort::PriceAsc => "Price: low to high",
        Sort::PriceDesc => "Price: high to low",
        Sort::Newest => "Newest",
    }
}

fn chips(out: &mut String, chips: &[Chip], facet: &str) {
    for c in chips {
        out.push_str(&format!(
            "<a href=\"{}\" class=\"chip\" data-facet=\"{facet}\">{} ({})</a>",
            escape(&c.href),
            escape(&c.label),
            c.count
        ));
    }
}

/// A search or category page's results (the app's `Results` with the edge's answer): count, sort,
/// facets, the cards and the pager; `base` is `/search` or `/c`.
pub fn results(r: &SearchResponse, q: &SearchQuery, base: &str) -> String {
    let mut out = String::from("<section aria-live=\"polite\" class=\"results\">");
    if r.total == 0 {
        out.push_str(&format!(
            "<div class=\"empty\" data-source=\"edge\"><h1>No results for “{}”</h1><p>Check the spelling, or try a \
             shorter or more general word such as “chair” or “paper”.</p></div></section>",
            escape(&r.query)
        ));
        return out;
    }
    let page = ResultsPage::new(r, q, base, &encode);
    let heading = if q.q.is_empty() {
        format!("{} results", r.total)
    } else {
        format!("{} results for “{}”", r.total, escape(&r.query))
    };
    out.push_str(&format!(
        "<div data-source=\"edge\"><h1 data-testid=\"result-count\">{heading}</h1><div class=\"toolbar\"><label>Sort by \
         <select data-testid=\"sort\">"
    ));
    for s in ranking::search::Sort::ALL {
        let selected = if page.sort == s.as_str() { " selected" } else { "" };
        out.push_str(&format!("<option value=\"{}\"{selected}>{}</option>", s.as_str(), sort_label(s)));
    }
    out.push_str("</select></label></div><nav class=\"facets\" aria-label=\"Category\">");
    if let Some(href) = &page.any_category {
        out.push_str(&format!("<a href=\"{}\" class=\"chip\">All categories</a>", escape(href)));
    }
    chips(&mut out, &page.categories, "category");
    out.push_str("</nav><nav class=\"facets\" aria-label=\"Price\">");
    if let Some(href) = &page.any_price {
        out.push_str(&format!("<a href=\"{}\" class=\"chip\">Any price</a>", escape(href)));
    }
    chips(&mut out, &page.prices, "price");
    out.push_str("</nav>");
    let cards: Vec<CardHtml<'_>> = r
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| CardHtml {
            card: &item.card,
            note: item.delivery_days.map(|d| format!("{d}-day delivery")),
            featured: item.why.featured,
            lead: Some(i),
        })
        .collect();
    out.push_str(&grid(&cards, "results"));
    out.push_str("<nav class=\"pager\" aria-label=\"Page\">");
    if let Some(href) = &page.prev {
        out.push_str(&format!("<a href=\"{}\" rel=\"prev\">Previous</a>", escape(href)));
    }
    out.push_str(&format!("<span>Page {} / {}</span>", q.page, page.pages));
    if let Some(href) = &page.next {
        out.push_str(&format!("<a href=\"{}\" rel=\"next\">Next</a>", escape(href)));
    }
    out.push_str("</nav></div></section>");
    out
}

/// A category page's heading and subcategory links (the app's `CategoryPage`) over the tree; `path`
/// is the category's slug path, empty for `/c`.
pub fn category_head(tree: &[CategoryNode], path: &str) -> String {
    fn find<'a>(nodes: &'a [CategoryNode], path: &str) -> Option<&'a CategoryNode> {
        nodes.iter().find_map(|n| if n.path == path { Some(n) } else { find(&n.children, path) })
    }
    let (name, children) = if path.is_empty() {
        ("Categories".to_owned(), tree)
    } else {
        match find(tree, path) {
            Some(n) => (n.name.clone(), n.children.as_slice()),
            None => (path.rsplit('/').next().unwrap_or_default().replace('-', " "), &[][..]),
        }
    };
    let mut out = format!(
        "<h1 class=\"category-title\">{}</h1><nav class=\"facets\" aria-label=\"Categories\">",
        escape(&name)
    );
    for c in children {
        out.push_str(&format!(
            "<a href=\"/c/{}\" class=\"chip\">{} ({})</a>",
            escape(&c.path),
            escape(&c.name),
            c.count
        ));
    }
    out.push_str("</nav>");
    out
}

/// A product page's article (the app's `ProductPage` with the edge's answer); its buttons are
/// disabled until the app, which keeps the cart and wishlist, takes over. Related items follow once
/// the app has loaded them.
pub fn product(r: &ProductResponse) -> String {
    let p = &r.product;
    let mut out = format!(
        "<article class=\"product\"><img src=\"{}\" alt=\"{}\" width=\"480\" height=\"480\" fetchpriority=\"high\"><div class=\"product-info\">\
         <p class=\"breadcrumb\">{}</p><h1>{}</h1><p><span class=\"price\" data-testid=\"price\">{}</span>",
        escape(&r.image),
        escape(&p.title),
        escape(&p.category.join(" › ")),
        escape(&p.title),
        escape(&p.price.label()),
    );
    if let Some(l) = p.list_price {
        let was = ranking::Price { amount: l, currency: p.price.currency.clone() };
        out.push_str(&format!(
            "<s class=\"list-price\" aria-label=\"regular price\">{}</s>",
            escape(&was.label())
        ));
    }
    out.push_str("</p>");
    if let Some(d) = &r.delivery {
        out.push_str(&format!(
            "<p class=\"delivery\" data-testid=\"delivery\">Delivery in {} days</p>",
            d.days
        ));
    }
    out.push_str(
        "<div class=\"actions\"><button class=\"primary\" data-testid=\"add-to-cart\" disabled>Add to cart</button>\
         <button class=\"secondary\" data-testid=\"wishlist\" aria-pressed=\"false\" disabled>Save to wishlist</button></div>",
    );
    if let Some(d) = &p.description {
        out.push_str(&format!("<p class=\"description\">{}</p>", escape(d)));
    }
    out.push_str("<a href=\"/\">← Back to the shop</a></div></article>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seo::shell_csp;

    const SHELL: &str = "<!doctype html><html><head><title>Shopfront</title>\n\
        <script type=\"module\">import init from '/app.js';</script>\n</head><body></body></html>";

    fn feed() -> FeedResponse {
        let card: Card = serde_json::from_value(serde_json::json!({
            "id": "A 1/<x>", "title": "<script>alert(1)</script>", "category": ["Furniture", "Chairs & Co"],
            "price": {"amount": 12.5, "currency": "EUR"}, "image": "/img/a.svg\" onerror=\"x", "purchases": 3,
            "list_price": 15.0
        }))
        .unwrap();
        FeedResponse {
            sections: vec![ranking::wire::FeedSection {
                id: "trending".into(),
                title: "Trending <now>".into(),
                because: None,
                items: vec![ranking::wire::FeedItem {
                    card,
                    score: 1.0,
                    why: ranking::feed::Why { popularity: 1.0, discount: 0.17, ..Default::default() },
                    base_price: None,
                    delivery_days: Some(3),
                }],
            }],
            variant: "default".into(),
            index_version: "v1".into(),
        }
    }

    #[test]
    fn the_home_page_carries_the_feed_escaped_and_leaves_the_shell_intact() {
        let feed = feed();
        let data = br#"{"title":"</script><script>alert(1)</script>"}"#;
        let html = page(SHELL, "/", "", &home_main(&feed), &[("feed", data)]);
        assert_eq!(html.matches("fetchpriority=\"high\"").count(), 1, "the first card only");
        assert!(!html.contains("loading=\"lazy\""), "a single card is above the fold");
        assert!(html.starts_with(&SHELL[..SHELL.find("<body>").unwrap()]));
        assert!(html.ends_with("</body></html>"));
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("</script><script>"), "the data block cannot be closed early: {html}");
        assert!(html.contains(r#"\u003c/script\u003e\u003cscript\u003ealert(1)"#), "{html}");
        assert!(!html.contains("<now>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("href=\"/p/A%201%2F%3Cx%3E\""), "{html}");
        assert!(html.contains("src=\"/img/a.svg&quot; onerror=&quot;x\""), "{html}");
        assert!(html.contains("€12.50") && html.contains("€15.00") && html.contains("Chairs &amp; Co"));
        assert!(html.contains("<span class=\"why\">popular · 17% off · 3-day delivery</span>"), "{html}");
        assert!(html.contains("data-list=\"trending\""));
        // The CSP hashes executable inline scripts: the prerender adds none (its JSON is data).
        assert_eq!(shell_csp(&html), shell_csp(SHELL));
        assert_eq!(page("<html>no body tag</html>", "/", "", "x", &[]), "<html>no body tag</html>");
    }

    #[test]
    fn cards_above_the_fold_load_at_once_the_rest_lazily() {
        let feed = feed();
        let card = &feed.sections[0].items[0].card;
        let mut cards: Vec<CardHtml<'_>> =
            (0..6).map(|i| CardHtml { card, note: None, featured: i == 1, lead: Some(i) }).collect();
        cards.push(CardHtml { card, note: None, featured: false, lead: None });
        let html = grid(&cards, "results");
        let loading: Vec<&str> = html
            .split("<img ")
            .skip(1)
            .map(|img| {
                let tag = &img[..img.find('>').unwrap_or(img.len())];
                match (tag.contains("loading=\"lazy\""), tag.contains("fetchpriority=\"high\"")) {
                    (true, _) => "lazy",
                    (false, true) => "high",
                    (false, false) => "eager",
                }
            })
            .collect();
        assert_eq!(loading, ["high", "eager", "eager", "eager", "lazy", "lazy", "lazy"]);
        assert_eq!(html.matches("<span class=\"badge\">Featured</span>").count(), 1);
    }
}
