//! Fuzz target: any text as a search query, suggestion prefix and embedding input, with rules active.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ranking::index::ItemIndex;
use ranking::lexical::{LexicalData, Lexicon};
use ranking::{Price, Product};

struct Fixture {
    items: ItemIndex,
    lexicon: Lexicon,
    rules: ranking::rules::Rules,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let titles = ["Hon Stacking Chair", "Xerox Paper 500 sheets", "Bush Bookcase, cherry", "Café table ø80", "Büro-Stuhl"];
        let products: Vec<Product> = titles
            .iter()
            .enumerate()
            .map(|(i, t)| Product::new(format!("p{i}"), *t, vec!["Furniture".into(), format!("C{i}")], Price { amount: i as f64 * 10.0, currency: "USD".into() }))
            .collect();
        let rules = ranking::rules::Rules {
            rules: vec![ranking::rules::Rule {
                id: "r".into(),
                priority: 0,
                when: ranking::rules::Trigger::QueryContains("chair".into()),
                from: None,
                until: None,
                actions: vec![ranking::rules::Action::Pin { product: "p2".into(), position: 2 }],
            }],
        };
        Fixture {
            items: ItemIndex::plain(&products, &[3, 1, 4, 1, 5]),
            lexicon: Lexicon::new(LexicalData::build(&products)).expect("fixture index"),
            rules,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else { return };
    let f = fixture();
    let w = ranking::weights::Weights::default();
    let cat = ranking::search::SearchIndex::new(&f.items, Some(&f.lexicon), None);
    let req = ranking::search::SearchRequest {
        query: q,
        limit: 10,
        offset: data.len() % 7,
        rules: Some(&f.rules),
        filters: ranking::search::Filters { category: Some(q.to_lowercase()), ..Default::default() },
        ..Default::default()
    };
    let _ = ranking::search::search(cat, &req, &w);
    let _ = ranking::search::suggest(cat, q, &w, 0, 8, 5);
    let _ = f.lexicon.complete(q, 8);
    let _ = ranking::text::words(q);
    let _ = ranking::text::slug(q);
});
