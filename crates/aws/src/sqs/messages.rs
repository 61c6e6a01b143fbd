//! Sending, receiving (with long polling), deleting and changing the visibility of
//! messages, one at a time and in batches of up to ten.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use sandbox_ops::aws::{queue_arn, ACCOUNT, REGION};
use sandbox_ops::queues::SendMessage;
use sandbox_services::queue::message::md5_of_message_attributes;
use sandbox_services::queue::{Delivery, MessageAttributes, SendReceipt, MAX_WAIT};

use super::{delete_error, number, queue_error, required, string_list};
use crate::{Aws, AwsError};

/// Who the SQS API reports as having sent a message (`SenderId`).
const SENDER: &str = "AIDASANDBOXAWSAPIUSER";

/// SQS's limit on entries per batch call.
const MAX_BATCH: usize = 10;

pub(super) fn send(aws: &Aws, queue: &str, input: &Value) -> Result<Value, AwsError> {
    let receipt = send_one(aws, queue, input)?;
    Ok(sent(&receipt, None))
}

fn send_one(aws: &Aws, queue: &str, input: &Value) -> Result<SendReceipt, AwsError> {
    let mut fields = input.as_object().cloned().unwrap_or_default();
    // Carried by the wire but not part of the message itself.
    for key in ["QueueUrl", "Id", "MessageSystemAttributes"] {
        fields.remove(key);
    }
    if !fields.contains_key("MessageBody") {
        return Err(AwsError::missing_parameter("MessageBody"));
    }
    // Located, so a bad value names its member (`DelaySeconds: invalid type…`).
    let op: SendMessage = sandbox_ops::control::decode_value(Value::Object(fields), "")
        .map_err(|e| AwsError::invalid_parameter_value(e.message))?;
    let request = sandbox_triggers::send_request(op, SENDER)
        .map_err(|e| AwsError::invalid_parameter_value(e.message))?;
    aws.triggers()
        .queues()
        .with_queues(|q, now| q.send(queue, request, now))
        .map_err(AwsError::not_saved)?
        .map_err(queue_error)
}

fn sent(receipt: &SendReceipt, id: Option<&str>) -> Value {
    let mut out = json!({
        "MessageId": receipt.message_id,
        "MD5OfMessageBody": receipt.md5_of_body,
    });
    if let Some(id) = id {
        out["Id"] = json!(id);
    }
    if let Some(md5) = &receipt.md5_of_message_attributes {
        out["MD5OfMessageAttributes"] = json!(md5);
    }
    if let Some(seq) = &receipt.sequence_number {
        out["SequenceNumber"] = json!(seq);
    }
    out
}

pub(super) fn send_batch(aws: &Aws, queue: &str, input: &Value) -> Result<Value, AwsError> {
    let entries = batch_entries(input)?;
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for entry in entries {
        let id = entry["Id"].as_str().unwrap_or_default();
        match send_one(aws, queue, entry) {
            Ok(receipt) => successful.push(sent(&receipt, Some(id))),
            Err(error) => failed.push(failure(id, &error)),
        }
    }
    Ok(json!({ "Successful": successful, "Failed": failed }))
}

/// The entries of a batch call, checked as SQS checks them before doing any.
fn batch_entries(input: &Value) -> Result<&Vec<Value>, AwsError> {
    let entries = input["Entries"]
        .as_array()
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            AwsError::sender(
                "EmptyBatchRequest",
                "There should be at least one SendMessageBatchRequestEntry in the request.",
            )
            .with_query_code("AWS.SimpleQueueService.EmptyBatchRequest")
        })?;
    if entries.len() > MAX_BATCH {
        return Err(AwsError::sender(
            "TooManyEntriesInBatchRequest",
            format!(
                "Maximum number of entries per request are {MAX_BATCH}. You have sent {}.",
                entries.len()
            ),
        )
        .with_query_code("AWS.SimpleQueueService.TooManyEntriesInBatchRequest"));
    }
    let mut seen = HashSet::new();
    for entry in entries {
        let id = entry["Id"].as_str().unwrap_or_default();
        let valid = !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(AwsError::sender(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            )
            .with_query_code("AWS.SimpleQueueService.InvalidBatchEntryId"));
        }
        if !seen.insert(id) {
            return Err(
                AwsError::sender("BatchEntryIdsNotDistinct", format!("Id {id} repeated."))
                    .with_query_code("AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
            );
        }
    }
    Ok(entries)
}

