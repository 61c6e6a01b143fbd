//! Streams: `/_sandbox/streams/...` and handlers' `streams.PutRecord` / `PutRecords`.
//!
//! Request-level mistakes (not JSON, bad base64, a missing field, more than 500 records)
//! refuse the whole request with a 400 and write nothing. Within a valid PutRecords
//! request, an entry the stream refuses (partition key length, over 1 MiB, bad explicit
//! hash key) fails alone, as Kinesis's PutRecords reports it.

use base64::Engine as _;
use sandbox_ops::control::{decode_value, ControlError};
use sandbox_ops::streams::{
    is_put_records, PutRecord, PutRecordResult, PutRecords, PutRecordsEntry, PutRecordsResult,
    PutRecordsResultEntry, SetPosition,
};
use sandbox_services::stream::{Position, PutEntry, PutError, PutResult, MAX_BATCH_ENTRIES};
use serde_json::Value;

use crate::api::time;
use crate::control::{ok, Answer, Call};
use crate::Triggers;

const PUT_USAGE: &str = r#"send {"partitionKey": "k", "data": "<base64>", "explicitHashKey"?: "<decimal>"} or {"records": [ ... up to 500 of those ... ]}"#;
const POSITION_USAGE: &str = r#"send {"position": "TRIM_HORIZON"}, {"position": "LATEST"}, {"position": "AT_TIMESTAMP", "timestamp": "2030-01-01T00:00:00Z" (or epoch seconds)} or {"position": "AT_SEQUENCE_NUMBER", "sequenceNumber": "49..."}"#;

pub(crate) fn list(triggers: &Triggers, _: &Call) -> Answer {
    ok(triggers.streams().list())
}

pub(crate) fn describe(triggers: &Triggers, call: &Call) -> Answer {
    ok(triggers.streams().describe(call.param(0))?)
}

pub(crate) fn records(triggers: &Triggers, call: &Call) -> Answer {
    ok(triggers.streams().records(
        call.param(0),
        call.query.get("shard").filter(|s| !s.is_empty()),
    )?)
}

pub(crate) fn consumer(triggers: &Triggers, call: &Call) -> Answer {
    ok(triggers
        .streams()
        .describe_consumer(call.param(0), call.param(1))?)
}

/// PutRecord, or PutRecords when the body has `records`.
pub(crate) fn put(triggers: &Triggers, call: &Call) -> Answer {
    let stream = call.param(0);
    let service = triggers.streams();
    let body = json_body(call.body, PUT_USAGE)?;
    if ["StreamName", "stream"]
        .iter()
        .any(|k| body.get(k).is_some())
    {
        return Err(ControlError::bad_request(
            "the stream is named by the path; leave `StreamName` out of the body",
        ));
    }
    match parse_put(body)? {
        PutRequest::One(e) => ok(record_result(&service.put(
            stream,
            &e.partition_key,
            e.data,
            e.explicit_hash_key,
        )?)),
        PutRequest::Many(entries) => ok(records_result(&service.put_records(stream, entries)?)),
    }
}

/// A decoded put: PutRecord or PutRecords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PutRequest {
    One(PutEntry),
    Many(Vec<PutEntry>),
}

/// Reads either put; every entry is decoded before anything is written, so a malformed
/// request writes nothing.
pub(crate) fn parse_put(body: Value) -> Result<PutRequest, ControlError> {
    if is_put_records(&body) {
        let op: PutRecords = decode_value(body, PUT_USAGE)?;
        entries(op.records).map(PutRequest::Many)
    } else {
        let op: PutRecord = decode_value(body, PUT_USAGE)?;
        entry(op.into_entry(), "").map(PutRequest::One)
    }
}

/// Moves a consumer and answers it as it stands right after the move.
pub(crate) fn set_position(triggers: &Triggers, call: &Call) -> Answer {
    let op: SetPosition = decode_value(json_body(call.body, POSITION_USAGE)?, POSITION_USAGE)?;
    let (stream, consumer) = (call.param(0), call.param(1));
    ok(triggers
        .streams()
        .set_position(stream, consumer, position(op)?)?)
}

