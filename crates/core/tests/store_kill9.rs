//! kill -9: the standalone server (the `daebug` binary) killed at a random moment while it
//! answers jobs and writes background events into a realm's log — so, sooner or later, in the
//! middle of one of its writes. Every write is a new version put in place in one step, so the
//! log must always be one whole version: every byte the agent wrote is there exactly once, with
//! one title and one footer, and valid UTF-8. A server started again on the same root answers
//! what the killed one left `executing`/`queued` ("result lost"), and requests run again.
//!
//! (What this cannot promise: an append whose open found the file a moment before the killed
//! server replaced it lands in the replaced file, which only a live server carries over. The
//! agent here stops appending 100 ms before the kill.)

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REALM: &str = "5-elm-1203-00";
const ROUNDS: u64 = 8;
const FOOTER_PROMPT: &str = "> Append your JavaScript snippet below to execute against this page.";

async fn start(root: &Path) -> (tokio::process::Child, SocketAddr) {
    common::spawn_binary(root).await
}

/// One request; `None` when the server is gone (killed mid-request).
async fn request(addr: SocketAddr, method: &str, body: &str) -> Option<(String, String)> {
    let path = format!("/-daebug-channel?name={REALM}&url=http%3A%2F%2Flocalhost%2F");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        addr.port(),
        body.len()
    );
    let go = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(req.as_bytes()).await.ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        let text = String::from_utf8_lossy(&out).into_owned();
        let (head, body) = text.split_once("\r\n\r\n")?;
        Some((head.to_string(), body.to_string()))
    };
    tokio::time::timeout(Duration::from_secs(5), go)
        .await
        .ok()
        .flatten()
}

/// The realm: answers each job with its key, and flushes a background event every few ms.
async fn realm(addr: SocketAddr, stop: Arc<AtomicBool>) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if let Some((head, body)) = request(addr, "GET", "").await {
            let id = head
                .lines()
                .find_map(|l| l.strip_prefix("x-job-id: "))
                .map(str::to_string);
            if let Some(id) = id {
                let result = format!(
                    r#"{{"ok":true,"value":"answered {}","jobId":"{id}","backgroundEvents":[]}}"#,
                    body.trim().replace('"', "'")
                );
                request(addr, "POST", &result).await;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let flush = format!(
            r#"{{"type":"background-flush","reportedAt":"2026-01-01T00:00:00Z","events":[{{"type":"console","level":"log","eventAt":"2026-01-01T00:00:00Z","message":"bg ✓ {n}"}}]}}"#
        );
        request(addr, "POST", &flush).await;
        n += 1;
    }
}

fn chunk(key: &str) -> String {
    format!("\nnote {key}: alpha — beta ✓\n\n```js\nrun(\"{key}\")\n```\n")
}

fn log_path(root: &Path) -> PathBuf {
    root.join("daebug").join(format!("{REALM}.md"))
}

async fn wait_for(path: &Path, secs: u64, pred: impl Fn(&str) -> bool) -> String {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if pred(&text) || Instant::now() > until {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Everything that must hold of the log at any time: one whole version with all agent text.
fn check_whole(text: &str, sent: &[String], when: &str) {
    assert_eq!(
        text.matches(&format!("# {REALM} session")).count(),
        1,
        "{when}: one title\n{text}"
    );
    assert_eq!(
        text.matches(FOOTER_PROMPT).count(),
        1,
        "{when}: one footer\n{text}"
    );
    for key in sent {
        assert_eq!(
            text.matches(&chunk(key)[1..]).count(),
            1,
            "{when}: the agent's chunk {key} is there exactly once, whole\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_write_leaves_every_log_whole() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::write(
        root.join("index.html"),
        "<html><head></head><body>x</body></html>",
    )
    .unwrap();
    let log = log_path(&root);
    let mut sent: Vec<String> = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..ROUNDS {
        let (mut child, addr) = start(&root).await;
        let stop = Arc::new(AtomicBool::new(false));
        let realm_task = tokio::spawn(realm(addr, stop.clone()));
        let text = wait_for(&log, 10, |t| t.contains(FOOTER_PROMPT)).await;
        assert!(
            text.contains(FOOTER_PROMPT),
            "round {round}: the log exists"
        );
        // The agent appends a few requests while the server answers and flushes...
        let agent_stop = Arc::new(AtomicBool::new(false));
        let agent = {
            let (log, stop) = (log.clone(), agent_stop.clone());
            std::thread::spawn(move || {
                let mut keys = Vec::new();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let key = format!("k{round}-{i}");
                    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
                    f.write_all(chunk(&key).as_bytes()).unwrap();
                    keys.push(key);
                    std::thread::sleep(Duration::from_millis(40));
                }
                keys
            })
        };
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        tokio::time::sleep(Duration::from_millis(200 + rng % 300)).await;
        agent_stop.store(true, Ordering::Relaxed);
        sent.extend(agent.join().unwrap());
        // ...stops, and the server goes on writing until it is killed, at a random moment.
        tokio::time::sleep(Duration::from_millis(100 + (rng >> 20) % 400)).await;
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        stop.store(true, Ordering::Relaxed);
        let _ = realm_task.await;
        let text = std::fs::read_to_string(&log).expect("the log is valid UTF-8");
        check_whole(&text, &sent, &format!("after kill {round}"));
    }
    // A server started again answers what the killed ones left waiting, and runs requests.
    let (mut child, addr) = start(&root).await;
    let stop = Arc::new(AtomicBool::new(false));
    let realm_task = tokio::spawn(realm(addr, stop.clone()));
    let key = "after-restart".to_string();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(chunk(&key).as_bytes()).unwrap();
    sent.push(key);
    let text = wait_for(&log, 15, |t| {
        t.contains("answered run('after-restart')")
            && !t.contains("\nexecuting (")
            && !t.contains("\nqueued")
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let _ = realm_task.await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    check_whole(&text, &sent, "after the restart");
    assert!(
        text.contains("answered run('after-restart')"),
        "a request after the restart runs\n{text}"
    );
    assert!(
        !text.contains("\nexecuting (") && !text.contains("\nqueued"),
        "every placeholder the killed servers left is answered\n{text}"
    );
    // Every request has exactly one reply: it ran, or it is reported lost.
    let replies = text.matches("\n#### 👍").count() + text.matches("\n#### 🚫").count();
    let requests = text.matches("```js\nrun(").count();
    assert_eq!(replies, requests, "one reply per request\n{text}");
}
