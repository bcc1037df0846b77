//! What a Node host needs when it listens itself (the WASI build, where the core cannot open
//! sockets or start threads of its own for a CLI): the command line parsed and checked by the
//! core's own [`daebug_core::cli::Cli`] ([`prepare_cli`]), the root-derived port candidates
//! ([`candidate_ports`]) and the banner ([`cli_banner`]); and the agent subcommands
//! (`daebug run|realms|mcp`, [`run_agent_cli`]) over an HTTP request function the host supplies.
//! The host's side is `host/wasi.cjs`.

use clap::Parser;
use daebug_core::cli::{one_line, Cli};
use daebug_core::client::{self, SendError};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use std::sync::Arc;

/// One HTTP request of `daebug run|realms|mcp`, for the host to send.
#[napi(object)]
pub struct AgentRequest {
    pub method: String,
    /// Absolute `http://` URL.
    pub url: String,
    /// Header name/value pairs.
    pub headers: Vec<Vec<String>>,
    pub body: Option<String>,
}

/// The host's answer: `status` and `body`, or `error` when no answer came (`broken`: the
/// answer started and broke off).
#[napi(object)]
pub struct AgentAnswer {
    pub status: Option<u32>,
    pub body: Option<Buffer>,
    pub error: Option<String>,
    pub broken: Option<bool>,
}

/// The host's request function: `(request) => Promise<AgentAnswer>`.
pub type RequestFn =
    ThreadsafeFunction<AgentRequest, Promise<AgentAnswer>, AgentRequest, Status, false>;

/// The subcommand names `runAgentCli` takes as its first argument.
#[napi]
pub fn agent_commands() -> Vec<String> {
    daebug_core::cli::agents::NAMES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Run `daebug run|realms|mcp <argv…>` (argv starts with the subcommand) with the core's
/// flags, output and exit codes, sending its HTTP requests through `request` (for a host
/// whose core has no sockets: the WASI build). `cwd` resolves a relative `--root`. Resolves to
/// the exit code.
#[napi(
    ts_args_type = "argv: string[], cwd: string, request: (req: AgentRequest) => Promise<AgentAnswer>"
)]
pub async fn run_agent_cli(argv: Vec<String>, cwd: String, request: RequestFn) -> i32 {
    let request = Arc::new(request);
    client::set_transport(Some(Arc::new(move |req: client::Request| {
        let request = request.clone();
        Box::pin(async move {
            let req = AgentRequest {
                method: req.method,
                url: req.url,
                headers: req.headers.into_iter().map(|(k, v)| vec![k, v]).collect(),
                body: req.body,
            };
            let answer = match request.call_async_catch(req).await {
                Ok(promise) => promise.await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(AgentAnswer {
                    status: Some(status),
                    body,
                    ..
                }) => Ok((
                    u16::try_from(status).unwrap_or(500),
                    body.map(|b| b.to_vec()).unwrap_or_default(),
                )),
                Ok(a) if a.broken == Some(true) => {
                    Err(SendError::Body(a.error.unwrap_or_default()))
                }
                Ok(a) => Err(SendError::Connect(
                    a.error.unwrap_or_else(|| "no answer".into()),
                )),
                Err(e) => Err(SendError::Connect(e.reason.clone())),
            }
        })
    })));
    let args = std::iter::once("daebug".to_string()).chain(argv).collect();
    let code = daebug_core::cli::agents::run_args(args, Some(cwd.into())).await;
    client::set_transport(None);
    code
}

/// The host process's id, for the discovery files this process writes (WASI has none).
#[napi]
pub fn set_host_pid(pid: u32) {
    client::set_host_pid(pid);
}

/// What `daebug <argv>` should do, decided by the core.
#[napi(object)]
pub struct CliPlan {
    /// Set when there is nothing to serve (help, version, a bad flag): exit with this code after
    /// printing `stdout` / `stderr`.
    pub exit: Option<i32>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    /// The root, canonicalized.
    pub root: String,
    pub host: String,
    /// Ports to try in order (one when `--port` or `PORT` gave it).
    pub ports: Vec<u32>,
    pub explicit_port: bool,
    pub timeout: f64,
    pub allowed_hosts: Vec<String>,
    /// The command that starts this server again (written into the shut-down registry).
    pub restart_command: String,
}

