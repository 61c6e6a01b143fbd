//! What an EventBridge target receives: the whole event, a constant `Input`, the part of
//! the event an `InputPath` selects, or an `InputTransformer` template filled from it.
//!
//! Everything that can be checked without an event is checked at compile time: the
//! constant must be JSON, paths must parse, placeholders must be defined, and whether the
//! template is JSON (values inserted as JSON) or plain text (values inserted as text) is
//! decided once. AWS rules followed (EventBridge user guide, "input transformation"):
//!
//! * up to 100 entries in the paths map, whose names may not start with `aws.`;
//! * a placeholder outside quotes in a JSON template becomes the value as JSON (a string
//!   gets its quotes); inside quotes it becomes the value's text, escaped for the string
//!   (objects and arrays lose their inner quotes, as AWS does);
//! * a path that matches nothing yields `null` outside quotes and nothing inside quotes;
//! * the predefined `aws.events.rule-name`, `aws.events.rule-arn`,
//!   `aws.events.event.ingestion-time`, `aws.events.event` (the event without `detail`) and
//!   `aws.events.event.json` (the whole event); the last two only as JSON values.
//!
//! A missing `InputPath` match delivers `null`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

/// Most entries an `InputPathsMap` may have.
pub const MAX_INPUT_PATHS: usize = 100;

/// Why target input could not be compiled or produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("only one of input, input_path and input_transformer may be set on a target")]
    Conflicting,
    #[error("input is not valid JSON: {0}")]
    InvalidConstant(String),
    #[error("JSON path `{path}` is not supported: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("input_paths_map has {0} entries; EventBridge allows at most 100")]
    TooManyPaths(usize),
    #[error("input_paths_map key `{0}` is not allowed: {1}")]
    InvalidName(String, &'static str),
    #[error("input_template uses <{0}>, which is neither in input_paths_map nor predefined")]
    UndefinedPlaceholder(String),
    #[error("input_template uses <{0}> inside a string; it can only be used as a JSON value")]
    EventInsideString(String),
    #[error("input_template must not be empty")]
    EmptyTemplate,
    #[error("the transformed input is not valid JSON: {0}")]
    InvalidOutput(String),
}

/// The rule-level values behind the predefined `aws.events.*` placeholders.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleContext<'a> {
    pub rule_name: &'a str,
    pub rule_arn: &'a str,
    /// ISO 8601 time at which the bus received the event.
    pub ingestion_time: &'a str,
}

/// A target's compiled input settings.
#[derive(Debug, Clone, PartialEq)]
pub enum InputShape {
    /// No input settings: the matched event itself.
    Event,
    /// `Input`: constant JSON text, delivered as written.
    Constant(String),
    /// `InputPath`: the part of the event the path selects.
    Path(JsonPath),
    /// `InputTransformer`.
    Transformer(Transformer),
}

impl InputShape {
    /// Compiles a target's `Input`, `InputPath` or `InputTransformer` (paths map and
    /// template); at most one may be given.
    pub fn compile(
        input: Option<&str>,
        input_path: Option<&str>,
        transformer: Option<(&BTreeMap<String, String>, &str)>,
    ) -> Result<Self, InputError> {
        match (input, input_path, transformer) {
            (None, None, None) => Ok(InputShape::Event),
            (Some(text), None, None) => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => Ok(InputShape::Constant(text.to_string())),
                Err(e) => Err(InputError::InvalidConstant(e.to_string())),
            },
            (None, Some(path), None) => JsonPath::parse(path).map(InputShape::Path),
            (None, None, Some((paths, template))) => {
                Transformer::compile(paths, template).map(InputShape::Transformer)
            }
            _ => Err(InputError::Conflicting),
        }
    }

    /// The text delivered to the target for `event`.
    pub fn apply(&self, event: &Value, rule: &RuleContext<'_>) -> Result<String, InputError> {
        match self {
            InputShape::Event => Ok(event.to_string()),
            InputShape::Constant(text) => Ok(text.clone()),
            InputShape::Path(path) => Ok(path
                .select(event)
                .map_or_else(|| "null".to_string(), |v| v.to_string())),
            InputShape::Transformer(transformer) => transformer.apply(event, rule),
        }
    }
}

