//! Reading a realm log: where the fenced code blocks are, which lines are the server's own
//! headers, where the footer sits. Code ranges come from pulldown-cmark so that header
//! look-alikes inside code are never mistaken for structure; everything else is line-based.

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use std::ops::Range;

/// The prompt line that identifies the footer (the append anchor).
pub const FOOTER_PROMPT: &str =
    "> Append your JavaScript snippet below to execute against this page.";
/// The rule line of the footer: 70 dashes.
pub const FOOTER_RULE: &str =
    "----------------------------------------------------------------------";
/// The start of the prompt line; enough to recognise a footer the agent reflowed.
const FOOTER_MARK: &str = "> Append your JavaScript snippet below";

/// One code block of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// Bytes of the whole block, from the opening fence to the end of the closing fence line
    /// (newline included when there is one).
    pub range: Range<usize>,
    /// The info string (`js`, `JSON console.log`, …); empty for indented blocks.
    pub info: String,
    /// The code inside the fences.
    pub code: String,
    /// Whether a closing fence was found (an unclosed fence runs to the end of its container).
    pub closed: bool,
    /// Indented (4-space) code block rather than a fenced one.
    pub indented: bool,
    /// Inside a blockquote or list item (such a block also ends where its container ends).
    pub in_container: bool,
}

impl Fence {
    /// A block the server runs: fenced, closed, and info string empty, `js` or `javascript`
    /// (any case), optionally followed by more words.
    pub fn is_runnable(&self) -> bool {
        if self.indented || !self.closed {
            return false;
        }
        let lang = self.info.split_whitespace().next().unwrap_or("");
        lang.is_empty()
            || lang.eq_ignore_ascii_case("js")
            || lang.eq_ignore_ascii_case("javascript")
    }

    /// Would this block be runnable once closed?
    pub fn is_js_draft(&self) -> bool {
        let lang = self.info.split_whitespace().next().unwrap_or("");
        !self.indented
            && (lang.is_empty()
                || lang.eq_ignore_ascii_case("js")
                || lang.eq_ignore_ascii_case("javascript"))
    }
}

/// One line of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character, before the line break.
    pub end: usize,
    /// Byte offset just past the line break (== `end` on a last line without one).
    pub next: usize,
}

/// A parsed view of a log. Cheap to build; build a fresh one for every edit.
#[derive(Debug)]
pub struct Doc<'a> {
    pub text: &'a str,
    pub lines: Vec<Line>,
    pub fences: Vec<Fence>,
}

impl<'a> Doc<'a> {
    pub fn parse(text: &'a str) -> Doc<'a> {
        Doc {
            text,
            lines: split_lines(text),
            fences: find_fences(text),
        }
    }

    pub fn line_text(&self, line: &Line) -> &'a str {
        &self.text[line.start..line.end]
    }

    /// The fence containing byte `pos`, if any. (Fences are in document order and do not
    /// overlap: a binary search.)
    pub fn fence_at(&self, pos: usize) -> Option<&Fence> {
        let i = self.fences.partition_point(|f| f.range.start <= pos);
        self.fences[..i].last().filter(|f| f.range.contains(&pos))
    }

    /// The first fence that starts within `start..=end`, if any.
    pub fn fence_starting_in(&self, start: usize, end: usize) -> Option<&Fence> {
        let i = self.fences.partition_point(|f| f.range.start < start);
        self.fences.get(i).filter(|f| f.range.start <= end)
    }

    /// Is line `i` prose or structure (not inside any code block)?
    pub fn is_outside_code(&self, i: usize) -> bool {
        self.fence_at(self.lines[i].start).is_none()
    }

