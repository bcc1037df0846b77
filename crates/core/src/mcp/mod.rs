//! The MCP server (SPEC 5.1), on the official Rust SDK (`rmcp`): tools to list realms,
//! evaluate code in a realm, read a realm's log and run tests. Served two ways:
//!
//! - streamable HTTP at `/-daebug-mcp` on every host, calling the engine in process;
//! - stdio through `daebug mcp`, which forwards each tool call to the HTTP API of the server
//!   running for the root (see [`crate::client`]).
//!
//! Either way the tools are the API's operations ([`crate::http::api`]), and code runs as a
//! request in the realm's log from the MCP client's name (its `clientInfo.name`).

use crate::client::Server;
use crate::engine::Engine;
use crate::http::api::{self, RunRequest, TestRequest};
use http::StatusCode;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::{
    session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Value};
use std::sync::Arc;

/// Where the tools get their answers.
#[derive(Clone)]
pub enum Backend {
    /// In the server's process.
    Local(Engine),
    /// Through the HTTP API of the server running for a root (`daebug mcp`), found again on
    /// every call so that the MCP client may start before the dev server (or outlive it).
    Remote(Arc<Target>),
}

/// Which server `daebug mcp` talks to.
#[derive(Debug, Clone)]
pub struct Target {
    pub root: std::path::PathBuf,
    pub url: Option<String>,
    pub token: Option<String>,
}

impl Target {
    async fn server(&self) -> Result<Server, String> {
        crate::client::find(&self.root, self.url.as_deref(), self.token.as_deref()).await
    }

    async fn get(&self, path: &str) -> Result<(u16, Value), String> {
        self.server().await?.get(path).await
    }

    async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), String> {
        self.server().await?.post(path, body).await
    }
}

/// The Daebug MCP server.
#[derive(Clone)]
pub struct DaebugMcp {
    backend: Backend,
}

impl DaebugMcp {
    pub fn new(backend: Backend) -> DaebugMcp {
        DaebugMcp { backend }
    }
}

/// The streamable HTTP service mounted at `/-daebug-mcp`. Host and origin checks are the
/// router's own (the same as for every `/-daebug*` path), so the SDK's are turned off.
pub fn http_service(engine: Engine) -> StreamableHttpService<DaebugMcp, LocalSessionManager> {
    let ct = tokio_util::sync::CancellationToken::new();
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        let (engine, ct) = (engine.clone(), ct.clone());
        handle.spawn(async move {
            engine.shutdown_requested().await;
            ct.cancel();
        });
    }
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_cancellation_token(ct)
        .with_max_request_body_bytes(crate::http::routes::MAX_BODY);
    StreamableHttpService::new(
        move || Ok(DaebugMcp::new(Backend::Local(engine.clone()))),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

/// `daebug mcp`: serve MCP on stdin/stdout, answering through the server `target` names.
pub async fn serve_stdio(target: Target) -> Result<(), String> {
    let running = DaebugMcp::new(Backend::Remote(Arc::new(target)))
        .serve(rmcp::transport::io::stdio())
        .await
        .map_err(|e| format!("MCP session did not start: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| format!("MCP session ended with an error: {e}"))?;
    Ok(())
}

fn schema(v: Value) -> Arc<serde_json::Map<String, Value>> {
    match v {
        Value::Object(m) => Arc::new(m),
        _ => unreachable!("schemas are objects"),
    }
}

/// The tools, with their input schemas.
pub fn tools() -> Vec<Tool> {
    let realm = json!({ "type": "string", "description": "Realm name (see list_realms). Default: the one live page; an error lists the candidates when there are several." });
    let timeout = json!({ "type": "number", "description": "Seconds to wait for the reply (default: the server's job timeout + 5)." });
    vec![
        Tool::new(
            "list_realms",
            "List the live pages and web workers (realms) Daebug can run code in, with their state and log file.",
            schema(json!({ "type": "object", "properties": {} })),
        ),
        Tool::new(
            "evaluate",
            "Run JavaScript in a live page or worker and wait for the result. The code runs as the body of an async function (top-level await works; the last expression is the value). The request and its reply (value, console output, errors, timing) are written into the realm's Markdown log.",
            schema(json!({
                "type": "object",
                "properties": {
                    "code": { "type": "string", "description": "JavaScript to run in the realm." },
                    "realm": realm,
                    "timeout": timeout,
                },
                "required": ["code"],
            })),
        ),
        Tool::new(
            "read_log",
            "Read a realm's Markdown log (daebug/<realm>.md): the whole file, or its last N entries (requests, replies, background output, diagnostics).",
            schema(json!({
                "type": "object",
                "properties": {
                    "realm": realm,
                    "last": { "type": "integer", "minimum": 0, "description": "Only the last N entries." },
                },
            })),
        ),
        Tool::new(
            "run_tests",
            "Run node:test suites inside a live page (test files are loaded by the page) and wait for the summary.",
            schema(json!({
                "type": "object",
                "properties": {
                    "files": { "type": "array", "items": { "type": "string" }, "description": "Test files or globs relative to the root (default: Node's test-file patterns)." },
                    "realm": realm,
                    "timeout": timeout,
                },
            })),
        ),
    ]
}

impl ServerHandler for DaebugMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("daebug", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Daebug runs JavaScript inside live browser pages and their web workers. Call list_realms, then evaluate with code (and a realm when several pages are open). Everything is also recorded in the realm's Markdown log under daebug/.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let agent = context
            .client_info()
            .map(|i| i.name)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "mcp".into());
        let args = Value::Object(request.arguments.unwrap_or_default());
        let result = match request.name.as_ref() {
            "list_realms" => self.list_realms().await,
            "evaluate" => self.evaluate(args, &agent).await,
            "read_log" => self.read_log(args).await,
            "run_tests" => self.run_tests(args, &agent).await,
            other => {
                return Err(ErrorData::invalid_params(
                    format!("unknown tool {other}"),
                    None,
                ))
            }
        };
        Ok(result.into())
    }
}

fn arg_error(tool: &str, e: serde_json::Error) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!(
        "bad arguments for {tool}: {e}"
    ))])
}

