//! The serving logic over an in-memory KV: version pointers, both layouts, the cell cap, the feed's
//! fallback, 503s for missing or corrupt values, and the pages, all without workerd.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ranking::Product;
use ranking::index::ItemIndex;
use ranking::ivf::{Cell, IvfHead, MAX_CELLS_PER_REQUEST};
use ranking::kv::{self, CardList, Manifest, ProductShard};
use ranking::lexical::LexicalData;
use ranking::wire::{FeedResponse, ProductResponse, RelatedResponse, SearchResponse};

use crate::pages;
use crate::problem::Problem;
use crate::route;
use crate::serve::{self, Build, Shopper};
use crate::store::Kv;

/// A KV namespace in memory that records the keys read.
#[derive(Default)]
struct MapKv {
    values: HashMap<String, Vec<u8>>,
    reads: RefCell<Vec<String>>,
}

impl Kv for MapKv {
    async fn bytes(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.reads.borrow_mut().push(key.to_owned());
        Ok(self.values.get(key).cloned())
    }

    async fn text(&self, key: &str) -> Result<Option<String>, String> {
        Ok(self.bytes(key).await?.map(|b| String::from_utf8_lossy(&b).into_owned()))
    }
}

impl MapKv {
    fn put(&mut self, key: String, value: Vec<u8>) {
        self.values.insert(key, value);
    }
}

/// Runs a future that never waits (the map answers at once).
fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory read waited"),
    }
}

const V: &str = "v6-test";

fn products(n: usize) -> Vec<Product> {
    (0..n)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "id": format!("p{i}"), "title": format!("Chair {i}"), "category": ["Furniture", "Seating"],
                "price": {"amount": 10.0 + i as f64, "currency": "USD"}
            }))
            .unwrap()
        })
        .collect()
}

fn manifest(n: usize, cells: u32) -> Vec<u8> {
    let m = Manifest { version: V.into(), built_at: 0, product_count: n as u32, shard_count: 1, cells };
    kv::encode(&m)
}

/// A whole-index build of `n` products.
fn whole_build(n: usize) -> MapKv {
    let ps = products(n);
    let mut store = MapKv::default();
    store.put(kv::CURRENT.into(), V.as_bytes().to_vec());
    store.put(kv::keys::manifest(V), manifest(n, 0));
    store.put(kv::keys::products(V, 0), kv::encode(&ProductShard { products: ps.clone() }));
    let purchases: Vec<u32> = (0..n as u32).rev().collect();
    store.put(kv::keys::items(V), kv::encode(&ItemIndex::plain(&ps, &purchases)));
    store.put(kv::keys::search(V), kv::encode(&LexicalData::build(&ps)));
    let cards = ps.iter().map(|p| p.card(1)).collect();
    store.put(kv::keys::popular(V), kv::encode(&CardList { cards }));
    store
}

/// A partitioned build: one product per cell, `cells` cells, and the popular cell with all.
fn partitioned_build(cells: usize) -> MapKv {
    let ps = products(cells);
    let mut store = MapKv::default();
    store.put(kv::CURRENT.into(), V.as_bytes().to_vec());
    store.put(kv::keys::manifest(V), manifest(cells, cells as u32));
    store.put(kv::keys::products(V, 0), kv::encode(&ProductShard { products: ps.clone() }));
    let mut index = ItemIndex::plain(&ps, &vec![1; cells]);
    // The first product's similar items are every other product, each in a cell of its own.
    index.similar[0] = (1..cells as u32).collect();
    let globals: Vec<u32> = (0..cells as u32).collect();
    for c in 0..cells {
        store.put(kv::keys::cell(V, c), kv::encode(&Cell::of_rows(&ps, &index, &[c], &globals)));
    }
    let all: Vec<usize> = (0..cells).collect();
    store.put(kv::keys::popular_cell(V), kv::encode(&Cell::of_rows(&ps, &index, &all, &globals)));
    // An FST takes its keys in order.
    let ids: std::collections::BTreeMap<String, u64> =
        (0..cells).map(|i| (format!("p{i}"), i as u64)).collect();
    let head = IvfHead {
        dim: 1,
        content_dim: 1,
        centroids: vec![1.0; cells],
        content_centroids: vec![1.0; cells],
        offsets: (0..=cells as u32).collect(),
        ids: fst::Map::from_iter(ids).unwrap().into_fst().into_inner(),
        vocabulary: fst::Map::from_iter([("chair", 0u64)]).unwrap().into_fst().into_inner(),
        term_routes: [(cells as u32, vec![0, 1])].into_iter().collect(),
        category_routes: vec![],
        categories: vec![],
    };
    store.put(kv::keys::ivf(V), kv::encode(&head));
    store
}

