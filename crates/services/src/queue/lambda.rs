//! The pure half of Lambda's SQS event source mapping: the event a batch becomes, and what
//! the handler's answer means for each message.
//!
//! The event matches what Lambda sends (aws-semantics.md, "SQS → Lambda"): `Records[]` with
//! string-valued system `attributes` (epoch milliseconds), camelCase `messageAttributes`
//! with empty `stringListValues`/`binaryListValues`, and `md5OfMessageAttributes` only when
//! the message has attributes (real events captured from AWS leave it out otherwise).
//! A message read from a dead-letter queue also carries `DeadLetterQueueSourceArn`.
//!
//! [`batch_outcome`] applies the partial batch response rules ("Partial batch response"):
//! a failed invocation retries the whole batch; with `ReportBatchItemFailures` off any
//! successful return deletes everything; with it on, only a well-formed
//! `{"batchItemFailures":[{"itemIdentifier": id}]}` naming ids of this batch retries just
//! those, and anything malformed fails the whole batch. Retrying here means "do not delete":
//! the message comes back when its visibility timeout ends, as on AWS.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use serde::Serialize;

use super::queue::Delivery;

/// `arn:aws:sqs:<region>:<account>:<name>`.
pub use sandbox_ops::aws::queue_arn;

#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "Records")]
    records: Vec<Record<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    message_id: &'a str,
    receipt_handle: &'a str,
    body: &'a str,
    attributes: SystemAttributes<'a>,
    message_attributes: BTreeMap<&'a str, EventAttribute<'a>>,
    md5_of_body: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5_of_message_attributes: Option<&'a str>,
    event_source: &'static str,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: &'a str,
    aws_region: &'a str,
}

// Field order follows AWS's FIFO example event; absent fields give the standard order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SystemAttributes<'a> {
    approximate_receive_count: Text<u32>,
    sent_timestamp: Text<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_group_id: Option<&'a str>,
    sender_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_deduplication_id: Option<&'a str>,
    approximate_first_receive_timestamp: Text<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dead_letter_queue_source_arn: Option<String>,
}

/// A number the event carries as a JSON string, written straight into the event rather
/// than through a `String` of its own (three per message otherwise).
struct Text<T>(T);

impl<T: std::fmt::Display> Serialize for Text<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventAttribute<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    string_value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binary_value: Option<String>,
    string_list_values: [&'a str; 0],
    binary_list_values: [&'a str; 0],
    data_type: &'a str,
}

/// The SQS event Lambda would send for this batch, as JSON bytes.
pub fn sqs_event(deliveries: &[Delivery], queue_arn: &str, region: &str) -> Vec<u8> {
    let arn_prefix = queue_arn.rsplit_once(':').map_or("", |(prefix, _)| prefix);
    let records = deliveries
        .iter()
        .map(|d| {
            let m = &d.message;
            let first = m.first_received_at.unwrap_or(m.sent_at);
            Record {
                message_id: &m.id,
                receipt_handle: &d.receipt_handle,
                body: &m.body,
                attributes: SystemAttributes {
                    approximate_receive_count: Text(m.receive_count),
                    sent_timestamp: Text(m.sent_at.timestamp_millis()),
                    sequence_number: m.sequence_number.as_deref(),
                    message_group_id: m.group_id.as_deref(),
                    sender_id: &m.sender_id,
                    message_deduplication_id: m.dedup_id.as_deref(),
                    approximate_first_receive_timestamp: Text(first.timestamp_millis()),
                    dead_letter_queue_source_arn: m
                        .dead_letter_source
                        .as_ref()
                        .map(|source| format!("{arn_prefix}:{source}")),
                },
                message_attributes: m
                    .attributes
                    .iter()
                    .map(|(name, a)| {
                        (
                            name.as_str(),
                            EventAttribute {
                                string_value: a.string_value.as_deref(),
                                binary_value: a
                                    .binary_value
                                    .as_ref()
                                    .map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
                                string_list_values: [],
                                binary_list_values: [],
                                data_type: &a.data_type,
                            },
                        )
                    })
                    .collect(),
                md5_of_body: &m.md5_of_body,
                md5_of_message_attributes: m.md5_of_message_attributes.as_deref(),
                event_source: "aws:sqs",
                event_source_arn: queue_arn,
                aws_region: region,
            }
        })
        .collect();
    // About 600 bytes of envelope per record besides the body: one allocation, not a
    // doubling series.
    let size: usize = deliveries.iter().map(|d| 640 + d.message.body.len()).sum();
    let mut event = Vec::with_capacity(size);
    // Serializing plain strings and maps into a Vec cannot fail.
    match serde_json::to_writer(&mut event, &Event { records }) {
        Ok(()) => event,
        Err(_) => Vec::new(),
    }
}

/// What to do with each message of a batch after the handler ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Message ids to delete (processed), in batch order.
    pub delete: Vec<String>,
    /// Message ids to leave alone: they come back after the visibility timeout.
    pub retry: Vec<String>,
    /// Why the response was not taken at face value, for the log.
    pub warning: Option<String>,
}

impl BatchOutcome {
    fn all(batch_ids: &[String], delete: bool, warning: Option<String>) -> Self {
        let ids = batch_ids.to_vec();
        let (delete, retry) = if delete {
            (ids, Vec::new())
        } else {
            (Vec::new(), ids)
        };
        BatchOutcome {
            delete,
            retry,
            warning,
        }
    }
}

