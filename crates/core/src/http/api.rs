//! The agent HTTP API under `/-daebug-api` (SPEC 5.1, docs/api.md): health, realms, a realm's
//! log, run code and wait for the reply, run a test suite. Everything that runs code goes
//! through [`Engine::submit`], so it lands in the realm's log as an ordinary request from the
//! caller's name. The operations are plain functions returning `(status, JSON)` so that the
//! MCP server calls exactly the same code.

use crate::engine::{Engine, Finished, SubmitError};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::Router;
use http::{header, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// Where the API lives.
pub const API: &str = "/-daebug-api";
/// Where the MCP server (streamable HTTP) lives.
pub const MCP: &str = "/-daebug-mcp";

/// How long a run waits beyond the engine's own timeout (which answers the job) by default.
const WAIT_SLACK: Duration = Duration::from_secs(5);

/// The API routes (mounted inside the `/-daebug*` router, behind its guards).
pub fn router<S: Clone + Send + Sync + 'static>(engine: Engine) -> Router<S> {
    let router = Router::new()
        .route("/-daebug-api", get(health))
        .route("/-daebug-api/health", get(health))
        .route("/-daebug-api/realms", get(realms))
        .route("/-daebug-api/log", get(log))
        .route("/-daebug-api/run", post(run))
        .route("/-daebug-api/test", post(test));
    // MCP over streamable HTTP needs the native build (rmcp's server transport). Daebug sends
    // nothing unprompted, so there is no standalone SSE stream: `GET` is 405, as the MCP spec
    // allows — a stream that never ends would also hold hosts like Vite open at close.
    #[cfg(feature = "native")]
    let router = {
        let mcp = crate::mcp::http_service(engine.clone());
        router.route(
            MCP,
            get(no_sse_stream)
                .post_service(mcp.clone())
                .delete_service(mcp),
        )
    };
    router.with_state(engine)
}

/// A run request (`POST /-daebug-api/run`, MCP `evaluate`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub code: String,
    #[serde(default)]
    pub realm: Option<String>,
    #[serde(default)]
    pub agent: Option<String>,
    /// Seconds to wait for the reply.
    #[serde(default)]
    pub timeout: Option<f64>,
}

/// A test request (`POST /-daebug-api/test`, MCP `run_tests`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub realm: Option<String>,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub timeout: Option<f64>,
}

/// `GET /-daebug-api/health`.
pub fn health_op(engine: &Engine) -> (StatusCode, Value) {
    let realms = engine.realm_infos();
    (
        StatusCode::OK,
        json!({
            "ok": true,
            "daebug": env!("CARGO_PKG_VERSION"),
            "root": engine.root().to_string_lossy(),
            "registry": engine.registry_path().to_string_lossy(),
            "realms": realms.iter().filter(|r| r.state != "gone").count(),
        }),
    )
}

/// `GET /-daebug-api/realms`.
pub fn realms_op(engine: &Engine) -> (StatusCode, Value) {
    (StatusCode::OK, json!({ "realms": engine.realm_infos() }))
}

/// `GET /-daebug-api/log?realm=NAME[&last=N]`.
pub fn log_op(engine: &Engine, realm: Option<&str>, last: Option<usize>) -> (StatusCode, Value) {
    let info = match engine.choose_realm(realm) {
        Ok(r) => r,
        // A gone realm's log is still worth reading.
        Err(SubmitError::NoRealm(m)) => match realm.and_then(|n| {
            engine
                .realm_infos()
                .into_iter()
                .find(|r| crate::names::sanitize(&r.name) == crate::names::sanitize(n))
        }) {
            Some(r) => r,
            None => return error(StatusCode::NOT_FOUND, &m),
        },
        Err(e) => return submit_error(engine, e),
    };
    let path = engine.root().join(&info.log);
    // Never read through a symbolic link (the engine's rule for logs), and look before reading.
    if !engine.inside_root(&path) {
        return error(
            StatusCode::FORBIDDEN,
            "the log is a symbolic link, which Daebug does not follow; replace it with a regular file",
        );
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => {
            return error(
                StatusCode::NOT_FOUND,
                &format!(
                    "{} does not exist (deleted?); recreate it to use this realm",
                    info.log
                ),
            )
        }
    };
    let (text, count) = match last {
        Some(n) => {
            let entries = split_entries(&text);
            let count = entries.len();
            (entries[count.saturating_sub(n)..].concat(), count)
        }
        None => {
            let count = split_entries(&text).len();
            (text, count)
        }
    };
    (
        StatusCode::OK,
        json!({ "realm": info.name, "log": info.log, "entries": count, "text": text }),
    )
}

