//! Reading the build from a key-value store: the [`Kv`] trait (Workers KV in the worker, a map in
//! tests), the version pointer, and values decoded once per isolate and index version.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use ranking::index::ItemIndex;
use ranking::kv::{self, Blob, CardList, Manifest, ProductShard};
use ranking::locale::Locale;
use ranking::rules::Rules;
use ranking::weights::Variants;

use crate::problem::Problem;

/// Most IVF cells kept decoded per isolate (~1 MB each).
const MAX_CACHED_CELLS: usize = 32;

/// What serving needs of a key-value store: a value by key, `Ok(None)` when the key is missing, the
/// store's own error as text otherwise.
// The Workers futures are not `Send` (one isolate, one thread), so the trait asks for no `Send`.
#[allow(async_fn_in_trait)]
pub trait Kv {
    async fn bytes(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    async fn text(&self, key: &str) -> Result<Option<String>, String>;
}

/// A warning for the Workers log (natively, in tests, on stderr); never carries a request.
pub(crate) fn warn(message: &str) {
    #[cfg(target_arch = "wasm32")]
    worker::console_warn!("{message}");
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{message}");
}

/// Decoded values of one index version, kept for the isolate's life; dropped when `current` moves.
#[derive(Default)]
struct Cache {
    version: String,
    values: HashMap<String, Rc<dyn Any>>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// Drops every decoded value, as a new isolate starts (tests read several stores in one thread).
#[cfg(test)]
pub(crate) fn forget() {
    CACHE.with_borrow_mut(|c| *c = Cache::default());
}

/// The index version to read: `current`, or mid-deploy this worker's format's last build.
pub async fn current_version(store: &impl Kv) -> Result<String, Problem> {
    let live = pointer(store, kv::CURRENT).await?.ok_or_else(|| {
        Problem::Unavailable("the index is not built yet: KV key `current` is missing".into())
    })?;
    // Mid-deploy, `current` may name a build of another format than this worker reads: it then
    // serves the last build of its own format, if there is one (else the values say what is wrong).
    let version = match kv::format_of(&live) {
        Some(f) if f != kv::FORMAT_VERSION => {
            pointer(store, &kv::current_key(kv::FORMAT_VERSION)).await?.unwrap_or(live)
        }
        _ => live,
    };
    CACHE.with_borrow_mut(|c| {
        if c.version != version {
            c.version.clone_from(&version);
            c.values.clear();
        }
    });
    Ok(version)
}

/// The version id a pointer key names, `None` when the key is missing.
async fn pointer(store: &impl Kv, key: &str) -> Result<Option<String>, Problem> {
    let Some(raw) = store
        .text(key)
        .await
        .map_err(|e| Problem::Unavailable(format!("cannot read KV key `{key}`: {e}")))?
    else {
        return Ok(None);
    };
    let version =
        kv::parse_version_id(&raw).map_err(|e| Problem::Unavailable(format!("KV key `{key}`: {e}")))?;
    Ok(Some(version.to_owned()))
}

/// A value the build must have, decoded and checked.
pub async fn load<T: Blob + Checked + 'static>(
    store: &impl Kv,
    version: &str,
    key: &str,
) -> Result<Rc<T>, Problem> {
    load_as::<T, T>(store, version, key, |v| v.is_consistent().then_some(v)).await
}

/// Raw bytes the build must have (the device pack's cell is passed on as stored).
pub async fn raw(store: &impl Kv, key: &str) -> Result<Vec<u8>, Problem> {
    store
        .bytes(key)
        .await
        .map_err(|e| Problem::Unavailable(format!("cannot read KV key {key}: {e}")))?
        .ok_or_else(|| missing(key))
}

fn missing(key: &str) -> Problem {
    Problem::Unavailable(format!("KV key {key} is missing"))
}

/// Values whose parts must agree with each other before handlers may index into them.
pub trait Checked {
    fn is_consistent(&self) -> bool {
        true
    }
}

impl Checked for ItemIndex {
    fn is_consistent(&self) -> bool {
        ItemIndex::is_consistent(self)
    }
}
impl Checked for Manifest {}
impl Checked for ProductShard {}
impl Checked for Variants {}
impl Checked for CardList {}
impl Checked for Rules {}
impl Checked for Locale {
    fn is_consistent(&self) -> bool {
        self.validate().is_ok()
    }
}

/// Reads, decodes and converts a KV value once per isolate and index version (`convert` builds the
/// queryable form, e.g. hashing a vocabulary); later requests get the cached result.
pub async fn load_as<T: Blob, R: 'static>(
    store: &impl Kv,
    version: &str,
    key: &str,
    convert: impl FnOnce(T) -> Option<R>,
) -> Result<Rc<R>, Problem> {
    load_optional_as(store, version, key, convert).await?.ok_or_else(|| missing(key))
}

/// [`load_as`] for a value a build may lack: `Ok(None)` when the key is missing.
pub async fn load_optional_as<T: Blob, R: 'static>(
    store: &impl Kv,
    version: &str,
    key: &str,
    convert: impl FnOnce(T) -> Option<R>,
) -> Result<Option<Rc<R>>, Problem> {
    let cached = CACHE.with_borrow(|c| (c.version == version).then(|| c.values.get(key).cloned()).flatten());
    if let Some(v) = cached.and_then(|v| v.downcast::<R>().ok()) {
        return Ok(Some(v));
    }
    let Some(bytes) =
        store.bytes(key).await.map_err(|e| Problem::Unavailable(format!("cannot read KV key {key}: {e}")))?
    else {
        return Ok(None);
    };
    let decoded = kv::decode::<T>(&bytes).map_err(|e| Problem::Unavailable(format!("KV key {key}: {e}")))?;
    let value = Rc::new(
        convert(decoded).ok_or_else(|| Problem::Unavailable(format!("KV key {key}: inconsistent data")))?,
    );
    keep(version, key, value.clone());
    Ok(Some(value))
}

/// Keeps a decoded value for later requests of the same version.
fn keep<R: 'static>(version: &str, key: &str, value: Rc<R>) {
    CACHE.with_borrow_mut(|c| {
        if c.version != version {
            return;
        }
        // Cells of a large catalog would outgrow the isolate's 128 MB if all were kept: past the
        // cap, drop an arbitrary other cell (requests still using it hold their own reference).
        if key.contains("/cells/") {
            let cached: Vec<String> = c.values.keys().filter(|k| k.contains("/cells/")).cloned().collect();
            if cached.len() >= MAX_CACHED_CELLS
                && let Some(old) = cached.iter().find(|k| !k.ends_with("/popular"))
            {
                c.values.remove(old);
            }
        }
        c.values.insert(key.to_owned(), value as Rc<dyn Any>);
    });
}

/// Parts of the build that failed to load for one request (each falls back to a default). Such an
/// answer is served but never stored: a cache would keep the fallback for everyone.
pub type FellBack = RefCell<Vec<&'static str>>;

/// An optional part of the build: `None` when this build has none, a default (and noted in `fell`)
/// when it is there but unreadable.
pub async fn optional<T: Blob + Checked + 'static>(
    store: &impl Kv,
    v: &str,
    key: &str,
    part: &'static str,
    fell: &FellBack,
) -> Option<Rc<T>> {
    match load_optional_as::<T, T>(store, v, key, |x| x.is_consistent().then_some(x)).await {
        Ok(value) => value,
        Err(e) => {
            warn(&format!("{part} unreadable, defaults used: {e}"));
            fell.borrow_mut().push(part);
            None
        }
    }
}
