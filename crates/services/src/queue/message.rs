//! One SQS message and the two checksums SQS returns for it.
//!
//! A message is plain data: the queue decides when it is visible, the message only records
//! what SQS reports about it (receive count, first receive time, FIFO group and sequence
//! number, the queue it was dead-lettered from). The MD5 digests are computed once when the
//! message is sent, because every delivery puts them into the Lambda event again.
//!
//! `MD5OfMessageAttributes` follows SQS's documented encoding, so an AWS SDK that verifies it
//! against what it sent accepts ours: attributes sorted by name, each encoded as
//! length-prefixed name, length-prefixed data type, one transport byte (1 = String/Number,
//! 2 = Binary) and the length-prefixed value, all lengths 4-byte big-endian.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};

/// SQS allows at most this many message attributes on one message.
pub const MAX_ATTRIBUTES: usize = 10;

/// Message attributes by name; a `BTreeMap` so they are already in the order the MD5 needs.
pub type MessageAttributes = BTreeMap<String, MessageAttribute>;

/// One message attribute as SQS stores it (`DataType` plus a string or binary value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageAttribute {
    /// `String`, `Number`, `Binary`, or one of them with a custom suffix (`Number.float`).
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// Shown as base64 when serialized (control API), as SQS shows it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "base64_bytes",
        deserialize_with = "from_base64"
    )]
    pub binary_value: Option<Vec<u8>>,
}

fn base64_bytes<S: serde::Serializer>(
    value: &Option<Vec<u8>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use base64::Engine as _;
    match value {
        Some(bytes) => {
            serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        None => serializer.serialize_none(),
    }
}

/// The way back from [`base64_bytes`], for a message read back from a store.
fn from_base64<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<u8>>, D::Error> {
    use base64::Engine as _;
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    text.map(|t| {
        base64::engine::general_purpose::STANDARD
            .decode(t)
            .map_err(serde::de::Error::custom)
    })
    .transpose()
}

impl MessageAttribute {
    pub fn string(value: impl Into<String>) -> Self {
        MessageAttribute {
            data_type: "String".to_string(),
            string_value: Some(value.into()),
            binary_value: None,
        }
    }

    pub fn number(value: impl Into<String>) -> Self {
        MessageAttribute {
            data_type: "Number".to_string(),
            string_value: Some(value.into()),
            binary_value: None,
        }
    }

    pub fn binary(value: impl Into<Vec<u8>>) -> Self {
        MessageAttribute {
            data_type: "Binary".to_string(),
            string_value: None,
            binary_value: Some(value.into()),
        }
    }

    /// The base type before any custom suffix: `Number.float` → `Number`.
    fn base_type(&self) -> &str {
        self.data_type
            .split_once('.')
            .map_or(self.data_type.as_str(), |(base, _)| base)
    }

    /// The value bytes the MD5 and the size limit see.
    fn value_bytes(&self) -> &[u8] {
        match (&self.string_value, &self.binary_value) {
            (Some(s), _) => s.as_bytes(),
            (None, Some(b)) => b,
            (None, None) => &[],
        }
    }
}

/// Why a message attribute was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    #[error(
        "a message can have at most {MAX_ATTRIBUTES} message attributes, this one has {count}"
    )]
    TooMany { count: usize },
    #[error("invalid message attribute name `{name}`: {problem}")]
    InvalidName { name: String, problem: &'static str },
    #[error(
        "message attribute `{name}` has data type `{data_type}`; it must be String, Number or Binary, optionally followed by `.` and a custom label (e.g. Number.float)"
    )]
    InvalidDataType { name: String, data_type: String },
    #[error("message attribute `{name}` of type {data_type} needs a {needs} value")]
    MissingValue {
        name: String,
        data_type: String,
        needs: &'static str,
    },
}

/// Checks attributes the way SQS does before accepting a message.
pub fn validate_attributes(attributes: &MessageAttributes) -> Result<(), AttributeError> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(AttributeError::TooMany {
            count: attributes.len(),
        });
    }
    for (name, attribute) in attributes {
        validate_name(name)?;
        let (needs, ok) = match attribute.base_type() {
            "String" | "Number" => (
                "string",
                attribute
                    .string_value
                    .as_deref()
                    .is_some_and(|s| !s.is_empty()),
            ),
            "Binary" => (
                "binary",
                attribute
                    .binary_value
                    .as_ref()
                    .is_some_and(|b| !b.is_empty()),
            ),
            _ => {
                return Err(AttributeError::InvalidDataType {
                    name: name.clone(),
                    data_type: attribute.data_type.clone(),
                })
            }
        };
        if attribute.data_type.len() > 256 || attribute.data_type.ends_with('.') {
            return Err(AttributeError::InvalidDataType {
                name: name.clone(),
                data_type: attribute.data_type.clone(),
            });
        }
        if !ok {
            return Err(AttributeError::MissingValue {
                name: name.clone(),
                data_type: attribute.data_type.clone(),
                needs,
            });
        }
    }
    Ok(())
}

