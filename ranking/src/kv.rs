//! The KV data format: key names, value framing and the values the indexer stores for the edge.
//!
//! Every value is framed as `MAGIC (4 bytes) | FORMAT_VERSION (u16 LE) | kind (u8) | postcard payload`,
//! so a reader can tell a value of another build format or of the wrong kind from a corrupt one, and
//! say which. Every build writes its keys under a fresh version prefix; the plain-text [`CURRENT`] key
//! names the live version and is written last, so a reader never mixes two builds.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::catalog::{Card, Product};

/// First bytes of every framed value: "ShopFront KV".
pub const MAGIC: [u8; 4] = *b"SFKV";
/// Bumped whenever a stored type changes shape. Readers reject other versions.
pub const FORMAT_VERSION: u16 = 7;
const HEADER: usize = 7;

/// The pointer key: its value is the live version id as UTF-8 text.
pub const CURRENT: &str = "current";

/// Which stored type a value holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Manifest = 1,
    Products = 2,
    Cards = 3,
    Embedder = 5,
    Items = 6,
    Lexical = 7,
    Weights = 8,
    IvfHead = 9,
    Cell = 10,
    Locale = 11,
    Rules = 12,
    DevicePack = 13,
}

/// A value type that can be stored in KV.
pub trait Blob: Serialize + DeserializeOwned {
    const KIND: Kind;
}

/// Why a KV value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("value is {len} bytes, shorter than the {HEADER}-byte header")]
    TooShort { len: usize },
    #[error("value does not start with the SFKV magic bytes")]
    BadMagic,
    #[error("value has format version {found}, this build reads version {expected}")]
    Version { found: u16, expected: u16 },
    #[error("value holds kind {found}, expected kind {expected}")]
    Kind { found: u8, expected: u8 },
    #[error("value payload is corrupt: {0}")]
    Payload(String),
    #[error("version id {0:?} is not valid (1 to 64 chars of A-Z a-z 0-9 . _ -)")]
    VersionId(String),
}

/// Frames and serializes a value.
pub fn encode<T: Blob>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(T::KIND as u8);
    // postcard's only failure for in-memory serialization of these types is allocation, which aborts.
    postcard::to_extend(value, out).unwrap_or_default()
}

/// Checks the frame and deserializes a value. Never panics, whatever the bytes.
pub fn decode<T: Blob>(bytes: &[u8]) -> Result<T, FormatError> {
    if bytes.len() < HEADER {
        return Err(FormatError::TooShort { len: bytes.len() });
    }
    if bytes[..4] != MAGIC {
        return Err(FormatError::BadMagic);
    }
    let found = u16::from_le_bytes([bytes[4], bytes[5]]);
    if found != FORMAT_VERSION {
        return Err(FormatError::Version { found, expected: FORMAT_VERSION });
    }
    if bytes[6] != T::KIND as u8 {
        return Err(FormatError::Kind { found: bytes[6], expected: T::KIND as u8 });
    }
    let (value, rest) =
        postcard::take_from_bytes::<T>(&bytes[HEADER..]).map_err(|e| FormatError::Payload(e.to_string()))?;
    if !rest.is_empty() {
        return Err(FormatError::Payload(format!("{} trailing bytes", rest.len())));
    }
    Ok(value)
}

/// The pointer to the live build of one format. Each build writes it beside [`CURRENT`]: while a
/// deploy has flipped `current` to a build of a new format and the old worker still answers (or the
/// other way round), that worker reads its own format's pointer instead of failing on every value.
pub fn current_key(format: u16) -> String {
    format!("current-v{format}")
}

/// The format a version id was built with (the indexer names builds `v<format>-<hash>`), if it says.
pub fn format_of(version: &str) -> Option<u16> {
    version.strip_prefix('v')?.split_once('-')?.0.parse().ok()
}

/// Validates a version id read from [`CURRENT`]; it becomes part of every key, so it must be tame.
pub fn parse_version_id(raw: &str) -> Result<&str, FormatError> {
    let v = raw.trim();
    let ok = (1..=64).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(v) } else { Err(FormatError::VersionId(raw.chars().take(80).collect())) }
}

/// Key names, all under a build's version prefix.
pub mod keys {
    pub fn manifest(version: &str) -> String {
        format!("{version}/manifest")
    }
    pub fn products(version: &str, shard: u32) -> String {
        format!("{version}/products/{shard}")
    }
    pub fn popular(version: &str) -> String {
        format!("{version}/popular")
    }
    pub fn search(version: &str) -> String {
        format!("{version}/search")
    }
    pub fn embedder(version: &str) -> String {
        format!("{version}/embedder")
    }
    pub fn items(version: &str) -> String {
        format!("{version}/items")
    }
    pub fn weights(version: &str) -> String {
        format!("{version}/weights")
    }
    /// Merchandising rules.
    pub fn rules(version: &str) -> String {
        format!("{version}/rules")
    }
    /// Currencies, FX rates and delivery regions.
    pub fn locale(version: &str) -> String {
        format!("{version}/locale")
    }
    /// The routing head of a partitioned build.
    pub fn ivf(version: &str) -> String {
        format!("{version}/ivf")
    }
    /// One cell of a partitioned build.
    pub fn cell(version: &str, cell: usize) -> String {
        format!("{version}/cells/{cell}")
    }
    /// The cell of the most popular items the app downloads to rank on the device (every build).
    pub fn pack(version: &str) -> String {
        format!("{version}/pack")
    }
    /// The cell of most popular items of a partitioned build.
    pub fn popular_cell(version: &str) -> String {
        format!("{version}/cells/popular")
    }
}

