//! Which names AWS accepts for apps, queues, topics, streams, buses and rules.

use std::ops::Range;

use crate::error::{DResult, Diag};

pub(crate) struct NameRule {
    pub what: &'static str,
    pub max: usize,
    /// Allowed characters besides ASCII letters and digits.
    pub extra: &'static str,
    pub described: &'static str,
    /// Whether a `.fifo` suffix is allowed (and not counted against `extra`).
    pub fifo: bool,
}

pub(crate) const APP: NameRule = NameRule {
    what: "app name",
    max: 128,
    extra: "-_",
    described: "letters, digits, `-` and `_`",
    fifo: false,
};
/// SQS: 80 characters including a `.fifo` suffix.
pub(crate) const QUEUE: NameRule = NameRule {
    what: "queue name",
    max: 80,
    extra: "-_",
    described: "letters, digits, `-` and `_` (plus a `.fifo` suffix)",
    fifo: true,
};
/// SNS: 256 characters including a `.fifo` suffix.
pub(crate) const TOPIC: NameRule = NameRule {
    what: "topic name",
    max: 256,
    extra: "-_",
    described: "letters, digits, `-` and `_` (plus a `.fifo` suffix)",
    fifo: true,
};
pub(crate) const STREAM: NameRule = NameRule {
    what: "stream name",
    max: 128,
    extra: "-_.",
    described: "letters, digits, `-`, `_` and `.`",
    fifo: false,
};
pub(crate) const CONSUMER: NameRule = NameRule {
    what: "consumer name",
    max: 64,
    extra: "-_",
    described: "letters, digits, `-` and `_`",
    fifo: false,
};
pub(crate) const SCHEDULE: NameRule = NameRule {
    what: "schedule name",
    max: 64,
    extra: "-_.",
    described: "letters, digits, `-`, `_` and `.`",
    fifo: false,
};
pub(crate) const BUS: NameRule = NameRule {
    what: "bus name",
    max: 256,
    extra: "-_./",
    described: "letters, digits, `-`, `_`, `.` and `/`",
    fifo: false,
};
pub(crate) const RULE: NameRule = NameRule {
    what: "rule name",
    max: 64,
    extra: "-_.",
    described: "letters, digits, `-`, `_` and `.`",
    fifo: false,
};

pub(crate) fn check(name: &str, span: Range<usize>, rule: NameRule) -> DResult<()> {
    let base = name
        .strip_suffix(".fifo")
        .filter(|_| rule.fifo)
        .unwrap_or(name);
    let bad = base
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || rule.extra.contains(*c)));
    if base.is_empty() || name.len() > rule.max || bad.is_some() {
        let label = match bad {
            Some(c) => format!("`{c}` is not allowed"),
            None if base.is_empty() => "empty".to_string(),
            None => format!("{} characters, more than {}", name.len(), rule.max),
        };
        return Err(
            Diag::new(span, format!("invalid {} `{name}`", rule.what), label).help(format!(
                "a {} has 1 to {} characters: {}",
                rule.what, rule.max, rule.described
            )),
        );
    }
    Ok(())
}

/// A function name as written in `fn:<name>`: a relative path under `src/`.
pub(crate) fn check_function(name: &str, span: Range<usize>) -> DResult<()> {
    let ok = !name.is_empty()
        && name.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    if !ok {
        return Err(Diag::new(
            span,
            format!("invalid function name `{name}`"),
            "not a function directory under src/",
        )
        .help("name a directory relative to src/, e.g. `fn:events/audit` for src/events/audit"));
    }
    Ok(())
}
