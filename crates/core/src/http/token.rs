//! The access token of a server that listens on a non-loopback address (SPEC 8): generated at
//! start, printed, and required on every request to that listener — pages included, so that
//! nobody else on the network can fetch a page (or the token) and then run code or write logs.
//!
//! A request carries it as `x-daebug-token: T`, `Authorization: Bearer T`, `?token=T` or the
//! `daebug-token` cookie. A valid `?token=` (the URL printed at start) also sets the cookie, so a
//! browser opened on that URL needs nothing more: the page, its shim, its worker and its test
//! modules all send the cookie (same host) on their own.

use axum::body::Body;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// The cookie a browser keeps the token in.
pub const COOKIE: &str = "daebug-token";

/// A fresh random token (32 hex digits).
pub fn generate() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness (should not happen): fall back to hashing-based randomness.
        use std::hash::{BuildHasher, Hasher};
        for chunk in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Is `host` (a bind address) loopback-only?
pub fn is_loopback_bind(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Requires the token on every request.
#[derive(Clone)]
pub struct TokenLayer {
    token: Arc<str>,
}

impl TokenLayer {
    pub fn new(token: &str) -> TokenLayer {
        TokenLayer {
            token: Arc::from(token),
        }
    }
}

impl<S> Layer<S> for TokenLayer {
    type Service = TokenCheck<S>;
    fn layer(&self, inner: S) -> TokenCheck<S> {
        TokenCheck {
            token: self.token.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct TokenCheck<S> {
    token: Arc<str>,
    inner: S,
}

/// How a request presented the token.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    /// Header or cookie.
    Carried,
    /// `?token=` in the URL: set the cookie on the response.
    InQuery,
    Missing,
}

/// The `Set-Cookie` value that gives a page the token (for its own later requests).
pub fn cookie(token: &str) -> String {
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict")
}

/// Constant-time comparison.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Does the request carry `token`?
pub fn presented(headers: &HeaderMap, query: Option<&str>, token: &str) -> Presented {
    let header_ok = headers
        .get("x-daebug-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| same(v.trim(), token))
        || headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().strip_prefix("Bearer "))
            .is_some_and(|v| same(v.trim(), token))
        || headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .any(|(k, v)| k == COOKIE && same(v, token));
    if header_ok {
        return Presented::Carried;
    }
    let in_query = query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "token" && same(&v, token))
    });
    if in_query {
        Presented::InQuery
    } else {
        Presented::Missing
    }
}

impl<S> Service<Request<Body>> for TokenCheck<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response<Body>, S::Error>> + Send>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let how = presented(req.headers(), req.uri().query(), &self.token);
        if how == Presented::Missing {
            tracing::debug!(path = %req.uri().path(), "refused a request without the token");
            let res = super::security::text_response(
                StatusCode::UNAUTHORIZED,
                "Daebug listens on the network, so every request needs its token: open the URL printed at start (…/?token=…), or send the x-daebug-token header.\n",
            );
            return Box::pin(async move { Ok(res) });
        }
        let cookie =
            (how == Presented::InQuery).then(|| HeaderValue::from_str(&cookie(&self.token)));
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut res = fut.await?;
            if let Some(Ok(c)) = cookie {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            Ok(res)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_random_hex() {
        let (a, b) = (generate(), generate());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn presented_ways() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h, None, "abc"), Presented::Missing);
        assert_eq!(
            presented(&h, Some("x=1&token=abc"), "abc"),
            Presented::InQuery
        );
        assert_eq!(presented(&h, Some("token=abd"), "abc"), Presented::Missing);
        h.insert("x-daebug-token", HeaderValue::from_static("abc"));
        assert_eq!(presented(&h, None, "abc"), Presented::Carried);
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(presented(&h, None, "abc"), Presented::Carried);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; daebug-token=abc"),
        );
        assert_eq!(presented(&h, None, "abc"), Presented::Carried);
        h.insert(header::COOKIE, HeaderValue::from_static("daebug-token=ab"));
        assert_eq!(presented(&h, None, "abc"), Presented::Missing);
    }

    #[test]
    fn loopback_binds() {
        for h in ["127.0.0.1", "::1", "[::1]", "localhost", "127.1.2.3"] {
            assert!(is_loopback_bind(h), "{h}");
        }
        for h in ["0.0.0.0", "::", "192.168.1.5", "example.com"] {
            assert!(!is_loopback_bind(h), "{h}");
        }
    }
}
