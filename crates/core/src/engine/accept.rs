//! Accepting requests from logs: the sync task fed by the watcher reads a changed log, lets the
//! pure `log::edit::sync` rewrite its tail (request headers, placeholders) and queues the jobs it
//! found on the realm — unless an older copy of the log brought them back after they ran
//! (`log::replay`): those get a 🚫 "not run again" reply. Also reacts to `%%SHUTDOWN%%` in the
//! registry and to `daebug/` appearing.

use super::realms::Job;
use super::{Engine, Notice};
use crate::clock::now_hms;
use crate::log::edit::{self, LogContext};
use crate::log::events::render_diagnostic;
use crate::log::problems::{self, Problem};
use crate::log::replay;
use crate::log::window;
use crate::log::{Outcome, Reply};
use crate::names;
use crate::registry;
use crate::store::Edit;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio::sync::mpsc;

/// Versions of a log that requests were taken from, remembered per realm (16 bytes and a time
/// each): an older copy saved back is recognised within that many acceptances.
const TAKEN_KEPT: usize = 4096;

impl Engine {
    // ----- watching the files -------------------------------------------------------------

    pub(super) async fn sync_loop(&self, mut rx: mpsc::UnboundedReceiver<PathBuf>) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while let Ok(p) = rx.try_recv() {
                if !batch.contains(&p) {
                    batch.push(p);
                }
            }
            for path in batch {
                // The store may wait for a log mid-save to settle: not on a runtime thread.
                let me = self.clone();
                let _ = tokio::task::spawn_blocking(move || me.sync_path(&path)).await;
            }
        }
    }

    /// React to a change of `path`: the registry (shutdown request), the log directory
    /// appearing, or a realm log (requests to accept).
    pub fn sync_path(&self, path: &Path) {
        // Our own rewrite echoing back through the watcher (most changes seen): nothing to
        // read, so no need to walk the path for links first (one look instead of three).
        if self.inner.store.is_as_written(path) {
            return;
        }
        if !self.inside_root(path) {
            return;
        }
        if path == self.inner.registry_path {
            if let Ok(Some(text)) = self.inner.store.read(path) {
                if registry::has_shutdown_line(&text) {
                    tracing::debug!("%%SHUTDOWN%% found in the registry");
                    self.request_shutdown();
                }
            }
            return;
        }
        if path == self.inner.log_dir {
            if let Some(w) = self
                .inner
                .watcher
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
            {
                w.watch_log_dir(&self.inner.log_dir);
            }
            let keys: HashSet<String> = self.state().realms.keys().cloned().collect();
            if let Ok(entries) = std::fs::read_dir(&self.inner.log_dir) {
                for entry in entries.flatten() {
                    if names::key_of_log(&entry.path()).is_some_and(|k| keys.contains(&k)) {
                        self.sync_path(&entry.path());
                    }
                }
            }
            return;
        }
        let Some(key) = names::key_of_log(path) else {
            return;
        };
        let Some((name, log, subject, busy)) = self.with_realm(&key, |r| {
            // A realm that is not polling right now cannot be executing the request: `queued`.
            (
                r.name.clone(),
                r.log.clone(),
                r.subject(),
                r.busy() || r.polling == 0,
            )
        }) else {
            return;
        };
        // Our own write echoing back through the watcher: nothing new to read. (An edit of ours
        // that carried an agent's fresh append along asks for a sync itself: see
        // `edit_log_with`.)
        if self.inner.store.is_as_written(&log) {
            return;
        }
        if !self.inside_root(&log) {
            return;
        }
        let now = now_hms();
        let ctx = LogContext {
            realm: &name,
            subject: &subject,
            now: &now,
        };
        let mut problem = None;
        let mut version = None;
        let jobs = self.inner.store.edit_log(&log, window::boundary, |v| {
            if !v.whole() && (!window::window_ok(v.text) || !window::head_has_title(v.head)) {
                return Edit::More;
            }
            version = replay::fingerprint(v.text);
            let synced = edit::sync_window(v.text, ctx, busy, !v.whole());
            problem = problems::detect(synced.text.as_deref().unwrap_or(v.text));
            match synced.text {
                Some(t) => Edit::Write(t, synced.jobs),
                None => Edit::Keep(synced.jobs),
            }
        });
        if let Some(p) = problem {
            self.diagnose_problem(&key, &log, &p);
        }
        let jobs = match jobs {
            Ok(Some(jobs)) => jobs,
            Ok(None) => return, // deleted: leave it alone
            Err(e) => {
                tracing::warn!("could not update {}: {e}", log.display());
                return;
            }
        };
        if jobs.is_empty() {
            self.restore_replies(&key, &log);
            return;
        }
        let jobs: Vec<Job> = jobs
            .into_iter()
            .map(|j| Job {
                id: self.next_job_id(),
                code: j.code,
                agent: j.agent,
            })
            .collect();
        if let Some(taken_at) = version.and_then(|fp| self.taken_before(&key, fp, &now)) {
            self.refuse_replayed(&key, &log, jobs, &taken_at);
            return;
        }
        let notify = self.with_realm(&key, |r| {
            // A new request with the code of a finished one: its placeholder is not that job's.
            r.recent
                .retain(|(code, _)| !jobs.iter().any(|j| j.code.trim() == code.trim()));
            r.queue.extend(jobs);
            r.last_activity = Instant::now();
            r.last_activity_at = now_hms();
            r.notify.clone()
        });
        if let Some(n) = notify {
            n.notify_waiters();
        }
        self.restore_replies(&key, &log);
        self.write_registry();
    }

    /// Were requests taken from this very version of the log before (see `log::replay`)? Then
    /// when. Otherwise remember that they are taken from it now.
    fn taken_before(&self, key: &str, fp: u64, now: &str) -> Option<String> {
        self.with_realm(key, |r| {
            if let Some((_, at)) = r.taken.iter().find(|(f, _)| *f == fp) {
                return Some(at.clone());
            }
            if r.taken.len() >= TAKEN_KEPT {
                r.taken.pop_front();
            }
            r.taken.push_back((fp, now.to_string()));
            None
        })
        .flatten()
    }

    /// Answer requests that an older copy of the log brought back (they ran when they were
    /// first taken, at `taken_at`) with a 🚫 reply saying so, instead of running them again.
    fn refuse_replayed(&self, key: &str, log: &Path, jobs: Vec<Job>, taken_at: &str) {
        let Some(name) = self.with_realm(key, |r| r.name.clone()) else {
            return;
        };
        tracing::debug!(log = %log.display(), "an older copy of the log brought back requests that ran");
        let message = format!(
            "Not run again: this request was already taken from this same text at {taken_at}, and \
             its reply was lost when the log was replaced by an older copy of itself (an editor's \
             or agent's stale save). To run it again, append it again."
        );
        for job in jobs {
            let reply = Reply {
                realm: name.clone(),
                agent: job.agent.clone(),
                at: now_hms(),
                duration_ms: 0,
                outcome: Outcome::Error(message.clone()),
                extra: String::new(),
                events: Vec::new(),
            };
            self.edit_log(log, |t| edit::reply(t, &job.code, &reply));
        }
        self.report(Notice::Diagnostic {
            realm: name,
            message: "requests brought back by an older copy of the log were not run again"
                .to_string(),
        });
    }

    /// Write one ⚠️ diagnostic for a request that cannot run, unless this problem (the same
    /// offending text) was diagnosed already: once per problem, not once per edit.
    fn diagnose_problem(&self, key: &str, log: &Path, p: &Problem) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (p.kind as u8, &p.key).hash(&mut h);
        let hash = h.finish();
        let Some((fresh, name)) = self.with_realm(key, |r| {
            if r.diagnosed.contains(&hash) {
                return (false, r.name.clone());
            }
            if r.diagnosed.len() >= 64 {
                r.diagnosed.pop_front();
            }
            r.diagnosed.push_back(hash);
            (true, r.name.clone())
        }) else {
            return;
        };
        if !fresh {
            return;
        }
        tracing::debug!(kind = ?p.kind, "a request in {} cannot run", log.display());
        let section = render_diagnostic(&name, &now_hms(), &p.message);
        self.edit_log(log, |t| Some(edit::insert_problem_diagnostic(t, &section)));
        self.report(Notice::Diagnostic {
            realm: name,
            message: p.message.clone(),
        });
    }

    /// A save of the agent based on an older version of the log may bring back the placeholder
    /// of a job that has finished (the store re-applies its own last edits beneath such saves;
    /// this catches what it could not). Such a placeholder gets its reply again.
    fn restore_replies(&self, key: &str, log: &Path) {
        let Some((recent, active)) = self.with_realm(key, |r| {
            let mut active: Vec<String> = r.queue.iter().map(|j| j.code.clone()).collect();
            active.extend(r.current.as_ref().map(|c| c.job.code.clone()));
            (r.recent.clone(), active)
        }) else {
            return;
        };
        if recent.is_empty() {
            return;
        }
        self.edit_log_in_window(log, |t| {
            if !t.contains("\nexecuting (") && !t.contains("\nqueued") {
                return None;
            }
            // One parse for all of them: nearly always none came back.
            let finished: Vec<&str> = recent
                .iter()
                .map(|(code, _)| code.as_str())
                .filter(|code| !active.iter().any(|a| a == code))
                .collect();
            let back = edit::pending_among(t, &finished);
            let mut out: Option<String> = None;
            for (code, reply) in recent.iter().filter(|(c, _)| back.contains(&c.as_str())) {
                let current = out.as_deref().unwrap_or(t);
                if let Some(new) = edit::reply(current, code, reply) {
                    tracing::debug!(
                        "a finished job's placeholder came back; writing its reply again"
                    );
                    out = Some(new);
                }
            }
            out
        });
    }
}
