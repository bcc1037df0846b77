//! The agent subcommands (SPEC 5.1, docs/agents.md): `daebug run` appends code to a realm's
//! log through the running server and waits for the reply, `daebug realms` lists the live
//! realms, `daebug mcp` serves MCP on stdio. They find the server for the root through
//! [`crate::client`], so they work with whichever host runs it (standalone, Vite, esbuild).

use crate::client::{self, Server};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::PathBuf;

/// The subcommand names, as the first argument.
pub const NAMES: &[&str] = &["run", "realms", "mcp"];

#[derive(Parser, Debug)]
#[command(name = "daebug", version)]
struct AgentCli {
    #[command(subcommand)]
    command: Command,
}

/// Where the running server is.
#[derive(clap::Args, Debug, Clone)]
struct Where {
    /// The project root the server runs for [default: the current directory, or the nearest parent with a server].
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// Talk to this server instead (`http://host:port`); `DAEBUG_URL` in the environment works too.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// The server's token (needed when it listens on a non-loopback address); `DAEBUG_TOKEN` works too.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run JavaScript in a live page and print its reply (exit 0 👍, 1 🚫, 2 timeout or no realm).
    #[command(
        after_help = "The request and its reply are written into the realm's log (daebug/<realm>.md) like any appended block.\nExamples:\n  daebug run 'document.title'\n  echo 'await fetch(\"/api\").then(r => r.status)' | daebug run --realm 7-zen-1201-03 --json -"
    )]
    Run {
        /// Code to run, or `-` to read it from standard input.
        #[arg(value_name = "CODE")]
        code: String,
        /// The realm to run in [default: the one live page].
        #[arg(long, value_name = "NAME")]
        realm: Option<String>,
        /// Your name in the log's request header.
        #[arg(long, value_name = "NAME", default_value = "agent")]
        agent: String,
        /// Seconds to wait for the reply [default: the server's job timeout + 5].
        #[arg(long, value_name = "S", value_parser = super::parse_timeout)]
        timeout: Option<f64>,
        /// Print one JSON object (ok, value or text, error, events, duration, realm, jobId).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        at: Where,
    },
    /// List the live realms (pages and workers).
    Realms {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Include realms that are gone.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        at: Where,
    },
    /// Serve MCP (Model Context Protocol) on stdin/stdout, through the server running for the root.
    Mcp {
        #[command(flatten)]
        at: Where,
    },
}

/// Run a subcommand; `args` starts with the program name. Returns the exit code.
#[cfg(feature = "native")]
pub fn main(args: Vec<String>) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("daebug: cannot start the runtime: {e}");
            return 1;
        }
    };
    rt.block_on(run_args(args, None))
}

/// Run a subcommand on the caller's runtime (the WASI build's Node host, which also supplies
/// the HTTP transport, see [`client::set_transport`]). `args` starts with the program name; a
/// relative `--root` is taken from `cwd` when given (WASI has no working directory of its own).
/// Returns the exit code.
pub async fn run_args(args: Vec<String>, cwd: Option<PathBuf>) -> i32 {
    let mut cli = match AgentCli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return 0;
            }
            eprintln!(
                "daebug: {} (see daebug <command> --help)",
                super::one_line(&e.to_string())
            );
            return 2;
        }
    };
    super::init_tracing();
    if let Some(cwd) = cwd {
        let at = match &mut cli.command {
            Command::Run { at, .. } | Command::Realms { at, .. } | Command::Mcp { at } => at,
        };
        if at.root.is_relative() {
            at.root = cwd.join(&at.root);
        }
    }
    match cli.command {
        Command::Run {
            code,
            realm,
            agent,
            timeout,
            json,
            at,
        } => run(code, realm, agent, timeout, json, at).await,
        Command::Realms { json, all, at } => realms(json, all, at).await,
        Command::Mcp { at } => mcp(at).await,
    }
}

#[cfg(feature = "mcp")]
async fn mcp(at: Where) -> i32 {
    let target = crate::mcp::Target {
        root: at.root,
        url: at.url,
        token: at.token,
    };
    match crate::mcp::serve_stdio(target).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("daebug: {e}");
            1
        }
    }
}

