//! Realm names and the log file names derived from them (SPEC 2), and how names and page URLs
//! — untrusted input from the network — are checked and made inert before they are written into
//! Markdown (the registry, log titles and guides).
//!
//! A realm name must be in the shim's own alphabet: ASCII letters, digits, `-`, `_` and `.`,
//! starting with a letter or digit, at most [`MAX_NAME_LEN`] bytes (`7-zen-1201-03`,
//! `7-zen-1201-03-webworker`). None of these characters can open a link, a heading, a fence,
//! an HTML tag or a `%%SHUTDOWN%%` line wherever the server writes a name. A page URL is free
//! text from the page, so it is rewritten into an equivalent percent-encoded form
//! ([`safe_url`]) with no Markdown-significant character left in it.

use std::path::{Path, PathBuf};

/// Longest realm name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 120;
/// Longest page URL accepted, in bytes (before it is made safe).
pub const MAX_URL_LEN: usize = 4096;

/// Lower-case, every run of characters outside `[a-z0-9]` becomes one `-`, no leading or
/// trailing `-`. Empty names become `realm`.
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "realm".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Is `name` a realm name the server accepts (the shim's alphabet, see the module doc)?
pub fn is_valid_realm_name(name: &str) -> bool {
    realm_name_problem(name).is_none()
}

/// Why `name` is refused, as the end of a one-line message, or `None` when it is accepted.
pub fn realm_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is missing".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Some(format!("it is longer than {MAX_NAME_LEN} characters"));
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Some("it must start with a letter or digit".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(format!(
            "it holds {c:?}; only ASCII letters, digits, '-', '_' and '.' are allowed"
        ));
    }
    None
}

/// The `name` and `url` a client sent, checked: the name as it is (or why it is refused), the
/// URL made safe for Markdown ([`safe_url`]). The error is a one-line message for a `400`.
pub fn check_realm_params(name: &str, url: &str) -> Result<(String, String), String> {
    if let Some(problem) = realm_name_problem(name) {
        return Err(format!(
            "invalid ?name=<realm> parameter: {problem} (realm names look like 7-zen-1201-03)"
        ));
    }
    if url.len() > MAX_URL_LEN || url.chars().any(char::is_control) {
        return Err(format!(
            "invalid ?url= parameter (at most {MAX_URL_LEN} characters, no control characters)"
        ));
    }
    Ok((name.to_string(), safe_url(url)))
}

/// A URL rewritten so that it is inert in Markdown and still means the same address: every
/// byte outside letters, digits and `-._~:/?#@!$&'+,;=` is percent-encoded (UTF-8), and so is
/// a `%` that does not start an escape. No space, bracket, parenthesis, angle bracket,
/// backtick, backslash, `*`, `|` or line break is left, so the URL cannot end a link, start
/// a new one, open a fence or HTML, or stand on a line of its own.
pub fn safe_url(url: &str) -> String {
    let bytes = url.as_bytes();
    let mut out = String::with_capacity(url.len());
    for (i, &b) in bytes.iter().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b"-._~:/?#@!$&'+,;=".contains(&b);
        let escape_start = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if keep || escape_start {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Text from outside (a name, a URL, a "the page …" phrase) made inert for one line of
/// Markdown prose: line breaks and other control characters become spaces (so nothing can
/// stand on a line of its own: no heading, fence or `%%SHUTDOWN%%`), and every character that
/// could open or close a link, image, code span, HTML tag or `*` emphasis is backslash-escaped.
/// Checked names and [`safe_url`] output pass through unchanged; [`unescape_inline`] reverses it.
pub fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push(' ');
        } else {
            if matches!(c, '\\' | '`' | '*' | '[' | ']' | '(' | ')' | '<' | '>') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// The text [`escape_inline`] was given (control characters stay spaces).
pub fn unescape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(&next) if c == '\\' && next.is_ascii_punctuation() => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// The log for `name` in `dir`: an existing file whose name matches case-insensitively is reused.
pub fn log_path(dir: &Path, name: &str) -> PathBuf {
    let wanted = format!("{}.md", sanitize(name));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            if file_name.to_string_lossy().eq_ignore_ascii_case(&wanted) {
                return dir.join(file_name);
            }
        }
    }
    dir.join(wanted)
}

