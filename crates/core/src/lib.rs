//! Daebug core: run JavaScript in live pages by editing Markdown files.
//!
//! The crate is organised one module per concept: the log format ([`log`]), safe file writes
//! ([`store`]), the registry of realms ([`registry`]), the job queues ([`jobs`]), the engine
//! that ties them together ([`engine`]), file watching ([`watcher`]), and the HTTP side
//! ([`http`]): the `/-daebug*` routes, HTML injection, static files and the security layers.

pub mod assets;
pub mod cli;
pub mod client;
pub mod clock;
pub mod discover;
pub mod engine;
pub mod http;
pub mod log;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod names;
pub mod port;
pub mod registry;
pub mod server;
pub mod store;
pub mod testcmd;
pub mod testrun;
pub mod watcher;
pub mod wire;
