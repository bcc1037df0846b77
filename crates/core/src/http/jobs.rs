//! Jobs delivered as same-origin scripts: `GET /-daebug-job/<id>/<variant>.js` serves the code
//! of a job the server handed out, wrapped as a function, so that the shim never needs `eval`
//! (pages with a CSP without 'unsafe-eval' run jobs) and every engine reports real
//! `file:line:col` for the job's code (JavaScriptCore ignores `//# sourceURL` on eval'd code).
//!
//! The shim cannot test-parse the code without eval, so it asks for candidate readings in turn
//! (see `bodyCandidates` in shim.js) and the browser's parser picks the first that parses. The
//! variant names the reading and the wrapping:
//!
//! `<kind>-<mode>.js`: kind `c` (classic script, calls `__daebug.job(document.currentScript, fn)`)
//! or `m` (module, `export default fn`), optionally followed by `n` (point `node:test` and
//! `node:assert` imports at the server's modules: no import map applies); mode `e` (one
//! expression), `s` (statements) or `l<p>-<t>` (statements, returning the expression between
//! UTF-16 offsets `p` and `t`).

/// One reading of a job's code as an async function body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Expression,
    Statements,
    LastExpression { from: usize, to: usize },
}

/// A parsed `<variant>.js` file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub module: bool,
    pub map_node_imports: bool,
    pub mode: Mode,
}

/// Parse `c-e.js`, `mn-l12-40.js`, ….
pub fn parse_variant(file: &str) -> Option<Variant> {
    let stem = file.strip_suffix(".js")?;
    let (kind, mode) = stem.split_once('-')?;
    let (module, map_node_imports) = match kind {
        "c" => (false, false),
        "cn" => (false, true),
        "m" => (true, false),
        "mn" => (true, true),
        _ => return None,
    };
    let mode = match mode {
        "e" => Mode::Expression,
        "s" => Mode::Statements,
        _ => {
            let (from, to) = mode.strip_prefix('l')?.split_once('-')?;
            let (from, to) = (from.parse().ok()?, to.parse().ok()?);
            if from > to {
                return None;
            }
            Mode::LastExpression { from, to }
        }
    };
    Some(Variant {
        module,
        map_node_imports,
        mode,
    })
}

/// The function body for `mode`, built exactly as the shim's `assembleBody`. Offsets are UTF-16
/// code units (the shim's string indices); `None` when they are out of range.
pub fn body(code: &str, mode: Mode) -> Option<String> {
    match mode {
        Mode::Expression => Some(format!("return ({code}\n)")),
        Mode::Statements => Some(code.to_string()),
        Mode::LastExpression { from, to } => {
            let units: Vec<u16> = code.encode_utf16().collect();
            if to > units.len() {
                return None;
            }
            let part = |a: usize, b: usize| String::from_utf16(&units[a..b]).ok();
            Some(format!(
                "{};return ({}\n);{}",
                part(0, from)?,
                part(from, to)?,
                part(to, units.len())?
            ))
        }
    }
}

/// The script text for a job. The body starts on the first line, so the agent's line numbers
/// hold. A classic script hands its function to the shim with its own element as the key.
pub fn script(code: &str, variant: &Variant) -> Option<String> {
    // Offsets are the shim's, into the code as sent: map imports after assembling.
    let body = body(code, variant.mode)?;
    let body = if variant.map_node_imports {
        map_node_imports(&body)
    } else {
        body
    };
    Some(if variant.module {
        format!("export default async function () {{{body}\n}}\n")
    } else {
        format!("__daebug.job(document.currentScript, async function () {{{body}\n}});\n")
    })
}

