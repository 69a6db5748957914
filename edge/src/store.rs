//! Reading the build from a key-value store: the [`Kv`] trait (Workers KV in the worker, a map in
//! tests), the version pointer, and values decoded once per isolate and index version, kept within
//! the isolate's memory budget ([`crate::kept`]).

use std::cell::RefCell;
use std::rc::Rc;

use ranking::index::ItemIndex;
use ranking::kv::{self, Blob, CardList, Manifest, ProductShard};
use ranking::locale::Locale;
use ranking::rules::Rules;
use ranking::weights::Variants;

use crate::kept::{BUDGET_BYTES, Kept};
use crate::problem::Problem;

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

/// Decoded values of one index version, kept within the budget; dropped when `current` moves.
struct Cache {
    version: String,
    values: Kept,
}

impl Default for Cache {
    fn default() -> Cache {
        Cache { version: String::new(), values: Kept::new(BUDGET_BYTES) }
    }
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
    if let Some(v) = cached::<R>(version, key) {
        return Ok(Some(v));
    }
    let Some(bytes) = read(store, key).await? else { return Ok(None) };
    decode_and_keep(version, key, &bytes, convert).map(Some)
}

/// [`load_as`] of several values the build must have, in order. Those not kept are read from KV at
/// once and decoded only when every read has arrived: a request waiting on KV holds encoded bytes,
/// never decoded values (several requests waiting at once would each hold theirs).
pub async fn load_all_as<T: Blob, R: 'static>(
    store: &impl Kv,
    version: &str,
    keys: &[String],
    convert: impl Fn(T) -> Option<R>,
) -> Result<Vec<Rc<R>>, Problem> {
    let kept: Vec<Option<Rc<R>>> = keys.iter().map(|k| cached::<R>(version, k)).collect();
    let reads = keys.iter().zip(&kept).map(|(key, kept)| async move {
        match kept {
            Some(_) => Ok(None),
            None => read(store, key).await?.map(Some).ok_or_else(|| missing(key)),
        }
    });
    let bytes = futures_util::future::try_join_all(reads).await?;
    keys.iter()
        .zip(kept)
        .zip(bytes)
        .map(|((key, kept), bytes)| match (kept, bytes) {
            (Some(v), _) => Ok(v),
            (None, Some(b)) => decode_and_keep(version, key, &b, &convert),
            (None, None) => Err(missing(key)),
        })
        .collect()
}

/// The value kept under `key` for `version`, if any (and of type `R`).
fn cached<R: 'static>(version: &str, key: &str) -> Option<Rc<R>> {
    let kept = CACHE.with_borrow_mut(|c| (c.version == version).then(|| c.values.get(key)).flatten());
    kept.and_then(|v| v.downcast::<R>().ok())
}

/// A KV value's bytes, `Ok(None)` when the key is missing.
async fn read(store: &impl Kv, key: &str) -> Result<Option<Vec<u8>>, Problem> {
    store.bytes(key).await.map_err(|e| Problem::Unavailable(format!("cannot read KV key {key}: {e}")))
}

/// Decodes and converts `bytes` of `key`, and keeps the result (weighed) for later requests.
fn decode_and_keep<T: Blob, R: 'static>(
    version: &str,
    key: &str,
    bytes: &[u8],
    convert: impl FnOnce(T) -> Option<R>,
) -> Result<Rc<R>, Problem> {
    let (value, heap) = weighed(|| {
        let decoded =
            kv::decode::<T>(bytes).map_err(|e| Problem::Unavailable(format!("KV key {key}: {e}")))?;
        convert(decoded).ok_or_else(|| Problem::Unavailable(format!("KV key {key}: inconsistent data")))
    });
    let value = Rc::new(value?);
    // Natively nothing is measured; a decoded value is seldom smaller than its encoding.
    keep(version, key, value.clone(), heap.max(bytes.len()));
    Ok(value)
}

/// What `make` returns and the heap bytes it left allocated (what its result holds: temporaries it
/// freed do not count), by the worker's counting allocator; 0 natively, where tests share the heap
/// between threads.
fn weighed<R>(make: impl FnOnce() -> R) -> (R, usize) {
    #[cfg(target_arch = "wasm32")]
    {
        let before = crate::ALLOCATOR.allocated();
        let made = make();
        (made, crate::ALLOCATOR.allocated().saturating_sub(before))
    }
    #[cfg(not(target_arch = "wasm32"))]
    (make(), 0)
}

/// Keeps a decoded value of `weight` bytes for later requests of the same version, within the budget.
fn keep<R: 'static>(version: &str, key: &str, value: Rc<R>, weight: usize) {
    CACHE.with_borrow_mut(|c| {
        if c.version == version {
            c.values.insert(key, value, weight.saturating_add(key.len()), lasting(key));
        }
    });
}

/// Whether a key's value is read by every request of its kind, so kept for the whole version
/// ([`crate::kept::Kept`]): everything but IVF cells and product shards, of which a build has many.
fn lasting(key: &str) -> bool {
    !key.contains("/cells/") && !key.contains("/products/")
}

/// Steps of the isolate's memory at which [`memory_growth`] writes a note.
const MEMORY_NOTE_STEP: usize = 4 << 20;

/// A line for the Workers log when the isolate's wasm memory (which never shrinks) has passed a new
/// [`MEMORY_NOTE_STEP`] since the last line: how the memory budget holds in production, with nothing
/// of any request in it (the memory benchmark reads it too). Natively always `None`.
pub fn memory_growth() -> Option<String> {
    thread_local! {
        static NOTED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    #[cfg(target_arch = "wasm32")]
    let memory = core::arch::wasm32::memory_size::<0>() * 65536;
    #[cfg(not(target_arch = "wasm32"))]
    let memory = 0;
    let step = memory / MEMORY_NOTE_STEP;
    if step <= NOTED.get() {
        return None;
    }
    NOTED.set(step);
    #[cfg(target_arch = "wasm32")]
    let live = crate::ALLOCATOR.allocated();
    #[cfg(not(target_arch = "wasm32"))]
    let live = 0;
    let (kept, values) = CACHE.with_borrow(|c| (c.values.bytes(), c.values.len()));
    let mb = |b: usize| b as f64 / f64::from(1u32 << 20);
    Some(format!(
        "isolate memory: wasm {:.1} MB, {:.1} MB allocated, {:.1} MB kept in {values} decoded values",
        mb(memory),
        mb(live),
        mb(kept)
    ))
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
