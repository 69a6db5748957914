//! One page per file.

pub mod cart;
pub mod category;
pub mod home;
pub mod not_found;
pub mod order_paid;
pub mod product;
pub mod search;
pub mod settings;
pub mod viewed;
pub mod wishlist;
