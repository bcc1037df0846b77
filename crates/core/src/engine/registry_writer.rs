//! The registry writer: renders `daebug.md` from the realms' states and rewrites it when what it
//! should say changed, never overwriting an agent's `%%SHUTDOWN%%` line.

use super::realms::Realm;
use super::Engine;
use crate::registry::{self, Entry};
use crate::store::Edit;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::TryLockError;

impl Engine {
    // ----- the registry ------------------------------------------------------------------

    /// Rewrite `daebug.md` if what it should say changed. One thread writes at a time; a call
    /// made while another thread writes does not wait for it: that writer renders again once
    /// done, so the last state always reaches the file and a job's hand-out or reply never
    /// queues behind a registry write for another thread's change.
    pub fn write_registry(&self) {
        let inner = &self.inner;
        inner.registry_dirty.store(true, Ordering::SeqCst);
        loop {
            let _writing = match inner.registry_writer.try_lock() {
                Ok(g) => g,
                Err(TryLockError::Poisoned(e)) => e.into_inner(),
                // The writer re-checks the flag after it lets go.
                Err(TryLockError::WouldBlock) => return,
            };
            while inner.registry_dirty.swap(false, Ordering::SeqCst) {
                self.write_registry_now();
            }
            drop(_writing);
            if !inner.registry_dirty.load(Ordering::SeqCst) {
                return;
            }
        }
    }

    fn write_registry_now(&self) {
        let text = {
            let mut st = self.state();
            if st.closed {
                return;
            }
            let mut realms: Vec<&Realm> = st.realms.values().collect();
            realms.sort_by(|a, b| {
                b.last_activity
                    .cmp(&a.last_activity)
                    .then(a.name.cmp(&b.name))
            });
            let entries: Vec<Entry> = realms
                .iter()
                .map(|r| Entry {
                    name: r.name.clone(),
                    log: relative_link(&self.inner.root, &r.log),
                    context: if r.is_worker() {
                        format!("worker of {}", r.main_page_name())
                    } else {
                        r.url.clone()
                    },
                    at: r.last_activity_at.clone(),
                    state: r.state(),
                })
                .collect();
            let mut text = registry::render_live(&self.inner.started_at, &entries);
            text.push_str(&super::refusal_notes(&self.inner.root, &st.refused));
            if text == st.last_registry {
                return;
            }
            st.last_registry = text.clone();
            text
        };
        // The registry is the server's, but an agent may have just appended %%SHUTDOWN%%: that
        // line is never overwritten (the store redoes the edit if it lands mid-write).
        let path = &self.inner.registry_path;
        if !self.inside_root(path) {
            return;
        }
        let res = self.inner.store.edit(path, |current| {
            // Closed since the text was rendered (a write from another thread can come late):
            // the shut-down registry stays.
            if self.state().closed {
                return Edit::Keep(false);
            }
            if registry::has_shutdown_line(current) {
                Edit::Keep(true)
            } else {
                Edit::Write(text.clone(), false)
            }
        });
        match res {
            Ok(Some(true)) => self.request_shutdown(),
            Ok(Some(false)) => {}
            Ok(None) => {
                if let Err(e) = self.inner.store.write(path, &text) {
                    tracing::warn!("could not write {}: {e}", path.display());
                }
            }
            Err(e) => tracing::warn!("could not write {}: {e}", path.display()),
        }
    }
}

fn relative_link(root: &Path, log: &Path) -> String {
    let rel = log.strip_prefix(root).unwrap_or(log);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().replace(' ', "%20"))
        .collect::<Vec<_>>()
        .join("/")
}
