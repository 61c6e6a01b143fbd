//! Architect's `.arc` format, read into the shared [`Node`] tree.
//!
//! The format is line based: `#` starts a comment (outside quotes), `@pragma` lines
//! start at column 1, entries sit below a pragma, and lines indented deeper than an
//! entry are its properties (`key value…`, Architect's "map" form). Values are bare
//! words (their type is decided by the property that reads them), `"quoted strings"`,
//! or several words, which become a list — or, for properties that take free text such
//! as `rate(1 day)` or a JSON pattern, the exact text they span.
//!
//! Each pragma is turned into the same shape `sandbox.json` uses for it (see
//! `validate`), so the rules about what is allowed live in one place.

use std::ops::Range;

use crate::error::{DResult, Diag};
use crate::suggest;
use crate::tree::{Key, Kind, Node};

/// Pragmas the sandbox runs, in the order the docs list them.
pub(crate) const PRAGMAS: &[&str] = &[
    "app",
    "http",
    "events",
    "queues",
    "scheduled",
    "streams",
    "bus",
    "static",
    "env",
    "aws",
];

/// Architect pragmas that exist but that the sandbox does not emulate.
const UNSUPPORTED: &[&str] = &[
    "tables",
    "tables-indexes",
    "tables-streams",
    "indexes",
    "ws",
    "proxy",
    "plugins",
    "macros",
    "views",
    "shared",
    "cdn",
    "architect",
    "begin",
    "search",
    "sandbox",
    "sandbox-startup",
    "customer-domains",
];

#[derive(Debug, Clone)]
struct Word {
    text: String,
    span: Range<usize>,
    quoted: bool,
}

#[derive(Debug)]
struct Entry {
    words: Vec<Word>,
    /// Each property line's words; the first word is the key.
    props: Vec<Vec<Word>>,
    span: Range<usize>,
}

#[derive(Debug)]
struct Section {
    name: Word,
    entries: Vec<Entry>,
}

pub(crate) fn parse(source: &str) -> DResult<Node> {
    let sections = structure(source)?;
    let mut root: Vec<(Key, Node)> = Vec::new();
    let mut seen: Vec<&Section> = Vec::new();
    for section in &sections {
        let pragma = section.name.text.as_str();
        if let Some(first) = seen.iter().find(|s| s.name.text == pragma) {
            return Err(Diag::new(
                section.name.span.start - 1..section.name.span.end,
                format!("`@{pragma}` appears twice"),
                "second `@".to_string() + pragma + "`",
            )
            .related(first.name.span.start - 1..first.name.span.end, "first here")
            .help(format!("put every `@{pragma}` entry under one `@{pragma}`")));
        }
        seen.push(section);
        let key = Key {
            name: pragma.to_string(),
            span: section.name.span.clone(),
        };
        let node = match pragma {
            "app" => app(section)?,
            "http" => http(section)?,
            "events" | "queues" | "streams" => named_entries(section, None)?,
            "scheduled" => named_entries(section, Some("expression"))?,
            "bus" => bus(section)?,
            "static" | "env" | "aws" => key_values(section)?,
            _ => return Err(unknown_pragma(&section.name)),
        };
        // `@aws` holds deploy settings (region, profile, runtime) with no local meaning.
        if pragma != "aws" {
            root.push((key, node));
        }
    }
    Ok(Node {
        kind: Kind::Obj(root),
        span: 0..0,
    })
}

