//! Requests and responses across the Node boundary: plain objects with Buffer bodies on the JS
//! side, `http::Request`/`Response` on the core's.

use axum::body::Body;
use http_body_util::BodyExt;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;

/// One HTTP request, as a Node host received it.
#[napi(object)]
pub struct HttpRequest {
    /// Optional caller-chosen id, so the request can be abandoned with `cancel(id)`.
    pub id: Option<u32>,
    pub method: String,
    /// Path and query, e.g. `/-daebug-channel?name=…` (an absolute URL is accepted too).
    pub url: String,
    /// Header names to values, as in Node's `req.headers`.
    pub headers: Option<HashMap<String, Either<String, Vec<String>>>>,
    pub body: Option<Buffer>,
}

/// The core's answer.
#[napi(object)]
pub struct HttpResponse {
    pub status: u32,
    pub headers: HashMap<String, String>,
    pub body: Buffer,
}

impl HttpResponse {
    /// What a request abandoned with `cancel` resolves to (the client is gone; nobody reads it).
    pub fn cancelled() -> HttpResponse {
        HttpResponse {
            status: 499,
            headers: HashMap::new(),
            body: Vec::new().into(),
        }
    }
}

pub fn to_http(req: HttpRequest) -> Result<http::Request<Body>> {
    let method = http::Method::from_bytes(req.method.as_bytes())
        .map_err(|_| Error::from_reason(format!("daebug: invalid HTTP method {:?}", req.method)))?;
    let uri: http::Uri = req
        .url
        .parse()
        .map_err(|e| Error::from_reason(format!("daebug: invalid request URL: {e}")))?;
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in req.headers.unwrap_or_default() {
        let values = match value {
            Either::A(one) => vec![one],
            Either::B(many) => many,
        };
        for v in values {
            builder = builder.header(name.as_str(), v);
        }
    }
    let body = req
        .body
        .map(|b| Body::from(b.to_vec()))
        .unwrap_or_else(Body::empty);
    builder
        .body(body)
        .map_err(|e| Error::from_reason(format!("daebug: invalid request: {e}")))
}

pub async fn from_http(res: http::Response<Body>) -> Result<HttpResponse> {
    let (parts, body) = res.into_parts();
    let mut headers: HashMap<String, String> = HashMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_string())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value)
            })
            .or_insert(value);
    }
    let bytes = body
        .collect()
        .await
        .map_err(|e| Error::from_reason(format!("daebug: could not read the response: {e}")))?
        .to_bytes();
    Ok(HttpResponse {
        status: parts.status.as_u16() as u32,
        headers,
        body: bytes.to_vec().into(),
    })
}
