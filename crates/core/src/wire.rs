//! The JSON payloads the shim posts to `/-daebug-channel` (SPEC 5), and their translation into
//! log events and outcomes. Field names are fixed for compatibility with earlier clients.

use crate::clock;
use crate::log::{BgEvent, EventKind, Outcome};
use serde::Deserialize;
use serde_json::Value;

/// A background event as the shim sends it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEvent {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub source: Option<String>,
    pub level: Option<String>,
    pub event_at: Option<String>,
    pub message: Option<Value>,
    pub stack: Option<String>,
    pub caller: Option<String>,
}

impl WireEvent {
    pub fn into_event(self, in_worker: bool) -> BgEvent {
        let kind = match self.kind.as_deref() {
            Some("error") => EventKind::Error {
                source: safe_word(self.source).unwrap_or_else(|| {
                    if in_worker {
                        "self.onerror"
                    } else {
                        "window.onerror"
                    }
                    .to_string()
                }),
            },
            _ => EventKind::Console {
                level: safe_word(self.level).unwrap_or_else(|| "log".into()),
            },
        };
        BgEvent {
            kind,
            at: clock::iso_to_hms(self.event_at.as_deref()),
            message: value_to_text(self.message),
            stack: self.stack,
            caller: self.caller,
        }
    }
}

/// One POST to the channel.
#[derive(Debug)]
pub enum Message {
    Result(JobResult),
    BackgroundFlush {
        events: Vec<WireEvent>,
    },
    JobProgress {
        job_id: Option<String>,
        events: Vec<WireEvent>,
        elapsed_ms: Option<u64>,
    },
    WorkerInit {
        main_page: Option<String>,
    },
    WorkerTimeout {
        duration_ms: Option<u64>,
    },
}

/// `{ ok, value | error, backgroundEvents, jobId }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobResult {
    pub ok: bool,
    #[serde(default)]
    pub value: Option<Value>,
    /// `"text"` when `value` is a readable rendering rather than the value's JSON form.
    #[serde(default)]
    pub value_kind: Option<String>,
    #[serde(default)]
    pub error: Option<Value>,
    #[serde(default)]
    pub background_events: Vec<WireEvent>,
    #[serde(default)]
    pub job_id: Option<String>,
}

impl JobResult {
    pub fn outcome(&self) -> Outcome {
        if !self.ok {
            return Outcome::Error(value_to_text(self.error.clone()));
        }
        match (&self.value, self.value_kind.as_deref()) {
            (None, _) => Outcome::Text("undefined".into()),
            (Some(Value::String(s)), Some("text")) => Outcome::Text(s.clone()),
            (Some(v), _) => Outcome::Json(v.to_string()),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tagged {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<WireEvent>,
    #[serde(default)]
    background_events: Vec<WireEvent>,
    job_id: Option<String>,
    elapsed: Option<f64>,
    main_page: Option<String>,
    duration: Option<f64>,
}

/// Parse a channel POST body. The error is a one-line reason for a `400`.
pub fn parse_message(body: &[u8]) -> Result<Message, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("request body is not valid JSON: {e}"))?;
    let Some(obj) = value.as_object() else {
        return Err("request body must be a JSON object".into());
    };
    if obj.get("type").is_some() {
        let t: Tagged =
            serde_json::from_value(value).map_err(|e| format!("malformed message: {e}"))?;
        let ms = |v: Option<f64>| v.filter(|v| v.is_finite() && *v >= 0.0).map(|v| v as u64);
        return match t.kind.as_str() {
            "background-flush" => Ok(Message::BackgroundFlush { events: t.events }),
            "job-progress" => Ok(Message::JobProgress {
                job_id: t.job_id,
                events: t.background_events,
                elapsed_ms: ms(t.elapsed),
            }),
            "worker-init" => Ok(Message::WorkerInit {
                main_page: t.main_page,
            }),
            "worker-timeout" => Ok(Message::WorkerTimeout {
                duration_ms: ms(t.duration),
            }),
            other => Err(format!("unknown message type {other:?}")),
        };
    }
    if obj.get("ok").is_some() {
        return serde_json::from_value(value)
            .map(Message::Result)
            .map_err(|e| format!("malformed result: {e}"));
    }
    Err("message has neither \"type\" nor \"ok\"".into())
}

/// A level or source goes into a heading and an info string: one short word, or nothing.
fn safe_word(word: Option<String>) -> Option<String> {
    word.filter(|w| {
        !w.is_empty()
            && w.len() <= 40
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    })
}

fn value_to_text(v: Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_message() {
        assert!(
            matches!(parse_message(br#"{"ok":true,"value":25,"jobId":"a"}"#), Ok(Message::Result(r)) if r.outcome() == Outcome::Json("25".into()))
        );
        assert!(
            matches!(parse_message(br#"{"ok":true,"value":"x","valueKind":"text"}"#), Ok(Message::Result(r)) if r.outcome() == Outcome::Text("x".into()))
        );
        assert!(
            matches!(parse_message(br#"{"ok":true}"#), Ok(Message::Result(r)) if r.outcome() == Outcome::Text("undefined".into()))
        );
        assert!(
            matches!(parse_message(br#"{"ok":false,"error":"E"}"#), Ok(Message::Result(r)) if r.outcome() == Outcome::Error("E".into()))
        );
        assert!(
            matches!(parse_message(br#"{"type":"background-flush","events":[{"type":"console","level":"log","message":"m"}]}"#), Ok(Message::BackgroundFlush { events }) if events.len() == 1)
        );
        assert!(matches!(
            parse_message(
                br#"{"type":"job-progress","jobId":"j","backgroundEvents":[],"elapsed":5012}"#
            ),
            Ok(Message::JobProgress {
                elapsed_ms: Some(5012),
                ..
            })
        ));
        assert!(
            matches!(parse_message(br#"{"type":"worker-init","mainPage":"p"}"#), Ok(Message::WorkerInit { main_page: Some(p) }) if p == "p")
        );
        assert!(matches!(
            parse_message(br#"{"type":"worker-timeout","duration":21000}"#),
            Ok(Message::WorkerTimeout {
                duration_ms: Some(21000)
            })
        ));
    }

    #[test]
    fn malformed_is_a_reason() {
        assert!(parse_message(b"{").unwrap_err().contains("not valid JSON"));
        assert!(parse_message(b"[]").is_err());
        assert!(parse_message(br#"{"type":"nope"}"#)
            .unwrap_err()
            .contains("unknown message type"));
        assert!(parse_message(br#"{"hello":1}"#).is_err());
        assert!(parse_message(br#"{"ok":"yes"}"#).is_err());
    }
}
