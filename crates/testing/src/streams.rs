//! Typed calls for `/_sandbox/streams`: put records (data given as bytes, sent base64),
//! describe streams and consumers, read retained records, and move a consumer to replay.

use serde_json::{json, Value};

use crate::Sandbox;

impl Sandbox {
    /// `POST /_sandbox/streams/{stream}/records` with one record; answers
    /// `{"shardId", "sequenceNumber"}`.
    pub fn put_record(
        &self,
        stream: &str,
        partition_key: &str,
        data: impl AsRef<[u8]>,
    ) -> anyhow::Result<Value> {
        self.post_json(
            &records_path(stream),
            &Sandbox::stream_record(partition_key, data),
        )?
        .ok_json()
    }

    /// PutRecords: `records` are request entries such as [`Sandbox::stream_record`] builds; answers
    /// `{"failedRecordCount", "records": [{"shardId", "sequenceNumber"} | {"errorCode", "errorMessage"}]}`.
    pub fn put_records(&self, stream: &str, records: Vec<Value>) -> anyhow::Result<Value> {
        self.post_json(&records_path(stream), &json!({ "records": records }))?
            .ok_json()
    }

    /// `GET /_sandbox/streams`: every stream's description.
    pub fn streams(&self) -> anyhow::Result<Vec<Value>> {
        let body = self.get("/_sandbox/streams")?.ok_json()?;
        Ok(body["streams"].as_array().cloned().unwrap_or_default())
    }

    /// `GET /_sandbox/streams/{stream}`: shards with hash-key ranges and record counts,
    /// and each consumer's checkpoints, lag and batches in flight.
    pub fn stream(&self, stream: &str) -> anyhow::Result<Value> {
        self.get(&format!("/_sandbox/streams/{stream}"))?.ok_json()
    }

    /// `GET /_sandbox/streams/{stream}/consumers/{consumer}`.
    pub fn stream_consumer(&self, stream: &str, consumer: &str) -> anyhow::Result<Value> {
        self.get(&format!("/_sandbox/streams/{stream}/consumers/{consumer}"))?
            .ok_json()
    }

    /// The records a stream retains, by shard then sequence number (`data` is base64).
    pub fn stream_records(&self, stream: &str) -> anyhow::Result<Vec<Value>> {
        let body = self.get(&records_path(stream))?.ok_json()?;
        Ok(body["records"].as_array().cloned().unwrap_or_default())
    }

    /// Moves a consumer: `{"position": "TRIM_HORIZON" | "LATEST"}`,
    /// `{"position": "AT_TIMESTAMP", "timestamp": "<RFC 3339>"}` or
    /// `{"position": "AT_SEQUENCE_NUMBER", "sequenceNumber": "49..."}`. Answers the
    /// consumer's description.
    pub fn set_stream_position(
        &self,
        stream: &str,
        consumer: &str,
        position: &Value,
    ) -> anyhow::Result<Value> {
        self.post_json(
            &format!("/_sandbox/streams/{stream}/consumers/{consumer}/position"),
            position,
        )?
        .ok_json()
    }

    /// One PutRecords entry: `{"partitionKey", "data": base64(data)}`.
    pub fn stream_record(partition_key: &str, data: impl AsRef<[u8]>) -> Value {
        json!({ "partitionKey": partition_key, "data": base64(data.as_ref()) })
    }
}

fn records_path(stream: &str) -> String {
    format!("/_sandbox/streams/{stream}/records")
}

/// Standard base64 with padding (this crate has no base64 dependency of its own).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"Hello World"), "SGVsbG8gV29ybGQ=");
        assert_eq!(super::base64(&[0xfb, 0xff]), "+/8=");
    }
}
