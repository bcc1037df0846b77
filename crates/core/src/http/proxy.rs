//! A front proxy: a tower Service that forwards every request to another local HTTP server
//! (esbuild's serve port, say) and returns its answer as is. Put [`super::DaebugLayer`] around
//! it and the other server's pages get the shim, while `/-daebug*` stays with the engine.
//!
//! Bodies stream both ways (so server-sent events such as esbuild's live reload pass through);
//! only HTML is buffered, by the injection layer. WebSocket upgrades are not forwarded.

use super::security::{text_response, AllowedHosts, HostCheckLayer};
use super::DaebugLayer;
use crate::engine::Engine;
use axum::body::Body;
use axum::Router;
use http::{header, HeaderName, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::ServiceBuilder;

/// Headers that describe one hop, not the message; never forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Forwards requests to `http://<target>`, e.g. `127.0.0.1:8001`.
#[derive(Clone)]
pub struct Proxy {
    target: String,
    client: Client<HttpConnector, Body>,
}

impl Proxy {
    pub fn new(target: impl Into<String>) -> Proxy {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Proxy {
            target: target.into(),
            client,
        }
    }

    /// The upstream address (`host:port`).
    pub fn target(&self) -> &str {
        &self.target
    }
}

impl tower::Service<Request<Body>> for Proxy {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let client = self.client.clone();
        let target = self.target.clone();
        Box::pin(async move {
            let req = match upstream_request(req, &target) {
                Ok(r) => r,
                Err(reason) => {
                    return Ok(text_response(
                        StatusCode::BAD_REQUEST,
                        &format!("Daebug proxy: {reason}\n"),
                    ))
                }
            };
            match client.request(req).await {
                Ok(res) => {
                    let (mut parts, body) = res.into_parts();
                    strip_hop_by_hop(&mut parts.headers);
                    Ok(Response::from_parts(parts, Body::new(body)))
                }
                Err(e) => {
                    tracing::debug!("proxy to {target} failed: {e}");
                    Ok(text_response(
                        StatusCode::BAD_GATEWAY,
                        &format!("Daebug could not reach the server at http://{target}/ ({e}).\n"),
                    ))
                }
            }
        })
    }
}

/// The request as sent upstream: same method, path, query, headers (minus hop-by-hop ones and
/// `Accept-Encoding`, so HTML comes back uncompressed and can be injected) and body.
fn upstream_request(req: Request<Body>, target: &str) -> Result<Request<Body>, String> {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    parts.uri = Uri::try_from(format!("http://{target}{path}"))
        .map_err(|e| format!("bad request target: {e}"))?;
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::ACCEPT_ENCODING);
    parts.version = http::Version::HTTP_11;
    Ok(Request::from_parts(parts, body))
}

fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    // Headers named in `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter_map(|s| HeaderName::try_from(s).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The whole service of a front proxy: host check, Daebug routes, injection, then `target`.
pub fn front(engine: Engine, allowed: AllowedHosts, target: impl Into<String>) -> Router {
    let svc = ServiceBuilder::new()
        .layer(HostCheckLayer::new(allowed.clone()))
        .layer(DaebugLayer::new(engine, allowed))
        .service(Proxy::new(target));
    Router::new().fallback_service(svc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_request_rewrites_target_and_drops_hop_headers() {
        let req = Request::builder()
            .uri("/a/b?c=1")
            .header("host", "localhost:8000")
            .header("connection", "keep-alive, x-private")
            .header("x-private", "1")
            .header("accept-encoding", "gzip")
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap();
        let out = upstream_request(req, "127.0.0.1:9").unwrap();
        assert_eq!(out.uri(), "http://127.0.0.1:9/a/b?c=1");
        assert_eq!(out.headers()["host"], "localhost:8000");
        assert_eq!(out.headers()["accept"], "text/html");
        for gone in ["connection", "x-private", "accept-encoding"] {
            assert!(out.headers().get(gone).is_none(), "{gone}");
        }
    }
}
