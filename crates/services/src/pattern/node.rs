//! The compiled shape of a pattern: an AND of fields, each either a leaf or a nested
//! pattern, plus `$or` groups of alternative sub-patterns.
//!
//! The same tree serves EventBridge patterns and SNS message-body policies (which nest the
//! same way); SNS attribute policies use it with nesting switched off.

use serde_json::{Map, Value};

use super::error::{join, PatternError};
use super::leaf::{Dialect, Leaf, Scalar};

/// One level of a pattern: every field must match, and every `$or` group must have one
/// matching alternative.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) fields: Vec<Field>,
    pub(crate) any_of: Vec<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub(crate) key: String,
    pub(crate) kind: FieldKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldKind {
    Leaf(Leaf),
    Nested(Node),
}

/// Compile-time switches that differ between the front ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub(crate) dialect: Dialect,
    /// SNS attribute policies are flat: a nested object is an error, not a sub-pattern.
    pub(crate) nesting: bool,
}

impl Node {
    pub(crate) fn compile(value: &Value, path: &str, rules: Rules) -> Result<Self, PatternError> {
        let Value::Object(object) = value else {
            return Err(PatternError::new(
                path,
                format!("a pattern must be a JSON object, got {value}"),
            ));
        };
        if object.is_empty() {
            return Err(PatternError::new(path, "empty objects are not allowed"));
        }
        let mut node = Node {
            fields: Vec::new(),
            any_of: Vec::new(),
        };
        for (key, value) in object {
            let here = join(path, key);
            if key == "$or" {
                node.any_of.push(compile_or(value, &here, rules)?);
                continue;
            }
            let kind = match value {
                Value::Array(alternatives) => {
                    FieldKind::Leaf(Leaf::compile(alternatives, &here, rules.dialect)?)
                }
                Value::Object(_) if rules.nesting => {
                    FieldKind::Nested(Node::compile(value, &here, rules)?)
                }
                Value::Object(_) => {
                    return Err(PatternError::new(
                        &here,
                        "nested keys are not allowed with the MessageAttributes scope (use MessageBody)",
                    ))
                }
                _ => {
                    return Err(PatternError::new(
                        &here,
                        format!("values must be an array (or an object for nested fields), got {value}"),
                    ))
                }
            };
            node.fields.push(Field {
                key: key.clone(),
                kind,
            });
        }
        // Leaves are cheaper than descending, and usually more selective (`source`,
        // `detail-type`), so test them first; the result does not depend on the order.
        node.fields
            .sort_by_key(|f| matches!(f.kind, FieldKind::Nested(_)));
        Ok(node)
    }

    /// Matches against the object at this level; `None` stands for a missing field or a
    /// non-object value, where every field is absent.
    pub(crate) fn matches(&self, object: Option<&Map<String, Value>>) -> bool {
        self.fields.iter().all(|field| {
            let value = object.and_then(|o| o.get(&field.key));
            match &field.kind {
                FieldKind::Leaf(leaf) => leaf_matches(leaf, value),
                FieldKind::Nested(node) => nested_matches(node, value),
            }
        }) && self
            .any_of
            .iter()
            .all(|group| group.iter().any(|alt| alt.matches(object)))
    }

    /// SNS complexity: the product of the alternatives of every field, with an `$or` group
    /// contributing the sum of its branches.
    pub(crate) fn combinations(&self) -> u128 {
        let fields = self.fields.iter().fold(1u128, |acc, field| {
            acc.saturating_mul(match &field.kind {
                FieldKind::Leaf(leaf) => leaf.width() as u128,
                FieldKind::Nested(node) => node.combinations(),
            })
        });
        self.any_of.iter().fold(fields, |acc, group| {
            acc.saturating_mul(group.iter().map(Node::combinations).sum())
        })
    }

    /// How many leaf keys one branch of the pattern can test at once (an `$or` group counts
    /// its widest branch).
    pub(crate) fn keys(&self) -> usize {
        let fields: usize = self
            .fields
            .iter()
            .map(|field| match &field.kind {
                FieldKind::Leaf(_) => 1,
                FieldKind::Nested(node) => node.keys(),
            })
            .sum();
        fields
            + self
                .any_of
                .iter()
                .map(|group| group.iter().map(Node::keys).max().unwrap_or(0))
                .sum::<usize>()
    }
}

fn compile_or(value: &Value, path: &str, rules: Rules) -> Result<Vec<Node>, PatternError> {
    let Value::Array(alternatives) = value else {
        return Err(PatternError::new(
            path,
            format!("`$or` takes an array of patterns, got {value}"),
        ));
    };
    if alternatives.is_empty() {
        return Err(PatternError::new(path, "empty arrays are not allowed"));
    }
    alternatives
        .iter()
        .enumerate()
        .map(|(i, alt)| Node::compile(alt, &format!("{path}[{i}]"), rules))
        .collect()
}

/// The leaf values of an event field: the scalar itself, or the scalars of an array (an
/// array field matches when any element does).
fn leaf_matches(leaf: &Leaf, value: Option<&Value>) -> bool {
    match value {
        Some(Value::Array(items)) => leaf.matches(items.iter().filter_map(Scalar::of)),
        Some(value) => leaf.matches(Scalar::of(value).into_iter()),
        None => leaf.matches(std::iter::empty()),
    }
}

/// A nested pattern against an array of objects matches when one element matches it
/// whole, so fields tested together come from the same element.
fn nested_matches(node: &Node, value: Option<&Value>) -> bool {
    match value {
        Some(Value::Object(object)) => node.matches(Some(object)),
        Some(Value::Array(items)) if items.iter().any(Value::is_object) => items
            .iter()
            .filter_map(Value::as_object)
            .any(|object| node.matches(Some(object))),
        _ => node.matches(None),
    }
}
