//! SNS subscription filter policies, compiled once per subscription.
//!
//! A policy is read either against the message attributes (the default scope: flat keys,
//! typed values) or against the message body parsed as JSON (nested keys, like an
//! EventBridge pattern). The operators are the EventBridge ones SNS supports, from the
//! shared `leaf` module. SNS also bounds a policy's size: at most five keys
//! and at most 150 combinations of values (the product of the array lengths).

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::PatternError;
use super::leaf::{Dialect, Scalar};
use super::node::{FieldKind, Node, Rules};

/// The most keys one policy may test (SNS "filter policy constraints").
pub const MAX_KEYS: usize = 5;
/// The most combinations of values one policy may describe.
pub const MAX_COMBINATIONS: u128 = 150;

/// What a filter policy is matched against (`FilterPolicyScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    MessageAttributes,
    MessageBody,
}

/// One SNS message attribute as published: its `DataType` and its string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeValue {
    pub data_type: String,
    pub value: String,
}

/// A compiled SNS filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    scope: Scope,
    /// `None` for the empty policy `{}`, which SNS treats as "no filtering".
    root: Option<Node>,
}

impl FilterPolicy {
    /// Compiles `policy` for `scope`, enforcing the SNS operator subset, the flat shape of
    /// attribute policies and the key and combination limits.
    pub fn compile(policy: &Value, scope: Scope) -> Result<Self, PatternError> {
        if policy.as_object().is_some_and(|o| o.is_empty()) {
            return Ok(Self { scope, root: None });
        }
        let rules = Rules {
            dialect: Dialect::Sns,
            nesting: scope == Scope::MessageBody,
        };
        let root = Node::compile(policy, "", rules)?;
        let keys = root.keys();
        if keys > MAX_KEYS {
            return Err(PatternError::new(
                "",
                format!("filter policy tests {keys} keys; SNS allows at most {MAX_KEYS}"),
            ));
        }
        let combinations = root.combinations();
        if combinations > MAX_COMBINATIONS {
            return Err(PatternError::new(
                "",
                format!(
                    "filter policy has {combinations} combinations of values (the product of the number of values in each array); SNS allows at most {MAX_COMBINATIONS}"
                ),
            ));
        }
        Ok(Self {
            scope,
            root: Some(root),
        })
    }

    /// The scope the policy was compiled for.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Matches a message by the scope the policy was compiled for.
    pub fn matches_message(
        &self,
        attributes: &BTreeMap<String, AttributeValue>,
        body: &str,
    ) -> bool {
        match self.scope {
            Scope::MessageAttributes => self.matches_attributes(attributes),
            Scope::MessageBody => self.matches_body_text(body),
        }
    }

    /// Matches message attributes (the `MessageAttributes` scope).
    pub fn matches_attributes(&self, attributes: &BTreeMap<String, AttributeValue>) -> bool {
        self.matches_attributes_with(|name| {
            attributes
                .get(name)
                .map(|a| (a.data_type.as_str(), a.value.as_str()))
        })
    }

    /// Matches attributes looked up by name as `(data type, value)`, for callers that keep
    /// attributes in their own type.
    pub fn matches_attributes_with<'a, F>(&self, lookup: F) -> bool
    where
        F: Fn(&str) -> Option<(&'a str, &'a str)>,
    {
        match &self.root {
            None => true,
            Some(root) => attributes_match(root, &lookup),
        }
    }

    /// Matches a message body already parsed as JSON (the `MessageBody` scope).
    pub fn matches_body(&self, body: &Value) -> bool {
        match &self.root {
            None => true,
            Some(root) => root.matches(body.as_object()),
        }
    }

    /// Matches a raw message body; a body that is not a JSON object never matches a
    /// non-empty policy.
    pub fn matches_body_text(&self, body: &str) -> bool {
        match &self.root {
            None => true,
            Some(root) => match serde_json::from_str::<Value>(body) {
                Ok(Value::Object(object)) => root.matches(Some(&object)),
                _ => false,
            },
        }
    }
}

fn attributes_match<'a, F>(node: &Node, lookup: &F) -> bool
where
    F: Fn(&str) -> Option<(&'a str, &'a str)>,
{
    node.fields.iter().all(|field| {
        let FieldKind::Leaf(leaf) = &field.kind else {
            // Attribute policies are compiled without nesting.
            return false;
        };
        match lookup(&field.key).and_then(|(data_type, value)| Typed::read(data_type, value)) {
            None => leaf.matches(std::iter::empty()),
            Some(Typed::String(s)) => leaf.matches(std::iter::once(Scalar::Str(s))),
            Some(Typed::Number(n)) => leaf.matches(std::iter::once(Scalar::Num(n))),
            Some(Typed::Array(items)) => leaf.matches(items.iter().filter_map(Scalar::of)),
            Some(Typed::Unreadable) => leaf.matches(std::iter::empty()),
        }
    }) && node
        .any_of
        .iter()
        .all(|group| group.iter().any(|alt| attributes_match(alt, lookup)))
}

/// An attribute value as SNS compares it. Binary attributes are ignored by SNS filtering,
/// so they read as absent.
enum Typed<'a> {
    String(&'a str),
    Number(f64),
    Array(Vec<Value>),
    Unreadable,
}

impl<'a> Typed<'a> {
    fn read(data_type: &str, value: &'a str) -> Option<Self> {
        if data_type == "String.Array" {
            return Some(match serde_json::from_str::<Value>(value) {
                Ok(Value::Array(items)) => Typed::Array(items),
                _ => Typed::Unreadable,
            });
        }
        // Custom labels (`Number.float`) keep the base type's meaning.
        match data_type.split('.').next().unwrap_or(data_type) {
            "String" => Some(Typed::String(value)),
            "Number" => Some(
                value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .map_or(Typed::Unreadable, Typed::Number),
            ),
            _ => None,
        }
    }
}
