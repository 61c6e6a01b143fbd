//! Sending, publishing and putting to remote resources through the AWS SDK: the typed
//! `sandbox-ops` operations a handler's `sandbox.call` or the control API decoded, turned
//! into the SDK's calls, answered in the same `sandbox-ops` result types a local
//! resource answers with (a remote topic reports no local subscribers).

use base64::Engine as _;
use sandbox_ops::bus::{PutEvents, PutEventsResult, PutEventsResultEntry};
use sandbox_ops::control::ControlError;
use sandbox_ops::queues::{MessageAttributeValue, SendMessage, SendMessageResult};
use sandbox_ops::streams::{
    PutRecordResult, PutRecordsEntry, PutRecordsResult, PutRecordsResultEntry,
};
use sandbox_ops::topics::{AttributeInput, Publish, PublishResult};
use serde_json::Value;

use crate::sdk::sdk_error;

/// A remote resource's client and how AWS names it.
#[derive(Clone)]
pub(crate) enum Client {
    Queue {
        client: aws_sdk_sqs::Client,
        url: String,
    },
    Topic {
        client: aws_sdk_sns::Client,
        arn: String,
    },
    Bus {
        client: aws_sdk_eventbridge::Client,
        arn: String,
    },
    Stream {
        client: aws_sdk_kinesis::Client,
        name: String,
    },
}

fn answer(value: impl serde::Serialize) -> Result<Value, ControlError> {
    serde_json::to_value(value).map_err(|e| ControlError::bad_request(e.to_string()))
}

/// What AWS said, as the caller's error: 502, since the sandbox itself is fine.
fn failed(what: &str, why: String) -> ControlError {
    ControlError {
        status: 502,
        message: format!("{what}: {why}"),
    }
}

fn bad_base64(what: &str) -> ControlError {
    ControlError::bad_request(format!("{what} is not base64"))
}

pub(crate) async fn send(
    what: &str,
    client: &aws_sdk_sqs::Client,
    url: &str,
    op: SendMessage,
) -> Result<Value, ControlError> {
    use aws_sdk_sqs::types::MessageAttributeValue as Attr;
    let mut call = client
        .send_message()
        .queue_url(url)
        .message_body(op.message_body)
        .set_message_group_id(op.message_group_id)
        .set_message_deduplication_id(op.message_deduplication_id);
    if let Some(delay) = op.delay_seconds {
        call = call.delay_seconds(delay.min(900) as i32);
    }
    for (name, value) in op.message_attributes {
        let attribute = match value {
            MessageAttributeValue::Text(text) => {
                Attr::builder().data_type("String").string_value(text)
            }
            MessageAttributeValue::Number(n) => Attr::builder()
                .data_type("Number")
                .string_value(n.to_string()),
            MessageAttributeValue::Typed(typed) => {
                let binary = typed
                    .binary_value
                    .map(|b| {
                        base64::engine::general_purpose::STANDARD
                            .decode(b)
                            .map_err(|_| bad_base64(&format!("attribute `{name}`")))
                    })
                    .transpose()?;
                Attr::builder()
                    .data_type(typed.data_type)
                    .set_string_value(typed.string_value)
                    .set_binary_value(binary.map(aws_sdk_sqs::primitives::Blob::new))
            }
        }
        .build()
        .map_err(|e| ControlError::bad_request(format!("attribute `{name}`: {e}")))?;
        call = call.message_attributes(name, attribute);
    }
    let out = call.send().await.map_err(|e| failed(what, sdk_error(&e)))?;
    answer(SendMessageResult {
        message_id: out.message_id.unwrap_or_default(),
        md5_of_message_body: out.md5_of_message_body.unwrap_or_default(),
        md5_of_message_attributes: out.md5_of_message_attributes,
        sequence_number: out.sequence_number,
        duplicate: false,
    })
}

