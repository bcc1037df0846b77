//! An agent's save based on a version the store has no record of (older than the store's last
//! edits it keeps, or tidied right where the server wrote) is taken as it is: every byte of
//! the agent's text stays. What it undid of the server's text is put back by the engine: a
//! finished job whose placeholder came back gets its reply again (`restore_replies`), and
//! requests it brings back without their headers, exactly as they were taken, are not run again.

mod common;

use common::{server, wait_for_file};

const REALM: &str = "4-oak-1202-00";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_placeholder_brought_back_by_a_stale_save_gets_its_reply_again() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    let log = s.log(REALM);
    s.append(REALM, "\n```js\n6 * 7\n```\n");
    let job = s.poll_job(REALM).await;
    let id = job.header("x-job-id").expect("a job").to_string();
    // The version the agent read: the request taken, its placeholder waiting.
    let read = wait_for_file(&log, 5, |t| t.contains("\nexecuting (")).await;
    let body = format!(r#"{{"ok":true,"value":42,"jobId":"{id}","backgroundEvents":[]}}"#);
    assert_eq!(s.post(REALM, &body).await.status, 200);
    wait_for_file(&log, 5, |t| t.contains("```JSON\n42\n```")).await;
    // The agent saves what it read, with a note of its own right above the request's code:
    // neither the version it read nor any the store wrote is recognisable in it.
    let fence = read.rfind("```js\n6 * 7").expect("the request");
    let note = "A note the agent added while the job ran.\n\n";
    let saved = format!("{}{note}{}", &read[..fence], &read[fence..]);
    std::fs::write(&log, &saved).unwrap();
    let text = wait_for_file(&log, 5, |t| t.contains("```JSON\n42\n```")).await;
    assert!(text.contains(note), "the agent's note is kept:\n{text}");
    assert_eq!(text.matches("```JSON\n42\n```").count(), 1, "{text}");
    assert!(
        !text.contains("\nexecuting (") && !text.contains("\nqueued"),
        "the placeholder got its reply again:\n{text}"
    );
    assert!(!text.contains("Could not find"), "{text}");
    // The request ran once: nothing more is handed out.
    let again = s.poll(REALM).await;
    assert!(again.header("x-job-id").is_none(), "ran twice:\n{text}");
}

/// A save of a copy older than everything the store remembers of its own edits (an editor's
/// stale buffer saved back minutes later) puts requests that already ran below the footer again,
/// without their headers. They are answered with a 🚫 reply saying so, not run a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_an_old_copy_brings_back_do_not_run_again() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    let log = s.log(REALM);
    // The version the agent writes (and its editor keeps): the request below the footer.
    let copy = format!(
        "{}\n```js\n6 * 7\n```\n",
        std::fs::read_to_string(&log).unwrap()
    );
    std::fs::write(&log, &copy).unwrap();
    let job = s.poll_job(REALM).await;
    let id = job.header("x-job-id").expect("a job").to_string();
    let body = format!(r#"{{"ok":true,"value":42,"jobId":"{id}","backgroundEvents":[]}}"#);
    assert_eq!(s.post(REALM, &body).await.status, 200);
    wait_for_file(&log, 5, |t| t.contains("```JSON\n42\n```")).await;
    // More of the server's own edits than the store remembers (256).
    for n in 0..300 {
        let flush = format!(
            r#"{{"type":"background-flush","reportedAt":"2026-01-01T00:00:00Z","events":[{{"type":"console","level":"log","eventAt":"2026-01-01T00:00:00Z","message":"bg {n}"}}]}}"#
        );
        assert_eq!(s.post(REALM, &flush).await.status, 200);
    }
    wait_for_file(&log, 10, |t| t.contains("\nbg 299\n")).await;
    // The stale copy saved back.
    std::fs::write(&log, &copy).unwrap();
    let text = wait_for_file(&log, 5, |t| t.contains("Not run again")).await;
    assert_eq!(text.matches("```js\n6 * 7\n```").count(), 1, "{text}");
    assert!(
        !text.contains("\nexecuting (") && !text.contains("\nqueued"),
        "{text}"
    );
    let again = s.poll(REALM).await;
    assert!(again.header("x-job-id").is_none(), "ran twice:\n{text}");
    // Appended again, it runs.
    s.append(REALM, "\n```js\n6 * 7\n```\n");
    let job = s.poll_job(REALM).await;
    assert!(job.header("x-job-id").is_some(), "appended again, it runs");
}
