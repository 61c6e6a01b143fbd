//! Queues: `/_sandbox/queues/...` and handlers' `queues.SendMessage`.

use std::time::Duration;

use base64::Engine as _;
use sandbox_ops::aws::{function_name, resource_name};
use sandbox_ops::control::{decode, decode_value};
use sandbox_ops::queues::{MessageAttributeValue, SendMessage, SendMessageResult};
use sandbox_services::queue::{MessageAttribute, MessageAttributes, SendReceipt, SendRequest};
use sandbox_services::recursion;
use serde_json::Value;

use crate::control::{ok, Answer, Call};
use crate::{ControlError, Triggers};

const SEND_USAGE: &str = r#"send {"body": "..."}"#;

pub(crate) fn list(triggers: &Triggers, _: &Call) -> Answer {
    ok(triggers.queues().list())
}

pub(crate) fn send(triggers: &Triggers, call: &Call) -> Answer {
    let op: SendMessage = decode(call.body, SEND_USAGE)?;
    if op.queue_url.is_some() {
        return Err(ControlError::bad_request(
            "the queue is named by the path; leave `QueueUrl` out of the body",
        ));
    }
    let request = send_request(op, "sandbox-control-api")?;
    ok(result(&triggers.queues().send(call.param(0), request)?))
}

pub(crate) fn peek(triggers: &Triggers, call: &Call) -> Answer {
    ok(triggers.queues().peek(call.param(0))?)
}

pub(crate) fn purge(triggers: &Triggers, call: &Call) -> Answer {
    ok(triggers.queues().purge(call.param(0))?)
}

pub(crate) fn redrive(triggers: &Triggers, call: &Call) -> Answer {
    ok(triggers.queues().redrive(call.param(0))?)
}

/// `queues.SendMessage` from a handler: the queue is `QueueUrl` (a name, URL or ARN),
/// and the sender is the function's role session, as SQS reports a Lambda's sends.
pub(crate) fn host_send(
    triggers: &Triggers,
    caller: &sandbox_app::Caller<'_>,
    request: Value,
) -> Result<Value, ControlError> {
    let function = caller.function;
    let op: SendMessage = decode_value(request, "")?;
    let queue = op
        .queue_url
        .clone()
        .ok_or_else(|| ControlError::bad_request("`QueueUrl` (the queue's name) is required"))?;
    let sender = format!("AROASANDBOXROLE:{}", function_name(function));
    let receipt = triggers.queues().send(
        resource_name(&queue),
        SendRequest {
            hops: recursion::next_hop(caller.hops),
            ..send_request(op, &sender)?
        },
    )?;
    serde_json::to_value(result(&receipt)).map_err(|e| ControlError::bad_request(e.to_string()))
}

/// The state machine's request for a typed `SendMessage`, checking what serde cannot.
pub fn send_request(op: SendMessage, sender_id: &str) -> Result<SendRequest, ControlError> {
    let mut request = SendRequest::new(op.message_body);
    request.sender_id = sender_id.to_string();
    if let Some(seconds) = op.delay_seconds {
        if seconds > 900 {
            return Err(ControlError::bad_request(
                "`delaySeconds` must be a whole number from 0 to 900",
            ));
        }
        request.delay = Some(Duration::from_secs(seconds));
    }
    request.group_id = op.message_group_id;
    request.dedup_id = op.message_deduplication_id;
    request.attributes = attributes(op.message_attributes)?;
    Ok(request)
}

fn attributes(
    given: std::collections::BTreeMap<String, MessageAttributeValue>,
) -> Result<MessageAttributes, ControlError> {
    let mut attributes = MessageAttributes::new();
    for (name, value) in given {
        let bad = |what: &str| ControlError::bad_request(format!("attribute `{name}` {what}"));
        let attribute = match value {
            MessageAttributeValue::Text(text) => MessageAttribute::string(text),
            MessageAttributeValue::Number(n) => MessageAttribute::number(n.to_string()),
            MessageAttributeValue::Typed(typed) if typed.data_type.starts_with("Binary") => {
                let encoded = typed
                    .binary_value
                    .ok_or_else(|| bad("needs a base64 `binaryValue`"))?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|_| bad("has a `binaryValue` that is not base64"))?;
                MessageAttribute {
                    data_type: typed.data_type,
                    string_value: None,
                    binary_value: Some(bytes),
                }
            }
            MessageAttributeValue::Typed(typed) => MessageAttribute {
                string_value: Some(
                    typed
                        .string_value
                        .ok_or_else(|| bad("needs a `stringValue`"))?,
                ),
                data_type: typed.data_type,
                binary_value: None,
            },
        };
        attributes.insert(name, attribute);
    }
    Ok(attributes)
}

/// `SendMessage`'s answer.
pub(crate) fn result(receipt: &SendReceipt) -> SendMessageResult {
    SendMessageResult {
        message_id: receipt.message_id.clone(),
        md5_of_message_body: receipt.md5_of_body.clone(),
        md5_of_message_attributes: receipt.md5_of_message_attributes.clone(),
        sequence_number: receipt.sequence_number.clone(),
        duplicate: receipt.duplicate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<SendRequest, ControlError> {
        send_request(decode_value(value, "")?, "me")
    }

    #[test]
    fn reads_send_requests_with_attributes() {
        let r = parse(json!({"body": "hi", "delaySeconds": 5, "groupId": "g",
            "attributes": {"s": "t", "n": 7, "b": {"dataType": "Binary", "binaryValue": "aGk="}}}))
        .unwrap();
        assert_eq!(r.body, "hi");
        assert_eq!(r.delay, Some(Duration::from_secs(5)));
        assert_eq!(r.group_id.as_deref(), Some("g"));
        assert_eq!(r.sender_id, "me");
        assert_eq!(r.attributes["b"].binary_value.as_deref(), Some(&b"hi"[..]));
        assert_eq!(r.attributes["n"].data_type, "Number");
    }

    #[test]
    fn refuses_bad_send_requests() {
        for bad in [
            json!({"delaySeconds": 1}),
            json!({"body": 1}),
            json!({"body": "x", "delaySeconds": 901}),
            json!({"body": "x", "nope": 1}),
            json!({"body": "x", "attributes": {"b": {"dataType": "Binary", "binaryValue": "%%"}}}),
            json!({"body": "x", "attributes": {"s": {"dataType": "String"}}}),
        ] {
            assert_eq!(parse(bad.clone()).unwrap_err().status, 400, "{bad}");
        }
    }
}