/// `streams.PutRecord` from a handler.
pub(crate) fn host_put_record(
    triggers: &Triggers,
    _caller: &sandbox_app::Caller<'_>,
    request: Value,
) -> Result<Value, ControlError> {
    if is_put_records(&request) {
        return Err(ControlError::bad_request(
            "`PutRecord` takes one record; use `PutRecords` for `records`",
        ));
    }
    let op: PutRecord = decode_value(request, "")?;
    let stream = stream_name(op.stream_name.as_deref())?.to_string();
    to_value(put_record(triggers, &stream, op.into_entry())?)
}

/// `streams.PutRecords` from a handler.
pub(crate) fn host_put_records(
    triggers: &Triggers,
    _caller: &sandbox_app::Caller<'_>,
    request: Value,
) -> Result<Value, ControlError> {
    if !is_put_records(&request) {
        return Err(ControlError::bad_request(
            "`PutRecords` takes `records`: a list of {partitionKey, data}",
        ));
    }
    let op: PutRecords = decode_value(request, "")?;
    let stream = stream_name(op.stream_name.as_deref())?.to_string();
    to_value(put_records(triggers, &stream, op.records)?)
}

fn stream_name(name: Option<&str>) -> Result<&str, ControlError> {
    name.map(sandbox_ops::aws::resource_name)
        .ok_or_else(|| ControlError::bad_request("`StreamName` (the stream's name) is required"))
}

fn to_value(answer: impl serde::Serialize) -> Result<Value, ControlError> {
    serde_json::to_value(answer).map_err(|e| ControlError::bad_request(e.to_string()))
}

fn json_body(body: &[u8], usage: &str) -> Result<Value, ControlError> {
    serde_json::from_slice(body)
        .map_err(|e| ControlError::bad_request(format!("body is not JSON ({e}); {usage}")))
}

fn put_record(
    triggers: &Triggers,
    stream: &str,
    record: PutRecordsEntry,
) -> Result<PutRecordResult, ControlError> {
    let entry = entry(record, "")?;
    let result = triggers.streams().put(
        stream,
        &entry.partition_key,
        entry.data,
        entry.explicit_hash_key,
    )?;
    Ok(record_result(&result))
}

fn put_records(
    triggers: &Triggers,
    stream: &str,
    records: Vec<PutRecordsEntry>,
) -> Result<PutRecordsResult, ControlError> {
    let entries = entries(records)?;
    Ok(records_result(
        &triggers.streams().put_records(stream, entries)?,
    ))
}

/// PutRecords' entries, all decoded (or the request refused whole).
fn entries(records: Vec<PutRecordsEntry>) -> Result<Vec<PutEntry>, ControlError> {
    if records.is_empty() {
        return Err(ControlError::bad_request(
            "`records` is empty; PutRecords needs 1 to 500 records",
        ));
    }
    if records.len() > MAX_BATCH_ENTRIES {
        return Err(ControlError::bad_request(format!(
            "PutRecords takes at most {MAX_BATCH_ENTRIES} records, got {}; nothing was written",
            records.len()
        )));
    }
    records
        .into_iter()
        .enumerate()
        .map(|(i, record)| entry(record, &format!("records[{i}].")))
        .collect()
}

/// The state machine's entry: `data` decoded from base64. `at` locates it in a batch.
fn entry(record: PutRecordsEntry, at: &str) -> Result<PutEntry, ControlError> {
    let data = base64::engine::general_purpose::STANDARD
        .decode(&record.data)
        .map_err(|e| {
            let nothing = if at.is_empty() {
                ""
            } else {
                "; nothing was written"
            };
            ControlError::bad_request(format!(
                "`{at}data` is not valid base64 ({e}); Kinesis data is sent base64-encoded{nothing}"
            ))
        })?;
    Ok(PutEntry {
        partition_key: record.partition_key,
        data,
        explicit_hash_key: record.explicit_hash_key,
    })
}

