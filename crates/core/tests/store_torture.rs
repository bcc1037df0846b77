//! Torture: agents save a live realm's log the ways real agents and editors do, while the realm
//! answers jobs and the server flushes background events into the same file. Afterwards every
//! byte of agent text must be there exactly once, every request must have run exactly once and
//! be answered, and the log must hold one title and one footer. Each save style runs alone, then
//! all of them at once. Counts are printed (`--nocapture`) and any loss fails the test.
//!
//! Styles:
//! * `append`   — open with O_APPEND, write the chunk, close (`echo >>`, `fs.appendFile`).
//! * `inplace`  — read the file, open with O_TRUNC, write it back with the chunk added
//!   (`fs.writeFile`, VS Code, agents' Write/Edit tools); every 4th save pauses between the
//!   truncate and the write, every 5th also tidies history (adds a line under the title).
//! * `rename`   — read, write a temporary file beside it, rename it over the log (vim,
//!   JetBrains, atomic-write libraries).
//! * `pieces`   — open a handle at the end and write the chunk in 3 pieces (cut anywhere, even
//!   inside a character) over up to 60 ms, every 25th over up to 1 s. The next chunk starts
//!   once the previous request was taken, and another tool writes no sooner than 100 ms after
//!   a streamed chunk ended (see below).
//! * `held`     — an editor-like agent keeps a write handle open across 1–3 saves (and across
//!   the server's replies, which replace the file under it); each save reads the file and
//!   rewrites it whole through that handle (truncate, write at offset 0), every 4th with a
//!   pause between the two, every 5th also tidying history. Most of these saves land in an
//!   inode the server has already replaced, and must be brought in (see `store/late.rs`).
//!   (After the agent's own rename save it opens a new handle: writes through a handle on the
//!   file a rename replaced go to a file that is gone, with or without a server.)
//!
//! Each agent has at most 6 requests waiting at a time (it reads replies, as agents do); the
//! server's edits and the agent's saves still overlap all the time. The mixed run is one agent
//! taking append, in-place, rename and held in turn. (Two agents saving the same file
//! concurrently by read-modify-write lose each other's text whatever the server does.)
//!
//! Rounds per style: `DAEBUG_TORTURE_ROUNDS` (default 240; the mixed run with streamed pieces
//! takes half that per style), so 5 × 240 alone + 4 × 240 mixed + 4 × 120 mixed with streams =
//! 2,640 rounds, about five minutes on a 2-core machine in a debug build.
//!
//! After a streamed chunk, another tool writes no sooner than 100 ms later
//! (`DAEBUG_TORTURE_GAP=ms` to change it). The chunk's last piece may sit in the inode the
//! server replaced until it is carried over (milliseconds: every edit of the store carries
//! such text over first, see `store/late.rs`); a tool that reads the path and rewrites the
//! whole file in that moment does not see it, and the piece lands after that tool's text (see
//! the store's module doc and `docs/log-format.md`).

mod common;

use common::{server, TestServer};
use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const REALM: &str = "9-fern-1200-00";
/// Requests an agent leaves unanswered at most before it sends another.
const IN_FLIGHT: usize = 6;
const FOOTER_PROMPT: &str = "> Append your JavaScript snippet below to execute against this page.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Append,
    InPlace,
    Rename,
    Pieces,
    Held,
}

impl Style {
    fn tag(self) -> &'static str {
        match self {
            Style::Append => "ap",
            Style::InPlace => "ip",
            Style::Rename => "rn",
            Style::Pieces => "pc",
            Style::Held => "hd",
        }
    }
}

fn rounds() -> usize {
    std::env::var("DAEBUG_TORTURE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(240)
}

/// Rounds per style of the mixed run with streamed pieces (half of [`rounds`], to bound CI time).
fn streams_rounds() -> usize {
    rounds().div_ceil(2)
}

/// A little deterministic randomness (no extra dependency).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn chunk(key: &str) -> String {
    format!("\nnote {key}: alpha beta gamma — delta ✓\n\n```js\nrun(\"{key}\")\n```\n")
}

