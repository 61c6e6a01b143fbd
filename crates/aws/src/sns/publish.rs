//! Publish and PublishBatch: the SNS request read into the topics state machine's
//! [`PublishRequest`] and published through the same [`TopicService`] as the control API
//! and handlers, so queue subscribers have the message before the answer and function
//! subscribers are invoked by the topics driver.
//!
//! [`TopicService`]: sandbox_triggers::TopicService

use serde_json::{json, Map, Value};

use sandbox_services::topic::envelope::validate_attribute;
use sandbox_services::topic::{AttributeValue, PublishRequest};

use super::{invalid, string, topic_name, topic_not_found};
use crate::protocol::Call;
use crate::{Aws, AwsError};

/// At most this many entries in one PublishBatch.
const MAX_BATCH: usize = 10;
/// A PublishBatch's messages and attributes together, like one message's limit.
const MAX_BATCH_BYTES: usize = 262_144;

/// `ParameterValueInvalid`: a bad message attribute.
fn invalid_value(message: impl Into<String>) -> AwsError {
    AwsError::sender("InvalidParameterValueException", message)
        .with_query_code("ParameterValueInvalid")
}

fn batch_error(shape: &str, code: &str, message: impl Into<String>) -> AwsError {
    AwsError::sender(shape, message).with_query_code(code)
}

/// The topic a Publish names by `TopicArn` or `TargetArn`.
fn target_topic(call: &Call) -> Result<String, AwsError> {
    if call.input["PhoneNumber"].is_string() {
        return Err(invalid(
            "Invalid parameter: PhoneNumber Reason: the sandbox does not send SMS; publish to a topic",
        ));
    }
    let arn = match (
        call.input["TopicArn"].as_str(),
        call.input["TargetArn"].as_str(),
    ) {
        (Some(_), Some(_)) => return Err(invalid(
            "Invalid parameter: TopicArn or TargetArn Reason: Only one of these may be specified",
        )),
        (Some(arn), None) | (None, Some(arn)) => arn,
        (None, None) => {
            return Err(invalid(
                "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
            ))
        }
    };
    Ok(topic_name(arn)?.to_string())
}

/// One message attribute of the JSON form (`{DataType, StringValue | BinaryValue}`).
fn attribute(name: &str, value: &Value) -> Result<AttributeValue, AwsError> {
    let data_type = value["DataType"].as_str().unwrap_or_default();
    if data_type.is_empty() {
        return Err(invalid_value(format!(
            "The message attribute '{name}' must contain non-empty message attribute type."
        )));
    }
    let text = if data_type.starts_with("Binary") {
        value["BinaryValue"].as_str()
    } else {
        value["StringValue"].as_str()
    };
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Err(invalid_value(format!(
            "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{data_type}'."
        )));
    };
    let attribute = AttributeValue::new(data_type, text);
    validate_attribute(name, &attribute).map_err(invalid_value)?;
    Ok(attribute)
}

/// An entry (a Publish input or a PublishBatch entry) as the state machine's request.
fn request(entry: &Value) -> Result<PublishRequest, AwsError> {
    let message = entry["Message"].as_str().ok_or_else(|| {
        invalid("Invalid parameter: Message Reason: no value for required parameter")
    })?;
    if message.is_empty() {
        return Err(invalid("Invalid parameter: Empty message"));
    }
    let mut request = PublishRequest::new(message);
    match entry["MessageStructure"].as_str() {
        None => {}
        Some("json") => structured(&mut request)?,
        Some(other) => {
            return Err(invalid(format!(
                "Invalid parameter: MessageStructure Reason: `{other}` is not a valid message structure; the only one is json"
            )))
        }
    }
    request.subject = entry["Subject"].as_str().map(str::to_string);
    request.group_id = entry["MessageGroupId"].as_str().map(str::to_string);
    request.dedup_id = entry["MessageDeduplicationId"].as_str().map(str::to_string);
    let attributes = entry["MessageAttributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (name, value) in &attributes {
        request
            .attributes
            .insert(name.clone(), attribute(name, value)?);
    }
    Ok(request)
}

/// `MessageStructure=json`: the message is a JSON object of a `default` message and
/// per-protocol ones.
fn structured(request: &mut PublishRequest) -> Result<(), AwsError> {
    let parsed: Map<String, Value> = serde_json::from_str(&request.message).map_err(|_| {
        invalid("Invalid parameter: Message Structure - JSON message body failed to parse")
    })?;
    let mut texts = Map::new();
    for (protocol, value) in parsed {
        let Value::String(text) = value else {
            return Err(invalid(format!(
                "Invalid parameter: Message Structure - the message for `{protocol}` must be a string"
            )));
        };
        texts.insert(protocol, Value::String(text));
    }
    let default = texts
        .remove("default")
        .and_then(|d| d.as_str().map(str::to_string))
        .ok_or_else(|| {
            invalid("Invalid parameter: Message Structure - No default entry in JSON message body")
        })?;
    request.message = default;
    request.per_protocol = texts
        .into_iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
        .collect();
    Ok(())
}

/// Publishes one request; the answer's `MessageId` and `SequenceNumber`.
fn publish_one(aws: &Aws, topic: &str, request: PublishRequest) -> Result<Value, AwsError> {
    let receipt = aws
        .triggers()
        .topics()
        .publish(topic, request)
        .map_err(|e| {
            if e.status == 404 {
                topic_not_found()
            } else {
                invalid(format!("Invalid parameter: {}", e.message))
            }
        })?;
    let mut out = json!({ "MessageId": receipt.message_id });
    if let Some(seq) = receipt.sequence_number {
        out["SequenceNumber"] = json!(seq);
    }
    Ok(out)
}

