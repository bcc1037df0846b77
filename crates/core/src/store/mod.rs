//! Safe writes to files an agent may be editing at the same time (SPEC 3.4), at a cost that
//! does not grow with the file.
//!
//! # What agents and editors do to a log, and what the store does about it
//!
//! * **O_APPEND appends** (`echo >>`, `fs.appendFile`) and **chunks written in pieces through a
//!   held handle** (a process that opened the file and writes its chunk over up to a second)
//!   keep writing to the inode they opened, even after the server replaced the file. The store
//!   keeps a handle on every inode it replaces and watches it for as long as any process still
//!   holds it open for writing (on Linux a read lease is refused while someone does), up to an
//!   hour; where that cannot be known, until it has not changed for [`LATE_WATCH`]. Bytes that reach it after the server read it are
//!   appended to the current file under the file's lock ([`late`]). They are read off the
//!   replaced inode within milliseconds even while the file's lock is busy, so a writer whose
//!   next move is to rewrite that inode does not destroy them. Every edit of the store first
//!   carries over what is waiting ([`late::pull`]), so the server's own writes never land
//!   between a chunk's pieces, however closely they follow each other (the watcher alone
//!   only finds the lock free now and then). Another tool writing in the
//!   moment before they reach the current file lands before them (a streamed chunk is split),
//!   and one that reads the path and rewrites the whole file then does not see them: wait for a
//!   streamed chunk to show before writing again (documented in `docs/log-format.md`).
//! * **Whole-file saves through a handle opened before the replace** (an editor that keeps the
//!   file open and rewrites it, or `fs.writeFile` whose open resolved the path just before the
//!   store's exchange and truncated the old inode) land in the replaced inode too. The watch
//!   tells them from appends: the inode shrank, or its bytes just below the length the store
//!   read changed. Once such a save looks complete (or has stayed the same for [`QUIET`]) it is
//!   brought in as a new version of the current file ([`Store::adopt_locked`]): the store's own
//!   edits since the version it was based on are re-applied beneath it (the same `rebase` as
//!   below), and text other tools appended to the current file since the store's last edit is
//!   kept after it. The engine is told ([`Store::on_change`]) so the requests it carries are
//!   accepted at once. Until then (milliseconds) the save is not visible at the path; an agent
//!   that reads the path and saves again in that moment saves over its own earlier save.
//! * **In-place saves** (open with `O_TRUNC`, then write: Node's `fs.writeFile`, VS Code, the
//!   Write/Edit tools of coding agents) leave the file empty or half-written for a moment. A
//!   momentary state must never be taken for the truth and "repaired": a log that is empty,
//!   has no footer in its last 16 KB, has no title in its first lines, or ends in a cut UTF-8
//!   character is *suspicious*, and the store edits it only once it has stayed exactly so for
//!   [`QUIET`] (then it is what the agent meant) — or after [`MAX_WAIT`] of constant change.
//!   A save that *is* complete but was based on a version older than the store's last write
//!   (the agent read, the server wrote, the agent wrote back what it read plus its change) is
//!   recognised by the store's record of its last edits, which are re-applied beneath the
//!   agent's change (`rebase`), so no accepted request reappears unaccepted and no reply is
//!   undone. Only the last [`REBASE_KEEP`] edits are kept (each at most [`REBASE_MAX`], all
//!   together at most [`REBASE_BYTES`]). A save based on an older version, or one that changed
//!   the very lines an edit wrote, is taken as it is: every byte of the agent's text stays; the
//!   engine writes again the reply of a finished job whose placeholder came back, and a request
//!   that came back without its header is answered "not run again" when its surroundings are
//!   exactly those the engine took it from (`crate::log::replay`; see `docs/log-format.md`).
//! * **Write-temp-then-rename saves** (vim, JetBrains, atomic-write libraries) replace the inode.
//!   The store checks that the file is still the one it read (same inode, size, modification
//!   time and tail bytes) just before replacing it, and the replace itself is one step that
//!   cannot lose a save landing in between: on Linux the new file is *exchanged* with the old one
//!   (`renameat2(RENAME_EXCHANGE)`), and what came out is checked to be the inode that was read,
//!   unchanged or only appended to. If it is not (a save landed between check and exchange), the
//!   exchange is undone and the edit is redone on the agent's version. Elsewhere a plain rename
//!   follows the check.
//! * **Conflicts** in general: every edit is a pure function of what it reads, redone on the new
//!   content whenever the file changed under it. An agent's edit is never overwritten.
//!
//! # Flat cost
//!
//! [`Store::edit_log`] reads only the file's tail: a window that starts at a line the caller's
//! boundary function accepts (for logs, a server-written header: see [`crate::log::window`]),
//! at least [`WINDOW`] long. The edit sees that window (and the file's first bytes, for the
//! title) and may ask for a wider one ([`Edit::More`]) up to the whole file. The new file is the
//! old file's bytes before the window, copied by the kernel (`copy_file_range`), then the edited
//! window: the history is never held in memory, and after the write nothing of it is kept.

