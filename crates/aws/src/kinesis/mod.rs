//! Kinesis Data Streams (AWS JSON 1.1, and CBOR for the Java SDK): every operation
//! answered in its JSON form over the same streams as the manifest, the control API and
//! handlers' host calls.
//!
//! - [`streams`]: CreateStream, DeleteStream, DescribeStream(Summary), ListStreams,
//!   ListShards, retention periods and tags.
//! - [`records`]: PutRecord(s), GetShardIterator, GetRecords. Readers hold their position
//!   in the shard iterator itself, so they never move a Lambda consumer's checkpoint.
//!
//! Streams are named by `StreamName` or `StreamARN`; errors carry AWS's codes and
//! messages (`Stream x under account 123456789012 not found.`).

mod records;
mod streams;

use serde_json::Value;

use sandbox_ops::aws::{resource_name, ACCOUNT};

use crate::protocol::Call;
use crate::{unsupported, Aws, AwsError};

pub(crate) async fn call(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    match call.operation.as_str() {
        "CreateStream" => streams::create(aws, call),
        "DeleteStream" => streams::delete(aws, call),
        "DescribeStream" => streams::describe(aws, call),
        "DescribeStreamSummary" => streams::describe_summary(aws, call),
        "ListStreams" => streams::list(aws, call),
        "ListShards" => streams::list_shards(aws, call),
        "IncreaseStreamRetentionPeriod" => streams::retention(aws, call, true),
        "DecreaseStreamRetentionPeriod" => streams::retention(aws, call, false),
        "AddTagsToStream" | "TagResource" => streams::add_tags(aws, call),
        "RemoveTagsFromStream" | "UntagResource" => streams::remove_tags(aws, call),
        "ListTagsForStream" => streams::list_tags_for_stream(aws, call),
        "ListTagsForResource" => streams::list_tags_for_resource(aws, call),
        "PutRecord" => records::put_record(aws, call),
        "PutRecords" => records::put_records(aws, call),
        "GetShardIterator" => records::get_shard_iterator(aws, call),
        "GetRecords" => records::get_records(aws, call),
        _ => Err(unsupported(call)),
    }
}

pub(crate) fn invalid_argument(message: impl Into<String>) -> AwsError {
    AwsError::sender("InvalidArgumentException", message)
}

/// A value outside the model's constraints, worded as AWS's validation layer words it.
pub(crate) use crate::error::validation;

pub(crate) fn not_found(name: &str) -> AwsError {
    AwsError::sender(
        "ResourceNotFoundException",
        format!("Stream {name} under account {ACCOUNT} not found."),
    )
}

/// The stream a call names by `StreamName` or `StreamARN` (`ResourceARN` for the
/// tagging operations); both must agree when both are given.
pub(crate) fn stream_name(call: &Call) -> Result<String, AwsError> {
    let by_name = call.input["StreamName"].as_str();
    let by_arn = ["StreamARN", "ResourceARN"]
        .iter()
        .find_map(|k| call.input[*k].as_str())
        .map(resource_name);
    match (by_name, by_arn) {
        (Some(name), Some(arn)) if name != arn => Err(invalid_argument(format!(
            "StreamName {name} does not match the stream of StreamARN ({arn})."
        ))),
        (Some(name), _) | (None, Some(name)) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(invalid_argument(
            "Either StreamName or StreamARN should be provided.",
        )),
    }
}

/// An optional integer member (the protocol layer has checked JSON's shape only).
pub(crate) fn int(call: &Call, name: &str) -> Result<Option<i64>, AwsError> {
    match &call.input[name] {
        Value::Null => Ok(None),
        v => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| AwsError::malformed(format!("{name} must be an integer, got {v}"))),
    }
}

/// A required string member.
pub(crate) fn string<'a>(call: &'a Call, name: &str) -> Result<&'a str, AwsError> {
    call.input[name]
        .as_str()
        .ok_or_else(|| validation("null", &lower_first(name), "not be null"))
}

use crate::error::member_name as lower_first;

/// Epoch seconds with milliseconds, as Kinesis's JSON form writes timestamps.
pub(crate) fn epoch(t: chrono::DateTime<chrono::Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}