/// One failed entry of a batch (`BatchResultErrorEntry`).
fn failure(id: &str, error: &AwsError) -> Value {
    json!({
        "Id": id,
        "SenderFault": error.sender,
        "Code": error.query_code(),
        "Message": error.message,
    })
}

pub(super) async fn receive(aws: &Aws, queue: &str, input: &Value) -> Result<Value, AwsError> {
    let max = number(input, "MaxNumberOfMessages", 1..=10)?.unwrap_or(1) as usize;
    let visibility =
        number(input, "VisibilityTimeout", 0..=43_200)?.map(|s| Duration::from_secs(s as u64));
    let wait = match number(input, "WaitTimeSeconds", 0..=MAX_WAIT.as_secs() as i64)? {
        Some(seconds) => Duration::from_secs(seconds as u64),
        None => aws
            .triggers()
            .queues()
            .read_queues(|q, _| q.receive_wait(queue)),
    };
    let mut system = string_list(input, "AttributeNames");
    system.extend(string_list(input, "MessageSystemAttributeNames"));
    let wanted_attributes = string_list(input, "MessageAttributeNames");
    let mut gone = false;
    let received = aws
        .triggers()
        .queues()
        .poll(wait, |q, now| {
            match q.receive_with_visibility(queue, max, visibility, now) {
                Ok(r) if r.messages.is_empty() => None,
                Ok(r) => Some(r),
                Err(_) => {
                    gone = true;
                    Some(Default::default())
                }
            }
        })
        .await
        .unwrap_or_default();
    if gone {
        return Err(super::non_existent());
    }
    for (id, dlq) in &received.moved_to_dlq {
        tracing::info!(target: "sandbox::aws", "queue {queue}: message {id} moved to dead-letter queue {dlq}");
    }
    let messages: Vec<Value> = received
        .messages
        .iter()
        .map(|d| message(queue, d, &system, &wanted_attributes))
        .collect();
    if messages.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({ "Messages": messages }))
}

