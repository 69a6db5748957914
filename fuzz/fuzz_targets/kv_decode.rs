//! Fuzz target: any bytes read from KV as each stored kind, then used the way the edge uses them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ranking::kv::{self, Blob};

fn try_kind<T: Blob>(data: &[u8]) -> Option<T> {
    kv::decode::<T>(data).ok()
}

fuzz_target!(|data: &[u8]| {
    // The header names the kind; try the payload as every kind, so the fuzzer need not guess it.
    let mut framed = data.to_vec();
    // Every kind there is (13: the device pack), and one past it.
    for kind in 1u8..=14 {
        if framed.len() > 6 {
            framed[..4].copy_from_slice(&kv::MAGIC);
            framed[4..6].copy_from_slice(&kv::FORMAT_VERSION.to_le_bytes());
            framed[6] = kind;
        }
        let w = ranking::weights::Weights::default();
        if let Some(items) = try_kind::<ranking::index::ItemIndex>(&framed)
            && items.is_consistent()
        {
            let seen = items.cards.first().map(|c| c.id.clone()).unwrap_or_default();
            let history = [ranking::feed::Seen { id: &seen, event: ranking::Event::Cart }];
            let _ = ranking::feed::home(&items, &history, &w, 10);
            let _ = items.categories();
        }
        if let Some(cell) = try_kind::<ranking::ivf::Cell>(&framed)
            && let Some(open) = ranking::ivf::OpenCell::new(cell)
        {
            let cells = ranking::ivf::Cells::new(&[&open, &open]);
            let cat = ranking::search::SearchIndex::cells(&cells, None, None);
            let req = ranking::search::SearchRequest { query: "chair tabel", limit: 5, ..Default::default() };
            let _ = ranking::search::search(cat, &req, &w);
        }
        if let Some(head) = try_kind::<ranking::ivf::IvfHead>(&framed)
            && let Some(r) = ranking::ivf::Router::new(head)
        {
            let _ = r.search_cells("office chair", Some("furniture"), None);
            let _ = r.complete("cha", 8);
            let _ = r.cell_of("FUR-1");
            let _ = r.probe(&[0.5; 64], true, 4);
        }
        if let Some(lex) = try_kind::<ranking::lexical::LexicalData>(&framed)
            && let Some(l) = ranking::lexical::Lexicon::new(lex)
        {
            let _ = l.search("chiar desk");
            let _ = l.complete("pa", 8);
        }
        if let Some(e) = try_kind::<ranking::embed::EmbedderData>(&framed)
            && let Some(e) = ranking::embed::Embedder::new(e)
        {
            let _ = e.embed("Ergonomic office chair, black");
        }
        if let Some(l) = try_kind::<ranking::locale::Locale>(&framed)
            && l.validate().is_ok()
        {
            let p = ranking::Price { amount: 12.5, currency: "USD".into() };
            let _ = l.convert(&p, l.currency_for(Some("DE"), None));
            let _ = l.delivery(&["US".into(), "EU".into()], "FR");
        }
        if let Some(pack) = try_kind::<ranking::device::DevicePack>(&framed)
            && let Ok(cell) = kv::decode::<ranking::ivf::Cell>(&pack.cell)
            && let Some(open) = ranking::ivf::OpenCell::new(cell)
        {
            // As the device installs it: the pack's cell, ranked with the pack's own weights.
            let cells = ranking::ivf::Cells::new(&[&open]);
            let _ = ranking::feed::home(&cells, &[], &pack.weights, 10);
        }
        let _ = try_kind::<ranking::rules::Rules>(&framed);
        let _ = try_kind::<ranking::weights::Variants>(&framed);
        let _ = try_kind::<ranking::kv::Manifest>(&framed);
        let _ = try_kind::<ranking::kv::ProductShard>(&framed);
        let _ = try_kind::<ranking::kv::CardList>(&framed);
    }
    let _ = kv::decode::<ranking::kv::Manifest>(data);
});
