//! The leaf conditions shared by EventBridge patterns and SNS filter policies.
//!
//! A leaf is the array of alternatives written against one field (`"state": ["a", {"prefix":
//! "b"}]`). It matches when any alternative matches any of the field's values (a field
//! holding an array has several), or when its `exists` alternative agrees with whether the
//! field has a value at all. Everything a match needs is decided at compile time:
//! ignore-case text is lower-cased once, wildcards are split into pieces, CIDR blocks are
//! turned into masks, numeric ranges into bounds.

use std::net::IpAddr;

use serde_json::Value;

use super::error::PatternError;
use super::wildcard::Wildcard;

/// Which language a leaf is written in: SNS accepts a subset of EventBridge's operators and
/// a narrower numeric range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    EventBridge,
    Sns,
}

impl Dialect {
    fn name(self) -> &'static str {
        match self {
            Dialect::EventBridge => "EventBridge event patterns",
            Dialect::Sns => "SNS filter policies",
        }
    }
}

/// SNS documents numeric matching for values between -10^9 and 10^9.
const SNS_NUMERIC_LIMIT: f64 = 1e9;

/// One value of an event field, borrowed from the event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scalar<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Null,
}

impl<'a> Scalar<'a> {
    /// The scalar in a JSON value; objects and arrays are not leaf values.
    pub(crate) fn of(value: &'a Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(Scalar::Str(s)),
            Value::Number(n) => n.as_f64().map(Scalar::Num),
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            Value::Null => Some(Scalar::Null),
            Value::Array(_) | Value::Object(_) => None,
        }
    }
}

/// The compiled alternatives for one field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Leaf {
    exists: Option<bool>,
    conds: Vec<Cond>,
    width: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Exact(Exact),
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    Numeric(Range),
    Cidr(Cidr),
    AnythingBut(AnythingBut),
}

