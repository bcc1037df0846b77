//! The `daebug` command line (SPEC 7), shared by the Rust binary and the npm package: flags,
//! one-line errors, exit codes.

#[cfg(feature = "native")]
use crate::server::{self, ServerOptions};
use clap::Parser;
use std::path::PathBuf;
#[cfg(feature = "native")]
use std::time::Duration;

pub mod agents;
pub mod stderr;

/// Run JavaScript in live pages by editing Markdown files.
#[derive(Parser, Debug)]
#[command(
    name = "daebug",
    version,
    about = "Serve a folder and let an agent run JavaScript in its live pages by appending to Markdown logs.",
    after_help = "Logs: daebug/<realm>.md (append a ```js block below the footer). Registry: daebug.md.\nAgents: daebug run [--realm NAME] CODE, daebug realms, daebug mcp (see daebug run --help).\nStop: Ctrl-C, or write %%SHUTDOWN%% on a line of its own in daebug.md."
)]
pub struct Cli {
    /// Folder to serve; logs and the registry are written here.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,
    /// Port to listen on; `PORT` in the environment is honoured [default: derived from the root's folder name].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub host: String,
    /// Seconds a job may run before it gets a timeout reply.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = parse_timeout)]
    pub timeout: f64,
    /// Extra host name accepted in Host/Origin headers (repeatable; `.example.com` allows subdomains).
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Run node:test suites in a live page (or a headless browser) and exit 0 only if all pass.
    #[arg(long)]
    pub test: bool,
    /// With --test: test files or globs, relative to the root [default: Node's test-file patterns].
    #[arg(value_name = "FILES", requires = "test")]
    pub files: Vec<String>,
    /// With --test: the realm to run in [default: any live page].
    #[arg(long, value_name = "NAME", requires = "test")]
    pub page: Option<String>,
    /// With --test: the browser to launch when no page is connected [default: $CHROME_PATH, then chromium on PATH].
    #[arg(long, value_name = "PATH", requires = "test")]
    pub browser: Option<PathBuf>,
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(v)
    } else {
        Err(format!("{s} must be between 0 and 86400 seconds"))
    }
}

/// Parse `args` (program name first) and run. Returns the process exit code.
#[cfg(feature = "native")]
pub fn main(args: Vec<String>, command_name: &str) -> i32 {
    // `daebug run|realms|mcp …`: the agent subcommands (they talk to a running server).
    if args
        .get(1)
        .is_some_and(|a| agents::NAMES.contains(&a.as_str()))
    {
        return agents::main(args);
    }
    let cli = match Cli::try_parse_from(args) {
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
            eprintln!("daebug: {} (see daebug --help)", one_line(&e.to_string()));
            return 2;
        }
    };
    init_tracing();
    let port = match cli.port {
        Some(p) => Some(p),
        None => match std::env::var("PORT").ok().filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => match v.trim().parse::<u16>() {
                Ok(p) if p > 0 => Some(p),
                _ => {
                    eprintln!("daebug: PORT={v:?} in the environment is not a port number; unset it or pass --port");
                    return 2;
                }
            },
        },
    };
    let opts = ServerOptions {
        root: cli.root,
        host: cli.host,
        port,
        timeout: Duration::from_secs_f64(cli.timeout),
        allowed_hosts: cli.allowed_hosts,
        command_name: command_name.to_string(),
        quiet: false,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("daebug: cannot start the runtime: {e}");
            return 1;
        }
    };
    if cli.test {
        let test = crate::testcmd::TestOptions {
            server: opts,
            files: cli.files,
            page: cli.page,
            browser: cli.browser,
        };
        return match rt.block_on(crate::testcmd::run(test)) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("daebug: {e}");
                1
            }
        };
    }
    match rt.block_on(server::run(opts)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("daebug: {e}");
            1
        }
    }
}

/// clap's message on one line, without its `error:` prefix, usage and tips.
pub fn one_line(msg: &str) -> String {
    msg.lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error:")
        .trim()
        .to_string()
}

/// `DAEBUG_LOG=debug` shows internal detail; users see warnings only.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DAEBUG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| stderr::Patient(std::io::stderr()))
        .log_internal_errors(false)
        .with_target(false)
        .try_init();
}
