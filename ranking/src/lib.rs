//! Shared core of the storefront: catalog types, the versioned KV data format, search and feeds.
//!
//! This crate is compiled into the native indexer, the edge worker and the browser app, so all three
//! read the same data and rank identically. It does no I/O and never panics on data: every function
//! takes already-loaded values and returns a result, however odd the input (NaN, empty, unknown ids).

pub mod answer;
pub mod catalog;
pub mod checkout;
pub mod columns;
pub mod device;
pub mod embed;
pub mod events;
pub mod feed;
pub mod history;
pub mod index;
pub mod ivf;
pub mod kv;
pub mod lexical;
pub mod locale;
pub mod order;
pub mod page;
pub mod rows;
pub mod rules;
pub mod search;
pub mod signals;
pub mod text;
pub mod vector;
pub mod weights;
pub mod wire;
pub mod wordpiece;

pub use catalog::{Card, Event, Interaction, Price, Product};