/// `POST /-daebug-api/run`.
pub async fn run_op(engine: &Engine, req: RunRequest, default_agent: &str) -> (StatusCode, Value) {
    let wait = wait_for(engine, req.timeout);
    let agent = req.agent.as_deref().unwrap_or(default_agent);
    match engine
        .submit(req.realm.as_deref(), agent, &req.code, wait)
        .await
    {
        Ok(f) => (StatusCode::OK, f.to_json()),
        Err(e) => submit_error(engine, e),
    }
}

/// The code a test run appends: the in-page `node:test` runner over `files`.
pub fn test_code(files: &[String]) -> String {
    let files = serde_json::to_string(files).expect("strings serialize");
    format!(
        "// daebug tests\nconst {{ run }} = await import('node:test');\nconst report = await run({{ files: {files} }});\nreport.totals"
    )
}

/// `POST /-daebug-api/test`.
pub async fn test_op(
    engine: &Engine,
    req: TestRequest,
    default_agent: &str,
) -> (StatusCode, Value) {
    let wait = wait_for(engine, req.timeout);
    let agent = req.agent.as_deref().unwrap_or(default_agent);
    match engine
        .submit(req.realm.as_deref(), agent, &test_code(&req.files), wait)
        .await
    {
        Ok(f) => (StatusCode::OK, test_json(&f)),
        Err(e) => submit_error(engine, e),
    }
}

/// A test run's reply: the run JSON plus `passed` (every test passed) and `totals`.
fn test_json(f: &Finished) -> Value {
    let mut v = f.to_json();
    let totals = v.get("value").cloned().unwrap_or(Value::Null);
    let passed = f.ok()
        && totals.get("fail").and_then(Value::as_u64) == Some(0)
        && totals.get("pass").is_some();
    let o = v.as_object_mut().expect("object");
    o.insert("passed".into(), passed.into());
    o.insert("totals".into(), totals);
    v
}

fn wait_for(engine: &Engine, timeout: Option<f64>) -> Duration {
    match timeout {
        Some(s) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s.min(86_400.0)),
        _ => engine.options().timeout + WAIT_SLACK,
    }
}

fn error(status: StatusCode, message: &str) -> (StatusCode, Value) {
    (status, json!({ "ok": false, "error": message }))
}

fn submit_error(engine: &Engine, e: SubmitError) -> (StatusCode, Value) {
    let message = e.to_string();
    match e {
        SubmitError::NoRealm(_) => {
            let live: Vec<String> = engine
                .realm_infos()
                .into_iter()
                .filter(|r| r.state != "gone")
                .map(|r| r.name)
                .collect();
            (
                StatusCode::NOT_FOUND,
                json!({ "ok": false, "error": message, "noRealm": true, "realms": live }),
            )
        }
        SubmitError::Ambiguous(candidates) => (
            StatusCode::CONFLICT,
            json!({ "ok": false, "error": message, "candidates": candidates }),
        ),
        SubmitError::LogMissing(_) => error(StatusCode::GONE, &message),
        SubmitError::WaitTimedOut { job_id, realm } => (
            StatusCode::GATEWAY_TIMEOUT,
            json!({ "ok": false, "error": message, "timedOut": true, "jobId": job_id, "realm": realm }),
        ),
        SubmitError::Failed(_) => error(StatusCode::BAD_REQUEST, &message),
    }
}

/// Split a log into entries: each section that starts with a request header (`### 🗣️…`) or a
/// server heading (`#### …`: reply, placeholder, background flush, diagnostic, test summary),
/// outside code blocks. The title and guide before the first entry and the footer are left out.
pub fn split_entries(text: &str) -> Vec<&str> {
    let mut starts = Vec::new();
    let mut end = text.len();
    let mut fence: Option<(char, usize)> = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let l = line.trim_end_matches(['\n', '\r']);
        let t = l.trim_start();
        let indent = l.len() - t.len();
        let marker = t.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map(|c| t.chars().take_while(|x| *x == c).count());
        match (fence, marker, run) {
            (None, Some(c), Some(n)) if n >= 3 && indent < 4 => fence = Some((c, n)),
            (Some((c, n)), Some(m), Some(k)) if m == c && k >= n && t[k..].trim().is_empty() => {
                fence = None
            }
            (None, _, _) => {
                if l.starts_with("### 🗣") || (l.starts_with("#### ") && !l.starts_with("##### "))
                {
                    starts.push(pos);
                } else if l.starts_with("> Append your JavaScript snippet below") {
                    // The footer: its dash line is the previous line.
                    let before = &text[..pos];
                    let rule = before
                        .trim_end_matches(['\n', '\r'])
                        .rfind('\n')
                        .map(|i| i + 1)
                        .unwrap_or(0);
                    if before[rule..].trim().chars().all(|c| c == '-') {
                        end = rule;
                    } else {
                        end = pos;
                    }
                    starts.retain(|s| *s < end);
                    break;
                }
            }
            _ => {}
        }
        pos += line.len();
    }
    let mut out = Vec::new();
    for (i, s) in starts.iter().enumerate() {
        let e = starts.get(i + 1).copied().unwrap_or(end).min(end);
        if *s < e {
            out.push(&text[*s..e]);
        }
    }
    out
}

