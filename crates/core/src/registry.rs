//! The registry file `daebug.md` (SPEC 4): what it says while the server runs, what it says
//! after shutdown, and how an agent asks the server to stop. Pure rendering; the engine keeps
//! the realm state and decides when to write.
//!
//! Realm names and page URLs come from the network: every one is written through
//! [`names::escape_inline`], so whatever a client sends stays text inside its own line and can
//! add no link, heading, fence or `%%SHUTDOWN%%` line (SPEC 2, 8).

use crate::log::parse::Doc;
use crate::names;

/// What a realm is doing, as shown in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RealmState {
    Live,
    Executing { queued: usize },
    Queued(usize),
    Gone { since: String },
}

impl std::fmt::Display for RealmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RealmState::Live => write!(f, "live"),
            RealmState::Executing { queued: 0 } => write!(f, "executing"),
            RealmState::Executing { queued } => write!(f, "executing, queued {queued}"),
            RealmState::Queued(n) => write!(f, "queued {n}"),
            RealmState::Gone { since } => write!(f, "gone since {since}"),
        }
    }
}

/// One line of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// Log path relative to the root, with `/` separators (`daebug/7-zen-1201-03.md`).
    pub log: String,
    /// `http://localhost:8342/` for pages, `worker of 7-zen-1201-03` for workers.
    pub context: String,
    /// Time of the realm's latest activity, `HH:MM:SS`.
    pub at: String,
    pub state: RealmState,
}

/// The registry while the server runs. `entries` must already be newest activity first.
pub fn render_live(started_at: &str, entries: &[Entry]) -> String {
    let mut out = format!(
        "# 👾 Daebug REPL — started {started_at}\n\
         > Live pages and workers you can drive. Open a realm's log and append a JS block to run it there.\n\n\
         ## Live realms\n\n"
    );
    if entries.is_empty() {
        out.push_str(
            "_No realm has connected yet: open a page served by this server in a browser._\n",
        );
    }
    for e in entries {
        out.push_str(&format!(
            "* [{}]({}) ({}) at {}: {}\n",
            names::escape_inline(&e.name),
            names::escape_inline(&e.log),
            names::escape_inline(&e.context),
            e.at,
            e.state
        ));
    }
    out.push_str(
        "\n## How to use\n\n\
         1. Pick a realm above and open its log (`daebug/<realm>.md`).\n\
         2. Append a fenced ```js block at the very end, below the footer line. Several blocks in one append run in order.\n\
         3. The server writes `executing (Ns)` under your block at once, then replaces it with the result, console output and errors, with timing.\n\
         4. Code runs as the body of an async function in the page (or its web worker): `await` works, the last expression is the result, `globalThis` keeps state.\n\
         5. To stop the server, write %%SHUTDOWN%% on a line of its own in this file.\n\
         6. From a shell: `daebug run [--realm NAME] 'CODE'` appends the request for you, waits and prints the reply (`daebug realms` lists realms; MCP: `daebug mcp`).\n",
    );
    out
}

/// The registry after the server stopped.
pub fn render_down(started_at: &str, stopped_at: &str, restart: &str) -> String {
    format!(
        "# 👾 Daebug REPL — stopped at {stopped_at}\n\
         > The server that started at {started_at} is not running; realm logs are kept in `daebug/` but nothing runs them now.\n\n\
         To start it again, run:\n\n\
         ```sh\n{restart}\n```\n"
    )
}

/// A registry line read back (for `daebug --test` and other tools).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEntry {
    pub name: String,
    pub log: String,
    pub context: String,
    pub state: String,
}

/// The realm lines of a registry, as written by [`render_live`].
pub fn parse_entries(text: &str) -> Vec<ParsedEntry> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("* [")?;
            let (name, rest) = rest.split_once("](")?;
            let (log, rest) = rest.split_once(") (")?;
            let (context, rest) = rest.rsplit_once(") at ")?;
            let (_, state) = rest.split_once(": ")?;
            Some(ParsedEntry {
                name: names::unescape_inline(name),
                log: names::unescape_inline(log).replace("%20", " "),
                context: names::unescape_inline(context),
                state: state.trim().to_string(),
            })
        })
        .collect()
}