mod late;
mod replace;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A suspicious file must be unchanged this long before the store edits it.
pub const QUIET: Duration = Duration::from_millis(120);
/// The longest the store waits for a suspicious file to settle.
pub const MAX_WAIT: Duration = Duration::from_millis(5000);
/// How long a replaced inode is watched for writes through handles opened before the replace,
/// after the replace and after each change, where nobody can tell whether a process still holds
/// it open for writing (natively on Linux the watch ends once none does).
pub const LATE_WATCH: Duration = Duration::from_millis(2500);
/// The smallest window an edit of a log sees (unless the file is smaller).
pub const WINDOW: u64 = 16 * 1024;
/// How much of the file's start is read for the title.
const HEAD: u64 = 4 * 1024;
/// The footer's prompt, as bytes: a log without it near its end is suspicious.
const FOOTER_MARK: &[u8] = b"> Append your JavaScript snippet below";

/// A per-file locking writer. Cheap to clone.
#[derive(Clone, Default)]
pub struct Store {
    shared: Arc<Shared>,
}

#[derive(Default)]
pub(crate) struct Shared {
    locks: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
    /// Identity of each file right after our last write to it.
    written: Mutex<HashMap<PathBuf, Sig>>,
    /// Our last edits of each log, to re-apply under an agent's save based on an older version.
    history: Mutex<HashMap<PathBuf, VecDeque<Rec>>>,
    /// Told when the store brought text into a file by itself.
    #[allow(clippy::type_complexity)]
    listener: Mutex<Option<Arc<dyn Fn(&Path) + Send + Sync>>>,
}

/// One edit of ours: the file's end from just before the first byte it changed, before and
/// after.
struct Rec {
    old: Vec<u8>,
    new: Vec<u8>,
}

/// Bytes of unchanged text kept before an edit's first change, to recognise where it was.
const REBASE_CONTEXT: usize = 512;
/// Edits remembered per log (background flushes come several a second, so this covers a save
/// based on a version from several seconds to minutes back)...
const REBASE_KEEP: usize = 256;
/// ...and at most this many bytes of them.
const REBASE_BYTES: usize = 2 * 1024 * 1024;
/// Edits larger than this (from their first change to the end) are not remembered.
const REBASE_MAX: usize = 256 * 1024;

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    memchr::memmem::rfind(hay, needle)
}

/// If `text` holds the "before" of one of `recs` (our last edits, oldest first), the text with
/// that edit and the later ones re-applied, and where the text that followed that "before"
/// starts in the result. `None` when the text is based on our latest edit or on none we know.
fn rebase_recs(recs: &VecDeque<Rec>, text: &[u8]) -> Option<(Vec<u8>, usize)> {
    let latest = recs.back()?;
    if find_last(text, &latest.new).is_some() {
        return None; // based on our last write
    }
    // The newest edit whose "before" the text still ends with (then the agent's text).
    let (j, at) = recs
        .iter()
        .enumerate()
        .rev()
        .find_map(|(j, r)| find_last(text, &r.old).map(|at| (j, at)))?;
    let extra = &text[at + recs[j].old.len()..];
    let mut merged = text[..at].to_vec();
    merged.extend_from_slice(&recs[j].new);
    for r in recs.iter().skip(j + 1) {
        if !merged.ends_with(&r.old) {
            break;
        }
        merged.truncate(merged.len() - r.old.len());
        merged.extend_from_slice(&r.new);
    }
    let own = merged.len();
    merged.extend_from_slice(extra);
    if std::str::from_utf8(&merged).is_err() {
        return None;
    }
    Some((merged, own))
}

impl Shared {
    pub(crate) fn lock_for(&self, path: &Path) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(path.to_path_buf()).or_default().clone()
    }
}

