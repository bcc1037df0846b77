//! Safe writes to files an agent may be editing at the same time (SPEC 3.4).
//!
//! Every edit is a read-modify-write under a per-file lock: read, apply a pure edit, write a
//! temporary file in the same directory, check the file did not change meanwhile (redo the edit
//! on the new content if it did), rename over it. Appends that reach the old file in the instant
//! between that check and the rename are caught by re-reading the replaced file through the
//! handle we kept, and re-appended: an agent's text is never lost.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a replaced file is watched for late appends through a handle opened before the
/// rename.
const LATE_APPEND_GRACE: Duration = Duration::from_millis(250);

/// A per-file locking writer. Cheap to clone.
#[derive(Clone, Default)]
pub struct Store {
    locks: Arc<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>>,
    /// Size and modification time of each file right after our last write to it.
    written: Arc<Mutex<HashMap<PathBuf, (u64, std::time::SystemTime)>>>,
}

/// What an edit closure decided.
pub enum Edit<R> {
    /// Write this text; return the value.
    Write(String, R),
    /// Leave the file as it is; return the value.
    Keep(R),
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    fn lock_for(&self, path: &Path) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(path.to_path_buf()).or_default().clone()
    }

    /// Remember what we are about to rename over `path`: the temporary file's size and
    /// modification time (a rename keeps both). Taken before the rename, so an append that lands
    /// right after it cannot be mistaken for our own write.
    fn remember_write(&self, path: &Path, temp: &tempfile::NamedTempFile) {
        let Ok(meta) = temp.as_file().metadata() else {
            return;
        };
        let Ok(modified) = meta.modified() else {
            return;
        };
        let mut w = self.written.lock().unwrap_or_else(|e| e.into_inner());
        w.insert(path.to_path_buf(), (meta.len(), modified));
    }

    /// Forget our last write to `path`: the next change notification is read in full.
    pub fn forget(&self, path: &Path) {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(path);
    }

    /// Is the file exactly as our last write left it? (Then a change notification for it was
    /// our own, and there is nothing new to read.)
    pub fn is_as_written(&self, path: &Path) -> bool {
        let Ok(meta) = std::fs::metadata(path) else {
            return false;
        };
        let Ok(modified) = meta.modified() else {
            return false;
        };
        let w = self.written.lock().unwrap_or_else(|e| e.into_inner());
        w.get(path) == Some(&(meta.len(), modified))
    }

    /// Read the file (`None` when it does not exist).
    pub fn read(&self, path: &Path) -> io::Result<Option<String>> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Apply `edit` to the current content of an existing file. `edit` may run more than once
    /// (when the file changes under it), so it must be a pure function of its input. Returns
    /// `Ok(None)` when the file does not exist.
    pub fn edit<R>(
        &self,
        path: &Path,
        mut edit: impl FnMut(&str) -> Edit<R>,
    ) -> io::Result<Option<R>> {
        let lock = self.lock_for(path);
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut incomplete_reads = 0;
        loop {
            let mut file = match File::open(path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let mut before = Vec::new();
            file.read_to_end(&mut before)?;
            let text = match std::str::from_utf8(&before) {
                Ok(t) => t,
                // A multi-byte character cut at the end: an append in progress. Read again.
                Err(e) if e.error_len().is_none() && incomplete_reads < 20 => {
                    incomplete_reads += 1;
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                // Rewriting would replace the agent's bytes: leave the file alone.
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{} is not valid UTF-8; Daebug leaves it untouched until it is",
                            path.display()
                        ),
                    ))
                }
            };
            let (new_text, result) = match edit(text) {
                Edit::Keep(r) => return Ok(Some(r)),
                Edit::Write(t, r) => (t, r),
            };
            let temp = write_temp(path, new_text.as_bytes())?;
            // Changed since we read it? Then redo the edit on what is there now.
            if std::fs::read(path).ok().as_deref() != Some(&before[..]) {
                drop(temp);
                continue;
            }
            self.remember_write(path, &temp);
            temp.persist(path).map_err(|e| e.error)?;
            recover_late_appends(path, file, before.len() as u64, true)?;
            return Ok(Some(result));
        }
    }

    /// Create the file with `content` unless it exists. Returns whether it was created.
    pub fn create_new(&self, path: &Path, content: &str) -> io::Result<bool> {
        let lock = self.lock_for(path);
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

    /// Replace the whole file (server-owned files such as the registry), atomically.
    pub fn write(&self, path: &Path, content: &str) -> io::Result<()> {
        let lock = self.lock_for(path);
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let temp = write_temp(path, content.as_bytes())?;
        self.remember_write(path, &temp);
        temp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

type LateCheck = (PathBuf, File, u64, Instant);

/// One background thread re-checks replaced files once their grace period is over.
fn late_checker() -> &'static mpsc::Sender<LateCheck> {
    static CHECKER: OnceLock<mpsc::Sender<LateCheck>> = OnceLock::new();
    CHECKER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<LateCheck>();
        std::thread::Builder::new()
            .name("daebug-late-append".into())
            .spawn(move || {
                for (path, old, known, due) in rx {
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    if let Err(e) = recover_late_appends(&path, old, known, false) {
                        tracing::debug!(path = %path.display(), error = %e, "late-append check failed");
                    }
                }
            })
            .expect("spawn the late-append checker");
        tx
    })
}

