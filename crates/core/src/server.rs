//! The standalone server: choosing and binding the port (taking over from a Daebug server for
//! the same root), serving the root through [`crate::http::standalone`], and stopping cleanly
//! on `%%SHUTDOWN%%`, Ctrl-C or SIGTERM.
#![cfg(feature = "native")]

use crate::engine::{Engine, Notice, Options};
use crate::http::security::AllowedHosts;
use crate::port::candidate_ports;
use axum::serve::ListenerExt;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the standalone server needs.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub root: PathBuf,
    pub host: String,
    /// Explicit port (`--port` or `PORT`); derived from the root's name otherwise.
    pub port: Option<u16>,
    pub timeout: Duration,
    pub allowed_hosts: Vec<String>,
    /// How the user started us, for the registry's restart line (`daebug`, `npx daebug`).
    pub command_name: String,
    /// Print nothing (no banner, no per-realm and per-job lines): `daebug --test`.
    pub quiet: bool,
}

/// A failure the CLI prints as one line.
#[derive(Debug)]
pub struct ServerError(pub String);

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A running server: its address and engine.
pub struct Running {
    pub addr: SocketAddr,
    pub engine: Engine,
    pub url: String,
}

/// Build the engine, bind, print the banner, serve until asked to stop, then rewrite the
/// registry as shut down.
pub async fn run(opts: ServerOptions) -> Result<(), ServerError> {
    let (listener, running) = start(&opts).await?;
    // Listen for signals before the banner says we are serving: a Ctrl-C or SIGTERM sent as
    // soon as it appears must stop us, not be lost before the handlers exist.
    let signals = StopSignals::listen();
    print_banner(&running);
    serve_until(listener, running.engine, &opts, signals).await;
    Ok(())
}

/// Bind and prepare; nothing is served until [`serve`].
pub async fn start(opts: &ServerOptions) -> Result<(TcpListener, Running), ServerError> {
    if !opts.root.is_dir() {
        return Err(ServerError(format!(
            "root {} does not exist or is not a directory; pass --root DIR",
            opts.root.display()
        )));
    }
    let root = std::fs::canonicalize(&opts.root)
        .map_err(|e| ServerError(format!("cannot open root {}: {e}", opts.root.display())))?;
    let listener = bind(opts, &root).await?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError(format!("cannot read the bound address: {e}")))?;
    let display_host = if opts.host == "127.0.0.1" || opts.host == "::1" || opts.host == "localhost"
    {
        "localhost".to_string()
    } else if opts.host.contains(':') {
        format!("[{}]", opts.host)
    } else {
        opts.host.clone()
    };
    let url = format!("http://{display_host}:{}/", addr.port());

    let mut engine_opts = Options::new(&root);
    engine_opts.timeout = opts.timeout;
    let mut restart = format!(
        "{} --root {}",
        opts.command_name,
        shell_quote(&root.to_string_lossy())
    );
    if let Some(p) = opts.port {
        restart.push_str(&format!(" --port {p}"));
    }
    engine_opts.restart_command = restart;
    if !opts.quiet {
        engine_opts.reporter = Some(Arc::new(print_notice));
    }
    let engine = Engine::new(engine_opts).map_err(|e| ServerError(e.to_string()))?;
    engine.start().map_err(|e| ServerError(e.to_string()))?;
    Ok((listener, Running { addr, engine, url }))
}

/// Serve until `%%SHUTDOWN%%`, Ctrl-C or SIGTERM.
pub async fn serve(listener: TcpListener, engine: Engine, opts: &ServerOptions) {
    serve_until(listener, engine, opts, StopSignals::listen()).await
}

