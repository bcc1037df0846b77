//! Watching `daebug.md` and `daebug/` for the agent's edits (notify). The watcher only
//! forwards paths; the engine's sync task decides what they mean. The log directory may be
//! created after start: the root is watched (non-recursively) to see it appear.
//!
//! Without the `native` feature (the WASI build) nothing is watched here: the Node host watches
//! the same two folders with `fs.watch` and hands each path to [`crate::engine::Engine::path_changed`],
//! which applies the same [`is_relevant`] filter.

#[cfg(feature = "native")]
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc::UnboundedSender;

/// Whether a changed `path` under `root` is one the engine cares about: `daebug.md`, the
/// `daebug/` folder itself, or a `*.md` log directly inside it (not a dot-file).
pub fn is_relevant(root: &Path, path: &Path) -> bool {
    let log_dir = root.join("daebug");
    path == root.join("daebug.md")
        || path == log_dir
        || (path.parent() == Some(log_dir.as_path())
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("md"))
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.')))
}

/// The host-fed stand-in on builds without `native`: nothing to hold, nothing to start.
#[cfg(not(feature = "native"))]
pub struct Watcher;

#[cfg(not(feature = "native"))]
impl Watcher {
    pub fn start(_root: &Path, _tx: UnboundedSender<PathBuf>) -> std::io::Result<Watcher> {
        Ok(Watcher)
    }

    pub fn watching_logs(&self) -> bool {
        false
    }

    pub fn watch_log_dir(&mut self, _dir: &Path) {}
}

#[cfg(feature = "native")]
pub struct Watcher {
    inner: RecommendedWatcher,
    watching_logs: bool,
}

#[cfg(feature = "native")]
impl Watcher {
    /// Watch `root` (for `daebug.md` and the creation of `daebug/`) and `root/daebug` when it
    /// exists. Relevant paths are sent to `tx`.
    pub fn start(root: &Path, tx: UnboundedSender<PathBuf>) -> notify::Result<Watcher> {
        let root = root.to_path_buf();
        let log_dir = root.join("daebug");
        let handler = {
            let log_dir = log_dir.clone();
            let root = root.clone();
            move |res: notify::Result<notify::Event>| {
                // Events may have been lost (an error, or the kernel's queue overflowed): sweep
                // every log, as when the directory appears.
                let event = match res {
                    Ok(e) if !e.need_rescan() => e,
                    _ => {
                        let _ = tx.send(log_dir.clone());
                        return;
                    }
                };
                if event.kind.is_access() {
                    return;
                }
                for path in event.paths {
                    if is_relevant(&root, &path) {
                        let _ = tx.send(path);
                    }
                }
            }
        };
        let mut inner = notify::recommended_watcher(handler)?;
        inner.watch(&root, RecursiveMode::NonRecursive)?;
        let mut w = Watcher {
            inner,
            watching_logs: false,
        };
        w.watch_log_dir(&log_dir);
        Ok(w)
    }

    /// Whether the log directory is being watched.
    pub fn watching_logs(&self) -> bool {
        self.watching_logs
    }

    /// Start watching the log directory if it exists.
    pub fn watch_log_dir(&mut self, dir: &Path) {
        // Watching again is harmless and covers a directory deleted and created anew.
        if dir.is_dir() {
            match self.inner.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => self.watching_logs = true,
                Err(e) => tracing::warn!("cannot watch {}: {e}", dir.display()),
            }
        }
    }
}