/// The JSONPath subset EventBridge evaluates: `$`, `.key`, `[index]` and `*` wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
    Wildcard,
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let invalid = |reason: &str| InputError::InvalidPath {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let rest = text
            .trim()
            .strip_prefix('$')
            .ok_or_else(|| invalid("it must start with `$`"))?;
        let mut steps = Vec::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            match c {
                '.' => {
                    let mut key = String::new();
                    while let Some(&(_, k)) = chars.peek() {
                        if k == '.' || k == '[' {
                            break;
                        }
                        if k == ']' {
                            return Err(invalid("unexpected `]`"));
                        }
                        key.push(k);
                        chars.next();
                    }
                    match key.as_str() {
                        "" => return Err(invalid("empty key after `.`")),
                        "*" => steps.push(Step::Wildcard),
                        _ => steps.push(Step::Key(key)),
                    }
                }
                '[' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some((_, ']')) => break,
                            Some((_, k)) => inner.push(k),
                            None => return Err(invalid("unclosed `[`")),
                        }
                    }
                    if inner == "*" {
                        steps.push(Step::Wildcard);
                    } else {
                        let index = inner.trim().parse::<usize>().map_err(|_| {
                            invalid("only numeric indexes and `*` may appear in `[]`")
                        })?;
                        steps.push(Step::Index(index));
                    }
                }
                _ => return Err(invalid("expected `.` or `[` after `$` and after each step")),
            }
        }
        Ok(Self { steps })
    }

    /// The selected value, or `None` when the path matches nothing. A wildcard collects
    /// what the rest of the path selects under each child into an array.
    pub fn select<'v>(&self, value: &'v Value) -> Option<Cow<'v, Value>> {
        select(value, &self.steps)
    }
}

fn select<'v>(value: &'v Value, steps: &[Step]) -> Option<Cow<'v, Value>> {
    let Some((step, rest)) = steps.split_first() else {
        return Some(Cow::Borrowed(value));
    };
    match step {
        Step::Key(key) => select(value.as_object()?.get(key)?, rest),
        Step::Index(i) => select(value.as_array()?.get(*i)?, rest),
        Step::Wildcard => {
            let children: Box<dyn Iterator<Item = &Value>> = match value {
                Value::Array(items) => Box::new(items.iter()),
                Value::Object(map) => Box::new(map.values()),
                _ => return None,
            };
            Some(Cow::Owned(Value::Array(
                children
                    .filter_map(|child| select(child, rest).map(Cow::into_owned))
                    .collect(),
            )))
        }
    }
}

/// A compiled `InputTransformer`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformer {
    pieces: Vec<Piece>,
    paths: Vec<JsonPath>,
    /// Whether the template is JSON (values inserted as JSON) or plain text.
    json: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Var { var: Var, quoted: bool },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Var {
    Path(usize),
    RuleName,
    RuleArn,
    IngestionTime,
    EventWithoutDetail,
    Event,
}

impl Var {
    fn predefined(name: &str) -> Option<Self> {
        Some(match name {
            "aws.events.rule-name" => Var::RuleName,
            "aws.events.rule-arn" => Var::RuleArn,
            "aws.events.event.ingestion-time" => Var::IngestionTime,
            "aws.events.event" => Var::EventWithoutDetail,
            "aws.events.event.json" => Var::Event,
            _ => return None,
        })
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

impl Transformer {
    pub fn compile(
        paths_map: &BTreeMap<String, String>,
        template: &str,
    ) -> Result<Self, InputError> {
        if paths_map.len() > MAX_INPUT_PATHS {
            return Err(InputError::TooManyPaths(paths_map.len()));
        }
        if template.trim().is_empty() {
            return Err(InputError::EmptyTemplate);
        }
        let mut names = BTreeMap::new();
        let mut paths = Vec::with_capacity(paths_map.len());
        for (name, path) in paths_map {
            if name.is_empty() || !name.chars().all(is_name_char) {
                return Err(InputError::InvalidName(
                    name.clone(),
                    "use letters, digits, `_`, `-` and `.`",
                ));
            }
            if name.starts_with("aws.") {
                return Err(InputError::InvalidName(
                    name.clone(),
                    "names starting with `aws.` are reserved",
                ));
            }
            names.insert(name.as_str(), paths.len());
            paths.push(JsonPath::parse(path)?);
        }

        let mut pieces = Vec::new();
        let mut text = String::new();
        let (mut in_string, mut escaped) = (false, false);
        let mut rest = template;
        while let Some(c) = rest.chars().next() {
            if c == '<' {
                if let Some((name, after)) = placeholder(rest) {
                    let var = match names.get(name) {
                        Some(&i) => Var::Path(i),
                        None => Var::predefined(name)
                            .ok_or_else(|| InputError::UndefinedPlaceholder(name.to_string()))?,
                    };
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Var {
                        var,
                        quoted: in_string,
                    });
                    rest = after;
                    escaped = false;
                    continue;
                }
            }
            // Track whether we are inside a JSON string literal, to know how to insert.
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                }
            } else if c == '"' {
                in_string = true;
            }
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }

        let probe: String = pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(t) => t.as_str(),
                Piece::Var { quoted: true, .. } => "",
                Piece::Var { quoted: false, .. } => "null",
            })
            .collect();
        let json = serde_json::from_str::<serde::de::IgnoredAny>(&probe).is_ok();
        if json {
            for piece in &pieces {
                if let Piece::Var {
                    var: var @ (Var::Event | Var::EventWithoutDetail),
                    quoted: true,
                } = piece
                {
                    let name = if *var == Var::Event {
                        "aws.events.event.json"
                    } else {
                        "aws.events.event"
                    };
                    return Err(InputError::EventInsideString(name.to_string()));
                }
            }
        }
        Ok(Self {
            pieces,
            paths,
            json,
        })
    }

    pub fn apply(&self, event: &Value, rule: &RuleContext<'_>) -> Result<String, InputError> {
        let mut out = String::new();
        for piece in &self.pieces {
            let (var, quoted) = match piece {
                Piece::Text(text) => {
                    out.push_str(text);
                    continue;
                }
                Piece::Var { var, quoted } => (*var, *quoted),
            };
            let value: Option<Cow<'_, Value>> = match var {
                Var::Path(i) => self.paths.get(i).and_then(|p| p.select(event)),
                Var::RuleName => Some(Cow::Owned(Value::String(rule.rule_name.to_string()))),
                Var::RuleArn => Some(Cow::Owned(Value::String(rule.rule_arn.to_string()))),
                Var::IngestionTime => {
                    Some(Cow::Owned(Value::String(rule.ingestion_time.to_string())))
                }
                Var::Event => Some(Cow::Borrowed(event)),
                Var::EventWithoutDetail => {
                    let mut copy = event.clone();
                    if let Some(object) = copy.as_object_mut() {
                        object.remove("detail");
                    }
                    Some(Cow::Owned(copy))
                }
            };
            insert(
                &mut out,
                value.as_deref(),
                self.json && !quoted,
                self.json && quoted,
            );
        }
        if self.json {
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&out) {
                return Err(InputError::InvalidOutput(format!("{e} in {out}")));
            }
        }
        Ok(out)
    }
}

/// Reads `<name>` at the start of `text`, returning the name and what follows.
fn placeholder(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('<')?;
    let end = inner.find('>')?;
    let name = &inner[..end];
    (!name.is_empty() && name.chars().all(is_name_char)).then(|| (name, &inner[end + 1..]))
}

fn insert(out: &mut String, value: Option<&Value>, as_json: bool, in_string: bool) {
    match value {
        None if as_json => out.push_str("null"),
        None => {}
        Some(value) if as_json => out.push_str(&value.to_string()),
        Some(Value::String(s)) if in_string => {
            let quoted = Value::String(s.clone()).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        }
        Some(Value::String(s)) => out.push_str(s),
        Some(value @ (Value::Object(_) | Value::Array(_))) if in_string => {
            out.push_str(&value.to_string().replace('"', ""));
        }
        Some(other) => out.push_str(&other.to_string()),
    }
}
