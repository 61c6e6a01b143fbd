//! Topic operations: `Publish` and its answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text::text_or_json;

/// `Publish`. From a handler, `TopicArn` names the topic (its name or ARN); the control
/// API takes the name from the path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Publish {
    #[serde(default, alias = "topic", skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
    /// Text; a JSON value is sent as its JSON text.
    #[serde(alias = "message", deserialize_with = "text_or_json")]
    pub message: String,
    #[serde(default, alias = "subject", skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// FIFO topics.
    #[serde(default, alias = "groupId", skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
    #[serde(
        default,
        alias = "deduplicationId",
        skip_serializing_if = "Option::is_none"
    )]
    pub message_deduplication_id: Option<String>,
    #[serde(
        default,
        alias = "attributes",
        deserialize_with = "crate::text::null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub message_attributes: BTreeMap<String, AttributeInput>,
}

impl Publish {
    pub fn new(message: impl Into<String>) -> Self {
        Publish {
            message: message.into(),
            ..Publish::default()
        }
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// `MessageGroupId` (FIFO topics).
    pub fn group(mut self, id: impl Into<String>) -> Self {
        self.message_group_id = Some(id.into());
        self
    }

    /// `MessageDeduplicationId` (FIFO topics without content-based deduplication).
    pub fn dedup(mut self, id: impl Into<String>) -> Self {
        self.message_deduplication_id = Some(id.into());
        self
    }

    /// A `String` message attribute (what filter policies match on).
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.message_attributes
            .insert(name.into(), AttributeInput::Text(value.into()));
        self
    }

    /// A `Number` message attribute.
    pub fn number_attribute(mut self, name: impl Into<String>, value: f64) -> Self {
        self.message_attributes.insert(
            name.into(),
            AttributeInput::Typed(serde_json::json!({
                "DataType": "Number", "StringValue": value.to_string()
            })),
        );
        self
    }
}

/// An SNS message attribute as clients send it: text (`String`), a number (`Number`), an
/// array (`String.Array`), or `{DataType, StringValue | BinaryValue}`. The typed form is
/// checked by the host, which names what is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeInput {
    Text(String),
    Number(serde_json::Number),
    Array(Vec<serde_json::Value>),
    Typed(serde_json::Value),
}

/// What `Publish` answers, plus what the sandbox did with the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishResult {
    pub message_id: String,
    /// FIFO topics only.
    #[serde(default)]
    pub sequence_number: Option<String>,
    /// A duplicate within the deduplication window: accepted, nothing delivered.
    #[serde(default)]
    pub duplicate: bool,
    /// Queue subscribers that received it.
    #[serde(default)]
    pub queues: Vec<String>,
    /// Function subscribers queued for invocation.
    #[serde(default)]
    pub function_deliveries: usize,
    /// Subscriptions whose filter policy rejected it.
    #[serde(default)]
    pub filtered: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_publish_requests_in_either_spelling() {
        let p: Publish = serde_json::from_value(json!({
            "message": {"a": 1}, "subject": "s",
            "attributes": {"color": "red", "n": 3, "tags": ["a"], "b": {"DataType": "Binary", "BinaryValue": "aGk="}},
        }))
        .unwrap();
        assert_eq!(p.message, "{\"a\":1}");
        assert_eq!(p.subject.as_deref(), Some("s"));
        assert!(matches!(
            p.message_attributes["tags"],
            AttributeInput::Array(_)
        ));
        let aws: Publish =
            serde_json::from_value(json!({"TopicArn": "t", "Message": "m", "MessageGroupId": "g"}))
                .unwrap();
        assert_eq!(aws.message_group_id.as_deref(), Some("g"));
        for bad in [
            json!("text"),
            json!({}),
            json!({"message": "m", "extra": 1}),
        ] {
            assert!(
                serde_json::from_value::<Publish>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }
}