/// One received message as SQS answers it: the system attributes asked for, and the
/// message attributes asked for (`All`, `.*`, `prefix.*` or names) with their MD5.
fn message(queue: &str, delivery: &Delivery, system: &[String], wanted: &[String]) -> Value {
    let m = &delivery.message;
    let mut out = json!({
        "MessageId": m.id,
        "ReceiptHandle": delivery.receipt_handle,
        "MD5OfBody": m.md5_of_body,
        "Body": m.body,
    });
    let all = system.iter().any(|n| n == "All");
    let want = |name: &str| all || system.iter().any(|n| n == name);
    let mut attributes = Map::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(value) = value.filter(|_| want(name)) {
            attributes.insert(name.to_string(), Value::String(value));
        }
    };
    put("SenderId", Some(m.sender_id.clone()));
    put(
        "SentTimestamp",
        Some(m.sent_at.timestamp_millis().to_string()),
    );
    put("ApproximateReceiveCount", Some(m.receive_count.to_string()));
    put(
        "ApproximateFirstReceiveTimestamp",
        m.first_received_at
            .map(|t| t.timestamp_millis().to_string()),
    );
    put("SequenceNumber", m.sequence_number.clone());
    put("MessageDeduplicationId", m.dedup_id.clone());
    put("MessageGroupId", m.group_id.clone());
    put(
        "DeadLetterQueueSourceArn",
        m.dead_letter_source
            .as_ref()
            .map(|s| queue_arn(s, REGION, ACCOUNT)),
    );
    if !attributes.is_empty() {
        out["Attributes"] = Value::Object(attributes);
    }
    let chosen: MessageAttributes = m
        .attributes
        .iter()
        .filter(|(name, _)| wanted_attribute(wanted, name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(md5) = md5_of_message_attributes(&chosen) {
        out["MD5OfMessageAttributes"] = json!(md5);
        let values: BTreeMap<&String, Value> = chosen
            .iter()
            .map(|(name, a)| {
                let mut v = json!({ "DataType": a.data_type });
                if let Some(s) = &a.string_value {
                    v["StringValue"] = json!(s);
                }
                if let Some(b) = &a.binary_value {
                    v["BinaryValue"] = json!(base64::engine::general_purpose::STANDARD.encode(b));
                }
                (name, v)
            })
            .collect();
        out["MessageAttributes"] = json!(values);
    }
    let _ = queue;
    out
}

/// `MessageAttributeNames`: `All` or `.*` for every attribute, `prefix.*` for a prefix,
/// else exact names.
fn wanted_attribute(wanted: &[String], name: &str) -> bool {
    wanted.iter().any(|w| {
        w == "All"
            || w == ".*"
            || w == name
            || w.strip_suffix(".*")
                .is_some_and(|prefix| name.starts_with(&format!("{prefix}.")))
    })
}

pub(super) fn delete(aws: &Aws, queue: &str, input: &Value) -> Result<Value, AwsError> {
    let handle = required(input, "ReceiptHandle")?;
    delete_one(aws, queue, handle)?;
    Ok(json!({}))
}

/// Deleting a message that is already gone succeeds, as in SQS.
fn delete_one(aws: &Aws, queue: &str, handle: &str) -> Result<(), AwsError> {
    use sandbox_services::queue::{DeleteError, Error};
    match aws
        .triggers()
        .queues()
        .with_queues(|q, _| q.delete(queue, handle))
        .map_err(AwsError::not_saved)?
    {
        Ok(_)
        | Err(Error::Delete {
            source: DeleteError::Gone { .. },
            ..
        }) => Ok(()),
        Err(Error::Delete { source, .. }) => Err(delete_error(source)),
        Err(e) => Err(queue_error(e)),
    }
}

pub(super) fn delete_batch(aws: &Aws, queue: &str, input: &Value) -> Result<Value, AwsError> {
    let entries = batch_entries(input)?;
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for entry in entries {
        let id = entry["Id"].as_str().unwrap_or_default();
        let result = required(entry, "ReceiptHandle").and_then(|h| delete_one(aws, queue, h));
        match result {
            Ok(()) => successful.push(json!({ "Id": id })),
            Err(error) => failed.push(failure(id, &error)),
        }
    }
    Ok(json!({ "Successful": successful, "Failed": failed }))
}

pub(super) fn change_visibility(aws: &Aws, queue: &str, input: &Value) -> Result<Value, AwsError> {
    change_one(aws, queue, input)?;
    Ok(json!({}))
}

fn change_one(aws: &Aws, queue: &str, input: &Value) -> Result<(), AwsError> {
    let handle = required(input, "ReceiptHandle")?;
    let seconds = number(input, "VisibilityTimeout", 0..=43_200)?
        .ok_or_else(|| AwsError::missing_parameter("VisibilityTimeout"))?;
    let timeout = Duration::from_secs(seconds as u64);
    aws.triggers()
        .queues()
        .with_queues(|q, now| q.change_visibility(queue, handle, timeout, now))
        .map_err(AwsError::not_saved)?
        .map_err(queue_error)
}

pub(super) fn change_visibility_batch(
    aws: &Aws,
    queue: &str,
    input: &Value,
) -> Result<Value, AwsError> {
    let entries = batch_entries(input)?;
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for entry in entries {
        let id = entry["Id"].as_str().unwrap_or_default();
        match change_one(aws, queue, entry) {
            Ok(()) => successful.push(json!({ "Id": id })),
            Err(error) => failed.push(failure(id, &error)),
        }
    }
    Ok(json!({ "Successful": successful, "Failed": failed }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_attribute_names_select_as_sqs_does() {
        let wanted = |w: &[&str], name: &str| {
            wanted_attribute(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>(), name)
        };
        assert!(wanted(&["All"], "a"));
        assert!(wanted(&[".*"], "a"));
        assert!(wanted(&["color.*"], "color.red"));
        assert!(!wanted(&["color.*"], "colors"));
        assert!(wanted(&["a", "b"], "b"));
        assert!(!wanted(&[], "a"));
    }
}
