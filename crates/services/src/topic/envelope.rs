//! What an SNS notification looks like on the wire: the JSON envelope an SQS subscriber
//! receives, the Lambda event a function subscriber receives, and SNS message attributes
//! as SQS message attributes for raw delivery.
//!
//! The two JSON shapes differ in small ways real code trips over (aws-semantics.md,
//! "SNS → Lambda"): the SQS envelope spells `SigningCertURL`/`UnsubscribeURL`, leaves
//! `Subject` out when there is none and `MessageAttributes` out when there are none; the
//! Lambda record spells `SigningCertUrl`/`UnsubscribeUrl`, has `"Subject": null` and always
//! has `MessageAttributes` (`{}` when empty). FIFO topics add `SequenceNumber` and do not
//! sign, so `SignatureVersion`, `Signature` and the certificate URL are left out.
//! Nothing is really signed: `Signature` is a fixed fake so signature-checking code fails
//! loudly instead of trusting the sandbox.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::queue::{MessageAttribute, MessageAttributes};

pub use sandbox_ops::aws::{subscription_arn, topic_arn};

/// base64 of "sandbox notifications are not signed".
pub const FAKE_SIGNATURE: &str = "c2FuZGJveCBub3RpZmljYXRpb25zIGFyZSBub3Qgc2lnbmVk";
const SIGNING_CERT_URL: &str =
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sandbox-not-signed.pem";

/// `ENDPOINT/?Action=Unsubscribe&SubscriptionArn=…`: a GET on it unsubscribes, as on AWS.
fn unsubscribe_url(n: &Notification, subscription_id: &str) -> String {
    format!(
        "{}/?Action=Unsubscribe&SubscriptionArn={}",
        n.endpoint.trim_end_matches('/'),
        subscription_arn(&n.topic, subscription_id)
    )
}

/// `2026-01-01T00:00:00.000Z`: SNS timestamps always carry milliseconds.
pub fn iso_millis(t: DateTime<Utc>) -> String {
    crate::rfc3339_millis(t)
}

/// One SNS message attribute: `DataType` (`String`, `String.Array`, `Number`, `Binary`,
/// optionally with a custom suffix) and its value as SNS shows it (`Binary` as base64,
/// `String.Array` as JSON array text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AttributeValue {
    pub data_type: String,
    pub value: String,
}

impl AttributeValue {
    pub fn new(data_type: impl Into<String>, value: impl Into<String>) -> Self {
        AttributeValue {
            data_type: data_type.into(),
            value: value.into(),
        }
    }

    pub fn string(value: impl Into<String>) -> Self {
        AttributeValue::new("String", value)
    }

    fn base_type(&self) -> &str {
        if self.data_type == "String.Array" {
            return "String.Array";
        }
        self.data_type
            .split_once('.')
            .map_or(self.data_type.as_str(), |(base, _)| base)
    }
}

