//! Small serde helpers for fields that accept more than one JSON shape.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A text field that also takes any other JSON value as its JSON text (SNS messages and
/// EventBridge details are text; a client that sends an object means its JSON).
pub fn text_or_json<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Err(serde::de::Error::custom("is required")),
        Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

/// As [`text_or_json`], for an optional field (`null` counts as absent).
pub fn opt_text_or_json<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// A time as clients send it: RFC 3339 text or epoch seconds. The host parses it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum TimeInput {
    Text(String),
    EpochSeconds(f64),
}