/// Does the registry hold a line that is exactly `%%SHUTDOWN%%`, outside fenced blocks?
pub fn has_shutdown_line(text: &str) -> bool {
    let doc = Doc::parse(text);
    (0..doc.lines.len())
        .any(|i| doc.line_text(&doc.lines[i]).trim() == "%%SHUTDOWN%%" && doc.is_outside_code(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_lines() {
        let text = render_live(
            "19:14:49",
            &[Entry {
                name: "7-zen-1201-03".into(),
                log: "daebug/7-zen-1201-03.md".into(),
                context: "http://localhost:8342/".into(),
                at: "19:15:02".into(),
                state: RealmState::Live,
            }],
        );
        assert!(text.starts_with("# 👾 Daebug REPL — started 19:14:49\n"));
        assert!(text.contains("* [7-zen-1201-03](daebug/7-zen-1201-03.md) (http://localhost:8342/) at 19:15:02: live\n"));
        assert!(text.contains("%%SHUTDOWN%%"));
        let parsed = parse_entries(&text);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].name, "7-zen-1201-03");
        assert_eq!(parsed[0].log, "daebug/7-zen-1201-03.md");
        assert_eq!(parsed[0].context, "http://localhost:8342/");
        assert_eq!(parsed[0].state, "live");
    }

    #[test]
    fn names_and_urls_cannot_add_links_headings_fences_or_shutdown() {
        let evil_name = "evil](http://evil.example/) [x";
        let evil_url =
            "http://localhost/) [click](http://evil.example/)\n%%SHUTDOWN%%\n# Owned\n```";
        let entry = |name: &str, context: &str| Entry {
            name: name.into(),
            log: "daebug/evil-http-evil-example-x.md".into(),
            context: context.into(),
            at: "19:15:02".into(),
            state: RealmState::Live,
        };
        let text = render_live(
            "19:14:49",
            &[
                entry(evil_name, evil_url),
                entry("ok", &format!("worker of {evil_name}")),
            ],
        );
        assert!(!has_shutdown_line(&text), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("* [")).count(),
            2,
            "one line per realm: {text}"
        );
        assert!(!lines
            .iter()
            .any(|l| l.starts_with('#') && l.contains("Owned")));
        assert!(!lines.iter().any(|l| l.starts_with("```")));
        // The only links are the two log links, both to the log files.
        let links: Vec<String> = markdown_links(&text);
        assert_eq!(
            links,
            [
                "daebug/evil-http-evil-example-x.md",
                "daebug/evil-http-evil-example-x.md"
            ],
            "{text}"
        );
        let parsed = parse_entries(&text);
        assert_eq!(parsed[0].name, evil_name);
        assert_eq!(parsed[1].context, format!("worker of {evil_name}"));
    }

    /// Link destinations as a CommonMark parser sees them.
    fn markdown_links(text: &str) -> Vec<String> {
        use pulldown_cmark::{Event, Parser, Tag};
        Parser::new(text)
            .filter_map(|e| match e {
                Event::Start(Tag::Link { dest_url, .. }) => Some(dest_url.to_string()),
                Event::Start(Tag::Image { dest_url, .. }) => Some(dest_url.to_string()),
                Event::Html(h) | Event::InlineHtml(h) => Some(format!("html: {h}")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn shutdown_line_only_outside_code() {
        assert!(has_shutdown_line("x\n%%SHUTDOWN%%\n"));
        assert!(!has_shutdown_line("write %%SHUTDOWN%% on a line\n"));
        assert!(!has_shutdown_line("```\n%%SHUTDOWN%%\n```\n"));
        assert!(!has_shutdown_line(&render_live("1", &[])));
    }

    #[test]
    fn states() {
        assert_eq!(RealmState::Queued(2).to_string(), "queued 2");
        assert_eq!(
            RealmState::Executing { queued: 1 }.to_string(),
            "executing, queued 1"
        );
        assert_eq!(
            RealmState::Gone {
                since: "10:00:00".into()
            }
            .to_string(),
            "gone since 10:00:00"
        );
    }
}
