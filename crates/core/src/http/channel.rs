//! The realm channel beyond SPEC 5's long poll: a transport-agnostic [`Session`] (one realm
//! instance holding its name, waiting for jobs, taking messages), and the WebSocket
//! `GET /-daebug-ws?name=&url=&instance=` that carries it in axum hosts.
//!
//! Why: HTTP/1.1 browsers allow six connections per host, and a long poll per realm (two per
//! tab) starves the page once a few tabs are open. WebSockets do not count toward that limit.
//! A host whose HTTP server is not the core's (the Node host of the WASI build) bridges its own
//! WebSocket onto the same protocol: [`bridge`] gives it a frame queue pair, and [`serve`] runs
//! over either transport ([`Frames`]), so the wire below is spoken by this file alone.
//!
//! Hosts without upgrades at all: realms fall back to long polls, and to keep those within the
//! browser's per-host limit all realms of an origin share one: [`poll_many`] waits for a job for
//! any of a list of realms (`POST /-daebug-channel-many`), and the shim elects one realm per
//! origin to hold it (Web Locks) and relays jobs to the others (BroadcastChannel).
//!
//! Wire (JSON text frames). Server → realm: `{"type":"welcome"}` once the name is the
//! instance's, `{"type":"refused","reason":…}` (then close) when a live realm holds it,
//! `{"type":"job","id":…,"code":…}`. Realm → server: `{"type":"ready"}` when free for the next
//! job; any SPEC 5 channel payload is accepted too (the shim posts results over HTTP, whose
//! delivery is acknowledged).
//!
//! axum's WebSocket needs its `ws` feature (tokio networking), which only native builds have;
//! the WASI build's `/-daebug-ws` serves a host-bridged socket ([`BridgeSlot`]) instead.

use crate::engine::{Engine, JobHandout, NameHold, NameTaken};
use crate::wire::parse_message;
#[cfg(feature = "native")]
use axum::extract::ws::{Message as WsMessage, WebSocket};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// One realm instance connected to the engine, whatever the transport.
pub struct Session {
    engine: Engine,
    name: String,
    url: String,
    _hold: NameHold,
}

/// What a realm sent on its channel.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// The realm is free: hand it the next job.
    Ready,
    /// A SPEC 5 payload, already given to the engine.
    Posted,
}

impl Session {
    /// Open a session for realm `name` as `instance`; refused while another live instance
    /// holds the name.
    pub fn open(
        engine: &Engine,
        name: &str,
        url: &str,
        instance: &str,
    ) -> Result<Session, NameTaken> {
        let hold = engine.hold_name(name, instance, false)?;
        Ok(Session {
            engine: engine.clone(),
            name: name.to_string(),
            url: url.to_string(),
            _hold: hold,
        })
    }

