//! Putting records on the app's streams from a handler, as Kinesis's PutRecord and
//! PutRecords do:
//!
//! ```no_run
//! # fn main() -> Result<(), sandbox_sdk::Error> {
//! use sandbox_sdk::streams::{self, Record};
//!
//! let put = streams::put("clicks", "user-42", br#"{"page":"/"}"#)?;
//! sandbox_sdk::log!("stored as {} in {}", put.sequence_number, put.shard_id);
//!
//! let answer = streams::put_records("clicks", vec![
//!     Record::new("user-1", "a"),
//!     Record::new("user-2", "b").explicit_hash_key("0"),
//! ])?;
//! assert_eq!(answer.failed_record_count, 0);
//! # Ok(()) }
//! ```
//!
//! Data is bytes; the SDK base64-encodes it on the way, and consumers receive it base64
//! in the Kinesis event (`aws_lambda_events` decodes it again). A record is routed by the
//! MD5 of its partition key, or by its explicit hash key.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::Error;

/// One record to put.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    partition_key: String,
    /// Base64, as the sandbox expects it.
    data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    explicit_hash_key: Option<String>,
}

impl Record {
    pub fn new(partition_key: impl Into<String>, data: impl AsRef<[u8]>) -> Self {
        Record {
            partition_key: partition_key.into(),
            data: base64::engine::general_purpose::STANDARD.encode(data.as_ref()),
            explicit_hash_key: None,
        }
    }

    /// Routes by this decimal hash key (0..2^128) instead of the partition key's MD5.
    pub fn explicit_hash_key(mut self, key: impl Into<String>) -> Self {
        self.explicit_hash_key = Some(key.into());
        self
    }
}

/// Where a record went (PutRecord's answer).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Put {
    pub shard_id: String,
    pub sequence_number: String,
}

/// PutRecords' answer: one entry per record, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRecords {
    pub failed_record_count: usize,
    pub records: Vec<PutRecordsEntry>,
}

/// A written record's shard and sequence number, or why it was not written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRecordsEntry {
    pub shard_id: Option<String>,
    pub sequence_number: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// Puts `data` on `stream` under `partition_key`.
pub fn put(stream: &str, partition_key: &str, data: impl AsRef<[u8]>) -> Result<Put, Error> {
    put_record(stream, Record::new(partition_key, data))
}

/// Puts one record with every option.
pub fn put_record(stream: &str, record: Record) -> Result<Put, Error> {
    #[derive(Serialize)]
    struct PutRecord<'a> {
        stream: &'a str,
        #[serde(flatten)]
        record: Record,
    }
    crate::host::call("streams", "put", &PutRecord { stream, record })
}

/// Puts up to 500 records at once. A record the stream refuses fails alone (see
/// [`PutRecords::failed_record_count`]); a request over the limits fails whole.
pub fn put_records(stream: &str, records: Vec<Record>) -> Result<PutRecords, Error> {
    #[derive(Serialize)]
    struct PutRecordsRequest<'a> {
        stream: &'a str,
        records: Vec<Record>,
    }
    crate::host::call(
        "streams",
        "putRecords",
        &PutRecordsRequest { stream, records },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_are_sent_base64() {
        let record = Record::new("k", b"hi").explicit_hash_key("7");
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            json!({"partitionKey": "k", "data": "aGk=", "explicitHashKey": "7"})
        );
        assert_eq!(
            serde_json::to_value(Record::new("k", "")).unwrap(),
            json!({"partitionKey": "k", "data": ""})
        );
    }

    #[test]
    fn reads_put_records_answers() {
        let answer: PutRecords = serde_json::from_value(json!({
            "failedRecordCount": 1,
            "records": [
                {"shardId": "shardId-000000000000", "sequenceNumber": "49"},
                {"errorCode": "ValidationException", "errorMessage": "too large"}
            ]
        }))
        .unwrap();
        assert_eq!(answer.failed_record_count, 1);
        assert_eq!(
            answer.records[0].shard_id.as_deref(),
            Some("shardId-000000000000")
        );
        assert_eq!(
            answer.records[1].error_code.as_deref(),
            Some("ValidationException")
        );
    }

    #[test]
    fn off_wasm_there_is_no_sandbox() {
        assert!(put("s", "k", "x").is_err());
    }
}