fn validate_name(name: &str) -> Result<(), AttributeError> {
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 256 {
        Some("it is longer than 256 characters")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        Some("only letters, digits, `_`, `-` and `.` are allowed")
    } else if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        Some("it cannot start or end with `.` or contain `..`")
    } else {
        let lower = name.to_ascii_lowercase();
        (lower.starts_with("aws.") || lower.starts_with("amazon."))
            .then_some("the prefixes `AWS.` and `Amazon.` are reserved")
    };
    match problem {
        Some(problem) => Err(AttributeError::InvalidName {
            name: name.to_string(),
            problem,
        }),
        None => Ok(()),
    }
}

/// Bytes the attributes add to the message size: name, data type and value, as SQS counts them.
pub fn attributes_size(attributes: &MessageAttributes) -> usize {
    attributes
        .iter()
        .map(|(name, a)| name.len() + a.data_type.len() + a.value_bytes().len())
        .sum()
}

/// Lower-case hex MD5 of the UTF-8 body (`MD5OfMessageBody`, `md5OfBody`).
pub fn md5_of_body(body: &str) -> String {
    hex(&Md5::digest(body.as_bytes()))
}

/// `MD5OfMessageAttributes` exactly as SQS computes it; `None` when there are no attributes
/// (SQS then leaves the field out).
pub fn md5_of_message_attributes(attributes: &MessageAttributes) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    fn put(md5: &mut Md5, bytes: &[u8]) {
        // A value over 4 GiB cannot pass the size limit, so the cast never truncates.
        md5.update((bytes.len() as u32).to_be_bytes());
        md5.update(bytes);
    }
    let mut md5 = Md5::new();
    // BTreeMap iteration is the byte-wise name order SQS sorts by.
    for (name, attribute) in attributes {
        put(&mut md5, name.as_bytes());
        put(&mut md5, attribute.data_type.as_bytes());
        let transport: u8 = if attribute.base_type() == "Binary" {
            2
        } else {
            1
        };
        md5.update([transport]);
        put(&mut md5, attribute.value_bytes());
    }
    Some(hex(&md5.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    // A table, not `write!` per byte: this runs twice for every message sent.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// One message with everything SQS reports about it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// A UUID v4, like SQS's `MessageId`.
    pub id: String,
    pub body: String,
    pub attributes: MessageAttributes,
    /// `SentTimestamp`: when it was first sent; kept through DLQ moves and redrives.
    pub sent_at: DateTime<Utc>,
    /// `ApproximateFirstReceiveTimestamp`.
    pub first_received_at: Option<DateTime<Utc>>,
    /// `ApproximateReceiveCount`: deliveries so far.
    pub receive_count: u32,
    /// `SenderId`: who sent it (a function name, `sandbox` for the control API, ...).
    pub sender_id: String,
    /// FIFO `MessageGroupId` (standard queues may carry one too, for fair queues).
    pub group_id: Option<String>,
    /// FIFO `MessageDeduplicationId` (explicit, or the SHA-256 of the body).
    pub dedup_id: Option<String>,
    /// FIFO `SequenceNumber`: 20 decimal digits, increasing within a queue.
    pub sequence_number: Option<String>,
    /// The queue this message was dead-lettered from, while it sits in a DLQ.
    pub dead_letter_source: Option<String>,
    pub md5_of_body: String,
    pub md5_of_message_attributes: Option<String>,
    /// Where the retention period counts from: the send time, except that a FIFO DLQ
    /// restarts it when the message arrives (AWS "Setting-up dead-letter queue retention").
    pub retained_since: DateTime<Utc>,
    /// Invocations that led to this message (Lambda's recursive loop detection,
    /// `crate::recursion`). Absent from images stored before it existed: 0.
    #[serde(default)]
    pub hops: u32,
}

impl Message {
    /// A fresh message with a new id and its digests computed; the queue fills in the rest.
    pub fn new(
        body: String,
        attributes: MessageAttributes,
        sender_id: String,
        now: DateTime<Utc>,
    ) -> Self {
        Message {
            id: uuid::Uuid::new_v4().to_string(),
            md5_of_body: md5_of_body(&body),
            md5_of_message_attributes: md5_of_message_attributes(&attributes),
            body,
            attributes,
            sent_at: now,
            first_received_at: None,
            receive_count: 0,
            sender_id,
            group_id: None,
            dedup_id: None,
            sequence_number: None,
            dead_letter_source: None,
            retained_since: now,
            hops: 0,
        }
    }

    /// Body plus attribute bytes: what the queue's maximum message size limits.
    pub fn size(&self) -> usize {
        self.body.len() + attributes_size(&self.attributes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(list: &[(&str, MessageAttribute)]) -> MessageAttributes {
        list.iter()
            .map(|(n, a)| (n.to_string(), a.clone()))
            .collect()
    }

    #[test]
    fn md5_of_body_matches_aws_examples() {
        // AWS's example FIFO event (Lambda developer guide, "Using Lambda with Amazon SQS").
        // (The aws_lambda_events fixture's md5OfBody is not the digest of its body.)
        assert_eq!(
            md5_of_body("Test message."),
            "e4e68fb7bd0e697a0ae8f1bb342846b3"
        );
        assert_eq!(md5_of_body("test"), "098f6bcd4621d373cade4e832627b4f6");
    }

    // Vectors published with the npm package `aws-md5-of-message-attributes`, which checks
    // them against real SQS responses.
    #[test]
    fn md5_of_a_string_attribute() {
        let a = attrs(&[("attribName1", MessageAttribute::string("attribValue 1"))]);
        assert_eq!(
            md5_of_message_attributes(&a).as_deref(),
            Some("19e27d4e946b072f3f58da80d94fd778")
        );
    }

    #[test]
    fn md5_of_a_custom_number_attribute() {
        let mut n = MessageAttribute::number("4563442423554324324264524243.32543234");
        n.data_type = "Number.float".to_string();
        let a = attrs(&[("customNumberTypeAttrib", n)]);
        assert_eq!(
            md5_of_message_attributes(&a).as_deref(),
            Some("9fe1b90bbd9965bdf77bac517c7d2495")
        );
    }

    #[test]
    fn md5_of_a_binary_attribute() {
        let a = attrs(&[(
            "binaryAttribute",
            MessageAttribute::binary(b"Hello binary world!".to_vec()),
        )]);
        assert_eq!(
            md5_of_message_attributes(&a).as_deref(),
            Some("31a92b15d92f8db860eda32aceb656c3")
        );
    }

    #[test]
    fn md5_of_several_attributes_sorts_by_name() {
        let mut n = MessageAttribute::number("4563442423554324324264524243.32543234");
        n.data_type = "Number.float".to_string();
        let a = attrs(&[
            ("attribName1", MessageAttribute::string("attribValue 1")),
            ("customNumberTypeAttrib", n),
            (
                "binaryAttribute",
                MessageAttribute::binary(b"Hello binary world!".to_vec()),
            ),
        ]);
        assert_eq!(
            md5_of_message_attributes(&a).as_deref(),
            Some("c932db14a896c663f83c260297d594ff")
        );
    }

    #[test]
    fn no_attributes_means_no_md5() {
        assert_eq!(md5_of_message_attributes(&MessageAttributes::new()), None);
    }

    #[test]
    fn attribute_validation() {
        let ok = attrs(&[("a.b-c_1", MessageAttribute::string("x"))]);
        assert_eq!(validate_attributes(&ok), Ok(()));
        let bad_type = attrs(&[(
            "a",
            MessageAttribute {
                data_type: "Text".into(),
                string_value: Some("x".into()),
                binary_value: None,
            },
        )]);
        assert!(matches!(
            validate_attributes(&bad_type),
            Err(AttributeError::InvalidDataType { .. })
        ));
        let missing = attrs(&[(
            "a",
            MessageAttribute {
                data_type: "Binary".into(),
                string_value: Some("x".into()),
                binary_value: None,
            },
        )]);
        assert!(matches!(
            validate_attributes(&missing),
            Err(AttributeError::MissingValue { .. })
        ));
        let reserved = attrs(&[("AWS.trace", MessageAttribute::string("x"))]);
        assert!(matches!(
            validate_attributes(&reserved),
            Err(AttributeError::InvalidName { .. })
        ));
        let many: MessageAttributes = (0..11)
            .map(|i| (format!("a{i}"), MessageAttribute::string("x")))
            .collect();
        assert_eq!(
            validate_attributes(&many),
            Err(AttributeError::TooMany { count: 11 })
        );
    }

    #[test]
    fn binary_values_serialize_as_base64() {
        let json =
            serde_json::to_string(&MessageAttribute::binary(b"hi".to_vec())).unwrap_or_default();
        assert_eq!(json, r#"{"data_type":"Binary","binary_value":"aGk="}"#);
    }

    #[test]
    fn size_counts_body_and_attributes() {
        let m = Message::new(
            "hello".into(),
            attrs(&[("k", MessageAttribute::string("vv"))]),
            "s".into(),
            Utc::now(),
        );
        // 5 body + 1 name + 6 "String" + 2 value
        assert_eq!(m.size(), 14);
    }
}
