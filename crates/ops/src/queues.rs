//! Queue operations: `SendMessage` and the control API's views of queues and messages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `SendMessage`. From a handler, `QueueUrl` names the queue (its name, URL or ARN); the
/// control API takes the name from the path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SendMessage {
    #[serde(default, alias = "queue", skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    #[serde(alias = "body")]
    pub message_body: String,
    /// 0–900 (standard queues).
    #[serde(
        default,
        alias = "delaySeconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub delay_seconds: Option<u64>,
    /// Required on FIFO queues.
    #[serde(default, alias = "groupId", skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
    /// FIFO queues without content-based deduplication.
    #[serde(
        default,
        alias = "deduplicationId",
        skip_serializing_if = "Option::is_none"
    )]
    pub message_deduplication_id: Option<String>,
    #[serde(
        default,
        alias = "attributes",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub message_attributes: BTreeMap<String, MessageAttributeValue>,
}

impl SendMessage {
    pub fn new(body: impl Into<String>) -> Self {
        SendMessage {
            message_body: body.into(),
            ..SendMessage::default()
        }
    }

    /// `DelaySeconds` (standard queues; 0–900).
    pub fn delay(mut self, seconds: u32) -> Self {
        self.delay_seconds = Some(u64::from(seconds));
        self
    }

    /// `MessageGroupId` (required on FIFO queues).
    pub fn group(mut self, id: impl Into<String>) -> Self {
        self.message_group_id = Some(id.into());
        self
    }

    /// `MessageDeduplicationId` (FIFO queues without content-based deduplication).
    pub fn dedup(mut self, id: impl Into<String>) -> Self {
        self.message_deduplication_id = Some(id.into());
        self
    }

    /// A `String` message attribute.
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.message_attributes
            .insert(name.into(), MessageAttributeValue::Text(value.into()));
        self
    }
}

/// A message attribute as clients send it: text (a `String`), a number (a `Number`), or
/// SQS's own `{DataType, StringValue | BinaryValue}` (binary as base64).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, try_from = "serde_json::Value")]
pub enum MessageAttributeValue {
    Text(String),
    Number(serde_json::Number),
    Typed(TypedAttribute),
}

impl TryFrom<serde_json::Value> for MessageAttributeValue {
    type Error = String;

    /// Says what is wrong in words (an untagged enum would only say "no variant matched").
    fn try_from(value: serde_json::Value) -> Result<Self, String> {
        use serde_json::Value;
        match value {
            Value::String(text) => Ok(MessageAttributeValue::Text(text)),
            Value::Number(n) => Ok(MessageAttributeValue::Number(n)),
            Value::Object(_) => serde_json::from_value(value)
                .map(MessageAttributeValue::Typed)
                .map_err(|e| {
                    format!("{e}; an attribute is {{\"DataType\": \"String\" | \"Number\" | \"Binary\", \"StringValue\" | \"BinaryValue\" (base64)}}")
                }),
            _ => Err(
                "must be a string, a number, or {DataType, StringValue | BinaryValue}".to_string(),
            ),
        }
    }
}

/// SQS's `MessageAttributeValue`. Its other members (`StringListValues`,
/// `BinaryListValues`, reserved by SQS) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TypedAttribute {
    /// `String`, `Number`, `Binary`, or one of them with a custom suffix (`Number.float`).
    #[serde(alias = "dataType")]
    pub data_type: String,
    #[serde(
        default,
        alias = "stringValue",
        skip_serializing_if = "Option::is_none"
    )]
    pub string_value: Option<String>,
    /// Base64.
    #[serde(
        default,
        alias = "binaryValue",
        skip_serializing_if = "Option::is_none"
    )]
    pub binary_value: Option<String>,
}

/// What `SendMessage` answers (plus `duplicate`: a FIFO duplicate within the 5-minute
/// window was accepted but not enqueued again, and `messageId` is the original's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageResult {
    pub message_id: String,
    pub md5_of_message_body: String,
    #[serde(default)]
    pub md5_of_message_attributes: Option<String>,
    #[serde(default)]
    pub sequence_number: Option<String>,
    #[serde(default)]
    pub duplicate: bool,
}

/// `GET /_sandbox/queues`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueList {
    pub queues: Vec<QueueSummary>,
}

/// One queue's counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueSummary {
    pub name: String,
    pub fifo: bool,
    /// The function consuming it, if any.
    pub consumer: Option<String>,
    pub visible: usize,
    pub in_flight: usize,
    pub delayed: usize,
    pub oldest_age_seconds: Option<u64>,
    pub expired_total: u64,
    pub dead_lettered_total: u64,
    pub dead_letter_queue: Option<DeadLetterSummary>,
}

/// A queue's dead-letter queue and how much it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterSummary {
    pub name: String,
    pub max_receive_count: u32,
    pub depth: usize,
}

/// `GET /_sandbox/queues/{name}/messages`: every message, changing nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageList {
    pub messages: Vec<MessageView>,
}

/// One message and its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub message_id: String,
    pub body: String,
    pub receive_count: u32,
    pub sent_at: String,
    pub first_received_at: Option<String>,
    pub sender_id: String,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
    pub sequence_number: Option<String>,
    pub dead_letter_source: Option<String>,
    pub md5_of_body: String,
    pub md5_of_message_attributes: Option<String>,
    /// Name → `{dataType, stringValue | binaryValue}` as the message carries them.
    pub attributes: serde_json::Value,
    /// `visible`, `delayed` or `inFlight`.
    pub state: String,
    /// When a delayed or in-flight message becomes visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// `DELETE /_sandbox/queues/{name}/messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    pub purged: usize,
}

/// `POST /_sandbox/queues/{name}/redrive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redriven {
    pub moved: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn takes_aws_names_and_the_control_apis_short_ones() {
        let aws: SendMessage = serde_json::from_value(json!({
            "QueueUrl": "jobs", "MessageBody": "hi", "DelaySeconds": 5,
            "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "1"}}
        }))
        .unwrap();
        let short: SendMessage = serde_json::from_value(json!({
            "queue": "jobs", "body": "hi", "delaySeconds": 5,
            "attributes": {"n": {"dataType": "Number", "stringValue": "1"}}
        }))
        .unwrap();
        assert_eq!(aws, short);
        let shorthand: SendMessage =
            serde_json::from_value(json!({"body": "x", "attributes": {"a": "t", "b": 2}})).unwrap();
        assert_eq!(
            shorthand.message_attributes["a"],
            MessageAttributeValue::Text("t".into())
        );
        assert!(matches!(
            shorthand.message_attributes["b"],
            MessageAttributeValue::Number(_)
        ));
        assert!(serde_json::from_value::<SendMessage>(json!({"body": "x", "extra": 1})).is_err());
        assert!(serde_json::from_value::<SendMessage>(json!({"body": 1})).is_err());
        let e = serde_json::from_value::<SendMessage>(
            json!({"body": "x", "attributes": {"a": {"StringValue": "v"}}}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("missing field `DataType`"), "{e}");
        assert!(serde_json::from_value::<SendMessage>(
            json!({"body": "x", "attributes": {"a": true}})
        )
        .is_err());
    }

    #[test]
    fn the_sdk_sends_aws_names() {
        let sent =
            serde_json::to_value(SendMessage::new("hi").group("g").attribute("a", "b")).unwrap();
        assert_eq!(
            sent,
            json!({"MessageBody": "hi", "MessageGroupId": "g", "MessageAttributes": {"a": "b"}})
        );
    }
}
