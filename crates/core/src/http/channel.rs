//! The realm channel beyond SPEC 5's long poll: a transport-agnostic [`Session`] (one realm
//! instance holding its name, waiting for jobs, taking messages), and the WebSocket
//! `GET /-daebug-ws?name=&url=&instance=` that carries it in axum hosts.
//!
//! Why: HTTP/1.1 browsers allow six connections per host, and a long poll per realm (two per
//! tab) starves the page once a few tabs are open. WebSockets do not count toward that limit.
//! A host without upgrades (a Node `http` server calling the core per request) can bridge a
//! WebSocket onto [`Session`] later; until then its realms fall back to long polls.
//!
//! Wire (JSON text frames). Server → realm: `{"type":"welcome"}` once the name is the
//! instance's, `{"type":"refused","reason":…}` (then close) when a live realm holds it,
//! `{"type":"job","id":…,"code":…}`. Realm → server: `{"type":"ready"}` when free for the next
//! job; any SPEC 5 channel payload is accepted too (the shim posts results over HTTP, whose
//! delivery is acknowledged).
// The WebSocket needs axum's `ws` (tokio networking), which only native builds have; the WASI
// host has no upgrades and its realms use long polls.
#![cfg(feature = "native")]

use crate::engine::{Engine, JobHandout, NameHold, NameTaken};
use crate::wire::parse_message;
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

/// Serve one realm over an upgraded WebSocket until either side closes.
pub async fn serve_socket(
    mut socket: WebSocket,
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
            let _ = socket.send(WsMessage::Text(frame.to_string().into())).await;
            let _ = socket.send(WsMessage::Close(None)).await;
            return;
        }
    };
    if socket
        .send(WsMessage::Text(r#"{"type":"welcome"}"#.into()))
        .await
        .is_err()
    {
        return;
    }
    let mut waiting: Option<JobFuture> = None;
    let mut shutdown = engine_shutdown(&engine);
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let bytes = match incoming {
                    Some(Ok(WsMessage::Text(t))) => t.as_bytes().to_vec(),
                    Some(Ok(WsMessage::Binary(b))) => b.to_vec(),
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                    Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                };
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
                if socket.send(WsMessage::Text(job_frame(&job).into())).await.is_err() {
                    break;
                }
            }
            _ = &mut shutdown => break,
        }
    }
    let _ = socket.send(WsMessage::Close(None)).await;
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
