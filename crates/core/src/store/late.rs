//! Writes that reach a file after the store replaced it. A process that opened the log before
//! the replace keeps writing to the old inode: an `O_APPEND` writer, one writing its chunk in
//! pieces through a held handle, or an editor (or `fs.writeFile`, whose open resolved the path
//! just before the replace) that truncates and rewrites the whole file through its handle. One
//! background thread watches every replaced inode for [`super::LATE_WATCH`] (longer while it
//! keeps changing) and tells the two apart:
//!
//! * **Grown, with the bytes the store read still in place**: an append. What it gained is
//!   appended to the current file at the same path, in order, under the file's lock, so the text
//!   lands where the writer meant it: at the end.
//! * **Shrunk, or changed below the length the store read** (a sample of the last bytes read is
//!   kept to check): a whole-file save based on some version the store has edited since. Once
//!   it has stayed the same for [`super::QUIET`] (or after [`super::MAX_WAIT`] of change) it is
//!   brought in as a new version of the current file: the store's own edits since its base are
//!   re-applied beneath it, text other tools appended to the current file meanwhile is kept
//!   after it ([`super::Store::adopt_locked`]).
//!
//! Either way the result is a new version of the file (copy + exchange), never a write into the
//! current inode, where another writer may hold a position; and the engine is told, so the
//! requests the text carries are accepted at once.

use super::{Shared, Sig};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

/// How often replaced inodes are checked: a writer's next piece should reach the current file
/// before another writer appends there.
const TICK: Duration = Duration::from_millis(2);
/// Bytes kept from just below the length read, to tell an append from a rewrite.
const SAMPLE: u64 = 4096;
/// The longest a replaced inode is watched while a writer holds it open.
const HELD_MAX: Duration = Duration::from_secs(3600);

struct Watched {
    shared: Arc<Shared>,
    path: PathBuf,
    old: File,
    /// Bytes of the old inode already in the current file.
    known: u64,
    /// The last bytes below `known`, as they were.
    sample: Vec<u8>,
    /// Late text read from the inode but not yet carried over (the file's lock was busy).
    pending: Vec<u8>,
    /// The inode's identity at the last check (nothing to do while it stays so).
    seen: Option<Sig>,
    /// Rewritten: its identity when last seen changing, since when it stayed so, and when the
    /// rewrite was first seen.
    rewrite: Option<(Sig, Instant, Instant)>,
    until: Instant,
    /// When the watch started.
    since: Instant,
}

/// Watch `old` (the inode just replaced at `path`, whose identity was `sig` when its first
/// `sig.len` bytes were read;
/// `last`: the last bytes read, ending at `known`). `now`: it already grew, check at once.
pub(super) fn watch(
    shared: Arc<Shared>,
    path: PathBuf,
    old: File,
    sig: Sig,
    last: &[u8],
    now: bool,
) {
    let known = sig.len;
    let k = last.len().min(SAMPLE as usize).min(known as usize);
    let mut w = Watched {
        shared,
        path,
        old,
        known,
        sample: last[last.len() - k..].to_vec(),
        seen: Some(sig),
        pending: Vec::new(),
        rewrite: None,
        until: Instant::now() + super::LATE_WATCH,
        since: Instant::now(),
    };
    if now {
        // The caller holds the file's lock: copy directly.
        match capture(&mut w) {
            Ok(true) => flush(&mut w),
            Ok(false) => {
                let sig = w.old.metadata().map(|m| Sig::of(&m)).unwrap_or(sig);
                start_rewrite(&mut w, sig, Instant::now());
            }
            Err(e) => {
                tracing::warn!(path = %w.path.display(), error = %e, "could not read late text")
            }
        }
    }
    QUEUE.push(w);
}

/// Inodes handed to the watcher thread (started on first use). A mutex and condition
/// variable rather than `std::sync::mpsc`: a blocking `recv` parks the thread with
/// `thread::park`, which on `wasm32-wasip1-threads` under Node returns at once, over and over —
/// the idle watcher then spun a whole core for the life of the process (the WASI build's
/// latency gap under load). A condition variable waits properly on every target.
struct Queue {
    items: Mutex<Vec<Watched>>,
    ready: Condvar,
    started: Once,
}