#[derive(Debug, Clone, PartialEq)]
enum Exact {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Values(Vec<Exact>),
    Prefix(String),
    Suffix(String),
    IgnoreCase(Vec<String>),
    Wildcard(Vec<Wildcard>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Bound {
    value: f64,
    inclusive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    lower: Option<Bound>,
    upper: Option<Bound>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Cidr {
    v4: bool,
    network: u128,
    mask: u128,
}

impl Leaf {
    /// Compiles the alternatives array written at `path`.
    pub(crate) fn compile(
        alternatives: &[Value],
        path: &str,
        dialect: Dialect,
    ) -> Result<Self, PatternError> {
        if alternatives.is_empty() {
            return Err(PatternError::new(path, "empty arrays are not allowed"));
        }
        let mut leaf = Leaf {
            exists: None,
            conds: Vec::with_capacity(alternatives.len()),
            width: alternatives.len(),
        };
        for alternative in alternatives {
            match alternative {
                Value::Object(operator) => {
                    let mut entries = operator.iter();
                    let (name, operand) = match (entries.next(), entries.next()) {
                        (Some(entry), None) => entry,
                        _ => {
                            return Err(PatternError::new(
                                path,
                                format!(
                                    "a matcher object must hold exactly one operator, got {alternative}"
                                ),
                            ))
                        }
                    };
                    if name == "exists" {
                        let Value::Bool(wanted) = operand else {
                            return Err(PatternError::new(
                                path,
                                format!("`exists` takes true or false, got {operand}"),
                            ));
                        };
                        if leaf.exists.is_some_and(|seen| seen != *wanted) {
                            // exists:true OR exists:false is always true; almost certainly
                            // a mistake, so say so rather than match everything.
                            return Err(PatternError::new(
                                path,
                                "both `exists: true` and `exists: false` given",
                            ));
                        }
                        leaf.exists = Some(*wanted);
                    } else {
                        leaf.conds
                            .push(compile_operator(name, operand, path, dialect)?);
                    }
                }
                Value::Array(_) => {
                    return Err(PatternError::new(
                        path,
                        "arrays inside a value array are not allowed",
                    ))
                }
                scalar => leaf.conds.push(Cond::Exact(exact(scalar, path, dialect)?)),
            }
        }
        Ok(leaf)
    }

    /// How many alternatives were written (SNS counts these for its complexity limit).
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Whether the field with these values matches; an empty iterator means the field has
    /// no value (absent, an object, or an empty array).
    pub(crate) fn matches<'a, I>(&self, values: I) -> bool
    where
        I: Iterator<Item = Scalar<'a>> + Clone,
    {
        if let Some(wanted) = self.exists {
            if values.clone().next().is_some() == wanted {
                return true;
            }
        }
        if self.conds.is_empty() {
            return false;
        }
        for value in values {
            if self.conds.iter().any(|cond| cond.matches(value)) {
                return true;
            }
        }
        false
    }
}

impl Cond {
    fn matches(&self, value: Scalar<'_>) -> bool {
        match self {
            Cond::Exact(exact) => exact.matches(value),
            Cond::AnythingBut(but) => but.matches(value),
            Cond::Numeric(range) => match value {
                Scalar::Num(n) => range.contains(n),
                _ => false,
            },
            Cond::Prefix(p) => as_str(value).is_some_and(|s| s.starts_with(p.as_str())),
            Cond::Suffix(p) => as_str(value).is_some_and(|s| s.ends_with(p.as_str())),
            Cond::PrefixIgnoreCase(p) => as_str(value).is_some_and(|s| starts_with_ic(s, p)),
            Cond::SuffixIgnoreCase(p) => as_str(value).is_some_and(|s| ends_with_ic(s, p)),
            Cond::EqualsIgnoreCase(p) => as_str(value).is_some_and(|s| equals_ic(s, p)),
            Cond::Wildcard(w) => as_str(value).is_some_and(|s| w.matches(s)),
            Cond::Cidr(cidr) => as_str(value).is_some_and(|s| cidr.contains(s)),
        }
    }
}

impl Exact {
    fn matches(&self, value: Scalar<'_>) -> bool {
        match (self, value) {
            (Exact::Str(want), Scalar::Str(got)) => want == got,
            // Numbers compare as numbers, so a pattern's 300 matches an event's 300.0.
            (Exact::Num(want), Scalar::Num(got)) => *want == got,
            (Exact::Bool(want), Scalar::Bool(got)) => *want == got,
            (Exact::Null, Scalar::Null) => true,
            _ => false,
        }
    }
}

impl AnythingBut {
    fn matches(&self, value: Scalar<'_>) -> bool {
        match self {
            AnythingBut::Values(excluded) => !excluded.iter().any(|e| e.matches(value)),
            AnythingBut::Prefix(p) => as_str(value).is_some_and(|s| !s.starts_with(p.as_str())),
            AnythingBut::Suffix(p) => as_str(value).is_some_and(|s| !s.ends_with(p.as_str())),
            AnythingBut::IgnoreCase(excluded) => {
                as_str(value).is_some_and(|s| !excluded.iter().any(|e| equals_ic(s, e)))
            }
            AnythingBut::Wildcard(excluded) => {
                as_str(value).is_some_and(|s| !excluded.iter().any(|w| w.matches(s)))
            }
        }
    }
}

impl Range {
    fn contains(&self, n: f64) -> bool {
        let above = match self.lower {
            Some(Bound {
                value,
                inclusive: true,
            }) => n >= value,
            Some(Bound {
                value,
                inclusive: false,
            }) => n > value,
            None => true,
        };
        let below = match self.upper {
            Some(Bound {
                value,
                inclusive: true,
            }) => n <= value,
            Some(Bound {
                value,
                inclusive: false,
            }) => n < value,
            None => true,
        };
        above && below
    }
}

impl Cidr {
    fn parse(text: &str) -> Option<Self> {
        let (addr, bits) = text.split_once('/')?;
        let addr: IpAddr = addr.trim().parse().ok()?;
        let bits: u32 = bits.trim().parse().ok()?;
        let (v4, raw, width) = match addr {
            IpAddr::V4(a) => (true, u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (false, u128::from(a), 128),
        };
        if bits > width {
            return None;
        }
        let mask = if bits == 0 {
            0
        } else {
            (u128::MAX << (128 - bits)) >> (128 - width)
        };
        Some(Cidr {
            v4,
            network: raw & mask,
            mask,
        })
    }

    fn contains(&self, text: &str) -> bool {
        match text.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) if self.v4 => u128::from(u32::from(a)) & self.mask == self.network,
            Ok(IpAddr::V6(a)) if !self.v4 => u128::from(a) & self.mask == self.network,
            _ => false,
        }
    }
}

fn as_str(value: Scalar<'_>) -> Option<&str> {
    match value {
        Scalar::Str(s) => Some(s),
        _ => None,
    }
}

// The pattern side is lower-cased at compile time; the event side is compared byte-wise
// when it is ASCII (the common case, no allocation) and lower-cased otherwise.
fn equals_ic(s: &str, lower: &str) -> bool {
    if s.is_ascii() {
        s.eq_ignore_ascii_case(lower)
    } else {
        s.to_lowercase() == lower
    }
}

fn starts_with_ic(s: &str, lower: &str) -> bool {
    if s.is_ascii() {
        s.len() >= lower.len() && s.as_bytes()[..lower.len()].eq_ignore_ascii_case(lower.as_bytes())
    } else {
        s.to_lowercase().starts_with(lower)
    }
}

fn ends_with_ic(s: &str, lower: &str) -> bool {
    if s.is_ascii() {
        s.len() >= lower.len()
            && s.as_bytes()[s.len() - lower.len()..].eq_ignore_ascii_case(lower.as_bytes())
    } else {
        s.to_lowercase().ends_with(lower)
    }
}

fn exact(value: &Value, path: &str, dialect: Dialect) -> Result<Exact, PatternError> {
    Ok(match value {
        Value::String(s) => Exact::Str(s.clone()),
        Value::Number(n) => Exact::Num(number(n, path, dialect)?),
        Value::Bool(b) => Exact::Bool(*b),
        Value::Null => Exact::Null,
        Value::Array(_) | Value::Object(_) => {
            return Err(PatternError::new(
                path,
                format!("expected a string, number, boolean or null, got {value}"),
            ))
        }
    })
}

fn number(n: &serde_json::Number, path: &str, dialect: Dialect) -> Result<f64, PatternError> {
    let Some(value) = n.as_f64().filter(|v| v.is_finite()) else {
        return Err(PatternError::new(
            path,
            format!("number {n} is out of range"),
        ));
    };
    if dialect == Dialect::Sns && value.abs() > SNS_NUMERIC_LIMIT {
        return Err(PatternError::new(
            path,
            format!("number {n} is outside the SNS numeric range -1000000000..1000000000"),
        ));
    }
    Ok(value)
}

fn string<'v>(operand: &'v Value, path: &str, op: &str) -> Result<&'v str, PatternError> {
    operand
        .as_str()
        .ok_or_else(|| PatternError::new(path, format!("`{op}` takes a string, got {operand}")))
}

