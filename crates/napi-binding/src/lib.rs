//! Node.js binding of the Daebug core (napi-rs). Owns nothing of the protocol: the `Daebug`
//! class holds an [`Engine`] and forwards to the core's routes ([`daebug_core::http::handle`]),
//! HTML injection, listeners ([`listen`]) and CLI ([`cli`]); [`convert`] moves requests and
//! responses across the boundary and [`notices`] delivers engine notices to a JS callback.
//!
//! Without the `native` feature (the `wasm32-wasip1-threads` build) there is no listener and
//! no CLI thread: the Node host in `host/wasi.cjs` listens with `node:http`, calls
//! [`Daebug::handle_site`] for every request, feeds `fs.watch` events to
//! [`Daebug::path_changed`], and runs the command line from [`host::prepare_cli`].

#[cfg(feature = "native")]
mod cli;
mod convert;
pub mod host;
#[cfg(feature = "native")]
mod listen;
mod notices;

use convert::{HttpRequest, HttpResponse};
use daebug_core::engine::{Engine, Options};
use daebug_core::http::routes;
use daebug_core::http::security::{text_response, AllowedHosts};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use notices::{NoticeCallback, NoticeSlot};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

#[cfg(feature = "native")]
pub use cli::run_cli;

/// What a `Daebug` instance needs.
#[napi(object)]
pub struct DaebugOptions {
    /// Folder whose pages are driven; `daebug.md` and `daebug/` are written here. Must exist.
    pub root: String,
    /// Seconds a job may run before it gets a timeout reply (default 60).
    pub timeout: Option<f64>,
    /// Extra host names accepted in `Host`/`Origin` (loopback is always accepted).
    pub allowed_hosts: Option<Vec<String>>,
    /// The command that starts this host again, written into the shut-down registry.
    pub command_name: Option<String>,
}

/// One Daebug engine for one root, hosted by Node.
#[napi]
pub struct Daebug {
    engine: Engine,
    router: axum::Router,
    /// The standalone service (static files, injection, routes), for hosts that listen themselves.
    site: axum::Router,
    allowed: AllowedHosts,
    #[cfg_attr(not(feature = "native"), allow(dead_code))]
    allowed_list: Vec<String>,
    notices: NoticeSlot,
    closing: Arc<AtomicBool>,
    stop_asked: Arc<AtomicBool>,
    pending: Arc<Mutex<HashMap<u32, oneshot::Sender<()>>>>,
    #[cfg(feature = "native")]
    listener: Mutex<Option<listen::Listening>>,
    /// Set by `hostListening` / `requireToken` on a non-loopback address: the token, and the
    /// routers behind it.
    guarded: Mutex<Option<(String, axum::Router, axum::Router)>>,
    /// The discovery file of a host that listens itself (`hostListening`), removed on close.
    announced: Mutex<Option<daebug_core::client::AnnounceGuard>>,
}

/// Which of an instance's services a request goes to.
#[derive(Clone, Copy)]
enum Service {
    Endpoints,
    Site,
}

