//! Realm instances and their names: one live instance (a page load, a worker start) holds a
//! realm name, and the server refuses that name to any other (SPEC 2) — so two tabs never share
//! a realm, while a reloaded page gets its name back once its old self is gone. Also the code of
//! jobs handed out, for delivery as scripts (`http::jobs`).

use super::Engine;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A long-polling instance keeps its name this long after its last poll ended (the gap between
/// polls, while it posts a result). A WebSocket's hold ends when the socket closes.
const HOLD_BETWEEN_POLLS: Duration = Duration::from_millis(2500);

struct Holder {
    instance: String,
    /// Open connections (WebSocket sessions, long polls in flight) of the holder.
    open: usize,
    last_seen: Instant,
}

/// Name holders by sanitized realm name.
#[derive(Default)]
pub(super) struct Claims {
    map: Mutex<HashMap<String, Holder>>,
}

/// The name is held by another live instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameTaken;

/// A connection's hold on a realm name; released when dropped.
pub struct NameHold {
    engine: Engine,
    key: String,
    instance: String,
    /// Keep the name for [`HOLD_BETWEEN_POLLS`] after the last connection closes.
    grace: bool,
}

impl Drop for NameHold {
    fn drop(&mut self) {
        let mut map = self
            .engine
            .claims()
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let Some(h) = map.get_mut(&self.key) else {
            return;
        };
        if h.instance == self.instance {
            h.open = h.open.saturating_sub(1);
            h.last_seen = Instant::now();
            if h.open == 0 && !self.grace {
                map.remove(&self.key);
            }
        }
    }
}

impl Engine {
    fn claims(&self) -> &Mutex<HashMap<String, Holder>> {
        &self.inner.claims.map
    }

    /// Hold `name` for `instance` while the returned guard lives, unless another instance holds
    /// it with a connection open (or, for long polls, had one a moment ago). `grace`: keep the
    /// name a moment after the last connection closes (long polls come and go).
    pub fn hold_name(
        &self,
        name: &str,
        instance: &str,
        grace: bool,
    ) -> Result<NameHold, NameTaken> {
        let key = crate::names::sanitize(name);
        let mut map = self.claims().lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, h| h.open > 0 || h.last_seen.elapsed() < HOLD_BETWEEN_POLLS);
        match map.get_mut(&key) {
            Some(h) if h.instance != instance => return Err(NameTaken),
            Some(h) => {
                h.open += 1;
                h.last_seen = Instant::now();
            }
            None => {
                map.insert(
                    key.clone(),
                    Holder {
                        instance: instance.to_string(),
                        open: 1,
                        last_seen: Instant::now(),
                    },
                );
            }
        }
        Ok(NameHold {
            engine: self.clone(),
            key,
            instance: instance.to_string(),
            grace,
        })
    }

    /// The code of the job `id` while a realm runs it (jobs are served as scripts only then).
    pub fn running_job_code(&self, id: &str) -> Option<String> {
        self.state().realms.values().find_map(|r| {
            r.current
                .as_ref()
                .filter(|run| run.job.id == id)
                .map(|run| run.job.code.clone())
        })
    }
}
