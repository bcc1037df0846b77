//! Realms and their job queues: who is connected, what each realm is running and has queued,
//! and the long poll (`GET /-daebug-channel`) that hands a realm its next job.

use super::{Engine, JobHandout, Notice, State};
use crate::clock::now_hms;
use crate::log::edit::{self, LogContext};
use crate::log::{BgEvent, Outcome};
use crate::names;
use crate::registry::RealmState;
use crate::testrun::TestRun;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When a running job's placeholder is first refreshed (SPEC 3.1).
const FIRST_REFRESH: Duration = Duration::from_secs(1);
/// ...at the latest, when the page has reported no output by then.
const FIRST_REFRESH_LATEST: Duration = Duration::from_secs(2);
use tokio::sync::Notify;

pub(super) struct Job {
    pub(super) id: String,
    pub(super) code: String,
    pub(super) agent: String,
}

pub(super) struct Running {
    pub(super) job: Job,
    pub(super) started: Instant,
    pub(super) last_refresh: Instant,
    /// The placeholder was refreshed at least once.
    pub(super) refreshed: bool,
    /// A refresh has shown some of the job's output.
    pub(super) shown_events: bool,
    pub(super) events: Vec<BgEvent>,
    /// An in-page test run this job started, as reported so far.
    pub(super) test: Option<TestRun>,
    pub(super) last_test_write: Option<Instant>,
}

impl Running {
    pub(super) fn new(job: Job) -> Running {
        Running {
            job,
            started: Instant::now(),
            last_refresh: Instant::now(),
            refreshed: false,
            shown_events: false,
            events: Vec::new(),
            test: None,
            last_test_write: None,
        }
    }

    /// SPEC 3.1: the placeholder is first refreshed about 1 s into the job (so streamed events
    /// show early), then no more often than every `every`. Marks the refresh when due.
    ///
    /// The page reports a job's first output about 0.9 s in, by its own clock, so at 1 s by
    /// ours it may not have arrived yet: the first refresh waits for it up to 2 s, and if it
    /// went out empty all the same, the first output is written as soon as it arrives (once),
    /// rather than 5 s later.
    pub(super) fn take_refresh(&mut self, every: Duration) -> bool {
        let has_events = !self.events.is_empty();
        let elapsed = self.started.elapsed();
        let due = if !self.refreshed {
            elapsed >= FIRST_REFRESH_LATEST.min(every)
                || (elapsed >= FIRST_REFRESH.min(every) && has_events)
        } else if !self.shown_events && has_events {
            true
        } else {
            self.last_refresh.elapsed() >= every
        };
        if due {
            self.refreshed = true;
            self.shown_events |= has_events;
            self.last_refresh = Instant::now();
        }
        due
    }

    /// What the placeholder shows besides events: the test run's progress.
    pub(super) fn extra(&self) -> String {
        self.test
            .as_ref()
            .map(TestRun::render_progress)
            .unwrap_or_default()
    }
}

pub(super) struct Realm {
    pub(super) name: String,
    pub(super) log: PathBuf,
    pub(super) url: String,
    pub(super) main_page: Option<String>,
    pub(super) last_seen: Instant,
    pub(super) last_activity: Instant,
    pub(super) last_activity_at: String,
    pub(super) polling: usize,
    pub(super) poll_gen: u64,
    pub(super) notify: Arc<Notify>,
    pub(super) queue: VecDeque<Job>,
    /// Replies written lately (code, reply), to write again if an agent's save undid them.
    pub(super) recent: VecDeque<(String, crate::log::Reply)>,
    pub(super) current: Option<Running>,
    pub(super) gone_since: Option<String>,
    /// Hashes of the requests-that-cannot-run already diagnosed (see `log::problems`), so
    /// each problem gets one diagnostic, not one per edit. Bounded: oldest dropped first.
    pub(super) diagnosed: VecDeque<u64>,
    /// Fingerprints of the versions of the log requests were taken from, and when (see
    /// `log::replay`): an older copy of the log saved back brings those requests back, and
    /// they must not run again. Bounded: oldest dropped first.
    pub(super) taken: VecDeque<(u64, String)>,
}

