//! The one intermediate form both manifest formats are parsed into.
//!
//! A `.arc` file and a `sandbox.json` describe the same thing, so both are first turned
//! into this JSON-shaped tree (every node remembers its byte range in the source) and
//! then validated once, by the code in `validate`. The `.arc` reader produces
//! [`Kind::Word`] and [`Kind::Words`] for its untyped, space-separated values; the
//! typed accessors below accept those wherever JSON would have a number, boolean or
//! string, so the validation rules never need to know which format they read.

use std::ops::Range;

use crate::error::{DResult, Diag};
use crate::suggest;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    /// A JSON number, as written.
    Num(String),
    /// A JSON string, or a quoted `.arc` word.
    Str(String),
    /// An unquoted `.arc` word: a number, boolean or string depending on where it is used.
    Word(String),
    /// Several `.arc` words on one line: a list, or (read as text) the source they span.
    Words(Vec<Node>),
    Arr(Vec<Node>),
    Obj(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub name: String,
    pub span: Range<usize>,
}

/// A node's type, as a person would call it in an error.
fn type_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Null => "null",
        Kind::Bool(_) => "a boolean",
        Kind::Num(_) => "a number",
        Kind::Str(_) | Kind::Word(_) => "a string",
        Kind::Words(_) => "several words",
        Kind::Arr(_) => "an array",
        Kind::Obj(_) => "an object",
    }
}

/// How a node's value is shown in a "found …" label.
fn shown(node: &Node, source: &str) -> String {
    match &node.kind {
        Kind::Word(w) | Kind::Num(w) => format!("found `{w}`"),
        Kind::Str(s) => format!("found \"{s}\""),
        Kind::Words(_) => format!("found `{}`", source.get(node.span.clone()).unwrap_or("")),
        other => format!("found {}", type_name(other)),
    }
}

/// A whole-number property with its allowed range, e.g. `visibilityTimeout` 0..=43200 s.
pub(crate) struct IntRule<'a> {
    pub name: &'a str,
    pub min: i64,
    pub max: i64,
    /// Plural unit for the message ("seconds"); empty when unitless.
    pub unit: &'a str,
}

impl Node {
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    fn wrong(&self, source: &str, message: String) -> Diag {
        Diag::new(self.span.clone(), message, shown(self, source))
    }

    /// A single string (JSON string or one `.arc` word).
    pub fn str(&self, source: &str, what: &str) -> DResult<String> {
        match &self.kind {
            Kind::Str(s) | Kind::Word(s) => Ok(s.clone()),
            _ => Err(self.wrong(source, format!("`{what}` must be a single string"))),
        }
    }

    /// Free text: a string, or every `.arc` word on the line exactly as written
    /// (for `rate(1 day)`, cron expressions, JSON patterns).
    pub fn text(&self, source: &str, what: &str) -> DResult<String> {
        match &self.kind {
            Kind::Str(s) | Kind::Word(s) => Ok(s.clone()),
            Kind::Words(_) => Ok(source.get(self.span.clone()).unwrap_or("").to_string()),
            _ => Err(self.wrong(source, format!("`{what}` must be a string"))),
        }
    }

    pub fn bool(&self, source: &str, what: &str) -> DResult<bool> {
        match &self.kind {
            Kind::Bool(b) => Ok(*b),
            Kind::Word(w) if w == "true" => Ok(true),
            Kind::Word(w) if w == "false" => Ok(false),
            _ => Err(self.wrong(source, format!("`{what}` must be `true` or `false`"))),
        }
    }

