//! Putting the shim and the import map into HTML pages: a pure function on the HTML text, and
//! a tower Layer that applies it to the HTML responses of any inner service.

use crate::assets::{import_map_entries, SHIM_PATH};
use axum::body::Body;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response};
use http_body_util::BodyExt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// HTML bodies larger than this are passed through untouched.
const MAX_HTML: usize = 32 * 1024 * 1024;
/// Marks a page the shim was already injected into.
const MARKER: &str = "data-daebug";

/// Insert Daebug's import map entries and the shim script into an HTML page. An import map the
/// page already has is merged (its own entries win) rather than duplicated; the shim goes at the
/// start of `<head>` so it sees the page's first errors. Idempotent.
pub fn inject_html(html: &str) -> String {
    inject_html_with(html, None)
}

/// [`inject_html`], telling the shim to reach the `/-daebug*` endpoints directly on
/// `direct_port` of the page's own (loopback) host — for hosts like Vite, whose own server would
/// otherwise relay every long poll and result through Node.
pub fn inject_html_with(html: &str, direct_port: Option<u16>) -> String {
    if html.contains(&format!("<script {MARKER}")) {
        return html.to_string();
    }
    let port_attr = direct_port
        .map(|p| format!(" data-daebug-port=\"{p}\""))
        .unwrap_or_default();
    let shim = format!("<script {MARKER}{port_attr} src=\"{SHIM_PATH}\"></script>");
    let lower = html.to_ascii_lowercase();
    let (html, has_map) = match merge_import_map(html, &lower) {
        Some(merged) => (merged, true),
        None => (html.to_string(), false),
    };
    let lower = html.to_ascii_lowercase();
    let mut tags = String::new();
    if !has_map {
        tags.push_str(&format!(
            "<script type=\"importmap\" {MARKER}-importmap>{}</script>",
            import_map_json(None)
        ));
    }
    tags.push_str(&shim);
    let at = insertion_point(&lower);
    format!("{}{}{}", &html[..at], tags, &html[at..])
}

/// Just after `<head …>`, else after `<html …>`, else after a doctype, else the start.
fn insertion_point(lower: &str) -> usize {
    for tag in ["<head", "<html"] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(tag).map(|i| i + from) {
            let next = lower.as_bytes().get(i + tag.len()).copied();
            if matches!(next, Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/')) {
                if let Some(end) = lower[i..].find('>') {
                    return i + end + 1;
                }
            }
            from = i + tag.len();
        }
    }
    if lower.trim_start().starts_with("<!doctype") {
        if let Some(end) = lower.find('>') {
            return end + 1;
        }
    }
    0
}

/// The JSON of an import map with Daebug's entries added to `existing` (whose entries win).
pub fn import_map_json(existing: Option<serde_json::Value>) -> String {
    let mut map = match existing {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let imports = map
        .entry("imports")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if !imports.is_object() {
        *imports = serde_json::Value::Object(Default::default());
    }
    let imports = imports.as_object_mut().expect("object");
    for (k, v) in import_map_entries() {
        imports.entry(k).or_insert(serde_json::Value::String(v));
    }
    serde_json::to_string(&map).expect("serializable")
}

/// Merge into the page's first inline import map, if it has one with valid JSON.
fn merge_import_map(html: &str, lower: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = lower[from..].find("<script").map(|i| i + from) {
        let open_end = i + lower[i..].find('>')? + 1;
        let open = &lower[i..open_end];
        from = open_end;
        let is_map = open.contains("type=\"importmap\"")
            || open.contains("type='importmap'")
            || open.contains("type=importmap");
        if !is_map || open.contains(" src=") {
            continue;
        }
        let close = open_end + lower[open_end..].find("</script")?;
        let json: serde_json::Value = serde_json::from_str(html[open_end..close].trim()).ok()?;
        let merged = import_map_json(Some(json));
        return Some(format!("{}{}{}", &html[..open_end], merged, &html[close..]));
    }
    None
}

/// Injects into `text/html` responses of the inner service.
#[derive(Clone, Copy, Default)]
pub struct InjectLayer;

impl<S> Layer<S> for InjectLayer {
    type Service = Inject<S>;
    fn layer(&self, inner: S) -> Inject<S> {
        Inject { inner }
    }
}

#[derive(Clone)]
pub struct Inject<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqB, ResB> Service<Request<ReqB>> for Inject<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Send,
    S::Future: Send + 'static,
    ResB: http_body::Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            Ok(inject_response(res).await)
        })
    }
}

fn is_injectable(res: &Response<impl http_body::Body>) -> bool {
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let encoded = res
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes() != b"identity");
    html && !encoded && res.status().is_success()
}

async fn inject_response<B>(res: Response<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    if !is_injectable(&res) {
        return res.map(Body::new);
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match http_body_util::Limited::new(body, MAX_HTML).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            tracing::debug!("HTML body not injected: {e}");
            parts.status = http::StatusCode::BAD_GATEWAY;
            parts.headers.remove(header::CONTENT_LENGTH);
            return Response::from_parts(
                parts,
                Body::from("Daebug could not read this page's body.\n"),
            );
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let injected = inject_html(text);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(injected.len()));
    parts.headers.remove(header::ETAG);
    Response::from_parts(parts, Body::from(injected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injects_after_head() {
        let out =
            inject_html("<!doctype html><html><head><title>x</title></head><body></body></html>");
        let head = out.find("<head>").unwrap() + 6;
        assert!(out[head..].starts_with("<script type=\"importmap\" data-daebug-importmap>{\"imports\":{\"node:test\":\"/-daebug-node:test.js\""));
        assert!(out.contains("<script data-daebug src=\"/-daebug-shim.js\"></script><title>"));
        assert_eq!(inject_html(&out), out, "idempotent");
    }

    #[test]
    fn direct_port_attribute() {
        let out = inject_html_with("<head></head>", Some(41234));
        assert!(
            out.contains(
                "<script data-daebug data-daebug-port=\"41234\" src=\"/-daebug-shim.js\"></script>"
            ),
            "{out}"
        );
        assert_eq!(inject_html_with(&out, Some(1)), out, "idempotent");
    }

    #[test]
    fn head_with_attributes_and_no_head() {
        assert!(inject_html("<HTML><HEAD lang=en><x>")
            .contains("<HEAD lang=en><script type=\"importmap\""));
        assert!(inject_html("<header>no head</header>").starts_with("<script type=\"importmap\""));
        assert!(inject_html("<!DOCTYPE html><p>hi").starts_with("<!DOCTYPE html><script"));
    }

    #[test]
    fn merges_existing_import_map_page_entries_win() {
        let page = r#"<head><script type="importmap">{"imports":{"vue":"/vue.js","node:test":"/mine.js"},"scopes":{}}</script></head>"#;
        let out = inject_html(page);
        assert_eq!(out.matches("importmap").count(), 1, "{out}");
        assert!(out.contains(r#""vue":"/vue.js""#));
        assert!(out.contains(r#""node:test":"/mine.js""#));
        assert!(out.contains(r#""node:assert":"/-daebug-node:assert.js""#));
        assert!(out.contains(r#""scopes":{}"#));
        // The shim still goes in, before the map is fine: it is a classic script.
        assert!(out.contains("/-daebug-shim.js"));
    }

    #[test]
    fn invalid_import_map_is_left_alone_and_ours_added() {
        let out = inject_html(r#"<head><script type="importmap">{oops</script></head>"#);
        assert!(out.contains("{oops"));
        assert!(out.contains("data-daebug-importmap"));
    }
}