#[test]
fn cells_are_read_together_in_order_and_kept_ones_not_read_again() {
    use ranking::ivf::OpenCell;
    let store = partitioned_build(4);
    crate::store::forget();
    run(crate::store::current_version(&store)).unwrap();
    let keys = |cells: &[usize]| -> Vec<String> { cells.iter().map(|&c| kv::keys::cell(V, c)).collect() };
    let load = |k: &[String]| run(crate::store::load_all_as::<Cell, OpenCell>(&store, V, k, OpenCell::new));
    let first = |c: &OpenCell| c.items.id(0).unwrap().to_owned();
    let cells = load(&keys(&[2, 0, 1])).unwrap();
    assert_eq!(cells.iter().map(|c| first(c)).collect::<Vec<_>>(), ["p2", "p0", "p1"]);
    store.reads.borrow_mut().clear();
    let again = load(&keys(&[1, 3])).unwrap();
    assert_eq!(again.iter().map(|c| first(c)).collect::<Vec<_>>(), ["p1", "p3"]);
    assert_eq!(*store.reads.borrow(), keys(&[3]), "cell 1 is kept");
    let missing = load(&keys(&[0, 9])).unwrap_err();
    assert!(matches!(&missing, Problem::Unavailable(m) if m.contains("cells/9")), "{missing:?}");
}

const SHOPPER: Shopper<'static> = Shopper { client: 0, country: None, currency: None };

/// The answer's body to `path?query`, as the worker would make it.
fn get(store: &MapKv, path: &str, query: &str) -> Result<Vec<u8>, Problem> {
    let route = route::route("GET", path, query)?;
    // Every request starts in a fresh isolate, so each sees its own store's values.
    crate::store::forget();
    run(async {
        let build = Build::read(store, 0).await?;
        serve::answer(store, route, build.ctx(SHOPPER), &build.fell).await
    })
}

fn json<T: serde::de::DeserializeOwned>(body: Result<Vec<u8>, Problem>) -> T {
    serde_json::from_slice(&body.unwrap()).unwrap()
}

#[test]
fn a_whole_index_build_answers_every_read() {
    let store = whole_build(5);
    let feed: FeedResponse = json(get(&store, "/api/feed", "limit=3"));
    assert_eq!((feed.index_version.as_str(), feed.sections[0].items.len()), (V, 3));
    let product: ProductResponse = json(get(&store, "/api/products/p2", ""));
    assert_eq!(product.product.title, "Chair 2");
    let found: SearchResponse = json(get(&store, "/api/search", "q=chair"));
    assert_eq!((found.total, found.approximate), (5, false));
    let related: RelatedResponse = json(get(&store, "/api/products/p1/similar", ""));
    assert!(related.items.is_empty());
    assert!(matches!(get(&store, "/api/products/zz", ""), Err(Problem::UnknownProduct(_))));
    assert!(matches!(get(&store, "/api/products/zz/similar", ""), Err(Problem::UnknownProduct(_))));
    assert!(!get(&store, "/api/rows", "ids=p1").unwrap().is_empty());
}

