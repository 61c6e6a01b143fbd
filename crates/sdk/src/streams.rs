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
use serde::Serialize;

use crate::Error;

/// What `PutRecord` answers.
pub use sandbox_ops::streams::PutRecordResult as Put;
/// What `PutRecords` answers: `failed_record_count` and, in request order, each record's
/// shard and sequence number or its error.
pub use sandbox_ops::streams::PutRecordsResult as PutRecords;
/// One entry of [`PutRecords`].
pub use sandbox_ops::streams::PutRecordsResultEntry as PutRecordsEntry;

/// One record: a partition key and bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Record(sandbox_ops::streams::PutRecordsEntry);

impl Record {
    pub fn new(partition_key: impl Into<String>, data: impl AsRef<[u8]>) -> Self {
        Record(sandbox_ops::streams::PutRecordsEntry::new(
            partition_key,
            base64::engine::general_purpose::STANDARD.encode(data.as_ref()),
        ))
    }

    /// Routes the record by this decimal hash key instead of the partition key's MD5.
    pub fn explicit_hash_key(mut self, key: impl Into<String>) -> Self {
        self.0.explicit_hash_key = Some(key.into());
        self
    }
}

/// Puts one record of `data` under `partition_key`.
pub fn put(stream: &str, partition_key: &str, data: impl AsRef<[u8]>) -> Result<Put, Error> {
    put_record(stream, Record::new(partition_key, data))
}

/// `PutRecord` with options.
pub fn put_record(stream: &str, record: Record) -> Result<Put, Error> {
    let entry = record.0;
    let request = sandbox_ops::streams::PutRecord {
        stream_name: Some(stream.to_string()),
        partition_key: entry.partition_key,
        data: entry.data,
        explicit_hash_key: entry.explicit_hash_key,
    };
    crate::host::call("streams", "PutRecord", &request)
}

/// `PutRecords`: 1 to 500 records; a record the stream refuses fails alone.
pub fn put_records(stream: &str, records: Vec<Record>) -> Result<PutRecords, Error> {
    let request = sandbox_ops::streams::PutRecords {
        stream_name: Some(stream.to_string()),
        records: records.into_iter().map(|r| r.0).collect(),
    };
    crate::host::call("streams", "PutRecords", &request)
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
            json!({"PartitionKey": "k", "Data": "aGk=", "ExplicitHashKey": "7"})
        );
        assert_eq!(
            serde_json::to_value(Record::new("k", "")).unwrap(),
            json!({"PartitionKey": "k", "Data": ""})
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
