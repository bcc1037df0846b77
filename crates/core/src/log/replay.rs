//! Recognising requests that an older copy of a log brings back. An editor's or agent's stale
//! save (a copy read long ago, older than the store's memory of its own edits, see
//! `crate::store`) puts the log back as it was then: requests the server took since are below
//! the footer again, without their headers, and would run a second time. What the server took
//! them from is recognisable: the same bytes around the footer. [`fingerprint`] hashes them
//! (the requests below the footer and up to [`CONTEXT`] bytes above it, which hold the replies
//! and timestamps of that moment), so the engine can tell a copy of a version it already took
//! requests from from new requests (the same code appended again sits under newer replies).

use super::parse::FOOTER_PROMPT;
use std::hash::{Hash, Hasher};

/// Bytes above the footer that take part in the fingerprint.
pub const CONTEXT: usize = 1024;

/// The fingerprint of the text below the last footer and what precedes it, or `None` when the
/// text has no footer. Deterministic within one process (it is never stored).
pub fn fingerprint(text: &str) -> Option<u64> {
    let footer = text.rfind(FOOTER_PROMPT)?;
    let mut from = footer.saturating_sub(CONTEXT);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    // CRLF and LF copies of one version are one version.
    for line in text[from..].lines() {
        line.hash(&mut h);
    }
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOOTER: &str =
        "------\n> Append your JavaScript snippet below to execute against this page.\n";

    #[test]
    fn the_same_version_gives_the_same_fingerprint() {
        let a = format!("# t\n\nreply at 10:00:01\n{FOOTER}\n```js\n1\n```\n");
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        assert_eq!(fingerprint(&a), fingerprint(&a.replace('\n', "\r\n")));
    }

    #[test]
    fn the_same_code_under_a_newer_reply_differs() {
        let a = format!("# t\n\nreply at 10:00:01\n{FOOTER}\n```js\n1\n```\n");
        let b = format!("# t\n\nreply at 10:00:02\n{FOOTER}\n```js\n1\n```\n");
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn only_the_end_of_a_long_history_counts() {
        let tail = format!("{}\n{FOOTER}\n```js\n1\n```\n", "y".repeat(CONTEXT));
        let a = format!("# t\nold history A\n{tail}");
        let b = format!("# t\nold history B, longer\n{tail}");
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn no_footer_no_fingerprint() {
        assert_eq!(fingerprint("# t\n\n```js\n1\n```\n"), None);
    }

    #[test]
    fn a_cut_inside_a_character_is_moved_to_its_start() {
        // The footer at an odd offset: CONTEXT bytes above it falls inside an "é".
        let text = format!("{}zz{FOOTER}```js\n1\n```\n", "é".repeat(CONTEXT));
        assert!(!text.is_char_boundary(text.rfind(FOOTER_PROMPT).unwrap() - CONTEXT));
        assert!(fingerprint(&text).is_some());
    }
}