pub(crate) fn position(op: SetPosition) -> Result<Position, ControlError> {
    let bad = |what: String| ControlError::bad_request(format!("{what}; {POSITION_USAGE}"));
    let kind = op.position.as_str();
    let stray = match kind {
        "AT_TIMESTAMP" => op.sequence_number.as_ref().map(|_| "sequenceNumber"),
        "AT_SEQUENCE_NUMBER" => op.timestamp.as_ref().map(|_| "timestamp"),
        _ => op
            .timestamp
            .as_ref()
            .map(|_| "timestamp")
            .or(op.sequence_number.as_ref().map(|_| "sequenceNumber")),
    };
    if let Some(key) = stray {
        return Err(bad(format!("`{key}` does not go with position {kind}")));
    }
    match kind {
        "TRIM_HORIZON" => Ok(Position::TrimHorizon),
        "LATEST" => Ok(Position::Latest),
        "AT_TIMESTAMP" => {
            let at = op
                .timestamp
                .ok_or_else(|| bad("AT_TIMESTAMP needs `timestamp`".into()))?;
            let at = time(&at, "`timestamp`").map_err(|e| bad(e.message))?;
            Ok(Position::AtTimestamp(at))
        }
        "AT_SEQUENCE_NUMBER" => op
            .sequence_number
            .map(Position::AtSequenceNumber)
            .ok_or_else(|| bad("AT_SEQUENCE_NUMBER needs `sequenceNumber` (a string)".into())),
        other => Err(bad(format!("unknown position `{other}`"))),
    }
}

fn record_result(result: &PutResult) -> PutRecordResult {
    PutRecordResult {
        shard_id: result.shard_id.clone(),
        sequence_number: result.sequence_number.clone(),
    }
}

