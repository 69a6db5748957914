//! Home feeds. For now the non-personal feed: most purchased first, as precomputed by the indexer.

use crate::catalog::Card;
use crate::kv::CardList;

/// Largest page of a feed.
pub const MAX_LIMIT: usize = 100;

/// The most purchased products, best first.
///
/// Contract: returns at most `limit` (capped at [`MAX_LIMIT`]) cards in stored order, which the indexer
/// sorted by purchases desc then id asc; an empty list gives an empty feed.
pub fn popular(list: &CardList, limit: usize) -> Vec<Card> {
    list.cards.iter().take(limit.min(MAX_LIMIT)).cloned().collect()
}

/// Sorts cards most purchased first, ties by id, the order [`popular`] serves.
pub fn sort_by_popularity(cards: &mut [Card]) {
    cards.sort_by(|a, b| b.purchases.cmp(&a.purchases).then_with(|| a.id.cmp(&b.id)));
}
