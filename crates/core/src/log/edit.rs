//! The edits the server makes to a realm log, as pure functions from text to text:
//! title and guide, footer repair, accepting requests, the executing placeholder, replies,
//! and sections (background flushes, diagnostics) above the footer.
//!
//! Every function re-locates what it needs by searching the current text for the server's own
//! headers (SPEC 3.4); nothing relies on offsets from an earlier read. Text the server did not
//! write is never dropped or reordered.

use super::events::{render_events, BgEvent, Outcome, Reply};
use super::parse::{Doc, Fence, FOOTER_PROMPT, FOOTER_RULE};

/// The footer as written: rule, prompt, empty line.
pub fn footer() -> String {
    format!("{FOOTER_RULE}\n{FOOTER_PROMPT}\n\n")
}

/// A JS block the agent asked to run, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub agent: String,
    pub code: String,
}

/// The result of [`sync`]: the new text when anything changed, and the jobs accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    pub text: Option<String>,
    pub jobs: Vec<NewJob>,
}

/// Who a log talks to, for the guide: "the page http://…/" or "the web worker of page …".
#[derive(Debug, Clone, Copy)]
pub struct LogContext<'a> {
    pub realm: &'a str,
    pub subject: &'a str,
    /// Current server time, `HH:MM:SS`.
    pub now: &'a str,
}

/// Bring a log up to date: add the title and guide if missing, accept any complete request
/// below the footer (queueing it behind running work when `busy`), and repair the footer.
pub fn sync(text: &str, ctx: LogContext, busy: bool) -> Synced {
    sync_window(text, ctx, busy, false)
}

/// [`sync`] on the tail of a log (see [`super::window`]): `titled` says the file's start
/// (not in `text`) already holds the title.
pub fn sync_window(text: &str, ctx: LogContext, busy: bool, titled: bool) -> Synced {
    if is_crlf(text) {
        let mut synced = sync_lf(&to_lf(text), ctx, busy, titled);
        synced.text = synced.text.map(|t| to_crlf(&t));
        return synced;
    }
    sync_lf(text, ctx, busy, titled)
}

fn sync_lf(text: &str, ctx: LogContext, busy: bool, titled: bool) -> Synced {
    let titled = if titled {
        None
    } else {
        ensure_title(text, ctx)
    };
    let base = titled.as_deref().unwrap_or(text);
    if let Some((text, jobs)) = accept(base, ctx, busy) {
        return Synced {
            text: Some(text),
            jobs,
        };
    }
    match repair_footer_lf(base) {
        Some(text) => Synced {
            text: Some(text),
            jobs: vec![],
        },
        None => Synced {
            text: titled,
            jobs: vec![],
        },
    }
}

/// The title and guide a new log starts with.
pub fn title_and_guide(ctx: LogContext) -> String {
    format!(
        "# {realm} session\n\n\
         This file is a live REPL into {subject}. Append a fenced ```js block at the end of this \
         file, below the footer line; Daebug runs it there and writes the result, console output \
         and errors beneath it, with timing. Several blocks in one append run in order.\n\n\
         Code runs as the body of an async function: `await` works, the value of the last \
         expression is the result, and state meant to outlive a request goes on `globalThis`. \
         `node:test` and `node:assert` can be imported to run tests here. Text above the footer \
         is history: the server never rewrites what you wrote. From a shell, `daebug run --realm <this realm> 'CODE'` appends the same request, waits \
         and prints its reply.\n\n\
         ---\n\n",
        // Names and URLs come from the network: inert text, never Markdown structure.
        realm = crate::names::escape_inline(ctx.realm),
        subject = crate::names::escape_inline(ctx.subject)
    )
}

fn ensure_title(text: &str, ctx: LogContext) -> Option<String> {
    if Doc::parse(text).has_title_within(20) {
        return None;
    }
    let rest = text.trim_start_matches(['\n', '\r']);
    Some(format!("{}{rest}", title_and_guide(ctx)))
}

/// Append a footer to a file that lacks one, or rewrite a malformed one. In a file without a
/// footer, unanswered text after the server's last section that holds a JS block or a draft
/// stays below the new footer, so it is still treated as a request.
pub fn repair_footer(text: &str) -> Option<String> {
    lf_edit(text, repair_footer_lf)
}