#[test]
fn missing_or_corrupt_values_are_503s() {
    let unavailable = |r: Result<Vec<u8>, Problem>| match r {
        Err(e @ Problem::Unavailable(_)) => (e.status(), e.to_string()),
        other => panic!("expected Unavailable, got {other:?}"),
    };
    let (status, why) = unavailable(get(&MapKv::default(), "/api/feed", ""));
    assert_eq!(status, 503);
    assert!(why.contains("`current` is missing"), "{why}");
    let mut corrupt = whole_build(3);
    corrupt.put(kv::keys::manifest(V), b"SFKV garbage".to_vec());
    assert!(unavailable(get(&corrupt, "/api/categories", "")).1.contains("/manifest"));
    let mut no_pack = whole_build(3);
    no_pack.values.remove(&kv::keys::pack(V));
    assert!(unavailable(get(&no_pack, "/api/pack", "")).1.contains("is missing"));
    let mut bad_pointer = whole_build(3);
    bad_pointer.put(kv::CURRENT.into(), b"../etc".to_vec());
    assert!(unavailable(get(&bad_pointer, "/api/feed", "")).1.contains("`current`"));
}

#[test]
fn an_unreadable_item_index_degrades_the_feed_to_the_popular_list() {
    let mut store = whole_build(4);
    store.put(kv::keys::items(V), b"not a value".to_vec());
    match get(&store, "/api/feed", "limit=2") {
        Err(Problem::Degraded(_, feed)) => assert_eq!(feed.sections[0].items.len(), 2),
        other => panic!("expected the fallback feed, got {other:?}"),
    }
    store.values.remove(&kv::keys::popular(V));
    assert!(matches!(get(&store, "/api/feed", ""), Err(Problem::Unavailable(_))));
    // Other reads have no fallback.
    assert!(matches!(get(&store, "/api/search", "q=chair"), Err(Problem::Unavailable(_))));
}

#[test]
fn an_unreadable_optional_part_answers_with_defaults_and_says_so() {
    let mut store = whole_build(3);
    store.put(kv::keys::locale(V), b"corrupt".to_vec());
    let build = run(Build::read(&store, 0)).unwrap();
    assert_eq!(*build.fell.borrow(), ["locale"]);
    assert!(get(&store, "/api/feed", "").is_ok());
}

#[test]
fn a_pointer_of_another_format_falls_back_to_this_formats_build() {
    let mut store = whole_build(3);
    store.put(kv::CURRENT.into(), b"v999-next".to_vec());
    store.put(kv::current_key(kv::FORMAT_VERSION), V.as_bytes().to_vec());
    let feed: FeedResponse = json(get(&store, "/api/feed", ""));
    assert_eq!(feed.index_version, V);
}

#[test]
fn a_partitioned_build_reads_only_routed_cells_within_the_cap() {
    let store = partitioned_build(MAX_CELLS_PER_REQUEST + 3);
    let cells_read = |store: &MapKv| -> Vec<String> {
        store.reads.borrow().iter().filter(|k| k.contains("/cells/")).cloned().collect()
    };
    assert!(!get(&store, "/api/rows", "ids=p0&related=1").unwrap().is_empty());
    // The home cell (read once, then kept), and 12 more: the cap, though 15 cells hold related items.
    let read = cells_read(&store);
    let expected: Vec<String> = (0..MAX_CELLS_PER_REQUEST).map(|c| kv::keys::cell(V, c)).collect();
    assert_eq!(read, expected);
    store.reads.borrow_mut().clear();
    let similar: RelatedResponse = json(get(&store, "/api/products/p0/similar", ""));
    assert_eq!(similar.items.len(), MAX_CELLS_PER_REQUEST - 1, "items in cells past the cap are left out");
    let found: SearchResponse = json(get(&store, "/api/search", "q=chair"));
    assert!(found.approximate);
    assert_eq!(found.total, 2, "the two cells the word routes to");
    let feed: FeedResponse = json(get(&store, "/api/feed", ""));
    assert_eq!(feed.sections[0].items.len(), MAX_CELLS_PER_REQUEST + 3, "the popular cell");
    let product: ProductResponse = json(get(&store, "/api/products/p4", ""));
    assert_eq!(product.product.id, "p4");
    assert!(matches!(get(&store, "/api/products/zz/similar", ""), Err(Problem::UnknownProduct(_))));
    let mut no_cell = partitioned_build(3);
    no_cell.values.remove(&kv::keys::cell(V, 1));
    assert!(matches!(get(&no_cell, "/api/products/p1/similar", ""), Err(Problem::Unavailable(_))));
    let mut no_head = partitioned_build(3);
    no_head.put(kv::keys::ivf(V), b"SFKV".to_vec());
    assert!(matches!(get(&no_head, "/api/categories", ""), Err(Problem::Unavailable(_))));
}

