//! What the server writes into a log, as plain data and as Markdown: background events,
//! replies, diagnostics. Pure functions — times arrive already formatted as `HH:MM:SS`.

/// Replies and events longer than this (in characters) are cut, with a note saying how much.
pub const RESULT_TEXT_LIMIT: usize = 100_000;
/// More than this many events for one reply are compressed.
const MAX_EVENTS_SHOWN: usize = 10;
const EVENTS_HEAD: usize = 2;
const EVENTS_TAIL: usize = 8;

/// Where a background event came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `console.<level>` (log, info, warn, error, debug, …).
    Console { level: String },
    /// An uncaught error or unhandled rejection; `source` is `window.onerror`,
    /// `self.onerror` or `unhandledrejection`.
    Error { source: String },
}

/// One console call or uncaught error captured in the realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgEvent {
    pub kind: EventKind,
    /// Local time of the event, `HH:MM:SS`.
    pub at: String,
    pub message: String,
    pub stack: Option<String>,
    /// Where the console call was made, when the shim could tell.
    pub caller: Option<String>,
}

impl BgEvent {
    fn source(&self) -> String {
        match &self.kind {
            EventKind::Console { level } => format!("console.{level}"),
            EventKind::Error { source } => source.clone(),
        }
    }

    fn emoji(&self) -> &'static str {
        match &self.kind {
            EventKind::Error { .. } => "🚫",
            EventKind::Console { level } => match level.as_str() {
                "error" | "warn" => "🆘",
                "log" => "☑️",
                "info" => "ℹ️",
                _ => "🔢",
            },
        }
    }

    fn body(&self) -> &str {
        match (&self.kind, &self.stack) {
            (EventKind::Error { .. }, Some(stack)) if !stack.trim().is_empty() => stack,
            _ => &self.message,
        }
    }

    fn lang(&self) -> &'static str {
        match &self.kind {
            EventKind::Error { .. } => "Error",
            EventKind::Console { level } if level == "error" => "Error",
            _ if serde_json::from_str::<serde_json::Value>(&self.message).is_ok() => "JSON",
            _ => "Text",
        }
    }

    /// The level-5 heading and fenced block for this event.
    pub fn render(&self) -> String {
        let source = self.source();
        let mut out = format!("##### {}{} at {}", self.emoji(), source, self.at);
        if let Some(caller) = self.caller.as_deref().filter(|c| !c.trim().is_empty()) {
            out.push_str(" from ");
            // From the network: inert text in the heading, never a link or HTML.
            out.push_str(&crate::names::escape_inline(single_line(caller)));
        }
        out.push('\n');
        out.push_str(&fenced(
            &format!("{} {}", self.lang(), source),
            &cut(self.body()),
        ));
        out
    }
}

/// The events of one reply or flush, compressed when there are more than ten.
pub fn render_events(events: &[BgEvent]) -> String {
    let mut out = String::new();
    if events.len() > MAX_EVENTS_SHOWN {
        for e in &events[..EVENTS_HEAD] {
            out.push_str(&e.render());
        }
        let omitted = events.len() - EVENTS_HEAD - EVENTS_TAIL;
        out.push_str(&format!(
            "... ({omitted} more background events omitted) ...\n"
        ));
        for e in &events[events.len() - EVENTS_TAIL..] {
            out.push_str(&e.render());
        }
    } else {
        for e in events {
            out.push_str(&e.render());
        }
    }
    out
}

/// What a job produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A value with a faithful JSON form, as JSON text.
    Json(String),
    /// A value without one, rendered readably by the shim.
    Text(String),
    /// The error's stack or string form.
    Error(String),
}

impl Outcome {
    /// The failure written when the realm did not answer in time (SPEC 3.1).
    pub fn timeout(secs: f64) -> Outcome {
        Outcome::Error(format!(
            "Timeout: the realm did not answer within {secs}s. The code may still be running there; \
             a result that arrives later is written to this log as a diagnostic."
        ))
    }

    pub fn is_ok(&self) -> bool {
        !matches!(self, Outcome::Error(_))
    }

    /// The fenced block for this outcome. JSON is pretty-printed with 2-space indentation;
    /// text past [`RESULT_TEXT_LIMIT`] is cut (and a cut JSON value becomes Text).
    pub fn render(&self) -> String {
        match self {
            Outcome::Json(json) => {
                let Some(pretty) = serde_json::from_str::<serde_json::Value>(json)
                    .ok()
                    .and_then(|v| serde_json::to_string_pretty(&v).ok())
                else {
                    // Not valid JSON after all: a JSON block would lie.
                    return fenced("Text", &cut(json));
                };
                if pretty.chars().count() > RESULT_TEXT_LIMIT {
                    fenced("Text", &cut(&pretty))
                } else {
                    fenced("JSON", &pretty)
                }
            }
            Outcome::Text(text) => fenced("Text", &cut(text)),
            Outcome::Error(text) => fenced("Error", &cut(text)),
        }
    }
}

/// A finished job, ready to replace its placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub realm: String,
    pub agent: String,
    /// Finish time, `HH:MM:SS`.
    pub at: String,
    pub duration_ms: u64,
    pub outcome: Outcome,
    /// Extra server sections written between the outcome and the events (a test run's
    /// summary); empty for most replies.
    pub extra: String,
    pub events: Vec<BgEvent>,
}