fn repair_footer_lf(text: &str) -> Option<String> {
    let doc = Doc::parse(text);
    match doc.footer() {
        Some(f) if f.well_formed => None,
        Some(f) => {
            let mut out = join_history(&text[..f.start]);
            out.push_str(&footer());
            out.push_str(&text[f.end..]);
            Some(out)
        }
        None => {
            // What follows the server's last section is the agent's unanswered text. If it
            // holds a request (or a draft of one), it stays below the footer so that it is
            // still run; otherwise the footer is simply appended.
            let tail = server_content_end(&doc);
            let unanswered = doc
                .fences
                .iter()
                .any(|f| f.range.start >= tail && (f.is_runnable() || !f.closed));
            let at = if unanswered { tail } else { text.len() };
            let mut out = join_history(&text[..at]);
            out.push_str(&footer());
            out.push_str(trim_leading_blank_lines(&text[at..]));
            Some(out)
        }
    }
}

/// History, trimmed of trailing line breaks, followed by exactly one blank line.
fn join_history(history: &str) -> String {
    let trimmed = history.trim_end_matches(['\n', '\r']);
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}\n\n")
    }
}

/// Accept the complete request below the footer, if any.
///
/// The chunk runs from the footer to the end of the text; when it ends in a draft (an unclosed
/// fence), the chunk ends with its last complete JS block and everything after it (the draft
/// and any prose introducing it) stays below the new footer.
fn accept(text: &str, ctx: LogContext, busy: bool) -> Option<(String, Vec<NewJob>)> {
    let doc = Doc::parse(text);
    let (history_end, tail_start) = match doc.footer() {
        Some(f) => (f.start, f.end),
        None => {
            let end = server_content_end(&doc);
            (end, end)
        }
    };
    // Bytes that are not UTF-8 (escaped by the store) below the footer: the request is held
    // and diagnosed (see `super::problems`), never run garbled.
    if text[tail_start..]
        .chars()
        .any(|c| (0x10FF00..=0x10FFFF).contains(&(c as u32)))
    {
        return None;
    }
    let tail_fences: Vec<&Fence> = doc
        .fences
        .iter()
        .filter(|f| f.range.start >= tail_start)
        .collect();
    let draft_start = tail_fences
        .iter()
        .find(|f| !f.closed)
        .map(|f| f.range.start);
    let runnable: Vec<&Fence> = tail_fences
        .iter()
        .copied()
        .filter(|f| draft_start.is_none_or(|d| f.range.end <= d) && f.is_runnable())
        .collect();
    let last = runnable.last()?;
    let chunk_end = if draft_start.is_some() {
        last.range.end
    } else {
        text.len()
    };

    // Agent header lines in the chunk (outside code). One that opens the chunk becomes the
    // request header; later ones (the agent appended several chunks before the server saw
    // them) are rewritten in place with the server's time. Each names the agent of the blocks
    // below it.
    let first_line = doc.line_index_at(tail_start);
    let headers: Vec<(usize, usize, String)> = (first_line..doc.lines.len())
        .map(|i| (i, doc.lines[i]))
        .filter(|(i, l)| l.start >= tail_start && l.start < chunk_end && doc.is_outside_code(*i))
        .filter_map(|(_, l)| {
            parse_agent_header(doc.line_text(&l)).map(|name| (l.start, l.end, name))
        })
        .collect();
    let opening_line = doc.lines[first_line..]
        .iter()
        .find(|l| l.start >= tail_start && !doc.line_text(l).trim().is_empty());
    let body_start = match opening_line {
        Some(l) if headers.first().is_some_and(|h| h.0 == l.start) => l.next,
        _ => tail_start,
    };
    let agent_at = |pos: usize| {
        headers
            .iter()
            .rev()
            .find(|h| h.0 < pos)
            .map_or("agent", |h| h.2.as_str())
            .to_string()
    };
    let copy = |body: &mut String, from: usize, to: usize| {
        let mut at = from;
        for (start, end, name) in headers.iter().filter(|h| h.0 >= from && h.0 < to) {
            body.push_str(&text[at..*start]);
            body.push_str(&format!("### 🗣️{name} to {} at {}", ctx.realm, ctx.now));
            at = *end;
        }
        body.push_str(&text[at..to]);
    };
    let agent = agent_at(runnable[0].range.start);

    let mut body = String::new();
    let mut pos = body_start;
    let mut jobs = Vec::new();
    for (i, fence) in runnable.iter().enumerate() {
        copy(&mut body, pos, fence.range.end);
        if !body.ends_with('\n') {
            body.push('\n');
        }
        let status = if i == 0 && !busy {
            "executing (0s)"
        } else {
            "queued"
        };
        let fence_agent = agent_at(fence.range.start);
        body.push_str(&format!(
            "\n#### 👍{} to {fence_agent} at {}\n{status}\n",
            ctx.realm, ctx.now
        ));
        pos = fence.range.end;
        let after = &text[pos..chunk_end];
        if !after.is_empty() && !after.starts_with('\n') && !after.starts_with("\r\n") {
            body.push('\n');
        }
        jobs.push(NewJob {
            agent: fence_agent,
            code: fence.code.replace("\r\n", "\n"),
        });
    }
    copy(&mut body, pos, chunk_end);
    let body = trim_leading_blank_lines(&body).trim_end();

    let mut out = join_history(&text[..history_end]);
    out.push_str(&format!(
        "### 🗣️{agent} to {} at {}\n\n",
        ctx.realm, ctx.now
    ));
    out.push_str(body);
    out.push_str("\n\n");
    out.push_str(&footer());
    out.push_str(trim_leading_blank_lines(&text[chunk_end..]));
    Some((out, jobs))
}

