//! The JavaScript the core serves, embedded at build time: the shim (also the worker realm's
//! module), and the `node:test` / `node:assert` modules for in-page tests.

/// The page shim, a classic script; the same file runs as the worker realm's module.
pub const SHIM_JS: &str = include_str!("shim/shim.js");
pub const NODE_TEST_JS: &str = include_str!("shim/node-test.js");
pub const NODE_ASSERT_JS: &str = include_str!("shim/node-assert.js");

/// The URL the shim is injected from.
pub const SHIM_PATH: &str = "/-daebug-shim.js";
pub const WORKER_PATH: &str = "/-daebug-worker-bootstrap.js";
pub const NODE_TEST_PATH: &str = "/-daebug-node:test.js";
pub const NODE_ASSERT_PATH: &str = "/-daebug-node:assert.js";

/// Import-map entries every injected page gets (the page's own entries win).
pub fn import_map_entries() -> [(&'static str, String); 3] {
    [
        ("node:test", NODE_TEST_PATH.to_string()),
        ("node:assert", NODE_ASSERT_PATH.to_string()),
        ("node:assert/strict", format!("{NODE_ASSERT_PATH}?strict")),
    ]
}

/// The asset served at `path`, with its content type.
pub fn asset(path: &str) -> Option<&'static str> {
    match path {
        SHIM_PATH | WORKER_PATH => Some(SHIM_JS),
        NODE_TEST_PATH | "/-daebug-node%3Atest.js" => Some(NODE_TEST_JS),
        NODE_ASSERT_PATH | "/-daebug-node%3Aassert.js" => Some(NODE_ASSERT_JS),
        _ => None,
    }
}
