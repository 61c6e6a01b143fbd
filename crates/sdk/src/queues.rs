//! Sending to the app's queues from a handler, as `@architect/functions`'
//! `queues.publish` does:
//!
//! ```no_run
//! # fn main() -> Result<(), sandbox_sdk::Error> {
//! use sandbox_sdk::queues::{self, Message};
//!
//! queues::publish("account-signup", r#"{"email":"a@example.com"}"#)?;
//! queues::send("orders.fifo", Message::new("order 7").group("customer-1").dedup("7"))?;
//! # Ok(()) }
//! ```
//!
//! The queues a handler can reach are listed in its environment: `SANDBOX_QUEUES`
//! (comma-separated names).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Error;

/// A message with SQS's options.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deduplication_id: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
}

impl Message {
    pub fn new(body: impl Into<String>) -> Self {
        Message {
            body: body.into(),
            delay_seconds: None,
            group_id: None,
            deduplication_id: None,
            attributes: BTreeMap::new(),
        }
    }

    /// `DelaySeconds` (standard queues; 0–900).
    pub fn delay(mut self, seconds: u32) -> Self {
        self.delay_seconds = Some(seconds);
        self
    }

    /// `MessageGroupId` (required on FIFO queues).
    pub fn group(mut self, id: impl Into<String>) -> Self {
        self.group_id = Some(id.into());
        self
    }

    /// `MessageDeduplicationId` (FIFO queues without content-based deduplication).
    pub fn dedup(mut self, id: impl Into<String>) -> Self {
        self.deduplication_id = Some(id.into());
        self
    }

    /// A `String` message attribute.
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

/// What SQS answers to SendMessage.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    pub message_id: String,
    pub md5_of_message_body: String,
    pub sequence_number: Option<String>,
    /// A FIFO duplicate within the 5-minute window: accepted, not enqueued again.
    #[serde(default)]
    pub duplicate: bool,
}

/// Sends `body` to `queue`.
pub fn publish(queue: &str, body: impl Into<String>) -> Result<Sent, Error> {
    send(queue, Message::new(body))
}

/// Sends a message with options to `queue`.
pub fn send(queue: &str, message: Message) -> Result<Sent, Error> {
    #[derive(Serialize)]
    struct Send<'a> {
        queue: &'a str,
        #[serde(flatten)]
        message: Message,
    }
    crate::host::call("queues", "send", &Send { queue, message })
}
