//! Serving the root as static files for the standalone server: tower-http's `ServeDir`
//! behind a guard that keeps requests inside the root and away from secrets (SPEC 8), with
//! `Cache-Control: no-cache` so edited files are always fetched anew.

use super::security::text_response;
use axum::body::Body;
use http::{header, HeaderValue, Request, Response, StatusCode};
use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::Service;
use tower_http::services::ServeDir;

/// The root, served.
#[derive(Clone)]
pub struct StaticFiles {
    root: PathBuf,
    dir: ServeDir,
}

impl StaticFiles {
    /// `root` should be canonical (the engine's root is).
    pub fn new(root: impl Into<PathBuf>) -> StaticFiles {
        let root = root.into();
        StaticFiles {
            dir: ServeDir::new(&root).append_index_html_on_directories(true),
            root,
        }
    }
}

/// Why a request path must not be served, if it must not.
pub fn refusal(root: &Path, uri_path: &str) -> Option<&'static str> {
    let Some(decoded) = percent_decode(uri_path) else {
        return Some("bad percent-encoding");
    };
    if decoded.contains('\0') || decoded.contains('\\') {
        return Some("bad path");
    }
    let mut rel = PathBuf::new();
    for seg in decoded.split('/').filter(|s| !s.is_empty()) {
        if seg == ".." || seg == "." {
            return Some("path leaves the root");
        }
        if is_secret(seg) {
            return Some("secret file");
        }
        rel.push(seg);
    }
    // Symlinks that lead out of the root.
    let full = root.join(&rel);
    if let Ok(real) = std::fs::canonicalize(&full) {
        if !real.starts_with(root) {
            return Some("path leaves the root");
        }
    }
    None
}

/// `.env*`, `.git`, private keys and certificates.
fn is_secret(segment: &str) -> bool {
    let s = segment.to_ascii_lowercase();
    if s.starts_with(".env") || s == ".git" || s == ".ssh" || s == ".npmrc" || s == ".netrc" {
        return true;
    }
    if s.starts_with("id_rsa")
        || s.starts_with("id_dsa")
        || s.starts_with("id_ecdsa")
        || s.starts_with("id_ed25519")
    {
        return true;
    }
    let ext = s.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    matches!(
        ext,
        "pem" | "key" | "crt" | "cer" | "der" | "p12" | "pfx" | "jks" | "keystore"
    )
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
        if let Some(reason) = refusal(&self.root, req.uri().path()) {
            tracing::debug!(path = req.uri().path(), reason, "refused static request");
            return Box::pin(async { Ok(text_response(StatusCode::NOT_FOUND, "Not found\n")) });
        }
        let mut dir = self.dir.clone();
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
        for ok in [
            "/",
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
}
