//! Kinesis's data plane: PutRecord, PutRecords, GetShardIterator and GetRecords.
//!
//! Puts go through the same stream as the control API's and handlers', so the stream's
//! Lambda consumers (`@streams` handlers) see them. Readers are independent of those
//! consumers: a shard iterator carries its own position,
//! `base64("<stream incarnation>:<shard index>:<position>:<issued ms>:<stream name>")`,
//! and expires five minutes after it was issued, as AWS's do. The incarnation makes an
//! iterator of a deleted stream fail on a new stream of the same name.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use sandbox_ops::aws::ACCOUNT;
use sandbox_services::stream::{IteratorStart, PutEntry, PutError, PutResult, ReadError, Stream};

use super::{epoch, int, invalid_argument, not_found, stream_name, string, validation};
use crate::protocol::Call;
use crate::{Aws, AwsError};

/// How long a shard iterator stays usable.
const ITERATOR_LIFETIME_MS: i64 = 300_000;
/// GetRecords' largest (and default) Limit.
const MAX_GET_RECORDS: i64 = 10_000;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn data(value: &Value, field: &str) -> Result<Vec<u8>, AwsError> {
    let text = value
        .as_str()
        .ok_or_else(|| validation("null", field, "not be null"))?;
    B64.decode(text)
        .map_err(|e| AwsError::malformed(format!("{field} is not valid base64: {e}")))
}

fn put_error(e: &PutError) -> AwsError {
    AwsError::sender(e.code(), e.to_string())
}

/// Runs `f` on the named stream, or answers ResourceNotFoundException.
fn with<R>(
    aws: &Aws,
    name: &str,
    f: impl FnOnce(&mut Stream, DateTime<Utc>) -> R,
) -> Result<R, AwsError> {
    aws.triggers()
        .streams()
        .with_stream(name, f)
        .map_err(AwsError::not_saved)?
        .ok_or_else(|| not_found(name))
}

pub(super) fn put_record(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = stream_name(call)?;
    let partition_key = string(call, "PartitionKey")?.to_string();
    let data = data(&call.input["Data"], "data")?;
    let explicit = call.input["ExplicitHashKey"].as_str().map(str::to_string);
    // Sequence numbers only ever grow here, so the ordering it asks for always holds.
    if let Some(s) = call.input["SequenceNumberForOrdering"].as_str() {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid_argument(format!(
                "SequenceNumberForOrdering {s} is not a sequence number."
            )));
        }
    }
    let result = with(aws, &name, |s, now| {
        s.put(partition_key, data, explicit, now)
    })?
    .map_err(|e| put_error(&e))?;
    Ok(put_json(&result))
}

fn put_json(result: &PutResult) -> Value {
    json!({
        "ShardId": result.shard_id,
        "SequenceNumber": result.sequence_number,
        "EncryptionType": "NONE",
    })
}

pub(super) fn put_records(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = stream_name(call)?;
    let records = call.input["Records"]
        .as_array()
        .ok_or_else(|| validation("null", "records", "not be null"))?;
    if records.is_empty() || records.len() > 500 {
        let rule = if records.is_empty() {
            "have length greater than or equal to 1"
        } else {
            "have length less than or equal to 500"
        };
        return Err(validation(
            format!("{} records", records.len()),
            "records",
            rule,
        ));
    }
    let entries = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(PutEntry {
                partition_key: r["PartitionKey"]
                    .as_str()
                    .ok_or_else(|| {
                        validation(
                            "null",
                            &format!("records.{}.member.partitionKey", i + 1),
                            "not be null",
                        )
                    })?
                    .to_string(),
                data: data(&r["Data"], &format!("records.{}.member.data", i + 1))?,
                explicit_hash_key: r["ExplicitHashKey"].as_str().map(str::to_string),
            })
        })
        .collect::<Result<Vec<_>, AwsError>>()?;
    let results = with(aws, &name, |s, now| s.put_records(entries, now))?
        .map_err(|e| invalid_argument(e.to_string()))?;
    let failed = results.iter().filter(|r| r.is_err()).count();
    let answers: Vec<Value> = results
        .iter()
        .map(|r| match r {
            Ok(put) => json!({ "ShardId": put.shard_id, "SequenceNumber": put.sequence_number }),
            Err(e) => json!({ "ErrorCode": e.code(), "ErrorMessage": e.to_string() }),
        })
        .collect();
    Ok(json!({
        "FailedRecordCount": failed,
        "Records": answers,
        "EncryptionType": "NONE",
    }))
}

/// A reader's place in one shard, as its shard iterator carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Iterator {
    incarnation: u64,
    shard: usize,
    position: u64,
    issued_ms: i64,
    stream: String,
}

impl Iterator {
    fn encode(&self) -> String {
        B64.encode(format!(
            "{}:{}:{}:{}:{}",
            self.incarnation, self.shard, self.position, self.issued_ms, self.stream
        ))
    }

    fn decode(text: &str) -> Option<Iterator> {
        let plain = String::from_utf8(B64.decode(text).ok()?).ok()?;
        let mut parts = plain.splitn(5, ':');
        Some(Iterator {
            incarnation: parts.next()?.parse().ok()?,
            shard: parts.next()?.parse().ok()?,
            position: parts.next()?.parse().ok()?,
            issued_ms: parts.next()?.parse().ok()?,
            stream: parts.next().filter(|s| !s.is_empty())?.to_string(),
        })
    }
}