#[test]
fn cache_policy_follows_the_route() {
    let route = |path: &str, query: &str| route::route("GET", path, query).unwrap();
    assert_eq!(serve::cache_control(&route("/api/feed", "")), "public, max-age=60");
    assert_eq!(serve::cache_control(&route("/api/suggest", "q=a")), "public, max-age=60");
    assert_eq!(serve::cache_control(&route("/api/products/a", "")), "public, max-age=300");
    assert_eq!(serve::cache_control(&route("/api/pack", "")), "public, max-age=300");
    let personal = route::route_with_history("GET", "/api/search", "q=a", Some("p1")).unwrap();
    assert_eq!(serve::cache_control(&personal), "private, no-store");
    let store = whole_build(2);
    let build = run(Build::read(&store, 0)).unwrap();
    let ctx = build.ctx(Shopper { client: 0, country: Some("DE"), currency: None });
    assert_eq!(
        serve::edge_cache_key("https://shop", &route("/api/feed", "limit=3"), ctx).as_deref(),
        Some("https://shop/__edge-cache/v6-test/default/DE/-/feed?limit=3")
    );
    assert_eq!(serve::edge_cache_key("https://shop", &personal, ctx), None);
}

#[test]
fn product_pages_are_tagged_or_404_and_kept_only_when_complete() {
    let shell = "<html><head><title>Shop</title></head><body></body></html>";
    let store = whole_build(3);
    let page = run(pages::product_page(&store, shell, "https://shop", "p1", None, None));
    assert_eq!((page.status, page.cache_control), (200, "public, max-age=60"));
    assert!(page.html.contains("Chair 1"), "{}", page.html);
    let unknown = run(pages::product_page(&store, shell, "https://shop", "zz", None, None));
    assert_eq!((unknown.status, unknown.html.as_str(), unknown.cache_control), (404, shell, "no-store"));
    let mut degraded = whole_build(3);
    degraded.put(kv::keys::locale(V), b"corrupt".to_vec());
    let page = run(pages::product_page(&degraded, shell, "https://shop", "p1", None, None));
    assert_eq!((page.status, page.cache_control), (200, "no-store"));
    let broken = run(pages::product_page(&MapKv::default(), shell, "https://shop", "p1", None, None));
    assert_eq!((broken.status, broken.html.as_str(), broken.cache_control), (200, shell, "no-store"));
}

#[test]
fn the_home_page_prerenders_the_feed_or_is_the_plain_shell() {
    let shell = "<html><head><title>Shop</title></head><body></body></html>";
    let store = whole_build(3);
    let page = pages::home_page(shell, "/", get(&store, "/api/feed", "limit=12"));
    assert!(page.html.contains("Chair 0") && page.cache_control == "no-cache", "{}", page.html);
    let plain = pages::home_page(shell, "/", Err(Problem::Unavailable("no build".into())));
    assert_eq!((plain.html.as_str(), plain.status), (shell, 200));
}

