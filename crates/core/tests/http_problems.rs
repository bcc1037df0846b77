//! "No silent non-run" (issue 7 item 5): a request below the footer that cannot run gets exactly
//! one ⚠️ diagnostic in the log — still one after further unrelated edits — and runs once the
//! agent fixes the text. A real server on 127.0.0.1, a simulated realm, files checked on disk.

mod common;

use common::{server, TestServer};
use std::path::Path;
use std::time::{Duration, Instant};

const REALM: &str = "7-zen-1201-03";
const FOOTER: &str = "----------------------------------------------------------------------\n> Append your JavaScript snippet below to execute against this page.\n";

/// The log, bytes that are not UTF-8 shown as U+FFFD.
fn read(log: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(log).unwrap_or_default()).into_owned()
}

async fn wait_for(log: &Path, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = read(log);
        if pred(&text) || Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn diagnostics(text: &str) -> usize {
    text.matches(&format!("#### ⚠️{REALM} diagnostic at "))
        .count()
}

/// Append `problem`, expect one diagnostic holding `says`; make unrelated edits (text in the
/// history above, prose appended below) and expect still one; then `fix` the file and expect
/// the request `code` to be handed to the realm.
async fn scenario(problem: &[u8], says: &str, fix: impl Fn(Vec<u8>) -> Vec<u8>, code: &str) {
    let s: TestServer = server(|o| o.long_poll = Duration::from_millis(300)).await;
    s.poll(REALM).await;
    let log = s.log(REALM);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(problem).unwrap();
    }
    let text = wait_for(&log, |t| diagnostics(t) >= 1).await;
    assert!(text.contains(says), "{text}");
    assert_eq!(diagnostics(&text), 1, "{text}");
    // Above the (first) footer: never between the request and its footer.
    assert!(
        text.find("diagnostic at").unwrap() < text.find(FOOTER).unwrap(),
        "{text}"
    );
    // No job was handed out for it.
    let r = s.poll(REALM).await;
    assert!(r.header("x-job-id").is_none(), "{}", r.body);

    // Unrelated edits: a line in the history, prose appended at the end.
    let bytes = std::fs::read(&log).unwrap();
    let at = bytes.windows(4).position(|w| w == b"\n\n##").unwrap_or(0);
    let mut edited = bytes[..at].to_vec();
    edited.extend_from_slice(b"\n\nA note in the history.");
    edited.extend_from_slice(&bytes[at..]);
    std::fs::write(&log, &edited).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.append(REALM, "\nSome prose typed later.\n");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let text = read(&log);
    assert!(text.contains("A note in the history."), "{text}");
    assert_eq!(diagnostics(&text), 1, "one diagnostic per problem:\n{text}");

    // The agent fixes the text: the request runs.
    let fixed = fix(std::fs::read(&log).unwrap());
    std::fs::write(&log, fixed).unwrap();
    let job = s.poll_job(REALM).await;
    assert!(job.header("x-job-id").is_some(), "no job after the fix");
    assert_eq!(job.body, code);
    let text = read(&log);
    assert_eq!(diagnostics(&text), 1, "{text}");
    assert!(text.contains("executing (0s)"), "{text}");
}

fn replace(bytes: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .rposition(|w| w == from)
        .expect("text to fix");
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&bytes[at + from.len()..]);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unclosed_fence_with_a_wrong_closing_line() {
    scenario(
        b"\n````js\n1 + 1\n```\n",
        "is never closed",
        |b| replace(b, b"````js\n", b"```js\n"),
        "1 + 1\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_copied_footer_after_the_request() {
    let problem = format!("\n```js\n2 + 2\n```\n\n{FOOTER}\n");
    scenario(
        problem.as_bytes(),
        "second footer",
        |b| replace(b, FOOTER.as_bytes(), b""),
        "2 + 2\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bytes_that_are_not_utf8() {
    scenario(
        b"\n```js\n\"caf\xe9\"\n```\n",
        "not UTF-8",
        |b| replace(b, b"caf\xe9", "café".as_bytes()),
        "\"café\"\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fence_its_blockquote_closed() {
    scenario(
        b"\n> ```js\n> 3 + 3\n```\n",
        "blockquote or list",
        |b| replace(b, b"> ```js\n> 3 + 3\n```\n", b"```js\n3 + 3\n```\n"),
        "3 + 3\n",
    )
    .await;
}
