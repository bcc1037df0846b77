//! Serving the root as static files for the standalone server, behind a guard that keeps
//! requests inside the root and away from secrets (SPEC 8), with `Cache-Control: no-cache` so
//! edited files are always fetched anew.
//!
//! Small files are served from memory: each request costs one `stat` on the async task, which
//! validates the cached bytes (inode, size, modification time) — no blocking-pool round trip,
//! no re-read, no `canonicalize` unless the file changed. Large files (and range requests) go
//! to tower-http's `ServeDir`, which streams them.

use super::security::{private_reason, text_response};
use axum::body::Body;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;
use tower::Service;
use tower_http::services::ServeDir;

/// Files up to this size are cached in memory.
const MAX_CACHED_FILE: u64 = 2 * 1024 * 1024;
/// The cache is emptied when it grows past this.
const MAX_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// The root, served.
#[derive(Clone)]
pub struct StaticFiles {
    root: Arc<PathBuf>,
    /// Shared: hosts clone this service per request, and only the fallback path needs its own.
    dir: Arc<ServeDir>,
    cache: Arc<Mutex<Cache>>,
}

#[derive(Default)]
struct Cache {
    files: HashMap<PathBuf, Cached>,
    bytes: usize,
}

#[derive(Clone)]
struct Cached {
    stamp: Stamp,
    body: Bytes,
    content_type: HeaderValue,
    etag: HeaderValue,
}

/// What must not change for cached bytes to stay valid.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        }
    }
}

impl StaticFiles {
    /// `root` should be canonical (the engine's root is).
    pub fn new(root: impl Into<PathBuf>) -> StaticFiles {
        let root = root.into();
        StaticFiles {
            dir: Arc::new(ServeDir::new(&root).append_index_html_on_directories(true)),
            root: Arc::new(root),
            cache: Arc::default(),
        }
    }

    /// Serve from memory when possible; `None` hands the request to `ServeDir`.
    fn serve_cached(
        &self,
        method: &Method,
        uri_path: &str,
        headers: &http::HeaderMap,
    ) -> Option<Response<Body>> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        if headers.contains_key(header::RANGE) {
            return None;
        }
        let decoded: std::borrow::Cow<str> = if uri_path.contains('%') {
            percent_decode(uri_path)?.into()
        } else {
            uri_path.into()
        };
        let rel = decoded.trim_start_matches('/');
        let mut path = self.root.join(rel);
        let mut meta = std::fs::metadata(&path).ok()?;
        if meta.is_dir() {
            if !decoded.ends_with('/') {
                return None; // ServeDir redirects to the slash form
            }
            path.push("index.html");
            meta = std::fs::metadata(&path).ok()?;
        }
        if !meta.is_file() || meta.len() > MAX_CACHED_FILE {
            return None;
        }
        let stamp = Stamp::of(&meta);
        let hit = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.files.get(&path).filter(|c| c.stamp == stamp).cloned()
        };
        let entry = match hit {
            Some(c) => c,
            None => {
                // New or changed: check where it really is (symlinks), then read it.
                let real = std::fs::canonicalize(&path).ok()?;
                let Ok(inside) = real.strip_prefix(self.root.as_path()) else {
                    return Some(Refusal::OutsideRoot("path leaves the root").response());
                };
                if let Some(reason) = private_reason(&inside.to_string_lossy()) {
                    return Some(Refusal::Private(reason).response());
                }
                let body = Bytes::from(std::fs::read(&path).ok()?);
                if body.len() as u64 != stamp.len {
                    return None; // changing under us: let ServeDir stream it
                }
                let entry = Cached {
                    stamp,
                    content_type: content_type(&path),
                    etag: etag(&stamp),
                    body,
                };
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                if cache.bytes + entry.body.len() > MAX_CACHE_BYTES {
                    cache.files.clear();
                    cache.bytes = 0;
                }
                cache.bytes += entry.body.len();
                if let Some(old) = cache.files.insert(path, entry.clone()) {
                    cache.bytes -= old.body.len();
                }
                entry
            }
        };
        let not_modified = headers.get(header::IF_NONE_MATCH).is_some_and(|v| {
            v.as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii() == entry.etag.as_bytes())
        });
        let mut res = Response::builder()
            .header(header::CONTENT_TYPE, entry.content_type)
            .header(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))
            .header(header::ETAG, entry.etag);
        let body = if not_modified {
            res = res.status(StatusCode::NOT_MODIFIED);
            Body::empty()
        } else {
            res = res.header(header::CONTENT_LENGTH, entry.body.len());
            if method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(entry.body)
            }
        };
        res.body(body).ok()
    }
}

