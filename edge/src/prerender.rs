//! The first screen of an entry page as plain HTML, in the app's own markup: the header and the
//! page's main content, so a shared link paints at once, crawlers see products, and the app takes the
//! nodes over instead of painting anew (the home feed's grid) or swaps in identical markup.
//!
//! The markup mirrors the app's components (`app/src/components.rs`, `app/src/routes/`) in English,
//! the app's default language; the browser test compares the two element by element. Every string
//! from the catalog is escaped; nothing here is a script, so the shell's CSP stays as it is.

use ranking::Card;
use ranking::wire::{FeedResponse, NotePart};

use crate::seo::{URL_COMPONENT, escape};

/// Id of the element holding the prerendered header and main content.
pub const ROOT_ID: &str = "prerender";
/// Id of the JSON data block with the answer the content was made from (the app starts from it).
pub const DATA_ID: &str = "prerender-data";

/// Cards a phone shows before any scrolling (the app's `ABOVE_THE_FOLD`): eager images, the first
/// with high priority.
const ABOVE_THE_FOLD: usize = 4;

/// The app's header as the app renders it for a shopper with an empty cart, in English: same boxes,
/// so taking it over shifts nothing. A plain GET form, so search works before the wasm has loaded.
fn header(q: &str) -> String {
    format!(
        "<header class=\"site-header\"><a href=\"/\" class=\"brand\">Shopfront</a>\
         <form class=\"search\" role=\"search\" action=\"/search\">\
         <input type=\"search\" name=\"q\" placeholder=\"Search products\" aria-label=\"Search products\" \
         autocomplete=\"off\" enterkeyhint=\"search\" value=\"{}\"><button type=\"submit\">Search</button></form>\
         <nav class=\"site-nav\" aria-label=\"Shop\"><a href=\"/c\">Categories</a><a href=\"/wishlist\">Wishlist</a>\
         <a href=\"/cart\">Cart <span class=\"count\" data-testid=\"cart-count\">0</span></a>\
         <a href=\"/settings\">Settings</a></nav></header>",
        escape(q)
    )
}

/// The shell with `main` (the page's content) and its header inserted as the body's first child, and
/// `data` (the JSON answer it was made from, if any) as a data block the app reads instead of asking
/// again. `path` is the URL (path and query) the content belongs to. A shell without `<body>` is
/// returned unchanged.
pub fn page(shell: &str, path: &str, q: &str, main: &str, data: Option<&[u8]>) -> String {
    let Some(at) = shell.find("<body>").map(|i| i + "<body>".len()) else { return shell.to_owned() };
    let mut html = format!(
        "<div id=\"{ROOT_ID}\" data-path=\"{}\">{}<main>{main}</main></div>",
        escape(path),
        header(q)
    );
    if let Some(json) = data.and_then(|d| std::str::from_utf8(d).ok()) {
        html.push_str(&format!(
            "<script type=\"application/json\" id=\"{DATA_ID}\">{}</script>",
            script_safe(json)
        ));
    }
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

/// The list a feed section's cards are measured in (the app's `section_list`).
fn section_list(id: &str) -> &'static str {
    match id {
        "for-you" => "for-you",
        "because" => "because",
        "trending" => "trending",
        "deals" => "deals",
        _ => "feed",
    }
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
            grid(&cards, section_list(&s.id))
        ));
    }
    html
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
        let html = page(SHELL, "/", "", &home_main(&feed), Some(data));
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
        assert_eq!(page("<html>no body tag</html>", "/", "", "x", None), "<html>no body tag</html>");
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