/// What a build contains; read first by the edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: String,
    /// Unix seconds when the indexer wrote this build.
    pub built_at: i64,
    pub product_count: u32,
    /// Number of `products/{n}` shards; [`shard_of`] maps an id to its shard.
    pub shard_count: u32,
    /// Number of IVF cells (`cells/{n}` plus `cells/popular`, routed by `ivf`); 0 when the item index
    /// is one `items` value.
    pub cells: u32,
}

impl Blob for Manifest {
    const KIND: Kind = Kind::Manifest;
}

/// One shard of full product records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductShard {
    pub products: Vec<Product>,
}

impl Blob for ProductShard {
    const KIND: Kind = Kind::Products;
}

impl ProductShard {
    pub fn get(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }
}

/// A ranked list of cards (e.g. most purchased first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardList {
    pub cards: Vec<Card>,
}

impl Blob for CardList {
    const KIND: Kind = Kind::Cards;
}

/// Target products per shard: a shard of ~1,000 products is ~150 KB, one quick KV read.
pub const PRODUCTS_PER_SHARD: usize = 1000;

/// The shard holding a product id: FNV-1a of the id modulo the shard count. Stable across builds and
/// platforms (no std hasher, whose seed and algorithm may change).
pub fn shard_of(id: &str, shard_count: u32) -> u32 {
    (fnv1a(FNV_OFFSET, id.as_bytes()) % u64::from(shard_count.max(1))) as u32
}

/// Start value of [`fnv1a`].
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a 64, continued from `hash` over `bytes` (start from [`FNV_OFFSET`]). Used for shard placement
/// and content fingerprints; not for anything adversarial.
pub fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Price;
    use proptest::prelude::*;

    fn card(id: &str) -> Card {
        Card {
            id: id.into(),
            title: format!("Item {id}"),
            price: Price { amount: 1.5, currency: "USD".into() },
            category: vec!["Furniture".into()],
            image: "/img/category/furniture.svg".into(),
            purchases: 3,
            list_price: Some(2.0),
        }
    }

    #[test]
    fn round_trip() {
        let list = CardList { cards: vec![card("a"), card("b")] };
        assert_eq!(decode::<CardList>(&encode(&list)).unwrap(), list);
    }

    #[test]
    fn rejects_other_format_version() {
        let mut bytes = encode(&CardList { cards: vec![card("a")] });
        bytes[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert_eq!(
            decode::<CardList>(&bytes),
            Err(FormatError::Version { found: FORMAT_VERSION + 1, expected: FORMAT_VERSION })
        );
    }

    #[test]
    fn rejects_wrong_kind_magic_and_truncation() {
        let bytes = encode(&CardList { cards: vec![card("a")] });
        assert!(matches!(decode::<Manifest>(&bytes), Err(FormatError::Kind { .. })));
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert_eq!(decode::<CardList>(&bad), Err(FormatError::BadMagic));
        assert!(matches!(decode::<CardList>(&bytes[..3]), Err(FormatError::TooShort { len: 3 })));
        assert!(matches!(decode::<CardList>(&bytes[..bytes.len() - 2]), Err(FormatError::Payload(_))));
    }

    #[test]
    fn version_ids() {
        assert_eq!(parse_version_id(" v20261122-0615\n"), Ok("v20261122-0615"));
        assert!(parse_version_id("../etc").is_err());
        assert!(parse_version_id("").is_err());
        assert!(parse_version_id(&"x".repeat(65)).is_err());
    }

    #[test]
    fn each_format_has_its_own_pointer() {
        assert_eq!(format_of("v6-c8064a3723b0f7c2"), Some(6));
        assert_eq!(format_of("v7-00"), Some(7));
        for other in ["faulty", "v-live", "v20261122-0615", "6-abc", "v6"] {
            assert_eq!(format_of(other), None, "{other}");
        }
        assert_eq!(current_key(6), "current-v6");
        assert_ne!(current_key(FORMAT_VERSION), CURRENT);
        // The pointer is a key of its own, outside every build's prefix.
        assert!(!current_key(FORMAT_VERSION).contains('/'));
    }

    #[test]
    fn shard_is_stable() {
        // Pinned values: changing the hash would silently orphan every product in stored builds.
        assert_eq!(shard_of("FUR-BO-10001798", 7), 1);
        assert_eq!(shard_of("OFF-PA-10000174", 7), 5);
        assert_eq!(shard_of("x", 7), 3);
        assert_eq!(shard_of("", 0), 0);
        let spread: std::collections::BTreeSet<u32> =
            (0..100).map(|i| shard_of(&format!("id{i}"), 4)).collect();
        assert_eq!(spread.len(), 4);
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode::<CardList>(&bytes);
            let _ = decode::<Manifest>(&bytes);
            let _ = decode::<crate::lexical::LexicalData>(&bytes);
            let _ = decode::<crate::index::ItemIndex>(&bytes);
            let _ = decode::<crate::embed::EmbedderData>(&bytes);
        }

        #[test]
        fn cards_round_trip(ids in proptest::collection::vec("[a-z0-9-]{1,20}", 0..20), amount in 0.0f64..1e9) {
            let list = CardList { cards: ids.iter().map(|i| { let mut c = card(i); c.price.amount = amount; c }).collect() };
            prop_assert_eq!(decode::<CardList>(&encode(&list)).unwrap(), list);
        }
    }
}
