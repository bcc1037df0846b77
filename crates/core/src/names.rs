//! Realm names and the log file names derived from them (SPEC 2).

use std::path::{Path, PathBuf};

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

/// A realm name is accepted when it is short and printable; anything else is refused with 400.
pub fn is_valid_realm_name(name: &str) -> bool {
    !name.trim().is_empty() && name.len() <= 120 && !name.chars().any(|c| c.is_control())
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
