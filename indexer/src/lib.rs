//! The indexer's library: importers, validation, embeddings and KV builds, used by its CLI
//! (`main.rs`) and by the integration tests.

pub mod build;
pub mod cf;
pub mod ease;
pub mod elsa;
pub mod embed;
pub mod eval;
pub mod experiments;
pub mod feeds;
pub mod instacart;
pub mod ivf;
pub mod model;
pub mod orders;
pub mod progress;
pub mod read;
pub mod report;
pub mod rules;
pub mod superstore;
pub mod synthetic;
pub mod tune;
