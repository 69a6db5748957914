//! One page per file.

pub mod home;
pub mod not_found;
pub mod product;
pub mod search;
