//! Publishing to the app's topics from a handler, through `sandbox.call` (see `host`),
//! as `@architect/functions`' `events.publish` does:
//!
//! ```no_run
//! # fn main() -> Result<(), sandbox_sdk::Error> {
//! use sandbox_sdk::topics::{self, Message};
//!
//! topics::publish("yolo", r#"{"message":"swag"}"#)?;
//! topics::send("orders", Message::new("order 7").subject("new order").attribute("kind", "big"))?;
//! topics::send("audit.fifo", Message::new("order 7").group("customer-1").dedup("7"))?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Error;

/// A message with SNS's `Publish` options.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deduplication_id: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, serde_json::Value>,
}

impl Message {
    pub fn new(message: impl Into<String>) -> Self {
        Message {
            message: message.into(),
            subject: None,
            group_id: None,
            deduplication_id: None,
            attributes: BTreeMap::new(),
        }
    }

    /// `Subject` (up to 100 characters).
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// `MessageGroupId` (required on FIFO topics).
    pub fn group(mut self, id: impl Into<String>) -> Self {
        self.group_id = Some(id.into());
        self
    }

    /// `MessageDeduplicationId` (FIFO topics without content-based deduplication).
    pub fn dedup(mut self, id: impl Into<String>) -> Self {
        self.deduplication_id = Some(id.into());
        self
    }

    /// A `String` message attribute (what attribute filter policies read).
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes
            .insert(name.into(), serde_json::Value::String(value.into()));
        self
    }

    /// A `Number` message attribute.
    pub fn number_attribute(mut self, name: impl Into<String>, value: f64) -> Self {
        self.attributes.insert(
            name.into(),
            serde_json::json!({"DataType": "Number", "StringValue": value.to_string()}),
        );
        self
    }
}

/// What SNS answers to Publish, plus where the sandbox delivered it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub message_id: String,
    pub sequence_number: Option<String>,
    /// A FIFO duplicate within the 5-minute window: accepted, not delivered again.
    #[serde(default)]
    pub duplicate: bool,
}

/// Publishes `message` to `topic`.
pub fn publish(topic: &str, message: impl Into<String>) -> Result<Published, Error> {
    send(topic, Message::new(message))
}

/// Publishes a message with options to `topic`.
pub fn send(topic: &str, message: Message) -> Result<Published, Error> {
    #[derive(Serialize)]
    struct Publish<'a> {
        topic: &'a str,
        #[serde(flatten)]
        message: Message,
    }
    crate::host::call("topics", "publish", &Publish { topic, message })
}