/// `import('node:test')`, `import("node:assert")`, `import('node:assert/strict')` pointed at the
/// server's modules, for realms where no import map applies. The replacement keeps the quote
/// and changes nothing else, so positions after it shift but lines do not.
pub fn map_node_imports(code: &str) -> String {
    const SPECIFIERS: [(&str, &str); 3] = [
        ("node:assert/strict", "/-daebug-node:assert.js?strict"),
        ("node:assert", "/-daebug-node:assert.js"),
        ("node:test", "/-daebug-node:test.js"),
    ];
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("import") {
        let before_ok = rest[..at]
            .chars()
            .next_back()
            .or_else(|| out.chars().next_back())
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '.'));
        out.push_str(&rest[..at]);
        let after = &rest[at + "import".len()..];
        let trimmed = after.trim_start();
        let mut replaced = false;
        if before_ok {
            if let Some(args) = trimmed.strip_prefix('(') {
                let args_trim = args.trim_start();
                if let Some(quote) = args_trim.chars().next().filter(|q| *q == '\'' || *q == '"') {
                    let inner = &args_trim[1..];
                    for (spec, path) in SPECIFIERS {
                        if inner.starts_with(spec) && inner[spec.len()..].starts_with(quote) {
                            let ws1 = &after[..after.len() - trimmed.len()];
                            let ws2 = &args[..args.len() - args_trim.len()];
                            out.push_str(&format!("import{ws1}({ws2}{quote}{path}{quote}"));
                            rest = &inner[spec.len() + 1..];
                            replaced = true;
                            break;
                        }
                    }
                }
            }
        }
        if !replaced {
            out.push_str("import");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants() {
        assert_eq!(
            parse_variant("c-e.js"),
            Some(Variant {
                module: false,
                map_node_imports: false,
                mode: Mode::Expression
            })
        );
        assert_eq!(
            parse_variant("mn-l3-10.js").map(|v| (v.module, v.map_node_imports, v.mode)),
            Some((true, true, Mode::LastExpression { from: 3, to: 10 }))
        );
        for bad in [
            "x-e.js",
            "c-q.js",
            "c-l5-2.js",
            "c-l5.js",
            "c-e",
            "ce.js",
            "c-l-1-2.js",
        ] {
            assert_eq!(parse_variant(bad), None, "{bad}");
        }
    }

    #[test]
    fn bodies_match_the_shim() {
        assert_eq!(body("1 + 1", Mode::Expression).unwrap(), "return (1 + 1\n)");
        let code = "let x = 5; x * 2;";
        assert_eq!(
            body(code, Mode::LastExpression { from: 10, to: 16 }).unwrap(),
            "let x = 5;;return ( x * 2\n);;"
        );
        // UTF-16 offsets: the emoji is two units.
        let code = "'😀'; 7";
        assert_eq!(
            body(code, Mode::LastExpression { from: 5, to: 7 }).unwrap(),
            "'😀';;return ( 7\n);"
        );
        assert_eq!(body("x", Mode::LastExpression { from: 0, to: 9 }), None);
        // Offsets inside a surrogate pair are refused, not mangled.
        assert_eq!(body("'😀'", Mode::LastExpression { from: 2, to: 4 }), None);
    }

    #[test]
    fn scripts() {
        let v = parse_variant("c-e.js").unwrap();
        assert_eq!(
            script("42", &v).unwrap(),
            "__daebug.job(document.currentScript, async function () {return (42\n)\n});\n"
        );
        let v = parse_variant("m-s.js").unwrap();
        assert_eq!(
            script("x", &v).unwrap(),
            "export default async function () {x\n}\n"
        );
        // Offsets refer to the code as sent, before node: imports are mapped.
        let v = parse_variant("mn-l38-50.js").unwrap();
        let code = "const a = await import('node:assert'); typeof a.ok";
        assert_eq!(
            script(code, &v).unwrap(),
            "export default async function () {const a = await import('/-daebug-node:assert.js');;return ( typeof a.ok\n);\n}\n"
        );
    }

    #[test]
    fn node_imports() {
        assert_eq!(
            map_node_imports("await import('node:test'); import ( \"node:assert/strict\" ); import('node:assert')"),
            "await import('/-daebug-node:test.js'); import ( \"/-daebug-node:assert.js?strict\" ); import('/-daebug-node:assert.js')"
        );
        for same in [
            "reimport('node:test')",
            "x.import('node:test')",
            "import('node:tests')",
            "import('node:test\")",
            "important",
            "import",
        ] {
            assert_eq!(map_node_imports(same), same);
        }
    }
}