fn eventbridge_only(op: &str, path: &str, dialect: Dialect) -> Result<(), PatternError> {
    if dialect == Dialect::EventBridge {
        Ok(())
    } else {
        Err(PatternError::new(
            path,
            format!("`{op}` is not supported in {}", dialect.name()),
        ))
    }
}

/// `prefix` / `suffix`: a string, or `{"equals-ignore-case": string}` (EventBridge).
fn affix(
    operand: &Value,
    path: &str,
    op: &str,
    dialect: Dialect,
) -> Result<(String, bool), PatternError> {
    match operand {
        Value::String(s) => Ok((s.clone(), false)),
        Value::Object(inner) if inner.len() == 1 && inner.contains_key("equals-ignore-case") => {
            eventbridge_only(&format!("{op}` with `equals-ignore-case"), path, dialect)?;
            let s = string(&inner["equals-ignore-case"], path, "equals-ignore-case")?;
            Ok((s.to_lowercase(), true))
        }
        _ => Err(PatternError::new(
            path,
            format!("`{op}` takes a string or {{\"equals-ignore-case\": string}}, got {operand}"),
        )),
    }
}

fn compile_operator(
    name: &str,
    operand: &Value,
    path: &str,
    dialect: Dialect,
) -> Result<Cond, PatternError> {
    Ok(match name {
        "prefix" => match affix(operand, path, name, dialect)? {
            (p, false) => Cond::Prefix(p),
            (p, true) => Cond::PrefixIgnoreCase(p),
        },
        "suffix" => match affix(operand, path, name, dialect)? {
            (p, false) => Cond::Suffix(p),
            (p, true) => Cond::SuffixIgnoreCase(p),
        },
        "equals-ignore-case" => Cond::EqualsIgnoreCase(string(operand, path, name)?.to_lowercase()),
        "wildcard" => {
            eventbridge_only(name, path, dialect)?;
            Cond::Wildcard(wildcard(operand, path)?)
        }
        "numeric" => Cond::Numeric(numeric(operand, path, dialect)?),
        "cidr" => {
            let text = string(operand, path, name)?;
            Cond::Cidr(Cidr::parse(text).ok_or_else(|| {
                PatternError::new(
                    path,
                    format!("`cidr` value `{text}` is not an IP block like 10.0.0.0/24"),
                )
            })?)
        }
        "anything-but" => Cond::AnythingBut(anything_but(operand, path, dialect)?),
        other => {
            return Err(PatternError::new(
                path,
                format!(
                    "unknown operator `{other}` (expected one of prefix, suffix, anything-but, numeric, exists, equals-ignore-case, wildcard, cidr)"
                ),
            ))
        }
    })
}

