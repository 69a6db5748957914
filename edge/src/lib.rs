//! The storefront's edge worker: a thin I/O shell around `ranking`.
//!
//! [`api`] holds the handlers as plain functions over parsed input and decoded KV values (tested
//! natively); [`problem`] is the one place HTTP errors are made; `shell` (wasm only) reads KV, caches
//! decoded values per index version in isolate memory, and turns results into responses. The checkout
//! follows the same split: [`checkout`] and [`stripe`] are pure and tested natively, `commerce` (wasm
//! only) calls Stripe and writes D1. `openapi.json` documents the API; the `openapi` tests keep it in
//! sync with the router.

pub mod api;
pub mod body;
pub mod checkout;
#[cfg(target_arch = "wasm32")]
mod commerce;
pub mod events;
#[cfg(test)]
mod openapi;
pub mod pages;
pub mod problem;
pub mod seo;
pub mod serve;
#[cfg(test)]
mod serve_tests;
#[cfg(target_arch = "wasm32")]
mod shell;
pub mod store;
pub mod stripe;
