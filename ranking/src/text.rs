//! Text normalisation shared by indexing and querying, so both sides cut words the same way.

/// Splits text into lowercase alphanumeric words.
///
/// Contract: deterministic, never allocates words longer than [`MAX_WORD`] chars (longer runs are cut),
/// drops empty words. Unicode letters are kept and lowercased; punctuation separates words.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut len = 0usize;
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            if len < MAX_WORD {
                cur.extend(ch.to_lowercase());
                len += 1;
            }
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            len = 0;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Longest word kept, in chars: longer runs are noise (part numbers, pasted garbage) and would bloat
/// the vocabulary.
pub const MAX_WORD: usize = 40;

/// A URL- and file-safe slug of a label ("Office Supplies" -> "office-supplies").
pub fn slug(label: &str) -> String {
    words(label).join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_and_lowercase() {
        assert_eq!(
            words("Hon Deluxe Fabric, Stacking-Chairs 10\"x12\""),
            ["hon", "deluxe", "fabric", "stacking", "chairs", "10", "x12"]
        );
        assert!(words("  ,;-  ").is_empty());
        assert_eq!(words("ÉCRAN Über"), ["écran", "über"]);
    }

    #[test]
    fn long_words_are_cut() {
        let w = words(&"a".repeat(1000));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].chars().count(), MAX_WORD);
    }

    #[test]
    fn slug_of_category() {
        assert_eq!(slug("Office Supplies"), "office-supplies");
    }
}
