//! How a command finds and talks to the Daebug server running for a root (`daebug run`,
//! `daebug realms`, `daebug mcp`): the discovery file every host writes when it listens, and a
//! small JSON-over-HTTP client for the `/-daebug-api` endpoints.
//!
//! Discovery: a host that starts listening for a root writes
//! `<temp dir>/daebug-servers/<hash of the root>.json` (`{url, root, token?, pid, version}`,
//! owner-only permissions on Unix) and removes it when it stops. It lives outside the root so
//! that no dev server can ever serve it (it may hold the token). Vite and esbuild hosts, whose
//! ports are not derived from the root, are found the same way. Without the file (an older
//! server), the ports derived from the root's name are probed (`/-daebug-info`). `--url` and
//! `DAEBUG_URL` / `DAEBUG_TOKEN` override it all.
//!
//! Both builds: the discovery file is plain file IO, so the WASI build's Node hosts announce
//! themselves the same way. The HTTP request itself is a [`Transport`]: hyper on the native
//! build, a function the Node host supplies on the WASI build (which has no sockets); what is
//! sent and how the answer is read stay here.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};

/// The header that carries the token (also accepted: `Authorization: Bearer`, `?token=`).
pub const TOKEN_HEADER: &str = "x-daebug-token";

/// What the discovery file says.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Announcement {
    /// Base URL the server answers on from this machine, e.g. `http://127.0.0.1:8342`.
    pub url: String,
    pub root: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default)]
    pub pid: u32,
    #[serde(default)]
    pub version: String,
}

/// The discovery file of `root` (canonical path).
pub fn discovery_path(root: &Path) -> PathBuf {
    // FNV-1a over the path's bytes: stable across processes and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in root.to_string_lossy().as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    temp_dir()
        .join("daebug-servers")
        .join(format!("{h:016x}.json"))
}

/// The OS temp dir. WASI has none of its own (std panics there), so the host's environment is
/// read the way the native build reads it on Unix: `TMPDIR`, else `/tmp`.
fn temp_dir() -> PathBuf {
    #[cfg(not(target_family = "wasm"))]
    {
        std::env::temp_dir()
    }
    #[cfg(target_family = "wasm")]
    {
        std::env::var_os("TMPDIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"))
    }
}