    pub fn int(&self, source: &str, rule: &IntRule) -> DResult<i64> {
        let unit = if rule.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", rule.unit)
        };
        let message = format!(
            "`{}` must be a whole number from {} to {}{unit}",
            rule.name, rule.min, rule.max
        );
        let text = match &self.kind {
            Kind::Num(n) | Kind::Word(n) => n,
            Kind::Str(s) if parse_int(s).is_some() => {
                return Err(self
                    .wrong(source, message)
                    .help(format!("write {s} without quotes")));
            }
            _ => return Err(self.wrong(source, message)),
        };
        let value = parse_int(text).ok_or_else(|| self.wrong(source, message.clone()))?;
        if value < rule.min || value > rule.max {
            return Err(self.wrong(source, message));
        }
        Ok(value)
    }

    /// A number that may have a fraction (e.g. an epoch timestamp).
    pub fn float(&self, source: &str, what: &str) -> DResult<f64> {
        match &self.kind {
            Kind::Num(n) | Kind::Word(n) => n
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| self.wrong(source, format!("`{what}` must be a number"))),
            _ => Err(self.wrong(source, format!("`{what}` must be a number"))),
        }
    }

    /// A list of strings: a JSON array of strings, one or several `.arc` words, or a
    /// single string.
    pub fn list(&self, source: &str, what: &str) -> DResult<Vec<(String, Range<usize>)>> {
        let items: &[Node] = match &self.kind {
            Kind::Str(s) | Kind::Word(s) => return Ok(vec![(s.clone(), self.span.clone())]),
            Kind::Words(items) | Kind::Arr(items) => items,
            _ => {
                return Err(self.wrong(source, format!("`{what}` must be a list of names")));
            }
        };
        items
            .iter()
            .map(|item| Ok((item.str(source, what)?, item.span.clone())))
            .collect()
    }

    pub fn obj(&self, source: &str, what: &str) -> DResult<&[(Key, Node)]> {
        match &self.kind {
            Kind::Obj(entries) => Ok(entries),
            _ => Err(self.wrong(source, format!("{what} must be an object"))),
        }
    }

    /// A JSON value: given directly in `sandbox.json`, or as JSON text (the rest of an
    /// `.arc` line, or a JSON string holding JSON).
    pub fn json(&self, source: &str, what: &str) -> DResult<serde_json::Value> {
        match &self.kind {
            Kind::Str(_) | Kind::Word(_) | Kind::Words(_) => {
                let text = match &self.kind {
                    Kind::Str(s) => s.as_str(),
                    _ => source.get(self.span.clone()).unwrap_or(""),
                };
                serde_json::from_str(text).map_err(|e| {
                    // Point at the exact character when the text is the source itself.
                    let at = match &self.kind {
                        Kind::Str(_) => self.span.clone(),
                        _ => {
                            let o = self.span.start
                                + crate::error::offset_of(text, e.line(), e.column())
                                    .min(text.len());
                            let end = source
                                .get(o..)
                                .unwrap_or("")
                                .chars()
                                .next()
                                .map_or(o, |c| o + c.len_utf8())
                                .min(self.span.end)
                                .max(o);
                            o..end
                        }
                    };
                    Diag::new(at, format!("`{what}` is not valid JSON"), json_reason(&e))
                })
            }
            _ => Ok(self.to_json()),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Num(n) => serde_json::from_str(n).unwrap_or(Value::Null),
            Kind::Str(s) | Kind::Word(s) => Value::String(s.clone()),
            Kind::Words(items) | Kind::Arr(items) => {
                Value::Array(items.iter().map(Node::to_json).collect())
            }
            Kind::Obj(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// serde_json's message without its " at line X column Y" tail (the label sits there).
pub(crate) fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn parse_int(text: &str) -> Option<i64> {
    if let Ok(v) = text.parse::<i64>() {
        return Some(v);
    }
    // JSON writers sometimes emit `30.0` or `3e1` for whole numbers.
    let f = text.parse::<f64>().ok()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// Read access to one object's properties, with unknown-key checking.
pub(crate) struct Props<'a> {
    pub entries: &'a [(Key, Node)],
    pub source: &'a str,
}

impl<'a> Props<'a> {
    pub fn new(node: &'a Node, source: &'a str, what: &str) -> DResult<Self> {
        Ok(Props {
            entries: node.obj(source, what)?,
            source,
        })
    }

    /// Error on the first key not in `known`, suggesting the nearest and listing all.
    pub fn only(&self, known: &[&str], owner: &str) -> DResult<()> {
        for (key, _) in self.entries {
            if !known.contains(&key.name.as_str()) {
                return Err(Diag::new(
                    key.span.clone(),
                    format!("unknown property `{}` for {owner}", key.name),
                    "not a known property",
                )
                .help(suggest::did_you_mean_or_list(&key.name, known, "")));
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, v)| k.name == name && !v.is_null())
            .map(|(_, v)| v)
    }

    pub fn key(&self, name: &str) -> Option<&'a Key> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(k, _)| k)
    }

    pub fn str(&self, name: &str) -> DResult<Option<String>> {
        self.get(name).map(|n| n.str(self.source, name)).transpose()
    }

    pub fn text(&self, name: &str) -> DResult<Option<String>> {
        self.get(name)
            .map(|n| n.text(self.source, name))
            .transpose()
    }

    pub fn bool(&self, name: &str, default: bool) -> DResult<bool> {
        Ok(self
            .get(name)
            .map(|n| n.bool(self.source, name))
            .transpose()?
            .unwrap_or(default))
    }

    pub fn int(&self, rule: &IntRule) -> DResult<Option<i64>> {
        self.get(rule.name)
            .map(|n| n.int(self.source, rule))
            .transpose()
    }
}