impl Reply {
    /// Heading, outcome block and events (no trailing blank line).
    pub fn render(&self) -> String {
        let emoji = if self.outcome.is_ok() { "👍" } else { "🚫" };
        format!(
            "#### {emoji}{} to {} at {} ({})\n{}{}{}",
            self.realm,
            self.agent,
            self.at,
            format_duration(self.duration_ms),
            self.outcome.render(),
            self.extra,
            render_events(&self.events)
        )
    }
}

/// `17ms` below two seconds, else `2.5s`.
pub fn format_duration(ms: u64) -> String {
    if ms < 2000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// Events that happened outside any job, flushed on their own.
pub fn render_background(realm: &str, at: &str, events: &[BgEvent]) -> String {
    format!(
        "#### 📣{realm} background at {at}\n{}",
        render_events(events)
    )
}

/// Something surprising the agent should know about.
pub fn render_diagnostic(realm: &str, at: &str, message: &str) -> String {
    format!(
        "#### ⚠️{realm} diagnostic at {at}\n{}",
        fenced("Text", &cut(message))
    )
}

/// A fenced block whose fence is longer than any backtick run at a line start in `body`.
pub fn fenced(info: &str, body: &str) -> String {
    let longest = body
        .lines()
        .map(|l| l.trim_start().chars().take_while(|&c| c == '`').count())
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body = body.strip_suffix('\n').unwrap_or(body);
    format!("{fence}{info}\n{body}\n{fence}\n")
}

/// Cut text at [`RESULT_TEXT_LIMIT`] characters, noting how much was cut.
pub fn cut(text: &str) -> String {
    let count = text.chars().count();
    if count <= RESULT_TEXT_LIMIT {
        return text.to_string();
    }
    let kept: String = text.chars().take(RESULT_TEXT_LIMIT).collect();
    format!(
        "{kept}\n… ({} more characters cut)",
        count - RESULT_TEXT_LIMIT
    )
}

fn single_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(msg: &str) -> BgEvent {
        BgEvent {
            kind: EventKind::Console {
                level: "log".into(),
            },
            at: "19:14:54".into(),
            message: msg.into(),
            stack: None,
            caller: None,
        }
    }

    #[test]
    fn console_event() {
        assert_eq!(
            log("bg-log {\"a\":1}").render(),
            "##### ☑️console.log at 19:14:54\n```Text console.log\nbg-log {\"a\":1}\n```\n"
        );
        assert!(log("{\"a\":1}").render().contains("```JSON console.log"));
    }

    #[test]
    fn error_event_uses_stack() {
        let e = BgEvent {
            kind: EventKind::Error {
                source: "window.onerror".into(),
            },
            at: "19:14:54".into(),
            message: "Uncaught Error: bg-throw".into(),
            stack: Some("Error: bg-throw\n    at eval (x.js:1:1)".into()),
            caller: None,
        };
        assert_eq!(
            e.render(),
            "##### 🚫window.onerror at 19:14:54\n```Error window.onerror\nError: bg-throw\n    at eval (x.js:1:1)\n```\n"
        );
    }

    #[test]
    fn emoji_and_lang_per_level() {
        for (level, emoji, lang) in [
            ("warn", "🆘", "Text"),
            ("error", "🆘", "Error"),
            ("info", "ℹ️", "Text"),
            ("debug", "🔢", "Text"),
        ] {
            let mut e = log("x");
            e.kind = EventKind::Console {
                level: level.into(),
            };
            let r = e.render();
            assert!(
                r.starts_with(&format!("##### {emoji}console.{level}")),
                "{r}"
            );
            assert!(r.contains(&format!("```{lang} console.{level}")), "{r}");
        }
    }

    #[test]
    fn more_than_ten_events_are_compressed() {
        let events: Vec<_> = (0..15).map(|i| log(&format!("e{i}"))).collect();
        let out = render_events(&events);
        assert!(out.contains("e0\n") && out.contains("e1\n") && !out.contains("e2\n"));
        assert!(out.contains("... (5 more background events omitted) ...\n"));
        assert!(out.contains("e7\n") && out.contains("e14\n") && !out.contains("e6\n"));
        assert_eq!(render_events(&events[..10]).matches("#####").count(), 10);
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(17), "17ms");
        assert_eq!(format_duration(1999), "1999ms");
        assert_eq!(format_duration(2000), "2.0s");
        assert_eq!(format_duration(6049), "6.0s");
    }

    #[test]
    fn json_is_pretty_and_ordered() {
        assert_eq!(
            Outcome::Json("{\"b\":1,\"a\":[1]}".into()).render(),
            "```JSON\n{\n  \"b\": 1,\n  \"a\": [\n    1\n  ]\n}\n```\n"
        );
        assert_eq!(
            Outcome::Json("\"42\"".into()).render(),
            "```JSON\n\"42\"\n```\n"
        );
    }

    #[test]
    fn fence_grows_past_backticks_in_body() {
        assert_eq!(fenced("Text", "a\n```\nb"), "````Text\na\n```\nb\n````\n");
    }

    #[test]
    fn long_text_is_cut_with_a_note() {
        let long = "x".repeat(RESULT_TEXT_LIMIT + 5);
        let out = Outcome::Text(long).render();
        assert!(out.contains("… (5 more characters cut)"));
    }
}
