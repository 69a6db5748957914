//! The storefront's edge worker: a thin I/O shell around `ranking`.
//!
//! [`route`] parses requests into routes; [`serve`] answers index reads from any [`store::Kv`]
//! (both layouts, the feed's fallback, cache policy) and [`pages`] assembles the home and product
//! pages, all tested natively with an in-memory KV (`serve_tests`); [`problem`] is the one place HTTP
//! errors are made; `shell` (wasm only) is Workers I/O: the events, Workers KV, the Cache API and
//! responses. The checkout follows the same split: [`checkout`] and [`stripe`] are pure and tested
//! natively, `commerce` (wasm only) calls Stripe and writes D1. `openapi.json` documents the API; the
//! `openapi` tests keep it in sync with the router.

pub mod body;
pub mod checkout;
#[cfg(target_arch = "wasm32")]
mod commerce;
pub mod events;
mod kept;
#[cfg(test)]
mod openapi;
pub mod pages;
pub mod prerender;
pub mod problem;
pub mod route;
pub mod seo;
pub mod serve;
#[cfg(test)]
mod serve_tests;
#[cfg(target_arch = "wasm32")]
mod shell;
pub mod store;
pub mod stripe;

/// Counts the bytes the worker holds, so the per-isolate budget (`kept`) weighs each decoded value by
/// what it really takes, not by its encoded size.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);
