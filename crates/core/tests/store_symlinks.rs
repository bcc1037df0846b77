//! Never leave the root (SPEC 8): a log, the log directory or the registry that is a symbolic
//! link is neither read, written nor replaced, whatever it points to, and the server says so.

#![cfg(unix)]

mod common;

use common::server;
use daebug_core::engine::{Engine, Options};
use std::os::unix::fs::symlink;
use std::time::Duration;

const REALM: &str = "8-moss-1300-00";

fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = walk(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_directory_linked_out_of_the_root_is_not_used() {
    let outside = tempfile::tempdir().unwrap();
    let s = server(|_| {}).await;
    symlink(outside.path(), s.root.join("daebug")).unwrap();
    assert_eq!(s.poll(REALM).await.status, 200);
    s.post(
        REALM,
        r#"{"type":"background-flush","events":[{"type":"console","level":"log","eventAt":"2026-01-01T00:00:00Z","message":"x"}]}"#,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        tree(outside.path()).is_empty(),
        "{:?}",
        tree(outside.path())
    );
    let reg = std::fs::read_to_string(s.root.join("daebug.md")).unwrap();
    assert!(
        reg.contains("> ⚠️ `daebug` is a symbolic link: Daebug neither reads nor writes it."),
        "{reg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_linked_out_of_the_root_is_neither_read_nor_written() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.md");
    let content = "# secret\n\nSECRET-TOKEN\n\n```js\n1 + 1\n```\n";
    std::fs::write(&secret, content).unwrap();
    let s = server(|_| {}).await;
    std::fs::create_dir(s.root.join("daebug")).unwrap();
    symlink(&secret, s.log(REALM)).unwrap();
    assert_eq!(s.poll(REALM).await.status, 200);
    s.post(
        REALM,
        r#"{"type":"background-flush","events":[{"type":"console","level":"log","eventAt":"2026-01-01T00:00:00Z","message":"x"}]}"#,
    )
    .await;
    // An agent appends through the link: still nothing is run or written.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&secret)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"\n```js\n2\n```\n"))
        .unwrap();
    let job = s.poll(REALM).await;
    assert!(
        job.body.is_empty(),
        "a request behind a link ran: {}",
        job.body
    );
    // Nor through `daebug run` / the HTTP API / MCP: refused in one line, nothing written.
    let refused = s
        .engine
        .submit(Some(REALM), "agent", "3", std::time::Duration::from_secs(2))
        .await
        .expect_err("a request through a linked log must be refused");
    assert!(refused.to_string().contains("symbolic link"), "{refused}");
    // Nor read through the HTTP API.
    let read = s.get(&format!("/-daebug-api/log?realm={REALM}")).await;
    assert_eq!(read.status, 403, "{}", read.body);
    assert!(!read.body.contains("SECRET-TOKEN"), "{}", read.body);
    let after = std::fs::read_to_string(&secret).unwrap();
    assert_eq!(after, format!("{content}\n```js\n2\n```\n"));
    assert!(std::fs::symlink_metadata(s.log(REALM))
        .unwrap()
        .file_type()
        .is_symlink());
    for p in walk(&s.root) {
        if p.is_file()
            && !std::fs::symlink_metadata(&p)
                .unwrap()
                .file_type()
                .is_symlink()
        {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            assert!(
                !text.contains("SECRET-TOKEN"),
                "copied into {}",
                p.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_linked_out_of_the_root_is_left_alone() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("notes.md");
    std::fs::write(&target, "mine\n").unwrap();
    symlink(&target, root.path().join("daebug.md")).unwrap();
    let engine = Engine::new(Options::new(root.path())).unwrap();
    engine.start().unwrap();
    engine.write_registry();
    engine.close();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine\n");
    assert!(std::fs::symlink_metadata(root.path().join("daebug.md"))
        .unwrap()
        .file_type()
        .is_symlink());
}
