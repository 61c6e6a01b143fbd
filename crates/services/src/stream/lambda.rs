//! The pure half of Lambda's Kinesis trigger: the event a batch becomes, the on-failure
//! invocation record of a given-up batch, and what the handler's response means.
//!
//! Shapes follow aws-semantics.md ("Kinesis → Lambda", "Kinesis ... failure semantics"):
//! `data` is base64, `approximateArrivalTimestamp` is epoch seconds as a float, `eventID`
//! is `<shardId>:<sequenceNumber>`. Keys are written in AWS's order.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::consumer::{Batch, GivenUp, Outcome};

pub use sandbox_ops::aws::{stream_arn, INVOKE_IDENTITY_ARN};

#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "Records")]
    records: Vec<EventRecord<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventRecord<'a> {
    kinesis: KinesisData<'a>,
    event_source: &'static str,
    event_version: &'static str,
    #[serde(rename = "eventID")]
    event_id: String,
    event_name: &'static str,
    invoke_identity_arn: &'static str,
    aws_region: &'a str,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KinesisData<'a> {
    kinesis_schema_version: &'static str,
    partition_key: &'a str,
    sequence_number: &'a str,
    data: String,
    approximate_arrival_timestamp: f64,
}

/// The Kinesis event Lambda would send for this batch, as JSON bytes.
pub fn kinesis_event(batch: &Batch, stream_arn: &str, region: &str) -> Vec<u8> {
    let records = batch
        .records
        .iter()
        .map(|r| EventRecord {
            kinesis: KinesisData {
                kinesis_schema_version: "1.0",
                partition_key: &r.partition_key,
                sequence_number: &r.sequence_number,
                data: base64::engine::general_purpose::STANDARD.encode(&r.data),
                approximate_arrival_timestamp: r.approximate_arrival.timestamp_millis() as f64
                    / 1000.0,
            },
            event_source: "aws:kinesis",
            event_version: "1.0",
            event_id: format!("{}:{}", batch.shard_id, r.sequence_number),
            event_name: "aws:kinesis:record",
            invoke_identity_arn: INVOKE_IDENTITY_ARN,
            aws_region: region,
            event_source_arn: stream_arn,
        })
        .collect();
    // Plain strings and finite numbers always serialize.
    serde_json::to_vec(&Event { records }).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OnFailureRecord<'a> {
    request_context: RequestContext<'a>,
    response_context: ResponseContext,
    version: &'static str,
    timestamp: String,
    #[serde(rename = "KinesisBatchInfo")]
    kinesis_batch_info: KinesisBatchInfo<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext<'a> {
    request_id: String,
    function_arn: &'a str,
    condition: &'static str,
    approximate_invoke_count: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResponseContext {
    status_code: u16,
    executed_version: &'static str,
    function_error: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KinesisBatchInfo<'a> {
    shard_id: &'a str,
    start_sequence_number: &'a str,
    end_sequence_number: &'a str,
    approximate_arrival_of_first_record: String,
    approximate_arrival_of_last_record: String,
    batch_size: usize,
    stream_arn: &'a str,
}

fn iso_millis(t: Option<DateTime<Utc>>) -> String {
    t.map(crate::rfc3339_millis).unwrap_or_default()
}

fn failure_record<'a>(
    given_up: &'a GivenUp,
    function_arn: &'a str,
    stream_arn: &'a str,
    now: DateTime<Utc>,
) -> OnFailureRecord<'a> {
    OnFailureRecord {
        request_context: RequestContext {
            request_id: uuid::Uuid::new_v4().to_string(),
            function_arn,
            condition: given_up.condition.as_str(),
            approximate_invoke_count: given_up.approximate_invoke_count,
        },
        response_context: ResponseContext {
            status_code: 200,
            executed_version: "$LATEST",
            function_error: "Unhandled",
        },
        version: "1.0",
        timestamp: iso_millis(Some(now)),
        kinesis_batch_info: KinesisBatchInfo {
            shard_id: &given_up.shard_id,
            start_sequence_number: given_up.start_sequence_number(),
            end_sequence_number: given_up.end_sequence_number(),
            approximate_arrival_of_first_record: iso_millis(given_up.first_arrival()),
            approximate_arrival_of_last_record: iso_millis(given_up.last_arrival()),
            batch_size: given_up.records.len(),
            stream_arn,
        },
    }
}