fn content_type(path: &Path) -> HeaderValue {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            mime.subtype().as_str(),
            "javascript" | "json" | "xml" | "svg+xml" | "manifest+json"
        );
    let value = if textual && mime.get_param("charset").is_none() {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

fn etag(stamp: &Stamp) -> HeaderValue {
    let nanos = stamp
        .modified
        .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    HeaderValue::from_str(&format!(
        "\"{:x}-{:x}-{:x}\"",
        stamp.inode, stamp.len, nanos
    ))
    .expect("ascii")
}

/// Why a request path is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `..`, NUL, backslashes, bad percent-encoding, a symlink out of the root: `404`.
    OutsideRoot(&'static str),
    /// A dot-file, key, certificate or credential file (see
    /// [`super::security::private_reason`]): `403` with the reason, decided on the name alone,
    /// whether or not such a file exists.
    Private(&'static str),
}

impl Refusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::OutsideRoot(r) | Refusal::Private(r) => r,
        }
    }

    /// The one-line answer.
    pub fn response(&self) -> Response<Body> {
        match self {
            Refusal::OutsideRoot(_) => text_response(StatusCode::NOT_FOUND, "Not found\n"),
            Refusal::Private(reason) => text_response(
                StatusCode::FORBIDDEN,
                &format!(
                    "Daebug does not serve this file: {reason}. Serve it under another name if it is meant to be public.\n"
                ),
            ),
        }
    }
}

/// Why a request path must not be served, judging by its name alone: encoded or plain `..`,
/// NUL and backslashes, private names (dot-files, keys, credentials).
pub fn refusal_by_name(uri_path: &str) -> Option<Refusal> {
    let decoded: std::borrow::Cow<str> = if uri_path.contains('%') {
        match percent_decode(uri_path) {
            Some(d) => d.into(),
            None => return Some(Refusal::OutsideRoot("bad percent-encoding")),
        }
    } else {
        uri_path.into()
    };
    if decoded.contains('\0') || decoded.contains('\\') {
        return Some(Refusal::OutsideRoot("bad path"));
    }
    if decoded.split('/').any(|seg| seg == ".." || seg == ".") {
        return Some(Refusal::OutsideRoot("path leaves the root"));
    }
    private_reason(&decoded).map(Refusal::Private)
}

