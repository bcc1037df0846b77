//! A front proxy: a tower Service that forwards every request to another local HTTP server
//! (esbuild's serve port, say) and returns its answer as is. Put [`super::DaebugLayer`] around
//! it and the other server's pages get the shim, while `/-daebug*` stays with the engine.
//!
//! Bodies stream both ways (so server-sent events such as esbuild's live reload pass through);
//! only HTML is buffered, by the injection layer. Upgrades (WebSocket) are forwarded: when the
//! upstream answers `101`, the two upgraded connections are joined byte for byte.
//!
//! Private names (dot-files, keys, certificates, credentials; see
//! [`super::security::private_reason`]) and paths that climb out with `..` are refused before
//! anything is forwarded: the proxied server's folder gets the same protection as the root the
//! standalone server serves.
//!
//! HTTPS (native builds): when the proxied server would have been served with a certificate
//! (esbuild's `keyfile`/`certfile`), the front proxy listens with that certificate instead
//! ([`tls_acceptor`], [`serve_tls`]) and the upstream stays plain HTTP on loopback.
#![cfg(feature = "native")]

use super::security::{text_response, AllowedHosts, HostCheckLayer};
use super::DaebugLayer;
use crate::engine::Engine;
use axum::body::Body;
use axum::Router;
use http::{header, HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
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

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        if let Some(refusal) = super::static_files::refusal_by_name(req.uri().path()) {
            tracing::debug!("proxy refused {}: {}", req.uri().path(), refusal.reason());
            return Box::pin(async move { Ok(refusal.response()) });
        }
        let client = self.client.clone();
        let target = self.target.clone();
        Box::pin(async move {
            let upgrade = upgrade_protocol(req.headers());
            let downstream = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
            let req = match upstream_request(req, &target) {
                Ok(mut r) => {
                    if let Some(protocol) = &upgrade {
                        r.headers_mut()
                            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
                        r.headers_mut().insert(header::UPGRADE, protocol.clone());
                    }
                    r
                }
                Err(reason) => {
                    return Ok(text_response(
                        StatusCode::BAD_REQUEST,
                        &format!("Daebug proxy: {reason}\n"),
                    ))
                }
            };
            match client.request(req).await {
                Ok(mut res) if res.status() == StatusCode::SWITCHING_PROTOCOLS => {
                    let Some(downstream) = downstream else {
                        return Ok(text_response(
                            StatusCode::BAD_GATEWAY,
                            "Daebug proxy: the server switched protocols unasked.\n",
                        ));
                    };
                    let upstream = hyper::upgrade::on(&mut res);
                    tokio::spawn(join_upgraded(downstream, upstream));
                    // The 101 goes back with its own Connection/Upgrade and handshake headers.
                    let (parts, _) = res.into_parts();
                    Ok(Response::from_parts(parts, Body::empty()))
                }
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

/// The protocol a request asks to switch to (`Connection: upgrade` + `Upgrade: …`), if any.
fn upgrade_protocol(headers: &http::HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(header::UPGRADE).cloned())
        .flatten()
}

/// Both sides of an upgraded exchange, joined until either closes.
async fn join_upgraded(downstream: hyper::upgrade::OnUpgrade, upstream: hyper::upgrade::OnUpgrade) {
    let (down, up) = match tokio::try_join!(downstream, upstream) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::debug!("proxy upgrade failed: {e}");
            return;
        }
    };
    let mut down = TokioIo::new(down);
    let mut up = TokioIo::new(up);
    if let Err(e) = tokio::io::copy_bidirectional(&mut down, &mut up).await {
        tracing::debug!("proxied upgraded connection ended: {e}");
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

#[cfg(not(target_family = "wasm"))]
pub use tokio_rustls::TlsAcceptor;

/// A TLS acceptor from PEM text: the certificate chain and its private key (PKCS#8, PKCS#1 or
/// SEC1). Errors are one line naming the file's role.
#[cfg(not(target_family = "wasm"))]
pub fn tls_acceptor(cert_pem: &[u8], key_pem: &[u8]) -> Result<tokio_rustls::TlsAcceptor, String> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate file is not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("the certificate file holds no certificate".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| format!("the key file holds no usable private key: {e}"))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not fit together: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}

/// [`crate::server::serve_http`] over TLS: every accepted connection gets a handshake (bounded
/// by `read_timeout`), then HTTP/1.1 with upgrades and the same header/body read timeouts.
/// Returns once `shutdown` resolved and open connections finished.
#[cfg(not(target_family = "wasm"))]
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    app: Router,
    read_timeout: std::time::Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    crate::server::serve_connections(listener, app, read_timeout, shutdown, move |tcp| {
        let acceptor = acceptor.clone();
        async move {
            match tokio::time::timeout(read_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => Some(tls),
                Ok(Err(e)) => {
                    tracing::debug!("TLS handshake failed: {e}");
                    None
                }
                Err(_) => {
                    tracing::debug!("TLS handshake timed out");
                    None
                }
            }
        }
    })
    .await
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

    /// A WebSocket-style upgrade through the whole front proxy (host check, Daebug routes,
    /// injection): the 101 comes back and bytes flow both ways afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn forwards_upgrades_both_ways() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Upstream: answers any upgrade request with 101, then echoes upper-cased bytes.
        let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_addr = upstream.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = upstream.accept().await.unwrap();
            let head = read_head(&mut sock).await.to_ascii_lowercase();
            assert!(head.contains("upgrade: websocket"), "{head}");
            assert!(head.contains("connection: upgrade"), "{head}");
            sock.write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n").await.unwrap();
            let mut buf = [0u8; 64];
            loop {
                let n = sock.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                sock.write_all(&buf[..n].to_ascii_uppercase())
                    .await
                    .unwrap();
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let engine = crate::engine::Engine::new(crate::engine::Options::new(dir.path())).unwrap();
        engine.start().unwrap();
        let app = front(
            engine.clone(),
            AllowedHosts::default(),
            upstream_addr.to_string(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(format!("GET /socket HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Version: 13\r\n\r\n", addr.port()).as_bytes()).await.unwrap();
        let head = read_head(&mut client).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("upgrade: websocket"),
            "{head}"
        );
        client.write_all(b"hello").await.unwrap();
        let mut got = [0u8; 5];
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            client.read_exact(&mut got),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(&got, b"HELLO");
        engine.close();
    }

    /// The proxied server's private files are refused by name before anything is forwarded;
    /// public paths still reach it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_private_names_before_forwarding() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Upstream: counts the requests it sees and answers each with a secret.
        let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_addr = upstream.local_addr().unwrap();
        let seen = Arc::new(AtomicUsize::new(0));
        let seen_up = seen.clone();
        tokio::spawn(async move {
            loop {
                let (mut sock, _) = upstream.accept().await.unwrap();
                let seen_up = seen_up.clone();
                tokio::spawn(async move {
                    let _ = read_head(&mut sock).await;
                    seen_up.fetch_add(1, Ordering::SeqCst);
                    let _ = sock
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nSECRET")
                        .await;
                });
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let engine = crate::engine::Engine::new(crate::engine::Options::new(dir.path())).unwrap();
        engine.start().unwrap();
        let app = front(
            engine.clone(),
            AllowedHosts::default(),
            upstream_addr.to_string(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let get = |path: &'static str| async move {
            let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
            client
                .write_all(
                    format!(
                        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                        addr.port()
                    )
                    .as_bytes(),
                )
                .await
                .unwrap();
            let mut out = Vec::new();
            tokio::time::timeout(
                std::time::Duration::from_secs(5),
                client.read_to_end(&mut out),
            )
            .await
            .unwrap()
            .unwrap();
            String::from_utf8_lossy(&out).into_owned()
        };
        for path in [
            "/.env",
            "/.git/config",
            "/sub/.aws/credentials",
            "/%2eenv",
            "/server.KEY",
            "/certs/site.pem",
            "/id_ed25519",
            "/a/../../etc/passwd",
            "/a/%2e%2e/b",
        ] {
            let res = get(path).await;
            assert!(!res.contains("SECRET"), "{path} was forwarded: {res}");
            assert!(
                res.starts_with("HTTP/1.1 403") || res.starts_with("HTTP/1.1 404"),
                "{path}: {res}"
            );
        }
        assert_eq!(
            seen.load(Ordering::SeqCst),
            0,
            "no private path reached upstream"
        );
        for path in ["/app.js", "/.well-known/x", "/id_utils.js"] {
            let res = get(path).await;
            assert!(res.starts_with("HTTP/1.1 200"), "{path}: {res}");
            assert!(res.contains("SECRET"), "{path}: {res}");
        }
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        engine.close();
    }

    async fn read_head(sock: &mut tokio::net::TcpStream) -> String {
        use tokio::io::AsyncReadExt;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = tokio::time::timeout(std::time::Duration::from_secs(5), sock.read(&mut byte))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&head));
            head.push(byte[0]);
        }
        String::from_utf8(head).unwrap()
    }
}