#[napi]
impl Daebug {
    /// Create the engine and start it: writes `daebug.md`, watches the logs.
    #[napi(constructor)]
    pub fn new(options: DaebugOptions) -> Result<Daebug> {
        let timeout = options.timeout.unwrap_or(60.0);
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 86_400.0) {
            return Err(Error::from_reason(format!(
                "daebug: timeout must be between 0 and 86400 seconds, got {timeout}"
            )));
        }
        let root = std::path::PathBuf::from(&options.root);
        if !root.is_dir() {
            return Err(Error::from_reason(format!(
                "daebug: root {} does not exist or is not a directory",
                root.display()
            )));
        }
        let notices = NoticeSlot::default();
        let mut opts = Options::new(&root);
        opts.timeout = Duration::from_secs_f64(timeout);
        opts.restart_command = options.command_name.unwrap_or_else(|| "npx daebug".into());
        opts.reporter = Some(notices.reporter());
        let allowed_list = options.allowed_hosts.unwrap_or_default();
        let allowed = AllowedHosts::new(allowed_list.clone());
        let engine = Engine::new(opts).map_err(|e| Error::from_reason(format!("daebug: {e}")))?;
        napi::bindgen_prelude::within_runtime_if_available(|| engine.start())
            .map_err(|e| Error::from_reason(format!("daebug: {e}")))?;
        let closing = Arc::new(AtomicBool::new(false));
        notices.forward_shutdown_request(&engine, closing.clone());
        let stop_asked = Arc::new(AtomicBool::new(false));
        {
            let (engine, flag) = (engine.clone(), stop_asked.clone());
            napi::bindgen_prelude::spawn(async move {
                engine.shutdown_requested().await;
                flag.store(true, Ordering::SeqCst);
            });
        }
        Ok(Daebug {
            router: routes::router(engine.clone(), allowed.clone()),
            site: daebug_core::http::standalone(engine.clone(), allowed.clone()),
            engine,
            allowed,
            allowed_list,
            notices,
            closing,
            stop_asked,
            pending: Default::default(),
            #[cfg(feature = "native")]
            listener: Mutex::new(None),
            guarded: Mutex::new(None),
            announced: Mutex::new(None),
        })
    }

    /// The root, canonicalized.
    #[napi(getter)]
    pub fn root(&self) -> String {
        self.engine.root().to_string_lossy().into_owned()
    }

    /// Path of the registry, `daebug.md`.
    #[napi(getter)]
    pub fn registry_path(&self) -> String {
        self.engine.registry_path().to_string_lossy().into_owned()
    }

    /// Handle one `/-daebug*` request. Long polls wait on the core's runtime, never on Node's
    /// event loop. A request given an `id` can be abandoned with `cancel(id)`.
    #[napi]
    pub async fn handle(&self, request: HttpRequest) -> Result<HttpResponse> {
        self.handle_with(Service::Endpoints, request).await
    }

    /// Handle any request as the standalone server does: `/-daebug*` to the engine, everything
    /// else from the root as static files with the shim injected into HTML. For a host that
    /// listens itself (`npx daebug` on the WASI build). Cancellable like `handle`.
    #[napi]
    pub async fn handle_site(&self, request: HttpRequest) -> Result<HttpResponse> {
        self.handle_with(Service::Site, request).await
    }

    /// For a host that listens itself (the WASI build's Node host), once it listens on
    /// `host`:`port`: on a non-loopback address the core generates the access token (SPEC 8)
    /// and requires it on every request handled from then on (`handle`, `handleSite`,
    /// `socketBridge`); the token is returned for the URL and banner. A plain-HTTP listener is
    /// also announced for `daebug run` / `daebug mcp` (the discovery file, as every native
    /// listener writes it) until `close()`. Once per instance.
    #[napi]
    pub fn host_listening(&self, host: String, port: u32, tls: bool) -> Option<String> {
        let token = self.require_token(host.clone());
        if !tls {
            let port = u16::try_from(port).unwrap_or(0);
            let guard =
                daebug_core::client::announce(self.engine.root(), &host, port, token.as_deref());
            *self.announced.lock().unwrap_or_else(|e| e.into_inner()) = guard;
        }
        token
    }

    /// For a host that serves its own pages in front of the core (the Vite plugin) once it
    /// listens on `host`: on a non-loopback address every request handled from then on
    /// (`handle`, `handleSite`, `socketBridge`) needs the access token (SPEC 8), which is
    /// returned; `null` on loopback. The same token for every call. No discovery file (the
    /// host's loopback endpoint has one).
    #[napi]
    pub fn require_token(&self, host: String) -> Option<String> {
        if daebug_core::http::token::is_loopback_bind(&host) {
            return None;
        }
        let mut guarded = self.guarded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, _, _)) = &*guarded {
            return Some(t.clone());
        }
        let t = daebug_core::http::token::generate();
        let layer = daebug_core::http::token::TokenLayer::new(&t);
        *guarded = Some((
            t.clone(),
            self.router.clone().layer(layer.clone()),
            self.site.clone().layer(layer),
        ));
        Some(t)
    }

    /// The `Set-Cookie` value for a page the host serves itself at `url`, when the URL carries
    /// the access token (`…/?token=…`): the page's own requests to the core then carry it, as
    /// on the core's listeners. `null` otherwise.
    #[napi]
    pub fn token_cookie(&self, url: String) -> Option<String> {
        let guarded = self.guarded.lock().unwrap_or_else(|e| e.into_inner());
        let (token, _, _) = guarded.as_ref()?;
        let query = url.split_once('?').map(|(_, q)| q);
        (daebug_core::http::token::presented(&Default::default(), query, token)
            == daebug_core::http::token::Presented::InQuery)
            .then(|| daebug_core::http::token::cookie(token))
    }

    /// A file under the root changed (for a host that watches files for the engine, as on the
    /// WASI build); paths other than `daebug.md`, `daebug/` and its logs are ignored.
    #[napi]
    pub fn path_changed(&self, path: String) {
        self.engine.path_changed(std::path::PathBuf::from(path));
    }

    /// Whether a `Host` header value names this server (loopback or an allowed host): for a
    /// host that forwards non-Daebug requests itself (the esbuild front proxy on WASI).
    #[napi]
    pub fn allows_host(&self, host: Option<String>) -> bool {
        self.allowed.allows_host_header(host.as_deref())
    }

    /// A bridge for one realm WebSocket that the host upgrades itself (the WASI build's Node
    /// host): `open(request)` runs the `GET /-daebug-ws` request through the core's checks, and
    /// on `101` the core's channel session runs over the bridge — the host only moves frames
    /// (`push`, `next`, `end`). The protocol stays in the core.
    #[napi]
    pub fn socket_bridge(&self) -> SocketBridge {
        let (host, slot) = daebug_core::http::channel::bridge();
        SocketBridge {
            host,
            slot: Mutex::new(Some(slot)),
            router: self.router_for(Service::Endpoints),
            allowed: self.allowed.clone(),
        }
    }

    /// Whether an agent wrote `%%SHUTDOWN%%` (for a host that polls instead of taking the
    /// `shutdown-requested` notice, which belongs to the callback of `onNotice`).
    #[napi(getter)]
    pub fn is_shutdown_requested(&self) -> bool {
        self.stop_asked.load(Ordering::SeqCst)
    }
}