fn done(code: i32, stdout: Option<String>, stderr: Option<String>) -> CliPlan {
    CliPlan {
        exit: Some(code),
        stdout,
        stderr,
        root: String::new(),
        host: String::new(),
        ports: Vec::new(),
        explicit_port: false,
        timeout: 0.0,
        allowed_hosts: Vec::new(),
        restart_command: String::new(),
    }
}

/// Parse `daebug`'s arguments (those after the command name) as the native CLI does: same
/// flags, same one-line errors and exit codes. `commandName` is how the user started it; `cwd`
/// is the host's working directory, against which a relative `--root` is resolved (WASI has no
/// working directory of its own).
#[napi]
pub fn prepare_cli(
    argv: Vec<String>,
    command_name: Option<String>,
    cwd: Option<String>,
) -> CliPlan {
    let command_name = command_name.unwrap_or_else(|| "npx daebug".into());
    let args = std::iter::once("daebug".to_string()).chain(argv);
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                return done(0, Some(e.render().to_string()), None);
            }
            let line = format!("daebug: {} (see daebug --help)\n", one_line(&e.to_string()));
            return done(2, None, Some(line));
        }
    };
    daebug_core::cli::init_tracing();
    if cli.test {
        return done(
            1,
            None,
            Some("daebug: --test needs the native build (it launches a browser); this platform runs the WebAssembly build. Open the page yourself and drive it through its log, or use a platform with a native package.\n".into()),
        );
    }
    let port = match cli.port {
        Some(p) => Some(p),
        None => match std::env::var("PORT").ok().filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => match v.trim().parse::<u16>() {
                Ok(p) if p > 0 => Some(p),
                _ => {
                    return done(2, None, Some(format!(
                        "daebug: PORT={v:?} in the environment is not a port number; unset it or pass --port\n"
                    )))
                }
            },
        },
    };
    let given = match cwd {
        Some(cwd) if cli.root.is_relative() => std::path::Path::new(&cwd).join(&cli.root),
        _ => cli.root.clone(),
    };
    let root = match std::fs::canonicalize(&given) {
        Ok(r) if r.is_dir() => r,
        _ => {
            return done(
                1,
                None,
                Some(format!(
                    "daebug: root {} does not exist or is not a directory; pass --root DIR\n",
                    cli.root.display()
                )),
            )
        }
    };
    let ports = match port {
        Some(p) => vec![p as u32],
        None => candidate_ports(
            root.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    let mut restart = format!(
        "{command_name} --root {}",
        shell_quote(&root.to_string_lossy())
    );
    if let Some(p) = port {
        restart.push_str(&format!(" --port {p}"));
    }
    let mut allowed_hosts = cli.allowed_hosts;
    if !matches!(cli.host.as_str(), "0.0.0.0" | "::") {
        allowed_hosts.push(cli.host.clone());
    }
    CliPlan {
        exit: None,
        stdout: None,
        stderr: None,
        root: root.to_string_lossy().into_owned(),
        host: cli.host,
        ports,
        explicit_port: port.is_some(),
        timeout: cli.timeout,
        allowed_hosts,
        restart_command: restart,
    }
}

/// The ports `daebug` tries for a root folder named `dirName`, in order (SPEC 7).
#[napi]
pub fn candidate_ports(dir_name: String) -> Vec<u32> {
    daebug_core::port::candidate_ports(&dir_name)
        .into_iter()
        .map(u32::from)
        .collect()
}

/// The standalone server's start-up banner, for a host that listens itself on `host`:`port`
/// (as the native CLI prints it, with the access token's line on a non-loopback address).
#[napi]
pub fn cli_banner(
    root: String,
    host: String,
    port: u32,
    registry: String,
    token: Option<String>,
) -> String {
    let display = if host == "127.0.0.1" || host == "::1" || host == "localhost" {
        "localhost".to_string()
    } else if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let mut text = format!(
        "👾 Daebug {}\n   root      {root}\n   serving   http://{display}:{port}/\n   registry  {registry}\n   stop      Ctrl-C, or write %%SHUTDOWN%% on a line of its own in daebug.md\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(t) = token {
        text.push_str(&format!("   token     {t}  (open http://<this host>:{port}/?token={t}; `daebug run` finds it, others send the x-daebug-token header)\n"));
    }
    text
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
