//! Timers: one tick every 250 ms times out overdue jobs, refreshes executing placeholders,
//! marks silent realms gone (answering their queued requests) and forgets long-gone ones.

use super::realms::{LateJob, Running};
use super::Engine;
use crate::clock::now_hms;
use crate::log::edit;
use crate::log::Outcome;
use std::time::Duration;

/// Timed-out jobs remembered for late results.
const LATE_JOBS_KEPT: usize = 200;

impl Engine {
    // ----- timers ------------------------------------------------------------------------

    pub(super) async fn tick_loop(&self) {
        let mut interval = tokio::time::interval(Duration::from_millis(250));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            self.tick();
        }
    }

    /// Time out overdue jobs, refresh elapsed placeholders, mark silent realms gone.
    pub fn tick(&self) {
        let timeout = self.inner.opts.timeout;
        let mut timed_out = Vec::new();
        let mut refresh = Vec::new();
        let mut gone_jobs = Vec::new();
        let mut registry_changed = false;
        {
            let mut st = self.state();
            let st = &mut *st;
            for (key, realm) in st.realms.iter_mut() {
                if let Some(run) = realm.current.as_mut() {
                    if run.started.elapsed() >= timeout {
                        let run = realm.current.take().expect("checked");
                        st.late.insert(
                            run.job.id.clone(),
                            LateJob {
                                realm_key: key.clone(),
                                started: run.started,
                                started_at: realm.last_activity_at.clone(),
                            },
                        );
                        st.late_order.push_back(run.job.id.clone());
                        timed_out.push((key.clone(), run));
                    } else if run.take_refresh(self.inner.opts.refresh_every) {
                        refresh.push((
                            realm.log.clone(),
                            run.job.code.clone(),
                            run.started.elapsed().as_secs(),
                            run.events.clone(),
                            run.extra(),
                        ));
                    }
                } else if realm.polling == 0
                    && realm.gone_since.is_none()
                    && realm.last_seen.elapsed() >= self.inner.opts.gone_after
                {
                    realm.gone_since = Some(now_hms());
                    registry_changed = true;
                }
                // Requests for a realm that is gone are answered rather than left waiting.
                if let Some(since) = realm.gone_since.clone() {
                    for job in realm.queue.drain(..) {
                        gone_jobs.push((key.clone(), Running::new(job), since.clone()));
                    }
                }
            }
            let forget_after = self.inner.opts.forget_after;
            let before = st.realms.len();
            st.realms.retain(|_, r| {
                !(r.gone_since.is_some()
                    && r.polling == 0
                    && r.current.is_none()
                    && r.queue.is_empty()
                    && r.last_seen.elapsed() >= forget_after)
            });
            registry_changed |= st.realms.len() != before;
            while st.late_order.len() > LATE_JOBS_KEPT {
                if let Some(old) = st.late_order.pop_front() {
                    st.late.remove(&old);
                }
            }
        }
        for (log, code, secs, events, extra) in refresh {
            self.edit_log_in_window(&log, |t| edit::progress(t, &code, secs, &events, &extra));
        }
        for (key, run, since) in gone_jobs {
            let message = format!(
                "The realm is gone (no poll since {since}): nothing ran this request. Open its page again (or pick a live realm in daebug.md) and append the block again."
            );
            self.finish(&key, run, Outcome::Error(message), None);
        }
        for (key, run) in timed_out {
            self.finish(&key, run, Outcome::timeout(timeout.as_secs_f64()), None);
            // Let the realm's next job go.
            if let Some(n) = self.with_realm(&key, |r| r.notify.clone()) {
                n.notify_waiters();
            }
        }
        if registry_changed {
            self.write_registry();
        }
    }
}
