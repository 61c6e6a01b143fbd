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

/// An optional text field that also takes a JSON object as its JSON text (an
/// EventBridge `Detail`); `null` counts as absent, other values are refused.
pub fn opt_text_or_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        object @ Value::Object(_) => Ok(Some(object.to_string())),
        _ => Err(serde::de::Error::custom(
            "must be a string of JSON (or a JSON object)",
        )),
    }
}

/// A field where `null` means the same as leaving it out.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A time as clients send it: RFC 3339 text or epoch seconds. The host parses it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum TimeInput {
    Text(String),
    EpochSeconds(f64),
}
