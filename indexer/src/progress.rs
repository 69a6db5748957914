//! Progress bars for the indexer's long loops (hidden when output is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` steps labelled `what`, with rate and time left.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len).with_message(what.to_owned());
    if let Ok(style) = ProgressStyle::with_template("  {msg:<26} {bar:30} {pos}/{len} {per_sec} eta {eta}") {
        bar.set_style(style);
    }
    bar
}
