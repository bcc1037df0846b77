use super::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
fn bytes_that_are_not_utf8_are_kept_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.md");
    std::fs::write(&p, b"caf\xe9 au lait\n").unwrap();
    Store::new()
        .edit(&p, |t| Edit::Write(format!("{t}x"), ()))
        .unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"caf\xe9 au lait\nx");
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

#[test]
fn bytes_that_are_not_utf8_survive_edits() {
    let bytes: &[u8] = b"caf\xe9 au lait\n\xf0\x9f";
    let escaped = escape(bytes);
    assert!(matches!(escaped, std::borrow::Cow::Owned(_)));
    assert_eq!(unescape(&escaped), bytes);
    assert_eq!(incomplete_tail(b"ab\xf0\x9f"), Some(2));
    assert_eq!(incomplete_tail("ab✓".as_bytes()), None);
    assert_eq!(incomplete_tail(b"ab\xe2"), Some(1));
}

#[cfg(unix)]
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .unwrap_or(0o022)
}

#[cfg(unix)]
#[test]
fn new_files_get_the_usual_mode_and_existing_modes_survive() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let s = Store::new();
    // A new registry (written whole) and a new log (created): 0666 less the umask.
    let reg = dir.path().join("daebug.md");
    s.write(&reg, "# registry\n").unwrap();
    assert_eq!(mode(&reg), 0o666 & !umask());
    let log = dir.path().join("daebug").join("r.md");
    assert!(s.create_new(&log, "# r session\n").unwrap());
    assert_eq!(mode(&log), 0o666 & !umask());
    // An existing file's mode survives our rewrites.
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o640)).unwrap();
    s.edit(&log, |t| Edit::Write(format!("{t}x\n"), ()))
        .unwrap();
    assert_eq!(mode(&log), 0o640);
    std::fs::set_permissions(&reg, std::fs::Permissions::from_mode(0o604)).unwrap();
    s.write(&reg, "# registry again\n").unwrap();
    assert_eq!(mode(&reg), 0o604);
}

fn sample_log() -> String {
    let mut v0 = String::from("# title\n\nintro text\n\n---\n\n");
    for i in 0..40 {
        v0.push_str(&format!(
            "### request {i}\n\n```js\n{i}\n```\n\n#### reply {i}\n\n"
        ));
    }
    v0.push_str("```js\nslow()\n```\n\naccepted\n\n---- footer\n> Append below.\n");
    v0
}

/// Wait (up to 3 s) until the file holds `needle`; return its text.
fn wait_for(p: &Path, needle: &str) -> String {
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        let now = std::fs::read_to_string(p).unwrap();
        if now.contains(needle) || Instant::now() > until {
            // Let a second (wrong) carry-over show itself, if there is one.
            std::thread::sleep(Duration::from_millis(300));
            return std::fs::read_to_string(p).unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An in-place save (truncate + write) through a handle opened just before the store replaced
/// the file — what an editor holding the file open does, and what `fs.writeFileSync` (open
/// O_TRUNC, then write) does when the store's exchange lands between its path lookup and its
/// truncate. The save is brought in as a new version, with the store's edit (made after the
/// version the agent read) re-applied beneath it, and the engine is told.
#[test]
fn rewrite_through_a_handle_opened_before_the_replace_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.md");
    let v0 = sample_log();
    std::fs::write(&p, &v0).unwrap();
    let s = Store::new();
    let told = Arc::new(Mutex::new(0));
    let t = told.clone();
    s.on_change(move |_| *t.lock().unwrap() += 1);
    // The agent opens the file to save (its open resolved the current inode)...
    let mut held = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    // ...the store replaces it (marks the job executing)...
    s.edit_log(
        &p,
        |_| Some(0),
        |v| Edit::Write(v.text.replace("\naccepted\n", "\nexecuting (1s)\n"), ()),
    )
    .unwrap();
    // ...then the agent's truncate + write of what it read plus its change lands in the old
    // inode, after a pause with the file empty.
    let marker = "NOTE FROM THE AGENT";
    let cut = v0.find("\n---\n").unwrap();
    let request = "```js\nagent()\n```\n";
    let saved = format!("{}\n\n{}{}{}", &v0[..cut], marker, &v0[cut..], request);
    held.set_len(0).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    held.write_all(saved.as_bytes()).unwrap();
    drop(held);
    let now = wait_for(&p, marker);
    let expected = format!(
        "{}\n\n{}{}{}",
        &v0[..cut],
        marker,
        &v0[cut..].replace("\naccepted\n", "\nexecuting (1s)\n"),
        request
    );
    assert_eq!(
        now, expected,
        "the agent's save, with the store's edit beneath it"
    );
    assert!(*told.lock().unwrap() >= 1, "the engine was not told");
}

/// A replaced inode truncated through an old handle and left empty longer than the store waits
/// for a save to settle: the empty state is never taken for the save (it once was, and the
/// whole save written next then looked like an append to nothing, and the file got a second
/// copy of itself). The save written afterwards is brought in as one.
#[test]
fn an_old_inode_left_empty_past_the_wait_does_not_make_the_next_save_an_append() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.md");
    let v0 = sample_log();
    std::fs::write(&p, &v0).unwrap();
    let s = Store::new();
    let mut held = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    s.edit_log(
        &p,
        |_| Some(0),
        |v| Edit::Write(v.text.replace("\naccepted\n", "\nexecuting (1s)\n"), ()),
    )
    .unwrap();
    held.set_len(0).unwrap();
    std::thread::sleep(MAX_WAIT + Duration::from_millis(400));
    let marker = "NOTE FROM THE AGENT";
    let cut = v0.find("\n---\n").unwrap();
    let saved = format!("{}\n\n{}{}", &v0[..cut], marker, &v0[cut..]);
    held.seek(SeekFrom::Start(0)).unwrap();
    held.write_all(saved.as_bytes()).unwrap();
    drop(held);
    let now = wait_for(&p, marker);
    assert_eq!(now.matches("# title").count(), 1, "{now}");
    assert_eq!(now.matches(marker).count(), 1, "{now}");
    assert!(now.contains("\nexecuting (1s)\n"), "{now}");
}

