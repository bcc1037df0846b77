//! HTTP integration tests: a real server on 127.0.0.1 and a simulated realm speaking SPEC 5,
//! checking the Markdown files on disk.

mod common;

use common::{server, wait_for_file};
use std::time::{Duration, Instant};

const REALM: &str = "7-zen-1201-03";

fn result(id: &str, value: &str) -> String {
    format!(r#"{{"ok":true,"value":{value},"jobId":"{id}","backgroundEvents":[]}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_poll_creates_log_and_registry_line() {
    let s = server(|_| {}).await;
    let r = s.poll(REALM).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "", "no job: empty body");
    let log = std::fs::read_to_string(s.log(REALM)).unwrap();
    assert!(log.starts_with(&format!("# {REALM} session\n")));
    assert!(
        log.ends_with("> Append your JavaScript snippet below to execute against this page.\n\n")
    );
    let reg = std::fs::read_to_string(s.root.join("daebug.md")).unwrap();
    assert!(
        reg.contains(&format!(
            "* [{REALM}](daebug/{REALM}.md) (http://localhost/) at "
        )),
        "{reg}"
    );
    assert!(reg.contains(": live\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn request_reply_round_trip_answers_the_long_poll_at_once() {
    let s = server(|o| o.long_poll = Duration::from_secs(10)).await;
    s.poll(REALM).await;
    let poll = {
        let s2 = &s;
        async move { s2.poll(REALM).await }
    };
    let appended = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = Instant::now();
        s.append(REALM, "\n```js\n12 + 13\n```\n");
        t
    };
    let (job, t0) = tokio::join!(poll, appended);
    let waited = t0.elapsed();
    // Well below the 10 s long poll, with room for a loaded CI machine.
    assert!(
        waited < Duration::from_secs(5),
        "the long poll must answer as soon as a job exists, took {waited:?}"
    );
    assert_eq!(job.body, "12 + 13\n");
    assert!(job
        .header("content-type")
        .unwrap()
        .starts_with("application/javascript"));
    let id = job.header("x-job-id").unwrap().to_string();
    let text = std::fs::read_to_string(s.log(REALM)).unwrap();
    assert!(
        text.contains(&format!("#### 👍{REALM} to agent at ")) && text.contains("executing (0s)"),
        "{text}"
    );
    assert_eq!(s.post(REALM, &result(&id, "25")).await.status, 200);
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("```JSON\n25\n```")).await;
    assert!(!text.contains("executing ("));
    let reg = std::fs::read_to_string(s.root.join("daebug.md")).unwrap();
    assert!(reg.contains(": live\n"), "{reg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_requests_back_to_back_are_answered_in_order() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    s.append(REALM, "\n```js\n'first'\n```\n");
    s.append(REALM, "\n```js\n'second'\n```\n");
    let mut seen = Vec::new();
    for _ in 0..2 {
        let job = s.poll_job(REALM).await;
        let id = job.header("x-job-id").unwrap().to_string();
        seen.push(job.body.trim().to_string());
        s.post(
            REALM,
            &result(&id, &format!("{:?}", job.body.trim().trim_matches('\''))),
        )
        .await;
    }
    assert_eq!(seen, ["'first'", "'second'"]);
    let text = wait_for_file(&s.log(REALM), 5, |t| t.matches("```JSON").count() == 2).await;
    let first = text.find("\"first\"").unwrap();
    let second = text.find("\"second\"").unwrap();
    assert!(first < second);
    assert!(
        !text.contains("queued") && !text.contains("executing ("),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_result_for_another_job_is_a_diagnostic() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    s.append(REALM, "\n```js\n1\n```\n");
    let job = s.poll_job(REALM).await;
    assert!(!job.body.is_empty());
    s.post(REALM, &result("not-the-job", "2")).await;
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("diagnostic at")).await;
    assert!(text.contains("did not hand out"), "{text}");
    assert!(
        text.contains("executing ("),
        "the real job still waits: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn timeout_then_late_result_is_kept_as_diagnostic() {
    let s = server(|o| o.timeout = Duration::from_millis(800)).await;
    s.poll(REALM).await;
    s.append(REALM, "\n```js\nawait new Promise(() => {})\n```\n");
    let job = s.poll_job(REALM).await;
    let id = job.header("x-job-id").unwrap().to_string();
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("```Error")).await;
    assert!(
        text.contains(&format!("#### 🚫{REALM} to agent at ")),
        "{text}"
    );
    assert!(text.contains("did not answer within 0.8s"), "{text}");
    s.post(REALM, &result(&id, "\"late\"")).await;
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("diagnostic at")).await;
    assert!(
        text.contains("after its timeout") && text.contains("late"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_payloads_get_400_and_change_nothing() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    let before = std::fs::read_to_string(s.log(REALM)).unwrap();
    for body in ["{", "[]", r#"{"type":"nope"}"#, r#"{"ok":"yes"}"#, "\u{0}"] {
        let r = s.post(REALM, body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(
            r.body.starts_with("Daebug: ") && r.body.lines().count() == 1,
            "{}",
            r.body
        );
    }
    assert_eq!(s.get("/-daebug-channel").await.status, 400);
    // Far past the 4 MiB limit and the socket buffers: the server answers 413 and closes while
    // the client is still writing, every time (the client must still read the answer).
    let big = format!(
        r#"{{"ok":true,"value":"{}"}}"#,
        "x".repeat(32 * 1024 * 1024)
    );
    assert_eq!(s.post(REALM, &big).await.status, 413);
    let long_query = format!("/-daebug-channel?name=a&url={}", "x".repeat(20_000));
    assert_eq!(s.get(&long_query).await.status, 414);
    assert_eq!(std::fs::read_to_string(s.log(REALM)).unwrap(), before);
    assert_eq!(s.poll(REALM).await.status, 200, "server still serves");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn foreign_hosts_and_cross_site_requests_are_refused() {
    let s = server(|_| {}).await;
    let r = s.request("GET", "/", &[("Host", "evil.example")], "").await;
    assert_eq!(r.status, 403, "DNS rebinding: {}", r.body);
    assert_eq!(
        s.request("GET", "/", &[("Host", "127.0.0.1:1")], "")
            .await
            .status,
        200
    );
    let path = format!("/-daebug-channel?name={REALM}");
    let r = s
        .request("POST", &path, &[("Origin", "https://evil.example")], "{}")
        .await;
    assert_eq!(r.status, 403);
    let r = s
        .request("POST", &path, &[("Sec-Fetch-Site", "cross-site")], "{}")
        .await;
    assert_eq!(r.status, 403);
    assert!(!s.log(REALM).exists(), "refused requests register nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn background_flush_progress_and_worker_restart() {
    let s = server(|o| o.refresh_every = Duration::from_millis(300)).await;
    s.poll(REALM).await;
    let flush = r#"{"type":"background-flush","events":[{"type":"console","level":"log","eventAt":"2026-01-01T00:00:00Z","message":"bg-log {\"a\":1}"},{"type":"error","source":"window.onerror","message":"Uncaught Error: bg-throw","stack":"Error: bg-throw\n    at x.js:1:1"}],"reportedAt":"2026-01-01T00:00:01Z"}"#;
    assert_eq!(s.post(REALM, flush).await.status, 200);
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("background at")).await;
    assert!(text.contains(&format!("#### 📣{REALM} background at ")));
    assert!(
        text.contains("```Text console.log\nbg-log {\"a\":1}\n```"),
        "{text}"
    );
    assert!(
        text.contains("##### 🚫window.onerror at ")
            && text.contains("```Error window.onerror\nError: bg-throw"),
        "{text}"
    );

    s.append(REALM, "\n```js\nlong()\n```\n");
    let job = s.poll_job(REALM).await;
    let id = job.header("x-job-id").unwrap().to_string();
    let progress = format!(
        r#"{{"type":"job-progress","jobId":"{id}","backgroundEvents":[{{"type":"console","level":"log","message":"tick 1"}}],"elapsed":1000}}"#
    );
    s.post(REALM, &progress).await;
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("tick 1")).await;
    let tail = &text[text.rfind("long()").unwrap()..];
    assert!(
        tail.find("tick 1").unwrap() < tail.find("executing (").unwrap(),
        "{tail}"
    );
    let progress = progress.replace("tick 1", "tick 2").replace(
        r#""message":"tick 2"}]"#,
        r#""message":"tick 1"},{"type":"console","level":"log","message":"tick 2"}]"#,
    );
    s.post(REALM, &progress).await;
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("tick 2")).await;
    assert_eq!(
        text.matches("tick 1").count(),
        1,
        "events are replaced, not appended: {text}"
    );

    let worker = format!("{REALM}-webworker");
    s.post(
        &worker,
        &format!(r#"{{"type":"worker-init","mainPage":"{REALM}"}}"#),
    )
    .await;
    s.post(&worker, r#"{"type":"worker-timeout","duration":21000}"#)
        .await;
    let text = wait_for_file(&s.log(&worker), 5, |t| t.contains("diagnostic at")).await;
    assert!(
        text.contains("Worker did not answer for 21000ms; restarted it."),
        "{text}"
    );
    let reg = std::fs::read_to_string(s.root.join("daebug.md")).unwrap();
    assert!(reg.contains(&format!("(worker of {REALM})")), "{reg}");
}

/// SPEC 3.1's first refresh at ~1 s may find no output yet (the page reports it about 0.9 s in
/// by its own clock, and a loaded machine delays it): the first output that arrives after an
/// empty refresh is written at once, not at the next 5-s refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_output_after_an_empty_refresh_is_shown_at_once() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    s.append(REALM, "\n```js\nslow()\n```\n");
    let job = s.poll_job(REALM).await;
    let id = job.header("x-job-id").unwrap().to_string();
    // The first refresh goes out at 2 s at the latest, with nothing to show yet.
    wait_for_file(&s.log(REALM), 5, |t| t.contains("executing (2s)")).await;
    let progress = format!(
        r#"{{"type":"job-progress","jobId":"{id}","backgroundEvents":[{{"type":"console","level":"log","message":"late tick"}}],"elapsed":2100}}"#
    );
    let sent = std::time::Instant::now();
    s.post(REALM, &progress).await;
    // Written at once (well before the next regular refresh at 7 s).
    let text = wait_for_file(&s.log(REALM), 2, |t| t.contains("late tick")).await;
    assert!(sent.elapsed() < Duration::from_millis(1500), "{text}");
    let tail = &text[text.rfind("slow()").unwrap()..];
    assert!(tail.contains("executing (2s)"), "{tail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_log_is_left_alone() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    std::fs::remove_file(s.log(REALM)).unwrap();
    s.post(
        REALM,
        r#"{"type":"background-flush","events":[{"type":"console","message":"x"}]}"#,
    )
    .await;
    s.poll(REALM).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!s.log(REALM).exists());
    let reg = std::fs::read_to_string(s.root.join("daebug.md")).unwrap();
    assert!(
        reg.contains(&format!("(daebug/{REALM}.md)")),
        "the registry still links it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reload_mid_job_fails_the_job_and_keeps_the_realm() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    s.append(REALM, "\n```js\nlocation.reload()\n```\n");
    let job = s.poll_job(REALM).await;
    assert!(!job.body.is_empty());
    // The page reloads and polls again under the same name.
    let log = s.log(REALM);
    let (_, text) = tokio::join!(
        s.poll(REALM),
        wait_for_file(&log, 5, |t| t.contains("```Error"))
    );
    assert!(text.contains("reloaded or restarted"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_line_requests_shutdown_and_close_rewrites_registry() {
    let s = server(|_| {}).await;
    let reg = s.root.join("daebug.md");
    let mut f = std::fs::OpenOptions::new().append(true).open(&reg).unwrap();
    std::io::Write::write_all(&mut f, b"\n%%SHUTDOWN%%\n").unwrap();
    tokio::time::timeout(Duration::from_secs(5), s.engine.shutdown_requested())
        .await
        .expect("shutdown requested");
    s.engine.close();
    let text = std::fs::read_to_string(&reg).unwrap();
    assert!(
        text.contains("stopped at") && text.contains("npx daebug"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn static_files_are_guarded_and_html_injected() {
    let s = server(|_| {}).await;
    std::fs::write(s.root.join(".env"), "SECRET=1").unwrap();
    std::fs::write(s.root.join("app.js"), "export {}").unwrap();
    let r = s.get("/").await;
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("<script data-daebug src=\"/-daebug-shim.js\"></script>"),
        "{}",
        r.body
    );
    assert_eq!(
        r.header("content-length")
            .map(|l| l.parse::<usize>().unwrap()),
        Some(r.body.len())
    );
    let js = s.get("/app.js").await;
    assert_eq!(js.header("cache-control"), Some("no-cache"));
    assert!(js.header("content-type").unwrap().contains("javascript"));
    assert_eq!(s.get("/.env").await.status, 403, "private: refused by name");
    assert_eq!(s.get("/%2e%2e/%2e%2e/etc/passwd").await.status, 404);
    assert_eq!(s.get("/-daebug-shim.js").await.status, 200);
    assert_eq!(s.get("/-daebug-nope").await.status, 404);
    let d = s
        .request(
            "POST",
            "/-daebug-discover-tests",
            &[],
            r#"{"files":["../x/*.js"]}"#,
        )
        .await;
    assert_eq!(d.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn test_run_progress_streams_and_the_summary_lands_in_the_reply() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    s.append(
        REALM,
        "\n```js\nawait (await import('node:test')).run()\n```\n",
    );
    let job = s.poll_job(REALM).await;
    let id = job.header("x-job-id").unwrap().to_string();
    let progress = format!(
        r#"{{"realmName":"{REALM}","totals":{{"pass":1,"fail":1,"skip":0}},"duration":900,"recentTests":[{{"name":"adds","suite":"math","status":"pass","duration":1}},{{"name":"breaks","status":"fail","duration":2,"error":{{"message":"AssertionError: 1 == 2","stack":"AssertionError: 1 == 2\n    at t.js:1:1"}}}}],"complete":false}}"#
    );
    let r = s
        .request("POST", "/-daebug-test-progress", &[], &progress)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("🧪 tests running")).await;
    assert!(text.contains("1 passed, 1 failed so far"), "{text}");
    let done = format!(
        r#"{{"realmName":"{REALM}","totals":{{"pass":1,"fail":1,"skip":1}},"duration":1500,"recentTests":[{{"name":"later","status":"skip"}}],"complete":true}}"#
    );
    s.request("POST", "/-daebug-test-progress", &[], &done)
        .await;
    s.post(REALM, &result(&id, r#"{"pass":1,"fail":1,"skip":1}"#))
        .await;
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("🧪 tests: ")).await;
    let reply = &text[text.find(&format!("#### 👍{REALM} to agent")).unwrap()..];
    assert!(reply.contains("##### 🧪 tests: 1 passed, 1 failed, 1 skipped in 1500ms\n```Text tests\n✖ breaks (2ms)\n  AssertionError: 1 == 2\n"), "{reply}");
    assert!(
        !text.contains("tests running"),
        "progress replaced by the summary: {text}"
    );
    let bad = s
        .request("POST", "/-daebug-test-progress", &[], r#"{"totals":1}"#)
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_shutdown_line_from_before_start_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("daebug.md"), "old\n%%SHUTDOWN%%\n").unwrap();
    let engine =
        daebug_core::engine::Engine::new(daebug_core::engine::Options::new(dir.path())).unwrap();
    engine.start().unwrap();
    let stopped =
        tokio::time::timeout(Duration::from_millis(500), engine.shutdown_requested()).await;
    assert!(
        stopped.is_err(),
        "a stale %%SHUTDOWN%% must not stop a new server"
    );
    let text = std::fs::read_to_string(dir.path().join("daebug.md")).unwrap();
    assert!(text.starts_with("# 👾 Daebug REPL — started"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_log_directory_deleted_and_created_again_is_watched() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    let dir = s.root.join("daebug");
    std::fs::remove_dir_all(&dir).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    std::fs::create_dir(&dir).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The agent recreates the log with only a request in it.
    std::fs::write(s.log(REALM), "```js\n40 + 2\n```\n").unwrap();
    let job = s.poll_job(REALM).await;
    assert_eq!(job.body, "40 + 2\n");
    let id = job.header("x-job-id").unwrap().to_string();
    s.post(REALM, &result(&id, "42")).await;
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("```JSON\n42\n```")).await;
    assert!(
        text.starts_with(&format!("# {REALM} session")),
        "title added: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn loopback_origins_get_cors_for_a_direct_endpoint_port() {
    let s = server(|_| {}).await;
    let path = format!("/-daebug-channel?name={REALM}");
    let pre = s
        .request(
            "OPTIONS",
            &path,
            &[
                ("Origin", "http://localhost:5173"),
                ("Access-Control-Request-Method", "POST"),
            ],
            "",
        )
        .await;
    assert_eq!(pre.status, 204);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert!(pre
        .header("access-control-allow-headers")
        .unwrap()
        .contains("content-type"));
    let r = s
        .request(
            "GET",
            "/-daebug-info",
            &[("Origin", "http://127.0.0.1:5173")],
            "",
        )
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://127.0.0.1:5173")
    );
    assert_eq!(r.header("access-control-expose-headers"), Some("x-job-id"));
    let evil = s
        .request("OPTIONS", &path, &[("Origin", "https://evil.example")], "")
        .await;
    assert_eq!(evil.status, 403);
    assert!(s
        .get("/-daebug-info")
        .await
        .header("access-control-allow-origin")
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn control_characters_in_url_are_refused_and_never_reach_the_registry() {
    let s = server(|_| {}).await;
    let r = s
        .get("/-daebug-channel?name=evil&url=x%0A%25%25SHUTDOWN%25%25%0A")
        .await;
    assert_eq!(r.status, 400);
    let reg = std::fs::read_to_string(s.root.join("daebug.md")).unwrap();
    assert!(
        !reg.contains("%%SHUTDOWN%%\n") && !reg.contains("evil"),
        "{reg}"
    );
    let stopped =
        tokio::time::timeout(Duration::from_millis(300), s.engine.shutdown_requested()).await;
    assert!(stopped.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_for_a_realm_that_is_not_polling_are_queued_then_answered_when_it_is_gone() {
    let s = server(|o| o.gone_after = Duration::from_millis(800)).await;
    s.poll(REALM).await; // long poll ends after 2 s; nobody polls again
    s.append(REALM, "\n```js\n1 + 1\n```\n");
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("\nqueued\n")).await;
    assert!(
        !text.contains("executing ("),
        "not polling: queued, not executing: {text}"
    );
    let text = wait_for_file(&s.log(REALM), 5, |t| t.contains("```Error")).await;
    assert!(text.contains("The realm is gone (no poll since"), "{text}");
    // The registry is rewritten just after the reply.
    wait_for_file(&s.root.join("daebug.md"), 5, |t| {
        t.contains(": gone since ")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn realms_gone_long_enough_are_forgotten_and_come_back_when_they_poll() {
    let s = server(|o| {
        o.long_poll = Duration::from_millis(100);
        o.gone_after = Duration::from_millis(300);
        o.forget_after = Duration::from_millis(800);
    })
    .await;
    s.poll(REALM).await;
    let reg = s.root.join("daebug.md");
    wait_for_file(&reg, 5, |t| t.contains(": gone since ")).await;
    wait_for_file(&reg, 5, |t| !t.contains(REALM)).await;
    assert!(s.engine.realms().is_empty());
    assert!(s.log(REALM).exists(), "the log stays");
    s.poll(REALM).await;
    let text = wait_for_file(&reg, 5, |t| t.contains(&format!("[{REALM}]"))).await;
    assert!(text.contains(": live\n"), "{text}");
}

/// A log left by a server that stopped mid-job: when the realm first reaches the new server,
/// the stale placeholder is answered "result lost", while requests appended around that first
/// contact run. (Once the settling of stale placeholders ran after the realm was registered: a
/// request accepted in between was answered "lost" without ever running.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_placeholder_is_settled_and_requests_appended_at_first_contact_run() {
    let old = server(|_| {}).await;
    old.poll(REALM).await;
    old.append(REALM, "\n```js\n'left running'\n```\n");
    assert!(old.poll_job(REALM).await.header("x-job-id").is_some());
    let stale = wait_for_file(&old.log(REALM), 5, |t| t.contains("executing (")).await;

    let s = server(|o| o.long_poll = Duration::from_millis(300)).await;
    for round in 0..12 {
        let name = format!("{}-zen-1201-{round:02}", 5 + round % 10);
        let text = stale.replace(REALM, &name);
        std::fs::create_dir_all(s.log(&name).parent().unwrap()).unwrap();
        std::fs::write(s.log(&name), &text).unwrap();
        // First contact (a background flush) and the agent's append at the same moment.
        let contact = s.post(&name, r#"{"type":"background-flush","events":[]}"#);
        let append = async {
            tokio::time::sleep(Duration::from_micros(200 * round)).await;
            s.append(&name, &format!("\n```js\n'fresh {round}'\n```\n"));
        };
        let (resp, ()) = tokio::join!(contact, append);
        assert_eq!(resp.status, 200, "{}", resp.body);
        let job = s.poll_job(&name).await;
        assert_eq!(
            job.body,
            format!("'fresh {round}'\n"),
            "round {round}, status {}, log:\n{}",
            job.status,
            std::fs::read_to_string(s.log(&name)).unwrap_or_default()
        );
        let text = wait_for_file(&s.log(&name), 5, |t| t.contains("(lost)")).await;
        assert_eq!(text.matches("(lost)").count(), 1, "{text}");
        let fresh = &text[text.find(&format!("'fresh {round}'")).unwrap()..];
        assert!(
            !fresh.contains("(lost)"),
            "the fresh request was settled as lost:\n{text}"
        );
        assert!(fresh.contains("executing ("), "{text}");
    }
}
