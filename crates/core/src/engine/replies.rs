//! Writing what realms send back into their logs: job replies, progress in the executing
//! placeholder, background events, in-page test progress and diagnostics.

use super::realms::{LateJob, Running};
use super::{Engine, Notice};
use crate::clock::now_hms;
use crate::log::events::{render_background, render_diagnostic};
use crate::log::{edit, window};
use crate::log::{BgEvent, Outcome, Reply};
use crate::names;
use crate::store::Edit;
use crate::testrun::{Progress, TestRun};
use crate::wire::{JobResult, Message, WireEvent};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Test-run progress is written into the placeholder no more often than this.
const TEST_PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Replies remembered per realm to restore after an agent's stale save.
const RECENT_REPLIES: usize = 16;

impl Engine {
    // ----- messages from the realm -------------------------------------------------------

    /// `POST /-daebug-channel`.
    pub fn post(&self, name: &str, url: &str, message: Message) {
        let first = self.first_contact(name);
        let (key, appeared, created) = {
            let mut st = self.state();
            let created = !st.realms.contains_key(&names::sanitize(name));
            let (key, appeared) = self.register(&mut st, name, url);
            (key, appeared, created)
        };
        drop(first);
        if appeared {
            self.on_appeared(&key, created);
        }
        match message {
            Message::Result(result) => self.on_result(&key, result),
            Message::BackgroundFlush { events } => self.on_background(&key, events),
            Message::JobProgress { job_id, events, .. } => self.on_progress(&key, job_id, events),
            Message::WorkerInit { main_page } => {
                let main_page = main_page.filter(|m| names::is_valid_realm_name(m));
                self.with_realm(&key, |r| r.main_page = main_page);
                self.write_registry();
            }
            Message::WorkerTimeout { duration_ms } => self.on_worker_timeout(&key, duration_ms),
        }
    }

    pub(super) fn is_worker(&self, key: &str) -> bool {
        self.with_realm(key, |r| r.is_worker()).unwrap_or(false)
    }

    pub(super) fn convert(&self, key: &str, events: Vec<WireEvent>) -> Vec<BgEvent> {
        let worker = self.is_worker(key);
        events.into_iter().map(|e| e.into_event(worker)).collect()
    }

    pub(super) fn on_result(&self, key: &str, mut result: JobResult) {
        enum Fate {
            Current(Running),
            Late(LateJob),
            Unknown,
        }
        let fate = {
            let mut st = self.state();
            let matches_current = st
                .realms
                .get(key)
                .and_then(|r| r.current.as_ref())
                .is_some_and(|run| result.job_id.as_deref().is_none_or(|id| id == run.job.id));
            if matches_current {
                let realm = st.realms.get_mut(key).expect("checked");
                realm.touch();
                Fate::Current(realm.current.take().expect("checked"))
            } else if let Some(late) = result.job_id.as_deref().and_then(|id| st.late.remove(id)) {
                Fate::Late(late)
            } else {
                Fate::Unknown
            }
        };
        let events = self.convert(key, std::mem::take(&mut result.background_events));
        let outcome = result.outcome();
        match fate {
            Fate::Current(run) => self.finish(key, run, outcome, Some(events)),
            Fate::Late(late) => {
                let message = format!(
                    "A result arrived {:.1}s after the job started at {} — after its timeout — so it is written here:\n{}{}",
                    late.started.elapsed().as_secs_f64(),
                    late.started_at,
                    outcome_text(&outcome),
                    events_text(&events)
                );
                self.diagnostic(&late.realm_key, &message);
            }
            Fate::Unknown => {
                let id = result.job_id.as_deref().unwrap_or("(none)");
                let message = format!(
                    "A result arrived for job {id}, which this server did not hand out (or no longer waits for):\n{}{}",
                    outcome_text(&outcome),
                    events_text(&events)
                );
                self.diagnostic(key, &message);
            }
        }
    }

