//! The engine: realms, their job queues and long polls, and every write to their logs and to
//! the registry. Hosts (the standalone server, the Vite and esbuild adapters) own the listener;
//! the engine owns the files.
//!
//! State lives behind one mutex held only for short, IO-free sections; file edits go through
//! [`Store`] (per-file locks, pure edits re-applied on conflict). Requests in logs are picked
//! up by one sync task fed by the watcher, so edits to one log are accepted in order.

use crate::clock::now_hms;
use crate::log::edit::{self, LogContext};
use crate::log::events::{render_background, render_diagnostic};
use crate::log::{BgEvent, Outcome, Reply};
use crate::names;
use crate::registry::{self, Entry, RealmState};
use crate::store::{Edit, Store};
use crate::testrun::{Progress, TestRun};
use crate::watcher::Watcher;
use crate::wire::{JobResult, Message, WireEvent};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};

/// Something a host may want to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    RealmConnected {
        name: String,
        context: String,
    },
    JobFinished {
        realm: String,
        ok: bool,
        duration_ms: u64,
    },
    Diagnostic {
        realm: String,
        message: String,
    },
}

pub type Reporter = Arc<dyn Fn(&Notice) + Send + Sync>;

/// How the engine behaves. `root` must exist.
#[derive(Clone)]
pub struct Options {
    pub root: PathBuf,
    /// A job that takes longer gets a timeout reply.
    pub timeout: Duration,
    /// How long an idle `GET /-daebug-channel` waits for a job.
    pub long_poll: Duration,
    /// A realm that has not polled for this long is shown as gone.
    pub gone_after: Duration,
    /// A realm gone for this long is forgotten: dropped from memory and from the registry (its
    /// log stays; if the page comes back it registers again).
    pub forget_after: Duration,
    /// The executing placeholder is rewritten no more often than this (SPEC 3.1: 5 s).
    pub refresh_every: Duration,
    /// The command the shut-down registry tells the agent to run.
    pub restart_command: String,
    pub reporter: Option<Reporter>,
}

impl Options {
    pub fn new(root: impl Into<PathBuf>) -> Options {
        Options {
            root: root.into(),
            timeout: Duration::from_secs(60),
            long_poll: Duration::from_secs(12),
            gone_after: Duration::from_secs(30),
            refresh_every: Duration::from_secs(5),
            forget_after: Duration::from_secs(6 * 3600),
            restart_command: "npx daebug".into(),
            reporter: None,
        }
    }
}

/// How long to wait before touching a log that seems to be mid-rewrite (no footer at all).
const SETTLE_REWRITE: Duration = Duration::from_millis(60);
/// The footer's prompt, as bytes to look for.
const FOOTER_MARK: &str = "> Append your JavaScript snippet below";
/// Test-run progress is written into the placeholder no more often than this.
const TEST_PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// Timed-out jobs remembered for late results.
const LATE_JOBS_KEPT: usize = 200;

struct Job {
    id: String,
    code: String,
    agent: String,
}

struct Running {
    job: Job,
    started: Instant,
    last_refresh: Instant,
    events: Vec<BgEvent>,
    /// An in-page test run this job started, as reported so far.
    test: Option<TestRun>,
    last_test_write: Option<Instant>,
}

impl Running {
    fn new(job: Job) -> Running {
        Running {
            job,
            started: Instant::now(),
            last_refresh: Instant::now(),
            events: Vec::new(),
            test: None,
            last_test_write: None,
        }
    }

    /// What the placeholder shows besides events: the test run's progress.
    fn extra(&self) -> String {
        self.test
            .as_ref()
            .map(TestRun::render_progress)
            .unwrap_or_default()
    }
}

struct Realm {
    name: String,
    log: PathBuf,
    url: String,
    main_page: Option<String>,
    last_seen: Instant,
    last_activity: Instant,
    last_activity_at: String,
    polling: usize,
    poll_gen: u64,
    notify: Arc<Notify>,
    queue: VecDeque<Job>,
    current: Option<Running>,
    gone_since: Option<String>,
}

impl Realm {
    fn is_worker(&self) -> bool {
        self.main_page.is_some() || self.name.ends_with("-webworker")
    }

    fn main_page_name(&self) -> String {
        self.main_page
            .clone()
            .unwrap_or_else(|| self.name.trim_end_matches("-webworker").to_string())
    }

    fn subject(&self) -> String {
        if self.is_worker() {
            format!("the web worker of page {}", self.main_page_name())
        } else {
            format!("the page {}", self.url)
        }
    }

