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
    inject_html_under(html, direct_port, &[])
}

/// [`inject_html_with`] for a page served with these `Content-Security-Policy` header values
/// (its `<meta http-equiv>` policies are read from the HTML). Under a policy that forbids inline
/// scripts, our tags carry the page's nonce if it has one; without a nonce no import map is
/// added or merged (that would be a violation, or change a hashed map), and the shim is told
/// so (`data-daebug-importmap="none"`): it then has the server map `node:` imports itself.
pub fn inject_html_under(html: &str, direct_port: Option<u16>, csp_headers: &[String]) -> String {
    if html.contains(&format!("<script {MARKER}")) {
        return html.to_string();
    }
    let lower = html.to_ascii_lowercase();
    let mut policies: Vec<String> = csp_headers.to_vec();
    policies.extend(meta_policies(html, &lower));
    let policy = ScriptPolicy::of(&policies);
    let nonce_attr = policy
        .nonce
        .as_deref()
        .map(|n| format!(" nonce=\"{n}\""))
        .unwrap_or_default();
    let port_attr = direct_port
        .map(|p| format!(" data-daebug-port=\"{p}\""))
        .unwrap_or_default();
    let may_map = !policy.inline_blocked || policy.nonce.is_some();
    let merged = if may_map {
        merge_import_map(html, &lower, policy.inline_blocked)
    } else {
        None
    };
    let (html, has_map) = match merged {
        Some(merged) => (merged, true),
        None => (html.to_string(), false),
    };
    // Ours when there was none to merge into and the page's policy lets an inline map run.
    let add_map = !has_map && may_map;
    let map_attr = if has_map || add_map {
        ""
    } else {
        " data-daebug-importmap=\"none\""
    };
    let shim =
        format!("<script {MARKER}{port_attr}{map_attr}{nonce_attr} src=\"{SHIM_PATH}\"></script>");
    let lower = html.to_ascii_lowercase();
    let mut tags = String::new();
    if add_map {
        tags.push_str(&format!(
            "<script type=\"importmap\" {MARKER}-importmap{nonce_attr}>{}</script>",
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

/// What a page's Content-Security-Policy says about inline script elements.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScriptPolicy {
    /// Some policy forbids inline scripts (no 'unsafe-inline', or a nonce/hash that voids it).
    pub inline_blocked: bool,
    /// The page's nonce, when its policies name one.
    pub nonce: Option<String>,
}

impl ScriptPolicy {
    /// Read the policies (header values or meta contents; several may apply at once).
    pub fn of(policies: &[String]) -> ScriptPolicy {
        let mut out = ScriptPolicy::default();
        for policy in policies.iter().flat_map(|p| p.split(',')) {
            let directives: Vec<(String, Vec<&str>)> = policy
                .split(';')
                .filter_map(|d| {
                    let mut words = d.split_ascii_whitespace();
                    let name = words.next()?.to_ascii_lowercase();
                    Some((name, words.collect()))
                })
                .collect();
            let find = |name: &str| directives.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            let Some(sources) = find("script-src-elem")
                .or_else(|| find("script-src"))
                .or_else(|| find("default-src"))
            else {
                continue;
            };
            let lower: Vec<String> = sources.iter().map(|s| s.to_ascii_lowercase()).collect();
            let has = |w: &str| lower.iter().any(|s| s == w);
            let nonce = sources.iter().find_map(|s| {
                s.strip_prefix("'nonce-")
                    .and_then(|n| n.strip_suffix('\''))
                    .filter(|n| {
                        !n.is_empty()
                            && n.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b))
                    })
                    .map(str::to_string)
            });
            let hashed = lower.iter().any(|s| {
                s.starts_with("'sha256-") || s.starts_with("'sha384-") || s.starts_with("'sha512-")
            });
            if !has("'unsafe-inline'") || nonce.is_some() || hashed || has("'strict-dynamic'") {
                out.inline_blocked = true;
            }
            if out.nonce.is_none() {
                out.nonce = nonce;
            }
        }
        out
    }
}

/// The contents of `<meta http-equiv="Content-Security-Policy">` tags.
fn meta_policies(html: &str, lower: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<meta").map(|i| i + from) {
        let Some(end) = lower[i..].find('>').map(|e| i + e) else {
            break;
        };
        from = end;
        let tag = &lower[i..end];
        if !tag.contains("content-security-policy") || tag.contains("report-only") {
            continue;
        }
        if let Some(content) = attribute(&html[i..end], &lower[i..end], "content") {
            out.push(
                content
                    .replace("&#39;", "'")
                    .replace("&apos;", "'")
                    .replace("&quot;", "\""),
            );
        }
    }
    out
}