/// Applies Lambda's rules to one invocation's result. `output` is the handler's stdout when
/// it succeeded and `None` when it failed (trap, exit code, timeout, out of memory).
pub fn batch_outcome(
    output: Option<&[u8]>,
    batch_ids: &[String],
    report_batch_item_failures: bool,
) -> BatchOutcome {
    let Some(output) = output else {
        return BatchOutcome::all(batch_ids, false, None);
    };
    let failures = parse_failures(output);
    if !report_batch_item_failures {
        let warning = match failures {
            Ok(ids) if !ids.is_empty() => Some(format!(
                "the handler returned batchItemFailures ({}) but ReportBatchItemFailures is off for this queue, so the whole batch counts as processed and is deleted; turn on reportBatchItemFailures to retry only those",
                ids.join(", ")
            )),
            _ => None,
        };
        return BatchOutcome::all(batch_ids, true, warning);
    }
    let ids = match failures {
        Ok(ids) => ids,
        Err(why) => {
            return BatchOutcome::all(
                batch_ids,
                false,
                Some(format!("{why}; the whole batch is retried, as Lambda does")),
            )
        }
    };
    if let Some(stranger) = ids.iter().find(|id| !batch_ids.contains(id)) {
        return BatchOutcome::all(
            batch_ids,
            false,
            Some(format!(
                "batchItemFailures names `{stranger}`, which is not a message id of this batch; the whole batch is retried, as Lambda does"
            )),
        );
    }
    let failed: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let (retry, delete) = batch_ids
        .iter()
        .cloned()
        .partition(|id| failed.contains(id.as_str()));
    BatchOutcome {
        delete,
        retry,
        warning: None,
    }
}

/// [`batch_outcome`] for a FIFO batch: once a message of a group is retried, every later
/// message of that group in the batch is retried too, so the group's order survives (AWS
/// advises FIFO handlers to report failed *and unprocessed* messages; this enforces it).
pub fn batch_outcome_fifo(
    output: Option<&[u8]>,
    deliveries: &[Delivery],
    report_batch_item_failures: bool,
) -> BatchOutcome {
    let ids: Vec<String> = deliveries.iter().map(|d| d.message.id.clone()).collect();
    let outcome = batch_outcome(output, &ids, report_batch_item_failures);
    let retried: HashSet<&str> = outcome.retry.iter().map(String::as_str).collect();
    let mut failed_groups: HashSet<Option<&str>> = HashSet::new();
    let mut result = BatchOutcome {
        warning: outcome.warning.clone(),
        ..BatchOutcome::default()
    };
    let mut held_back = Vec::new();
    for d in deliveries {
        let group = d.message.group_id.as_deref();
        let id = &d.message.id;
        if retried.contains(id.as_str()) {
            failed_groups.insert(group);
            result.retry.push(id.clone());
        } else if failed_groups.contains(&group) {
            held_back.push(id.clone());
            result.retry.push(id.clone());
        } else {
            result.delete.push(id.clone());
        }
    }
    if !held_back.is_empty() {
        let note = format!(
            "kept {} for retry although reported processed: an earlier message of the same FIFO group failed, and deleting them would break the group's order",
            held_back.join(", ")
        );
        result.warning = Some(match result.warning {
            Some(w) => format!("{w}; {note}"),
            None => note,
        });
    }
    result
}

/// Reads `batchItemFailures` from a handler's output: `Ok(ids)` (empty for complete
/// success) or `Err(why the whole batch fails)`.
fn parse_failures(output: &[u8]) -> Result<Vec<String>, String> {
    if output.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let value: serde_json::Value = serde_json::from_slice(output)
        .map_err(|e| format!("the handler's response is not valid JSON ({e})"))?;
    let failures = match value.get("batchItemFailures") {
        None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
                "batchItemFailures must be a list, got {}",
                json_kind(other)
            ))
        }
    };
    let mut ids: Vec<String> = Vec::new();
    for item in failures {
        let Some(object) = item.as_object() else {
            return Err(format!(
                "each batchItemFailures entry must be an object like {{\"itemIdentifier\": \"<messageId>\"}}, got {}",
                json_kind(item)
            ));
        };
        match object.get("itemIdentifier") {
            Some(serde_json::Value::String(id)) if !id.is_empty() => {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
            Some(serde_json::Value::String(_)) => {
                return Err("a batchItemFailures entry has an empty itemIdentifier".into())
            }
            Some(serde_json::Value::Null) => {
                return Err("a batchItemFailures entry has a null itemIdentifier".into())
            }
            Some(other) => {
                return Err(format!(
                    "itemIdentifier must be a message id string, got {}",
                    json_kind(other)
                ))
            }
            None => {
                let keys: Vec<&str> = object.keys().map(String::as_str).collect();
                return Err(format!(
                    "a batchItemFailures entry has no `itemIdentifier` key (keys: {})",
                    if keys.is_empty() {
                        "none".to_string()
                    } else {
                        keys.join(", ")
                    }
                ));
            }
        }
    }
    Ok(ids)
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Splits a FIFO batch into one batch per message group (groups in order of first
/// appearance, messages in order within each), for one invocation per group.
pub fn by_group(deliveries: Vec<Delivery>) -> Vec<Vec<Delivery>> {
    let mut groups: Vec<(Option<String>, Vec<Delivery>)> = Vec::new();
    for d in deliveries {
        match groups.iter_mut().find(|(g, _)| *g == d.message.group_id) {
            Some((_, list)) => list.push(d),
            None => groups.push((d.message.group_id.clone(), vec![d])),
        }
    }
    groups.into_iter().map(|(_, list)| list).collect()
}

#[cfg(test)]
#[path = "lambda_tests.rs"]
mod tests;
