//! The `/-daebug*` endpoints (SPEC 5) as an axum Router over the engine: the channel (long
//! poll and posts, and the WebSocket of [`super::channel`]), jobs as scripts
//! ([`super::jobs`]), the embedded scripts, test discovery and progress, and `/-daebug-info`,
//! which a starting server uses to recognise a Daebug server for the same root.

use super::security::{cross_site_reason, text_response, AllowedHosts};
use crate::assets;
use crate::engine::Engine;
use crate::wire::parse_message;
use axum::body::{Body, Bytes};
#[cfg(feature = "native")]
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::middleware::{self, Next};
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderValue, StatusCode, Uri};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bodies posted to Daebug endpoints are bounded.
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// So are query strings.
pub const MAX_QUERY: usize = 16 * 1024;

#[derive(Clone)]
struct AppState {
    engine: Engine,
    allowed: AllowedHosts,
    /// Shared polls waiting, by the id their leader gave them (to end them early). A kick may
    /// arrive before its poll: it leaves a permit that ends that poll at once.
    shared_polls: Arc<Mutex<SharedPolls>>,
}

/// Every `/-daebug*` route, with its cross-site and size guards.
pub fn router(engine: Engine, allowed: AllowedHosts) -> Router {
    let state = AppState {
        engine,
        allowed,
        shared_polls: Default::default(),
    };
    let router = Router::new()
        .route("/-daebug-channel", get(channel_poll).post(channel_post))
        .route("/-daebug-channel-many", post(channel_many));
    // Native: axum upgrades the socket. WASI: the Node host upgrades it and bridges it in.
    #[cfg(feature = "native")]
    let router = router.route("/-daebug-ws", get(channel_socket));
    #[cfg(not(feature = "native"))]
    let router = router.route("/-daebug-ws", get(channel_bridged));
    router
        .merge(super::api::router(state.engine.clone()))
        .route("/-daebug-job/{id}/{variant}", get(job_script))
        .route("/-daebug-discover-tests", post(discover_tests))
        .route("/-daebug-test-progress", post(test_progress))
        .route("/-daebug-info", get(info))
        .fallback(asset)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

async fn guard(State(st): State<AppState>, req: Request, next: Next) -> axum::response::Response {
    if let Some(reason) = cross_site_reason(req.headers(), &st.allowed) {
        tracing::debug!(reason, "refused cross-site request");
        return text_response(
            StatusCode::FORBIDDEN,
            &format!("Daebug refused this request: {reason}.\n"),
        );
    }
    if req.uri().query().map(str::len).unwrap_or(0) > MAX_QUERY {
        return text_response(
            StatusCode::URI_TOO_LONG,
            "Daebug refused this request: query string too long.\n",
        );
    }
    // A page served by another local server (Vite) may talk to these endpoints on their own
    // port: CORS for allowed (loopback or configured) origins only — the guard above refused
    // every other origin already.
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .filter(|o| o.as_bytes() != b"null")
        .cloned();
    if let Some(origin) = &origin {
        if req.method() == http::Method::OPTIONS {
            return axum::response::Response::builder()
                .status(StatusCode::NO_CONTENT)
                .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)
                .header(header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST")
                .header(header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type")
                .header(header::ACCESS_CONTROL_MAX_AGE, "600")
                .header(header::VARY, "origin")
                .body(Body::empty())
                .expect("valid response");
        }
    }
    let mut res = next.run(req).await;
    if let Some(origin) = origin {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("x-job-id"),
        );
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
    res
}

/// `name` and `url` from the query string: a name outside the shim's alphabet is refused, the
/// URL is made inert for Markdown (see [`crate::names`]).
fn realm_params(uri: &Uri) -> Result<(String, String), Box<axum::response::Response>> {
    let q: HashMap<String, String> = uri.query().map(query_pairs).unwrap_or_default();
    let name = q.get("name").map(|s| s.trim()).unwrap_or_default();
    let url = q.get("url").map(String::as_str).unwrap_or_default();
    crate::names::check_realm_params(name, url).map_err(|reason| {
        Box::new(text_response(
            StatusCode::BAD_REQUEST,
            &format!("Daebug: {reason}.\n"),
        ))
    })
}

fn query_pairs(q: &str) -> HashMap<String, String> {
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// `instance` from the query string: the realm instance (page load, worker start) asking; SPEC 5
/// clients send none and are never refused a name.
fn instance_param(uri: &Uri) -> Option<String> {
    let q: HashMap<String, String> = uri.query().map(query_pairs).unwrap_or_default();
    q.get("instance")
        .filter(|i| !i.is_empty() && i.len() <= 100)
        .cloned()
}

fn name_taken(name: &str) -> axum::response::Response {
    text_response(
        StatusCode::CONFLICT,
        &format!("Daebug: a live realm already holds the name {name}; take another.\n"),
    )
}

async fn channel_poll(State(st): State<AppState>, uri: Uri) -> axum::response::Response {
    let (name, url) = match realm_params(&uri) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let _hold = match instance_param(&uri).map(|i| st.engine.hold_name(&name, &i, true)) {
        Some(Err(_)) => return name_taken(&name),
        Some(Ok(hold)) => Some(hold),
        None => None,
    };
    match st.engine.poll(&name, &url).await {
        Some(job) => axum::response::Response::builder()
            .status(StatusCode::OK)
            .header(
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            )
            .header(header::CACHE_CONTROL, "no-store")
            .header(
                "x-job-id",
                HeaderValue::from_str(&job.id).unwrap_or(HeaderValue::from_static("0")),
            )
            .header("access-control-expose-headers", "x-job-id")
            .body(Body::from(job.code))
            .expect("valid response"),
        None => axum::response::Response::builder()
            .status(StatusCode::OK)
            .header(header::CACHE_CONTROL, "no-store")
            .body(Body::empty())
            .expect("valid response"),
    }
}

async fn channel_post(
    State(st): State<AppState>,
    uri: Uri,
    body: Bytes,
) -> axum::response::Response {
    let (name, url) = match realm_params(&uri) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match parse_message(&body) {
        Ok(message) => {
            st.engine.post(&name, &url, message);
            ok_json("{\"ok\":true}")
        }
        Err(reason) => {
            tracing::debug!(%name, %reason, "bad channel message");
            text_response(StatusCode::BAD_REQUEST, &format!("Daebug: {reason}\n"))
        }
    }
}

/// `GET /-daebug-ws`: the realm's channel as a WebSocket (see [`super::channel`]).
#[cfg(feature = "native")]
async fn channel_socket(
    State(st): State<AppState>,
    uri: Uri,
    upgrade: WebSocketUpgrade,
) -> axum::response::Response {
    let (name, url) = match realm_params(&uri) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let Some(instance) = instance_param(&uri) else {
        return text_response(
            StatusCode::BAD_REQUEST,
            "Daebug: missing ?instance= parameter.\n",
        );
    };
    let engine = st.engine.clone();
    upgrade
        .max_message_size(MAX_BODY)
        .on_upgrade(move |socket| super::channel::serve_socket(socket, engine, name, url, instance))
}

/// `GET /-daebug-ws` in a host that upgrades the socket itself and bridges it in (see
/// [`super::channel::bridge`]): the same checks as the native route, then `101`, and the
/// session runs on the bridged end the host put in the request's extensions.
#[cfg(not(feature = "native"))]
async fn channel_bridged(
    State(st): State<AppState>,
    uri: Uri,
    slot: Option<axum::Extension<super::channel::BridgeSlot>>,
) -> axum::response::Response {
    let (name, url) = match realm_params(&uri) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let Some(instance) = instance_param(&uri) else {
        return text_response(
            StatusCode::BAD_REQUEST,
            "Daebug: missing ?instance= parameter.\n",
        );
    };
    let Some(frames) = slot.and_then(|s| s.take()) else {
        return text_response(
            StatusCode::UPGRADE_REQUIRED,
            "Daebug: /-daebug-ws needs a WebSocket upgrade.\n",
        );
    };
    tokio::spawn(super::channel::serve(
        frames,
        st.engine.clone(),
        name,
        url,
        instance,
    ));
    axum::response::Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .body(Body::empty())
        .expect("valid response")
}

/// `GET /-daebug-job/<id>/<variant>.js`: a running job's code as a script (see [`super::jobs`]).
async fn job_script(
    State(st): State<AppState>,
    Path((id, variant)): Path<(String, String)>,
) -> axum::response::Response {
    let Some(parsed) = super::jobs::parse_variant(&variant) else {
        return text_response(StatusCode::NOT_FOUND, "Daebug: no such job script.\n");
    };
    let Some(code) = st.engine.running_job_code(&id) else {
        return text_response(
            StatusCode::NOT_FOUND,
            "Daebug: that job is not running (finished, timed out, or never handed out).\n",
        );
    };
    match super::jobs::script(&code, &parsed) {
        Some(text) => axum::response::Response::builder()
            .header(
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            )
            .header(header::CACHE_CONTROL, "no-store")
            .body(Body::from(text))
            .expect("valid response"),
        None => text_response(StatusCode::NOT_FOUND, "Daebug: no such job script.\n"),
    }
}

#[derive(Deserialize)]
struct ManyRequest {
    #[serde(default)]
    realms: Vec<super::channel::PolledRealm>,
    /// This poll's id, so that its leader can end it early (`kick`).
    #[serde(default)]
    poll: Option<String>,
    /// End the waiting poll with this id now (its answer is `{}` unless a job was just taken).
    #[serde(default)]
    kick: Option<String>,
}

type SharedPolls = HashMap<String, (Arc<tokio::sync::Notify>, std::time::Instant)>;

/// The notify for shared poll `id`, created if missing (stale entries of kicks whose polls
/// never came are dropped after a minute).
fn shared_poll(polls: &Mutex<SharedPolls>, id: &str) -> Arc<tokio::sync::Notify> {
    let mut polls = polls.lock().unwrap_or_else(|e| e.into_inner());
    if polls.len() > 256 {
        polls.retain(|_, (_, at)| at.elapsed() < std::time::Duration::from_secs(60));
    }
    polls
        .entry(id.to_string())
        .or_insert_with(|| {
            (
                Arc::new(tokio::sync::Notify::new()),
                std::time::Instant::now(),
            )
        })
        .0
        .clone()
}

/// Removes a shared poll's entry when its request ends.
struct SharedPollEntry<'a> {
    polls: &'a Mutex<SharedPolls>,
    id: Option<String>,
}

impl Drop for SharedPollEntry<'_> {
    fn drop(&mut self) {
        if let Some(id) = &self.id {
            self.polls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(id);
        }
    }
}

/// Most realms one shared poll may carry (an origin's tabs, two realms each).
const MAX_POLLED_REALMS: usize = 200;

/// `POST /-daebug-channel-many` `{"realms":[{name,url,instance}…],"poll":"<id>"}`: one long poll
/// for every realm of an origin, on hosts without WebSockets. Answers `{"name","instance","id",
/// "code"}` for the first job, `{"refused":[names]}` at once when live instances hold names, or
/// `{}` after the wait or when `{"kick":"<id>"}` ends it early.
async fn channel_many(State(st): State<AppState>, body: Bytes) -> axum::response::Response {
    let req: ManyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return text_response(
                StatusCode::BAD_REQUEST,
                &format!("Daebug: malformed shared poll: {e}\n"),
            )
        }
    };
    if let Some(kick) = req
        .kick
        .as_deref()
        .filter(|k| !k.is_empty() && k.len() <= 100)
    {
        shared_poll(&st.shared_polls, kick).notify_one();
        return ok_json("{}");
    }
    if req.realms.is_empty() || req.realms.len() > MAX_POLLED_REALMS {
        return text_response(
            StatusCode::BAD_REQUEST,
            &format!("Daebug: a shared poll names 1 to {MAX_POLLED_REALMS} realms.\n"),
        );
    }
    for r in &req.realms {
        let bad_url = r.url.len() > 4096 || r.url.chars().any(|c| c.is_control());
        if !crate::names::is_valid_realm_name(&r.name)
            || bad_url
            || r.instance.is_empty()
            || r.instance.len() > 100
        {
            return text_response(
                StatusCode::BAD_REQUEST,
                "Daebug: invalid realm in shared poll (name, url or instance).\n",
            );
        }
    }
    let poll_id = req.poll.filter(|p| !p.is_empty() && p.len() <= 100);
    let kick = match &poll_id {
        Some(id) => shared_poll(&st.shared_polls, id),
        None => Arc::new(tokio::sync::Notify::new()),
    };
    let _entry = SharedPollEntry {
        polls: &st.shared_polls,
        id: poll_id,
    };
    let body = match super::channel::poll_many(&st.engine, &req.realms, Some(&kick)).await {
        super::channel::ManyOutcome::Refused(names) => serde_json::json!({ "refused": names }),
        super::channel::ManyOutcome::Job(i, job) => {
            serde_json::json!({ "name": req.realms[i].name, "instance": req.realms[i].instance, "id": job.id, "code": job.code })
        }
        super::channel::ManyOutcome::Empty => serde_json::json!({}),
    };
    ok_json(&body.to_string())
}

