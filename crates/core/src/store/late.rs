//! Writes that reach a file after the store replaced it. A process that opened the log before
//! the replace keeps writing to the old inode: an `O_APPEND` writer, one writing its chunk in
//! pieces through a held handle, or an editor (or `fs.writeFile`, whose open resolved the path
//! just before the replace) that truncates and rewrites the whole file through its handle. One
//! background thread watches every replaced inode while a process holds it open for writing
//! (where that cannot be known, until it has not changed for [`super::LATE_WATCH`]) and tells
//! the two apart:
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
//!
//! The watcher carries appended text over when it finds the file's lock free; every edit of
//! the store also carries it over first, under the lock it already holds ([`pull`]), so text
//! waiting for a busy lock is never overtaken by the store's own writes.
//!
//! On WASI every thread has its own table of file handles, so a handle opened by the editing
//! thread means nothing (or another file) on the watcher's: there the replaced inode is kept
//! under a hidden hard link instead ([`Old`]), which whichever thread looks opens for itself.

use super::{Shared, Sig};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How often replaced inodes are checked: a writer's next piece should reach the current file
/// before another writer appends there.
const TICK: Duration = Duration::from_millis(2);
/// A watched inode that has not changed for [`HOT`] is looked at every `COLD_TICK`, and once it
/// has not changed for a second, every `COLDER_TICK`. On WASI a look is a call through Node's
/// WASI layer, dozens of microseconds, and a busy log has hundreds of replaced inodes watched at
/// once (each is watched for [`super::LATE_WATCH`] after its last change: WASI cannot tell
/// whether anyone still holds it): looking at each every 2 ms cost the server most of a core.
/// Natively a look is one `fstat`, and the watch ends as soon as nobody holds the inode.
const HOT: Duration = Duration::from_millis(100);
#[cfg(target_os = "wasi")]
const COLD_TICK: Duration = Duration::from_millis(20);
#[cfg(target_os = "wasi")]
const COLDER_TICK: Duration = Duration::from_millis(100);
#[cfg(not(target_os = "wasi"))]
const COLD_TICK: Duration = TICK;
#[cfg(not(target_os = "wasi"))]
const COLDER_TICK: Duration = TICK;
/// Whether every edit looks at every watched inode of its file ([`pull`]), or only at those
/// that changed within [`HOT`] (WASI, where looking costs).
const LOOK_AT_COLD_ON_EDIT: bool = cfg!(not(target_os = "wasi"));
/// Bytes kept from just below the length read, to tell an append from a rewrite.
const SAMPLE: u64 = 4096;
/// A writer whose open found the path just before the replace gets its write access to the
/// inode a moment later: until then, "nobody holds it for writing" proves nothing.
const SETTLE: Duration = Duration::from_millis(50);
/// The longest a replaced inode is watched while a writer holds it open.
const HELD_MAX: Duration = Duration::from_secs(3600);

/// The inode a replace took off the path, readable from any thread for as long as it is
/// watched. Natively a handle: every thread of the process shares it. On WASI a hard link under
/// a hidden name beside the file (`.daebug-replaced-*.tmp`), opened by each look and removed
/// when this is dropped: handles there belong to the thread that opened them.
pub(super) struct Old {
    #[cfg(not(target_os = "wasi"))]
    file: File,
    #[cfg(target_os = "wasi")]
    link: tempfile::NamedTempFile<()>,
    /// The watcher thread's own handle on the link, opened at its first look and closed by it
    /// when the watch ends ([`Old::release`]): it looks every few milliseconds.
    #[cfg(target_os = "wasi")]
    watcher_handle: std::cell::OnceCell<File>,
}