/// One realm WebSocket held by the host, bridged onto the core's channel (see
/// `Daebug#socketBridge`).
#[napi]
pub struct SocketBridge {
    host: daebug_core::http::channel::BridgeHost,
    slot: Mutex<Option<daebug_core::http::channel::BridgeSlot>>,
    router: axum::Router,
    allowed: AllowedHosts,
}

#[napi]
impl SocketBridge {
    /// Check the upgrade request (`GET /-daebug-ws?…`, as received): `101` means the core
    /// serves the realm over this bridge, and the host completes the WebSocket handshake;
    /// anything else is the answer to send instead (then the bridge is unused). Once only.
    #[napi]
    pub async fn open(&self, request: HttpRequest) -> Result<HttpResponse> {
        let Some(slot) = self.slot.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Err(Error::from_reason(
                "daebug: this socket bridge was opened already",
            ));
        };
        let mut req = convert::to_http(request)?;
        if !self.allowed.allows_host_of(req.headers()) {
            return convert::from_http(refused_host()).await;
        }
        req.extensions_mut().insert(slot);
        convert::from_http(daebug_core::http::handle(&self.router, req).await).await
    }

    /// A frame arrived from the realm.
    #[napi]
    pub fn push(&self, frame: Buffer) {
        self.host.push(frame.to_vec());
    }

    /// The realm's socket closed (idempotent).
    #[napi]
    pub fn end(&self) {
        self.host.end();
    }

    /// The next text frame for the realm; `null`: close the socket.
    #[napi]
    pub async fn next(&self) -> Option<String> {
        self.host.next().await
    }
}

fn refused_host() -> http::Response<axum::body::Body> {
    text_response(
        http::StatusCode::FORBIDDEN,
        "Daebug refused this request: unexpected Host header.\n",
    )
}

impl Daebug {
    fn router_for(&self, service: Service) -> axum::Router {
        let guarded = self.guarded.lock().unwrap_or_else(|e| e.into_inner());
        match (&*guarded, service) {
            (Some((_, router, _)), Service::Endpoints) => router.clone(),
            (Some((_, _, site)), Service::Site) => site.clone(),
            (None, Service::Endpoints) => self.router.clone(),
            (None, Service::Site) => self.site.clone(),
        }
    }