/// PutRecords' answer: `failedRecordCount` and, in request order, each record's shard
/// and sequence number or its `errorCode` and `errorMessage`.
fn records_result(results: &[Result<PutResult, PutError>]) -> PutRecordsResult {
    let records = results
        .iter()
        .map(|r| match r {
            Ok(result) => PutRecordsResultEntry {
                shard_id: Some(result.shard_id.clone()),
                sequence_number: Some(result.sequence_number.clone()),
                error_code: None,
                error_message: None,
            },
            Err(e) => PutRecordsResultEntry {
                shard_id: None,
                sequence_number: None,
                error_code: Some(e.code().to_string()),
                error_message: Some(e.to_string()),
            },
        })
        .collect();
    PutRecordsResult {
        failed_record_count: results.iter().filter(|r| r.is_err()).count(),
        records,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use serde_json::json;

    fn entry(key: &str, data: &[u8]) -> PutEntry {
        PutEntry {
            partition_key: key.into(),
            data: data.to_vec(),
            explicit_hash_key: None,
        }
    }

    #[test]
    fn reads_one_record_and_a_batch() {
        assert_eq!(
            parse_put(json!({"partitionKey": "k", "data": "aGk="})).unwrap(),
            PutRequest::One(entry("k", b"hi"))
        );
        let many = parse_put(json!({"records": [
            {"partitionKey": "a", "data": ""},
            {"PartitionKey": "b", "Data": "aGk=", "ExplicitHashKey": "7"},
        ]}))
        .unwrap();
        let mut second = entry("b", b"hi");
        second.explicit_hash_key = Some("7".into());
        assert_eq!(many, PutRequest::Many(vec![entry("a", b""), second]));
    }

    #[test]
    fn refuses_malformed_requests_whole() {
        let err = |v: Value| parse_put(v).unwrap_err();
        let e = err(json!({"partitionKey": "k", "data": "not base64!"}));
        assert_eq!(e.status, 400);
        assert!(
            e.message.contains("`data` is not valid base64"),
            "{}",
            e.message
        );
        let e = err(
            json!({"records": [{"partitionKey": "k", "data": "aGk="}, {"partitionKey": "k", "data": "%%"}]}),
        );
        assert!(e.message.contains("records[1].data"), "{}", e.message);
        assert!(e.message.contains("nothing was written"), "{}", e.message);
        let too_many: Vec<Value> = (0..501)
            .map(|_| json!({"partitionKey": "k", "data": ""}))
            .collect();
        let e = err(json!({ "records": too_many }));
        assert!(
            e.message.contains("at most 500 records, got 501"),
            "{}",
            e.message
        );
        assert!(err(json!({"records": []})).message.contains("empty"));
        let missing = |v: Value, field: &str| {
            let m = err(v).message.to_lowercase();
            assert!(
                m.contains(&format!("missing field `{}`", field.to_lowercase())),
                "{m}"
            );
        };
        missing(json!({"data": "aGk="}), "partitionKey");
        missing(json!({"partitionKey": "k"}), "data");
        assert!(err(json!({"partitionKey": "k", "data": "", "body": 1}))
            .message
            .contains("unknown field `body`"));
        assert!(
            err(json!({"partitionKey": "k", "data": "", "explicitHashKey": 5}))
                .message
                .contains("explicitHashKey")
        );
        assert!(err(json!([1])).message.contains("invalid type"));
        assert!(err(json!({"records": [], "partitionKey": "k"}))
            .message
            .contains("unknown field `partitionKey`"));
    }

    #[test]
    fn reads_positions() {
        let p = |v: Value| position(decode_value(v, POSITION_USAGE)?);
        assert_eq!(
            p(json!({"position": "TRIM_HORIZON"})).unwrap(),
            Position::TrimHorizon
        );
        assert_eq!(p(json!({"position": "LATEST"})).unwrap(), Position::Latest);
        let t = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            p(json!({"position": "AT_TIMESTAMP", "timestamp": "2030-01-01T00:00:00Z"})).unwrap(),
            Position::AtTimestamp(t)
        );
        assert_eq!(
            p(json!({"position": "AT_TIMESTAMP", "timestamp": 1893456000.0})).unwrap(),
            Position::AtTimestamp(t)
        );
        assert_eq!(
            p(json!({"position": "AT_SEQUENCE_NUMBER", "sequenceNumber": "49"})).unwrap(),
            Position::AtSequenceNumber("49".into())
        );
        assert!(p(json!({"position": "AT_TIMESTAMP"}))
            .unwrap_err()
            .message
            .contains("needs `timestamp`"));
        assert!(p(json!({"position": "AT_TIMESTAMP", "timestamp": "yesterday"})).is_err());
        assert!(p(json!({"position": "LATEST", "timestamp": 1}))
            .unwrap_err()
            .message
            .contains("does not go with"));
        assert!(p(json!({"position": "NEWEST"}))
            .unwrap_err()
            .message
            .contains("unknown position `NEWEST`"));
        assert!(p(json!({}))
            .unwrap_err()
            .message
            .contains("missing field `position`"));
    }

    #[test]
    fn answers_put_records_like_kinesis() {
        let ok = PutResult {
            shard_id: "shardId-000000000000".into(),
            sequence_number: "49".into(),
        };
        let answer = serde_json::to_value(records_result(&[
            Ok(ok),
            Err(PutError::RecordTooLarge { bytes: 2_000_000 }),
        ]))
        .unwrap();
        assert_eq!(answer["failedRecordCount"], 1);
        assert_eq!(
            answer["records"][0],
            json!({"shardId": "shardId-000000000000", "sequenceNumber": "49"})
        );
        assert_eq!(answer["records"][1]["errorCode"], "ValidationException");
        assert!(answer["records"][1]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("1 MiB"));
    }

    #[test]
    fn epoch_seconds_keep_milliseconds() {
        let t = crate::api::epoch_seconds(1700000000.5).unwrap();
        assert_eq!(t.timestamp_millis(), 1_700_000_000_500);
        assert!(crate::api::epoch_seconds(f64::NAN).is_none());
        assert!(crate::api::epoch_seconds(1e30).is_none());
    }
}
