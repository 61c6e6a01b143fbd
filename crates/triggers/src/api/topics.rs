//! Topics: `/_sandbox/topics/...` and handlers' `topics.Publish`.

use sandbox_ops::aws::resource_name;
use sandbox_ops::control::{decode, decode_value};
use sandbox_ops::topics::{AttributeInput, Publish, PublishResult};
use sandbox_services::recursion;
use sandbox_services::topic::{AttributeValue, PublishReceipt, PublishRequest};
use serde_json::{json, Value};

use crate::control::{ok, Answer, Call};
use crate::{ControlError, Triggers};

const PUBLISH_USAGE: &str = r#"send {"message": "..."}"#;

pub(crate) fn list(triggers: &Triggers, _: &Call) -> Answer {
    ok(json!({ "topics": triggers.topics().list() }))
}

pub(crate) fn get(triggers: &Triggers, call: &Call) -> Answer {
    ok(triggers.topics().get(call.param(0))?)
}

pub(crate) fn publish(triggers: &Triggers, call: &Call) -> Answer {
    let op: Publish = decode(call.body, PUBLISH_USAGE)?;
    if op.topic_arn.is_some() {
        return Err(ControlError::bad_request(
            "the topic is named by the path; leave `TopicArn` out of the body",
        ));
    }
    let receipt = triggers.topics().publish(call.param(0), request(op)?)?;
    ok(result(&receipt))
}

/// `topics.Publish` from a handler: the topic is `TopicArn` (a name or an ARN).
pub(crate) fn host_publish(
    triggers: &Triggers,
    caller: &sandbox_app::Caller<'_>,
    request: Value,
) -> Result<Value, ControlError> {
    let op: Publish = decode_value(request, "")?;
    let topic = op
        .topic_arn
        .clone()
        .ok_or_else(|| ControlError::bad_request("`TopicArn` (the topic's name) is required"))?;
    let receipt = triggers.topics().publish(
        resource_name(&topic),
        PublishRequest {
            hops: recursion::next_hop(caller.hops),
            ..self::request(op)?
        },
    )?;
    serde_json::to_value(result(&receipt)).map_err(|e| ControlError::bad_request(e.to_string()))
}

/// The state machine's request for a typed `Publish`.
pub(crate) fn request(op: Publish) -> Result<PublishRequest, ControlError> {
    let mut request = PublishRequest::new(op.message);
    request.subject = op.subject;
    request.group_id = op.message_group_id;
    request.dedup_id = op.message_deduplication_id;
    for (name, value) in op.message_attributes {
        let attribute = attribute(&name, value)?;
        request.attributes.insert(name, attribute);
    }
    Ok(request)
}

fn attribute(name: &str, value: AttributeInput) -> Result<AttributeValue, ControlError> {
    let bad = |what: &str| ControlError::bad_request(format!("attribute `{name}` {what}"));
    Ok(match value {
        AttributeInput::Text(s) => AttributeValue::string(s),
        AttributeInput::Number(n) => AttributeValue::new("Number", n.to_string()),
        AttributeInput::Array(items) => {
            AttributeValue::new("String.Array", Value::Array(items).to_string())
        }
        AttributeInput::Typed(Value::Object(fields)) => {
            let field = |names: &[&str]| names.iter().find_map(|n| fields.get(*n));
            let data_type = field(&["DataType", "dataType", "Type"])
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    bad("needs a `DataType` (String, String.Array, Number or Binary)")
                })?;
            let value = field(&[
                "StringValue",
                "stringValue",
                "BinaryValue",
                "binaryValue",
                "Value",
                "value",
            ])
            .ok_or_else(|| bad("needs a `StringValue` (or a base64 `BinaryValue`)"))?;
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(_) => value.to_string(),
                _ => return Err(bad("has a value that is not a string, number or array")),
            };
            AttributeValue::new(data_type, value)
        }
        AttributeInput::Typed(_) => {
            return Err(bad(
                "must be a string, a number, an array, or {DataType, StringValue | BinaryValue}",
            ))
        }
    })
}

/// `Publish`'s answer plus what the sandbox did with the message.
pub(crate) fn result(receipt: &PublishReceipt) -> PublishResult {
    PublishResult {
        message_id: receipt.message_id.clone(),
        sequence_number: receipt.sequence_number.clone(),
        duplicate: receipt.duplicate,
        queues: receipt
            .queue_sends
            .iter()
            .map(|s| s.queue.clone())
            .collect(),
        function_deliveries: receipt.function_deliveries.len(),
        filtered: receipt.filtered.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: Value) -> Result<PublishRequest, ControlError> {
        request(decode_value(value, "")?)
    }

    #[test]
    fn reads_publish_requests() {
        let request = parse(json!({
            "message": "hi",
            "subject": "s",
            "attributes": {"color": "red", "n": 3, "tags": ["a"], "b": {"DataType": "Binary", "BinaryValue": "aGk="}},
        }))
        .unwrap();
        assert_eq!(request.message, "hi");
        assert_eq!(request.subject.as_deref(), Some("s"));
        assert_eq!(request.attributes["color"], AttributeValue::string("red"));
        assert_eq!(request.attributes["n"], AttributeValue::new("Number", "3"));
        assert_eq!(
            request.attributes["tags"],
            AttributeValue::new("String.Array", "[\"a\"]")
        );
        assert_eq!(
            request.attributes["b"],
            AttributeValue::new("Binary", "aGk=")
        );
        // JSON messages are sent as their text.
        assert_eq!(
            parse(json!({"message": {"a": 1}})).unwrap().message,
            "{\"a\":1}"
        );
    }

    #[test]
    fn refuses_bad_publish_requests() {
        for bad in [
            json!("text"),
            json!({}),
            json!({"message": "m", "extra": 1}),
            json!({"message": "m", "subject": 1}),
            json!({"message": "m", "attributes": {"a": {"StringValue": "x"}}}),
            json!({"message": "m", "attributes": {"a": true}}),
        ] {
            let e = parse(bad.clone()).expect_err(&bad.to_string());
            assert_eq!(e.status, 400);
        }
    }
}
