//! Requests that cannot run (issue 7 item 5, "no silent non-run"): a pure function from the
//! tail of a log to the first problem in the text below the footer that keeps a request from
//! running, with a message for the agent saying what the server saw and how to fix it.
//!
//! Kinds, in the order they are looked for:
//! - a copied footer: a second footer prompt below the real one with a JS block between them
//!   (the block sits above the last footer, in "history", and would never run);
//! - bytes that are not UTF-8 below the footer (the store carries them as private-use
//!   characters U+10FF00 + byte; see `crate::store`): the request is held, not run garbled;
//! - a JS fence that a blockquote or list item closed (the container ended before any closing
//!   fence line), with more text after it;
//! - an unclosed JS fence that is clearly not a draft being typed: a line inside it looks like
//!   a fence (```` ``` ````, `~~~`, ```` ```js ````) but does not close it (shorter, other
//!   character, or with an info string), so the agent thought it closed the block there.
//!
//! A plain unclosed fence at the end of the file is a draft (SPEC 3.1) and is left alone.
//! Bookkeeping (diagnose each problem once) lives in `crate::engine::accept`.

use super::parse::{Doc, Fence, FOOTER_PROMPT};

/// What kind of problem was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    SecondFooter,
    InvalidUtf8,
    ClosedByContainer,
    UnclosedFence,
}

/// A request that cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// One or two sentences for the diagnostic: what the server saw, how to fix it.
    pub message: String,
    /// The offending text (identifies the problem across unrelated edits).
    pub key: String,
}

const ESCAPE_BASE: u32 = 0x10FF00;

fn is_escaped_byte(c: char) -> bool {
    (ESCAPE_BASE..=ESCAPE_BASE + 0xFF).contains(&(c as u32))
}