/// The value of attribute `name` in an opening tag (quoted or not).
fn attribute(tag: &str, lower: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| i + from) {
        from = i + name.len();
        let before = lower[..i].chars().next_back();
        if !before.is_some_and(|c| c.is_ascii_whitespace()) {
            continue;
        }
        let rest = lower[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let value_start = tag.len() - rest.trim_start().len();
        let value = &tag[value_start..];
        return Some(match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or("").to_string(),
            _ => value
                .split(|c: char| c.is_ascii_whitespace())
                .next()
                .unwrap_or("")
                .to_string(),
        });
    }
    None
}

/// Merge into the page's first inline import map, if it has one with valid JSON (and, when
/// inline scripts need a nonce, only if the map has one: a hashed map must stay as it is).
fn merge_import_map(html: &str, lower: &str, needs_nonce: bool) -> Option<String> {
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
        if needs_nonce && !open.contains("nonce") {
            return None;
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
    let csp: Vec<String> = parts
        .headers
        .get_all(header::CONTENT_SECURITY_POLICY)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let injected = inject_html_under(text, None, &csp);
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
    fn strict_csp_without_nonce_gets_no_inline_map() {
        let headers = vec!["default-src 'self'; script-src 'self'".to_string()];
        let out = inject_html_under("<head></head>", None, &headers);
        assert!(!out.contains("type=\"importmap\""), "{out}");
        assert!(out.contains("data-daebug-importmap=\"none\""), "{out}");
        // A meta policy counts too; a report-only one does not.
        let page = r#"<head><meta http-equiv="Content-Security-Policy" content="script-src 'self'"></head>"#;
        assert!(inject_html(page).contains("data-daebug-importmap=\"none\""));
        let page = r#"<head><meta http-equiv="Content-Security-Policy-Report-Only" content="script-src 'self'"></head>"#;
        assert!(inject_html(page).contains("<script type=\"importmap\""));
        // 'unsafe-inline' without nonces or hashes allows our map.
        let lax = vec!["script-src 'self' 'unsafe-inline'".to_string()];
        assert!(inject_html_under("<head>", None, &lax).contains("<script type=\"importmap\""));
        // A hashed page map is left exactly as it is.
        let hashed = vec!["script-src 'self' 'sha256-abc='".to_string()];
        let page = r#"<head><script type="importmap">{"imports":{"a":"/a.js"}}</script></head>"#;
        let out = inject_html_under(page, None, &hashed);
        assert!(out.contains(r#"{"imports":{"a":"/a.js"}}"#), "{out}");
        assert!(out.contains("data-daebug-importmap=\"none\""), "{out}");
    }

    #[test]
    fn nonce_is_copied_onto_our_tags() {
        let headers = vec!["script-src 'nonce-r4nd0m+/=' 'strict-dynamic'".to_string()];
        let out = inject_html_under("<head></head>", None, &headers);
        assert!(
            out.contains("<script type=\"importmap\" data-daebug-importmap nonce=\"r4nd0m+/=\">"),
            "{out}"
        );
        assert!(
            out.contains("<script data-daebug nonce=\"r4nd0m+/=\" src="),
            "{out}"
        );
        let page = r#"<head><meta http-equiv="content-security-policy" content="script-src 'nonce-abc'"><script type="importmap" nonce="abc">{"imports":{}}</script></head>"#;
        let out = inject_html(page);
        assert_eq!(out.matches("importmap").count(), 1, "{out}");
        assert!(out.contains("node:test"), "{out}");
        assert!(out.contains("<script data-daebug nonce=\"abc\""), "{out}");
        // A nonce with characters outside base64 is ignored rather than injected.
        let odd = vec!["script-src 'nonce-a\"b'".to_string()];
        assert!(!inject_html_under("<head>", None, &odd).contains("nonce="));
    }

    #[test]
    fn invalid_import_map_is_left_alone_and_ours_added() {
        let out = inject_html(r#"<head><script type="importmap">{oops</script></head>"#);
        assert!(out.contains("{oops"));
        assert!(out.contains("data-daebug-importmap"));
    }
}
