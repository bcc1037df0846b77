//! The realm log format (SPEC 3): parsing, and the server's edits as pure text-to-text
//! functions. File IO lives in [`crate::store`]; this module never touches the disk or the clock.

pub mod edit;
pub mod events;
pub mod parse;
pub mod problems;
pub mod replay;
pub mod window;

pub use edit::{footer, LogContext, NewJob, Synced};
pub use events::{BgEvent, EventKind, Outcome, Reply};