pub(super) fn publish(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let topic = target_topic(call)?;
    let exists = aws
        .triggers()
        .topics()
        .with_topics(|t, _| t.config(&topic).is_some());
    if !exists {
        return Err(topic_not_found());
    }
    publish_one(aws, &topic, request(&call.input)?)
}

/// Whether a batch entry id is valid: up to 80 letters, digits, `-` and `_`.
fn valid_entry_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The batch-wide checks, in SNS's order.
fn check_batch(entries: &[Value]) -> Result<(), AwsError> {
    if entries.is_empty() {
        return Err(batch_error(
            "EmptyBatchRequestException",
            "EmptyBatchRequest",
            "The batch request doesn't contain any entries.",
        ));
    }
    if entries.len() > MAX_BATCH {
        return Err(batch_error(
            "TooManyEntriesInBatchRequestException",
            "TooManyEntriesInBatchRequest",
            format!(
                "The batch request contains more entries than permissible ({} > {MAX_BATCH}).",
                entries.len()
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for entry in entries {
        let id = entry["Id"].as_str().unwrap_or_default();
        if !valid_entry_id(id) {
            return Err(batch_error(
                "InvalidBatchEntryIdException",
                "InvalidBatchEntryId",
                format!("The Id of a batch entry in a batch request doesn't abide by the specification: `{id}` (up to 80 letters, digits, hyphens and underscores)."),
            ));
        }
        if !seen.insert(id) {
            return Err(batch_error(
                "BatchEntryIdsNotDistinctException",
                "BatchEntryIdsNotDistinct",
                format!("Two or more batch entries in the request have the same Id: {id}."),
            ));
        }
    }
    let size: usize = entries
        .iter()
        .map(|e| {
            e["Message"].as_str().map_or(0, str::len) + e["MessageAttributes"].to_string().len()
        })
        .sum();
    if size > MAX_BATCH_BYTES {
        return Err(batch_error(
            "BatchRequestTooLongException",
            "BatchRequestTooLong",
            format!("The length of all the messages put together is more than the limit ({size} > {MAX_BATCH_BYTES} bytes)."),
        ));
    }
    Ok(())
}

pub(super) fn publish_batch(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let topic = topic_name(string(call, "TopicArn")?)?.to_string();
    let entries = call.input["PublishBatchRequestEntries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    check_batch(&entries)?;
    let exists = aws
        .triggers()
        .topics()
        .with_topics(|t, _| t.config(&topic).is_some());
    if !exists {
        return Err(topic_not_found());
    }
    let (mut successful, mut failed) = (Vec::new(), Vec::new());
    for entry in &entries {
        let id = entry["Id"].as_str().unwrap_or_default();
        match request(entry).and_then(|r| publish_one(aws, &topic, r)) {
            Ok(mut out) => {
                out["Id"] = json!(id);
                successful.push(out);
            }
            Err(e) => failed.push(json!({
                "Id": id,
                "Code": e.query_code(),
                "Message": e.message,
                "SenderFault": e.sender,
            })),
        }
    }
    Ok(json!({ "Successful": successful, "Failed": failed }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_checks_come_in_order() {
        let code =
            |entries: Vec<Value>| check_batch(&entries).map_err(|e| e.query_code().to_string());
        assert_eq!(code(vec![]), Err("EmptyBatchRequest".into()));
        let many = (0..11)
            .map(|i| json!({"Id": format!("e{i}"), "Message": "m"}))
            .collect();
        assert_eq!(code(many), Err("TooManyEntriesInBatchRequest".into()));
        assert_eq!(
            code(vec![json!({"Id": "a b", "Message": "m"})]),
            Err("InvalidBatchEntryId".into())
        );
        assert_eq!(
            code(vec![
                json!({"Id": "a", "Message": "m"}),
                json!({"Id": "a", "Message": "n"})
            ]),
            Err("BatchEntryIdsNotDistinct".into())
        );
        assert_eq!(code(vec![json!({"Id": "a", "Message": "m"})]), Ok(()));
    }

    #[test]
    fn a_json_structure_needs_a_default() {
        let read =
            |message: &str| request(&json!({"Message": message, "MessageStructure": "json"}));
        let r = read(r#"{"default": "d", "sqs": "q"}"#).unwrap();
        assert_eq!(r.message, "d");
        assert_eq!(r.per_protocol["sqs"], "q");
        assert!(read(r#"{"sqs": "q"}"#).is_err());
        assert!(read("not json").is_err());
        assert!(read(r#"{"default": 1}"#).is_err());
    }

    #[test]
    fn attributes_are_checked_as_sns_does() {
        let read =
            |attributes: Value| request(&json!({"Message": "m", "MessageAttributes": attributes}));
        let r = read(json!({"n": {"DataType": "Number", "StringValue": "5"},
                            "b": {"DataType": "Binary", "BinaryValue": "aGk="}}))
        .unwrap();
        assert_eq!(r.attributes["n"], AttributeValue::new("Number", "5"));
        assert_eq!(r.attributes["b"], AttributeValue::new("Binary", "aGk="));
        for bad in [
            json!({"n": {"DataType": "Number", "StringValue": "five"}}),
            json!({"n": {"DataType": "Nope", "StringValue": "x"}}),
            json!({"n": {"DataType": "String"}}),
        ] {
            let e = read(bad.clone()).expect_err(&bad.to_string());
            assert_eq!(e.query_code(), "ParameterValueInvalid");
        }
    }
}