fn shard_not_found(shard: &str, stream: &str) -> AwsError {
    AwsError::sender(
        "ResourceNotFoundException",
        format!("Shard {shard} in stream {stream} under account {ACCOUNT} does not exist"),
    )
}

/// The iterator type and its argument.
fn iterator_start(call: &Call) -> Result<IteratorStart, AwsError> {
    let kind = string(call, "ShardIteratorType")?;
    let sequence = || {
        call.input["StartingSequenceNumber"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                invalid_argument(format!(
                    "StartingSequenceNumber must be provided for ShardIteratorType {kind}."
                ))
            })
    };
    Ok(match kind {
        "TRIM_HORIZON" => IteratorStart::TrimHorizon,
        "LATEST" => IteratorStart::Latest,
        "AT_SEQUENCE_NUMBER" => IteratorStart::AtSequenceNumber(sequence()?),
        "AFTER_SEQUENCE_NUMBER" => IteratorStart::AfterSequenceNumber(sequence()?),
        "AT_TIMESTAMP" => {
            let seconds = call.input["Timestamp"].as_f64().ok_or_else(|| {
                invalid_argument("Timestamp must be provided for ShardIteratorType AT_TIMESTAMP.")
            })?;
            let at = DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
                .ok_or_else(|| invalid_argument(format!("Timestamp {seconds} is not a time.")))?;
            IteratorStart::AtTimestamp(at)
        }
        other => {
            return Err(validation(
                other,
                "shardIteratorType",
                "satisfy enum value set: [AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, AT_TIMESTAMP, TRIM_HORIZON, LATEST]",
            ))
        }
    })
}

pub(super) fn get_shard_iterator(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = stream_name(call)?;
    let shard = string(call, "ShardId")?;
    let start = iterator_start(call)?;
    let iterator = with(aws, &name, |stream, now| {
        let position = stream.iterator_position(shard, &start)?;
        Ok::<_, ReadError>(Iterator {
            incarnation: stream.meta().incarnation,
            shard: stream.shard_index(shard).unwrap_or(0),
            position,
            issued_ms: now.timestamp_millis(),
            stream: name.clone(),
        })
    })?
    .map_err(|e| match e {
        ReadError::UnknownShard { .. } => shard_not_found(shard, &name),
        ReadError::BadSequenceNumber(s) => invalid_argument(format!(
            "Invalid StartingSequenceNumber. It encodes a sequence number {s} that stream {name} did not give to shard {shard} under account {ACCOUNT}."
        )),
    })?;
    Ok(json!({ "ShardIterator": iterator.encode() }))
}

/// AWS's wording of times in ExpiredIteratorException.
fn java_time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%a %b %d %H:%M:%S UTC %Y").to_string())
        .unwrap_or_default()
}

pub(super) fn get_records(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let text = string(call, "ShardIterator")?;
    let limit = match int(call, "Limit")? {
        None => MAX_GET_RECORDS,
        Some(n) if (1..=MAX_GET_RECORDS).contains(&n) => n,
        Some(n) => {
            return Err(invalid_argument(format!(
                "Limit {n} is outside 1..={MAX_GET_RECORDS}."
            )))
        }
    };
    let iterator = Iterator::decode(text)
        .ok_or_else(|| invalid_argument(format!("Invalid ShardIterator: {text}")))?;
    let name = iterator.stream.clone();
    with(aws, &name, |stream, now| {
        let shard_id = stream.shards().get(iterator.shard).map(|s| s.id.clone());
        let shard_id = match shard_id {
            Some(id) if stream.meta().incarnation == iterator.incarnation => id,
            _ => return Err(not_found(&name)),
        };
        let now_ms = now.timestamp_millis();
        if now_ms - iterator.issued_ms > ITERATOR_LIFETIME_MS {
            return Err(AwsError::sender(
                "ExpiredIteratorException",
                format!(
                    "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {ITERATOR_LIFETIME_MS} milliseconds.",
                    java_time(iterator.issued_ms),
                    java_time(now_ms)
                ),
            ));
        }
        let _ = shard_id;
        let read = stream.read(iterator.shard, iterator.position, limit as usize, now);
        let records: Vec<Value> = read
            .records
            .iter()
            .map(|r| {
                json!({
                    "SequenceNumber": r.sequence_number,
                    "ApproximateArrivalTimestamp": epoch(r.approximate_arrival),
                    "Data": B64.encode(&r.data),
                    "PartitionKey": r.partition_key,
                })
            })
            .collect();
        let next = Iterator {
            position: read.next,
            issued_ms: now_ms,
            ..iterator.clone()
        };
        Ok(json!({
            "Records": records,
            "NextShardIterator": next.encode(),
            "MillisBehindLatest": read.millis_behind_latest,
        }))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterators_round_trip_and_refuse_garbage() {
        let it = Iterator {
            incarnation: 7,
            shard: 2,
            position: 41,
            issued_ms: 1_893_456_000_000,
            stream: "a:b".into(),
        };
        assert_eq!(Iterator::decode(&it.encode()), Some(it));
        assert_eq!(Iterator::decode("not base64!"), None);
        assert_eq!(Iterator::decode(&B64.encode("1:2:3")), None);
        assert_eq!(Iterator::decode(&B64.encode("1:2:3:4:")), None);
    }

    #[test]
    fn expiry_times_read_like_aws() {
        assert_eq!(java_time(1_893_456_000_000), "Tue Jan 01 00:00:00 UTC 2030");
    }
}