fn trim_leading_blank_lines(mut s: &str) -> &str {
    while let Some(i) = s.find('\n') {
        if !s[..i].trim().is_empty() {
            break;
        }
        s = &s[i + 1..];
    }
    if s.trim().is_empty() {
        ""
    } else {
        s
    }
}

/// `### 🗣️claude to X at T` or `> **claude** to X at T` → `claude`. Strict, so that an
/// ordinary heading or quote (`### Notes to self`) is never taken for one and rewritten.
pub fn parse_agent_header(line: &str) -> Option<String> {
    let line = line.trim();
    let (name, rest) = if let Some(rest) = line.strip_prefix("###") {
        let rest = rest.trim_start().strip_prefix('🗣')?;
        let rest = rest.strip_prefix('\u{fe0f}').unwrap_or(rest).trim_start();
        rest.split_once(char::is_whitespace)?
    } else {
        let rest = line.strip_prefix('>')?.trim_start().strip_prefix("**")?;
        let (name, rest) = rest.split_once("**")?;
        (name.trim(), rest)
    };
    // `to <realm> at <time>`
    let rest = rest.trim_start().strip_prefix("to ")?.trim_start();
    let (realm, rest) = rest.split_once(char::is_whitespace)?;
    let time = rest.trim_start().strip_prefix("at ")?.trim();
    let is_time = !time.is_empty() && time.chars().all(|c| c.is_ascii_digit() || c == ':');
    let is_name = |n: &str| !n.is_empty() && !n.contains(char::is_whitespace) && !n.contains('*');
    (is_name(name) && is_name(realm) && is_time).then(|| name.to_string())
}

/// A server header that opens a section: reply, placeholder, background, diagnostic.
fn is_server_heading(line: &str) -> bool {
    ["#### 👍", "#### 🚫", "#### 📣", "#### ⚠"]
        .iter()
        .any(|p| line.starts_with(p))
}

fn is_status_line(line: &str) -> bool {
    let line = line.trim();
    line == "queued" || (line.starts_with("executing (") && line.ends_with(')'))
}

fn is_omitted_line(line: &str) -> bool {
    line.starts_with("... (") && line.ends_with("more background events omitted) ...")
}

/// A reply heading without a duration: the job has not finished.
fn is_placeholder_heading(line: &str) -> bool {
    line.starts_with("#### 👍") && !line.trim_end().ends_with(')')
}

/// A request header the server wrote when accepting a chunk.
fn is_request_header(line: &str) -> bool {
    line.starts_with("### 🗣")
}

/// The info strings of the blocks the server writes (outcomes, events, diagnostics).
fn is_server_block(info: &str) -> bool {
    let lang = info.split_whitespace().next().unwrap_or("");
    ["JSON", "Text", "Error"]
        .iter()
        .any(|l| lang.eq_ignore_ascii_case(l))
}