/// A tool result from an operation's `(status, JSON)`: the reply's Markdown section (or the
/// given text) for the model to read, the JSON as structured content.
fn tool_result(status: u16, v: Value, text: Option<String>) -> CallToolResult {
    let failed = status != 200 || v.get("ok") == Some(&Value::Bool(false));
    let text = text
        .or_else(|| {
            v.get("markdown")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| {
            v.get("error")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| serde_json::to_string_pretty(&v).unwrap_or_default())
        });
    let mut r = if failed {
        CallToolResult::error(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(text)])
    };
    if v.is_object() {
        r.structured_content = Some(v);
    }
    r
}

fn remote_error(e: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(e)])
}

fn code_of((status, v): (StatusCode, Value)) -> (u16, Value) {
    (status.as_u16(), v)
}

impl DaebugMcp {
    async fn list_realms(&self) -> CallToolResult {
        let r = match &self.backend {
            Backend::Local(e) => Ok(code_of(api::realms_op(e))),
            Backend::Remote(s) => s.get("/-daebug-api/realms").await,
        };
        match r {
            Ok((status, v)) => {
                let text = serde_json::to_string_pretty(&v).unwrap_or_default();
                tool_result(status, v, Some(text))
            }
            Err(e) => remote_error(e),
        }
    }

    async fn evaluate(&self, args: Value, agent: &str) -> CallToolResult {
        let mut req: RunRequest = match serde_json::from_value(args) {
            Ok(r) => r,
            Err(e) => return arg_error("evaluate", e),
        };
        req.agent = Some(agent.to_string());
        let r = match &self.backend {
            Backend::Local(e) => Ok(code_of(api::run_op(e, req, agent).await)),
            Backend::Remote(s) => {
                s.post(
                    "/-daebug-api/run",
                    &json!({ "code": req.code, "realm": req.realm, "agent": req.agent, "timeout": req.timeout }),
                )
                .await
            }
        };
        match r {
            Ok((status, v)) => tool_result(status, v, None),
            Err(e) => remote_error(e),
        }
    }

    async fn read_log(&self, args: Value) -> CallToolResult {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Args {
            realm: Option<String>,
            last: Option<usize>,
        }
        let a: Args = match serde_json::from_value(args) {
            Ok(a) => a,
            Err(e) => return arg_error("read_log", e),
        };
        let r = match &self.backend {
            Backend::Local(e) => Ok(code_of(api::log_op(e, a.realm.as_deref(), a.last))),
            Backend::Remote(s) => {
                let query = {
                    let mut q = form_urlencoded::Serializer::new(String::new());
                    if let Some(realm) = &a.realm {
                        q.append_pair("realm", realm);
                    }
                    if let Some(last) = a.last {
                        q.append_pair("last", &last.to_string());
                    }
                    q.finish()
                };
                s.get(&format!("/-daebug-api/log?{query}")).await
            }
        };
        match r {
            Ok((status, v)) => {
                let text = v.get("text").and_then(Value::as_str).map(str::to_string);
                tool_result(status, v, text)
            }
            Err(e) => remote_error(e),
        }
    }

    async fn run_tests(&self, args: Value, agent: &str) -> CallToolResult {
        let mut req: TestRequest = match serde_json::from_value(args) {
            Ok(r) => r,
            Err(e) => return arg_error("run_tests", e),
        };
        req.agent = Some(agent.to_string());
        let r = match &self.backend {
            Backend::Local(e) => Ok(code_of(api::test_op(e, req, agent).await)),
            Backend::Remote(s) => {
                s.post(
                    "/-daebug-api/test",
                    &json!({ "files": req.files, "realm": req.realm, "agent": req.agent, "timeout": req.timeout }),
                )
                .await
            }
        };
        match r {
            Ok((status, v)) => {
                let passed = v.get("passed") == Some(&Value::Bool(true));
                let mut r = tool_result(status, v, None);
                if status == 200 && !passed {
                    r.is_error = Some(true);
                }
                r
            }
            Err(e) => remote_error(e),
        }
    }
}