/// The invocation record Lambda sends to the on-failure destination for a given-up batch
/// (metadata only: the records stay in the stream until retention removes them).
/// `requestId` is a fresh UUID. A `Value` sorts keys when printed; use
/// [`on_failure_record_json`] for AWS's key order.
pub fn on_failure_record(
    given_up: &GivenUp,
    function_arn: &str,
    stream_arn: &str,
    now: DateTime<Utc>,
) -> serde_json::Value {
    serde_json::to_value(failure_record(given_up, function_arn, stream_arn, now))
        .unwrap_or_default()
}

/// [`on_failure_record`] as JSON text with AWS's key order (the SQS/SNS message body).
pub fn on_failure_record_json(
    given_up: &GivenUp,
    function_arn: &str,
    stream_arn: &str,
    now: DateTime<Utc>,
) -> String {
    serde_json::to_string(&failure_record(given_up, function_arn, stream_arn, now))
        .unwrap_or_default()
}

/// The outcome of an invocation with `ReportBatchItemFailures` on. `output` is the
/// handler's stdout when it succeeded and `None` when it failed (trap, exit code, timeout).
/// With the setting off, any successful invocation is [`Outcome::Success`]: see
/// [`invocation_outcome`].
pub fn parse_item_failures(output: Option<&[u8]>) -> Outcome {
    invocation_outcome(output, true).0
}

/// What an invocation came to, and why a response was not taken at face value (for the
/// log). Lambda's rules: an empty or null response, a missing or null `batchItemFailures`,
/// or an empty list is complete success; invalid JSON, an entry without an
/// `itemIdentifier` key, or a null, empty or non-string identifier fails the whole batch.
/// (A sequence number not in the batch also fails it; [`super::Stream::complete`] checks.)
pub fn invocation_outcome(
    output: Option<&[u8]>,
    report_batch_item_failures: bool,
) -> (Outcome, Option<String>) {
    let Some(output) = output else {
        return (Outcome::Failure, None);
    };
    if !report_batch_item_failures {
        return (Outcome::Success, None);
    }
    match item_failures(output) {
        Ok(ids) if ids.is_empty() => (Outcome::Success, None),
        Ok(ids) => (Outcome::ItemFailures(ids), None),
        Err(why) => (
            Outcome::Failure,
            Some(format!("{why}; the whole batch is retried, as Lambda does")),
        ),
    }
}

fn item_failures(output: &[u8]) -> Result<Vec<String>, String> {
    use serde_json::Value;
    if output.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_slice(output)
        .map_err(|e| format!("the handler's response is not valid JSON ({e})"))?;
    let items = match value.get("batchItemFailures") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("batchItemFailures must be a list".into()),
    };
    let mut ids = Vec::new();
    for item in items {
        match item.get("itemIdentifier") {
            Some(Value::String(id)) if !id.is_empty() => {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
            Some(Value::String(_)) => {
                return Err("a batchItemFailures entry has an empty itemIdentifier".into())
            }
            Some(Value::Null) => {
                return Err("a batchItemFailures entry has a null itemIdentifier".into())
            }
            Some(_) => {
                return Err(
                    "itemIdentifier must be a sequence number string, as in the event".into(),
                )
            }
            None => {
                return Err(
                    "a batchItemFailures entry has no `itemIdentifier` key (expected {\"itemIdentifier\": \"<sequenceNumber>\"})"
                        .into(),
                )
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
#[path = "lambda_tests.rs"]
mod tests;
