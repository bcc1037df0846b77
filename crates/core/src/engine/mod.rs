//! The engine: ties realms, their logs and the registry together. Hosts (the standalone server,
//! the Vite and esbuild adapters) own the listener; the engine owns the files.
//!
//! State lives behind one mutex held only for short, IO-free sections; file edits go through
//! [`Store`] (per-file locks, pure edits re-applied on conflict). Requests in logs are picked
//! up by one sync task fed by the watcher, so edits to one log are accepted in order.
//!
//! This file owns the engine's shared state, its options, start and shutdown. Each concept has
//! its own file: [`realms`] (realms, queues, the long poll), [`accept`] (accepting requests
//! from logs), [`replies`] (writing replies, progress, background events, diagnostics),
//! [`registry_writer`] (`daebug.md`), [`timers`] (timeouts, refreshes, gone realms),
//! [`sessions`] (realm instances and who holds a name) and [`submit`] (requests from
//! `daebug run`, the API and MCP, awaited by job id).

mod accept;
mod realms;
mod registry_writer;
mod replies;
mod sessions;
mod submit;
mod timers;

pub use sessions::{NameHold, NameTaken};
pub use submit::{agent_name, Finished, RealmInfo, SubmitError};

use crate::clock::now_hms;
use crate::registry::{self, RealmState};
use crate::store::Store;
use crate::watcher::Watcher;
use realms::{LateJob, Realm};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

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

#[derive(Default)]
struct State {
    realms: HashMap<String, Realm>,
    late: HashMap<String, LateJob>,
    late_order: VecDeque<String>,
    closed: bool,
    last_registry: String,
    /// Paths refused because they are symbolic links (reported once each).
    refused: std::collections::BTreeSet<PathBuf>,
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
    claims: sessions::Claims,
    waiters: submit::Waiters,
    /// Held while a realm new to this server is settled and registered (see
    /// `Engine::first_contact`), so no request is accepted from its log in between.
    appearing: Mutex<()>,
    /// Held by the thread writing the registry; `registry_dirty`: it must render again.
    registry_writer: Mutex<()>,
    registry_dirty: std::sync::atomic::AtomicBool,
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
        let store = Store::new();
        {
            // Text the store brings in by itself (written to a file it had replaced) is read
            // like an agent's edit.
            let tx = sync_tx.clone();
            store.on_change(move |path| {
                let _ = tx.send(path.to_path_buf());
            });
        }
        Ok(Engine {
            inner: Arc::new(Inner {
                log_dir: root.join("daebug"),
                registry_path: root.join("daebug.md"),
                root,
                opts,
                started_at: now_hms(),
                store,
                state: Mutex::new(State::default()),
                job_nonce: nonce,
                job_seq: AtomicU64::new(0),
                sync_tx,
                sync_rx: Mutex::new(Some(sync_rx)),
                shutdown: watch::channel(false).0,
                watcher: Mutex::new(None),
                tasks: Mutex::new(Vec::new()),
                claims: Default::default(),
                waiters: Default::default(),
                appearing: Mutex::new(()),
                registry_writer: Mutex::new(()),
                registry_dirty: Default::default(),
            }),
        })
    }

    /// Write the registry, start watching `daebug/` and `daebug.md`, and start the timers.
    /// Must be called inside a Tokio runtime.
    pub fn start(&self) -> std::io::Result<()> {
        // A %%SHUTDOWN%% left from before this server started is not for it: overwrite.
        let first = registry::render_live(&self.inner.started_at, &[]);
        if self.inside_root(&self.inner.registry_path) {
            self.inner.store.write(&self.inner.registry_path, &first)?;
        }
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

    /// May the engine touch `path` (the registry, the log directory or a log)? Not when it, or
    /// any folder between the root and it, is a symbolic link: following one could read or
    /// write a file outside the root (SPEC 8). A refusal is reported once per path: one
    /// terminal line, and a note in the registry when the registry itself is fine.
    pub(crate) fn inside_root(&self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.inner.root) else {
            return false;
        };
        let mut at = self.inner.root.clone();
        for part in rel.components() {
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    self.refuse(&at);
                    return false;
                }
                Ok(_) => {}
                Err(_) => break, // not there (yet): nothing to follow
            }
        }
        true
    }

    fn refuse(&self, link: &Path) {
        let first = self.state().refused.insert(link.to_path_buf());
        if first {
            let rel = link.strip_prefix(&self.inner.root).unwrap_or(link);
            let message = "is a symbolic link; Daebug neither reads, writes nor serves it. Replace it with a regular file or folder inside the project.".to_string();
            tracing::warn!("{} {message}", rel.display());
            self.report(Notice::Diagnostic {
                realm: rel.display().to_string(),
                message,
            });
        }
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// A file under the root changed, as seen by a host that watches for the engine (the WASI
    /// build has no watcher of its own). Irrelevant paths are ignored, and so are echoes of the
    /// engine's own writes, which are most of what a host sees: checked here, on the host's
    /// thread (one look at the file), rather than by waking two threads to find nothing to do.
    pub fn path_changed(&self, path: PathBuf) {
        if crate::watcher::is_relevant(&self.inner.root, &path)
            && !self.inner.store.is_as_written(&path)
        {
            let _ = self.inner.sync_tx.send(path);
        }
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
        if !self.inside_root(&self.inner.registry_path) {
            // Refused (a symbolic link): said at start.
        } else if let Err(e) = self.inner.store.write(&self.inner.registry_path, &text) {
            tracing::warn!(
                "could not rewrite {}: {e}",
                self.inner.registry_path.display()
            );
        }
        self.request_shutdown();
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

/// Notes for the registry about paths refused as symbolic links.
fn refusal_notes(root: &Path, refused: &std::collections::BTreeSet<PathBuf>) -> String {
    refused
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap_or(p);
            format!(
                "\n> ⚠️ `{}` is a symbolic link: Daebug neither reads nor writes it.\n",
                rel.display().to_string().replace(['`', '\n'], "'")
            )
        })
        .collect()
}