static QUEUE: Queue = Queue {
    items: Mutex::new(Vec::new()),
    ready: Condvar::new(),
    started: Once::new(),
};

impl Queue {
    fn push(&'static self, w: Watched) {
        self.started.call_once(|| {
            std::thread::Builder::new()
                .name("daebug-late-writes".into())
                .spawn(move || run(self))
                .expect("spawn the late-write watcher");
        });
        self.items.lock().unwrap_or_else(|e| e.into_inner()).push(w);
        self.ready.notify_one();
    }

    /// Move newly handed inodes to `watched`, waiting for one while there is nothing to watch.
    fn take(&self, watched: &mut Vec<Watched>) {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        while watched.is_empty() && items.is_empty() {
            items = self.ready.wait(items).unwrap_or_else(|e| e.into_inner());
        }
        watched.append(&mut items);
    }
}

fn run(queue: &'static Queue) {
    let mut watched: Vec<Watched> = Vec::new();
    loop {
        queue.take(&mut watched);
        std::thread::sleep(TICK);
        watched.retain_mut(check);
    }
}

/// One look at a watched inode. `false`: stop watching it.
fn check(w: &mut Watched) -> bool {
    let sig = match w.old.metadata() {
        Ok(m) => Sig::of(&m),
        Err(_) => return false,
    };
    let now = Instant::now();
    if let Some((last, since, first)) = w.rewrite {
        if sig != last {
            w.rewrite = Some((sig, now, first));
            w.until = w.until.max(now + super::LATE_WATCH);
            return true;
        }
        // A save that looks complete is brought in at once (if it was not, the rest of it
        // arrives as an append); one that looks mid-save once it has stayed so for QUIET.
        let settled = (sig.len > 0 && (since.elapsed() >= super::QUIET || looks_complete(w)))
            || first.elapsed() >= super::MAX_WAIT;
        if !settled {
            return true;
        }
        let lock = w.shared.lock_for(&w.path);
        // Busy (an edit is running): try again next tick.
        let Ok(_guard) = lock.try_lock() else {
            return true;
        };
        // Text it gained before it was rewritten goes first.
        flush(w);
        if let Err(e) = adopt(w) {
            tracing::warn!(path = %w.path.display(), error = %e, "could not bring in a save written to a replaced log");
        }
        w.rewrite = None;
        w.seen = Some(sig);
        w.until = now + super::LATE_WATCH;
        return true;
    }
    if w.seen != Some(sig) {
        let rewritten = sig.len < w.known
            || match sample_changed(w) {
                Ok(r) => r,
                Err(_) => return false,
            };
        if rewritten {
            return start_rewrite(w, sig, now);
        }
        if sig.len > w.known {
            // Read it at once, lock or not: the writer's next move may be to rewrite the inode.
            match capture(w) {
                Ok(true) => {}
                Ok(false) => return start_rewrite(w, sig, now),
                Err(e) => {
                    tracing::warn!(path = %w.path.display(), error = %e, "could not read late text");
                    return false;
                }
            }
        }
        w.seen = Some(sig);
    }
    if !w.pending.is_empty() {
        let lock = w.shared.lock_for(&w.path);
        // Busy (an edit is running): try again next tick, even past the deadline.
        let Ok(_guard) = lock.try_lock() else {
            return true;
        };
        flush(w);
    }
    still_watched(w, now)
}

/// Keep watching until `until`, and past it while some process still holds the inode open for
/// writing (an editor or a streaming writer with a long-lived handle), up to [`HELD_MAX`].
fn still_watched(w: &mut Watched, now: Instant) -> bool {
    if now < w.until || !w.pending.is_empty() {
        return true;
    }
    if now < w.since + HELD_MAX && held_for_writing(&w.old) {
        w.until = now + super::LATE_WATCH;
        return true;
    }
    false
}

/// Does any process (this one included) hold the file open for writing? On Linux a read lease
/// is granted only when none does; it is released at once. (Nobody can open a replaced,
/// unlinked inode anew, so the lease never makes anyone wait.) Elsewhere: unknown, `false`.
#[cfg(target_os = "linux")]
fn held_for_writing(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    let got = unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) };
    if got == 0 {
        // SAFETY: as above.
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        return false;
    }
    io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN)
}