// ----- HTTP handlers ---------------------------------------------------------------------

#[cfg(feature = "native")]
async fn no_sse_stream() -> axum::response::Response {
    let mut res = respond(error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Daebug's MCP endpoint has no server-initiated stream; POST JSON-RPC requests to it",
    ));
    res.headers_mut().insert(
        header::ALLOW,
        http::HeaderValue::from_static("POST, DELETE"),
    );
    res
}

async fn health(State(engine): State<Engine>) -> axum::response::Response {
    respond(health_op(&engine))
}

async fn realms(State(engine): State<Engine>) -> axum::response::Response {
    respond(realms_op(&engine))
}

#[derive(Deserialize)]
struct LogQuery {
    realm: Option<String>,
    last: Option<usize>,
}

async fn log(
    State(engine): State<Engine>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> axum::response::Response {
    match query {
        Ok(Query(q)) => respond(log_op(&engine, q.realm.as_deref(), q.last)),
        Err(e) => respond(error(
            StatusCode::BAD_REQUEST,
            &format!("bad query: {e} (expected ?realm=NAME&last=N)"),
        )),
    }
}

async fn run(State(engine): State<Engine>, body: Bytes) -> axum::response::Response {
    match serde_json::from_slice::<RunRequest>(&body) {
        Ok(req) => respond(run_op(&engine, req, "api").await),
        Err(e) => respond(error(
            StatusCode::BAD_REQUEST,
            &format!("malformed run request: {e} (expected {{\"code\": \"…\", \"realm\"?, \"agent\"?, \"timeout\"?}})"),
        )),
    }
}

async fn test(State(engine): State<Engine>, body: Bytes) -> axum::response::Response {
    let body: &[u8] = if body.is_empty() { b"{}" } else { &body };
    match serde_json::from_slice::<TestRequest>(body) {
        Ok(req) => respond(test_op(&engine, req, "api").await),
        Err(e) => respond(error(
            StatusCode::BAD_REQUEST,
            &format!("malformed test request: {e} (expected {{\"files\"?: [globs], \"realm\"?, \"agent\"?, \"timeout\"?}})"),
        )),
    }
}

fn respond((status, body): (StatusCode, Value)) -> axum::response::Response {
    axum::response::Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(axum::body::Body::from(body.to_string()))
        .expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "# r session\n\nguide\n\n---\n\n### 🗣️agent to r at 10:00:00\n\n```js\n// #### not a heading\n1\n```\n\n#### 👍r to agent at 10:00:00 (1ms)\n```JSON\n1\n```\n\n#### 📣r background at 10:00:01\n##### ☑️console.log at 10:00:01\n```Text console.log\nx\n```\n\n----------------------------------------------------------------------\n> Append your JavaScript snippet below to execute against this page.\n\n";

    #[test]
    fn entries_skip_guide_code_and_footer() {
        let e = split_entries(LOG);
        assert_eq!(e.len(), 3);
        assert!(e[0].starts_with("### 🗣️agent") && e[0].contains("// #### not a heading"));
        assert!(e[1].starts_with("#### 👍r"));
        assert!(e[2].starts_with("#### 📣r") && e[2].contains("##### ☑️console.log"));
        assert!(!e[2].contains("Append your JavaScript"));
    }

    #[test]
    fn no_entries_in_a_new_log() {
        let log = "# r session\n\nguide\n\n---\n\n----------------------------------------------------------------------\n> Append your JavaScript snippet below to execute against this page.\n\n";
        assert!(split_entries(log).is_empty());
    }

    #[test]
    fn test_code_lists_files() {
        assert!(test_code(&["a.test.js".into()]).contains("run({ files: [\"a.test.js\"] })"));
    }
}