    /// Index of the line starting at byte `pos`, or the line containing it.
    pub fn line_index_at(&self, pos: usize) -> usize {
        match self.lines.binary_search_by(|l| l.start.cmp(&pos)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// The footer, if the file has one: the last prompt line outside code.
    pub fn footer(&self) -> Option<Footer> {
        let prompt = (0..self.lines.len()).rev().find(|&i| {
            self.line_text(&self.lines[i]).starts_with(FOOTER_MARK) && self.is_outside_code(i)
        })?;
        let mut start_line = prompt;
        if prompt > 0 {
            // The footer's rule, possibly mangled; a short `---` is an ordinary thematic break
            // (the guide ends with one) and not the footer's.
            let above = self.line_text(&self.lines[prompt - 1]).trim();
            if above.len() >= 10
                && above.chars().all(|c| c == '-')
                && self.is_outside_code(prompt - 1)
            {
                start_line = prompt - 1;
            }
        }
        let mut end = self.lines[prompt].next;
        // The empty line after the prompt belongs to the footer.
        if let Some(next) = self.lines.get(prompt + 1) {
            if self.line_text(next).trim().is_empty() {
                end = next.next;
            }
        }
        Some(Footer {
            start: self.lines[start_line].start,
            end,
            well_formed: start_line + 1 == prompt
                && self.line_text(&self.lines[start_line]) == FOOTER_RULE
                && self.line_text(&self.lines[prompt]) == FOOTER_PROMPT
                // Text appended to the file must start on a line of its own.
                && self.lines[prompt].next > self.lines[prompt].end,
        })
    }

    /// Does one of the first `n` lines (outside code) hold a level-1 heading?
    pub fn has_title_within(&self, n: usize) -> bool {
        self.lines.iter().take(n).enumerate().any(|(i, l)| {
            let t = self.line_text(l).trim_start_matches('\u{feff}');
            (t.starts_with("# ") || t == "#") && self.is_outside_code(i)
        })
    }
}

/// Where the footer sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    pub start: usize,
    pub end: usize,
    /// Exactly the canonical two lines.
    pub well_formed: bool,
}

fn split_lines(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    while start < bytes.len() {
        let nl = text[start..].find('\n').map(|i| start + i);
        let (end, next) = match nl {
            Some(nl) => {
                let end = if nl > start && bytes[nl - 1] == b'\r' {
                    nl - 1
                } else {
                    nl
                };
                (end, nl + 1)
            }
            None => (bytes.len(), bytes.len()),
        };
        lines.push(Line { start, end, next });
        start = next;
    }
    lines
}

fn find_fences(text: &str) -> Vec<Fence> {
    let mut fences = Vec::new();
    let mut current: Option<Fence> = None;
    let mut containers = 0usize;
    for (event, range) in Parser::new(text).into_offset_iter() {
        match event {
            Event::Start(Tag::BlockQuote(_) | Tag::Item) => containers += 1,
            Event::End(TagEnd::BlockQuote(_) | TagEnd::Item) => {
                containers = containers.saturating_sub(1)
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let (info, indented) = match kind {
                    CodeBlockKind::Fenced(info) => (info.to_string(), false),
                    CodeBlockKind::Indented => (String::new(), true),
                };
                current = Some(Fence {
                    range: range.clone(),
                    info,
                    code: String::new(),
                    closed: false,
                    indented,
                    in_container: containers > 0,
                });
            }
            Event::Text(t) => {
                if let Some(f) = current.as_mut() {
                    f.code.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(mut f) = current.take() {
                    f.range = extend_to_line_end(text, f.range.start..range.end.max(f.range.end));
                    f.closed = f.indented || has_closing_fence(text, &f.range);
                    fences.push(f);
                }
            }
            _ => {}
        }
    }
    fences
}

fn extend_to_line_end(text: &str, range: Range<usize>) -> Range<usize> {
    let mut end = range.end;
    if end > 0 && text.as_bytes().get(end - 1) == Some(&b'\n') {
        return range.start..end;
    }
    match text[end..].find('\n') {
        Some(i) if text[end..end + i].trim().is_empty() => end += i + 1,
        None if text[end..].trim().is_empty() => end = text.len(),
        _ => {}
    }
    range.start..end
}

/// Does the block's last line close the fence its first line opened?
fn has_closing_fence(text: &str, range: &Range<usize>) -> bool {
    let block = &text[range.clone()];
    let first = block.lines().next().unwrap_or("");
    let opener = first.trim_start_matches([' ', '>', '\t']);
    let ch = match opener.chars().next() {
        Some(c @ ('`' | '~')) => c,
        _ => return false,
    };
    let width = opener.chars().take_while(|&c| c == ch).count();
    let mut lines = block.lines();
    lines.next();
    let Some(last) = lines.last() else {
        return false;
    };
    let last = last.trim_start_matches([' ', '>', '\t']).trim_end();
    last.len() >= width && last.chars().all(|c| c == ch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_closed_and_unclosed_fences() {
        let text = "a\n\n```js\n1+1\n```\n\ntext\n\n```js\nunfinished\n";
        let doc = Doc::parse(text);
        assert_eq!(doc.fences.len(), 2);
        assert!(doc.fences[0].closed && doc.fences[0].is_runnable());
        assert_eq!(doc.fences[0].code, "1+1\n");
        assert_eq!(&text[doc.fences[0].range.clone()], "```js\n1+1\n```\n");
        assert!(!doc.fences[1].closed);
        assert!(!doc.fences[1].is_runnable());
    }

    #[test]
    fn info_strings() {
        for (info, runnable) in [
            ("", true),
            ("js", true),
            ("JavaScript", true),
            ("JS title", true),
            ("ts", false),
            ("json", false),
        ] {
            let text = format!("```{info}\nx\n```\n");
            assert_eq!(
                Doc::parse(&text).fences[0].is_runnable(),
                runnable,
                "{info}"
            );
        }
    }

    #[test]
    fn longer_fences_and_tildes() {
        let text = "````js\n```\ninner\n```\n````\n~~~\ncode\n~~~\n";
        let doc = Doc::parse(text);
        assert_eq!(doc.fences.len(), 2);
        assert!(doc.fences.iter().all(|f| f.closed));
        assert_eq!(doc.fences[0].code, "```\ninner\n```\n");
    }

    #[test]
    fn footer_inside_code_is_not_the_footer() {
        let text = format!("x\n\n{FOOTER_RULE}\n{FOOTER_PROMPT}\n\n```\n{FOOTER_PROMPT}\n```\n");
        let doc = Doc::parse(&text);
        let f = doc.footer().unwrap();
        assert_eq!(f.start, 3);
        assert!(f.well_formed);
        assert_eq!(&text[f.end..], format!("```\n{FOOTER_PROMPT}\n```\n"));
    }

    #[test]
    fn crlf_lines() {
        let doc = Doc::parse("a\r\nb");
        assert_eq!(doc.lines.len(), 2);
        assert_eq!(doc.line_text(&doc.lines[0]), "a");
        assert_eq!(doc.line_text(&doc.lines[1]), "b");
    }
}
