//! Requests that arrive through `daebug run`, the HTTP API or MCP (SPEC 5.1): appended to the
//! realm's log exactly as an agent's append would be (request header with the caller's name,
//! a ```js block), accepted in the same store edit, and awaited by job id until the engine
//! writes the reply. The log stays the one record; this only adds a way to wait for it.

use super::realms::Job;
use super::Engine;
use crate::clock::now_hms;
use crate::log::edit::{self, LogContext};
use crate::log::{BgEvent, EventKind, Outcome, Reply};
use crate::names;
use crate::registry::RealmState;
use crate::store::Edit;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Jobs someone is waiting for, by job id.
#[derive(Default)]
pub(super) struct Waiters(Mutex<HashMap<String, oneshot::Sender<Finished>>>);

impl Waiters {
    fn insert(&self, id: String, tx: oneshot::Sender<Finished>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
    }

    fn remove(&self, id: &str) -> Option<oneshot::Sender<Finished>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id)
    }
}

/// A job's reply, as written into the log.
#[derive(Debug, Clone)]
pub struct Finished {
    pub job_id: String,
    pub realm: String,
    pub agent: String,
    pub outcome: Outcome,
    pub events: Vec<BgEvent>,
    pub duration_ms: u64,
    /// The engine's own timeout answered the job (the realm did not).
    pub timed_out: bool,
    /// The reply's Markdown section, exactly as written beneath the request.
    pub markdown: String,
}

impl Finished {
    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The JSON every agent interface returns (`daebug run --json`, `POST /-daebug-api/run`,
    /// MCP `evaluate`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "ok": self.ok(),
            "realm": self.realm,
            "agent": self.agent,
            "jobId": self.job_id,
            "duration": self.duration_ms,
            "timedOut": self.timed_out,
        });
        let o = v.as_object_mut().expect("object");
        match &self.outcome {
            Outcome::Json(j) => {
                let value = serde_json::from_str::<serde_json::Value>(j)
                    .unwrap_or_else(|_| serde_json::Value::String(j.clone()));
                o.insert("value".into(), value);
            }
            Outcome::Text(t) => {
                o.insert("text".into(), t.clone().into());
            }
            Outcome::Error(e) => {
                o.insert("error".into(), e.clone().into());
            }
        }
        o.insert(
            "events".into(),
            self.events.iter().map(event_json).collect(),
        );
        o.insert("markdown".into(), self.markdown.clone().into());
        v
    }
}

fn event_json(e: &BgEvent) -> serde_json::Value {
    let (kind, source) = match &e.kind {
        EventKind::Console { level } => ("console", format!("console.{level}")),
        EventKind::Error { source } => ("error", source.clone()),
    };
    let mut v =
        serde_json::json!({ "type": kind, "source": source, "at": e.at, "message": e.message });
    let o = v.as_object_mut().expect("object");
    if let Some(s) = &e.stack {
        o.insert("stack".into(), s.clone().into());
    }
    if let Some(c) = &e.caller {
        o.insert("caller".into(), c.clone().into());
    }
    v
}

/// Why a submitted request got no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitError {
    /// No live realm of that name (or none at all).
    NoRealm(String),
    /// No realm named and several live pages to choose from.
    Ambiguous(Vec<String>),
    /// The realm's log was deleted by an agent: Daebug leaves it alone.
    LogMissing(String),
    /// The request is in the log and queued or running, but the wait ended first.
    WaitTimedOut { job_id: String, realm: String },
    /// Bad input (empty code) or an IO failure.
    Failed(String),
}

impl std::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitError::NoRealm(m) | SubmitError::LogMissing(m) | SubmitError::Failed(m) => {
                f.write_str(m)
            }
            SubmitError::Ambiguous(names) => write!(
                f,
                "several live pages; choose one with --realm (or \"realm\"): {}",
                names.join(", ")
            ),
            SubmitError::WaitTimedOut { job_id, realm } => write!(
                f,
                "no reply from {realm} yet (job {job_id}); it is still in the log and its reply will be written there"
            ),
        }
    }
}

