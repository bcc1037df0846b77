//! Accepting requests from logs: the sync task fed by the watcher reads a changed log, lets the
//! pure `log::edit::sync` rewrite its tail (request headers, placeholders) and queues the jobs it
//! found on the realm. Also reacts to `%%SHUTDOWN%%` in the registry and to `daebug/` appearing.

use super::realms::Job;
use super::Engine;
use crate::clock::now_hms;
use crate::log::edit::{self, LogContext};
use crate::names;
use crate::registry;
use crate::store::Edit;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long to wait before touching a log that seems to be mid-rewrite (no footer at all).
const SETTLE_REWRITE: Duration = Duration::from_millis(60);
/// The footer's prompt, as bytes to look for.
const FOOTER_MARK: &str = "> Append your JavaScript snippet below";

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
                if !self.inner.store.is_as_written(&path) && self.mid_rewrite(&path) {
                    // An editor saving the whole file truncates it, then writes: give it a moment
                    // rather than "repairing" a half-written log.
                    tokio::time::sleep(SETTLE_REWRITE).await;
                }
                self.sync_path(&path);
            }
        }
    }

    /// A log that lost its footer prompt entirely is most likely being rewritten right now.
    pub(super) fn mid_rewrite(&self, path: &Path) -> bool {
        if path.extension().is_none_or(|e| e != "md") || path == self.inner.registry_path {
            return false;
        }
        match std::fs::read(path) {
            Ok(bytes) => !bytes
                .windows(FOOTER_MARK.len())
                .any(|w| w == FOOTER_MARK.as_bytes()),
            Err(_) => false,
        }
    }

    /// React to a change of `path`: the registry (shutdown request), the log directory
    /// appearing, or a realm log (requests to accept).
    pub fn sync_path(&self, path: &Path) {
        if path == self.inner.registry_path {
            if self.inner.store.is_as_written(path) {
                return; // our own rewrite
            }
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
        // Our own write echoing back through the watcher: nothing new to read.
        if self.inner.store.is_as_written(&log) {
            return;
        }
        let now = now_hms();
        let ctx = LogContext {
            realm: &name,
            subject: &subject,
            now: &now,
        };
        let jobs = self.inner.store.edit(&log, |text| {
            let synced = edit::sync(text, ctx, busy);
            match synced.text {
                Some(t) => Edit::Write(t, synced.jobs),
                None => Edit::Keep(synced.jobs),
            }
        });
        let jobs = match jobs {
            Ok(Some(jobs)) => jobs,
            Ok(None) => return, // deleted: leave it alone
            Err(e) => {
                tracing::warn!("could not update {}: {e}", log.display());
                return;
            }
        };
        if jobs.is_empty() {
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
        let notify = self.with_realm(&key, |r| {
            r.queue.extend(jobs);
            r.last_activity = Instant::now();
            r.last_activity_at = now_hms();
            r.notify.clone()
        });
        if let Some(n) = notify {
            n.notify_waiters();
        }
        self.write_registry();
    }
}
