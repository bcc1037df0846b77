//! Watching `daebug.md` and `daebug/` for the agent's edits (notify). The watcher only
//! forwards paths; the engine's sync task decides what they mean. The log directory may be
//! created after start: the root is watched (non-recursively) to see it appear.

use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc::UnboundedSender;

pub struct Watcher {
    inner: RecommendedWatcher,
    watching_logs: bool,
}

impl Watcher {
    /// Watch `root` (for `daebug.md` and the creation of `daebug/`) and `root/daebug` when it
    /// exists. Relevant paths are sent to `tx`.
    pub fn start(root: &Path, tx: UnboundedSender<PathBuf>) -> notify::Result<Watcher> {
        let root = root.to_path_buf();
        let log_dir = root.join("daebug");
        let registry = root.join("daebug.md");
        let handler = {
            let log_dir = log_dir.clone();
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
                    let relevant = path == registry
                        || path == log_dir
                        || (path.parent() == Some(log_dir.as_path())
                            && path
                                .extension()
                                .is_some_and(|e| e.eq_ignore_ascii_case("md"))
                            && !path
                                .file_name()
                                .is_some_and(|n| n.to_string_lossy().starts_with('.')));
                    if relevant {
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