#[cfg(target_os = "wasi")]
thread_local! {
    /// Whether this thread is the watcher (whose handles [`Old`] may keep).
    static IS_WATCHER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Old {
    /// `read`: a handle on the file an edit read, which is about to be replaced.
    #[cfg(not(target_os = "wasi"))]
    pub(super) fn keep(read: &File, _path: &Path) -> io::Result<Old> {
        Ok(Old {
            file: read.try_clone()?,
        })
    }

    /// WASI (preview 1) cannot duplicate a handle, nor would one outlive this thread's look:
    /// link the file at `path` under a hidden name (the caller has just checked that it is the
    /// one that was read).
    #[cfg(target_os = "wasi")]
    pub(super) fn keep(_read: &File, path: &Path) -> io::Result<Old> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let link = tempfile::Builder::new()
            .prefix(".daebug-replaced-")
            .suffix(".tmp")
            .make_in(dir, |p| std::fs::hard_link(path, p))?;
        Ok(Old {
            link,
            watcher_handle: std::cell::OnceCell::new(),
        })
    }

    /// Look at the inode through a handle this thread may use.
    pub(super) fn with<R>(&self, look: impl FnOnce(&File) -> io::Result<R>) -> io::Result<R> {
        #[cfg(not(target_os = "wasi"))]
        return look(&self.file);
        #[cfg(target_os = "wasi")]
        {
            if IS_WATCHER.get() {
                if let Some(f) = self.watcher_handle.get() {
                    return look(f);
                }
                let f = File::open(self.link.path())?;
                return look(self.watcher_handle.get_or_init(|| f));
            }
            look(&File::open(self.link.path())?)
        }
    }

    pub(super) fn sig(&self) -> io::Result<Sig> {
        #[cfg(not(target_os = "wasi"))]
        return Ok(Sig::of(&self.file.metadata()?));
        #[cfg(target_os = "wasi")]
        {
            if IS_WATCHER.get() {
                return self.with(|f| Ok(Sig::of(&f.metadata()?)));
            }
            // One call by path rather than open, look and close (the link is a file of ours:
            // nothing to follow).
            Ok(Sig::of(&std::fs::symlink_metadata(self.link.path())?))
        }
    }

    /// The watch ends: the watcher closes its own handle (only it may).
    fn release(&mut self) {
        #[cfg(target_os = "wasi")]
        if IS_WATCHER.get() {
            drop(self.watcher_handle.take());
        }
    }
}

struct Watched {
    shared: Arc<Shared>,
    path: PathBuf,
    old: Old,
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
    /// When it was last seen changing (or the watch started).
    changed: Instant,
    /// Not looked at again before this.
    next_look: Instant,
}

/// Watch `old` (the inode just replaced at `path`, whose identity was `sig` when its first
/// `sig.len` bytes were read;
/// `last`: the last bytes read, ending at `known`). `now`: it already grew, check at once.
pub(super) fn watch(
    shared: Arc<Shared>,
    path: PathBuf,
    old: Old,
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
        changed: Instant::now(),
        next_look: Instant::now(),
    };
    if now {
        // The caller holds the file's lock: copy directly.
        match capture(&mut w) {
            Ok(true) => flush(&mut w),
            Ok(false) => {
                let sig = w.old.sig().unwrap_or(sig);
                start_rewrite(&mut w, sig, Instant::now());
            }
            Err(e) => {
                tracing::warn!(path = %w.path.display(), error = %e, "could not read late text")
            }
        }
    }
    add(w);
}

/// One watched inode, findable by the path it was replaced at.
struct Entry {
    shared: Arc<Shared>,
    path: PathBuf,
    watched: Mutex<Watched>,
}

/// Every watched inode. The watcher thread and [`pull`] find them here; neither holds this
/// lock while it looks at one.
fn registry() -> &'static Mutex<Vec<Arc<Entry>>> {
    static WATCHED: OnceLock<Mutex<Vec<Arc<Entry>>>> = OnceLock::new();
    WATCHED.get_or_init(Default::default)
}

/// Wakes the watcher thread when the first inode is watched.
fn wake() -> &'static (Mutex<bool>, Condvar) {
    static WAKE: OnceLock<(Mutex<bool>, Condvar)> = OnceLock::new();
    WAKE.get_or_init(|| {
        std::thread::Builder::new()
            .name("daebug-late-writes".into())
            .spawn(run)
            .expect("spawn the late-write watcher");
        (Mutex::new(false), Condvar::new())
    })
}

