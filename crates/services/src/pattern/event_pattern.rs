//! EventBridge event patterns, compiled once per rule.
//!
//! A pattern mirrors the event's structure: every key must match (AND), the values in a
//! field's array are alternatives (OR), and `$or` offers alternative sub-patterns. See
//! the EventBridge user guide, "Content filtering in Amazon EventBridge event patterns".

use serde_json::Value;

use super::error::PatternError;
use super::leaf::Dialect;
use super::node::{Node, Rules};

/// A compiled EventBridge event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern {
    root: Node,
}

impl EventPattern {
    /// Compiles a pattern, refusing what EventBridge's `PutRule` refuses (empty objects or
    /// arrays, non-array values, unknown operators, malformed ranges), with the path of the
    /// offending field.
    pub fn compile(pattern: &Value) -> Result<Self, PatternError> {
        let rules = Rules {
            dialect: Dialect::EventBridge,
            nesting: true,
        };
        Ok(Self {
            root: Node::compile(pattern, "", rules)?,
        })
    }

    /// Whether `event` (the full envelope: `source`, `detail-type`, `detail`, ...) matches.
    pub fn matches(&self, event: &Value) -> bool {
        self.root.matches(event.as_object())
    }
}