/// Why a request path must not be served, if it must not: its name, or a symlink out of the root.
pub fn refusal(root: &Path, uri_path: &str) -> Option<Refusal> {
    if let Some(refusal) = refusal_by_name(uri_path) {
        return Some(refusal);
    }
    let decoded = percent_decode(uri_path)?;
    let rel: PathBuf = decoded.split('/').filter(|s| !s.is_empty()).collect();
    // Symlinks that lead out of the root.
    let full = root.join(&rel);
    if let Ok(real) = std::fs::canonicalize(&full) {
        if !real.starts_with(root) {
            return Some(Refusal::OutsideRoot("path leaves the root"));
        }
        // A link inside the root to a private file (`notes.txt -> .env`) is private too.
        if let Ok(inside) = real.strip_prefix(root) {
            if let Some(reason) = private_reason(&inside.to_string_lossy()) {
                return Some(Refusal::Private(reason));
            }
        }
    }
    None
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl<B: Send + 'static> Service<Request<B>> for StaticFiles {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if let Some(refusal) = refusal_by_name(req.uri().path()) {
            tracing::debug!(
                path = req.uri().path(),
                reason = refusal.reason(),
                "refused static request"
            );
            return Box::pin(async move { Ok(refusal.response()) });
        }
        if let Some(res) = self.serve_cached(req.method(), req.uri().path(), req.headers()) {
            return Box::pin(async { Ok(res) });
        }
        if let Some(refusal) = refusal(&self.root, req.uri().path()) {
            tracing::debug!(
                path = req.uri().path(),
                reason = refusal.reason(),
                "refused static request"
            );
            return Box::pin(async move { Ok(refusal.response()) });
        }
        let mut dir = ServeDir::clone(&self.dir);
        let (parts, _) = req.into_parts();
        let req = Request::from_parts(parts, Body::empty());
        Box::pin(async move {
            let res = match dir.call(req).await {
                Ok(r) => r,
                Err(e) => match e {},
            };
            let mut res = res.map(Body::new);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            Ok(res)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes_and_secrets() {
        // The full list of private names is tested in `security`; these check the wiring.
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        for bad in [
            "/../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/a/%2E%2E/%2E%2E/x",
            "/.env",
            "/.env.local",
            "/.git/config",
            "/certs/server.key",
            "/x/cert.pem",
            "/id_rsa",
            "/a%5c..%5cb",
            "/%zz",
        ] {
            assert!(refusal(&root, bad).is_some(), "{bad}");
        }
        assert!(matches!(
            refusal(&root, "/%2e%65nv"),
            Some(Refusal::Private(_))
        ));
        assert!(matches!(
            refusal(&root, "/%2e%2e/x"),
            Some(Refusal::OutsideRoot(_))
        ));
        for ok in [
            "/",
            "/.well-known/security.txt",
            "/index.html",
            "/app/main.js",
            "/environment.js",
            "/keys.json",
        ] {
            assert!(refusal(&root, ok).is_none(), "{ok}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn refuses_symlinks_out_of_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
        std::fs::create_dir(root.join("inner")).unwrap();
        std::os::unix::fs::symlink(root.join("inner"), root.join("ok-link")).unwrap();
        assert!(refusal(&root, "/link/secret.txt").is_some());
        assert!(refusal(&root, "/ok-link").is_none());
    }

    async fn get(files: &mut StaticFiles, path: &str, headers: &[(&str, &str)]) -> Response<Body> {
        let mut req = Request::builder().uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        files.call(req.body(Body::empty()).unwrap()).await.unwrap()
    }

    async fn text(res: Response<Body>) -> String {
        use http_body_util::BodyExt;
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn serves_from_memory_and_sees_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join("a.js"), "one").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/index.html"), "<p>i</p>").unwrap();
        let mut files = StaticFiles::new(root.clone());
        let res = get(&mut files, "/a.js", &[]).await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");
        let etag = res.headers()[header::ETAG].to_str().unwrap().to_string();
        assert_eq!(text(res).await, "one");
        assert_eq!(
            get(&mut files, "/a.js", &[("if-none-match", &etag)])
                .await
                .status(),
            304
        );
        std::fs::write(root.join("a.js"), "two!").unwrap();
        assert_eq!(text(get(&mut files, "/a.js", &[]).await).await, "two!");
        assert_eq!(text(get(&mut files, "/sub/", &[]).await).await, "<p>i</p>");
        assert_eq!(
            get(&mut files, "/sub", &[]).await.status(),
            307,
            "directory without slash redirects"
        );
        assert_eq!(get(&mut files, "/missing.js", &[]).await.status(), 404);
        assert_eq!(get(&mut files, "/%2e%2e/x", &[]).await.status(), 404);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_symlink_out_of_the_root_is_not_served_even_when_cached_path_is_fast() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("link.txt"))
            .unwrap();
        let mut files = StaticFiles::new(root);
        assert_eq!(get(&mut files, "/link.txt", &[]).await.status(), 404);
        assert_eq!(get(&mut files, "/link.txt", &[]).await.status(), 404);
    }
}