    /// Wait for the realm's next job (registering and refreshing the realm meanwhile).
    /// `None` once the engine closed.
    pub async fn next_job(&self) -> Option<JobHandout> {
        loop {
            if self.engine.is_closed() {
                return None;
            }
            let started = Instant::now();
            if let Some(job) = self.engine.poll(&self.name, &self.url).await {
                return Some(job);
            }
            // Ended at once: another connection polls under this name (an old client without
            // instance ids). Don't spin against it.
            if started.elapsed() < Duration::from_millis(50) {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }

    /// Take one message from the realm.
    pub fn message(&self, bytes: &[u8]) -> Result<Incoming, String> {
        if is_ready(bytes) {
            return Ok(Incoming::Ready);
        }
        let message = parse_message(bytes)?;
        self.engine.post(&self.name, &self.url, message);
        Ok(Incoming::Posted)
    }
}

fn is_ready(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .is_some_and(|v| v.get("type").and_then(|t| t.as_str()) == Some("ready"))
}

fn job_frame(job: &JobHandout) -> String {
    serde_json::json!({ "type": "job", "id": job.id, "code": job.code }).to_string()
}

type JobFuture = Pin<Box<dyn Future<Output = Option<JobHandout>> + Send>>;

/// One realm in a shared long poll.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PolledRealm {
    pub name: String,
    #[serde(default)]
    pub url: String,
    pub instance: String,
}

/// What a shared long poll ends with.
#[derive(Debug)]
pub enum ManyOutcome {
    /// Realms whose names live instances hold (nothing was polled).
    Refused(Vec<String>),
    /// A job for the realm at this index of the list.
    Job(usize, JobHandout),
    /// No job before the long-poll time.
    Empty,
}

/// Long-poll for all `realms` at once (each registered and refreshed as by its own poll); the
/// first job for any of them ends the wait, and so does `kick` (the caller's realm list
/// changed). Ending early this way, rather than by aborting the request, never loses a job
/// handed out at that moment.
pub async fn poll_many(
    engine: &Engine,
    realms: &[PolledRealm],
    kick: Option<&tokio::sync::Notify>,
) -> ManyOutcome {
    let mut holds = Vec::with_capacity(realms.len());
    let mut refused = Vec::new();
    for r in realms {
        match engine.hold_name(&r.name, &r.instance, true) {
            Ok(hold) => holds.push(hold),
            Err(NameTaken) => refused.push(r.name.clone()),
        }
    }
    if !refused.is_empty() {
        return ManyOutcome::Refused(refused);
    }
    let mut polls: Vec<_> = realms
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Box::pin(async move { (i, engine.poll(&r.name, &r.url).await) })
                as Pin<Box<dyn Future<Output = (usize, Option<JobHandout>)> + Send + '_>>
        })
        .collect();
    let first_job = async move {
        while !polls.is_empty() {
            let ((i, job), _, rest) = futures_util::future::select_all(polls).await;
            if let Some(job) = job {
                return ManyOutcome::Job(i, job);
            }
            polls = rest;
        }
        ManyOutcome::Empty
    };
    let kicked = async {
        match kick {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    };
    // A job is taken and returned without an await in between, so ending at a kick drops
    // only waiting polls.
    tokio::select! {
        biased;
        outcome = first_job => outcome,
        _ = kicked => ManyOutcome::Empty,
    }
}

/// A realm's channel seen frame by frame, whatever carries it: axum's WebSocket in native
/// hosts, a host's own WebSocket bridged through [`bridge`] in the others (the Node host of
/// the WASI build). [`serve`] speaks the protocol over it.
pub trait Frames: Send {
    /// The realm's next frame (text or binary payload); `None` once it closed or failed.
    fn recv(&mut self) -> impl Future<Output = Option<Vec<u8>>> + Send;
    /// Send a text frame; `false` if the transport is gone.
    fn send(&mut self, text: String) -> impl Future<Output = bool> + Send;
    /// Close the transport (idempotent).
    fn close(&mut self) -> impl Future<Output = ()> + Send;
}

/// Serve one realm over a WebSocket-like transport until either side closes.
pub async fn serve<F: Frames>(
    mut io: F,
    engine: Engine,
    name: String,
    url: String,
    instance: String,
) {
    let session = match Session::open(&engine, &name, &url, &instance) {
        Ok(s) => std::sync::Arc::new(s),
        Err(NameTaken) => {
            tracing::debug!(%name, "realm name refused: held by a live instance");
            let frame = serde_json::json!({
                "type": "refused",
                "reason": format!("a live realm already holds the name {name}"),
            });
            let _ = io.send(frame.to_string()).await;
            io.close().await;
            return;
        }
    };
    if !io.send(r#"{"type":"welcome"}"#.to_string()).await {
        return;
    }
    let mut waiting: Option<JobFuture> = None;
    let mut shutdown = engine_shutdown(&engine);
    loop {
        tokio::select! {
            incoming = io.recv() => {
                let Some(bytes) = incoming else { break };
                if bytes.len() > super::routes::MAX_BODY {
                    tracing::debug!(%name, "channel frame too large");
                    break;
                }
                match session.message(&bytes) {
                    Ok(Incoming::Ready) => {
                        if waiting.is_none() {
                            let s = session.clone();
                            waiting = Some(Box::pin(async move { s.next_job().await }));
                        }
                    }
                    Ok(Incoming::Posted) => {}
                    Err(reason) => tracing::debug!(%name, %reason, "bad channel frame"),
                }
            }
            job = async { waiting.as_mut().expect("guarded").await }, if waiting.is_some() => {
                waiting = None;
                let Some(job) = job else { break };
                if !io.send(job_frame(&job)).await {
                    break;
                }
            }
            _ = &mut shutdown => break,
        }
    }
    io.close().await;
}

