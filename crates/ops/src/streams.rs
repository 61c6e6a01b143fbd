//! Stream operations: `PutRecord`, `PutRecords`, moving a consumer, and their answers.

use serde::{Deserialize, Serialize};

use crate::text::TimeInput;

/// `PutRecord`. From a handler, `StreamName` names the stream; the control API takes it
/// from the path. `Data` is base64, as on Kinesis's wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PutRecord {
    #[serde(default, alias = "stream", skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    #[serde(alias = "partitionKey")]
    pub partition_key: String,
    /// Base64.
    #[serde(alias = "data")]
    pub data: String,
    #[serde(
        default,
        alias = "explicitHashKey",
        skip_serializing_if = "Option::is_none"
    )]
    pub explicit_hash_key: Option<String>,
}

impl PutRecord {
    /// The record this request puts.
    pub fn into_entry(self) -> PutRecordsEntry {
        PutRecordsEntry {
            partition_key: self.partition_key,
            data: self.data,
            explicit_hash_key: self.explicit_hash_key,
        }
    }
}

/// `PutRecords`: 1 to 500 records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PutRecords {
    #[serde(default, alias = "stream", skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    #[serde(alias = "records")]
    pub records: Vec<PutRecordsEntry>,
}

/// One record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PutRecordsEntry {
    #[serde(alias = "partitionKey")]
    pub partition_key: String,
    /// Base64.
    #[serde(alias = "data")]
    pub data: String,
    /// A decimal integer below 2^128 that picks the shard instead of the key's MD5.
    #[serde(
        default,
        alias = "explicitHashKey",
        skip_serializing_if = "Option::is_none"
    )]
    pub explicit_hash_key: Option<String>,
}

impl PutRecordsEntry {
    /// A record whose data is already base64.
    pub fn new(partition_key: impl Into<String>, base64_data: impl Into<String>) -> Self {
        PutRecordsEntry {
            partition_key: partition_key.into(),
            data: base64_data.into(),
            explicit_hash_key: None,
        }
    }
}

/// Whether a `POST /_sandbox/streams/{name}/records` body is `PutRecords` (it has
/// `records`) rather than one record.
pub fn is_put_records(body: &serde_json::Value) -> bool {
    body.get("records")
        .or_else(|| body.get("Records"))
        .is_some()
}

/// `PutRecord`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRecordResult {
    pub shard_id: String,
    pub sequence_number: String,
}

/// `PutRecords`' answer: in request order, each record's shard and sequence number or
/// its error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRecordsResult {
    pub failed_record_count: usize,
    pub records: Vec<PutRecordsResultEntry>,
}

/// One entry of [`PutRecordsResult`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRecordsResultEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// Moves a consumer: `{"position": "TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP" |
/// "AT_SEQUENCE_NUMBER", "timestamp"?, "sequenceNumber"?}` (Kinesis's
/// `ShardIteratorType` names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPosition {
    pub position: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TimeInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

/// `GET /_sandbox/streams`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamList {
    pub streams: Vec<StreamView>,
}

/// One stream: its shards and every consumer's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamView {
    pub name: String,
    pub arn: String,
    pub retention_hours: u64,
    /// Retained records, over every shard.
    pub records: usize,
    pub shards: Vec<ShardView>,
    pub consumers: Vec<ConsumerView>,
}

/// One shard and the hash keys it owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardView {
    pub shard_id: String,
    pub hash_key_range: HashKeyRange,
    pub records: usize,
}

/// Kinesis's `HashKeyRange` (decimal text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HashKeyRange {
    pub starting_hash_key: String,
    pub ending_hash_key: String,
}

/// One consumer: its settings (as Lambda's event source mapping names them) and where it
/// stands in each shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerView {
    pub name: String,
    pub function: Option<String>,
    pub batch_size: Option<u32>,
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_record_age_in_seconds: Option<i64>,
    pub bisect_batch_on_function_error: Option<bool>,
    pub report_batch_item_failures: Option<bool>,
    /// `queue:NAME`, `topic:NAME` or `fn:NAME`.
    pub on_failure: Option<String>,
    /// Records not yet processed, over every shard.
    pub lag: usize,
    pub given_up: u64,
    pub lost_to_retention: u64,
    pub shards: Vec<ConsumerShardView>,
}

/// A consumer's place in one shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerShardView {
    pub shard_id: String,
    /// The last sequence number processed.
    pub checkpoint: Option<String>,
    pub lag: usize,
    pub in_flight: Option<InFlightView>,
    /// Failed record groups waiting for a retry (two after a bisect).
    pub retry_batches: usize,
}

/// The batch a consumer is running in a shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlightView {
    pub batch_id: u64,
    pub records: usize,
    pub attempt: u32,
    pub first_sequence_number: String,
    pub last_sequence_number: String,
}

/// `GET /_sandbox/streams/{name}/records`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordList {
    pub records: Vec<RecordView>,
}

/// One retained record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    pub shard_id: String,
    pub sequence_number: String,
    pub partition_key: String,
    /// Base64.
    pub data: String,
    /// Epoch seconds with milliseconds, as Kinesis answers it.
    pub approximate_arrival_timestamp: f64,
}