async fn serve_until(
    listener: TcpListener,
    engine: Engine,
    opts: &ServerOptions,
    mut signals: StopSignals,
) {
    let mut allowed = opts.allowed_hosts.clone();
    if !matches!(opts.host.as_str(), "0.0.0.0" | "::") {
        allowed.push(opts.host.clone());
    }
    let app = crate::http::standalone(engine.clone(), AllowedHosts::new(allowed));
    // On a non-loopback address every request needs a token (SPEC 8; see http::token).
    let token =
        (!crate::http::token::is_loopback_bind(&opts.host)).then(crate::http::token::generate);
    let app = match &token {
        Some(t) => app.layer(crate::http::token::TokenLayer::new(t)),
        None => app,
    };
    let quiet = opts.quiet;
    let say = move |msg: &str| {
        if !quiet {
            println!("{msg}");
        }
    };
    let stop = {
        let engine = engine.clone();
        async move {
            tokio::select! {
                _ = engine.shutdown_requested() => say("Stopping: %%SHUTDOWN%% found in daebug.md."),
                message = signals.recv() => say(message),
            }
            // Wakes every long poll so the graceful shutdown does not wait for them.
            engine.close();
        }
    };
    // How `daebug run`/`daebug mcp` find this server (removed when it stops).
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let _announced = crate::client::announce(engine.root(), &opts.host, port, token.as_deref());
    if let Some(t) = &token {
        say(&format!("   token     {t}  (open http://<this host>:{port}/?token={t}; `daebug run` finds it, others send the x-daebug-token header)"));
    }
    let server = serve_http(listener, app, READ_TIMEOUT, stop);
    let closing = engine.clone();
    tokio::select! {
        res = server => if let Err(e) = res { tracing::warn!("server error: {e}") },
        _ = async {
            closing.shutdown_requested().await;
            tokio::time::sleep(Duration::from_secs(3)).await;
        } => tracing::debug!("connections still open after 3s; stopping anyway"),
    }
    engine.close();
    say(&format!(
        "Daebug stopped; {} says so.",
        engine.registry_path().display()
    ));
}

/// Accepted connections with `TCP_NODELAY`: small responses on keep-alive connections must not
/// wait for the client's delayed ACK (Nagle). Every Daebug listener goes through this.
pub fn without_nagle(listener: TcpListener) -> axum::serve::TapIo<TcpListener, fn(&mut TcpStream)> {
    fn set(tcp: &mut TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    }
    listener.tap_io(set as fn(&mut TcpStream))
}

/// How long a client may take to send a request's header, and to send each next piece of its
/// body; a connection that stalls longer is closed (half-sent requests must not hold a
/// connection and a task forever). It also bounds how long an idle keep-alive connection stays
/// open. Loopback clients send a header in microseconds; browsers reconnect transparently.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serve `app` on `listener` (HTTP/1.1 with upgrades, `TCP_NODELAY`) until `shutdown`
/// resolves, then finish the open requests (hosts bound that wait themselves). Unlike
/// `axum::serve`, a client that sends half a header, or stops in the middle of a body, for
/// longer than `read_timeout` is disconnected. Every plain-HTTP Daebug listener goes through
/// this; HTTPS ones through [`crate::http::proxy::serve_tls`], the same loop with a handshake.
pub async fn serve_http(
    listener: TcpListener,
    app: axum::Router,
    read_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_connections(listener, app, read_timeout, shutdown, |tcp| async move {
        Some(tcp)
    })
    .await;
    Ok(())
}

/// The accept loop behind [`serve_http`] and [`crate::http::proxy::serve_tls`]: each accepted
/// connection goes through `handshake` (the identity for plain HTTP; TLS for HTTPS — `None`
/// drops the connection), then HTTP/1.1 with upgrades, a `read_timeout` on the header and on
/// each piece of a body, and a graceful close once `shutdown` resolves. Returns when every
/// open connection has finished.
pub async fn serve_connections<Io, Handshake, Fut>(
    listener: TcpListener,
    app: axum::Router,
    read_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    handshake: Handshake,
) where
    Handshake: Fn(TcpStream) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<Io>> + Send + 'static,
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::debug!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        let (app, handshake, mut stop) = (app.clone(), handshake.clone(), stop_rx.clone());
        tokio::spawn(async move {
            let Some(io) = handshake(tcp).await else {
                return;
            };
            let service =
                hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let req = req.map(|body| {
                        axum::body::Body::new(tower_http::timeout::TimeoutBody::new(
                            read_timeout,
                            body,
                        ))
                    });
                    app.clone().oneshot(req)
                });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(read_timeout);
            let conn = builder
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                res = conn.as_mut() => {
                    if let Err(e) = res { tracing::trace!("connection ended: {e}") }
                    return;
                }
                _ = stop.wait_for(|s| *s) => conn.as_mut().graceful_shutdown(),
            }
            if let Err(e) = conn.await {
                tracing::trace!("connection ended: {e}");
            }
            drop(stop);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(stop_rx);
    stop_tx.closed().await;
}

/// Ctrl-C and SIGTERM, caught from the moment this is created.
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    pub fn listen() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            StopSignals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Wait for a signal; returns the line to print.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                _ = next(&mut self.interrupt) => "\nStopping (Ctrl-C).",
                _ = next(&mut self.terminate) => "Stopping (SIGTERM).",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "\nStopping (Ctrl-C)."
        }
    }
}

