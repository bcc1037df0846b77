//! Fixture tests for the realm log engine (SPEC 3).
//!
//! Each directory under `tests/fixtures/log/` holds `input.md`, `ops.json` (a list of
//! operations applied in order) and `expected.md` (the text after the last operation).
//! `DAEBUG_BLESS=1 cargo test -p daebug-core --test log_fixtures` writes the actual output to
//! `expected.md`; review every blessed file against the SPEC before keeping it.
//!
//! After every operation the runner also checks invariants:
//! - nothing the server did not write is dropped or reordered: every non-blank line of the
//!   text before a server operation, except the server's own transient lines (footer,
//!   placeholders, agent header lines it normalises), still appears afterwards, in order;
//! - after `sync`, a second `sync` changes nothing and accepts nothing;
//! - after `sync` and insertions, the file has exactly one footer (outside code).

use daebug_core::log::parse::{Doc, FOOTER_PROMPT, FOOTER_RULE};
use daebug_core::log::{edit, events, BgEvent, EventKind, LogContext, NewJob, Outcome, Reply};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const DEFAULT_REALM: &str = "7-zen-1201-03";
const DEFAULT_SUBJECT: &str = "the page http://localhost:8342/";

#[test]
fn log_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/log");
    let bless = std::env::var("DAEBUG_BLESS").is_ok_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no fixtures under {}", root.display());

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        if let Err(msg) = run_case(case, bless) {
            failures.push(format!("=== fixture `{name}` ===\n{msg}"));
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} log fixtures failed:\n\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n\n")
        );
    }
}