impl Realm {
    pub(super) fn is_worker(&self) -> bool {
        self.main_page.is_some() || self.name.ends_with("-webworker")
    }

    pub(super) fn main_page_name(&self) -> String {
        self.main_page
            .clone()
            .unwrap_or_else(|| self.name.trim_end_matches("-webworker").to_string())
    }

    pub(super) fn subject(&self) -> String {
        if self.is_worker() {
            format!("the web worker of page {}", self.main_page_name())
        } else {
            format!("the page {}", self.url)
        }
    }

    pub(super) fn busy(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    pub(super) fn touch(&mut self) {
        self.last_seen = Instant::now();
        self.last_activity = Instant::now();
        self.last_activity_at = now_hms();
    }

    pub(super) fn state(&self) -> RealmState {
        if let Some(since) = &self.gone_since {
            RealmState::Gone {
                since: since.clone(),
            }
        } else if self.current.is_some() {
            RealmState::Executing {
                queued: self.queue.len(),
            }
        } else if !self.queue.is_empty() {
            RealmState::Queued(self.queue.len())
        } else {
            RealmState::Live
        }
    }
}

pub(super) struct LateJob {
    pub(super) realm_key: String,
    pub(super) started: Instant,
    pub(super) started_at: String,
}

impl Engine {
    // ----- realms -------------------------------------------------------------------------

    /// Before a realm this server does not know yet is registered: answer the placeholders a
    /// previous server left in its log with "result lost" ([`edit::settle_stale`]). Returns a
    /// guard to hold until the realm is registered: a request appended to the log meanwhile
    /// cannot be accepted (the realm is unknown until then, and the sync on its appearance
    /// picks it up), so it can never be mistaken for a stale one and settled as lost. Two first
    /// contacts at once (page poll and post) settle once. `None` for a known realm.
    pub(super) fn first_contact(&self, name: &str) -> Option<std::sync::MutexGuard<'_, ()>> {
        let key = names::sanitize(name);
        if self.state().realms.contains_key(&key) {
            return None;
        }
        let guard = self
            .inner
            .appearing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if self.state().realms.contains_key(&key) {
            return None;
        }
        let log = names::log_path(&self.inner.log_dir, name);
        if log.exists() {
            let now = now_hms();
            self.edit_log_in_window(&log, |t| edit::settle_stale(t, name, &now));
        }
        Some(guard)
    }

    /// Register the realm if new, refresh it otherwise. Returns whether it was new or back from gone.
    pub(super) fn register(&self, st: &mut State, name: &str, url: &str) -> (String, bool) {
        let key = names::sanitize(name);
        let mut appeared = false;
        let realm = st.realms.entry(key.clone()).or_insert_with(|| {
            appeared = true;
            Realm {
                name: name.to_string(),
                log: names::log_path(&self.inner.log_dir, name),
                url: url.to_string(),
                main_page: None,
                last_seen: Instant::now(),
                last_activity: Instant::now(),
                last_activity_at: now_hms(),
                polling: 0,
                poll_gen: 0,
                notify: Arc::new(Notify::new()),
                queue: VecDeque::new(),
                recent: VecDeque::new(),
                current: None,
                gone_since: None,
                diagnosed: VecDeque::new(),
                taken: VecDeque::new(),
            }
        });
        if realm.gone_since.take().is_some() {
            appeared = true;
        }
        if !url.is_empty() && !realm.is_worker() {
            realm.url = url.to_string();
        }
        realm.last_seen = Instant::now();
        (key, appeared)
    }