#[cfg(not(target_os = "linux"))]
fn held_for_writing(_file: &File) -> bool {
    false
}

fn start_rewrite(w: &mut Watched, sig: Sig, now: Instant) -> bool {
    tracing::debug!(path = %w.path.display(), "a replaced log is being rewritten through an old handle");
    w.rewrite = Some((sig, now, now));
    w.until = w.until.max(now + super::LATE_WATCH);
    true
}

/// Does the rewritten inode hold what looks like a whole log (not a save half-way)?
fn looks_complete(w: &Watched) -> bool {
    let mut f = &w.old;
    let Ok(len) = f.metadata().map(|m| m.len()) else {
        return false;
    };
    let mut head = vec![0; len.min(super::HEAD) as usize];
    let from = len.saturating_sub(super::WINDOW);
    let mut tail = Vec::new();
    let read = f
        .seek(SeekFrom::Start(0))
        .and_then(|_| f.read_exact(&mut head))
        .and_then(|_| f.seek(SeekFrom::Start(from)))
        .and_then(|_| f.read_to_end(&mut tail));
    read.is_ok() && super::mid_save(len, &tail, &String::from_utf8_lossy(&head)).is_none()
}

/// Are the last bytes below `known` no longer what they were?
fn sample_changed(w: &Watched) -> io::Result<bool> {
    let mut now = vec![0; w.sample.len()];
    let mut f = &w.old;
    f.seek(SeekFrom::Start(w.known - w.sample.len() as u64))?;
    match f.read_exact(&mut now) {
        Ok(()) => Ok(now != w.sample),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(true),
        Err(e) => Err(e),
    }
}

/// If the old inode only grew (the bytes below `known` are as they were), take what it gained
/// as pending text and return `true`; `false` if it was rewritten.
fn capture(w: &mut Watched) -> io::Result<bool> {
    let from = w.known - w.sample.len() as u64;
    let mut bytes = Vec::new();
    w.old.seek(SeekFrom::Start(from))?;
    (&w.old).read_to_end(&mut bytes)?;
    // One read from below `known` to the end: a truncate landing between a check and a copy
    // cannot pass its new bytes off as an append.
    if !bytes.starts_with(&w.sample) {
        return Ok(false);
    }
    let extra = &bytes[w.sample.len()..];
    if extra.is_empty() {
        return Ok(true);
    }
    w.pending.extend_from_slice(extra);
    w.known += extra.len() as u64;
    let k = bytes.len().min(SAMPLE as usize);
    w.sample = bytes[bytes.len() - k..].to_vec();
    Ok(true)
}

/// Carry the pending text over to the file now at the path. The caller holds its lock.
fn flush(w: &mut Watched) {
    if w.pending.is_empty() {
        return;
    }
    tracing::debug!(path = %w.path.display(), bytes = w.pending.len(), "carrying text written to a replaced log over");
    // As a new version of the file, like every write of the store: never into an inode a
    // writer may hold a position in.
    let store = super::Store {
        shared: w.shared.clone(),
    };
    if let Err(e) = store.append_locked(&w.path, &w.pending) {
        tracing::warn!(path = %w.path.display(), error = %e, "could not carry over late text");
    }
    store.forget(&w.path);
    store.changed(&w.path);
    w.pending.clear();
}

/// Bring in the whole-file save that rewrote the old inode; from then on it is the base that
/// later writes through the same handle are compared with.
fn adopt(w: &mut Watched) -> io::Result<()> {
    let mut saved = Vec::new();
    w.old.seek(SeekFrom::Start(0))?;
    (&w.old).read_to_end(&mut saved)?;
    w.known = saved.len() as u64;
    let k = saved.len().min(SAMPLE as usize);
    w.sample = saved[saved.len() - k..].to_vec();
    if saved.is_empty() {
        tracing::debug!(path = %w.path.display(), "a replaced log was emptied through an old handle; nothing to bring in");
        return Ok(());
    }
    tracing::debug!(path = %w.path.display(), bytes = saved.len(), "bringing in a save written to a replaced log");
    super::Store {
        shared: w.shared.clone(),
    }
    .adopt_locked(&w.path, &saved)
}