/// Checks one attribute as `Publish` does; the error says what is wrong.
pub fn validate_attribute(name: &str, a: &AttributeValue) -> Result<(), String> {
    if name.is_empty() || name.len() > 256 {
        return Err(format!(
            "message attribute name `{name}` must be 1 to 256 characters"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        || name.starts_with('.')
        || name.ends_with('.')
        || name.contains("..")
    {
        return Err(format!("message attribute name `{name}` may only use letters, digits, `_`, `-` and `.` (not at the start or end, and not `..`)"));
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("aws.") || lower.starts_with("amazon.") {
        return Err(format!(
            "message attribute name `{name}` uses a reserved prefix (`AWS.` or `Amazon.`)"
        ));
    }
    if a.value.is_empty() {
        return Err(format!("message attribute `{name}` has an empty value"));
    }
    let ok = match a.base_type() {
        "String" => true,
        "Number" => a.value.trim().parse::<f64>().is_ok_and(f64::is_finite),
        "Binary" => base64::engine::general_purpose::STANDARD
            .decode(&a.value)
            .is_ok(),
        "String.Array" => serde_json::from_str::<serde_json::Value>(&a.value)
            .is_ok_and(|v| v.is_array()),
        _ => {
            return Err(format!(
                "message attribute `{name}` has data type `{}`; it must be String, String.Array, Number or Binary",
                a.data_type
            ))
        }
    };
    if !ok {
        return Err(format!(
            "message attribute `{name}` of type {} has an invalid value `{}` ({})",
            a.data_type,
            a.value,
            match a.base_type() {
                "Number" => "expected a number",
                "Binary" => "expected base64",
                _ => "expected a JSON array",
            }
        ));
    }
    Ok(())
}

/// Bytes the attributes add to the message size (name, type and value), as SNS counts.
pub fn attributes_size(attributes: &BTreeMap<String, AttributeValue>) -> usize {
    attributes
        .iter()
        .map(|(k, a)| k.len() + a.data_type.len() + a.value.len())
        .sum()
}

/// SNS attributes as SQS message attributes (raw message delivery): `Binary` values are
/// decoded from base64, everything else stays a string value with the same data type
/// (`String.Array` is a valid SQS custom type).
pub fn sqs_attributes(attributes: &BTreeMap<String, AttributeValue>) -> MessageAttributes {
    attributes
        .iter()
        .map(|(name, a)| {
            let converted = if a.base_type() == "Binary" {
                MessageAttribute {
                    data_type: a.data_type.clone(),
                    string_value: None,
                    binary_value: Some(
                        base64::engine::general_purpose::STANDARD
                            .decode(&a.value)
                            .unwrap_or_else(|_| a.value.clone().into_bytes()),
                    ),
                }
            } else {
                MessageAttribute {
                    data_type: a.data_type.clone(),
                    string_value: Some(a.value.clone()),
                    binary_value: None,
                }
            };
            (name.clone(), converted)
        })
        .collect()
}

/// A published message, everything both shapes are made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Notification {
    pub topic: String,
    pub message_id: String,
    pub sequence_number: Option<String>,
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: DateTime<Utc>,
    pub attributes: BTreeMap<String, AttributeValue>,
    /// The SNS endpoint the `UnsubscribeURL` names (`https://sns.us-east-1.amazonaws.com`,
    /// or the sandbox's own address once its AWS API is up).
    pub endpoint: String,
}

#[derive(Serialize)]
struct EnvelopeAttribute<'a> {
    #[serde(rename = "Type")]
    data_type: &'a str,
    #[serde(rename = "Value")]
    value: &'a str,
}

fn envelope_attributes(n: &Notification) -> BTreeMap<&str, EnvelopeAttribute<'_>> {
    n.attributes
        .iter()
        .map(|(k, a)| {
            (
                k.as_str(),
                EnvelopeAttribute {
                    data_type: &a.data_type,
                    value: &a.value,
                },
            )
        })
        .collect()
}

#[derive(Serialize)]
struct SqsEnvelope<'a> {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(rename = "MessageId")]
    message_id: &'a str,
    #[serde(rename = "SequenceNumber", skip_serializing_if = "Option::is_none")]
    sequence_number: Option<&'a str>,
    #[serde(rename = "TopicArn")]
    topic_arn: String,
    #[serde(rename = "Subject", skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(rename = "Message")]
    message: &'a str,
    #[serde(rename = "Timestamp")]
    timestamp: String,
    #[serde(rename = "SignatureVersion", skip_serializing_if = "Option::is_none")]
    signature_version: Option<&'static str>,
    #[serde(rename = "Signature", skip_serializing_if = "Option::is_none")]
    signature: Option<&'static str>,
    #[serde(rename = "SigningCertURL", skip_serializing_if = "Option::is_none")]
    signing_cert_url: Option<&'static str>,
    #[serde(rename = "UnsubscribeURL")]
    unsubscribe_url: String,
    #[serde(rename = "MessageAttributes", skip_serializing_if = "Option::is_none")]
    message_attributes: Option<BTreeMap<&'a str, EnvelopeAttribute<'a>>>,
}

/// The JSON envelope an SQS subscription without raw delivery receives as its body.
pub fn sqs_envelope(n: &Notification, subscription_id: &str) -> String {
    let signed = n.sequence_number.is_none();
    let envelope = SqsEnvelope {
        kind: "Notification",
        message_id: &n.message_id,
        sequence_number: n.sequence_number.as_deref(),
        topic_arn: topic_arn(&n.topic),
        subject: n.subject.as_deref(),
        message: &n.message,
        timestamp: iso_millis(n.timestamp),
        signature_version: signed.then_some("1"),
        signature: signed.then_some(FAKE_SIGNATURE),
        signing_cert_url: signed.then_some(SIGNING_CERT_URL),
        unsubscribe_url: unsubscribe_url(n, subscription_id),
        message_attributes: (!n.attributes.is_empty()).then(|| envelope_attributes(n)),
    };
    // Plain strings and maps always serialize.
    serde_json::to_string(&envelope).unwrap_or_default()
}

#[derive(Serialize)]
struct LambdaEvent<'a> {
    #[serde(rename = "Records")]
    records: [LambdaRecord<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LambdaRecord<'a> {
    event_version: &'static str,
    event_subscription_arn: String,
    event_source: &'static str,
    sns: LambdaSns<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LambdaSns<'a> {
    #[serde(rename = "Type")]
    kind: &'static str,
    message_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<&'a str>,
    topic_arn: String,
    subject: Option<&'a str>,
    message: &'a str,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature_version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_cert_url: Option<&'static str>,
    unsubscribe_url: String,
    message_attributes: BTreeMap<&'a str, EnvelopeAttribute<'a>>,
}

/// The SNS event Lambda passes to a function subscriber: one record per invocation.
pub fn lambda_event(n: &Notification, subscription_id: &str) -> Vec<u8> {
    let signed = n.sequence_number.is_none();
    let event = LambdaEvent {
        records: [LambdaRecord {
            event_version: "1.0",
            event_subscription_arn: subscription_arn(&n.topic, subscription_id),
            event_source: "aws:sns",
            sns: LambdaSns {
                kind: "Notification",
                message_id: &n.message_id,
                sequence_number: n.sequence_number.as_deref(),
                topic_arn: topic_arn(&n.topic),
                subject: n.subject.as_deref(),
                message: &n.message,
                timestamp: iso_millis(n.timestamp),
                signature_version: signed.then_some("1"),
                signature: signed.then_some(FAKE_SIGNATURE),
                signing_cert_url: signed.then_some(SIGNING_CERT_URL),
                unsubscribe_url: unsubscribe_url(n, subscription_id),
                message_attributes: envelope_attributes(n),
            },
        }],
    };
    serde_json::to_vec(&event).unwrap_or_default()
}
