//! The compile error shared by event patterns and filter policies.
//!
//! The path is kept apart from the message so a caller that knows where the pattern came
//! from (a manifest line) can locate the exact field, while `Display` still reads well on
//! its own: `detail.total: numeric operator ...`.

use std::fmt;

/// A pattern or policy that cannot be compiled, with the JSON path of the bad field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// Dotted path of the offending field (`detail.total`, `$or[1].source`); empty for the
    /// pattern as a whole.
    pub path: String,
    /// What is wrong, in words meant for the user.
    pub message: String,
}

impl PatternError {
    pub(crate) fn new(path: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for PatternError {}

/// Joins a child key onto a dotted path.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