/// What identifies one state of a file cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sig {
    pub ino: u64,
    pub len: u64,
    pub modified: Option<SystemTime>,
}

impl Sig {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Sig {
        Sig {
            ino: ino(meta),
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }

    /// The file at `path` itself: a symbolic link there is not what the store wrote (and not
    /// following it saves WASI a look at every part of the path).
    fn of_path(path: &Path) -> io::Result<Sig> {
        std::fs::symlink_metadata(path).map(|m| Sig::of(&m))
    }
}

#[cfg(unix)]
fn ino(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn ino(_meta: &std::fs::Metadata) -> u64 {
    0
}

/// What an edit closure decided.
pub enum Edit<R> {
    /// Replace what the closure saw (the window) with this text; return the value.
    Write(String, R),
    /// Leave the file as it is; return the value.
    Keep(R),
    /// The window did not hold what the edit needs: show a wider one (the whole file at last).
    More,
}

/// What an edit of a log sees.
pub struct View<'a> {
    /// The file's text from `offset` to its end.
    pub text: &'a str,
    /// Where the window starts in the file (0: the whole file).
    pub offset: u64,
    /// The file's first bytes (up to 4 KB, cut at a character boundary), for the title.
    pub head: &'a str,
}

impl View<'_> {
    /// Is the window the whole file?
    pub fn whole(&self) -> bool {
        self.offset == 0
    }
}

/// How to pick the start of a window in the file's last bytes: the offset of the first place an
/// edit may start reading (see [`crate::log::window::boundary`]).
pub type Boundary = fn(&[u8]) -> Option<usize>;

/// One read of a file.
struct Snapshot {
    file: File,
    sig: Sig,
    offset: u64,
    window: Vec<u8>,
    head: String,
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    /// Forget our last write to `path`: the next change notification is read in full.
    pub fn forget(&self, path: &Path) {
        self.shared
            .written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(path);
    }

    /// Is the file exactly as our last write left it? (Then a change notification for it was
    /// our own.)
    pub fn is_as_written(&self, path: &Path) -> bool {
        let Ok(sig) = Sig::of_path(path) else {
            return false;
        };
        let w = self
            .shared
            .written
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        w.get(path) == Some(&sig)
    }

