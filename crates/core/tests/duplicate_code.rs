//! The same code appended again later — with or without another request between, by the same
//! agent or another — is a new request: it runs again and gets its own reply, written once,
//! under its own block. (Regression: the backstop that rewrites a finished job's reply when
//! its placeholder comes back matched placeholders by code text alone and answered the new
//! request with the old reply.)

mod common;

use common::{server, wait_for_file, TestServer};

const REALM: &str = "7-zen-1201-03";

/// Append `code` (under an agent header when `agent` is given), take the job as the realm and
/// answer it with `value`; wait until that reply is in the log. Returns the job id.
async fn run(s: &TestServer, agent: Option<&str>, code: &str, value: &str) -> String {
    let header = agent
        .map(|a| format!("\n### 🗣️{a} to {REALM} at 10:00:00\n"))
        .unwrap_or_default();
    s.append(REALM, &format!("{header}\n```js\n{code}\n```\n"));
    let job = s.poll_job(REALM).await;
    let id = job
        .header("x-job-id")
        .unwrap_or_else(|| panic!("no job handed out for {code:?}"))
        .to_string();
    assert_eq!(job.body.trim(), code);
    let body = format!(r#"{{"ok":true,"value":{value},"jobId":"{id}","backgroundEvents":[]}}"#);
    assert_eq!(s.post(REALM, &body).await.status, 200);
    let want = format!("```JSON\n{value}\n```");
    wait_for_file(&s.log(REALM), 5, |t| t.contains(&want)).await;
    id
}

/// Each value appears exactly once, in a reply directly below its own request, in order, and
/// nothing is left waiting or reported as lost.
fn check(text: &str, expect: &[(&str, &str)]) {
    assert!(!text.contains("Could not find"), "{text}");
    assert!(
        !text.contains("\nqueued") && !text.contains("executing ("),
        "{text}"
    );
    let mut at = 0;
    for (code, value) in expect {
        let want = format!("```JSON\n{value}\n```");
        assert_eq!(text.matches(&want).count(), 1, "{value} once:\n{text}");
        let block = format!("```js\n{code}\n```");
        let b = at + text[at..].find(&block).unwrap_or_else(|| panic!("{text}"));
        let r = text.find(&want).unwrap();
        assert!(r > b, "reply {value} below {code}:\n{text}");
        // No other request block between a request and its reply.
        assert!(!text[b + block.len()..r].contains("```js"), "{text}");
        at = r;
    }
    assert_eq!(text.matches("```JSON").count(), expect.len(), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_code_again_after_another_request_gets_its_own_reply() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    let a = run(&s, None, "null.x", "1").await;
    let b = run(&s, None, "2 + 2", "4").await;
    let c = run(&s, None, "null.x", "3").await;
    assert!(a != b && b != c && a != c);
    let text = std::fs::read_to_string(s.log(REALM)).unwrap();
    check(&text, &[("null.x", "1"), ("2 + 2", "4"), ("null.x", "3")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_code_twice_in_a_row_gets_two_replies() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    let a = run(&s, None, "null.x", "1").await;
    let b = run(&s, None, "null.x", "2").await;
    let c = run(&s, None, "null.x", "3").await;
    assert!(a != b && b != c && a != c);
    let text = std::fs::read_to_string(s.log(REALM)).unwrap();
    check(&text, &[("null.x", "1"), ("null.x", "2"), ("null.x", "3")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_code_from_two_agents_gets_a_reply_each() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    run(&s, Some("alice"), "null.x", "1").await;
    run(&s, Some("bob"), "2 + 2", "4").await;
    run(&s, Some("bob"), "null.x", "3").await;
    run(&s, Some("alice"), "null.x", "5").await;
    let text = std::fs::read_to_string(s.log(REALM)).unwrap();
    check(
        &text,
        &[
            ("null.x", "1"),
            ("2 + 2", "4"),
            ("null.x", "3"),
            ("null.x", "5"),
        ],
    );
    // Each reply names the agent of its own request.
    let r3 = text.find("```JSON\n3\n```").unwrap();
    let head3 = text[..r3].rfind("#### 👍").unwrap();
    assert!(text[head3..r3].contains(" to bob at "), "{text}");
    let r5 = text.find("```JSON\n5\n```").unwrap();
    let head5 = text[..r5].rfind("#### 👍").unwrap();
    assert!(text[head5..r5].contains(" to alice at "), "{text}");
}
