//! The security baseline (SPEC 8) as small pieces: which `Host` and `Origin` values are
//! accepted, a Layer that refuses everything else (DNS rebinding), and which file names are
//! private — never served nor discovered, whatever their content (see [`private_reason`]).

use axum::body::Body;
use http::{header, HeaderMap, Request, Response, StatusCode};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Hosts accepted in `Host` and `Origin`: loopback names and addresses, plus configured ones.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts {
    extra: Arc<Vec<String>>,
}

impl AllowedHosts {
    pub fn new(extra: impl IntoIterator<Item = String>) -> AllowedHosts {
        AllowedHosts {
            extra: Arc::new(
                extra
                    .into_iter()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect(),
            ),
        }
    }

    /// Is `host` (a hostname, no port) acceptable?
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        is_loopback_name(&host)
            || self.extra.iter().any(|a| {
                a == "*"
                    || *a == host
                    || (a.starts_with('.') && (host.ends_with(a.as_str()) || host == a[1..]))
            })
    }

    /// Is a `Host` header value (host with optional port) acceptable? Absent is accepted
    /// (HTTP/1.0 clients); browsers always send it.
    pub fn allows_host_header(&self, value: Option<&str>) -> bool {
        match value {
            None => true,
            Some(v) => self.allows(strip_port(v)),
        }
    }

    /// The `Host` header of a request: absent is accepted, one that is not plain text is not.
    pub fn allows_host_of(&self, headers: &HeaderMap) -> bool {
        match headers.get(header::HOST) {
            None => true,
            Some(v) => v.to_str().is_ok_and(|v| self.allows_host_header(Some(v))),
        }
    }
}

fn is_loopback_name(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// `localhost:8342` → `localhost`, `[::1]:80` → `[::1]`.
pub fn strip_port(hostport: &str) -> &str {
    let hostport = hostport.trim();
    if hostport.starts_with('[') {
        return hostport
            .find(']')
            .map(|i| &hostport[..=i])
            .unwrap_or(hostport);
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => hostport,
    }
}

/// A request to a `/-daebug*` endpoint from another site is refused: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` whose host is not allowed. Returns the reason.
pub fn cross_site_reason(headers: &HeaderMap, allowed: &AllowedHosts) -> Option<&'static str> {
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if site.eq_ignore_ascii_case("cross-site") {
        return Some("cross-site requests to Daebug endpoints are refused");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return Some("requests with an unreadable Origin are refused");
        };
        if origin == "null" {
            // An opaque origin (sandboxed frame, file:) is only trusted when the browser vouches
            // that the request is same-origin.
            if !site.eq_ignore_ascii_case("same-origin") {
                return Some("requests from an opaque origin to Daebug endpoints are refused");
            }
        } else {
            let host = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(origin);
            let host = host.split('/').next().unwrap_or(host);
            if !allowed.allows(strip_port(host)) {
                return Some("requests from this origin to Daebug endpoints are refused");
            }
        }
    }
    None
}

/// Refuses requests whose `Host` is not allowed, with a one-line `403`.
#[derive(Clone)]
pub struct HostCheckLayer {
    allowed: AllowedHosts,
}

impl HostCheckLayer {
    pub fn new(allowed: AllowedHosts) -> HostCheckLayer {
        HostCheckLayer { allowed }
    }
}

impl<S> Layer<S> for HostCheckLayer {
    type Service = HostCheck<S>;
    fn layer(&self, inner: S) -> HostCheck<S> {
        HostCheck {
            inner,
            allowed: self.allowed.clone(),
        }
    }
}

#[derive(Clone)]
pub struct HostCheck<S> {
    inner: S,
    allowed: AllowedHosts,
}

impl<S, B> Service<Request<B>> for HostCheck<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = futures_util::future::Either<
        std::future::Ready<Result<Response<Body>, S::Error>>,
        S::Future,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if !self.allowed.allows_host_of(req.headers()) {
            tracing::debug!(host = ?req.headers().get(header::HOST), "refused Host");
            let res = text_response(
                StatusCode::FORBIDDEN,
                "Daebug refused this request: its Host is not a loopback address. Start daebug with --allowed-host <name> to allow it.\n",
            );
            return futures_util::future::Either::Left(std::future::ready(Ok(res)));
        }
        futures_util::future::Either::Right(self.inner.call(req))
    }
}

/// Extensions of keys, certificates, keystores and credential files (lower case).
pub const PRIVATE_EXTENSIONS: &[&str] = &[
    "pem", "key", "p8", "p12", "pfx", "pkcs12", "ppk", "asc", "gpg", "pgp", "kdbx", "kdb", "jks",
    "keystore", "crt", "cer", "der", "csr", "ovpn",
];

/// Credential files without a leading dot, by exact (lower-case) name. Dot-files
/// (`.htpasswd`, `.git-credentials`, `.pgpass`, `.npmrc`, `.netrc`, `.env*`, `.aws/`, `.ssh/`…)
/// are private by the dot rule already.
pub const PRIVATE_NAMES: &[&str] = &[
    "credentials",
    "htpasswd",
    "secring.gpg",
    "pubring.kbx",
    "authorized_keys",
    "known_hosts",
];

/// SSH key types: `id_<type>` and anything after it (`id_rsa`, `id_ed25519.pub`,
/// `id_ecdsa_sk-cert.pub`, `id_rsa.old`).
const SSH_KEY_TYPES: &[&str] = &["rsa", "dsa", "ecdsa", "ed25519", "xmss"];

