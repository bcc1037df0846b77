//! The realm channel beyond SPEC 5's long poll: a transport-agnostic [`Session`] (one realm
//! instance holding its name, waiting for jobs, taking messages), and the WebSocket
//! `GET /-daebug-ws?name=&url=&instance=` that carries it in axum hosts.
//!
//! Why: HTTP/1.1 browsers allow six connections per host, and a long poll per realm (two per
//! tab) starves the page once a few tabs are open. WebSockets do not count toward that limit.
//! A host without upgrades (a Node `http` server calling the core per request) can bridge a
//! WebSocket onto [`Session`] later; until then its realms fall back to long polls.
//!
//! Hosts without upgrades: realms fall back to long polls, and to keep those within the
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
//! The WebSocket needs axum's `ws` (tokio networking), which only native builds have; the WASI
//! host has no upgrades, and its realms share a long poll ([`poll_many`], built everywhere).

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

#[cfg(feature = "native")]
fn job_frame(job: &JobHandout) -> String {
    serde_json::json!({ "type": "job", "id": job.id, "code": job.code }).to_string()
}

#[cfg(feature = "native")]
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

/// Serve one realm over an upgraded WebSocket until either side closes.
#[cfg(feature = "native")]
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

#[cfg(feature = "native")]
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