    /// A realm appeared: create its log if missing (first time only), pick up requests already
    /// in it, update the registry.
    pub(super) fn on_appeared(&self, key: &str, created: bool) {
        let Some((name, log, subject, context)) = self.with_realm(key, |r| {
            let context = if r.is_worker() {
                format!("worker of {}", r.main_page_name())
            } else {
                r.url.clone()
            };
            (r.name.clone(), r.log.clone(), r.subject(), context)
        }) else {
            return;
        };
        if !self.inside_root(&log) {
            self.write_registry();
            self.report(Notice::RealmConnected { name, context });
            return;
        }
        if created {
            let now = now_hms();
            let ctx = LogContext {
                realm: &name,
                subject: &subject,
                now: &now,
            };
            let content = format!("{}{}", edit::title_and_guide(ctx), edit::footer());
            if let Err(e) = self.inner.store.create_new(&log, &content) {
                tracing::warn!("could not create {}: {e}", log.display());
            }
        }
        // Requests may be waiting in the log already: read it in full.
        self.inner.store.forget(&log);
        let _ = self.inner.sync_tx.send(log);
        self.write_registry();
        self.report(Notice::RealmConnected { name, context });
    }

    pub(super) fn with_realm<R>(&self, key: &str, f: impl FnOnce(&mut Realm) -> R) -> Option<R> {
        self.state().realms.get_mut(key).map(f)
    }

    pub(super) fn next_job_id(&self) -> String {
        let n = self.inner.job_seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{:x}-{n}", self.inner.job_nonce)
    }

    // ----- the long poll -----------------------------------------------------------------

    /// `GET /-daebug-channel`: register the realm and wait up to the long-poll time for a job.
    pub async fn poll(&self, name: &str, url: &str) -> Option<JobHandout> {
        let first = self.first_contact(name);
        let (key, appeared, created, notify, gen, abandoned) = {
            let mut st = self.state();
            if st.closed {
                return None;
            }
            let created = !st.realms.contains_key(&names::sanitize(name));
            let (key, appeared) = self.register(&mut st, name, url);
            let realm = st.realms.get_mut(&key).expect("just registered");
            realm.polling += 1;
            realm.poll_gen += 1;
            // The shim polls only between jobs: a job still running means the realm reloaded
            // (or its worker restarted) and the job's result is lost.
            let abandoned = realm.current.take();
            (
                key,
                appeared,
                created,
                realm.notify.clone(),
                realm.poll_gen,
                abandoned,
            )
        };
        drop(first);
        let _guard = PollGuard {
            engine: self,
            key: &key,
        };
        if appeared {
            self.on_appeared(&key, created);
        }
        if let Some(run) = abandoned {
            let message =
                "The realm reloaded or restarted before this job finished; its result is lost.";
            self.finish(&key, run, Outcome::Error(message.into()), None);
        }
        let deadline = tokio::time::Instant::now() + self.inner.opts.long_poll;
        let mut shutdown = self.inner.shutdown.subscribe();
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let taken = {
                let mut st = self.state();
                if st.closed {
                    return None;
                }
                let realm = st.realms.get_mut(&key)?;
                if realm.poll_gen != gen {
                    return None; // a newer poll from the same realm took over
                }
                realm.queue.pop_front().map(|job| {
                    let handout = JobHandout {
                        id: job.id.clone(),
                        code: job.code.clone(),
                    };
                    realm.current = Some(Running::new(job));
                    realm.touch();
                    (handout, realm.log.clone())
                })
            };
            if let Some((handout, log)) = taken {
                let code = handout.code.clone();
                // Nothing to do when the request was accepted as `executing` already: no wider look.
                self.edit_log_in_window(&log, |t| edit::mark_executing(t, &code));
                // The registry's "executing" is written beside the hand-out, not before it.
                let me = self.clone();
                tokio::task::spawn_blocking(move || me.write_registry());
                return Some(handout);
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => return None,
                _ = shutdown.wait_for(|v| *v) => return None,
            }
        }
    }
}

/// Decrements the poll count when a long poll ends, however it ends (the client may vanish).
struct PollGuard<'a> {
    engine: &'a Engine,
    key: &'a str,
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        self.engine.with_realm(self.key, |r| {
            r.polling = r.polling.saturating_sub(1);
            r.last_seen = Instant::now();
        });
    }
}
