//! Writes that reach a file after the store replaced it. A process that opened the log before
//! the replace (an `O_APPEND` writer, or one writing its chunk in pieces through a held handle)
//! keeps writing to the old inode. One background thread watches every replaced inode for
//! [`super::LATE_WATCH`] and appends what it gains to the current file at the same path, in
//! order, under the file's lock, so the text lands where the writer meant it: at the end. The
//! append is itself a new version of the file (copy + exchange), never a write into the current
//! inode, where another writer may hold a position.

use super::Shared;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

/// How often replaced inodes are checked: a writer's next piece should reach the current file
/// before another writer appends there.
const TICK: Duration = Duration::from_millis(2);

struct Watched {
    shared: Arc<Shared>,
    path: PathBuf,
    old: File,
    /// Bytes of the old inode already in the current file.
    known: u64,
    until: Instant,
}

/// Watch `old` (the inode just replaced at `path`, of which the first `known` bytes were read).
/// `now`: it already grew, check at once.
pub(super) fn watch(shared: Arc<Shared>, path: PathBuf, old: File, known: u64, now: bool) {
    let mut w = Watched {
        shared,
        path,
        old,
        known,
        until: Instant::now() + super::LATE_WATCH,
    };
    if now {
        // The caller holds the file's lock: copy directly.
        if let Err(e) = carry_over(&mut w) {
            tracing::warn!(path = %w.path.display(), error = %e, "could not carry over late text");
        }
    }
    let _ = sender().send(w);
}

fn sender() -> &'static mpsc::Sender<Watched> {
    static TX: OnceLock<mpsc::Sender<Watched>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Watched>();
        std::thread::Builder::new()
            .name("daebug-late-writes".into())
            .spawn(move || run(rx))
            .expect("spawn the late-write watcher");
        tx
    })
}

fn run(rx: mpsc::Receiver<Watched>) {
    let mut watched: Vec<Watched> = Vec::new();
    loop {
        if watched.is_empty() {
            match rx.recv() {
                Ok(w) => watched.push(w),
                Err(_) => return,
            }
        }
        while let Ok(w) = rx.try_recv() {
            watched.push(w);
        }
        std::thread::sleep(TICK);
        watched.retain_mut(|w| {
            let len = match w.old.metadata() {
                Ok(m) => m.len(),
                Err(_) => return false,
            };
            if len > w.known {
                let lock = w.shared.lock_for(&w.path);
                // Busy (an edit is running): try again next tick, even past the deadline.
                let Ok(_guard) = lock.try_lock() else {
                    return true;
                };
                if let Err(e) = carry_over(w) {
                    tracing::warn!(path = %w.path.display(), error = %e, "could not carry over late text");
                }
            } else if len < w.known {
                tracing::warn!(path = %w.path.display(), "a replaced log was rewritten through an old handle; that save is not carried over");
                return false;
            }
            Instant::now() < w.until
        });
    }
}

/// Append what the old inode gained to the file now at the path.
fn carry_over(w: &mut Watched) -> io::Result<()> {
    let mut extra = Vec::new();
    w.old.seek(SeekFrom::Start(w.known))?;
    (&w.old).read_to_end(&mut extra)?;
    if extra.is_empty() {
        return Ok(());
    }
    tracing::debug!(path = %w.path.display(), bytes = extra.len(), "carrying text written to a replaced log over");
    // As a new version of the file, like every write of the store: never into an inode a
    // writer may hold a position in.
    super::Store {
        shared: w.shared.clone(),
    }
    .append_locked(&w.path, &extra)?;
    w.known += extra.len() as u64;
    Ok(())
}