fn run_case(dir: &Path, bless: bool) -> Result<(), String> {
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| format!("reading {f}: {e}"));
    let input = read("input.md")?;
    let ops: Vec<Value> =
        serde_json::from_str(&read("ops.json")?).map_err(|e| format!("ops.json: {e}"))?;

    let mut text = input;
    for (i, op) in ops.iter().enumerate() {
        let kind = op["op"].as_str().unwrap_or("?");
        let before = text.clone();
        text = apply(&text, op).map_err(|e| {
            format!(
                "op #{i} ({kind}): {e}\n--- text before the op ---\n{}",
                show(&before)
            )
        })?;
        check_invariants(&before, &text, op).map_err(|e| {
            format!(
                "op #{i} ({kind}) broke an invariant: {e}\n--- before ---\n{}\n--- after ---\n{}",
                show(&before),
                show(&text)
            )
        })?;
    }

    let expected_path = dir.join("expected.md");
    if bless {
        std::fs::write(&expected_path, &text).map_err(|e| format!("writing expected.md: {e}"))?;
        return Ok(());
    }
    let expected = read("expected.md")?;
    if expected != text {
        return Err(format!(
            "output differs from expected.md (- expected, + actual):\n{}",
            diff(&expected, &text)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Operations

fn s<'a>(op: &'a Value, key: &str) -> Result<&'a str, String> {
    op[key]
        .as_str()
        .ok_or_else(|| format!("missing string `{key}`"))
}

fn s_or<'a>(op: &'a Value, key: &str, default: &'a str) -> &'a str {
    op[key].as_str().unwrap_or(default)
}

fn apply(text: &str, op: &Value) -> Result<String, String> {
    match s(op, "op")? {
        "sync" => {
            let ctx = LogContext {
                realm: s_or(op, "realm", DEFAULT_REALM),
                subject: s_or(op, "subject", DEFAULT_SUBJECT),
                now: s(op, "now")?,
            };
            let busy = op["busy"].as_bool().unwrap_or(false);
            let synced = edit::sync(text, ctx, busy);
            if let Some(expected) = op.get("expect_jobs") {
                let expected: Vec<(String, String)> = expected
                    .as_array()
                    .ok_or("expect_jobs is not a list")?
                    .iter()
                    .map(|j| {
                        Ok((
                            s_or(j, "agent", "agent").to_string(),
                            s(j, "code")?.to_string(),
                        ))
                    })
                    .collect::<Result<_, String>>()?;
                let actual: Vec<(String, String)> = synced
                    .jobs
                    .iter()
                    .map(|j: &NewJob| (j.agent.clone(), j.code.clone()))
                    .collect();
                if expected != actual {
                    return Err(format!("jobs: expected {expected:?}, got {actual:?}"));
                }
            }
            if let Some(changed) = op["expect_changed"].as_bool() {
                if changed != synced.text.is_some() {
                    return Err(format!("expected changed={changed}, got {}", !changed));
                }
            }
            let out = synced.text.unwrap_or_else(|| text.to_string());
            // Syncing again must be a no-op: nothing new to accept, nothing to repair.
            let again = edit::sync(&out, ctx, true);
            if again.text.is_some() || !again.jobs.is_empty() {
                return Err(format!(
                    "sync is not idempotent: a second sync accepted {:?} and produced\n{}",
                    again.jobs,
                    again
                        .text
                        .as_deref()
                        .map(|t| diff(&out, t))
                        .unwrap_or_default()
                ));
            }
            Ok(out)
        }
        "mark_executing" => {
            let r = edit::mark_executing(text, s(op, "code")?);
            found(op, r.is_some())?;
            Ok(r.unwrap_or_else(|| text.to_string()))
        }
        "progress" => {
            let elapsed = op["elapsed"].as_u64().ok_or("missing `elapsed`")?;
            let r = edit::progress(
                text,
                s(op, "code")?,
                elapsed,
                &bg_events(&op["events"])?,
                "",
            );
            found(op, r.is_some())?;
            Ok(r.unwrap_or_else(|| text.to_string()))
        }
        "reply" => {
            let reply = parse_reply(&op["reply"])?;
            let r = edit::reply(text, s(op, "code")?, &reply);
            found(op, r.is_some())?;
            if op["expect_found"].is_null() && r.is_none() {
                return Err("reply: placeholder not found".into());
            }
            Ok(r.unwrap_or_else(|| text.to_string()))
        }
        "has_pending" => {
            let expected = op["expect"].as_bool().ok_or("missing `expect`")?;
            let actual = edit::has_pending(text, s(op, "code")?);
            if expected != actual {
                return Err(format!("has_pending: expected {expected}, got {actual}"));
            }
            Ok(text.to_string())
        }
        "insert_background" => {
            let section = events::render_background(
                s_or(op, "realm", DEFAULT_REALM),
                s(op, "at")?,
                &bg_events(&op["events"])?,
            );
            Ok(edit::insert_above_footer(text, &section))
        }
        "insert_diagnostic" => {
            let section = events::render_diagnostic(
                s_or(op, "realm", DEFAULT_REALM),
                s(op, "at")?,
                s(op, "message")?,
            );
            Ok(edit::insert_above_footer(text, &section))
        }
        "agent_append" => Ok(format!("{text}{}", s(op, "text")?)),
        "agent_replace" => {
            let find = s(op, "find")?;
            let with = s(op, "with")?;
            match text.matches(find).count() {
                1 => Ok(text.replacen(find, with, 1)),
                n => Err(format!(
                    "agent_replace: `find` occurs {n} times, expected once: {find:?}"
                )),
            }
        }
        other => Err(format!("unknown op `{other}`")),
    }
}

/// Check `expect_found` (also accepted: `expect_changed`) when the op gives one.
fn found(op: &Value, is_some: bool) -> Result<(), String> {
    for key in ["expect_found", "expect_changed"] {
        if let Some(expected) = op[key].as_bool() {
            if expected != is_some {
                return Err(format!("{key}: expected {expected}, got {is_some}"));
            }
        }
    }
    Ok(())
}

fn bg_events(v: &Value) -> Result<Vec<BgEvent>, String> {
    let Some(list) = v.as_array() else {
        return Ok(vec![]);
    };
    list.iter()
        .map(|e| {
            let kind = match s(e, "kind")? {
                "console" => EventKind::Console {
                    level: s_or(e, "level", "log").to_string(),
                },
                "error" => EventKind::Error {
                    source: s_or(e, "source", "window.onerror").to_string(),
                },
                other => return Err(format!("unknown event kind `{other}`")),
            };
            Ok(BgEvent {
                kind,
                at: s(e, "at")?.to_string(),
                message: s(e, "message")?.to_string(),
                stack: e["stack"].as_str().map(str::to_string),
                caller: e["caller"].as_str().map(str::to_string),
            })
        })
        .collect()
}

fn parse_reply(v: &Value) -> Result<Reply, String> {
    let o = &v["outcome"];
    let outcome = if let Some(j) = o["json"].as_str() {
        Outcome::Json(j.to_string())
    } else if let Some(t) = o["text"].as_str() {
        Outcome::Text(t.to_string())
    } else if let Some(e) = o["error"].as_str() {
        Outcome::Error(e.to_string())
    } else if let Some(secs) = o["timeout"].as_f64() {
        Outcome::timeout(secs)
    } else {
        return Err(format!("bad outcome {o}"));
    };
    Ok(Reply {
        realm: s_or(v, "realm", DEFAULT_REALM).to_string(),
        agent: s_or(v, "agent", "agent").to_string(),
        at: s(v, "at")?.to_string(),
        duration_ms: v["duration_ms"].as_u64().ok_or("missing duration_ms")?,
        outcome,
        extra: String::new(),
        events: bg_events(&v["events"])?,
    })
}

// ---------------------------------------------------------------------------------------------
// Invariants

fn is_agent_op(op: &Value) -> bool {
    matches!(op["op"].as_str(), Some("agent_append" | "agent_replace"))
}

fn check_invariants(before: &str, after: &str, op: &Value) -> Result<(), String> {
    if is_agent_op(op) {
        return Ok(());
    }
    let required = preserved_lines(before);
    let out: Vec<&str> = after.lines().map(str::trim_end).collect();
    let mut at = 0;
    for (n, line) in &required {
        match out[at..].iter().position(|l| l == line) {
            Some(p) => at += p + 1,
            None => {
                return Err(format!(
                    "line {} of the text before the op was dropped or reordered: {line:?}",
                    n + 1
                ))
            }
        }
    }
    if matches!(
        op["op"].as_str(),
        Some("sync" | "insert_background" | "insert_diagnostic")
    ) {
        let doc = Doc::parse(after);
        let prompts = (0..doc.lines.len())
            .filter(|&i| {
                doc.line_text(&doc.lines[i]).starts_with(FOOTER_PROMPT) && doc.is_outside_code(i)
            })
            .count();
        if prompts != 1 {
            return Err(format!("expected exactly one footer, found {prompts}"));
        }
        let footer = doc.footer().unwrap();
        if !footer.well_formed {
            return Err("the footer is not well formed".into());
        }
    }
    Ok(())
}

/// The lines of `text` the server must keep, with their 0-based line numbers: every non-blank
/// line except the server's transient ones (footer, placeholder sections, agent header lines
/// it normalises when accepting a request).
fn preserved_lines(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let mut keep = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if is_placeholder_heading(l) {
            // Heading, streamed events, status line.
            if let Some(end) = placeholder_end(&lines, i) {
                i = end + 1;
                continue;
            }
        }
        let transient = l.is_empty()
            || l == FOOTER_RULE
            || l.starts_with("> Append your JavaScript snippet below")
            || is_status(l)
            || is_placeholder_heading(l)
            || l.starts_with("### 🗣")
            || (l.starts_with("> **") && l.contains("** to "));
        if !transient {
            keep.push((i, l.to_string()));
        }
        i += 1;
    }
    keep
}