    /// Write a finished job's reply (or a diagnostic, when its placeholder is gone).
    pub(super) fn finish(
        &self,
        key: &str,
        run: Running,
        outcome: Outcome,
        events: Option<Vec<BgEvent>>,
    ) {
        let Some((name, log)) = self.with_realm(key, |r| (r.name.clone(), r.log.clone())) else {
            return;
        };
        let duration_ms = run.started.elapsed().as_millis() as u64;
        let ok = outcome.is_ok();
        let events = match events {
            Some(e) if !e.is_empty() => e,
            _ => run.events,
        };
        let reply = Reply {
            realm: name.clone(),
            agent: run.job.agent.clone(),
            at: now_hms(),
            duration_ms,
            outcome,
            extra: run
                .test
                .as_ref()
                .map(TestRun::render_summary)
                .unwrap_or_default(),
            events,
        };
        let code = run.job.code.clone();
        let written = self.edit_log(&log, |t| edit::reply(t, &code, &reply));
        if written == Some(true) {
            self.with_realm(key, |r| {
                // Kept to answer this job's placeholder should a stale save bring it back —
                // unless a request with the same code is waiting or running: a placeholder for
                // that code is then that request's, not this job's.
                let same = |c: &str| c.trim() == code.trim();
                if r.queue.iter().any(|j| same(&j.code))
                    || r.current.as_ref().is_some_and(|c| same(&c.job.code))
                {
                    return;
                }
                r.recent.retain(|(c, _)| !same(c));
                r.recent.push_back((code.clone(), reply.clone()));
                while r.recent.len() > RECENT_REPLIES {
                    r.recent.pop_front();
                }
            });
        }
        if written == Some(false) {
            let message = format!(
                "Could not find the request this reply belongs to (was it edited?). The code was:\n{}\nThe reply:\n{}",
                code.trim_end(),
                reply.render().trim_end()
            );
            self.diagnostic(key, &message);
        }
        self.job_finished(&run.job.id, &reply);
        self.write_registry();
        self.report(Notice::JobFinished {
            realm: name,
            ok,
            duration_ms,
        });
    }

    pub(super) fn on_progress(&self, key: &str, job_id: Option<String>, events: Vec<WireEvent>) {
        let events = self.convert(key, events);
        let update = {
            let mut st = self.state();
            let Some(realm) = st.realms.get_mut(key) else {
                return;
            };
            realm.last_seen = Instant::now();
            let log = realm.log.clone();
            match realm.current.as_mut() {
                Some(run) if job_id.as_deref().is_none_or(|id| id == run.job.id) => {
                    run.events = events;
                    // SPEC 3.1: first refresh at ~1 s, then no more often than every 5 s; the
                    // tick writes what arrived in between.
                    if !run.take_refresh(self.inner.opts.refresh_every) {
                        return;
                    }
                    Some((
                        log,
                        run.job.code.clone(),
                        run.started.elapsed().as_secs(),
                        run.events.clone(),
                        run.extra(),
                    ))
                }
                _ => None,
            }
        };
        if let Some((log, code, secs, events, extra)) = update {
            self.edit_log_in_window(&log, |t| edit::progress(t, &code, secs, &events, &extra));
        }
    }

    pub(super) fn on_background(&self, key: &str, events: Vec<WireEvent>) {
        if events.is_empty() {
            return;
        }
        let events = self.convert(key, events);
        let Some((name, log)) = self.with_realm(key, |r| {
            r.touch();
            (r.name.clone(), r.log.clone())
        }) else {
            return;
        };
        let section = render_background(&name, &now_hms(), &events);
        self.edit_log(&log, |t| Some(edit::insert_above_footer(t, &section)));
    }

    pub(super) fn on_worker_timeout(&self, key: &str, duration_ms: Option<u64>) {
        let ms = duration_ms.unwrap_or(0);
        self.diagnostic(
            key,
            &format!("Worker did not answer for {ms}ms; restarted it."),
        );
        let run = self.with_realm(key, |r| r.current.take()).flatten();
        if let Some(run) = run {
            let message = format!("The worker stopped answering (no heartbeat for {ms}ms) and was restarted; this job's result is lost.");
            self.finish(key, run, Outcome::Error(message), None);
        }
    }

    /// Write a diagnostic into the realm's log, and tell the host.
    pub fn diagnostic(&self, key: &str, message: &str) {
        let Some((name, log)) = self.with_realm(key, |r| (r.name.clone(), r.log.clone())) else {
            return;
        };
        let section = render_diagnostic(&name, &now_hms(), message);
        self.edit_log(&log, |t| Some(edit::insert_above_footer(t, &section)));
        self.report(Notice::Diagnostic {
            realm: name,
            message: message.lines().next().unwrap_or("").to_string(),
        });
    }

    /// Apply a pure edit to the tail of a log (see [`crate::store`]). `f` sees a window that
    /// starts at a server-written header and holds the footer; when `f` finds nothing to do
    /// there (`None`), it is shown a wider window, up to the whole file. `Some(true)` written,
    /// `Some(false)` the edit found nothing to do, `None` the log is missing (deleted by the
    /// agent: leave it alone) or unwritable.
    pub(super) fn edit_log(
        &self,
        path: &Path,
        f: impl FnMut(&str) -> Option<String>,
    ) -> Option<bool> {
        self.edit_log_with(path, true, f)
    }