fn unknown_pragma(name: &Word) -> Diag {
    let pragma = &name.text;
    let span = name.span.start.saturating_sub(1)..name.span.end;
    if UNSUPPORTED.contains(&pragma.as_str()) {
        return Diag::new(
            span,
            format!("`@{pragma}` is not supported by the sandbox"),
            "Architect pragma the sandbox does not emulate",
        )
        .help(format!(
            "supported pragmas: {}",
            PRAGMAS
                .iter()
                .map(|p| format!("@{p}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Diag::new(
        span,
        format!("unknown pragma `@{pragma}`"),
        "not a known pragma",
    )
    .help(
        suggest::did_you_mean(pragma, PRAGMAS.iter().copied(), "@").unwrap_or_else(|| {
            format!(
                "known pragmas: {}",
                PRAGMAS
                    .iter()
                    .map(|p| format!("@{p}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }),
    )
}

/// Split the file into pragmas, entries and property lines.
fn structure(source: &str) -> DResult<Vec<Section>> {
    let mut sections: Vec<Section> = Vec::new();
    let mut entry_indent: Option<usize> = None;
    let mut prop_indent: Option<usize> = None;
    let mut line_start = 0;
    for raw_line in source.split_inclusive('\n') {
        let start = line_start;
        line_start += raw_line.len();
        let mut line = raw_line.trim_end_matches(['\n', '\r']);
        let mut start = start;
        if start == 0 {
            if let Some(rest) = line.strip_prefix('\u{feff}') {
                line = rest;
                start = '\u{feff}'.len_utf8();
            }
        }
        let (indent, words) = lex_line(line, start)?;
        let Some(first) = words.first() else { continue };
        if indent == 0 && first.text.starts_with('@') && !first.quoted {
            let name = &first.text[1..];
            if let Some(extra) = words.get(1) {
                return Err(Diag::new(
                    extra.span.clone(),
                    format!("unexpected `{}` after `@{name}`", extra.text),
                    "entries go on the lines below the pragma",
                )
                .help(format!("write\n@{name}\n{}", extra.text)));
            }
            if name.is_empty() {
                return Err(Diag::new(
                    first.span.clone(),
                    "missing pragma name",
                    "expected e.g. `@http`",
                ));
            }
            sections.push(Section {
                name: Word {
                    text: name.to_string(),
                    span: first.span.start + 1..first.span.end,
                    quoted: false,
                },
                entries: Vec::new(),
            });
            entry_indent = None;
            prop_indent = None;
            continue;
        }
        let line_span = first.span.start..words.last().map_or(first.span.end, |w| w.span.end);
        let Some(section) = sections.last_mut() else {
            return Err(Diag::new(
                line_span,
                "this line is not under any pragma",
                "expected a pragma first",
            )
            .help("a .arc file starts with\n@app\nyour-app-name"));
        };
        if first.text.starts_with('@') && !first.quoted {
            return Err(Diag::new(
                first.span.clone(),
                "pragmas must start at column 1",
                "indented pragma",
            )
            .help(format!("remove the spaces before `{}`", first.text)));
        }
        let level = *entry_indent.get_or_insert(indent);
        if indent == level {
            section.entries.push(Entry {
                words,
                props: Vec::new(),
                span: line_span,
            });
            prop_indent = None;
        } else if indent < level {
            return Err(Diag::new(
                line_span,
                "inconsistent indentation",
                "less indented than the entries above",
            )
            .help(format!(
                "indent entries under `@{}` by {level} spaces, like the first one",
                section.name.text
            )));
        } else {
            let Some(entry) = section.entries.last_mut() else {
                return Err(Diag::new(
                    line_span,
                    "property without an entry",
                    "no entry above",
                ));
            };
            let expected = *prop_indent.get_or_insert(indent);
            if indent != expected {
                return Err(Diag::new(
                    line_span,
                    "inconsistent indentation",
                    format!("expected {expected} spaces like the property above"),
                )
                .help("properties sit one level below their entry, all at the same indentation"));
            }
            entry.props.push(words);
        }
    }
    Ok(sections)
}

/// Words of one line (comments removed) and its indentation in spaces.
fn lex_line(line: &str, offset: usize) -> DResult<(usize, Vec<Word>)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let mut words = Vec::new();
    let bytes = line.as_bytes();
    let mut i = indent;
    while i < bytes.len() {
        match bytes[i] {
            b' ' => i += 1,
            b'\t' => {
                let rest = line[i..].trim_start();
                if words.is_empty() && !rest.is_empty() && !rest.starts_with('#') {
                    return Err(Diag::new(
                        offset + i..offset + i + 1,
                        "tab used for indentation",
                        "tab",
                    )
                    .help("indent with spaces"));
                }
                i += 1;
            }
            b'#' => break,
            _ => {
                let start = i;
                let mut quote: Option<u8> = None;
                while i < bytes.len() {
                    let b = bytes[i];
                    match quote {
                        Some(q) if b == q => quote = None,
                        Some(_) => {}
                        // An apostrophe inside a word (`it's`) is not a quote.
                        None if b == b'"' || (b == b'\'' && i == start) => quote = Some(b),
                        None if b == b' ' || b == b'\t' || b == b'#' => break,
                        None => {}
                    }
                    i += 1;
                }
                if quote.is_some() {
                    return Err(Diag::new(
                        offset + start..offset + i,
                        "unterminated quote",
                        "no closing quote",
                    )
                    .help("close the string with the same quote it starts with"));
                }
                let raw = &line[start..i];
                let quoted = raw.len() >= 2
                    && (raw.starts_with('"') && raw.ends_with('"')
                        || raw.starts_with('\'') && raw.ends_with('\''))
                    && !raw[1..raw.len() - 1].contains(&raw[..1]);
                let text = if quoted { &raw[1..raw.len() - 1] } else { raw };
                words.push(Word {
                    text: text.to_string(),
                    span: offset + start..offset + i,
                    quoted,
                });
            }
        }
    }
    Ok((indent, words))
}

fn word_node(word: &Word) -> Node {
    Node {
        kind: if word.quoted {
            Kind::Str(word.text.clone())
        } else {
            Kind::Word(word.text.clone())
        },
        span: word.span.clone(),
    }
}

/// One word, or a [`Kind::Words`] spanning several.
fn words_node(words: &[Word]) -> Option<Node> {
    match words {
        [] => None,
        [one] => Some(word_node(one)),
        [first, .., last] => Some(Node {
            kind: Kind::Words(words.iter().map(word_node).collect()),
            span: first.span.start..last.span.end,
        }),
    }
}

fn key_of(word: &Word) -> Key {
    Key {
        name: word.text.clone(),
        span: word.span.clone(),
    }
}

/// An entry's property lines as object entries, refusing repeats and empty values.
fn props_of(entry: &Entry, into: &mut Vec<(Key, Node)>) -> DResult<()> {
    for line in &entry.props {
        let (key_word, rest) = line.split_first().expect("lexer never yields empty lines");
        let Some(value) = words_node(rest) else {
            return Err(Diag::new(
                key_word.span.clone(),
                format!("property `{}` has no value", key_word.text),
                "expected a value after this",
            )
            .help(format!("write `{} <value>`", key_word.text)));
        };
        if key_word.text == ALARM {
            push_alarm(into, key_of(key_word), value);
            continue;
        }
        push_unique(into, key_of(key_word), value)?;
    }
    Ok(())
}

/// The property that may be given on several lines (`alarm oldestAge 300`,
/// `alarm deadLetters 1`): its lines are collected into one list.
const ALARM: &str = "alarm";

fn push_alarm(into: &mut Vec<(Key, Node)>, key: Key, line: Node) {
    match into.iter_mut().find(|(k, _)| k.name == ALARM) {
        Some((
            _,
            Node {
                kind: Kind::Arr(lines),
                span,
            },
        )) => {
            span.end = line.span.end;
            lines.push(line);
        }
        _ => {
            let span = line.span.clone();
            into.push((
                key,
                Node {
                    kind: Kind::Arr(vec![line]),
                    span,
                },
            ));
        }
    }
}

fn push_unique(into: &mut Vec<(Key, Node)>, key: Key, value: Node) -> DResult<()> {
    if let Some((first, _)) = into.iter().find(|(k, _)| k.name == key.name) {
        return Err(Diag::new(
            key.span.clone(),
            format!("`{}` is given twice", key.name),
            "repeated here",
        )
        .related(first.span.clone(), "first given here"));
    }
    into.push((key, value));
    Ok(())
}

fn obj(entries: Vec<(Key, Node)>, span: Range<usize>) -> Node {
    Node {
        kind: Kind::Obj(entries),
        span,
    }
}

/// `@app` followed by one name.
fn app(section: &Section) -> DResult<Node> {
    let Some(entry) = section.entries.first() else {
        return Err(Diag::new(
            section.name.span.clone(),
            "`@app` has no name",
            "expected the app's name on the next line",
        )
        .help("write\n@app\nmy-app"));
    };
    if let Some(extra) = entry
        .words
        .get(1)
        .or_else(|| section.entries.get(1).map(|e| &e.words[0]))
    {
        return Err(Diag::new(
            extra.span.clone(),
            "`@app` takes a single name",
            "unexpected",
        )
        .help("an app has one name, e.g.\n@app\nmy-app"));
    }
    Ok(word_node(&entry.words[0]))
}

/// `@http`: `method /path` lines, each with optional properties, as an array of objects.
fn http(section: &Section) -> DResult<Node> {
    let mut routes = Vec::new();
    for entry in &section.entries {
        let mut fields = Vec::new();
        match entry.words.as_slice() {
            [path] if path.text.starts_with('/') => {
                return Err(Diag::new(
                    path.span.clone(),
                    "route has no method",
                    "expected `<method> <path>`",
                )
                .help(format!("write e.g. `get {}`", path.text)));
            }
            [method] => {
                return Err(Diag::new(
                    method.span.clone(),
                    "route has no path",
                    "expected `<method> <path>`",
                )
                .help(format!("write e.g. `{} /`", method.text)));
            }
            [method, path] => {
                fields.push((
                    Key {
                        name: "method".into(),
                        span: method.span.clone(),
                    },
                    word_node(method),
                ));
                fields.push((
                    Key {
                        name: "path".into(),
                        span: path.span.clone(),
                    },
                    word_node(path),
                ));
            }
            [_, _, extra, ..] => {
                return Err(Diag::new(extra.span.clone(), format!("unexpected `{}` after the route", extra.text), "expected end of line")
                    .help("route properties go on indented lines below the route, e.g.\nget /\n  timeout 10"));
            }
            [] => continue,
        }
        props_of(entry, &mut fields)?;
        routes.push(obj(fields, entry.span.clone()));
    }
    Ok(Node {
        kind: Kind::Arr(routes),
        span: section.name.span.clone(),
    })
}

/// Entries keyed by name, each an object of its properties. `inline` names the
/// property that words after the name fill (`daily rate(1 day)` → `expression`).
fn named_entries(section: &Section, inline: Option<&str>) -> DResult<Node> {
    let mut out = Vec::new();
    for entry in &section.entries {
        let (name, rest) = entry
            .words
            .split_first()
            .expect("lexer never yields empty lines");
        let mut fields = Vec::new();
        if let Some(value) = words_node(rest) {
            match inline {
                Some(field) => fields.push((
                    Key {
                        name: field.to_string(),
                        span: value.span.clone(),
                    },
                    value,
                )),
                None => {
                    return Err(Diag::new(
                        rest[0].span.clone(),
                        format!("unexpected `{}` after `{}`", rest[0].text, name.text),
                        "expected end of line",
                    )
                    .help(format!(
                        "properties go on indented lines below the name, e.g.\n{}\n  {} …",
                        name.text, rest[0].text
                    )));
                }
            }
        }
        props_of(entry, &mut fields)?;
        push_unique(&mut out, key_of(name), obj(fields, entry.span.clone()))?;
    }
    Ok(obj(out, section.name.span.clone()))
}

/// `KEY value…` lines (`@env`, `@static`). Architect's `@env` may instead group
/// variables under `testing`, `staging` and `production`; the sandbox is "testing".
fn key_values(section: &Section) -> DResult<Node> {
    let mut out = Vec::new();
    let grouped = section.name.text == "env" && section.entries.iter().any(|e| !e.props.is_empty());
    for entry in &section.entries {
        let (name, rest) = entry
            .words
            .split_first()
            .expect("lexer never yields empty lines");
        if grouped {
            if !["testing", "staging", "production"].contains(&name.text.as_str()) {
                return Err(Diag::new(
                    name.span.clone(),
                    format!("unexpected `{}` in a grouped `@env`", name.text),
                    "expected `testing`, `staging` or `production`",
                ));
            }
            if name.text == "testing" {
                props_of(entry, &mut out)?;
            }
            continue;
        }
        if let Some(line) = entry.props.first() {
            return Err(Diag::new(
                line[0].span.clone(),
                "unexpected indented line",
                "not a property here",
            ));
        }
        // `KEY=value` is accepted too, since that is how people write env files.
        if let (Some((k, v)), []) = (name.text.split_once('='), rest) {
            if !name.quoted {
                let k_end = name.span.start + k.len();
                let value = Node {
                    kind: Kind::Str(v.to_string()),
                    span: k_end + 1..name.span.end,
                };
                push_unique(
                    &mut out,
                    Key {
                        name: k.to_string(),
                        span: name.span.start..k_end,
                    },
                    value,
                )?;
                continue;
            }
        }
        let Some(value) = words_node(rest) else {
            return Err(Diag::new(
                name.span.clone(),
                format!("`{}` has no value", name.text),
                "expected a value after this",
            )
            .help(format!("write `{} <value>`", name.text)));
        };
        push_unique(&mut out, key_of(name), value)?;
    }
    Ok(obj(out, section.name.span.clone()))
}

/// `@bus`: each bus has repeatable `rule`, `target`, `archive` and `disable` lines,
/// gathered here into `{"rules": {…}, "archives": {…}}` (see `validate::bus`).
fn bus(section: &Section) -> DResult<Node> {
    let mut buses = Vec::new();
    for entry in &section.entries {
        let (name, rest) = entry
            .words
            .split_first()
            .expect("lexer never yields empty lines");
        if let Some(extra) = rest.first() {
            return Err(Diag::new(extra.span.clone(), format!("unexpected `{}` after the bus name", extra.text), "expected end of line")
                .help(format!("rules go on indented lines below the bus, e.g.\n{}\n  rule big-orders {{\"source\": [\"shop\"]}}", name.text)));
        }
        let mut rules: Vec<(Key, Vec<(Key, Node)>)> = Vec::new();
        let mut archives = Vec::new();
        // `remote <ARN>` / `endpoint <url>`: plain properties (see `validate::remote`).
        let mut plain = Vec::new();
        // Rules first, so `target` lines may come before or after their rule.
        for line in &entry.props {
            if line[0].text == "rule" {
                let [_, rule, pattern @ ..] = line.as_slice() else {
                    return Err(missing_rule_name(
                        &line[0],
                        "rule <name> <event pattern JSON>",
                    ));
                };
                let Some(pattern) = words_node(pattern) else {
                    return Err(Diag::new(
                        rule.span.clone(),
                        format!("rule `{}` has no event pattern", rule.text),
                        "expected a JSON pattern after the name",
                    )
                    .help(format!(
                        "write e.g. `rule {} {{\"source\": [\"shop\"]}}`",
                        rule.text
                    )));
                };
                if let Some((first, _)) = rules.iter().find(|(k, _)| k.name == rule.text) {
                    return Err(Diag::new(
                        rule.span.clone(),
                        format!("rule `{}` is defined twice", rule.text),
                        "repeated here",
                    )
                    .related(first.span.clone(), "first defined here"));
                }
                let pattern_key = Key {
                    name: "pattern".into(),
                    span: line[0].span.clone(),
                };
                rules.push((key_of(rule), vec![(pattern_key, pattern)]));
            }
        }
        for line in &entry.props {
            match line[0].text.as_str() {
                "rule" => {}
                "remote" | "endpoint" | "consume" => {
                    if let Some(value) = words_node(&line[1..]) {
                        push_unique(&mut plain, key_of(&line[0]), value)?;
                    }
                }
                "target" | "disable" => {
                    let keyword = &line[0];
                    let [_, rule, rest @ ..] = line.as_slice() else {
                        return Err(missing_rule_name(
                            keyword,
                            if keyword.text == "target" {
                                "target <rule> <target>"
                            } else {
                                "disable <rule>"
                            },
                        ));
                    };
                    let Some((_, fields)) = rules.iter_mut().find(|(k, _)| k.name == rule.text)
                    else {
                        let known: Vec<&str> = rules.iter().map(|(k, _)| k.name.as_str()).collect();
                        return Err(Diag::new(
                            rule.span.clone(),
                            format!("no rule named `{}` on bus `{}`", rule.text, name.text),
                            "unknown rule",
                        )
                        .maybe_help(
                            suggest::did_you_mean(&rule.text, known, "").or_else(|| {
                                Some(format!(
                                    "define it with `rule {} <event pattern JSON>`",
                                    rule.text
                                ))
                            }),
                        ));
                    };
                    if keyword.text == "disable" {
                        if let Some(extra) = rest.first() {
                            return Err(Diag::new(
                                extra.span.clone(),
                                "unexpected word after the rule name",
                                "expected end of line",
                            ));
                        }
                        push_unique(
                            fields,
                            Key {
                                name: "enabled".into(),
                                span: keyword.span.clone(),
                            },
                            Node {
                                kind: Kind::Bool(false),
                                span: keyword.span.clone(),
                            },
                        )?;
                    } else {
                        fields.push((
                            Key {
                                name: "target".into(),
                                span: keyword.span.clone(),
                            },
                            target_line(keyword, rest)?,
                        ));
                    }
                }
                "archive" => {
                    let [_, archive, rest @ ..] = line.as_slice() else {
                        return Err(missing_rule_name(
                            &line[0],
                            "archive <name> [retentionDays <n>] [pattern <JSON>]",
                        ));
                    };
                    let mut fields = Vec::new();
                    let mut i = 0;
                    while i < rest.len() {
                        let option = &rest[i];
                        match option.text.as_str() {
                            "retentionDays" => {
                                let Some(days) = rest.get(i + 1) else {
                                    return Err(Diag::new(
                                        option.span.clone(),
                                        "`retentionDays` has no value",
                                        "expected a number of days after this",
                                    ));
                                };
                                push_unique(&mut fields, key_of(option), word_node(days))?;
                                i += 2;
                            }
                            "pattern" => {
                                let Some(pattern) = words_node(&rest[i + 1..]) else {
                                    return Err(Diag::new(
                                        option.span.clone(),
                                        "`pattern` has no value",
                                        "expected a JSON event pattern after this",
                                    ));
                                };
                                push_unique(&mut fields, key_of(option), pattern)?;
                                i = rest.len();
                            }
                            other => {
                                return Err(Diag::new(
                                    option.span.clone(),
                                    format!("unknown archive option `{other}`"),
                                    "not an archive option",
                                )
                                .help(
                                    suggest::did_you_mean_or_list(
                                        other,
                                        &["retentionDays", "pattern"],
                                        "",
                                    ),
                                ));
                            }
                        }
                    }
                    push_unique(
                        &mut archives,
                        key_of(archive),
                        obj(
                            fields,
                            line[0].span.start..line.last().map_or(0, |w| w.span.end),
                        ),
                    )?;
                }
                other => {
                    return Err(Diag::new(
                        line[0].span.clone(),
                        format!("unknown bus line `{other}`"),
                        "not a bus setting",
                    )
                    .help(suggest::did_you_mean_or_list(
                        other,
                        &["rule", "target", "disable", "archive", "remote", "endpoint"],
                        "",
                    )));
                }
            }
        }
        let mut fields = plain;
        let rules_node = rules
            .into_iter()
            .map(|(k, mut f)| {
                // Targets were collected as repeated `target` fields; fold them into a list.
                let targets: Vec<Node> = f
                    .iter()
                    .filter(|(k, _)| k.name == "target")
                    .map(|(_, v)| v.clone())
                    .collect();
                f.retain(|(k, _)| k.name != "target");
                if !targets.is_empty() {
                    let span = targets[0].span.clone();
                    f.push((
                        Key {
                            name: "targets".into(),
                            span: span.clone(),
                        },
                        Node {
                            kind: Kind::Arr(targets),
                            span,
                        },
                    ));
                }
                let span = k.span.clone();
                (k, obj(f, span))
            })
            .collect();
        fields.push((
            Key {
                name: "rules".into(),
                span: name.span.clone(),
            },
            obj(rules_node, name.span.clone()),
        ));
        if !archives.is_empty() {
            fields.push((
                Key {
                    name: "archives".into(),
                    span: name.span.clone(),
                },
                obj(archives, name.span.clone()),
            ));
        }
        push_unique(&mut buses, key_of(name), obj(fields, entry.span.clone()))?;
    }
    Ok(obj(buses, section.name.span.clone()))
}

/// `target <rule> <target> [inputPath <path> | input <JSON>]`.
fn target_line(keyword: &Word, rest: &[Word]) -> DResult<Node> {
    let Some((target, options)) = rest.split_first() else {
        return Err(Diag::new(
            keyword.span.clone(),
            "`target` has no target",
            "expected e.g. `fn:bus/audit`, `queue:<name>` or `topic:<name>`",
        ));
    };
    let mut fields = vec![(
        Key {
            name: "target".into(),
            span: target.span.clone(),
        },
        word_node(target),
    )];
    if let Some((option, value)) = options.split_first() {
        let Some(value) = words_node(value) else {
            return Err(Diag::new(
                option.span.clone(),
                format!("`{}` has no value", option.text),
                "expected a value after this",
            ));
        };
        fields.push((key_of(option), value));
    }
    let end = rest.last().map_or(keyword.span.end, |w| w.span.end);
    Ok(obj(fields, target.span.start..end))
}

fn missing_rule_name(keyword: &Word, usage: &str) -> Diag {
    Diag::new(
        keyword.span.clone(),
        format!("`{}` needs a name", keyword.text),
        "expected a name after this",
    )
    .help(format!("write `{usage}`"))
}