/// Serve one realm over an upgraded axum WebSocket until either side closes.
#[cfg(feature = "native")]
pub async fn serve_socket(
    socket: WebSocket,
    engine: Engine,
    name: String,
    url: String,
    instance: String,
) {
    serve(AxumSocket(socket), engine, name, url, instance).await
}

#[cfg(feature = "native")]
struct AxumSocket(WebSocket);

#[cfg(feature = "native")]
impl Frames for AxumSocket {
    async fn recv(&mut self) -> Option<Vec<u8>> {
        loop {
            return match self.0.recv().await {
                Some(Ok(WsMessage::Text(t))) => Some(t.as_bytes().to_vec()),
                Some(Ok(WsMessage::Binary(b))) => Some(b.to_vec()),
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => None,
            };
        }
    }

    async fn send(&mut self, text: String) -> bool {
        self.0.send(WsMessage::Text(text.into())).await.is_ok()
    }

    async fn close(&mut self) {
        let _ = self.0.send(WsMessage::Close(None)).await;
    }
}

/// A WebSocket that a host holds itself (the Node host of the WASI build, which has no
/// upgrades in the core): the host moves frames between its socket and [`BridgeHost`]; the
/// core serves the [`Bridged`] end. Made by [`bridge`]; `GET /-daebug-ws` takes the
/// [`Bridged`] end from the request's extensions ([`BridgeSlot`]) once it accepts the request.
pub fn bridge() -> (BridgeHost, BridgeSlot) {
    let (to_core, from_host) = tokio::sync::mpsc::unbounded_channel();
    let (to_host, from_core) = tokio::sync::mpsc::unbounded_channel();
    let host = BridgeHost {
        to_core: std::sync::Mutex::new(Some(to_core)),
        from_core: tokio::sync::Mutex::new(from_core),
    };
    let bridged = Bridged {
        from_host,
        to_host: Some(to_host),
    };
    (
        host,
        BridgeSlot(std::sync::Arc::new(std::sync::Mutex::new(Some(bridged)))),
    )
}

/// The host's end of a [`bridge`].
pub struct BridgeHost {
    to_core: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Vec<u8>>>>,
    from_core: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<String>>,
}

impl BridgeHost {
    /// A frame arrived from the realm.
    pub fn push(&self, frame: Vec<u8>) {
        if let Some(tx) = &*self.to_core.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = tx.send(frame);
        }
    }

    /// The realm's socket closed (idempotent).
    pub fn end(&self) {
        self.to_core
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// The next text frame to send to the realm; `None`: close the socket.
    pub async fn next(&self) -> Option<String> {
        self.from_core.lock().await.recv().await
    }
}

/// The core's end of a [`bridge`], in a request extension until a route takes it.
#[derive(Clone)]
pub struct BridgeSlot(std::sync::Arc<std::sync::Mutex<Option<Bridged>>>);

impl BridgeSlot {
    /// Take the core's end (once).
    pub fn take(&self) -> Option<Bridged> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The core's end of a [`bridge`]: [`Frames`] for [`serve`].
pub struct Bridged {
    from_host: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    to_host: Option<tokio::sync::mpsc::UnboundedSender<String>>,
}

impl Frames for Bridged {
    async fn recv(&mut self) -> Option<Vec<u8>> {
        self.from_host.recv().await
    }

    async fn send(&mut self, text: String) -> bool {
        self.to_host
            .as_ref()
            .is_some_and(|tx| tx.send(text).is_ok())
    }

    async fn close(&mut self) {
        self.to_host = None;
    }
}

fn engine_shutdown(engine: &Engine) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    let engine = engine.clone();
    Box::pin(async move { engine.shutdown_requested().await })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_frames() {
        assert!(is_ready(br#"{"type":"ready"}"#));
        assert!(!is_ready(br#"{"type":"background-flush","events":[]}"#));
        assert!(!is_ready(b"ready"));
    }
}