/// The first problem below the footer that keeps a request from running, if any.
pub fn detect(text: &str) -> Option<Problem> {
    let doc = Doc::parse(text);
    let footer = doc.footer()?;
    let footers: Vec<usize> = (0..doc.lines.len())
        .filter(|&i| {
            doc.line_text(&doc.lines[i]).starts_with(FOOTER_PROMPT) && doc.is_outside_code(i)
        })
        .collect();
    // (a) A copied footer: the last two footer prompts with a JS block between them and none
    // of the server's headers (an accepted request always has one).
    if footers.len() >= 2 {
        let first = doc.lines[footers[footers.len() - 2]].next;
        let last = doc.lines[footers[footers.len() - 1]].start;
        let between = &text[first..last];
        let server_header = between.lines().any(|l| {
            super::window::is_boundary_line(l)
                && doc.is_outside_code(doc.line_index_at(first + offset_of(between, l)))
        });
        let js = doc
            .fences
            .iter()
            .filter(|f| f.range.start >= first && f.range.end <= last)
            .any(|f| f.is_js_draft());
        if js && !server_header {
            return Some(Problem {
                kind: ProblemKind::SecondFooter,
                message: "Your request is followed by a second footer line (\"> Append your JavaScript snippet below…\"), probably copied, so it sits above the last footer and was not run. Delete the second footer (the 70-dash line and the prompt below your block) and save; the request then runs.".into(),
                key: between.to_string(),
            });
        }
    }
    let tail = &text[footer.end..];
    // (b) Bytes that are not UTF-8.
    if let Some(line) = tail.lines().find(|l| l.chars().any(is_escaped_byte)) {
        let n = tail.chars().filter(|&c| is_escaped_byte(c)).count();
        return Some(Problem {
            kind: ProblemKind::InvalidUtf8,
            message: format!(
                "The text below the footer holds {n} byte(s) that are not UTF-8 (first on the line \"{}\"), so the request was not run. Save the file as UTF-8 (retype or delete those characters); the request then runs.",
                line.chars().map(|c| if is_escaped_byte(c) { '\u{fffd}' } else { c }).take(80).collect::<String>().trim()
            ),
            key: tail
                .lines()
                .filter(|l| l.chars().any(is_escaped_byte))
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    let tail_fences: Vec<&Fence> = doc
        .fences
        .iter()
        .filter(|f| f.range.start >= footer.end && f.is_js_draft() && !f.closed)
        .collect();
    for f in tail_fences {
        let block = &text[f.range.clone()];
        let opener = doc
            .line_text(&doc.lines[doc.line_index_at(f.range.start)])
            .trim();
        let more_after = !text[f.range.end..].trim().is_empty();
        // (d) Closed by its blockquote or list item, with text after it.
        if f.in_container && more_after {
            return Some(Problem {
                kind: ProblemKind::ClosedByContainer,
                message: format!(
                    "The code block opened by \"{opener}\" is inside a blockquote or list, and that container ended before a closing fence line, so the block was cut off and not run. Put the closing fence inside the same container (e.g. \"> ```\"), or better, write the request as a plain top-level ```js block; it then runs."
                ),
                key: block.to_string(),
            });
        }
        // (a) An unclosed fence holding a line that looks like a fence but does not close it.
        if let Some(inner) = block.lines().skip(1).find(|l| is_fence_like(l)) {
            // The block up to that line: text typed after it does not make it a new problem.
            let upto = offset_of(block, inner) + inner.len();
            return Some(Problem {
                kind: ProblemKind::UnclosedFence,
                message: format!(
                    "The code block opened by \"{opener}\" is never closed: the line \"{}\" inside it does not close it (a closing fence uses the same character, at least as many of them, and nothing after), so nothing from there on runs. Make the closing line match the opening fence; the request then runs.",
                    inner.trim()
                ),
                key: block[..upto].to_string(),
            });
        }
    }
    None
}

fn offset_of(hay: &str, part: &str) -> usize {
    part.as_ptr() as usize - hay.as_ptr() as usize
}

fn is_fence_like(line: &str) -> bool {
    let l = line.trim_start_matches([' ', '>', '\t']);
    ["```", "~~~"].iter().any(|p| l.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::footer;

    fn log(tail: &str) -> String {
        format!(
            "# r session\n\nguide\n\n---\n\n#### 👍r to agent at 10:00:00 (1ms)\n```JSON\n1\n```\n\n{}{tail}",
            footer()
        )
    }

    #[test]
    fn healthy_logs_and_drafts_have_no_problem() {
        for tail in [
            "",
            "```js\n1 + 1\n```\n",
            "```js\nstill typ",
            "text\n\n```js\nlet a = 1;\n\nfoo(",
            "> ```js\n> 1\n> ```\n",
            "> ```js\n> still typing\n",
            "```ts\nnot js\n~~~\n",
        ] {
            assert_eq!(detect(&log(tail)), None, "{tail:?}");
        }
    }

    #[test]
    fn a_copied_footer_is_seen() {
        let text = log(&format!("```js\n1 + 1\n```\n\n{}", footer()));
        let p = detect(&text).unwrap();
        assert_eq!(p.kind, ProblemKind::SecondFooter);
        assert_eq!(p.key, "\n```js\n1 + 1\n```\n\n----------------------------------------------------------------------\n");
        // An accepted request between two footers is history, not a copy.
        let ok = format!(
            "{}### 🗣️agent to r at 10:00:00\n\n```js\n1\n```\n\n#### 👍r to agent at 10:00:00 (1ms)\n```JSON\n1\n```\n\n{}",
            footer(),
            log("")
        );
        assert_eq!(detect(&ok), None);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_seen() {
        let bad = char::from_u32(ESCAPE_BASE + 0xff).unwrap();
        let p = detect(&log(&format!("```js\n\"a{bad}\"\n```\n"))).unwrap();
        assert_eq!(p.kind, ProblemKind::InvalidUtf8);
        assert!(p.message.contains("1 byte(s)"), "{}", p.message);
        assert!(p.message.contains("\"a\u{fffd}\""), "{}", p.message);
    }

    #[test]
    fn a_fence_its_container_closed_is_seen() {
        for tail in ["> ```js\n> 1 + 1\n```\n", "- ```js\n  1 + 1\n```\n"] {
            let p = detect(&log(tail)).unwrap_or_else(|| panic!("{tail:?}"));
            assert_eq!(p.kind, ProblemKind::ClosedByContainer, "{tail:?}");
        }
    }

    #[test]
    fn an_unclosed_fence_with_a_wrong_closing_line_is_seen() {
        for tail in [
            "````js\n1 + 1\n```\n",
            "```js\n1 + 1\n~~~\n",
            "```js\n1 + 1\n```js\n\nmore\n",
        ] {
            let p = detect(&log(tail)).unwrap_or_else(|| panic!("{tail:?}"));
            assert_eq!(p.kind, ProblemKind::UnclosedFence, "{tail:?}");
        }
    }

    #[test]
    fn the_key_ignores_unrelated_edits() {
        let a = detect(&log("````js\n1\n```\n")).unwrap();
        let b = detect(&format!(
            "extra history\n\n{}",
            log("````js\n1\n```\n\nmore\n")
        ))
        .unwrap();
        assert_eq!(a.key, b.key);
        let bad = char::from_u32(ESCAPE_BASE + 0xfe).unwrap();
        let a = detect(&log(&format!("```js\n{bad}\n```\n"))).unwrap();
        let b = detect(&log(&format!("```js\n{bad}\n```\n\nmore prose\n"))).unwrap();
        assert_eq!(a.key, b.key);
    }
}
