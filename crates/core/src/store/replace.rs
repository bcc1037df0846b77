//! Replacing a file by a new version in one step that cannot swallow an agent's save.
//!
//! On Linux the new file is exchanged with the current one (`renameat2(RENAME_EXCHANGE)`), so
//! what was at the path comes out under the temporary name and can be inspected: if it is the
//! inode the edit read, unchanged or only appended to, the replace stands (appended bytes are
//! carried over by the late-append watch). If it is not — the agent saved (by rename, or by
//! rewriting in place) after the store's last check — the exchange is undone and the caller
//! redoes its edit on the agent's version. Where exchange is unavailable, a plain rename.

use super::late::Old;
use super::Sig;
use std::fs::File;
use std::io;
use std::path::Path;

pub(super) enum Outcome {
    /// The file was replaced. `old` is a handle on the inode that was replaced (`None` where
    /// none could be kept: WASI on a file system without hard links); `appended`
    /// whether it had already grown past what was read.
    Replaced { old: Option<Old>, appended: bool },
    /// The file changed between the check and the replace: nothing was replaced; redo.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Conflict,
}

/// Put `temp` in place of `path`. `read` is a handle on the file the edit read, `sig` its
/// identity then, `last` the last bytes it read (up to its end).
pub(super) fn replace(
    temp: tempfile::NamedTempFile,
    path: &Path,
    read: &File,
    sig: Sig,
    #[cfg_attr(not(target_os = "linux"), allow(unused_variables))] last: &[u8],
) -> io::Result<Outcome> {
    #[cfg(not(target_os = "wasi"))]
    let old = Old::keep(read, path)?;
    // A file system without hard links (FAT, some network mounts): the replace goes ahead
    // unwatched, rather than every edit failing.
    #[cfg(target_os = "wasi")]
    let old = Old::keep(read, path)
        .map_err(|e| tracing::debug!(error = %e, "cannot keep the replaced file for the late-write watch"))
        .ok();
    #[cfg(target_os = "linux")]
    {
        match exchange(temp.path(), path) {
            Ok(()) => return verify_exchange(temp, path, old, sig, last),
            Err(e) if exchange_unsupported(&e) => {
                tracing::debug!(error = %e, "RENAME_EXCHANGE unavailable; using rename");
            }
            Err(e) => return Err(e),
        }
    }
    temp.persist(path).map_err(|e| e.error)?;
    #[cfg(not(target_os = "wasi"))]
    let old = Some(old);
    let appended = old
        .as_ref()
        .and_then(|o| o.sig().ok())
        .is_some_and(|s| s.len != sig.len);
    Ok(Outcome::Replaced { old, appended })
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(target_os = "linux")]
fn exchange_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == rustix::io::Errno::INVAL.raw_os_error()
            || code == rustix::io::Errno::NOSYS.raw_os_error()
            || code == rustix::io::Errno::OPNOTSUPP.raw_os_error()
    )
}

/// After the exchange, the temporary name holds what was at `path`. Keep the replace if that is
/// the inode we read, not rewritten; otherwise undo it.
#[cfg(target_os = "linux")]
fn verify_exchange(
    temp: tempfile::NamedTempFile,
    path: &Path,
    old: Old,
    sig: Sig,
    last: &[u8],
) -> io::Result<Outcome> {
    use std::io::{Read, Seek, SeekFrom};
    let out = Sig::of(&std::fs::metadata(temp.path())?);
    let ours = Sig::of(&temp.as_file().metadata()?).ino;
    let same_inode = out.ino == sig.ino;
    let mut intact = same_inode && out.len == sig.len && out.modified == sig.modified;
    let mut appended = false;
    if same_inode && !intact && out.len > sig.len && sig.len > 0 {
        // Grown: an append if the last bytes we read are still where they were (a rewrite in
        // place that changed nothing there is an append too, as far as the text goes).
        let k = last.len().min(4096);
        let mut then = vec![0; k];
        old.with(|mut f| {
            f.seek(SeekFrom::Start(sig.len - k as u64))?;
            f.read_exact(&mut then)
        })?;
        appended = then == last[last.len() - k..];
        intact = appended;
    }
    if same_inode && !intact && out.len == sig.len && sig.len >= last.len() as u64 {
        // Same length, new modification time: a write is under way right now (an append
        // updates the time before the length; it is carried over by the watch once it lands),
        // or the file was rewritten with as many bytes. Undoing the exchange would put the
        // agent's file back — and lose whatever another writer appended to ours meanwhile —
        // so look: if the bytes are still the ones the edit read, the replace stands.
        intact = old.with(|f| same_as_read(f, temp.as_file(), sig.len, last))?;
    }
    if intact {
        drop(temp); // unlinks the replaced inode; `old` keeps it readable
        return Ok(Outcome::Replaced {
            old: Some(old),
            appended,
        });
    }
    // Undo, unless someone replaced our version too (then theirs stays).
    let at_path = std::fs::metadata(path).map(|m| Sig::of(&m).ino).ok();
    if at_path == Some(ours) {
        exchange(temp.path(), path)?;
    }
    drop(temp); // unlinks our version
    tracing::debug!(path = %path.display(), "a save landed while the file was replaced; redoing the edit");
    Ok(Outcome::Conflict)
}

/// Does `old` (`len` bytes when read) still hold exactly what the edit read: `last` at its end,
/// and before it the bytes the edit copied into `ours`?
#[cfg(target_os = "linux")]
fn same_as_read(old: &File, ours: &File, len: u64, last: &[u8]) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let read = |f: &File, buf: &mut [u8], at: u64| match f.read_exact_at(buf, at) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    };
    let offset = len - last.len() as u64;
    let mut tail = vec![0; last.len()];
    if !read(old, &mut tail, offset)? || tail != last {
        return Ok(false);
    }
    const CHUNK: u64 = 64 * 1024;
    let (mut a, mut b) = (vec![0; CHUNK as usize], vec![0; CHUNK as usize]);
    let mut at = 0;
    while at < offset {
        let n = CHUNK.min(offset - at) as usize;
        if !read(old, &mut a[..n], at)? || !read(ours, &mut b[..n], at)? || a[..n] != b[..n] {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}
