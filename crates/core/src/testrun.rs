//! In-page test runs in the log (the `node:test` runner): the progress the shim reports on
//! `POST /-daebug-test-progress`, and how it is written — a progress section in the running
//! job's placeholder, then the summary inside the reply of the request that started the run.
//! Pure data and rendering; the format is documented in `docs/test-results.md`.
//!
//! The summary is one level-5 heading and one Text block, so nothing in it can be mistaken for
//! log structure:
//!
//! ~~~text
//! ##### 🧪 tests: 41 passed, 1 failed, 2 skipped in 1.3s
//! ```Text tests
//! ✖ math > adds (2ms)
//!   AssertionError [ERR_ASSERTION]: Expected values to be strictly equal: …
//!       at …
//! ﹣ math > later # SKIP
//! ✔ math > subtracts (1ms)
//! ```
//! ~~~

use crate::log::events::{fenced, format_duration};
use serde::Deserialize;

/// Passed tests listed at most; the rest are counted.
const MAX_PASSED_LISTED: usize = 1000;
/// Failures shown in a progress section.
const MAX_PROGRESS_FAILURES: usize = 5;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Totals {
    #[serde(default)]
    pub pass: u64,
    #[serde(default)]
    pub fail: u64,
    #[serde(default)]
    pub skip: u64,
}

impl Totals {
    /// `3 passed, 1 failed` plus `, 2 skipped` when any.
    pub fn line(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.pass, self.fail);
        if self.skip > 0 {
            s.push_str(&format!(", {} skipped", self.skip));
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TestError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub stack: Option<String>,
}

/// One finished test.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TestEntry {
    pub name: String,
    #[serde(default)]
    pub suite: Option<String>,
    pub status: Status,
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default, deserialize_with = "error_or_string")]
    pub error: Option<TestError>,
    #[serde(default)]
    pub todo: bool,
    #[serde(default, rename = "skipReason")]
    pub skip_reason: Option<String>,
}

fn error_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<TestError>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum E {
        S(String),
        O(TestError),
    }
    Ok(match Option::<E>::deserialize(d)? {
        None => None,
        Some(E::S(message)) => Some(TestError {
            message,
            stack: None,
        }),
        Some(E::O(e)) => Some(e),
    })
}

impl TestEntry {
    pub fn full_name(&self) -> String {
        match self.suite.as_deref().filter(|s| !s.is_empty()) {
            Some(suite) => format!("{suite} > {}", self.name),
            None => self.name.clone(),
        }
    }

    /// `✔ name (3ms)`, `✖ name (3ms)`, `﹣ name # SKIP` / `# TODO`.
    pub fn line(&self) -> String {
        let dur = self
            .duration
            .map(|d| format!(" ({})", format_duration(d.max(0.0).round() as u64)))
            .unwrap_or_default();
        match self.status {
            Status::Pass => format!("✔ {}{dur}", self.full_name()),
            Status::Fail => format!("✖ {}{dur}", self.full_name()),
            Status::Skip => {
                let tag = if self.todo { "TODO" } else { "SKIP" };
                match self.skip_reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => format!("﹣ {} # {tag} {r}", self.full_name()),
                    None => format!("﹣ {} # {tag}", self.full_name()),
                }
            }
        }
    }

    fn failure_detail(&self) -> String {
        let Some(err) = &self.error else {
            return String::new();
        };
        let body = match err.stack.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(stack) if stack.contains(err.message.lines().next().unwrap_or("\u{0}")) => {
                stack.to_string()
            }
            Some(stack) => format!("{}\n{stack}", err.message),
            None => err.message.clone(),
        };
        body.lines().map(|l| format!("  {l}\n")).collect()
    }
}

/// `POST /-daebug-test-progress`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub realm_name: String,
    #[serde(default)]
    pub totals: Totals,
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub recent_tests: Vec<TestEntry>,
    #[serde(default)]
    pub all_tests: Option<Vec<TestEntry>>,
    #[serde(default)]
    pub complete: bool,
}

/// A run as the server has heard of it so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestRun {
    pub totals: Totals,
    pub duration_ms: u64,
    pub tests: Vec<TestEntry>,
    pub complete: bool,
}

impl TestRun {
    /// Fold in a progress report: recent tests are added, `allTests` replaces the list.
    pub fn apply(&mut self, p: Progress) {
        self.totals = p.totals;
        self.duration_ms = p
            .duration
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(|d| d as u64)
            .unwrap_or(self.duration_ms);
        match p.all_tests {
            Some(all) => self.tests = all,
            None => self.tests.extend(p.recent_tests),
        }
        self.complete |= p.complete;
    }

