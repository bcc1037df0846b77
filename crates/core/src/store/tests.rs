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