/// The lines of a server section after its heading, exactly as the server writes them (no
/// blank lines inside): outcome or message blocks, event headings and their blocks, the
/// omitted-events line, and, for a placeholder, the status line that ends it. Returns the
/// index of the last line that belongs to it (the heading itself when nothing follows) and
/// the status line, if any.
fn section_extent(doc: &Doc, heading: usize) -> (usize, Option<usize>) {
    let mut last = heading;
    let mut j = heading + 1;
    while j < doc.lines.len() {
        let line = doc.lines[j];
        let t = doc.line_text(&line);
        let opens = doc.fence_starting_in(line.start, line.end);
        if let Some(f) = opens {
            if f.indented || !f.closed || !is_server_block(&f.info) {
                break;
            }
            last = doc.line_index_at(f.range.end.saturating_sub(1).max(line.start));
            j = last + 1;
        } else if doc.fence_at(line.start).is_some() {
            break;
        } else if t.starts_with("##### ") || is_omitted_line(t) {
            last = j;
            j += 1;
        } else if is_status_line(t) {
            return (j, Some(j));
        } else {
            break;
        }
    }
    (last, None)
}

/// Where history ends in a file without a footer: after the last server section, else after
/// the guide's rule, else at the start.
fn server_content_end(doc: &Doc) -> usize {
    let last_section = (0..doc.lines.len())
        .rev()
        .find(|&i| is_server_heading(doc.line_text(&doc.lines[i])) && doc.is_outside_code(i));
    if let Some(h) = last_section {
        let (last, _) = section_extent(doc, h);
        return doc.lines[last].next;
    }
    if doc.has_title_within(20) {
        if let Some(i) = (0..doc.lines.len().min(40))
            .find(|&i| doc.line_text(&doc.lines[i]).trim() == "---" && doc.is_outside_code(i))
        {
            return doc.lines[i].next;
        }
    }
    0
}

/// A job still waiting for its reply, as found in the text.
#[derive(Debug)]
struct Pending {
    /// Byte offset of the placeholder heading.
    start: usize,
    /// Byte offset just past the status line.
    end: usize,
    /// Byte range of what follows the heading line up to the status line end.
    body_start: usize,
    /// The code of the block the placeholder answers (see [`block_above`]).
    code: Option<String>,
    queued: bool,
}

fn pending(doc: &Doc) -> Vec<Pending> {
    let mut out = Vec::new();
    for i in 0..doc.lines.len() {
        let t = doc.line_text(&doc.lines[i]);
        if !is_placeholder_heading(t) || !doc.is_outside_code(i) {
            continue;
        }
        let (_, Some(status)) = section_extent(doc, i) else {
            continue;
        };
        let start = doc.lines[i].start;
        out.push(Pending {
            start,
            end: doc.lines[status].next,
            body_start: doc.lines[i].next,
            code: block_above(doc, start).map(|f| f.code.clone()),
            queued: doc.line_text(&doc.lines[status]).trim() == "queued",
        });
    }
    out
}

/// The JS block a placeholder at byte `start` answers: the nearest runnable block above it,
/// provided no server heading (another reply, placeholder or request header) lies between.
/// Prose or other blocks the agent inserted between the two do not matter.
fn block_above<'d>(doc: &'d Doc, start: usize) -> Option<&'d Fence> {
    let before = doc.fences.partition_point(|f| f.range.end <= start);
    let fence = doc.fences[..before]
        .iter()
        .rev()
        .find(|f| f.is_runnable())?;
    let first = doc.line_index_at(fence.range.end);
    let server_between = doc.lines[first..]
        .iter()
        .enumerate()
        .take_while(|(_, l)| l.start < start && l.start >= fence.range.end)
        .any(|(k, l)| {
            let t = doc.line_text(l);
            (is_server_heading(t) || is_request_header(t)) && doc.is_outside_code(first + k)
        });
    (!server_between).then_some(fence)
}

fn same_code(a: &str, b: &str) -> bool {
    a.replace("\r\n", "\n").trim() == b.replace("\r\n", "\n").trim()
}

/// Which placeholder a job's edit is for.
#[derive(Clone, Copy)]
enum Want {
    /// The job is about to start: the first `queued` placeholder for the code.
    Queued,
    /// The job is running: the last `executing` placeholder for the code (older ones with the
    /// same code can only be leftovers), else the first `queued` one.
    Running,
}

fn find_pending<'d>(all: &'d [Pending], code: &str, want: Want) -> Option<&'d Pending> {
    let matching = |p: &&Pending| p.code.as_deref().is_some_and(|c| same_code(c, code));
    let first_queued = || all.iter().filter(matching).find(|p| p.queued);
    match want {
        Want::Queued => first_queued(),
        Want::Running => all
            .iter()
            .filter(matching)
            .rfind(|p| !p.queued)
            .or_else(first_queued),
    }
}