/// This process's id. WASI has no process id; its host passes one ([`set_host_pid`]).
fn pid() -> u32 {
    #[cfg(not(target_family = "wasm"))]
    {
        std::process::id()
    }
    #[cfg(target_family = "wasm")]
    {
        HOST_PID.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(target_family = "wasm")]
static HOST_PID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The host process's id, written into discovery files (WASI builds; ignored natively).
pub fn set_host_pid(pid: u32) {
    #[cfg(target_family = "wasm")]
    HOST_PID.store(pid, std::sync::atomic::Ordering::Relaxed);
    #[cfg(not(target_family = "wasm"))]
    let _ = pid;
}

/// Removes the discovery file when dropped (if it still names this server).
#[derive(Debug)]
pub struct AnnounceGuard {
    path: PathBuf,
    content: String,
}

impl Drop for AnnounceGuard {
    fn drop(&mut self) {
        if std::fs::read_to_string(&self.path).is_ok_and(|c| c == self.content) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Record that a server for `root` answers on `port` of `host` (the bind address). Failures
/// are only logged: discovery is a convenience, the server works without it.
pub fn announce(root: &Path, host: &str, port: u16, token: Option<&str>) -> Option<AnnounceGuard> {
    let connect = match host {
        "0.0.0.0" | "" => "127.0.0.1".to_string(),
        "::" => "[::1]".to_string(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_string(),
    };
    let a = Announcement {
        url: format!("http://{connect}:{port}"),
        root: root.to_string_lossy().into_owned(),
        token: token.map(str::to_string),
        pid: pid(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let path = discovery_path(root);
    let content = serde_json::to_string_pretty(&a).expect("serializable");
    let write = || -> std::io::Result<()> {
        let dir = path.parent().expect("has a parent");
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, content.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777));
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    };
    match write() {
        Ok(()) => Some(AnnounceGuard { path, content }),
        Err(e) => {
            tracing::debug!("cannot write the discovery file {}: {e}", path.display());
            None
        }
    }
}

/// A server to talk to.
#[derive(Debug, Clone)]
pub struct Server {
    /// Base URL without a trailing slash.
    pub url: String,
    pub token: Option<String>,
}

/// Where to look: `--url`/`DAEBUG_URL` if given, else the server for `root` or the nearest
/// ancestor of it that has one.
pub async fn find(root: &Path, url: Option<&str>, token: Option<&str>) -> Result<Server, String> {
    let token = token
        .map(str::to_string)
        .or_else(|| std::env::var("DAEBUG_TOKEN").ok().filter(|t| !t.is_empty()));
    let env_url = std::env::var("DAEBUG_URL").ok().filter(|u| !u.is_empty());
    if let Some(url) = url.map(str::to_string).or(env_url) {
        let url = url.trim_end_matches('/').to_string();
        if !url.starts_with("http://") {
            return Err(format!("--url must be an http:// address, got {url}"));
        }
        return Ok(Server { url, token });
    }
    let root = std::fs::canonicalize(root)
        .map_err(|_| format!("root {} does not exist; pass --root DIR", root.display()))?;
    let mut stale = None;
    for dir in root.ancestors() {
        let path = discovery_path(dir);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(a) = serde_json::from_str::<Announcement>(&text) else {
            continue;
        };
        let server = Server {
            url: a.url.trim_end_matches('/').to_string(),
            token: token.clone().or(a.token),
        };
        match server.get("/-daebug-api/health").await {
            Ok((200, v)) if v.get("root").and_then(|r| r.as_str()) == Some(a.root.as_str()) => {
                return Ok(server)
            }
            Ok((401, _)) => {
                return Err(format!(
                    "the Daebug server at {} refused the token; pass the one it printed at start (--token or DAEBUG_TOKEN)",
                    a.url
                ))
            }
            _ => stale = Some(a.url),
        }
    }
    // An older server: the ports derived from the root's name.
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for port in crate::port::candidate_ports(&name) {
        let server = Server {
            url: format!("http://127.0.0.1:{port}"),
            token: token.clone(),
        };
        let probe = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            server.get("/-daebug-info"),
        );
        if let Ok(Ok((200, v))) = probe.await {
            if v.get("root").and_then(|r| r.as_str()) == Some(&*root.to_string_lossy()) {
                return Ok(server);
            }
        }
    }
    Err(match stale {
        Some(url) => format!(
            "the Daebug server for {} at {url} is not answering; start it again (npx daebug, or your Vite/esbuild dev server)",
            root.display()
        ),
        None => format!(
            "no Daebug server is running for {}; start one (npx daebug, or your Vite/esbuild dev server with the Daebug plugin), or pass --root/--url",
            root.display()
        ),
    })
}

impl Server {
    pub async fn get(&self, path: &str) -> Result<(u16, serde_json::Value), String> {
        self.request(http::Method::GET, path, None).await
    }

    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value), String> {
        self.request(http::Method::POST, path, Some(body.to_string()))
            .await
    }

    async fn request(
        &self,
        method: http::Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, serde_json::Value), String> {
        let mut headers = vec![("accept".to_string(), "application/json".to_string())];
        if let Some(t) = &self.token {
            headers.push((TOKEN_HEADER.to_string(), t.clone()));
        }
        if body.is_some() {
            headers.push(("content-type".to_string(), "application/json".to_string()));
        }
        let req = Request {
            method: method.as_str().to_string(),
            url: format!("{}{path}", self.url),
            headers,
            body,
        };
        let (status, bytes) = send(req).await.map_err(|e| match e {
            SendError::Connect(e) => format!("cannot reach the Daebug server at {}: {e}", self.url),
            SendError::Body(e) => format!("the Daebug server at {} broke off: {e}", self.url),
        })?;
        let value = serde_json::from_slice(&bytes).unwrap_or_else(
            |_| serde_json::json!({ "ok": false, "error": String::from_utf8_lossy(&bytes).trim() }),
        );
        Ok((status, value))
    }
}

/// One HTTP request of the client: everything a transport needs to send it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Absolute `http://` URL.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// Why a request got no answer: nothing reached (`Connect`) or the answer broke off (`Body`).
#[derive(Debug, Clone)]
pub enum SendError {
    Connect(String),
    Body(String),
}

/// What a transport resolves to: the status and the whole body.
pub type Answer = Result<(u16, Vec<u8>), SendError>;

/// Sends one request (the WASI host's HTTP client; natively hyper unless one is set).
pub type Transport =
    Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Answer> + Send>> + Send + Sync>;

static TRANSPORT: RwLock<Option<Transport>> = RwLock::new(None);

/// Use `transport` for this process's client requests (the WASI build's Node host sets one
/// before running `daebug run|realms|mcp`).
pub fn set_transport(transport: Option<Transport>) {
    *TRANSPORT.write().unwrap_or_else(|e| e.into_inner()) = transport;
}

async fn send(req: Request) -> Answer {
    let transport = TRANSPORT.read().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(t) = transport {
        return t(req).await;
    }
    #[cfg(feature = "native")]
    {
        hyper_send(req).await
    }
    #[cfg(not(feature = "native"))]
    {
        let _ = req;
        Err(SendError::Connect(
            "this build has no HTTP client of its own and its host supplied none".into(),
        ))
    }
}

#[cfg(feature = "native")]
async fn hyper_send(req: Request) -> Answer {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut builder = http::Request::builder()
        .method(req.method.as_str())
        .uri(&req.url);
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    let request = builder
        .body(Full::new(bytes::Bytes::from(req.body.unwrap_or_default())))
        .map_err(|e| SendError::Connect(format!("bad request: {e}")))?;
    let res = client
        .request(request)
        .await
        .map_err(|e| SendError::Connect(e.to_string()))?;
    let status = res.status().as_u16();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map_err(|e| SendError::Body(e.to_string()))?
        .to_bytes();
    Ok((status, bytes.to_vec()))
}