    fn busy(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    fn touch(&mut self) {
        self.last_seen = Instant::now();
        self.last_activity = Instant::now();
        self.last_activity_at = now_hms();
    }

    fn state(&self) -> RealmState {
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

struct LateJob {
    realm_key: String,
    started: Instant,
    started_at: String,
}

#[derive(Default)]
struct State {
    realms: HashMap<String, Realm>,
    late: HashMap<String, LateJob>,
    late_order: VecDeque<String>,
    closed: bool,
    last_registry: String,
}

struct Inner {
    opts: Options,
    root: PathBuf,
    log_dir: PathBuf,
    registry_path: PathBuf,
    started_at: String,
    store: Store,
    state: Mutex<State>,
    job_nonce: u64,
    job_seq: AtomicU64,
    sync_tx: mpsc::UnboundedSender<PathBuf>,
    sync_rx: Mutex<Option<mpsc::UnboundedReceiver<PathBuf>>>,
    shutdown: watch::Sender<bool>,
    watcher: Mutex<Option<Watcher>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// The Daebug engine. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// What a long poll returns: a job for the realm, or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobHandout {
    pub id: String,
    pub code: String,
}

impl Engine {
    /// An engine for `opts.root`. Nothing runs until [`Engine::start`].
    pub fn new(opts: Options) -> std::io::Result<Engine> {
        let root = std::fs::canonicalize(&opts.root).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "root {} is not a readable directory: {e}",
                    opts.root.display()
                ),
            )
        })?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("root {} is not a directory", root.display()),
            ));
        }
        let (sync_tx, sync_rx) = mpsc::unbounded_channel();
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
            & 0xff_ffff_ffff;
        Ok(Engine {
            inner: Arc::new(Inner {
                log_dir: root.join("daebug"),
                registry_path: root.join("daebug.md"),
                root,
                opts,
                started_at: now_hms(),
                store: Store::new(),
                state: Mutex::new(State::default()),
                job_nonce: nonce,
                job_seq: AtomicU64::new(0),
                sync_tx,
                sync_rx: Mutex::new(Some(sync_rx)),
                shutdown: watch::channel(false).0,
                watcher: Mutex::new(None),
                tasks: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Write the registry, start watching `daebug/` and `daebug.md`, and start the timers.
    /// Must be called inside a Tokio runtime.
    pub fn start(&self) -> std::io::Result<()> {
        // A %%SHUTDOWN%% left from before this server started is not for it: overwrite.
        let first = registry::render_live(&self.inner.started_at, &[]);
        self.inner.store.write(&self.inner.registry_path, &first)?;
        self.state().last_registry = first;
        let watcher =
            Watcher::start(&self.inner.root, self.inner.sync_tx.clone()).map_err(|e| {
                std::io::Error::other(format!("cannot watch {}: {e}", self.inner.root.display()))
            })?;
        *self.inner.watcher.lock().unwrap_or_else(|e| e.into_inner()) = Some(watcher);
        let rx = self
            .inner
            .sync_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let mut tasks = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rx) = rx {
            let me = self.clone();
            tasks.push(tokio::spawn(async move { me.sync_loop(rx).await }));
        }
        let me = self.clone();
        tasks.push(tokio::spawn(async move { me.tick_loop().await }));
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub fn registry_path(&self) -> &Path {
        &self.inner.registry_path
    }

    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn report(&self, notice: Notice) {
        tracing::debug!(?notice, "notice");
        if let Some(r) = &self.inner.opts.reporter {
            r(&notice);
        }
    }

    /// Resolves once an agent asked the server to stop (`%%SHUTDOWN%%`) or [`Engine::request_shutdown`]
    /// was called.
    pub async fn shutdown_requested(&self) {
        let mut rx = self.inner.shutdown.subscribe();
        let _ = rx.wait_for(|v| *v).await;
    }

    pub fn request_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    pub fn is_closed(&self) -> bool {
        self.state().closed
    }

    /// Stop: wake every long poll, stop watching, rewrite the registry as shut down.
    pub fn close(&self) {
        let notifies: Vec<_> = {
            let mut st = self.state();
            if st.closed {
                return;
            }
            st.closed = true;
            st.realms.values().map(|r| r.notify.clone()).collect()
        };
        for n in notifies {
            n.notify_waiters();
        }
        self.inner
            .watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        for t in self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            t.abort();
        }
        let text = registry::render_down(
            &self.inner.started_at,
            &now_hms(),
            &self.inner.opts.restart_command,
        );
        if let Err(e) = self.inner.store.write(&self.inner.registry_path, &text) {
            tracing::warn!(
                "could not rewrite {}: {e}",
                self.inner.registry_path.display()
            );
        }
        self.request_shutdown();
    }

    // ----- realms -------------------------------------------------------------------------

    /// Register the realm if new, refresh it otherwise. Returns whether it was new or back from gone.
    fn register(&self, st: &mut State, name: &str, url: &str) -> (String, bool) {
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
                current: None,
                gone_since: None,
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
    fn on_appeared(&self, key: &str, created: bool) {
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
            self.edit_log(&log, |t| edit::settle_stale(t, &name, &now));
        }
        // Requests may be waiting in the log already: read it in full.
        self.inner.store.forget(&log);
        let _ = self.inner.sync_tx.send(log);
        self.write_registry();
        self.report(Notice::RealmConnected { name, context });
    }

    fn with_realm<R>(&self, key: &str, f: impl FnOnce(&mut Realm) -> R) -> Option<R> {
        self.state().realms.get_mut(key).map(f)
    }

    fn next_job_id(&self) -> String {
        let n = self.inner.job_seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{:x}-{n}", self.inner.job_nonce)
    }

    // ----- the long poll -----------------------------------------------------------------

    /// `GET /-daebug-channel`: register the realm and wait up to the long-poll time for a job.
    pub async fn poll(&self, name: &str, url: &str) -> Option<JobHandout> {
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
                self.edit_log(&log, |t| edit::mark_executing(t, &code));
                self.write_registry();
                return Some(handout);
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => return None,
                _ = shutdown.wait_for(|v| *v) => return None,
            }
        }
    }

    // ----- messages from the realm -------------------------------------------------------

    /// `POST /-daebug-channel`.
    pub fn post(&self, name: &str, url: &str, message: Message) {
        let (key, appeared, created) = {
            let mut st = self.state();
            let created = !st.realms.contains_key(&names::sanitize(name));
            let (key, appeared) = self.register(&mut st, name, url);
            (key, appeared, created)
        };
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

    fn is_worker(&self, key: &str) -> bool {
        self.with_realm(key, |r| r.is_worker()).unwrap_or(false)
    }

    fn convert(&self, key: &str, events: Vec<WireEvent>) -> Vec<BgEvent> {
        let worker = self.is_worker(key);
        events.into_iter().map(|e| e.into_event(worker)).collect()
    }

    fn on_result(&self, key: &str, mut result: JobResult) {
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
    fn finish(&self, key: &str, run: Running, outcome: Outcome, events: Option<Vec<BgEvent>>) {
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
        if written == Some(false) {
            let message = format!(
                "Could not find the request this reply belongs to (was it edited?). The code was:\n{}\nThe reply:\n{}",
                code.trim_end(),
                reply.render().trim_end()
            );
            self.diagnostic(key, &message);
        }
        self.write_registry();
        self.report(Notice::JobFinished {
            realm: name,
            ok,
            duration_ms,
        });
    }

    fn on_progress(&self, key: &str, job_id: Option<String>, events: Vec<WireEvent>) {
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
                    // SPEC 3.1: the placeholder is refreshed no more often than every 5 s; the
                    // tick writes what arrived in between.
                    if run.last_refresh.elapsed() < self.inner.opts.refresh_every {
                        return;
                    }
                    run.last_refresh = Instant::now();
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
            self.edit_log(&log, |t| edit::progress(t, &code, secs, &events, &extra));
        }
    }

    fn on_background(&self, key: &str, events: Vec<WireEvent>) {
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

    fn on_worker_timeout(&self, key: &str, duration_ms: Option<u64>) {
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

    /// Apply a pure edit to a log. `Some(true)` written, `Some(false)` the edit found nothing to
    /// do, `None` the log is missing (deleted by the agent: leave it alone) or unwritable.
    fn edit_log(&self, path: &Path, mut f: impl FnMut(&str) -> Option<String>) -> Option<bool> {
        let result = self.inner.store.edit(path, |t| match f(t) {
            Some(new) if new != t => Edit::Write(new, true),
            Some(_) => Edit::Keep(true),
            None => Edit::Keep(false),
        });
        match result {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("could not write {}: {e}", path.display());
                None
            }
        }
    }

    // ----- watching the files -------------------------------------------------------------

    async fn sync_loop(&self, mut rx: mpsc::UnboundedReceiver<PathBuf>) {
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
    fn mid_rewrite(&self, path: &Path) -> bool {
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

    // ----- timers ------------------------------------------------------------------------

    async fn tick_loop(&self) {
        let mut interval = tokio::time::interval(Duration::from_millis(250));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            self.tick();
        }
    }

    /// Time out overdue jobs, refresh elapsed placeholders, mark silent realms gone.
    pub fn tick(&self) {
        let timeout = self.inner.opts.timeout;
        let mut timed_out = Vec::new();
        let mut refresh = Vec::new();
        let mut gone_jobs = Vec::new();
        let mut registry_changed = false;
        {
            let mut st = self.state();
            let st = &mut *st;
            for (key, realm) in st.realms.iter_mut() {
                if let Some(run) = realm.current.as_mut() {
                    if run.started.elapsed() >= timeout {
                        let run = realm.current.take().expect("checked");
                        st.late.insert(
                            run.job.id.clone(),
                            LateJob {
                                realm_key: key.clone(),
                                started: run.started,
                                started_at: realm.last_activity_at.clone(),
                            },
                        );
                        st.late_order.push_back(run.job.id.clone());
                        timed_out.push((key.clone(), run));
                    } else if run.last_refresh.elapsed() >= self.inner.opts.refresh_every {
                        run.last_refresh = Instant::now();
                        refresh.push((
                            realm.log.clone(),
                            run.job.code.clone(),
                            run.started.elapsed().as_secs(),
                            run.events.clone(),
                            run.extra(),
                        ));
                    }
                } else if realm.polling == 0
                    && realm.gone_since.is_none()
                    && realm.last_seen.elapsed() >= self.inner.opts.gone_after
                {
                    realm.gone_since = Some(now_hms());
                    registry_changed = true;
                }
                // Requests for a realm that is gone are answered rather than left waiting.
                if let Some(since) = realm.gone_since.clone() {
                    for job in realm.queue.drain(..) {
                        gone_jobs.push((key.clone(), Running::new(job), since.clone()));
                    }
                }
            }
            let forget_after = self.inner.opts.forget_after;
            let before = st.realms.len();
            st.realms.retain(|_, r| {
                !(r.gone_since.is_some()
                    && r.polling == 0
                    && r.current.is_none()
                    && r.queue.is_empty()
                    && r.last_seen.elapsed() >= forget_after)
            });
            registry_changed |= st.realms.len() != before;
            while st.late_order.len() > LATE_JOBS_KEPT {
                if let Some(old) = st.late_order.pop_front() {
                    st.late.remove(&old);
                }
            }
        }
        for (log, code, secs, events, extra) in refresh {
            self.edit_log(&log, |t| edit::progress(t, &code, secs, &events, &extra));
        }
        for (key, run, since) in gone_jobs {
            let message = format!(
                "The realm is gone (no poll since {since}): nothing ran this request. Open its page again (or pick a live realm in daebug.md) and append the block again."
            );
            self.finish(&key, run, Outcome::Error(message), None);
        }
        for (key, run) in timed_out {
            self.finish(&key, run, Outcome::timeout(timeout.as_secs_f64()), None);
            // Let the realm's next job go.
            if let Some(n) = self.with_realm(&key, |r| r.notify.clone()) {
                n.notify_waiters();
            }
        }
        if registry_changed {
            self.write_registry();
        }
    }

    // ----- the registry ------------------------------------------------------------------

    /// Rewrite `daebug.md` if what it should say changed.
    pub fn write_registry(&self) {
        let text = {
            let mut st = self.state();
            if st.closed {
                return;
            }
            let mut realms: Vec<&Realm> = st.realms.values().collect();
            realms.sort_by(|a, b| {
                b.last_activity
                    .cmp(&a.last_activity)
                    .then(a.name.cmp(&b.name))
            });
            let entries: Vec<Entry> = realms
                .iter()
                .map(|r| Entry {
                    name: r.name.clone(),
                    log: relative_link(&self.inner.root, &r.log),
                    context: if r.is_worker() {
                        format!("worker of {}", r.main_page_name())
                    } else {
                        r.url.clone()
                    },
                    at: r.last_activity_at.clone(),
                    state: r.state(),
                })
                .collect();
            let text = registry::render_live(&self.inner.started_at, &entries);
            if text == st.last_registry {
                return;
            }
            st.last_registry = text.clone();
            text
        };
        // The registry is the server's, but an agent may have just appended %%SHUTDOWN%%: that
        // line is never overwritten (the store redoes the edit if it lands mid-write).
        let path = &self.inner.registry_path;
        let res = self.inner.store.edit(path, |current| {
            if registry::has_shutdown_line(current) {
                Edit::Keep(true)
            } else {
                Edit::Write(text.clone(), false)
            }
        });
        match res {
            Ok(Some(true)) => self.request_shutdown(),
            Ok(Some(false)) => {}
            Ok(None) => {
                if let Err(e) = self.inner.store.write(path, &text) {
                    tracing::warn!("could not write {}: {e}", path.display());
                }
            }
            Err(e) => tracing::warn!("could not write {}: {e}", path.display()),
        }
    }

    /// Names of the realms currently known, with their states (for hosts and tests).
    pub fn realms(&self) -> Vec<(String, RealmState)> {
        self.state()
            .realms
            .values()
            .map(|r| (r.name.clone(), r.state()))
            .collect()
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

fn relative_link(root: &Path, log: &Path) -> String {
    let rel = log.strip_prefix(root).unwrap_or(log);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().replace(' ', "%20"))
        .collect::<Vec<_>>()
        .join("/")
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
                self.edit_log(&log, |t| edit::progress(t, &code, secs, &events, &extra));
            }
            Some(Write::Section(log, section)) => {
                self.edit_log(&log, |t| Some(edit::insert_above_footer(t, &section)));
            }
            None => {}
        }
    }
}