fn wildcard(operand: &Value, path: &str) -> Result<Wildcard, PatternError> {
    let text = string(operand, path, "wildcard")?;
    Wildcard::parse(text).map_err(|message| PatternError::new(path, message))
}

fn anything_but(
    operand: &Value,
    path: &str,
    dialect: Dialect,
) -> Result<AnythingBut, PatternError> {
    match operand {
        Value::String(_) | Value::Number(_) => {
            Ok(AnythingBut::Values(vec![exact(operand, path, dialect)?]))
        }
        Value::Array(items) => {
            if items.is_empty() {
                return Err(PatternError::new(path, "`anything-but` list must not be empty"));
            }
            let all_strings = items.iter().all(Value::is_string);
            let all_numbers = items.iter().all(Value::is_number);
            if !all_strings && !all_numbers {
                return Err(PatternError::new(
                    path,
                    "`anything-but` list must hold only strings or only numbers",
                ));
            }
            items
                .iter()
                .map(|item| exact(item, path, dialect))
                .collect::<Result<_, _>>()
                .map(AnythingBut::Values)
        }
        Value::Object(inner) if inner.len() == 1 => {
            let (op, value) = inner.iter().next().ok_or_else(|| {
                PatternError::new(path, "`anything-but` object must hold one operator")
            })?;
            match op.as_str() {
                "prefix" => Ok(AnythingBut::Prefix(string(value, path, "anything-but prefix")?.to_string())),
                "suffix" => Ok(AnythingBut::Suffix(string(value, path, "anything-but suffix")?.to_string())),
                "equals-ignore-case" => {
                    eventbridge_only("anything-but` with `equals-ignore-case", path, dialect)?;
                    strings(value, path, "anything-but equals-ignore-case")
                        .map(|list| AnythingBut::IgnoreCase(list.iter().map(|s| s.to_lowercase()).collect()))
                }
                "wildcard" => {
                    eventbridge_only("anything-but` with `wildcard", path, dialect)?;
                    let list = strings(value, path, "anything-but wildcard")?;
                    list.iter()
                        .map(|s| Wildcard::parse(s).map_err(|m| PatternError::new(path, m)))
                        .collect::<Result<_, _>>()
                        .map(AnythingBut::Wildcard)
                }
                other => Err(PatternError::new(
                    path,
                    format!("`anything-but` does not accept `{other}` (expected prefix, suffix, equals-ignore-case or wildcard)"),
                )),
            }
        }
        _ => Err(PatternError::new(
            path,
            format!("`anything-but` takes a string, a number, a list of them, or an operator object, got {operand}"),
        )),
    }
}