/// The same, with the agent's save based on the store's version (read after the replace) and
/// another tool appending to the current file meanwhile: both are kept, once.
#[test]
fn rewrite_through_an_old_handle_keeps_appends_to_the_current_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.md");
    std::fs::write(&p, sample_log()).unwrap();
    let s = Store::new();
    let mut held = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    s.edit_log(
        &p,
        |_| Some(0),
        |v| Edit::Write(v.text.replace("\naccepted\n", "\nexecuting (1s)\n"), ()),
    )
    .unwrap();
    // The agent reads the current version...
    let read = std::fs::read_to_string(&p).unwrap();
    // ...another tool appends to the current file...
    let other = "```js\nother()\n```\n";
    std::fs::OpenOptions::new()
        .append(true)
        .open(&p)
        .unwrap()
        .write_all(other.as_bytes())
        .unwrap();
    // ...and the agent saves through its old handle.
    let mine = "```js\nmine()\n```\n";
    held.set_len(0).unwrap();
    held.write_all(format!("{read}{mine}").as_bytes()).unwrap();
    drop(held);
    let now = wait_for(&p, "mine()");
    assert_eq!(now, format!("{read}{mine}{other}"));
}

/// A writer that keeps its handle long after the store replaced the file (an editor, a
/// process streaming into the log): its inode is watched for as long as it is held open for
/// writing, so what it writes there later still arrives.
#[cfg(target_os = "linux")]
#[test]
fn a_handle_held_past_the_watch_is_still_watched() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.md");
    std::fs::write(&p, sample_log()).unwrap();
    let s = Store::new();
    let mut held = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    s.edit_log(
        &p,
        |_| Some(0),
        |v| Edit::Write(v.text.replace("\naccepted\n", "\nexecuting (1s)\n"), ()),
    )
    .unwrap();
    std::thread::sleep(LATE_WATCH + Duration::from_millis(600));
    held.write_all(b"```js\nlate()\n```\n").unwrap();
    let now = wait_for(&p, "late()");
    assert!(
        now.ends_with("executing (1s)\n\n---- footer\n> Append below.\n```js\nlate()\n```\n"),
        "{now:?}"
    );
}

/// On Linux a replaced inode that no process holds open for writing can never change again:
/// its watch ends soon after the replace instead of lasting [`LATE_WATCH`] (a busy log has
/// hundreds of edits in that time, and looking at each replaced inode every 2 ms cost the
/// server a good part of a core). One that a writer holds stays watched.
#[cfg(target_os = "linux")]
#[test]
fn a_replaced_file_nobody_holds_is_soon_no_longer_watched() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.md");
    let q = dir.path().join("b.md");
    std::fs::write(&p, sample_log()).unwrap();
    std::fs::write(&q, sample_log()).unwrap();
    let s = Store::new();
    let _held = std::fs::OpenOptions::new().append(true).open(&q).unwrap();
    for path in [&p, &q] {
        for i in 0..5 {
            s.edit(path, |t| Edit::Write(format!("{t}edit {i}\n"), ()))
                .unwrap();
        }
    }
    assert_eq!(late::watching(&p), 5);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        late::watching(&p),
        0,
        "nobody holds them: no longer watched"
    );
    // Only the first version of b.md was opened by the writer; the later ones nobody holds.
    assert_eq!(
        late::watching(&q),
        1,
        "the inode a writer holds is still watched"
    );
}