/// Is there a placeholder for this code still waiting in the text?
pub fn has_pending(text: &str, code: &str) -> bool {
    !pending_among(text, &[code]).is_empty()
}

/// Which of `codes` still have a placeholder waiting in the text: [`has_pending`] for each, with
/// one parse of the text for all.
pub fn pending_among<'a>(text: &str, codes: &[&'a str]) -> Vec<&'a str> {
    let text = to_lf(text);
    let doc = Doc::parse(&text);
    let waiting = pending(&doc);
    codes
        .iter()
        .copied()
        .filter(|code| {
            waiting
                .iter()
                .any(|p| p.code.as_deref().is_some_and(|c| same_code(c, code)))
        })
        .collect()
}

/// The realm took the job: its `queued` placeholder becomes `executing (0s)`.
pub fn mark_executing(text: &str, code: &str) -> Option<String> {
    lf_edit(text, |text| {
        let doc = Doc::parse(text);
        let all = pending(&doc);
        let p = find_pending(&all, code, Want::Queued)?;
        Some(splice(text, p.body_start..p.end, "executing (0s)\n"))
    })
}

/// Refresh a running job's placeholder: `extra` (a test run's progress, or nothing), the
/// events so far, then `executing (Ns)`.
pub fn progress(
    text: &str,
    code: &str,
    elapsed_secs: u64,
    events: &[BgEvent],
    extra: &str,
) -> Option<String> {
    lf_edit(text, |text| {
        let doc = Doc::parse(text);
        let all = pending(&doc);
        let p = find_pending(&all, code, Want::Running)?;
        let body = format!(
            "{extra}{}executing ({elapsed_secs}s)\n",
            render_events(events)
        );
        if text[p.body_start..p.end] == body {
            return None;
        }
        Some(splice(text, p.body_start..p.end, &body))
    })
}

/// Replace the job's placeholder with its reply. `None` when the placeholder cannot be found
/// (the agent edited it away); the caller then writes the reply as a diagnostic.
pub fn reply(text: &str, code: &str, reply: &Reply) -> Option<String> {
    lf_edit(text, |text| {
        let doc = Doc::parse(text);
        let all = pending(&doc);
        let p = find_pending(&all, code, Want::Running)?;
        let mut rendered = reply.render();
        if !text[p.end..].starts_with('\n') {
            rendered.push('\n');
        }
        Some(splice(text, p.start..p.end, &rendered))
    })
}

/// Answer every placeholder still waiting in the file — left by a server that stopped before
/// its jobs finished — with a 🚫 reply saying the result is lost. Used when a realm first
/// connects to a new server, which cannot know what became of them.
pub fn settle_stale(text: &str, realm: &str, now: &str) -> Option<String> {
    lf_edit(text, |text| {
        let doc = Doc::parse(text);
        let all = pending(&doc);
        if all.is_empty() {
            return None;
        }
        let mut out = text.to_string();
        for p in all.iter().rev() {
            let heading = doc.line_text(&doc.lines[doc.line_index_at(p.start)]);
            let agent = heading
                .split_once(" to ")
                .and_then(|(_, rest)| rest.rsplit_once(" at "))
                .map(|(agent, _)| agent.trim())
                .filter(|a| !a.is_empty())
                .unwrap_or("agent");
            let status = if p.queued {
                "was still queued"
            } else {
                "was running"
            };
            let message = format!(
                "The Daebug server stopped while this request {status}; its result is lost. Append the block again to run it."
            );
            let section = format!(
                "#### 🚫{realm} to {agent} at {now} (lost)\n{}",
                Outcome::Error(message).render()
            );
            out = splice(&out, p.start..p.end, &section);
        }
        Some(out)
    })
}

/// Insert a server section (background flush, diagnostic) just above the footer, adding a
/// footer first if the file has none.
pub fn insert_above_footer(text: &str, section: &str) -> String {
    let section = to_lf(section);
    let done = lf_edit(text, |text| Some(insert_above_footer_lf(text, &section)));
    done.expect("insert_above_footer_lf always edits")
}