/// One realm as agents see it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RealmInfo {
    pub name: String,
    /// `page` or `worker`.
    pub kind: &'static str,
    /// The page's address (for a worker: its page's).
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_page: Option<String>,
    /// `live`, `executing`, `queued`, `gone`.
    pub state: &'static str,
    pub queued: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gone_since: Option<String>,
    /// The log, relative to the root.
    pub log: String,
    pub last_activity: String,
}

/// An agent name as a request header can carry it: no whitespace or `*`, at most 64 chars.
pub fn agent_name(raw: &str) -> String {
    let cleaned: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() || c == '*' || c == '`' {
                '-'
            } else {
                c
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "agent".into()
    } else {
        cleaned
    }
}

/// A fence longer than any backtick run in `code`.
fn fence_for(code: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in code.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

impl Engine {
    /// Every known realm, newest activity first.
    pub fn realm_infos(&self) -> Vec<RealmInfo> {
        let st = self.state();
        let mut realms: Vec<_> = st.realms.values().collect();
        realms.sort_by(|a, b| {
            b.last_activity
                .cmp(&a.last_activity)
                .then(a.name.cmp(&b.name))
        });
        realms
            .into_iter()
            .map(|r| {
                let (state, queued, gone_since) = match r.state() {
                    RealmState::Live => ("live", 0, None),
                    RealmState::Executing { queued } => ("executing", queued, None),
                    RealmState::Queued(n) => ("queued", n, None),
                    RealmState::Gone { since } => ("gone", 0, Some(since)),
                };
                let worker = r.is_worker();
                RealmInfo {
                    name: r.name.clone(),
                    kind: if worker { "worker" } else { "page" },
                    url: r.url.clone(),
                    main_page: worker.then(|| r.main_page_name()),
                    state,
                    queued,
                    gone_since,
                    log: relative_link(&self.inner.root, &r.log),
                    last_activity: r.last_activity_at.clone(),
                }
            })
            .collect()
    }

    /// The realm a request without a name goes to: the one live page. Named: that realm, if
    /// known and not gone.
    pub fn choose_realm(&self, name: Option<&str>) -> Result<RealmInfo, SubmitError> {
        let all = self.realm_infos();
        if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) {
            let key = names::sanitize(name);
            return match all.into_iter().find(|r| names::sanitize(&r.name) == key) {
                Some(r) if r.state != "gone" => Ok(r),
                Some(r) => Err(SubmitError::NoRealm(format!(
                    "realm {} is gone (no poll since {}); open its page again or pick a live realm (daebug realms)",
                    r.name,
                    r.gone_since.unwrap_or_default()
                ))),
                None => Err(SubmitError::NoRealm(format!(
                    "no realm named {name}; list the live ones with `daebug realms`"
                ))),
            };
        }
        let pages: Vec<RealmInfo> = all
            .into_iter()
            .filter(|r| r.kind == "page" && r.state != "gone")
            .collect();
        match pages.len() {
            0 => Err(SubmitError::NoRealm(
                "no live page is connected; open one of the root's pages in a browser (the server's URL), then try again".into(),
            )),
            1 => Ok(pages.into_iter().next().expect("one")),
            _ => Err(SubmitError::Ambiguous(
                pages.into_iter().map(|r| r.name).collect(),
            )),
        }
    }

    /// Append `code` to the realm's log as a request from `agent`, and wait up to `wait` for
    /// its reply. On a wait timeout the request stays in the log and runs as usual.
    pub async fn submit(
        &self,
        realm: Option<&str>,
        agent: &str,
        code: &str,
        wait: Duration,
    ) -> Result<Finished, SubmitError> {
        if code.trim().is_empty() {
            return Err(SubmitError::Failed("no code to run".into()));
        }
        let info = self.choose_realm(realm)?;
        let (rx, job_id) = self.append_request(&info.name, &agent_name(agent), code)?;
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(finished)) => Ok(finished),
            Ok(Err(_)) => Err(SubmitError::Failed(
                "the server stopped before the reply was written".into(),
            )),
            Err(_) => {
                self.inner.waiters.remove(&job_id);
                Err(SubmitError::WaitTimedOut {
                    job_id,
                    realm: info.name,
                })
            }
        }
    }

    /// Append the request and accept it in one store edit; queue its job (and any other
    /// request the agent had appended meanwhile) with a waiter on ours.
    fn append_request(
        &self,
        realm: &str,
        agent: &str,
        code: &str,
    ) -> Result<(oneshot::Receiver<Finished>, String), SubmitError> {
        let key = names::sanitize(realm);
        let Some((name, log, subject, busy)) = self.with_realm(&key, |r| {
            (
                r.name.clone(),
                r.log.clone(),
                r.subject(),
                r.busy() || r.polling == 0,
            )
        }) else {
            return Err(SubmitError::NoRealm(format!("no realm named {realm}")));
        };
        let now = now_hms();
        let ctx = LogContext {
            realm: &name,
            subject: &subject,
            now: &now,
        };
        let code = code.trim_end_matches(['\n', '\r']);
        let fence = fence_for(code);
        let header_realm: String = name
            .chars()
            .map(|c| if c.is_whitespace() { '-' } else { c })
            .collect();
        let chunk =
            format!("\n### 🗣️{agent} to {header_realm} at {now}\n\n{fence}js\n{code}\n{fence}\n");
        let jobs = self.inner.store.edit(&log, |text| {
            let mut appended = text.to_string();
            if !appended.ends_with('\n') && !appended.is_empty() {
                appended.push('\n');
            }
            appended.push_str(&chunk);
            let synced = edit::sync(&appended, ctx, busy);
            match synced.text {
                Some(t) => Edit::Write(t, synced.jobs),
                None => Edit::Keep(synced.jobs),
            }
        });
        let jobs = match jobs {
            Ok(Some(jobs)) if !jobs.is_empty() => jobs,
            Ok(Some(_)) => {
                return Err(SubmitError::Failed(
                    "the request could not be accepted (the log's end is an unclosed code block?); check the log".into(),
                ))
            }
            Ok(None) => {
                return Err(SubmitError::LogMissing(format!(
                    "{} was deleted, so Daebug leaves this realm alone; recreate the file (even empty) to use it again",
                    relative_link(&self.inner.root, &log)
                )))
            }
            Err(e) => return Err(SubmitError::Failed(format!("cannot write the log: {e}"))),
        };
        let jobs: Vec<Job> = jobs
            .into_iter()
            .map(|j| Job {
                id: self.next_job_id(),
                code: j.code,
                agent: j.agent,
            })
            .collect();
        // Ours is the last block of the text: the chunk was appended at the very end.
        let ours = jobs.last().expect("non-empty").id.clone();
        let (tx, rx) = oneshot::channel();
        self.inner.waiters.insert(ours.clone(), tx);
        let notify = self.with_realm(&key, |r| {
            r.queue.extend(jobs);
            r.last_activity = Instant::now();
            r.last_activity_at = now_hms();
            r.notify.clone()
        });
        match notify {
            Some(n) => n.notify_waiters(),
            None => {
                self.inner.waiters.remove(&ours);
                return Err(SubmitError::NoRealm(format!("realm {name} went away")));
            }
        }
        self.write_registry();
        Ok((rx, ours))
    }

    /// Called by `finish` once a job's reply is written: wake whoever waits for it.
    pub(super) fn job_finished(&self, job_id: &str, reply: &Reply) {
        let Some(tx) = self.inner.waiters.remove(job_id) else {
            return;
        };
        let timed_out = reply.outcome == Outcome::timeout(self.inner.opts.timeout.as_secs_f64());
        let _ = tx.send(Finished {
            job_id: job_id.to_string(),
            realm: reply.realm.clone(),
            agent: reply.agent.clone(),
            outcome: reply.outcome.clone(),
            events: reply.events.clone(),
            duration_ms: reply.duration_ms,
            timed_out,
            markdown: reply.render(),
        });
    }
}

/// `daebug/x.md`, relative to the root, with `/` separators.
fn relative_link(root: &std::path::Path, log: &std::path::Path) -> String {
    let rel = log.strip_prefix(root).unwrap_or(log);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