/// A build without MCP (the WASI build: rmcp's stdio transport brings tokio's I/O driver, whose
/// unpark is a no-op on WASI, see crates/napi-binding/README.md): say where MCP is.
#[cfg(not(feature = "mcp"))]
async fn mcp(at: Where) -> i32 {
    let _ = at;
    eprintln!("daebug: `daebug mcp` needs the native build; this platform runs the WebAssembly build. Point your MCP client at a native server's streamable-HTTP endpoint http://<host>:<port>/-daebug-mcp, or use `daebug run` / the HTTP API (/-daebug-api, docs/api.md).");
    1
}

async fn server(at: &Where) -> Result<Server, i32> {
    client::find(&at.root, at.url.as_deref(), at.token.as_deref())
        .await
        .map_err(|e| {
            eprintln!("daebug: {e}");
            2
        })
}

async fn run(
    code: String,
    realm: Option<String>,
    agent: String,
    timeout: Option<f64>,
    json_out: bool,
    at: Where,
) -> i32 {
    let code = if code == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut s) {
            eprintln!("daebug: cannot read the code from standard input: {e}");
            return 2;
        }
        s
    } else {
        code
    };
    if code.trim().is_empty() {
        eprintln!("daebug: no code to run; pass it as an argument or `-` to read standard input");
        return 2;
    }
    let server = match server(&at).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let body = json!({ "code": code, "realm": realm, "agent": agent, "timeout": timeout });
    let (status, v) = match server.post("/-daebug-api/run", &body).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("daebug: {e}");
            return 2;
        }
    };
    let exit = match status {
        200 if v.get("timedOut") == Some(&Value::Bool(true)) => 2,
        200 if v.get("ok") == Some(&Value::Bool(true)) => 0,
        200 => 1,
        404 | 409 | 410 | 504 => 2,
        _ => 2,
    };
    let mut out = std::io::stdout().lock();
    if json_out {
        let _ = writeln!(out, "{v}");
    } else if status == 200 {
        let md = v.get("markdown").and_then(Value::as_str).unwrap_or("");
        let _ = write!(out, "{md}");
        if !md.ends_with('\n') {
            let _ = writeln!(out);
        }
    }
    let _ = out.flush();
    if status != 200 {
        let msg = v.get("error").and_then(Value::as_str).unwrap_or("failed");
        eprintln!("daebug: {msg}");
        if let Some(c) = v.get("candidates").and_then(Value::as_array) {
            for name in c.iter().filter_map(Value::as_str) {
                eprintln!("  {name}");
            }
        }
    }
    exit
}

async fn realms(json_out: bool, all: bool, at: Where) -> i32 {
    let server = match server(&at).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (status, v) = match server.get("/-daebug-api/realms").await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("daebug: {e}");
            return 2;
        }
    };
    if status != 200 {
        eprintln!(
            "daebug: {}",
            v.get("error").and_then(Value::as_str).unwrap_or("failed")
        );
        return 2;
    }
    let list: Vec<Value> = v
        .get("realms")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| all || r.get("state").and_then(Value::as_str) != Some("gone"))
        .collect();
    let mut out = std::io::stdout().lock();
    if json_out {
        let _ = writeln!(out, "{}", json!({ "realms": list }));
    } else if list.is_empty() {
        let _ = writeln!(
            out,
            "No live realms: open one of the root's pages in a browser ({}/).",
            server.url
        );
    } else {
        let s = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let width = list.iter().map(|r| s(r, "name").len()).max().unwrap_or(0);
        for r in &list {
            let context = match r.get("mainPage").and_then(Value::as_str) {
                Some(main) => format!("worker of {main}"),
                None => s(r, "url"),
            };
            let _ = writeln!(
                out,
                "{:width$}  {:9}  {}  {}",
                s(r, "name"),
                s(r, "state"),
                s(r, "log"),
                context
            );
        }
    }
    let _ = out.flush();
    0
}