pub(crate) async fn publish(
    what: &str,
    client: &aws_sdk_sns::Client,
    arn: &str,
    op: Publish,
) -> Result<Value, ControlError> {
    use aws_sdk_sns::types::MessageAttributeValue as Attr;
    let mut call = client
        .publish()
        .topic_arn(arn)
        .message(op.message)
        .set_subject(op.subject)
        .set_message_group_id(op.message_group_id)
        .set_message_deduplication_id(op.message_deduplication_id);
    for (name, value) in op.message_attributes {
        let attribute = match value {
            AttributeInput::Text(text) => Attr::builder().data_type("String").string_value(text),
            AttributeInput::Number(n) => Attr::builder()
                .data_type("Number")
                .string_value(n.to_string()),
            AttributeInput::Array(items) => Attr::builder()
                .data_type("String.Array")
                .string_value(Value::Array(items).to_string()),
            AttributeInput::Typed(typed) => {
                // SNS's casing, or the camelCase the sandbox's SDKs send.
                let field = |upper: &str, lower: &str| {
                    typed
                        .get(upper)
                        .or_else(|| typed.get(lower))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                let binary = field("BinaryValue", "binaryValue")
                    .map(|b| {
                        base64::engine::general_purpose::STANDARD
                            .decode(b)
                            .map_err(|_| bad_base64(&format!("attribute `{name}`")))
                    })
                    .transpose()?;
                Attr::builder()
                    .data_type(field("DataType", "dataType").unwrap_or_else(|| "String".into()))
                    .set_string_value(field("StringValue", "stringValue"))
                    .set_binary_value(binary.map(aws_sdk_sns::primitives::Blob::new))
            }
        }
        .build()
        .map_err(|e| ControlError::bad_request(format!("attribute `{name}`: {e}")))?;
        call = call.message_attributes(name, attribute);
    }
    let out = call.send().await.map_err(|e| failed(what, sdk_error(&e)))?;
    answer(PublishResult {
        message_id: out.message_id.unwrap_or_default(),
        sequence_number: out.sequence_number,
        duplicate: false,
        queues: Vec::new(),
        function_deliveries: 0,
        filtered: Vec::new(),
    })
}

pub(crate) async fn put_events(
    what: &str,
    client: &aws_sdk_eventbridge::Client,
    arn: &str,
    op: PutEvents,
) -> Result<Value, ControlError> {
    use aws_sdk_eventbridge::types::PutEventsRequestEntry;
    let entries = op
        .entries
        .into_iter()
        .map(|e| {
            let time = match e.time {
                Some(input) => Some(crate::time(&input)?),
                None => None,
            };
            Ok(PutEventsRequestEntry::builder()
                .event_bus_name(arn)
                .set_source(e.source)
                .set_detail_type(e.detail_type)
                .set_detail(e.detail)
                .set_resources((!e.resources.is_empty()).then_some(e.resources))
                .set_trace_header(e.trace_header)
                .set_time(time.map(|t: chrono::DateTime<chrono::Utc>| {
                    aws_sdk_eventbridge::primitives::DateTime::from_millis(t.timestamp_millis())
                }))
                .build())
        })
        .collect::<Result<Vec<_>, ControlError>>()?;
    let out = client
        .put_events()
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| failed(what, sdk_error(&e)))?;
    answer(PutEventsResult {
        failed_entry_count: out.failed_entry_count.max(0) as u32,
        entries: out
            .entries
            .unwrap_or_default()
            .into_iter()
            .map(|e| PutEventsResultEntry {
                event_id: e.event_id,
                error_code: e.error_code,
                error_message: e.error_message,
            })
            .collect(),
    })
}

fn data(text: &str) -> Result<aws_sdk_kinesis::primitives::Blob, ControlError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map(aws_sdk_kinesis::primitives::Blob::new)
        .map_err(|_| bad_base64("`data`"))
}

pub(crate) async fn put_record(
    what: &str,
    client: &aws_sdk_kinesis::Client,
    stream: &str,
    entry: PutRecordsEntry,
) -> Result<Value, ControlError> {
    let out = client
        .put_record()
        .stream_name(stream)
        .partition_key(entry.partition_key)
        .data(data(&entry.data)?)
        .set_explicit_hash_key(entry.explicit_hash_key)
        .send()
        .await
        .map_err(|e| failed(what, sdk_error(&e)))?;
    answer(PutRecordResult {
        shard_id: out.shard_id,
        sequence_number: out.sequence_number,
    })
}

pub(crate) async fn put_records(
    what: &str,
    client: &aws_sdk_kinesis::Client,
    stream: &str,
    entries: Vec<PutRecordsEntry>,
) -> Result<Value, ControlError> {
    use aws_sdk_kinesis::types::PutRecordsRequestEntry;
    let records = entries
        .into_iter()
        .map(|e| {
            PutRecordsRequestEntry::builder()
                .partition_key(e.partition_key)
                .data(data(&e.data)?)
                .set_explicit_hash_key(e.explicit_hash_key)
                .build()
                .map_err(|e| ControlError::bad_request(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let out = client
        .put_records()
        .stream_name(stream)
        .set_records(Some(records))
        .send()
        .await
        .map_err(|e| failed(what, sdk_error(&e)))?;
    answer(PutRecordsResult {
        failed_record_count: out.failed_record_count.unwrap_or(0).max(0) as usize,
        records: out
            .records
            .into_iter()
            .map(|r| PutRecordsResultEntry {
                shard_id: r.shard_id,
                sequence_number: r.sequence_number,
                error_code: r.error_code,
                error_message: r.error_message,
            })
            .collect(),
    })
}