    /// The section shown in a running job's placeholder.
    pub fn render_progress(&self) -> String {
        let mut body = format!("{} so far", self.totals.line());
        for t in self
            .tests
            .iter()
            .filter(|t| t.status == Status::Fail)
            .take(MAX_PROGRESS_FAILURES)
        {
            body.push('\n');
            body.push_str(&t.line());
            if let Some(e) = &t.error {
                body.push_str(&format!("\n  {}", e.message.lines().next().unwrap_or("")));
            }
        }
        if let Some(last) = self.tests.last() {
            body.push_str(&format!("\nlatest: {}", last.line()));
        }
        format!(
            "##### 🧪 tests running ({})\n{}",
            format_duration(self.duration_ms),
            fenced("Text tests", &body)
        )
    }

    /// The summary written into the reply: failures first (with messages and stacks), then
    /// skipped, then passed.
    pub fn render_summary(&self) -> String {
        let mut body = String::new();
        for t in self.tests.iter().filter(|t| t.status == Status::Fail) {
            body.push_str(&t.line());
            body.push('\n');
            body.push_str(&t.failure_detail());
        }
        for t in self.tests.iter().filter(|t| t.status == Status::Skip) {
            body.push_str(&t.line());
            body.push('\n');
        }
        let passed: Vec<&TestEntry> = self
            .tests
            .iter()
            .filter(|t| t.status == Status::Pass)
            .collect();
        for t in passed.iter().take(MAX_PASSED_LISTED) {
            body.push_str(&t.line());
            body.push('\n');
        }
        if passed.len() > MAX_PASSED_LISTED {
            body.push_str(&format!(
                "… and {} more passed\n",
                passed.len() - MAX_PASSED_LISTED
            ));
        }
        if body.is_empty() {
            body.push_str("no tests ran\n");
        }
        format!(
            "##### 🧪 tests: {} in {}\n{}",
            self.totals.line(),
            format_duration(self.duration_ms),
            fenced("Text tests", &body)
        )
    }
}

/// Read a summary back (for `daebug --test`): the totals and the per-test lines of the last
/// summary in `text`.
pub fn parse_summary(text: &str) -> Option<(Totals, Vec<String>)> {
    let start = text.rfind("##### 🧪 tests: ")?;
    let heading = text[start..].lines().next()?;
    let counts = heading.trim_start_matches("##### 🧪 tests: ");
    let mut totals = Totals::default();
    for part in counts.split(" in ").next()?.split(", ") {
        let mut it = part.split_whitespace();
        let n: u64 = it.next()?.parse().ok()?;
        match it.next()? {
            "passed" => totals.pass = n,
            "failed" => totals.fail = n,
            "skipped" => totals.skip = n,
            _ => {}
        }
    }
    let block = &text[start + heading.len()..];
    let mut lines = Vec::new();
    let mut in_block = false;
    for line in block.lines() {
        if line.starts_with("```") {
            if in_block {
                break;
            }
            in_block = true;
            continue;
        }
        if in_block {
            lines.push(line.to_string());
        }
    }
    Some((totals, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(json: &str) -> Progress {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn summary_orders_failures_skips_passes_and_parses_back() {
        let mut run = TestRun::default();
        run.apply(progress(r#"{"realmName":"r","totals":{"pass":1,"fail":0,"skip":0},"duration":5,"recentTests":[{"name":"adds","suite":"math","status":"pass","duration":1.4}]}"#));
        run.apply(progress(
            r#"{"realmName":"r","totals":{"pass":1,"fail":1,"skip":1},"duration":1300,"complete":true,"recentTests":[
            {"name":"subtracts","suite":"math","status":"fail","duration":2,"error":{"message":"AssertionError: 1 == 2","stack":"AssertionError: 1 == 2\n    at t.js:3:9"}},
            {"name":"later","status":"skip","todo":true}]}"#,
        ));
        let s = run.render_summary();
        assert!(s.starts_with("##### 🧪 tests: 1 passed, 1 failed, 1 skipped in 1300ms\n```Text tests\n✖ math > subtracts (2ms)\n  AssertionError: 1 == 2\n      at t.js:3:9\n﹣ later # TODO\n✔ math > adds (1ms)\n```\n"), "{s}");
        let (totals, lines) = parse_summary(&format!("x\n{s}")).unwrap();
        assert_eq!(
            totals,
            Totals {
                pass: 1,
                fail: 1,
                skip: 1
            }
        );
        assert_eq!(lines[0], "✖ math > subtracts (2ms)");
        assert_eq!(lines.len(), 5);
        assert!(run.complete);
    }

    #[test]
    fn progress_section() {
        let mut run = TestRun::default();
        run.apply(progress(r#"{"realmName":"r","totals":{"pass":2,"fail":1},"duration":2100,"recentTests":[{"name":"x","status":"fail","error":"boom"}]}"#));
        let p = run.render_progress();
        assert!(p.starts_with("##### 🧪 tests running (2.1s)\n```Text tests\n2 passed, 1 failed so far\n✖ x\n  boom\nlatest: ✖ x\n```"), "{p}");
    }
}
