//! `daebug --test [FILES...] [--page NAME]`: run the project's `node:test` suites inside a live
//! page, from CI. Uses the Daebug server already running for the root (or starts one), waits
//! for a page realm (launching headless Chromium on the root's page if none connects), appends
//! the run as an ordinary request to the realm's log, and reads the summary back from the reply.
//! Everything goes through the files and HTTP, exactly as an agent would.
#![cfg(feature = "native")]

use crate::registry;
use crate::server::{self, ServerOptions};
use crate::testrun::parse_summary;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What `--test` was asked to do.
#[derive(Debug, Clone)]
pub struct TestOptions {
    pub server: ServerOptions,
    pub files: Vec<String>,
    pub page: Option<String>,
    pub browser: Option<PathBuf>,
}

/// How long to wait for a page to connect before launching a browser.
const WAIT_FOR_REALM: Duration = Duration::from_secs(3);
/// How long a launched browser's page has to connect.
const WAIT_FOR_LAUNCHED: Duration = Duration::from_secs(20);

/// Run the tests; returns the exit code (0 only when every test passed).
pub async fn run(opts: TestOptions) -> Result<i32, String> {
    let root = std::fs::canonicalize(&opts.server.root).map_err(|_| {
        format!(
            "root {} does not exist or is not a directory; pass --root DIR",
            opts.server.root.display()
        )
    })?;
    // A server for this root already running? Otherwise start one in this process.
    let (url, own) = match server::find_running(&opts.server, &root).await {
        Some(url) => {
            println!("Using the Daebug server at {url}");
            (url, None)
        }
        None => {
            let mut sopts = opts.server.clone();
            sopts.quiet = true;
            let (listener, running) = server::start(&sopts).await.map_err(|e| e.0)?;
            let url = running.url.clone();
            let engine = running.engine.clone();
            let task =
                tokio::spawn(async move { server::serve(listener, running.engine, &sopts).await });
            println!("Started a Daebug server at {url}");
            (url, Some((engine, task)))
        }
    };
    let mut browser: Option<Child> = None;
    let outcome = run_with_server(&opts, &root, &url, &mut browser).await;
    if let Some(mut child) = browser {
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(profile_dir());
    }
    if let Some((engine, task)) = own {
        engine.request_shutdown();
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        engine.close();
    }
    outcome
}

async fn run_with_server(
    opts: &TestOptions,
    root: &Path,
    url: &str,
    browser: &mut Option<Child>,
) -> Result<i32, String> {
    let registry_path = root.join("daebug.md");
    let known: Vec<String> = live_realms(&registry_path, false)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let realm = match wait_for_page(&registry_path, opts.page.as_deref(), &[], WAIT_FOR_REALM).await
    {
        Some(r) => r,
        None => {
            if let Some(name) = &opts.page {
                println!("Page {name} is not connected; launching a headless browser on {url}");
            } else {
                println!("No page is connected; launching a headless browser on {url}");
            }
            let exe = find_browser(opts.browser.as_deref())?;
            *browser = Some(launch(&exe, url)?);
            // With --page, the launched tab gets a new name: take any new page.
            wait_for_page(&registry_path, None, &known, WAIT_FOR_LAUNCHED)
                .await
                .ok_or_else(|| {
                    format!(
                        "the browser at {} opened {url} but no page connected within {}s",
                        exe.display(),
                        WAIT_FOR_LAUNCHED.as_secs()
                    )
                })?
        }
    };
    let (name, log) = realm;
    println!("Running tests in {name}");

    let nonce = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let files = serde_json::to_string(&opts.files).expect("strings serialize");
    let request = format!(
        "\n### 🗣️daebug-test to {name} at 00:00:00\n\n```js\n// daebug --test {nonce}\nconst {{ run }} = await import('node:test');\nconst report = await run({{ files: {files} }});\nreport.totals\n```\n"
    );
    append(&log, &request)?;
    let marker = format!("// daebug --test {nonce}");
    let reply =
        wait_for_reply(&log, &marker, opts.server.timeout + Duration::from_secs(30)).await?;

    if let Some(err) = reply.error {
        return Err(format!(
            "the test run failed in {name}: {}",
            err.lines().next().unwrap_or("").trim()
        ));
    }
    let Some((totals, lines)) = parse_summary(&reply.text) else {
        return Err(format!(
            "the reply in {} holds no test summary; is node:test served to the page?",
            log.display()
        ));
    };
    for line in &lines {
        println!("{line}");
    }
    println!("{}", totals.line());
    if totals.pass + totals.fail + totals.skip == 0 {
        return Err(
            "no tests ran: no test file matched (pass FILES globs, or name files *.test.js)".into(),
        );
    }
    Ok(if totals.fail == 0 { 0 } else { 1 })
}