fn write_all_at_end(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// One agent: `rounds` saves per style, each adding one request; with several styles, it
/// takes them in turn (one agent using several tools on the same file).
fn agent(path: PathBuf, styles: Vec<Style>, rounds: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    let mut tidies = Vec::new();
    let mut previous: Option<String> = None;
    let mut sent: Vec<String> = Vec::new();
    // The held style's handle, and how many more saves it is used for.
    let mut held: Option<(std::fs::File, u64)> = None;
    for j in 0..rounds * styles.len() {
        let style = styles[j % styles.len()];
        let i = j / styles.len();
        let key = format!("{}{i}", style.tag());
        let text = chunk(&key);
        // Like an agent that reads replies, at most IN_FLIGHT requests wait at once.
        if let Some(old) = sent.len().checked_sub(IN_FLIGHT).map(|k| sent[k].clone()) {
            let needle = format!("\"ran {old}\"");
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until
                && !std::fs::read(&path)
                    .map(|b| String::from_utf8_lossy(&b).contains(&needle))
                    .unwrap_or(false)
            {
                std::thread::sleep(Duration::from_millis(3));
            }
        }
        sent.push(key.clone());
        match style {
            Style::Append => write_all_at_end(&path, text.as_bytes()),
            Style::InPlace => {
                // Bytes, not text: the file may end in half a character another tool wrote.
                let mut new = std::fs::read(&path).unwrap();
                if i % 5 == 4 {
                    // Tidy history: a line of the agent's own under the title.
                    let tidy = format!("<!-- tidy {key} -->");
                    let at = new.iter().position(|&b| b == b'\n').map_or(0, |n| n + 1);
                    new.splice(at..at, format!("{tidy}\n").into_bytes());
                    tidies.push(tidy);
                }
                new.extend_from_slice(text.as_bytes());
                let mut f = std::fs::File::create(&path).unwrap(); // O_TRUNC
                if i % 4 == 3 {
                    std::thread::sleep(Duration::from_millis(rng.below(40)));
                }
                f.write_all(&new).unwrap();
            }
            Style::Rename => {
                let mut new = std::fs::read(&path).unwrap();
                new.extend_from_slice(text.as_bytes());
                let tmp = path.with_file_name(format!(".agent-{seed}.tmp"));
                std::fs::write(&tmp, new).unwrap();
                std::fs::rename(&tmp, &path).unwrap();
                // A handle kept open on the file this rename replaced writes to a file that is
                // gone, server or not: the held style opens a new one.
                held = None;
            }
            Style::Held => {
                // An editor-like agent: it keeps a handle open across a few saves (and across
                // the server's replies, which replace the file under it), and saves by reading
                // the file and rewriting it whole through that handle (truncate, write at 0).
                if held.as_ref().is_none_or(|(_, left)| *left == 0) {
                    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                    held = Some((f, 1 + rng.below(3)));
                }
                std::thread::sleep(Duration::from_millis(rng.below(30)));
                let (f, left) = held.as_mut().unwrap();
                *left -= 1;
                let mut new = std::fs::read(&path).unwrap();
                if i % 5 == 4 {
                    let tidy = format!("<!-- tidy {key} -->");
                    let at = new.iter().position(|&b| b == b'\n').map_or(0, |n| n + 1);
                    new.splice(at..at, format!("{tidy}\n").into_bytes());
                    tidies.push(tidy);
                }
                new.extend_from_slice(text.as_bytes());
                f.set_len(0).unwrap();
                if i % 4 == 3 {
                    std::thread::sleep(Duration::from_millis(rng.below(40)));
                }
                f.seek(SeekFrom::Start(0)).unwrap();
                f.write_all(&new).unwrap();
                // A save through a handle on a file the server has replaced reaches the file
                // at the path moments later (see the store's module doc); the agent's next
                // read-modify-write must see it, as it would see its own editor's buffer.
                let needle = format!("note {key}:");
                let until = Instant::now() + Duration::from_secs(3);
                while Instant::now() < until
                    && !std::fs::read(&path)
                        .map(|b| String::from_utf8_lossy(&b).contains(&needle))
                        .unwrap_or(false)
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            Style::Pieces => {
                // A writer streaming its chunk starts it once its previous request was taken
                // (text after a complete request, before the server saw it, belongs to it).
                if let Some(prev) = &previous {
                    let needle = format!("```js\nrun(\"{prev}\")\n```\n\n#### 👍");
                    let until = Instant::now() + Duration::from_secs(3);
                    while Instant::now() < until
                        && !std::fs::read(&path)
                            .map(|b| String::from_utf8_lossy(&b).contains(&needle))
                            .unwrap_or(false)
                    {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                f.seek(SeekFrom::End(0)).unwrap();
                let bytes = text.as_bytes();
                // Cut anywhere, even inside a multi-byte character.
                let a = 1 + rng.below(bytes.len() as u64 / 2) as usize;
                let b = a + 1 + rng.below((bytes.len() - a - 1) as u64) as usize;
                // Most chunks over up to ~60 ms, every 25th over up to 1 s.
                let total = if i.is_multiple_of(25) { 1000 } else { 60 };
                for piece in [&bytes[..a], &bytes[a..b], &bytes[b..]] {
                    f.write_all(piece).unwrap();
                    std::thread::sleep(Duration::from_millis(rng.below(total / 3 + 1)));
                }
            }
        }
        // After a chunk streamed in pieces, its last piece may still sit in the inode the
        // server replaced, for the moment it takes to carry it over (milliseconds; more on a
        // loaded machine): another tool writing in that moment would land before it.
        let gap = if style == Style::Pieces {
            std::env::var("DAEBUG_TORTURE_GAP")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(100)
        } else {
            0
        };
        std::thread::sleep(Duration::from_millis(gap + rng.below(16)));
        previous = Some(key);
    }
    tidies
}

/// The realm: polls for jobs and answers each with `"ran <key>"`, counting runs per key.
async fn realm(
    s: Arc<TestServer>,
    runs: Arc<Mutex<HashMap<String, usize>>>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let job = s.poll(REALM).await;
        let Some(id) = job.header("x-job-id").map(str::to_string) else {
            continue;
        };
        let key = job
            .body
            .trim()
            .strip_prefix("run(\"")
            .and_then(|r| r.strip_suffix("\")"))
            .unwrap_or("?")
            .to_string();
        *runs.lock().unwrap().entry(key.clone()).or_default() += 1;
        let body = format!(
            r#"{{"ok":true,"value":"ran {key}","jobId":"{id}","backgroundEvents":[{{"type":"console","level":"log","eventAt":"2026-01-01T00:00:00Z","message":"during {key}"}}]}}"#
        );
        s.post(REALM, &body).await;
    }
}

/// Background flushes every ~60 ms.
async fn flusher(s: Arc<TestServer>, stop: Arc<AtomicBool>) -> usize {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let body = format!(
            r#"{{"type":"background-flush","reportedAt":"2026-01-01T00:00:00Z","events":[{{"type":"console","level":"log","eventAt":"2026-01-01T00:00:00Z","message":"bg {n}"}}]}}"#
        );
        s.post(REALM, &body).await;
        n += 1;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    n
}

#[derive(Debug, Default)]
struct Counts {
    #[allow(dead_code)]
    requests: usize,
    lost_text: usize,
    duplicated_text: usize,
    lost_requests: usize,
    duplicated_requests: usize,
    unanswered: usize,
    twice_run: usize,
    never_run: usize,
    titles: usize,
    footers: usize,
    stuck_placeholders: usize,
    lost_tidies: usize,
    diagnostics: usize,
    #[allow(dead_code)]
    flushes: usize,
    invalid_utf8: bool,
    /// Which keys failed how (printed on failure).
    which: Vec<String>,
}

impl Counts {
    fn failures(&self) -> usize {
        self.lost_text
            + self.duplicated_text
            + self.lost_requests
            + self.duplicated_requests
            + self.unanswered
            + self.twice_run
            + self.never_run
            + self.stuck_placeholders
            + self.lost_tidies
            + self.diagnostics
            + self.invalid_utf8 as usize
            + self.titles.abs_diff(1)
            + self.footers.abs_diff(1)
    }
}

async fn torture(styles: &[Style]) -> (Counts, String) {
    // RUST_LOG=daebug_core=debug shows what the store did.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let s = Arc::new(server(|o| o.long_poll = Duration::from_secs(2)).await);
    // Register the realm and create its log.
    let first = s.poll(REALM).await;
    assert_eq!(first.status, 200);
    let path = s.log(REALM);
    assert!(path.exists());
    let stop = Arc::new(AtomicBool::new(false));
    let runs = Arc::new(Mutex::new(HashMap::new()));
    let realm_task = tokio::spawn(realm(s.clone(), runs.clone(), stop.clone()));
    let flush_task = tokio::spawn(flusher(s.clone(), stop.clone()));
    let n = if styles.len() > 1 && styles.contains(&Style::Pieces) {
        streams_rounds()
    } else {
        rounds()
    };
    let agent_styles = styles.to_vec();
    let agent_path = path.clone();
    let tidies = tokio::task::spawn_blocking(move || {
        agent(agent_path, agent_styles, n, 0x9e37_79b9_7f4a_7c15)
    })
    .await
    .unwrap();
    // Let the last requests run: until every key has its reply (or 30 s).
    let keys: Vec<String> = styles
        .iter()
        .flat_map(|st| (0..n).map(move |i| format!("{}{i}", st.tag())))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut text;
    loop {
        text = std::fs::read_to_string(&path).unwrap_or_default();
        let pending = text.contains("\nexecuting (") || text.contains("\nqueued\n");
        let answered = keys.iter().all(|k| text.contains(&format!("\"ran {k}\"")));
        if (answered && !pending) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A last background flush must still land above the footer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let flushes = flush_task.await.unwrap();
    realm_task.abort();
    let bytes = std::fs::read(&path).unwrap();
    let invalid_utf8 = std::str::from_utf8(&bytes).is_err();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let runs = runs.lock().unwrap().clone();

    let mut c = Counts {
        invalid_utf8,
        requests: keys.len(),
        flushes,
        ..Counts::default()
    };
    for k in &keys {
        let note = format!("note {k}: alpha beta gamma — delta ✓\n");
        match text.matches(&note).count() {
            0 => {
                c.lost_text += 1;
                c.which.push(format!("text lost: {k}"));
            }
            1 => {}
            _ => {
                c.duplicated_text += 1;
                c.which.push(format!("text duplicated: {k}"));
            }
        }
        match text.matches(&format!("```js\nrun(\"{k}\")\n```\n")).count() {
            0 => c.lost_requests += 1,
            1 => {}
            _ => c.duplicated_requests += 1,
        }
        if !text.contains(&format!("```JSON\n\"ran {k}\"\n```")) {
            c.unanswered += 1;
            c.which.push(format!("unanswered: {k}"));
        }
        match runs.get(k).copied().unwrap_or(0) {
            0 => {
                c.never_run += 1;
                c.which.push(format!("never run: {k}"));
            }
            1 => {}
            n => {
                c.twice_run += 1;
                c.which.push(format!("ran {n} times: {k}"));
            }
        }
    }
    for (k, n) in &runs {
        if !keys.contains(k) {
            c.twice_run += n;
            c.which.push(format!("a job no agent sent: {k:?} ({n}×)"));
        }
    }
    for t in &tidies {
        if text.matches(t.as_str()).count() != 1 {
            c.lost_tidies += 1;
        }
    }
    c.titles = text
        .lines()
        .filter(|l| *l == format!("# {REALM} session"))
        .count();
    c.footers = text.lines().filter(|l| *l == FOOTER_PROMPT).count();
    c.stuck_placeholders = text
        .lines()
        .filter(|l| *l == "queued" || l.starts_with("executing ("))
        .count();
    c.diagnostics = text.matches("diagnostic at").count();
    if !text.ends_with(&format!("{FOOTER_PROMPT}\n\n")) {
        c.footers += 100; // not last
    }
    (c, text)
}

fn check(name: &str, c: Counts, text: String) {
    println!("torture {name}: {c:?}");
    if c.failures() > 0 {
        let dump = std::env::temp_dir().join(format!("daebug-torture-{name}.md"));
        std::fs::write(&dump, &text).unwrap();
        panic!(
            "torture {name}: {} failures: {c:?} (log saved to {})",
            c.failures(),
            dump.display()
        );
    }
}

/// The torture runs one at a time (each one alone on the machine's cores, as timing matters).
static SERIAL: Mutex<()> = Mutex::new(());

fn run(name: &str, styles: &[Style]) {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let (c, t) = rt.block_on(torture(styles));
    println!("torture {name}: {:.1}s", started.elapsed().as_secs_f64());
    check(name, c, t);
}

#[test]
fn torture_append() {
    run("append", &[Style::Append]);
}

#[test]
fn torture_inplace() {
    run("inplace", &[Style::InPlace]);
}

#[test]
fn torture_rename() {
    run("rename", &[Style::Rename]);
}

#[test]
fn torture_pieces() {
    run("pieces", &[Style::Pieces]);
}

#[test]
fn torture_held() {
    run("held", &[Style::Held]);
}

#[test]
fn torture_mixed() {
    run(
        "mixed",
        &[Style::Append, Style::InPlace, Style::Rename, Style::Held],
    );
}

/// Chunks streamed in pieces mixed with appends, in-place saves and renames by the same agent,
/// another tool writing no sooner than 100 ms after a streamed chunk ended
/// (`DAEBUG_TORTURE_GAP=ms` changes that; see the module doc). Half the rounds per style.
#[test]
fn torture_mixed_streams() {
    run(
        "mixed-streams",
        &[Style::Append, Style::Pieces, Style::InPlace, Style::Rename],
    );
}