#[test]
fn results_urls_name_the_search_or_the_category() {
    let s = pages::ResultsUrl::parse("/search", Some("q=oak+chair&sort=price_asc&utm=x")).unwrap();
    assert_eq!(
        (s.query.q.as_str(), s.query.sort.as_deref(), s.base, s.searches()),
        ("oak chair", Some("price_asc"), "/search", true)
    );
    assert_eq!(s.api_query(), "q=oak+chair&sort=price_asc");
    let c = pages::ResultsUrl::parse("/c/furniture/office-chairs", Some("q=ignored&page=2")).unwrap();
    assert_eq!(c.query.category.as_deref(), Some("furniture/office-chairs"));
    assert_eq!((c.query.q.as_str(), c.query.page, c.base), ("", 2, "/c"));
    let list = pages::ResultsUrl::parse("/c", None).unwrap();
    assert!(!list.searches() && list.category.as_deref() == Some(""));
    assert_eq!(pages::ResultsUrl::parse("/cart", None), None);
    assert_eq!(pages::ResultsUrl::parse("/c%ff", None), None);
}

#[test]
fn search_category_and_product_pages_carry_their_answers_or_are_the_plain_shell() {
    let shell = "<html><head><title>Shop</title></head><body></body></html>";
    let store = whole_build(3);
    let url = pages::ResultsUrl::parse("/search", Some("q=chair")).unwrap();
    let search = get(&store, "/api/search", &url.api_query());
    let page = pages::results_page(shell, "/search?q=chair", &url, Some(search), None);
    assert_eq!((page.status, page.cache_control), (200, "no-cache"));
    assert!(page.html.contains("data-testid=\"result-count\">3 results for “chair”</h1>"), "{}", page.html);
    assert!(page.html.contains("Chair 0") && page.html.contains("id=\"prerender-data-search\""));
    assert!(page.html.contains("data-path=\"/search?q=chair\"") && page.html.contains("value=\"chair\""));
    assert!(page.html.contains("<meta name=\"robots\" content=\"noindex, follow\">\n</head>"));
    let cat = pages::ResultsUrl::parse("/c/furniture", None).unwrap();
    let both = pages::results_page(
        shell,
        "/c/furniture",
        &cat,
        Some(get(&store, "/api/search", &cat.api_query())),
        Some(get(&store, "/api/categories", "")),
    );
    assert!(
        both.html.contains("<h1 class=\"category-title\">")
            && both.html.contains("id=\"prerender-data-categories\"")
    );
    assert!(!both.html.contains("noindex"), "category pages are the landing pages to index");
    let broken = pages::results_page(
        shell,
        "/search?q=chair",
        &url,
        Some(Err(Problem::Unavailable("x".into()))),
        None,
    );
    assert_eq!((broken.html.as_str(), broken.cache_control), (shell, "no-store"));
    let tagged = run(pages::product_page(&store, shell, "https://shop", "p1", None, None));
    let product = pages::with_product(tagged.clone(), "/p/p1", get(&store, "/api/products/p1", ""));
    assert!(
        product.html.contains("<article class=\"product\">")
            && product.html.contains("id=\"prerender-data-product\"")
    );
    assert!(product.html.contains("<title>"), "the SEO tags stay");
    let without = pages::with_product(tagged.clone(), "/p/p1", Err(Problem::UnknownProduct("p1".into())));
    assert_eq!(without, tagged);
}

/// The answer functions the edge serves with, over hand-made indexes.
mod answers {
    use ranking::Event;
    use ranking::Product;
    use ranking::kv::ProductShard;
    use ranking::locale::Locale;
    use ranking::search::{Filters, SearchIndex, Sort};
    use ranking::weights::Weights;

    use crate::route::SearchParams;
    use crate::serve::{Ctx, categories, feed, product, related, search, suggest};

    fn product_of(id: &str, title: &str) -> Product {
        serde_json::from_value(serde_json::json!({
            "id": id, "title": title, "category": ["Furniture", "Seating"],
            "price": {"amount": 10.0, "currency": "USD"}
        }))
        .unwrap()
    }

