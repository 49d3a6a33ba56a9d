//! Duplicate detection by content: title and description, normalized.

use std::hash::{DefaultHasher, Hash, Hasher};

/// A key equal for two tasks whose title and description differ only in case and white
/// space. Kept in memory only (never persisted), so the hash function may change freely.
pub fn content_key(title: &str, description: &str) -> u64 {
    let mut h = DefaultHasher::new();
    normalize(title).hash(&mut h);
    0u8.hash(&mut h);
    normalize(description).hash(&mut h);
    h.finish()
}

fn normalize(s: &str) -> String {
    s.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::content_key;

    #[test]
    fn case_and_spacing_do_not_matter() {
        assert_eq!(
            content_key("Fix  the Build", "now"),
            content_key("fix the build ", " NOW")
        );
        assert_ne!(
            content_key("fix the build", "now"),
            content_key("fix the build", "later")
        );
        assert_ne!(content_key("a b", ""), content_key("a", "b"));
    }
}
