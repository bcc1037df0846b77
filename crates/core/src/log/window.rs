//! Where the server may start reading a log: a pure function over the file's last bytes.
//!
//! Every edit the server makes (accepting a request, a placeholder, a reply, a section above
//! the footer) concerns the log's tail: the footer, what follows it, and the placeholders of
//! the last requests. The history above the last server-written headers is never parsed, so the
//! cost of an edit does not grow with the log. A window starts at a line the server wrote
//! itself — a request header (`### 🗣…`) or a section heading (`#### 👍…`, `#### 🚫…`,
//! `#### 📣…`, `#### ⚠️…`, `#### 🧪…`) — preceded by an empty line, so that it is a top-level
//! block in Markdown and parsing may begin there. [`window_ok`] then checks that the window
//! parses sensibly (the footer outside code, every block above it closed); callers widen the
//! window when it does not.

use super::parse::Doc;

const BOUNDARY_PREFIXES: [&str; 6] = [
    "### 🗣",
    "#### 👍",
    "#### 🚫",
    "#### 📣",
    "#### ⚠",
    "#### 🧪",
];

/// The offset in `chunk` of the first line where a window may start: a server header line
/// preceded by an empty line. `chunk` is the end of a file; its first line may be cut, so a
/// boundary is only looked for after the first line break.
pub fn boundary(chunk: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(i) = find(&chunk[at..], b"\n\n") {
        let start = at + i + 2;
        let rest = &chunk[start..];
        if BOUNDARY_PREFIXES
            .iter()
            .any(|p| rest.starts_with(p.as_bytes()))
        {
            return Some(start);
        }
        at = at + i + 1;
    }
    None
}

/// Does `line` start with one of the server's section or request headers?
pub fn is_boundary_line(line: &str) -> bool {
    BOUNDARY_PREFIXES.iter().any(|p| line.starts_with(p))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Does a window (text from a boundary to the end of the file) parse as the tail of the log
/// would: a footer outside code, and no unclosed block above it? A window that started inside
/// a code block (a header look-alike in console output) fails this and is widened.
pub fn window_ok(text: &str) -> bool {
    let doc = Doc::parse(text);
    let Some(footer) = doc.footer() else {
        return false;
    };
    doc.fences
        .iter()
        .filter(|f| f.range.start < footer.start)
        .all(|f| f.closed)
}

/// Does the start of the file (its first bytes) hold the log's title in its first 20 lines?
pub fn head_has_title(head: &str) -> bool {
    Doc::parse(head).has_title_within(20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_server_headers_after_a_blank_line() {
        let text = "x\n#### 👍a to b at 1\n\n```\n#### 👍no\n```\n\n### 🗣️agent to r at 10:00:00\n";
        let at = boundary(text.as_bytes()).unwrap();
        assert!(text[at..].starts_with("### 🗣️agent"));
        assert_eq!(boundary(b"no headers\n\nhere\n"), None);
    }

    #[test]
    fn windows_that_start_inside_code_are_refused() {
        let footer = crate::log::footer();
        assert!(window_ok(&format!(
            "#### 👍r to a at 1 (1ms)\n```JSON\n1\n```\n\n{footer}"
        )));
        // Started inside a block: the closing fence opens one that swallows the footer.
        assert!(!window_ok(&format!("#### 👍x\n```\n\n{footer}")));
        assert!(!window_ok("no footer\n"));
    }
}