fn is_placeholder_heading(l: &str) -> bool {
    l.starts_with("#### 👍") && !l.ends_with(')')
}

fn is_status(l: &str) -> bool {
    l == "queued" || (l.starts_with("executing (") && l.ends_with("s)"))
}

/// The status line closing the placeholder that starts at `i`, if the lines between are
/// streamed events.
fn placeholder_end(lines: &[&str], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut fence: Option<String> = None;
    while j < lines.len() {
        let l = lines[j];
        if let Some(f) = &fence {
            if l.starts_with(f.as_str()) && l.trim_start_matches('`').is_empty() {
                fence = None;
            }
        } else if l.starts_with("```") {
            fence = Some(l.chars().take_while(|&c| c == '`').collect());
        } else if is_status(l) {
            return Some(j);
        } else if !(l.starts_with("##### ") || l.starts_with("... (")) {
            return None;
        }
        j += 1;
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Reporting

/// Make line endings and trailing spaces visible.
fn visible(line: &str) -> String {
    let (body, cr) = match line.strip_suffix('\r') {
        Some(b) => (b, "␍"),
        None => (line, ""),
    };
    let trimmed = body.trim_end_matches(' ');
    format!("{trimmed}{}{cr}", "·".repeat(body.len() - trimmed.len()))
}

fn show(text: &str) -> String {
    text.split('\n').map(visible).collect::<Vec<_>>().join("\n")
}

/// A line diff (LCS) with three lines of context around each change.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.split('\n').collect();
    let b: Vec<&str> = actual.split('\n').collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // (tag, line, expected line number)
    let mut rows: Vec<(char, &str, usize)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            rows.push((' ', a[i], i));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            rows.push(('-', a[i], i));
            i += 1;
        } else {
            rows.push(('+', b[j], i));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..rows.len()).filter(|&k| rows[k].0 != ' ').collect();
    let mut out = String::new();
    let mut last_shown: Option<usize> = None;
    for (k, (tag, line, expected_line)) in rows.iter().enumerate() {
        let near = changed.iter().any(|&c| c.abs_diff(k) <= 3);
        if !near {
            continue;
        }
        if last_shown.is_none_or(|l| l + 1 != k) {
            let _ = writeln!(out, "@@ expected line {} @@", expected_line + 1);
        }
        let _ = writeln!(out, "{tag}{}", visible(line));
        last_shown = Some(k);
    }
    out
}