    /// Read the file (`None` when it does not exist). For small server-owned files.
    pub fn read(&self, path: &Path) -> io::Result<Option<String>> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Apply `edit` to the whole current content of an existing file. For small files (the
    /// registry); see [`Store::edit_log`] for logs. `edit` may run more than once (when the file
    /// changes under it), so it must be a pure function of its input. `Ok(None)`: no such file.
    pub fn edit<R>(
        &self,
        path: &Path,
        mut edit: impl FnMut(&str) -> Edit<R>,
    ) -> io::Result<Option<R>> {
        self.edit_inner(path, None, false, |v| edit(v.text))
    }

    /// Apply `edit` to the tail of a log (see the module doc), waiting for a file that looks
    /// mid-save to settle first. `boundary` picks where a window may start.
    pub fn edit_log<R>(
        &self,
        path: &Path,
        boundary: Boundary,
        edit: impl FnMut(&View) -> Edit<R>,
    ) -> io::Result<Option<R>> {
        self.edit_inner(path, Some(boundary), true, edit)
    }

    fn edit_inner<R>(
        &self,
        path: &Path,
        boundary: Option<Boundary>,
        careful: bool,
        mut edit: impl FnMut(&View) -> Edit<R>,
    ) -> io::Result<Option<R>> {
        let lock = self.shared.lock_for(path);
        let mut guard = Some(lock.lock().unwrap_or_else(|e| e.into_inner()));
        // Waiting for a file to settle happens without the lock, so that text written to a
        // replaced inode can be carried over meanwhile.
        let mut min_window = WINDOW;
        let started = Instant::now();
        // A suspicious state, and since when the file has been in exactly that state.
        let mut seen: Option<(Sig, Instant)> = None;
        loop {
            // Text appended to a replaced inode and not carried over yet goes first.
            late::pull(&self.shared, path);
            let snap = match snapshot(path, boundary.map(|b| (b, min_window))) {
                Ok(Some(s)) => s,
                Ok(None) => return Ok(None),
                // Rewritten while we read it: read again.
                Err(e)
                    if e.kind() == io::ErrorKind::Interrupted && started.elapsed() < MAX_WAIT =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            // A file that looks mid-save is edited only once it has stayed exactly so for
            // QUIET (then it is what the agent meant), or after MAX_WAIT of constant change.
            let why = if careful {
                self.suspicious(&snap)
            } else {
                None
            };
            let settled = match (why, seen) {
                (None, _) => true,
                (Some(_), Some((sig, since))) if sig == snap.sig => since.elapsed() >= QUIET,
                (Some(why), _) => {
                    tracing::debug!(path = %path.display(), why, "waiting for the file to settle");
                    seen = Some((snap.sig, Instant::now()));
                    false
                }
            } || started.elapsed() >= MAX_WAIT;
            if !settled {
                drop(snap);
                relock_after(&lock, &mut guard, || {
                    std::thread::sleep(Duration::from_millis(10))
                });
                continue;
            }
            // A character cut at the very end (a writer between two pieces) is kept as bytes
            // after whatever the edit makes of the rest: it is the end of the agent's text.
            // Other bytes that are not UTF-8 are carried through the edit unchanged (see
            // [`escape`]): a stray byte must not stop the log from working.
            let cut_len = match std::str::from_utf8(&snap.window) {
                Ok(_) => 0,
                Err(_) => incomplete_tail(&snap.window).unwrap_or(0),
            };
            let (body, cut) = snap.window.split_at(snap.window.len() - cut_len);
            let decoded = escape(body);
            let escaped = matches!(decoded, std::borrow::Cow::Owned(_));
            let text: &str = &decoded;
            let view = View {
                text,
                offset: snap.offset,
                head: &snap.head,
            };
            // An agent's save based on a version older than our last write (it read the file,
            // we wrote, it wrote back what it read plus its change) would undo our edits:
            // re-apply them beneath the agent's change first.
            if careful && !escaped {
                if let Some(rebased) = self.rebase(path, &snap, text.as_bytes()) {
                    tracing::debug!(path = %path.display(), "an agent saved over our edit; re-applying it");
                    self.commit(path, &snap, &rebased, cut)?;
                    continue;
                }
            }
            let (new_tail, result) = match edit(&view) {
                Edit::Keep(r) => {
                    return Ok(Some(r));
                }
                Edit::More if snap.offset > 0 => {
                    tracing::debug!(path = %path.display(), offset = snap.offset, "the edit asked for a wider window");
                    min_window = (min_window * 4).max(snap.sig.len - snap.offset + 1);
                    continue;
                }
                Edit::More => {
                    return Err(io::Error::other(format!(
                        "{}: an edit asked for more than the whole file",
                        path.display()
                    )))
                }
                Edit::Write(t, r) => (t, r),
            };
            let new_tail = if escaped {
                unescape(&new_tail)
            } else {
                new_tail.into_bytes()
            };
            let committed = match self.commit(path, &snap, &new_tail, cut) {
                Ok(c) => c,
                // The file shrank while we copied it: redo.
                Err(e)
                    if e.kind() == io::ErrorKind::Interrupted && started.elapsed() < MAX_WAIT =>
                {
                    false
                }
                Err(e) => return Err(e),
            };
            if committed {
                if careful {
                    self.record(path, &snap.window, &new_tail, cut);
                }
                return Ok(Some(result));
            }
        }
    }

    /// Append `extra` (late text from a writer that holds a replaced inode) to the file, as a
    /// new version of it. The caller holds the file's lock. Nothing is written when the file is
    /// gone (deleted by the agent: leave it alone).
    pub(crate) fn append_locked(&self, path: &Path, extra: &[u8]) -> io::Result<()> {
        loop {
            let mut file = match File::open(path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            let sig = Sig::of(&file.metadata()?);
            let offset = sig.len.saturating_sub(256);
            let mut window = Vec::new();
            file.seek(SeekFrom::Start(offset))?;
            file.read_to_end(&mut window)?;
            let snap = Snapshot {
                file,
                sig,
                offset,
                window,
                head: String::new(),
            };
            let mut tail = snap.window.clone();
            tail.extend_from_slice(extra);
            if self.commit(path, &snap, &tail, &[])? {
                return Ok(());
            }
        }
    }

    /// Replace the window of `snap` by `tail` (+ `cut`). `false`: the file changed, redo.
    fn commit(&self, path: &Path, snap: &Snapshot, tail: &[u8], cut: &[u8]) -> io::Result<bool> {
        let temp = write_temp(path, snap, tail, cut)?;
        // Changed since we read it? Then redo the edit on what is there now.
        if !unchanged(path, snap)? {
            return Ok(false);
        }
        let new_sig = Sig::of(&temp.as_file().metadata()?);
        match replace::replace(temp, path, &snap.file, snap.sig, &snap.window)? {
            replace::Outcome::Conflict => Ok(false),
            replace::Outcome::Replaced { old, appended } => {
                self.shared
                    .written
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(path.to_path_buf(), new_sig);
                if let Some(old) = old {
                    late::watch(
                        self.shared.clone(),
                        path.to_path_buf(),
                        old,
                        snap.sig,
                        &snap.window,
                        appended,
                    );
                }
                Ok(true)
            }
        }
    }

    /// Remember what our edit changed: the file's end from just before the first changed byte,
    /// before and after.
    fn record(&self, path: &Path, before: &[u8], tail: &[u8], cut: &[u8]) {
        let mut after = Vec::with_capacity(tail.len() + cut.len());
        after.extend_from_slice(tail);
        after.extend_from_slice(cut);
        let same = before
            .iter()
            .zip(after.iter())
            .take_while(|(a, b)| a == b)
            .count();
        let from = same.saturating_sub(REBASE_CONTEXT);
        let rec = Rec {
            old: before[from..].to_vec(),
            new: after[from..].to_vec(),
        };
        let mut history = self
            .shared
            .history
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let recs = history.entry(path.to_path_buf()).or_default();
        if rec.old.len() > REBASE_MAX || rec.new.len() > REBASE_MAX {
            recs.clear();
            return;
        }
        recs.push_back(rec);
        let mut bytes: usize = recs.iter().map(|r| r.old.len() + r.new.len()).sum();
        while recs.len() > REBASE_KEEP || bytes > REBASE_BYTES {
            if let Some(r) = recs.pop_front() {
                bytes -= r.old.len() + r.new.len();
            }
        }
    }

    /// If the window `text` is an older version we edited followed by the agent's new text,
    /// the window with our later edits re-applied beneath that text.
    fn rebase(&self, path: &Path, snap: &Snapshot, text: &[u8]) -> Option<Vec<u8>> {
        let written = self
            .shared
            .written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
            .copied();
        if written == Some(snap.sig) {
            return None; // exactly our last write
        }
        let history = self
            .shared
            .history
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        rebase_recs(history.get(path)?, text).map(|(merged, _)| merged)
    }

    /// Bring in `saved`, a whole-file save an agent wrote through a handle on an inode the store
    /// had already replaced (see [`late`]), as a new version of the file at `path`: our edits
    /// since the version it was based on are re-applied beneath it, and text that reached the
    /// current file after our last edit (appends by other tools) is kept after it. The caller
    /// holds the file's lock. Nothing is written when the file is gone.
    pub(crate) fn adopt_locked(&self, path: &Path, saved: &[u8]) -> io::Result<()> {
        let started = Instant::now();
        loop {
            let snap = match snapshot(path, None) {
                Ok(Some(s)) => s,
                Ok(None) => return Ok(()),
                Err(e)
                    if e.kind() == io::ErrorKind::Interrupted && started.elapsed() < MAX_WAIT =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            let merged = self.merge_save(path, &snap.window, saved);
            if merged == snap.window {
                return Ok(());
            }
            if self.commit(path, &snap, &merged, &[])? {
                // Not our text: the next change notification must be read, and the requests it
                // brought must be seen now.
                self.forget(path);
                self.changed(path);
                return Ok(());
            }
        }
    }

    /// The file that results from an agent's whole-file `saved` (based on some version we
    /// edited since) over `current`.
    fn merge_save(&self, path: &Path, current: &[u8], saved: &[u8]) -> Vec<u8> {
        let history = self
            .shared
            .history
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let recs = history.get(path);
        let latest = recs.and_then(|r| r.back());
        // Our edits since the save's base, re-applied beneath it; `own` is where the agent's
        // text after its base starts.
        let (mut merged, own) = match recs.and_then(|r| rebase_recs(r, saved)) {
            Some(m) => m,
            None => {
                let own = latest
                    .and_then(|l| find_last(saved, &l.new).map(|at| at + l.new.len()))
                    .unwrap_or(saved.len());
                (saved.to_vec(), own)
            }
        };
        // What reached the current file after our last edit (another tool's append, text
        // carried over from a replaced inode) and is not in the save already.
        let after = match latest {
            Some(l) => find_last(current, &l.new).map(|at| &current[at + l.new.len()..]),
            None => None,
        };
        match after {
            Some(extra) if !extra.is_empty() => {
                let mine = &merged[own.min(merged.len())..];
                if memchr::memmem::find(mine, extra).is_none() {
                    // The save may hold the start of that text (what the agent read of it) and
                    // not the rest (carried over after it read): the rest goes right after
                    // that start. A short common start is a coincidence, not text it read.
                    let common = mine.iter().zip(extra).take_while(|(a, b)| a == b).count();
                    if common >= 32 || (common > 0 && common == mine.len()) {
                        let at = own + common;
                        merged.splice(at..at, extra[common..].iter().copied());
                    } else {
                        merged.extend_from_slice(extra);
                    }
                }
            }
            Some(_) => {}
            None => tracing::warn!(
                path = %path.display(),
                "a save through an old handle and another save of the file crossed; the later one is kept"
            ),
        }
        merged
    }

    /// Tell the listener (the engine) that `path` holds text the store brought in itself.
    pub(crate) fn changed(&self, path: &Path) {
        let listener = self
            .shared
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(f) = listener {
            f(path);
        }
    }

    /// Call `f` whenever the store itself brings text into a file that did not come from one
    /// of its edits (text written to a replaced inode, carried over or rebased): such a change
    /// must be read like an agent's edit, and the watcher's echo of it looks like our own write.
    pub fn on_change(&self, f: impl Fn(&Path) + Send + Sync + 'static) {
        *self
            .shared
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(f));
    }

    /// Why a log looks like it is in the middle of a save, if it does.
    fn suspicious(&self, snap: &Snapshot) -> Option<&'static str> {
        mid_save(snap.sig.len, &snap.window, &snap.head)
    }

    /// Create the file with `content` unless it exists. Returns whether it was created. The
    /// file gets the mode a new file gets (0666 less the umask, so usually 0644).
    pub fn create_new(&self, path: &Path, content: &str) -> io::Result<bool> {
        let lock = self.shared.lock_for(path);
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(mut f) => {
                f.write_all(content.as_bytes())?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Replace the whole file (server-owned files such as the registry), atomically. An
    /// existing file keeps its mode; a new one gets 0666 less the umask.
    pub fn write(&self, path: &Path, content: &str) -> io::Result<()> {
        let lock = self.shared.lock_for(path);
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut temp = new_temp(path)?;
        temp.write_all(content.as_bytes())?;
        let sig = Sig::of(&temp.as_file().metadata()?);
        temp.persist(path).map_err(|e| e.error)?;
        self.shared
            .written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_path_buf(), sig);
        Ok(())
    }
}

/// Bytes that are not UTF-8 become characters of a private-use range (U+10FF00 + byte) for
/// the edit, and go back to the same bytes when it is written ([`unescape`]): lossless, as
/// long as the text does not hold those characters itself (they are reserved for private use
/// and never typed).
fn escape(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    if let Ok(t) = std::str::from_utf8(bytes) {
        return std::borrow::Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            out.push(char::from_u32(ESCAPE_BASE + b as u32).expect("in range"));
        }
    }
    std::borrow::Cow::Owned(out)
}

const ESCAPE_BASE: u32 = 0x10FF00;

fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let v = c as u32;
        if (ESCAPE_BASE..=ESCAPE_BASE + 0xFF).contains(&v) {
            out.push((v - ESCAPE_BASE) as u8);
        } else {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    out
}

/// Length of a multi-byte character cut at the end of `bytes`, if it ends in one.
fn incomplete_tail(bytes: &[u8]) -> Option<usize> {
    let start = bytes.len().saturating_sub(3);
    for i in (start..bytes.len()).rev() {
        let b = bytes[i];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte
        }
        let need = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return None,
        };
        let have = bytes.len() - i;
        return (have < need).then_some(have);
    }
    None
}

