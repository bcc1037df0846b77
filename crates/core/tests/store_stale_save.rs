//! An agent's save based on a version the store has no record of (older than the store's last
//! edits it keeps, or tidied right where the server wrote) is taken as it is: every byte of
//! the agent's text stays. What it undid of the server's text is put back by the engine: a
//! finished job whose placeholder came back gets its reply again (`restore_replies`).

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