fn print_banner(r: &Running) {
    println!("👾 Daebug {}", env!("CARGO_PKG_VERSION"));
    println!("   root      {}", r.engine.root().display());
    println!("   serving   {}", r.url);
    println!("   registry  {}", r.engine.registry_path().display());
    println!("   stop      Ctrl-C, or write %%SHUTDOWN%% on a line of its own in daebug.md");
    let _ = std::io::stdout().flush();
}

fn print_notice(n: &Notice) {
    match n {
        Notice::RealmConnected { name, context } => println!("  + {name}  ({context})"),
        Notice::JobFinished {
            realm,
            ok,
            duration_ms,
        } => {
            let mark = if *ok { "✓" } else { "✗" };
            println!(
                "  {mark} {realm}  {}",
                crate::log::events::format_duration(*duration_ms)
            );
        }
        Notice::Diagnostic { realm, message } => println!("  ⚠ {realm}: {message}"),
    }
    let _ = std::io::stdout().flush();
}

/// The URL of a Daebug server already serving `root` on one of its candidate ports, if any.
pub async fn find_running(opts: &ServerOptions, root: &std::path::Path) -> Option<String> {
    let ports = match opts.port {
        Some(p) => vec![p],
        None => candidate_ports(
            &root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    for port in ports {
        if is_daebug_for(&opts.host, port, root).await {
            return Some(format!("http://localhost:{port}/"));
        }
    }
    None
}

/// The first port that is free, or held by a Daebug server for the same root (which is asked
/// to stop). An explicit port is the only one tried.
async fn bind(opts: &ServerOptions, root: &std::path::Path) -> Result<TcpListener, ServerError> {
    let ports = match opts.port {
        Some(p) => vec![p],
        None => {
            let name = root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            candidate_ports(&name)
        }
    };
    for &port in &ports {
        match TcpListener::bind((opts.host.as_str(), port)).await {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                if is_daebug_for(&opts.host, port, root).await {
                    println!("A Daebug server for this root is running on port {port}; asking it to stop and taking over.");
                    request_stop(root);
                    if let Some(l) = rebind(&opts.host, port).await {
                        return Ok(l);
                    }
                    return Err(ServerError(format!(
                        "the Daebug server on port {port} did not stop within 5s; stop it and try again"
                    )));
                }
                tracing::debug!(port, "port busy");
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrNotAvailable
                    || e.kind() == std::io::ErrorKind::InvalidInput =>
            {
                return Err(ServerError(format!(
                    "cannot listen on {}: {e}; check --host",
                    opts.host
                )));
            }
            Err(e) => {
                return Err(ServerError(format!(
                    "cannot listen on {}:{port}: {e}",
                    opts.host
                )));
            }
        }
    }
    Err(ServerError(match opts.port {
        Some(p) => format!("port {p} is in use by another program; pass a different --port"),
        None => format!(
            "no free port: tried {} (all in use); pass --port N",
            ports
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }))
}

async fn rebind(host: &str, port: u16) -> Option<TcpListener> {
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Ok(l) = TcpListener::bind((host, port)).await {
            return Some(l);
        }
    }
    None
}

/// Append `%%SHUTDOWN%%` to the registry of `root`.
fn request_stop(root: &std::path::Path) {
    let path = root.join("daebug.md");
    let res = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut f| f.write_all(b"\n%%SHUTDOWN%%\n"));
    if let Err(e) = res {
        tracing::warn!(
            "could not ask the old server to stop via {}: {e}",
            path.display()
        );
    }
}

/// Is the server on `port` a Daebug server serving `root`? (`GET /-daebug-info`)
async fn is_daebug_for(host: &str, port: u16, root: &std::path::Path) -> bool {
    let probe = async {
        let connect_host = if host == "0.0.0.0" {
            "127.0.0.1"
        } else if host == "::" {
            "::1"
        } else {
            host
        };
        let mut s = TcpStream::connect((connect_host, port)).await.ok()?;
        let req = format!(
            "GET /-daebug-info HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.ok()?;
        let mut buf = Vec::new();
        s.take(64 * 1024).read_to_end(&mut buf).await.ok()?;
        let text = String::from_utf8_lossy(&buf);
        let body = text.split_once("\r\n\r\n")?.1;
        let v: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
        let their_root = v.get("root")?.as_str()?.to_string();
        Some(std::path::Path::new(&their_root) == root)
    };
    tokio::time::timeout(Duration::from_secs(2), probe)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