/// A string or a non-empty array of strings.
fn strings<'v>(value: &'v Value, path: &str, op: &str) -> Result<Vec<&'v str>, PatternError> {
    match value {
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) if !items.is_empty() => {
            items.iter().map(|item| string(item, path, op)).collect()
        }
        _ => Err(PatternError::new(
            path,
            format!("`{op}` takes a string or a non-empty list of strings, got {value}"),
        )),
    }
}

fn numeric(operand: &Value, path: &str, dialect: Dialect) -> Result<Range, PatternError> {
    let Value::Array(items) = operand else {
        return Err(PatternError::new(
            path,
            format!("`numeric` takes an array like [\">\", 0, \"<=\", 5], got {operand}"),
        ));
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(PatternError::new(
            path,
            "`numeric` takes one or two operator/number pairs, like [\">\", 0, \"<=\", 5]",
        ));
    }
    let mut range = Range {
        lower: None,
        upper: None,
    };
    let mut equals = false;
    for pair in items.chunks(2) {
        let op = pair[0].as_str().ok_or_else(|| {
            PatternError::new(
                path,
                format!("numeric operator {} must be a string", pair[0]),
            )
        })?;
        let Value::Number(n) = &pair[1] else {
            return Err(PatternError::new(
                path,
                format!(
                    "numeric operand for `{op}` must be a number, got {}",
                    pair[1]
                ),
            ));
        };
        let value = number(n, path, dialect)?;
        let (slot, bound) = match op {
            ">" => (
                &mut range.lower,
                Bound {
                    value,
                    inclusive: false,
                },
            ),
            ">=" => (
                &mut range.lower,
                Bound {
                    value,
                    inclusive: true,
                },
            ),
            "<" => (
                &mut range.upper,
                Bound {
                    value,
                    inclusive: false,
                },
            ),
            "<=" => (
                &mut range.upper,
                Bound {
                    value,
                    inclusive: true,
                },
            ),
            "=" => {
                if items.len() != 2 {
                    return Err(PatternError::new(
                        path,
                        "numeric `=` cannot be combined with another operator",
                    ));
                }
                equals = true;
                range.upper = Some(Bound {
                    value,
                    inclusive: true,
                });
                (
                    &mut range.lower,
                    Bound {
                        value,
                        inclusive: true,
                    },
                )
            }
            other => {
                return Err(PatternError::new(
                    path,
                    format!("numeric operator `{other}` is not one of <, <=, =, >, >="),
                ))
            }
        };
        if slot.is_some() {
            return Err(PatternError::new(
                path,
                format!(
                    "numeric range has two {} bounds",
                    if op.starts_with('>') {
                        "lower"
                    } else {
                        "upper"
                    }
                ),
            ));
        }
        *slot = Some(bound);
    }
    if let (false, Some(lower), Some(upper)) = (equals, range.lower, range.upper) {
        if lower.value >= upper.value {
            return Err(PatternError::new(
                path,
                format!(
                    "numeric range is empty: lower bound {} is not below upper bound {}",
                    lower.value, upper.value
                ),
            ));
        }
    }
    Ok(range)
}
