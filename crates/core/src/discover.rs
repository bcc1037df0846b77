//! Test-file discovery for `POST /-daebug-discover-tests` (SPEC 5): Node's default test-file
//! patterns when no globs are given, the given globs otherwise; never outside the root (symlinks
//! are not followed), never in `node_modules` or build output, never a private file or
//! directory (dot-files, keys, credentials: [`crate::http::security::private_reason`]) — the
//! same rule as static serving, so discovery cannot list what the server would not serve.

use crate::http::security::private_reason;
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::path::Path;

/// Node's default `--test` patterns.
pub const NODE_DEFAULT_PATTERNS: &[&str] = &[
    "**/*.test.{cjs,mjs,js}",
    "**/*-test.{cjs,mjs,js}",
    "**/*_test.{cjs,mjs,js}",
    "**/test-*.{cjs,mjs,js}",
    "**/test.{cjs,mjs,js}",
    "**/test/**/*.{cjs,mjs,js}",
];

/// Directories never searched.
const SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    "dist",
    "build",
    "out",
    "coverage",
    "target",
    ".next",
    ".svelte-kit",
    "daebug",
];
/// Files found at most.
const MAX_FILES: usize = 5000;

/// URL paths (`/tests/a.test.js`) of the test files under `root`, sorted.
pub fn discover(root: &Path, files: &[String], exclude: &[String]) -> Result<Vec<String>, String> {
    let patterns: Vec<String> = if files.is_empty() {
        NODE_DEFAULT_PATTERNS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        files.to_vec()
    };
    let include = build(&patterns)?;
    let exclude = build(exclude)?;
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && (SKIPPED_DIRS.contains(&name.as_ref()) || private_reason(&name).is_some()))
        });
    for entry in walker.flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if include.is_match(&rel) && !exclude.is_match(&rel) && private_reason(&rel).is_none() {
            out.push(format!("/{rel}"));
            if out.len() >= MAX_FILES {
                break;
            }
        }
    }
    out.sort();
    Ok(out)
}

fn build(patterns: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let p = p.trim().trim_start_matches("./").trim_start_matches('/');
        if p.split('/').any(|s| s == "..") || Path::new(p).is_absolute() {
            return Err(format!("pattern {p:?} leaves the root"));
        }
        let glob = Glob::new(p).map_err(|e| format!("bad pattern {p:?}: {e}"))?;
        b.add(glob);
    }
    b.build().map_err(|e| format!("bad patterns: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_patterns_and_exclusions() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for f in [
            "a.test.js",
            "src/b-test.mjs",
            "src/c_test.cjs",
            "test-d.js",
            "test/e.js",
            "test/deep/f.mjs",
            "node_modules/x/g.test.js",
            "dist/h.test.js",
            "src/app.js",
            "test.js",
        ] {
            let p = r.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let found = discover(r, &[], &[]).unwrap();
        assert_eq!(
            found,
            vec![
                "/a.test.js",
                "/src/b-test.mjs",
                "/src/c_test.cjs",
                "/test-d.js",
                "/test.js",
                "/test/deep/f.mjs",
                "/test/e.js"
            ]
        );
        assert_eq!(
            discover(r, &["src/**/*.mjs".into()], &[]).unwrap(),
            vec!["/src/b-test.mjs"]
        );
        assert_eq!(discover(r, &[], &["test/**".into()]).unwrap().len(), 5);
        assert!(discover(r, &["../**/*.js".into()], &[]).is_err());
    }

    #[test]
    fn private_files_and_symlinks_out_are_not_discovered() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for f in [
            "ok.test.js",
            ".hidden/a.test.js",
            "sub/.cache/b.test.js",
            ".c.test.js",
            "id_rsa.test.js",
            "test/keys.pem/c.test.js",
        ] {
            let p = r.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        #[cfg(unix)]
        {
            let outside = tempfile::tempdir().unwrap();
            std::fs::write(outside.path().join("out.test.js"), "").unwrap();
            std::os::unix::fs::symlink(outside.path(), r.join("linked")).unwrap();
            std::os::unix::fs::symlink(
                outside.path().join("out.test.js"),
                r.join("file-link.test.js"),
            )
            .unwrap();
        }
        assert_eq!(discover(r, &[], &[]).unwrap(), vec!["/ok.test.js"]);
        assert_eq!(
            discover(r, &["**/*.js".into(), ".hidden/*.js".into()], &[]).unwrap(),
            vec!["/ok.test.js"]
        );
    }
}