fn insert_above_footer_lf(text: &str, section: &str) -> String {
    let repaired = repair_footer_lf(text);
    let text = repaired.as_deref().unwrap_or(text);
    let doc = Doc::parse(text);
    let footer = doc.footer().expect("repaired log has a footer");
    let mut out = join_history(&text[..footer.start]);
    out.push_str(section);
    if !section.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&text[footer.start..]);
    out
}

/// Insert a diagnostic section for a request that cannot run: above the footer, or, when the
/// problem is a copied footer, above the first of the two (so that the section never lands
/// between the agent's request and the footer it belongs below).
pub fn insert_problem_diagnostic(text: &str, section: &str) -> String {
    let section = to_lf(section);
    let done = lf_edit(text, |text| {
        let copied = super::problems::detect(text)
            .is_some_and(|p| p.kind == super::problems::ProblemKind::SecondFooter);
        if !copied {
            return Some(insert_above_footer_lf(text, &section));
        }
        let doc = Doc::parse(text);
        let prompts: Vec<usize> = (0..doc.lines.len())
            .filter(|&i| {
                doc.line_text(&doc.lines[i]).starts_with(FOOTER_PROMPT) && doc.is_outside_code(i)
            })
            .collect();
        let i = prompts[prompts.len() - 2];
        let start_line = if i > 0 && doc.line_text(&doc.lines[i - 1]) == FOOTER_RULE {
            i - 1
        } else {
            i
        };
        let at = doc.lines[start_line].start;
        let mut out = join_history(&text[..at]);
        out.push_str(&section);
        if !section.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&text[at..]);
        Some(out)
    });
    done.expect("always edits")
}

/// Does the text use CRLF line breaks (for most of its lines)?
fn is_crlf(text: &str) -> bool {
    let crlf = text.matches("\r\n").count();
    crlf > 0 && crlf * 2 >= text.matches('\n').count()
}

fn to_lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

fn to_crlf(text: &str) -> String {
    to_lf(text).replace('\n', "\r\n")
}

/// Run an edit written for LF text. A CRLF file is edited as LF and written back with CRLF
/// line breaks throughout, so the server's lines match the agent's.
fn lf_edit(text: &str, edit: impl FnOnce(&str) -> Option<String>) -> Option<String> {
    if is_crlf(text) {
        edit(&to_lf(text)).map(|t| to_crlf(&t))
    } else {
        edit(text)
    }
}

fn splice(text: &str, range: std::ops::Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..range.start]);
    out.push_str(with);
    out.push_str(&text[range.end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_placeholders_are_settled() {
        let text = "```js\n1\n```\n\n#### 👍r to claude at 10:00:00\nexecuting (5s)\n\n```js\n2\n```\n\n#### 👍r to claude at 10:00:00\nqueued\n\n";
        let out = settle_stale(text, "r", "11:00:00").unwrap();
        assert_eq!(
            out.matches("#### 🚫r to claude at 11:00:00 (lost)\n```Error\n")
                .count(),
            2,
            "{out}"
        );
        assert!(out.contains("was running") && out.contains("was still queued"));
        assert!(!out.contains("executing (") && !out.contains("\nqueued\n"));
        assert!(settle_stale(&out, "r", "11:00:00").is_none());
    }

    #[test]
    fn agent_headers() {
        assert_eq!(
            parse_agent_header("### 🗣️claude to 7-zen-1201-03 at 10:37:00").as_deref(),
            Some("claude")
        );
        assert_eq!(
            parse_agent_header("### 🗣claude to x at 1").as_deref(),
            Some("claude")
        );
        assert_eq!(
            parse_agent_header("> **claude** to 7-zen-1201-03 at 10:37:00").as_deref(),
            Some("claude")
        );
        assert_eq!(
            parse_agent_header("### 🗣️ claude-code to x at 10:37").as_deref(),
            Some("claude-code")
        );
        assert_eq!(parse_agent_header("### Notes"), None);
        assert_eq!(parse_agent_header("### Notes to self at 10:00"), None);
        assert_eq!(parse_agent_header("### 🗣️Notes to self"), None);
        assert_eq!(
            parse_agent_header("### 🗣️claude to the page at 10:00"),
            None
        );
        assert_eq!(parse_agent_header("> **bold** text"), None);
        assert_eq!(parse_agent_header("> **Note** to self: check this"), None);
        assert_eq!(parse_agent_header("> **two words** to x at 10:00:00"), None);
    }
}
