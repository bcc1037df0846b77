//! `runCli(argv)`: the core's command line, run on a thread of its own so Node stays free and
//! the npm `daebug` command has the binary's flags, output and exit codes.

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Run `daebug` with `argv` (the arguments after the command name). Resolves to the exit code.
#[napi]
pub async fn run_cli(argv: Vec<String>) -> Result<i32> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("daebug-cli".into())
        .spawn(move || {
            let args = std::iter::once("daebug".to_string()).chain(argv).collect();
            let _ = tx.send(daebug_core::cli::main(args, "npx daebug"));
        })
        .map_err(|e| Error::from_reason(format!("daebug: cannot start: {e}")))?;
    rx.await
        .map_err(|_| Error::from_reason("daebug: the server thread stopped unexpectedly"))
}