/// Why a path inside the root is private, judging by its name alone, or `None`. `rel` is the
/// decoded path relative to the root (`/`-separated; a leading `/` is ignored). Private:
/// - every segment that starts with `.` (`.env`, `.git/`, `.ssh/`, `.aws/credentials`,
///   `.htpasswd`, `.npmrc`…), except `.well-known` as the first segment (RFC 8615);
/// - keys, certificates and credential stores by extension ([`PRIVATE_EXTENSIONS`]);
/// - credential files by name ([`PRIVATE_NAMES`]);
/// - SSH keys: `id_rsa`, `id_dsa`, `id_ecdsa`, `id_ed25519`, `id_xmss` with any suffix, and any
///   other `id_<word>` without an extension or with `.pub` (`id_work`, `id_github.pub`) — but
///   not ordinary files such as `id_utils.js`.
///
/// Names are compared case-insensitively (case-insensitive file systems).
pub fn private_reason(rel: &str) -> Option<&'static str> {
    let segments = rel.split(['/', '\\']).filter(|s| !s.is_empty());
    for (i, segment) in segments.enumerate() {
        let lower = segment.to_ascii_lowercase();
        if lower.starts_with('.') {
            if i == 0 && lower == ".well-known" {
                continue;
            }
            return Some("hidden files and directories (names starting with '.') are private");
        }
        // Windows opens `key.pem.`, `key.pem ` and `key.pem::$DATA` as `key.pem`.
        let seg = lower
            .split(':')
            .next()
            .unwrap_or_default()
            .trim_end_matches(['.', ' ']);
        if PRIVATE_NAMES.contains(&seg) {
            return Some("credential files are private");
        }
        if let Some(after) = seg.strip_prefix("id_") {
            let ext = after.rsplit_once('.').map(|(_, e)| e);
            if SSH_KEY_TYPES.iter().any(|t| after.starts_with(t))
                || matches!(ext, None | Some("pub"))
            {
                return Some("SSH keys are private");
            }
        }
        if let Some((_, ext)) = seg.rsplit_once('.') {
            if PRIVATE_EXTENSIONS.contains(&ext) {
                return Some("keys, certificates and credential stores are private");
            }
        }
    }
    None
}

/// A plain-text response.
pub fn text_response(status: StatusCode, text: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(text.to_string()))
        .expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let a = AllowedHosts::new(["dev.example".to_string(), ".lan".to_string()]);
        for ok in [
            "localhost",
            "LOCALHOST",
            "app.localhost",
            "127.0.0.1",
            "127.5.5.5",
            "[::1]",
            "::1",
            "dev.example",
            "box.lan",
        ] {
            assert!(a.allows(ok), "{ok}");
        }
        for bad in [
            "evil.com",
            "localhost.evil.com",
            "10.0.0.1",
            "0.0.0.0",
            "example",
        ] {
            assert!(!a.allows(bad), "{bad}");
        }
        assert!(a.allows_host_header(Some("localhost:8342")));
        assert!(a.allows_host_header(Some("[::1]:8080")));
        assert!(!a.allows_host_header(Some("evil.com:8342")));
    }

    #[test]
    fn private_names() {
        for private in [
            ".env",
            "/.env.local",
            "/.git/config",
            "/.ssh/id_rsa",
            "/.aws/credentials",
            "/.htpasswd",
            "/.git-credentials",
            "/.pgpass",
            "/.npmrc",
            "/.netrc",
            "/sub/.hidden/x.js",
            "/.well-known/.secret",
            "/sub/.well-known/x",
            "/certs/server.KEY",
            "/x/cert.pem",
            "/a.p8",
            "/a.p12",
            "/a.pfx",
            "/putty.ppk",
            "/key.asc",
            "/vault.kdbx",
            "/id_rsa",
            "/id_rsa.pub",
            "/ID_ED25519",
            "/id_ecdsa_sk-cert.pub",
            "/id_work",
            "/keys/id_github.pub",
            "/credentials",
            "/home/htpasswd",
            "a\\.env",
            "/server.pem.",
            "/server.pem::$DATA",
            "/id_rsa ",
        ] {
            assert!(private_reason(private).is_some(), "{private}");
        }
        for public in [
            "/",
            "/index.html",
            "/.well-known/security.txt",
            "/app/main.js",
            "/environment.js",
            "/keys.json",
            "/id_utils.js",
            "/src/identity.ts",
            "/key/index.html",
            "/a.b.c/x.js",
            "/credentials.md",
        ] {
            assert!(private_reason(public).is_none(), "{public}");
        }
    }

    #[test]
    fn cross_site() {
        let a = AllowedHosts::default();
        let mut h = HeaderMap::new();
        assert!(cross_site_reason(&h, &a).is_none());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        h.insert("origin", "http://localhost:8342".parse().unwrap());
        assert!(cross_site_reason(&h, &a).is_none());
        h.insert("origin", "https://evil.com".parse().unwrap());
        assert!(cross_site_reason(&h, &a).is_some());
        h.remove("origin");
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_site_reason(&h, &a).is_some());
        let mut h = HeaderMap::new();
        h.insert("origin", "null".parse().unwrap());
        assert!(
            cross_site_reason(&h, &a).is_some(),
            "opaque origin without Sec-Fetch-Site"
        );
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(cross_site_reason(&h, &a).is_none());
        h.insert(
            "origin",
            http::HeaderValue::from_bytes(b"http://evil.com\xff").unwrap(),
        );
        assert!(cross_site_reason(&h, &a).is_some(), "unreadable origin");
        let mut h = HeaderMap::new();
        h.insert(
            "host",
            http::HeaderValue::from_bytes(b"evil.com\xff").unwrap(),
        );
        assert!(!a.allows_host_of(&h));
        h.insert("host", "localhost:1".parse().unwrap());
        assert!(a.allows_host_of(&h));
    }
}