/// Why a log (`len` bytes, ending with `window`, starting with `head`) looks like it is in the
/// middle of a save, if it does.
pub(crate) fn mid_save(len: u64, window: &[u8], head: &str) -> Option<&'static str> {
    if len == 0 {
        return Some("empty");
    }
    if incomplete_tail(window).is_some() {
        return Some("ends inside a character");
    }
    if !crate::log::window::head_has_title(head) {
        return Some("no title");
    }
    let tail_start = window.len().saturating_sub(WINDOW as usize);
    let tail = &window[tail_start..];
    if !tail.windows(FOOTER_MARK.len()).any(|w| w == FOOTER_MARK) {
        return Some("no footer near the end");
    }
    None
}

/// Run `f` (a wait) without holding the file's lock.
fn relock_after<'a>(
    lock: &'a Mutex<()>,
    guard: &mut Option<std::sync::MutexGuard<'a, ()>>,
    f: impl FnOnce(),
) {
    drop(guard.take());
    f();
    *guard = Some(lock.lock().unwrap_or_else(|e| e.into_inner()));
}

/// Read the file: its identity, its head, and its tail from a window boundary (or all of it).
fn snapshot(path: &Path, window: Option<(Boundary, u64)>) -> io::Result<Option<Snapshot>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let sig = Sig::of(&file.metadata()?);
    let len = sig.len;
    let mut head = vec![0; len.min(HEAD) as usize];
    file.read_exact(&mut head).or_else(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => Ok(()),
        _ => Err(e),
    })?;
    let head = match String::from_utf8(head) {
        Ok(s) => s,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
    };
    let mut offset = 0;
    if let Some((boundary, min)) = window {
        // Widen the chunk until it holds a boundary at least `min` from the end.
        let mut chunk = min.max(WINDOW);
        while chunk < len {
            let start = len - chunk;
            let mut buf = vec![0; (len - start) as usize];
            file.seek(SeekFrom::Start(start))?;
            read_up_to(&mut file, &mut buf)?;
            // Only a boundary at least `min` from the end counts (the earliest is taken).
            let limit = buf.len().saturating_sub(min as usize);
            if let Some(at) = boundary(&buf).filter(|&a| a <= limit) {
                offset = start + at as u64;
                let mut window = buf.split_off(at);
                // The file may have grown since `len` was taken: read on to its end.
                file.seek(SeekFrom::Start(len))?;
                file.read_to_end(&mut window)?;
                return Ok(Some(Snapshot {
                    file,
                    sig,
                    offset,
                    window,
                    head,
                }));
            }
            chunk = chunk.saturating_mul(4);
        }
    }
    let mut window = Vec::with_capacity(len as usize);
    file.seek(SeekFrom::Start(offset))?;
    file.read_to_end(&mut window)?;
    Ok(Some(Snapshot {
        file,
        sig,
        offset,
        window,
        head,
    }))
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    if filled < buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::Interrupted,
            "the file shrank while it was read",
        ));
    }
    Ok(())
}