/// Realms listed as live (not gone), with their log paths; workers only when `workers`.
fn live_realms(registry_path: &Path, workers: bool) -> Vec<(String, PathBuf)> {
    let text = std::fs::read_to_string(registry_path).unwrap_or_default();
    let dir = registry_path.parent().unwrap_or(Path::new("."));
    registry::parse_entries(&text)
        .into_iter()
        .filter(|e| {
            (workers || !e.context.starts_with("worker of ")) && !e.state.starts_with("gone")
        })
        .map(|e| (e.name, dir.join(e.log)))
        .collect()
}

async fn wait_for_page(
    registry_path: &Path,
    name: Option<&str>,
    exclude: &[String],
    within: Duration,
) -> Option<(String, PathBuf)> {
    let deadline = Instant::now() + within;
    loop {
        // A named realm may be a worker (`<page>-webworker`); otherwise take a page.
        let found =
            live_realms(registry_path, name.is_some())
                .into_iter()
                .find(|(n, _)| match name {
                    Some(want) => n == want,
                    None => !exclude.contains(n),
                });
        if found.is_some() {
            return found;
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn find_browser(flag: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = flag {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!("--browser {} does not exist", p.display()))
        };
    }
    if let Some(p) = std::env::var_os("CHROME_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("CHROME_PATH={} does not exist", p.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
        "chrome",
    ] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err("no page connected and no browser found: pass --browser PATH, set CHROME_PATH, or install chromium".into())
}

/// A fresh browser profile for this run, removed afterwards.
fn profile_dir() -> PathBuf {
    std::env::temp_dir().join(format!("daebug-test-profile-{}", std::process::id()))
}

fn launch(exe: &Path, url: &str) -> Result<Child, String> {
    let profile = profile_dir();
    let _ = std::fs::remove_dir_all(&profile);
    Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))
}

fn append(log: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(log)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot append to {}: {e}", log.display()))
}

struct ReplyText {
    text: String,
    error: Option<String>,
}

/// Wait until the block holding `marker` has its reply; return the reply's text.
async fn wait_for_reply(log: &Path, marker: &str, within: Duration) -> Result<ReplyText, String> {
    let deadline = Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(at) = text.find(marker) {
            let after = &text[at..];
            if let Some(h) = after.find("\n#### ") {
                let reply = &after[h + 1..];
                let heading = reply.lines().next().unwrap_or("");
                let done = heading.trim_end().ends_with(')')
                    && (heading.starts_with("#### 👍") || heading.starts_with("#### 🚫"));
                if done {
                    let end = reply.find("\n----------------------------------------------------------------------").unwrap_or(reply.len());
                    let reply = &reply[..end];
                    let error = heading.starts_with("#### 🚫").then(|| {
                        reply
                            .split_once("```Error\n")
                            .map(|(_, e)| e.split("\n```").next().unwrap_or("").to_string())
                            .unwrap_or_default()
                    });
                    return Ok(ReplyText {
                        text: reply.to_string(),
                        error,
                    });
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no reply to the test run in {} within {}s",
                log.display(),
                within.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