    fn ctx<'a>(w: &'a Weights, locale: Option<&'a Locale>, country: Option<&'a str>) -> Ctx<'a> {
        Ctx {
            version: "v1",
            country,
            now: 0,
            variant: "default",
            weights: w,
            currency: None,
            locale,
            rules: None,
        }
    }

    /// The localisation data the indexer ships by default.
    fn shipped_locale() -> Locale {
        let l: Locale = serde_json::from_str(include_str!("../../indexer/data/locale.json")).unwrap();
        l.validate().unwrap();
        l
    }

    #[test]
    fn an_unknown_product_is_a_404_naming_the_id() {
        let shard = ProductShard { products: vec![product_of("a", "Chair")] };
        let w = Weights::default();
        assert!(product(&shard, "a", ctx(&w, None, None)).is_ok());
        let e = product(&shard, "b", ctx(&w, None, None)).unwrap_err();
        assert_eq!((e.status(), e.problem().param.as_deref()), (404, Some("id")));
    }

    #[test]
    fn feed_items_follow_the_shoppers_currency_and_delivery() {
        let mut p = product_of("a", "Chair");
        p.stock =
            Some([("US".to_owned(), 5), ("FR".to_owned(), 2), ("JP".to_owned(), 0)].into_iter().collect());
        let (w, locale) = (Weights::default(), shipped_locale());
        // Feed items carry the same conversion and delivery days.
        let items = ranking::index::ItemIndex::plain(&[p], &[1]);
        let f = feed(&items, &[], 1, ctx(&w, Some(&locale), Some("DE")));
        let item = &f.sections[0].items[0];
        assert_eq!(
            (item.card.price.currency.as_str(), item.delivery_days),
            ("EUR", Some(locale.same_region_days))
        );
    }

    #[test]
    fn feed_and_search_pages() {
        let products = [product_of("a", "Red Chair"), product_of("b", "Blue Chair"), product_of("c", "Lamp")];
        let items = ranking::index::ItemIndex::plain(&products, &[3, 2, 1]);
        let w = Weights::default();
        let ctx = Ctx {
            version: "v",
            country: None,
            now: 0,
            variant: "default",
            weights: &w,
            currency: None,
            locale: None,
            rules: None,
        };
        let cold = feed(&items, &[], 2, ctx);
        assert_eq!(cold.variant, "default");
        assert_eq!(cold.sections.len(), 1);
        assert_eq!(cold.sections[0].items.iter().map(|i| i.card.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let warm = feed(&items, &[("a".into(), Event::View)], 5, ctx);
        assert_eq!(warm.sections[0].id, "for-you");
        assert!(warm.sections.iter().all(|s| s.items.iter().all(|i| i.card.id != "a")));
        assert_eq!(related(&items, "zz", false, ctx).unwrap_err().status(), 404);
        assert!(related(&items, "a", true, ctx).unwrap().items.is_empty());
        let lex = ranking::lexical::Lexicon::new(ranking::lexical::LexicalData::build(&products)).unwrap();
        let cat = SearchIndex::new(&items, Some(&lex), None);
        let params = |page, limit| SearchParams {
            q: "chair".into(),
            page,
            limit,
            filters: Filters::default(),
            sort: Sort::Relevance,
            history: vec![],
        };
        let p1 = search(cat, &params(1, 1), ctx);
        let p2 = search(cat, &params(2, 1), ctx);
        assert_eq!((p1.total, p1.items[0].card.id.as_str(), p2.items[0].card.id.as_str()), (2, "a", "b"));
        assert_eq!(p1.facets.category.get("furniture/seating"), Some(&2));
        assert!(search(cat, &params(usize::MAX, usize::MAX), ctx).items.is_empty());
        let s = suggest(cat, "red ch", ctx);
        assert_eq!(s.terms, ["red chair"]);
        assert_eq!(s.products[0].id, "a");
        assert!(suggest(cat, "red ", ctx).terms.is_empty(), "a finished word is not completed");
        let tree = categories(&items, "v").categories;
        assert_eq!(
            (tree[0].path.as_str(), tree[0].count, tree[0].children[0].path.as_str()),
            ("furniture", 3, "furniture/seating")
        );
    }
}