/// Is the file at `path` still exactly what `snap` read: same inode, size and modification
/// time, same bytes in the window?
fn unchanged(path: &Path, snap: &Snapshot) -> io::Result<bool> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if Sig::of(&file.metadata()?) != snap.sig {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(snap.offset))?;
    let mut now = Vec::with_capacity(snap.window.len());
    file.read_to_end(&mut now)?;
    Ok(now == snap.window)
}

/// A temporary file beside `path`, with `path`'s mode if it exists, else the mode a new file
/// gets (0666 less the umask).
fn new_temp(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".daebug-").suffix(".tmp");
    #[cfg(unix)]
    let perms = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(0o666)
    };
    #[cfg(unix)]
    builder.permissions(perms);
    let temp = builder.tempfile_in(dir)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = temp.as_file().set_permissions(meta.permissions());
    }
    Ok(temp)
}

/// The new file: the old file's bytes before the window (copied by the kernel where it can),
/// then the edited window.
fn write_temp(
    path: &Path,
    snap: &Snapshot,
    tail: &[u8],
    cut: &[u8],
) -> io::Result<tempfile::NamedTempFile> {
    let mut temp = new_temp(path)?;
    if snap.offset > 0 {
        let mut src = &snap.file;
        src.seek(SeekFrom::Start(0))?;
        let copied = io::copy(&mut src.take(snap.offset), temp.as_file_mut())?;
        if copied != snap.offset {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the file shrank while it was copied",
            ));
        }
    }
    temp.write_all(tail)?;
    temp.write_all(cut)?;
    Ok(temp)
}

#[cfg(test)]
mod tests;