/// The realm key (sanitized name) a log path belongs to, if it is a `.md` file.
pub fn key_of_log(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().to_lowercase();
    let stem = name.strip_suffix(".md")?;
    Some(sanitize(stem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizing() {
        assert_eq!(sanitize("7-zen-1201-03"), "7-zen-1201-03");
        assert_eq!(sanitize("My Page!! (2)"), "my-page-2");
        assert_eq!(sanitize("--x__y--"), "x-y");
        assert_eq!(sanitize("Ünï"), "n");
        assert_eq!(sanitize("???"), "realm");
    }

    #[test]
    fn names_outside_the_shims_alphabet_are_refused() {
        for ok in [
            "7-zen-1201-03",
            "7-zen-1201-03-webworker",
            "sim-3-4",
            "My_App.main",
            &"a".repeat(MAX_NAME_LEN),
        ] {
            assert!(is_valid_realm_name(ok), "{ok}");
        }
        for bad in [
            "",
            "evil](http://evil.example/) [x",
            "a b",
            "x\n%%SHUTDOWN%%",
            "# heading",
            "-x",
            ".hidden",
            "a`b",
            "a<b>",
            "a/b",
            "a\\b",
            "Ünï",
            &"a".repeat(MAX_NAME_LEN + 1),
        ] {
            assert!(!is_valid_realm_name(bad), "{bad:?}");
        }
        let err = check_realm_params("evil](x)", "").unwrap_err();
        assert!(err.contains("']'") && !err.contains('\n'), "{err}");
    }

    #[test]
    fn urls_are_made_inert() {
        assert_eq!(
            safe_url("http://localhost:8342/a_b/?q=1&r=x~y#top"),
            "http://localhost:8342/a_b/?q=1&r=x~y#top"
        );
        assert_eq!(safe_url("http://h/%41%zz%"), "http://h/%41%25zz%25");
        let evil = "http://x/) [evil](http://evil.example/) `x` <b>*y*</b> \\ |%%SHUTDOWN%%";
        let safe = safe_url(evil);
        assert!(
            !safe.contains(|c: char| " []()`<>*\\|\n".contains(c)),
            "{safe}"
        );
        assert!(!safe.contains("%%SHUTDOWN%%"), "{safe}");
        assert_eq!(safe_url("http://h/ü"), "http://h/%C3%BC");
        assert!(check_realm_params("a", "http://x/\n%%SHUTDOWN%%").is_err());
        assert!(check_realm_params("a", &"x".repeat(MAX_URL_LEN + 1)).is_err());
    }

    #[test]
    fn inline_escaping_round_trips_and_neutralises() {
        for text in [
            "the page http://localhost:8342/",
            "evil](http://evil.example/) [x",
            "a\\(b\\\\)`c`<d>*e*",
        ] {
            let escaped = escape_inline(text);
            assert_eq!(unescape_inline(&escaped), text);
        }
        assert_eq!(
            escape_inline("evil](http://evil.example/) [x"),
            "evil\\]\\(http://evil.example/\\) \\[x"
        );
        assert_eq!(escape_inline("a\n# h\r\n```"), "a # h  \\`\\`\\`");
        assert_eq!(escape_inline("7-zen-1201-03"), "7-zen-1201-03");
    }

    #[test]
    fn reuses_case_insensitive_match() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("7-ZEN-1201-03.md"), "").unwrap();
        assert_eq!(
            log_path(dir.path(), "7-zen-1201-03"),
            dir.path().join("7-ZEN-1201-03.md")
        );
        assert_eq!(log_path(dir.path(), "other"), dir.path().join("other.md"));
    }
}