fn write_temp(path: &Path, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".daebug-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = temp.as_file().set_permissions(meta.permissions());
    }
    Ok(temp)
}

/// Text appended to the replaced file after we read it (through a handle opened before our
/// rename) is appended to the new file. Checked now and once more after a short grace period.
fn recover_late_appends(
    path: &Path,
    mut old: File,
    read_len: u64,
    schedule_recheck: bool,
) -> io::Result<()> {
    let len = old.metadata()?.len();
    let mut known = read_len;
    if len > read_len {
        let mut extra = Vec::new();
        old.seek(SeekFrom::Start(read_len))?;
        old.read_to_end(&mut extra)?;
        known = read_len + extra.len() as u64;
        tracing::debug!(path = %path.display(), bytes = extra.len(), "re-appending text written to the replaced log");
        let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
        f.write_all(&extra)?;
    }
    if schedule_recheck {
        late_checker()
            .send((
                path.to_path_buf(),
                old,
                known,
                Instant::now() + LATE_APPEND_GRACE,
            ))
            .ok();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_and_keep() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.md");
        let s = Store::new();
        assert!(s.edit(&p, |_| Edit::Keep(())).unwrap().is_none());
        assert!(s.create_new(&p, "one\n").unwrap());
        assert!(!s.create_new(&p, "two\n").unwrap());
        s.edit(&p, |t| Edit::Write(format!("{t}two\n"), ()))
            .unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one\ntwo\n");
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn knows_its_own_writes_from_the_agents() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.md");
        std::fs::write(&p, "a\n").unwrap();
        let s = Store::new();
        assert!(!s.is_as_written(&p));
        s.edit(&p, |t| Edit::Write(format!("{t}b\n"), ())).unwrap();
        assert!(s.is_as_written(&p));
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"agent\n").unwrap();
        assert!(!s.is_as_written(&p));
        s.write(&p, "x").unwrap();
        assert!(s.is_as_written(&p));
        s.forget(&p);
        assert!(!s.is_as_written(&p));
    }

    #[test]
    fn invalid_utf8_is_never_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.md");
        std::fs::write(&p, b"caf\xe9 au lait\n").unwrap();
        let err = Store::new()
            .edit(&p, |t| Edit::Write(format!("{t}x"), ()))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(std::fs::read(&p).unwrap(), b"caf\xe9 au lait\n");
    }

    #[test]
    fn edit_is_redone_when_the_file_changed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.md");
        std::fs::write(&p, "a\n").unwrap();
        let s = Store::new();
        let mut first = true;
        s.edit(&p, |t| {
            if first {
                first = false;
                // The agent saves while we are editing.
                std::fs::write(&p, "a\nagent\n").unwrap();
            }
            Edit::Write(format!("server\n{t}"), ())
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "server\na\nagent\n");
    }
}