#[derive(Deserialize)]
struct DiscoverRequest {
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

async fn discover_tests(State(st): State<AppState>, body: Bytes) -> axum::response::Response {
    let req: DiscoverRequest =
        match serde_json::from_slice(if body.is_empty() { b"{}" } else { &body }) {
            Ok(r) => r,
            Err(e) => {
                return text_response(
                    StatusCode::BAD_REQUEST,
                    &format!("Daebug: malformed discover request: {e}\n"),
                )
            }
        };
    let root = st.engine.root().to_path_buf();
    let found = tokio::task::spawn_blocking(move || {
        crate::discover::discover(&root, &req.files, &req.exclude)
    })
    .await;
    match found {
        Ok(Ok(files)) => ok_json(&serde_json::json!({ "files": files }).to_string()),
        Ok(Err(reason)) => text_response(StatusCode::BAD_REQUEST, &format!("Daebug: {reason}\n")),
        Err(e) => {
            tracing::debug!("discovery failed: {e}");
            text_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Daebug: test discovery failed.\n",
            )
        }
    }
}

async fn test_progress(State(st): State<AppState>, body: Bytes) -> axum::response::Response {
    match serde_json::from_slice::<crate::testrun::Progress>(&body) {
        Ok(p) => {
            st.engine.test_progress(p);
            ok_json("{\"ok\":true}")
        }
        Err(e) => text_response(
            StatusCode::BAD_REQUEST,
            &format!("Daebug: malformed test progress: {e}\n"),
        ),
    }
}

async fn info(State(st): State<AppState>) -> axum::response::Response {
    let body = serde_json::json!({
        "daebug": env!("CARGO_PKG_VERSION"),
        "root": st.engine.root().to_string_lossy(),
    });
    ok_json(&body.to_string())
}

async fn asset(uri: Uri) -> axum::response::Response {
    match assets::asset(uri.path()) {
        Some(js) => axum::response::Response::builder()
            .header(
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            )
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Body::from(js))
            .expect("valid response"),
        None => text_response(StatusCode::NOT_FOUND, "Daebug: no such endpoint.\n"),
    }
}

fn ok_json(body: &str) -> axum::response::Response {
    axum::response::Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body.to_string()))
        .expect("valid response")
}