    /// As [`Engine::edit_log`], but `None` from `f` means "nothing to change" and does not
    /// widen the window (placeholder refreshes, settling stale placeholders).
    pub(super) fn edit_log_in_window(
        &self,
        path: &Path,
        f: impl FnMut(&str) -> Option<String>,
    ) -> Option<bool> {
        self.edit_log_with(path, false, f)
    }

    fn edit_log_with(
        &self,
        path: &Path,
        widen_when_missing: bool,
        mut f: impl FnMut(&str) -> Option<String>,
    ) -> Option<bool> {
        if !self.inside_root(path) {
            return None;
        }
        let mut carried_request = false;
        let result = self.inner.store.edit_log(path, window::boundary, |v| {
            if !v.whole() && !window::window_ok(v.text) {
                return Edit::More;
            }
            match f(v.text) {
                Some(new) if new != v.text => {
                    carried_request = below_footer_has_fence(&new);
                    Edit::Write(new, true)
                }
                Some(_) => Edit::Keep(true),
                None if widen_when_missing && !v.whole() => Edit::More,
                None => Edit::Keep(false),
            }
        });
        if carried_request && matches!(result, Ok(Some(true))) {
            // Our write carried text the agent appended below the footer, which the watcher's
            // echo of our write would otherwise skip as our own: read it now.
            self.inner.store.forget(path);
            let _ = self.inner.sync_tx.send(path.to_path_buf());
        }
        match result {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("could not write {}: {e}", path.display());
                None
            }
        }
    }
}

/// Does the text below the (last) footer hold a fence, i.e. possibly a request not yet taken?
fn below_footer_has_fence(text: &str) -> bool {
    text.rfind(crate::log::parse::FOOTER_PROMPT)
        .map(|at| &text[at..])
        .is_some_and(|tail| tail.contains("```") || tail.contains("~~~"))
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Json(j) => format!("(JSON) {j}"),
        Outcome::Text(t) => format!("(Text) {t}"),
        Outcome::Error(e) => format!("(Error) {e}"),
    }
}

fn events_text(events: &[BgEvent]) -> String {
    events
        .iter()
        .map(|e| format!("\n{} {}", e.at, e.message))
        .collect()
}

impl Engine {
    /// `POST /-daebug-test-progress`: progress of an in-page test run. Shown in the placeholder
    /// of the job that started it (at most every 2 s), and as a summary in that job's reply.
    /// A run outside any job gets its summary above the footer when complete.
    pub fn test_progress(&self, progress: Progress) {
        let key = names::sanitize(&progress.realm_name);
        enum Write {
            Placeholder(PathBuf, String, u64, Vec<BgEvent>, String),
            Section(PathBuf, String),
        }
        let write = {
            let mut st = self.state();
            let Some(realm) = st.realms.get_mut(&key) else {
                tracing::debug!(realm = %progress.realm_name, "test progress for an unknown realm");
                return;
            };
            realm.last_seen = Instant::now();
            let log = realm.log.clone();
            let name = realm.name.clone();
            match realm.current.as_mut() {
                Some(run) => {
                    let complete = progress.complete;
                    run.test
                        .get_or_insert_with(TestRun::default)
                        .apply(progress);
                    let due = run
                        .last_test_write
                        .is_none_or(|t| t.elapsed() >= TEST_PROGRESS_EVERY);
                    if due || complete {
                        run.last_test_write = Some(Instant::now());
                        Some(Write::Placeholder(
                            log,
                            run.job.code.clone(),
                            run.started.elapsed().as_secs(),
                            run.events.clone(),
                            run.extra(),
                        ))
                    } else {
                        None
                    }
                }
                None if progress.complete => {
                    let mut test = TestRun::default();
                    test.apply(progress);
                    let section = format!(
                        "#### 🧪{name} tests at {}\n{}",
                        now_hms(),
                        test.render_summary()
                    );
                    Some(Write::Section(log, section))
                }
                None => None,
            }
        };
        match write {
            Some(Write::Placeholder(log, code, secs, events, extra)) => {
                self.edit_log_in_window(&log, |t| edit::progress(t, &code, secs, &events, &extra));
            }
            Some(Write::Section(log, section)) => {
                self.edit_log(&log, |t| Some(edit::insert_above_footer(t, &section)));
            }
            None => {}
        }
    }
}