    async fn handle_with(&self, service: Service, request: HttpRequest) -> Result<HttpResponse> {
        let router = &self.router_for(service);
        let id = request.id;
        let req = convert::to_http(request)?;
        if !self.allowed.allows_host_of(req.headers()) {
            return convert::from_http(refused_host()).await;
        }
        let work = daebug_core::http::handle(router, req);
        let res = match id {
            None => work.await,
            Some(id) => {
                let (tx, rx) = oneshot::channel();
                self.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id, tx);
                let res = tokio::select! {
                    res = work => Some(res),
                    _ = rx => None,
                };
                self.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
                match res {
                    Some(res) => res,
                    None => return Ok(HttpResponse::cancelled()),
                }
            }
        };
        convert::from_http(res).await
    }
}

#[napi]
impl Daebug {
    /// Abandon the request started with this `id` (its client went away): a long poll stops
    /// waiting, so no job is handed to a closed connection.
    #[napi]
    pub fn cancel(&self, id: u32) {
        if let Some(tx) = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
        {
            let _ = tx.send(());
        }
    }

    /// Call `callback(notice)` for each realm that connects, job that finishes, diagnostic
    /// written, and once when an agent asks to stop (`kind: "shutdown-requested"`). Replaces
    /// any earlier callback; does not keep Node alive.
    #[napi(ts_args_type = "callback: (notice: Notice) => void")]
    pub fn on_notice(&self, callback: NoticeCallback) {
        self.notices.set(Some(callback));
    }

    /// Stop at once, synchronously (for signal handlers, where nothing async runs anymore):
    /// wake every long poll, stop the watcher, rewrite the registry as shut down, and tell a
    /// listener to stop without waiting for it. Idempotent.
    #[napi]
    pub fn close_now(&self) {
        #[cfg(feature = "native")]
        if let Some(l) = self.begin_close() {
            l.stop_now();
        }
        #[cfg(not(feature = "native"))]
        self.begin_close();
        self.notices.set(None);
    }

    /// Stop: the listener (if any), every long poll, the watcher; rewrite the registry as
    /// shut down. Idempotent.
    #[napi]
    pub async fn close(&self) -> Result<()> {
        #[cfg(feature = "native")]
        if let Some(l) = self.begin_close() {
            l.stop().await;
        }
        #[cfg(not(feature = "native"))]
        self.begin_close();
        self.notices.set(None);
        Ok(())
    }
}

#[cfg(feature = "native")]
#[napi]
impl Daebug {
    /// Run a listener of our own: serve `root` as static files, or be a front proxy to
    /// `proxyTo` (another local server); either way with `/-daebug*` and injection.
    #[napi]
    pub async fn listen(
        &self,
        options: Option<listen::ListenOptions>,
    ) -> Result<listen::ListenInfo> {
        if self.engine.is_closed() {
            return Err(Error::from_reason("daebug: this instance is closed"));
        }
        if self
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            return Err(Error::from_reason(
                "daebug: already listening; close() first",
            ));
        }
        let listening = listen::start(
            &self.engine,
            &self.allowed_list,
            options.unwrap_or_default(),
        )
        .await?;
        let info = listening.info.clone();
        *self.listener.lock().unwrap_or_else(|e| e.into_inner()) = Some(listening);
        Ok(info)
    }
}

/// Insert the shim and Daebug's import map entries into an HTML page (merging into the page's
/// own import map, whose entries win). Idempotent. With `directPort`, the page's realms reach
/// the endpoints on that port of the page's own loopback host (see `listen({ endpointsOnly })`).
#[napi]
pub fn inject_html(html: String, direct_port: Option<u32>) -> String {
    let port = direct_port
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0);
    daebug_core::http::inject::inject_html_with(&html, port)
}

impl Daebug {
    /// The shared first half of `close` and `closeNow`: mark closing, close the engine (long
    /// polls woken, watcher stopped, registry rewritten), and hand back the listener to stop.
    #[cfg(feature = "native")]
    fn begin_close(&self) -> Option<listen::Listening> {
        self.closing.store(true, Ordering::SeqCst);
        let listening = self
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.engine.close();
        self.announced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        listening
    }

    #[cfg(not(feature = "native"))]
    fn begin_close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.engine.close();
        self.announced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
}