fn add(w: Watched) {
    let entry = Arc::new(Entry {
        shared: w.shared.clone(),
        path: w.path.clone(),
        watched: Mutex::new(w),
    });
    lock(registry()).push(entry);
    let (flag, cv) = wake();
    *lock(flag) = true;
    cv.notify_one();
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn run() {
    #[cfg(target_os = "wasi")]
    IS_WATCHER.set(true);
    let (flag, cv) = wake();
    // When the next look is due; `None`: nothing is watched. The thread sleeps until then (or
    // until a new inode is watched), not a fixed tick: an inode that stays unchanged is looked
    // at less and less often, and each wake-up costs (on WASI, a round through Node).
    let mut due: Option<Instant> = None;
    loop {
        {
            let mut woken = lock(flag);
            while !*woken {
                match due {
                    None => woken = cv.wait(woken).unwrap_or_else(|e| e.into_inner()),
                    Some(at) => {
                        let now = Instant::now();
                        if now >= at {
                            break;
                        }
                        woken = cv
                            .wait_timeout(woken, at - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                }
            }
            *woken = false;
        }
        let entries: Vec<Arc<Entry>> = lock(registry()).clone();
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let done: Vec<Arc<Entry>> = entries
            .into_iter()
            .filter(|e| {
                let mut w = lock(&e.watched);
                let keep = look(&mut w, now);
                if keep {
                    next = Some(next.map_or(w.next_look, |n| n.min(w.next_look)));
                } else {
                    w.old.release();
                }
                !keep
            })
            .collect();
        if !done.is_empty() {
            lock(registry()).retain(|e| !done.iter().any(|d| Arc::ptr_eq(d, e)));
        }
        due = next.map(|n| n.max(now + TICK));
    }
}

/// How many replaced inodes of `path` are watched now.
#[cfg(test)]
pub(super) fn watching(path: &Path) -> usize {
    lock(registry()).iter().filter(|e| e.path == path).count()
}

/// Carry over at once what writers appended to inodes replaced at `path` that has not reached
/// the current file yet. Every edit of the store calls this first, holding the file's lock:
/// the watcher thread carries text over only when it finds the lock free, and the server's
/// edits of a busy log can follow each other closely enough that it seldom does; meanwhile a
/// writer's next chunk, written to the current file, would land before the end of this one.
/// (The watcher never waits for a file's lock while it looks at an inode, so this cannot
/// deadlock.) Whole-file rewrites are left to the watcher, which waits for them to settle.
pub(super) fn pull(shared: &Arc<Shared>, path: &Path) {
    let mine: Vec<Arc<Entry>> = lock(registry())
        .iter()
        .filter(|e| e.path == path && Arc::ptr_eq(&e.shared, shared))
        .cloned()
        .collect();
    // One reading of the clock for all (on WASI each is a call out of the module).
    let now = Instant::now();
    for entry in mine {
        let mut w = lock(&entry.watched);
        if w.rewrite.is_some() {
            continue;
        }
        if !LOOK_AT_COLD_ON_EDIT && now.saturating_duration_since(w.changed) >= HOT {
            // WASI: a look costs dozens of microseconds and a busy log has hundreds of
            // replaced inodes watched; one that has not changed for HOT is left to the
            // watcher's next look (within 20-100 ms). What it already read goes over now.
            flush(&mut w);
            continue;
        }
        let Ok(sig) = w.old.sig() else {
            continue;
        };
        if w.seen != Some(sig) && sig.len > w.known {
            w.changed = now;
            w.next_look = now;
            match capture(&mut w) {
                Ok(true) => {
                    if sig.len == w.known {
                        w.seen = Some(sig);
                    }
                }
                // Rewritten: the watcher sees it on its next look.
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(path = %w.path.display(), error = %e, "could not read late text");
                    continue;
                }
            }
        }
        flush(&mut w);
    }
}

/// Look at a watched inode if it is due (`now`: this pass of the watcher). `false`: stop
/// watching it.
fn look(w: &mut Watched, now: Instant) -> bool {
    if now < w.next_look {
        return true;
    }
    let before = (w.seen, w.known, w.rewrite.map(|r| r.0));
    let keep = check(w, now);
    if before != (w.seen, w.known, w.rewrite.map(|r| r.0)) || !w.pending.is_empty() {
        w.changed = now;
    }
    let quiet = now.saturating_duration_since(w.changed);
    let tick = if quiet < HOT {
        TICK
    } else if quiet < Duration::from_secs(1) {
        COLD_TICK
    } else {
        COLDER_TICK
    };
    w.next_look = now + tick;
    keep
}

/// One look at a watched inode. `false`: stop watching it.
fn check(w: &mut Watched, now: Instant) -> bool {
    let sig = match w.old.sig() {
        Ok(sig) => sig,
        Err(_) => return false,
    };
    if let Some((last, since, first)) = w.rewrite {
        if sig != last {
            w.rewrite = Some((sig, now, first));
            w.until = w.until.max(now + super::LATE_WATCH);
            return true;
        }
        // A save that looks complete is brought in at once (if it was not, the rest of it
        // arrives as an append); one that looks mid-save once it has stayed so for QUIET, or
        // after MAX_WAIT of change. An empty inode never: it is a save between its truncate and
        // its write (bringing it in would make the whole save that follows look like an
        // append to nothing, and copy the whole file a second time).
        let settled = sig.len > 0
            && (since.elapsed() >= super::QUIET
                || looks_complete(w)
                || first.elapsed() >= super::MAX_WAIT);
        if !settled {
            if sig.len == 0 && first.elapsed() >= super::MAX_WAIT {
                // Emptied and left so: nothing to bring in. What is written next is compared
                // with what was there before (a whole save then shows as a rewrite again).
                w.rewrite = None;
                w.seen = Some(sig);
                return still_watched(w, now);
            }
            return true;
        }
        let lock = w.shared.lock_for(&w.path);
        // Busy (an edit is running): try again next tick.
        let Ok(_guard) = lock.try_lock() else {
            return true;
        };
        // Text it gained before it was rewritten goes first.
        flush(w);
        match adopt(w) {
            Ok(true) => {}
            Ok(false) => return true,
            Err(e) => {
                tracing::warn!(path = %w.path.display(), error = %e, "could not bring in a save written to a replaced log")
            }
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
                Ok(true) => w.until = w.until.max(now + super::LATE_WATCH),
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

/// Whether to keep watching. A replaced inode can only be written through a handle opened
/// before the replace (nobody can open it anew): on Linux, once no process holds it open for
/// writing (from [`SETTLE`] after the replace on) and what it holds is carried over, the watch
/// ends; while one does, it goes on, up to [`HELD_MAX`]. Where that cannot be known (WASI,
/// other systems, a file another user owns), until it has not changed for
/// [`super::LATE_WATCH`].
fn still_watched(w: &mut Watched, now: Instant) -> bool {
    if !w.pending.is_empty() {
        return true;
    }
    let held = if now >= w.since + SETTLE {
        held_for_writing(&w.old)
    } else {
        None
    };
    match held {
        // The last writer may have written just before it closed: keep watching if the inode
        // changed since this look began (the next look carries it over, then asks again).
        Some(false) => w.old.sig().map(|sig| Some(sig) != w.seen).unwrap_or(false),
        Some(true) if now >= w.until => {
            if now < w.since + HELD_MAX {
                w.until = now + super::LATE_WATCH;
                true
            } else {
                false
            }
        }
        _ => now < w.until,
    }
}

/// Does any process (this one included) hold the file open for writing? On Linux a read lease
/// is granted only when none does; it is released at once. (Nobody can open a replaced,
/// unlinked inode anew, so the lease never makes anyone wait.) `None`: cannot tell (the lease
/// was refused for another reason, or elsewhere than Linux).
#[cfg(target_os = "linux")]
fn held_for_writing(old: &Old) -> Option<bool> {
    use std::os::fd::AsRawFd;
    let fd = old.file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    let got = unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) };
    if got == 0 {
        // SAFETY: as above.
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        return Some(false);
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN) => Some(true),
        _ => None,
    }
}

#[cfg(not(target_os = "linux"))]
fn held_for_writing(_old: &Old) -> Option<bool> {
    None
}

fn start_rewrite(w: &mut Watched, sig: Sig, now: Instant) -> bool {
    tracing::debug!(path = %w.path.display(), "a replaced log is being rewritten through an old handle");
    w.rewrite = Some((sig, now, now));
    w.until = w.until.max(now + super::LATE_WATCH);
    true
}

/// Does the rewritten inode hold what looks like a whole log (not a save half-way)?
fn looks_complete(w: &Watched) -> bool {
    let read = w.old.with(|mut f| {
        let len = f.metadata()?.len();
        let mut head = vec![0; len.min(super::HEAD) as usize];
        let from = len.saturating_sub(super::WINDOW);
        let mut tail = Vec::new();
        f.seek(SeekFrom::Start(0))?;
        f.read_exact(&mut head)?;
        f.seek(SeekFrom::Start(from))?;
        f.read_to_end(&mut tail)?;
        Ok((len, head, tail))
    });
    match read {
        Ok((len, head, tail)) => {
            super::mid_save(len, &tail, &String::from_utf8_lossy(&head)).is_none()
        }
        Err(_) => false,
    }
}

/// Are the last bytes below `known` no longer what they were?
fn sample_changed(w: &Watched) -> io::Result<bool> {
    let mut now = vec![0; w.sample.len()];
    w.old.with(|mut f| {
        f.seek(SeekFrom::Start(w.known - w.sample.len() as u64))?;
        match f.read_exact(&mut now) {
            Ok(()) => Ok(now != w.sample),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(true),
            Err(e) => Err(e),
        }
    })
}

/// If the old inode only grew (the bytes below `known` are as they were), take what it gained
/// as pending text and return `true`; `false` if it was rewritten.
fn capture(w: &mut Watched) -> io::Result<bool> {
    let from = w.known - w.sample.len() as u64;
    let mut bytes = Vec::new();
    w.old.with(|mut f| {
        f.seek(SeekFrom::Start(from))?;
        f.read_to_end(&mut bytes)
    })?;
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
/// `Ok(false)`: the inode was empty when read (truncated again): nothing brought in, still a
/// rewrite in progress.
fn adopt(w: &mut Watched) -> io::Result<bool> {
    let mut saved = Vec::new();
    w.old.with(|mut f| {
        f.seek(SeekFrom::Start(0))?;
        f.read_to_end(&mut saved)
    })?;
    if saved.is_empty() {
        return Ok(false);
    }
    w.known = saved.len() as u64;
    let k = saved.len().min(SAMPLE as usize);
    w.sample = saved[saved.len() - k..].to_vec();
    tracing::debug!(path = %w.path.display(), bytes = saved.len(), "bringing in a save written to a replaced log");
    super::Store {
        shared: w.shared.clone(),
    }
    .adopt_locked(&w.path, &saved)?;
    Ok(true)
}
