//! Engine notices delivered to a JS callback through a weak ThreadsafeFunction (it never
//! keeps Node alive). The slot can be filled after the engine starts, and emptied on close.

use daebug_core::engine::{Engine, Notice as CoreNotice, Reporter};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Something a host may print: `realm-connected`, `job-finished`, `diagnostic`, or
/// `shutdown-requested` (an agent wrote `%%SHUTDOWN%%`: the host should stop).
#[napi(object)]
#[derive(Clone)]
pub struct Notice {
    #[napi(ts_type = "'realm-connected' | 'job-finished' | 'diagnostic' | 'shutdown-requested'")]
    pub kind: String,
    pub realm: Option<String>,
    /// Where a realm connected from (`http://localhost:5173/`, `worker of …`).
    pub context: Option<String>,
    pub ok: Option<bool>,
    pub duration_ms: Option<f64>,
    pub message: Option<String>,
    /// One line, as the standalone server prints it.
    pub text: String,
}

pub type NoticeCallback = ThreadsafeFunction<Notice, (), Notice, Status, false, true>;

#[derive(Clone, Default)]
pub struct NoticeSlot(Arc<Mutex<Option<Arc<NoticeCallback>>>>);

impl NoticeSlot {
    pub fn set(&self, cb: Option<NoticeCallback>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = cb.map(Arc::new);
    }

    fn emit(&self, notice: Notice) {
        let cb = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(cb) = cb {
            cb.call(notice, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// The engine's reporter, feeding this slot.
    pub fn reporter(&self) -> Reporter {
        let slot = self.clone();
        Arc::new(move |n: &CoreNotice| slot.emit(convert(n)))
    }

    /// Emit `shutdown-requested` when an agent asks the engine to stop (not on our own close).
    pub fn forward_shutdown_request(&self, engine: &Engine, closing: Arc<AtomicBool>) {
        let slot = self.clone();
        let engine = engine.clone();
        napi::bindgen_prelude::spawn(async move {
            engine.shutdown_requested().await;
            if !closing.load(Ordering::SeqCst) {
                slot.emit(Notice {
                    kind: "shutdown-requested".into(),
                    realm: None,
                    context: None,
                    ok: None,
                    duration_ms: None,
                    message: None,
                    text: "Stopping: %%SHUTDOWN%% found in daebug.md.".into(),
                });
            }
        });
    }
}

fn convert(n: &CoreNotice) -> Notice {
    let blank = Notice {
        kind: String::new(),
        realm: None,
        context: None,
        ok: None,
        duration_ms: None,
        message: None,
        text: String::new(),
    };
    match n {
        CoreNotice::RealmConnected { name, context } => Notice {
            kind: "realm-connected".into(),
            realm: Some(name.clone()),
            context: Some(context.clone()),
            text: format!("+ {name}  ({context})"),
            ..blank
        },
        CoreNotice::JobFinished {
            realm,
            ok,
            duration_ms,
        } => Notice {
            kind: "job-finished".into(),
            realm: Some(realm.clone()),
            ok: Some(*ok),
            duration_ms: Some(*duration_ms as f64),
            text: format!(
                "{} {realm}  {}",
                if *ok { "✓" } else { "✗" },
                daebug_core::log::events::format_duration(*duration_ms)
            ),
            ..blank
        },
        CoreNotice::Diagnostic { realm, message } => Notice {
            kind: "diagnostic".into(),
            realm: Some(realm.clone()),
            message: Some(message.clone()),
            text: format!("⚠ {realm}: {message}"),
            ..blank
        },
    }
}
