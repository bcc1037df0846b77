//! A listener of the binding's own: the root as static files (like the standalone server), or
//! a front proxy to another local server (esbuild's serve port); `/-daebug*` and injection
//! either way. Stopped by `close()`, or when an agent writes `%%SHUTDOWN%%` (which also closes
//! the engine).

use daebug_core::engine::Engine;
use daebug_core::http::security::AllowedHosts;
use daebug_core::port::candidate_ports;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[napi(object)]
#[derive(Default)]
pub struct ListenOptions {
    /// Port to listen on; 0 picks a free one; absent: derived from the root's name, as the CLI does.
    pub port: Option<u32>,
    /// Address to bind (default `127.0.0.1`).
    pub host: Option<String>,
    /// `host:port` (or `http://host:port`) of a local server to forward every other request to.
    /// Absent: serve the root as static files.
    pub proxy_to: Option<String>,
    /// Serve only the `/-daebug*` endpoints (404 for anything else): for a host whose own
    /// server serves the pages (Vite), so realms reach the core without going through Node.
    pub endpoints_only: Option<bool>,
    /// PEM certificate chain and private key: serve HTTPS (as esbuild does with
    /// `certfile`/`keyfile`). Both or neither. (WASI build: served by the Node host with node:https.)
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
}

#[napi(object)]
#[derive(Clone)]
pub struct ListenInfo {
    pub host: String,
    pub port: u32,
    /// The address to open in a browser.
    pub url: String,
}

pub struct Listening {
    pub info: ListenInfo,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Listening {
    /// Stop accepting; open requests finish in the background.
    pub fn stop_now(self) {
        let _ = self.stop.send(());
    }

    /// Stop accepting, give open requests up to 3 s, then drop them.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(3), self.task).await;
    }
}

pub async fn start(
    engine: &Engine,
    allowed_hosts: &[String],
    mut opts: ListenOptions,
) -> Result<Listening> {
    let tls = tls_acceptor(opts.tls_cert.take(), opts.tls_key.take())?;
    let host = opts.host.unwrap_or_else(|| "127.0.0.1".into());
    let listener = bind(engine, &host, opts.port).await?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::from_reason(format!("daebug: {e}")))?
        .port();
    let mut extra = allowed_hosts.to_vec();
    if !matches!(host.as_str(), "0.0.0.0" | "::") {
        extra.push(host.clone());
    }
    let hosts = AllowedHosts::new(extra);
    let app = match (opts.proxy_to, opts.endpoints_only.unwrap_or(false)) {
        (Some(_), true) => {
            return Err(Error::from_reason(
                "daebug: listen() takes proxyTo or endpointsOnly, not both",
            ))
        }
        (Some(target), false) => {
            daebug_core::http::proxy::front(engine.clone(), hosts, parse_target(&target)?)
        }
        (None, true) => daebug_core::http::endpoints(engine.clone(), hosts),
        (None, false) => daebug_core::http::standalone(engine.clone(), hosts),
    };
    let display = match host.as_str() {
        "127.0.0.1" | "::1" | "localhost" | "0.0.0.0" | "::" => "localhost".to_string(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_string(),
    };
    // On a non-loopback address every request needs a token (SPEC 8): the URL carries it.
    let token = (!daebug_core::http::token::is_loopback_bind(&host))
        .then(daebug_core::http::token::generate);
    let app = match &token {
        Some(t) => app.layer(daebug_core::http::token::TokenLayer::new(t)),
        None => app,
    };
    let info = ListenInfo {
        url: format!(
            "{}://{display}:{port}/{}",
            if tls.is_some() { "https" } else { "http" },
            token
                .as_ref()
                .map(|t| format!("?token={t}"))
                .unwrap_or_default()
        ),
        host,
        port: port as u32,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    // How `daebug run`/`daebug mcp` find this host's core (removed when it stops listening);
    // their client speaks plain HTTP only.
    let announced = tls
        .is_none()
        .then(|| daebug_core::client::announce(engine.root(), &info.host, port, token.as_deref()))
        .flatten();
    let engine = engine.clone();
    let task = napi::bindgen_prelude::spawn(async move {
        let _announced = announced;
        // Stop on close(), or when an agent writes %%SHUTDOWN%% (as the standalone server does).
        let shutdown = {
            let engine = engine.clone();
            async move {
                tokio::select! {
                    _ = stopped => {}
                    _ = engine.shutdown_requested() => engine.close(),
                }
            }
        };
        // Half-sent requests are timed out, as in the standalone server.
        let read_timeout = daebug_core::server::READ_TIMEOUT;
        #[cfg(not(target_family = "wasm"))]
        if let Some(acceptor) = tls {
            daebug_core::http::proxy::serve_tls(listener, acceptor, app, read_timeout, shutdown)
                .await;
            return;
        }
        if let Err(e) = daebug_core::server::serve_http(listener, app, read_timeout, shutdown).await
        {
            tracing::warn!("daebug listener error: {e}");
        }
    });
    Ok(Listening { info, stop, task })
}

#[cfg(not(target_family = "wasm"))]
type Tls = daebug_core::http::proxy::TlsAcceptor;
#[cfg(target_family = "wasm")]
type Tls = ();

fn tls_acceptor(cert: Option<String>, key: Option<String>) -> Result<Option<Tls>> {
    match (cert, key) {
        (None, None) => Ok(None),
        #[cfg(not(target_family = "wasm"))]
        (Some(cert), Some(key)) => {
            daebug_core::http::proxy::tls_acceptor(cert.as_bytes(), key.as_bytes())
                .map(Some)
                .map_err(|e| Error::from_reason(format!("daebug: HTTPS: {e}")))
        }
        #[cfg(target_family = "wasm")]
        (Some(_), Some(_)) => Err(Error::from_reason(
            "daebug: HTTPS is not available in the WebAssembly build",
        )),
        _ => Err(Error::from_reason(
            "daebug: listen() needs both tlsCert and tlsKey, or neither",
        )),
    }
}

async fn bind(engine: &Engine, host: &str, port: Option<u32>) -> Result<TcpListener> {
    let ports: Vec<u16> = match port {
        Some(p) => vec![u16::try_from(p)
            .map_err(|_| Error::from_reason(format!("daebug: port {p} is out of range")))?],
        None => {
            let name = engine
                .root()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            candidate_ports(&name)
        }
    };
    for &p in &ports {
        match TcpListener::bind((host, p)).await {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => {
                return Err(Error::from_reason(format!(
                    "daebug: cannot listen on {host}:{p}: {e}"
                )))
            }
        }
    }
    Err(Error::from_reason(match port {
        Some(p) => format!("daebug: port {p} is in use by another program; choose another port"),
        None => "daebug: no free port among the ones derived from the root's name; pass a port"
            .to_string(),
    }))
}

/// `http://127.0.0.1:8001/` or `127.0.0.1:8001` → `127.0.0.1:8001`.
fn parse_target(target: &str) -> Result<String> {
    let t = target
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let ok = t
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
    if ok && !t.contains('/') {
        Ok(t.to_string())
    } else {
        Err(Error::from_reason(format!(
            "daebug: proxyTo must look like 127.0.0.1:8001 (http only), got {target:?}"
        )))
    }
}
