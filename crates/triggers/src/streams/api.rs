//! The stream service's faces: control routes under `/_sandbox/streams`, handlers'
//! `sandbox.call` requests (`{"service": "streams", "action": "put" | "putRecords"}`),
//! and the request and answer shapes they share.
//!
//! | method | path | body / query |
//! |---|---|---|
//! | GET  | `/_sandbox/streams` | every stream, as below |
//! | GET  | `/_sandbox/streams/{name}` | shards with hash ranges and record counts; each consumer's checkpoints, lag, batches in flight |
//! | POST | `/_sandbox/streams/{name}/records` | `{"partitionKey", "data" (base64), "explicitHashKey"?}` or `{"records": [...]}` |
//! | GET  | `/_sandbox/streams/{name}/records` | `?shard=shardId-000000000000` (retained records; changes nothing) |
//! | GET  | `/_sandbox/streams/{name}/consumers/{consumer}` | one consumer |
//! | POST | `/_sandbox/streams/{name}/consumers/{consumer}/position` | `{"position": "TRIM_HORIZON" \| "LATEST" \| "AT_TIMESTAMP" \| "AT_SEQUENCE_NUMBER", "timestamp"?, "sequenceNumber"?}` |
//!
//! Request-level mistakes (not JSON, bad base64, a missing field, more than 500 records)
//! refuse the whole request with a 400 and write nothing. Within a valid PutRecords
//! request, an entry the stream refuses (partition key length, over 1 MiB, bad explicit
//! hash key) fails alone, as Kinesis's PutRecords reports it: `failedRecordCount` and a
//! per-entry `errorCode` and `errorMessage`.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use sandbox_manifest::Target;
use sandbox_services::stream::{
    stream_arn, Position, PutEntry, PutError, PutResult, Stream, MAX_BATCH_ENTRIES,
};

use super::{epoch_seconds, StreamService, Totals};
use crate::schedules::REGION;
use crate::{ControlError, Triggers};

/// The endpoints [`route`] answers, for the control API's 404 listing.
pub const ENDPOINTS: &[&str] = &[
    "GET /_sandbox/streams",
    "GET /_sandbox/streams/{name}",
    "POST /_sandbox/streams/{name}/records {\"partitionKey\":\"k\",\"data\":\"<base64>\"} | {\"records\":[...]}",
    "GET /_sandbox/streams/{name}/records?shard=shardId-000000000000",
    "GET /_sandbox/streams/{name}/consumers/{consumer}",
    "POST /_sandbox/streams/{name}/consumers/{consumer}/position {\"position\":\"TRIM_HORIZON\"|\"LATEST\"|\"AT_TIMESTAMP\"|\"AT_SEQUENCE_NUMBER\"}",
];

const PUT_USAGE: &str = "send {\"partitionKey\": \"k\", \"data\": \"<base64>\", \"explicitHashKey\"?: \"<decimal>\"} or {\"records\": [ ... up to 500 of those ... ]}";
const POSITION_USAGE: &str = "send {\"position\": \"TRIM_HORIZON\"}, {\"position\": \"LATEST\"}, {\"position\": \"AT_TIMESTAMP\", \"timestamp\": \"2030-01-01T00:00:00Z\" (or epoch seconds)} or {\"position\": \"AT_SEQUENCE_NUMBER\", \"sequenceNumber\": \"49...\"}";

/// A parsed put: PutRecord or PutRecords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PutRequest {
    One(PutEntry),
    Many(Vec<PutEntry>),
}

/// Control routes under `/_sandbox/streams`; `None` when the path is not ours.
pub(crate) async fn route(
    triggers: &Triggers,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Option<Result<Value, ControlError>> {
    let service = triggers.streams();
    let path = path.trim_end_matches('/');
    let rest = match path.strip_prefix("/_sandbox/streams")? {
        "" => {
            return Some(match method {
                "GET" => Ok(service.list()),
                _ => Err(not_allowed(method, path, "GET")),
            })
        }
        rest => rest.strip_prefix('/')?,
    };
    let parts: Vec<&str> = rest.split('/').collect();
    Some(match (method, parts.as_slice()) {
        ("GET", [name]) => service.describe(name),
        (_, [_]) => Err(not_allowed(method, path, "GET")),
        ("POST", [name, "records"]) => {
            parse_json(body, PUT_USAGE).and_then(|request| put(service, name, &request))
        }
        ("GET", [name, "records"]) => service.records(name, query_param(query, "shard").as_deref()),
        (_, [_, "records"]) => Err(not_allowed(method, path, "GET or POST")),
        ("GET", [name, "consumers", consumer]) => service.describe_consumer(name, consumer),
        (_, [_, "consumers", _]) => Err(not_allowed(method, path, "GET")),
        ("POST", [name, "consumers", consumer, "position"]) => parse_json(body, POSITION_USAGE)
            .and_then(|request| parse_position(&request))
            .and_then(|position| {
                service.set_position(name, consumer, position)?;
                service.describe_consumer(name, consumer)
            }),
        (_, [_, "consumers", _, "position"]) => Err(not_allowed(method, path, "POST")),
        _ => return None,
    })
}

/// A handler's `sandbox.call` for this service:
/// `{"action": "put", "stream", "partitionKey", "data", "explicitHashKey"?}` or
/// `{"action": "putRecords", "stream", "records": [...]}`; answers as the control API.
pub(crate) fn host_call(
    triggers: &Triggers,
    _function: &str,
    action: &str,
    mut request: Value,
) -> Result<Value, ControlError> {
    let stream = request
        .as_object_mut()
        .and_then(|o| o.remove("stream"))
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| ControlError::bad_request("`stream` (the stream's name) is required"))?;
    let service = triggers.streams();
    match action {
        "put" => match parse_put(&request)? {
            PutRequest::One(entry) => {
                let result = service.put(
                    &stream,
                    &entry.partition_key,
                    entry.data,
                    entry.explicit_hash_key,
                )?;
                Ok(put_result_json(&result))
            }
            PutRequest::Many(_) => Err(ControlError::bad_request(
                "action `put` takes one record; use `putRecords` for `records`",
            )),
        },
        "putRecords" => match parse_put(&request)? {
            PutRequest::Many(entries) => {
                Ok(put_records_json(&service.put_records(&stream, entries)?))
            }
            PutRequest::One(_) => Err(ControlError::bad_request(
                "action `putRecords` takes `records`: a list of {partitionKey, data}",
            )),
        },
        other => Err(ControlError::bad_request(format!(
            "unknown streams action `{other}`; actions: put, putRecords"
        ))),
    }
}

fn put(service: &StreamService, stream: &str, request: &Value) -> Result<Value, ControlError> {
    match parse_put(request)? {
        PutRequest::One(entry) => service
            .put(
                stream,
                &entry.partition_key,
                entry.data,
                entry.explicit_hash_key,
            )
            .map(|r| put_result_json(&r)),
        PutRequest::Many(entries) => service
            .put_records(stream, entries)
            .map(|results| put_records_json(&results)),
    }
}

fn not_allowed(method: &str, path: &str, allowed: &str) -> ControlError {
    ControlError {
        status: 405,
        message: format!("{method} is not allowed on {path}; use {allowed}"),
    }
}

fn parse_json(body: &[u8], usage: &str) -> Result<Value, ControlError> {
    serde_json::from_slice(body)
        .map_err(|e| ControlError::bad_request(format!("body is not JSON ({e}); {usage}")))
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// Reads `{"partitionKey", "data", "explicitHashKey"?}` or `{"records": [...]}`. Every
/// entry is decoded before anything is written, so a malformed request writes nothing.
pub(crate) fn parse_put(value: &Value) -> Result<PutRequest, ControlError> {
    let object = value.as_object().ok_or_else(|| {
        ControlError::bad_request(format!("the request must be a JSON object; {PUT_USAGE}"))
    })?;
    let Some(records) = object.get("records") else {
        return parse_entry(object, "").map(PutRequest::One);
    };
    if let Some(key) = object.keys().find(|k| *k != "records") {
        return Err(ControlError::bad_request(format!(
            "`{key}` cannot go beside `records`; put it in each record"
        )));
    }
    let records = records.as_array().ok_or_else(|| {
        ControlError::bad_request(format!("`records` must be a list; {PUT_USAGE}"))
    })?;
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
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let at = format!("records[{i}].");
            let object = record.as_object().ok_or_else(|| {
                ControlError::bad_request(format!(
                    "records[{i}] must be an object {{partitionKey, data}}; nothing was written"
                ))
            })?;
            parse_entry(object, &at)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(PutRequest::Many)
}

fn parse_entry(object: &Map<String, Value>, at: &str) -> Result<PutEntry, ControlError> {
    let nothing = if at.is_empty() {
        ""
    } else {
        "; nothing was written"
    };
    let bad = |field: &str, what: &str| {
        ControlError::bad_request(format!("`{at}{field}` {what}{nothing}"))
    };
    for key in object.keys() {
        if !["partitionKey", "data", "explicitHashKey"].contains(&key.as_str()) {
            return Err(bad(
                key,
                "is not a known field; known: partitionKey, data (base64), explicitHashKey",
            ));
        }
    }
    let partition_key = match object.get("partitionKey") {
        Some(Value::String(key)) => key.clone(),
        Some(_) => return Err(bad("partitionKey", "must be a string")),
        None => return Err(bad("partitionKey", "is required")),
    };
    let data = match object.get("data") {
        Some(Value::String(text)) => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| {
                bad(
                    "data",
                    &format!("is not valid base64 ({e}); Kinesis data is sent base64-encoded"),
                )
            })?,
        Some(_) => return Err(bad("data", "must be a base64 string")),
        None => return Err(bad("data", "is required (base64)")),
    };
    let explicit_hash_key = match object.get("explicitHashKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) => Some(key.clone()),
        Some(_) => {
            return Err(bad(
                "explicitHashKey",
                "must be a string holding a decimal integer below 2^128",
            ))
        }
    };
    Ok(PutEntry {
        partition_key,
        data,
        explicit_hash_key,
    })
}

/// Reads a position request (see [`POSITION_USAGE`]).
pub(crate) fn parse_position(value: &Value) -> Result<Position, ControlError> {
    let bad = |what: String| ControlError::bad_request(format!("{what}; {POSITION_USAGE}"));
    let object = value
        .as_object()
        .ok_or_else(|| bad("the request must be a JSON object".into()))?;
    let kind = object
        .get("position")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`position` is required".into()))?;
    let allowed: &[&str] = match kind {
        "AT_TIMESTAMP" => &["position", "timestamp"],
        "AT_SEQUENCE_NUMBER" => &["position", "sequenceNumber"],
        _ => &["position"],
    };
    if let Some(key) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(format!("`{key}` does not go with position {kind}")));
    }
    match kind {
        "TRIM_HORIZON" => Ok(Position::TrimHorizon),
        "LATEST" => Ok(Position::Latest),
        "AT_TIMESTAMP" => {
            let time = match object.get("timestamp") {
                Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| {
                        bad(format!(
                            "`timestamp` `{text}` is not an RFC 3339 time ({e})"
                        ))
                    })?,
                Some(Value::Number(n)) => n.as_f64().and_then(epoch_seconds).ok_or_else(|| {
                    bad(format!("`timestamp` {n} is not a time in epoch seconds"))
                })?,
                Some(_) => {
                    return Err(bad(
                        "`timestamp` must be an RFC 3339 string or epoch seconds".into(),
                    ))
                }
                None => return Err(bad("AT_TIMESTAMP needs `timestamp`".into())),
            };
            Ok(Position::AtTimestamp(time))
        }
        "AT_SEQUENCE_NUMBER" => match object.get("sequenceNumber") {
            Some(Value::String(s)) => Ok(Position::AtSequenceNumber(s.clone())),
            _ => Err(bad(
                "AT_SEQUENCE_NUMBER needs `sequenceNumber` (a string)".into()
            )),
        },
        other => Err(bad(format!("unknown position `{other}`"))),
    }
}

/// PutRecord's answer: `{"shardId", "sequenceNumber"}`.
pub(crate) fn put_result_json(result: &PutResult) -> Value {
    json!({ "shardId": result.shard_id, "sequenceNumber": result.sequence_number })
}

/// PutRecords' answer: `failedRecordCount` and, in request order, each record's shard
/// and sequence number or its `errorCode` and `errorMessage`.
pub(crate) fn put_records_json(results: &[Result<PutResult, PutError>]) -> Value {
    let failed = results.iter().filter(|r| r.is_err()).count();
    let records: Vec<Value> = results
        .iter()
        .map(|r| match r {
            Ok(result) => put_result_json(result),
            Err(e) => json!({ "errorCode": e.code(), "errorMessage": e.to_string() }),
        })
        .collect();
    json!({ "failedRecordCount": failed, "records": records })
}

fn target_text(target: &Target) -> String {
    match target {
        Target::Queue(name) => format!("queue:{name}"),
        Target::Topic(name) => format!("topic:{name}"),
        Target::Function(name) => format!("fn:{name}"),
    }
}

fn epoch(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

impl StreamService {
    /// `GET /_sandbox/streams`.
    pub fn list(&self) -> Value {
        let streams: Vec<Value> = self
            .names()
            .iter()
            .filter_map(|name| self.describe(name).ok())
            .collect();
        json!({ "streams": streams })
    }

    /// `GET /_sandbox/streams/{name}`.
    pub fn describe(&self, name: &str) -> Result<Value, ControlError> {
        let now = self.inner.clock.now();
        let mut state = self.inner.state();
        self.inner.trim(&mut state, name, now);
        let stream = state.streams.get(name).map_err(|e| self.inner.error(e))?;
        let description = stream.describe(now);
        let shards: Vec<Value> = description
            .shards
            .iter()
            .map(|s| {
                json!({
                    "shardId": s.shard_id,
                    "hashKeyRange": {
                        "startingHashKey": s.starting_hash_key,
                        "endingHashKey": s.ending_hash_key,
                    },
                    "records": s.records,
                })
            })
            .collect();
        let consumers: Vec<Value> = description
            .consumers
            .iter()
            .map(|c| {
                let totals = state
                    .totals
                    .get(&(name.to_string(), c.name.clone()))
                    .copied()
                    .unwrap_or_default();
                self.consumer_json(name, c, totals)
            })
            .collect();
        Ok(json!({
            "name": description.name,
            "arn": stream_arn(name, REGION),
            "retentionHours": description.retention_hours,
            "records": description.shards.iter().map(|s| s.records).sum::<usize>(),
            "shards": shards,
            "consumers": consumers,
        }))
    }

    /// `GET /_sandbox/streams/{name}/consumers/{consumer}`.
    pub fn describe_consumer(&self, name: &str, consumer: &str) -> Result<Value, ControlError> {
        let described = self.describe(name)?;
        described["consumers"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["name"] == consumer))
            .cloned()
            .ok_or_else(|| {
                self.inner
                    .error(sandbox_services::stream::StreamsError::Stream(
                        sandbox_services::stream::StreamError::UnknownConsumer {
                            stream: name.to_string(),
                            consumer: consumer.to_string(),
                        },
                    ))
            })
    }

    fn consumer_json(
        &self,
        stream: &str,
        c: &sandbox_services::stream::ConsumerDescription,
        totals: Totals,
    ) -> Value {
        let def = self.inner.consumer(stream, &c.name);
        let def = def.as_ref();
        let shards: Vec<Value> = c
            .shards
            .iter()
            .map(|s| {
                json!({
                    "shardId": s.shard_id,
                    "checkpoint": s.checkpoint,
                    "lag": s.lag,
                    "inFlight": s.in_flight.as_ref().map(|f| json!({
                        "batchId": f.batch_id,
                        "records": f.records,
                        "attempt": f.attempt,
                        "firstSequenceNumber": f.first_sequence_number,
                        "lastSequenceNumber": f.last_sequence_number,
                    })),
                    "retryBatches": s.retry_batches,
                })
            })
            .collect();
        json!({
            "name": c.name,
            "function": def.map(|d| d.function.clone()),
            "batchSize": def.map(|d| d.batch_size),
            "maximumRetryAttempts": def.map(|d| d.maximum_retry_attempts),
            "maximumRecordAgeInSeconds": def.map(|d| d.maximum_record_age_seconds),
            "bisectBatchOnFunctionError": def.map(|d| d.bisect_batch_on_function_error),
            "reportBatchItemFailures": def.map(|d| d.report_batch_item_failures),
            "onFailure": def.and_then(|d| d.on_failure.as_ref()).map(target_text),
            "lag": c.lag,
            "givenUp": totals.given_up,
            "lostToRetention": totals.lost_to_retention,
            "shards": shards,
        })
    }

    /// `GET /_sandbox/streams/{name}/records`: retained records, by shard then sequence
    /// number; `shard` keeps one shard's.
    pub fn records(&self, name: &str, shard: Option<&str>) -> Result<Value, ControlError> {
        let now = self.inner.clock.now();
        let mut state = self.inner.state();
        self.inner.trim(&mut state, name, now);
        let stream: &Stream = state.streams.get(name).map_err(|e| self.inner.error(e))?;
        if let Some(wanted) = shard {
            if !stream.shards().iter().any(|s| s.id == wanted) {
                let known: Vec<&str> = stream.shards().iter().map(|s| s.id.as_str()).collect();
                return Err(ControlError::not_found(format!(
                    "stream `{name}` has no shard `{wanted}`; shards: {}",
                    known.join(", ")
                )));
            }
        }
        let records: Vec<Value> = stream
            .shards()
            .iter()
            .filter(|s| shard.is_none_or(|wanted| s.id == wanted))
            .flat_map(|s| {
                s.records().map(|r| {
                    json!({
                        "shardId": s.id,
                        "sequenceNumber": r.sequence_number,
                        "partitionKey": r.partition_key,
                        "data": base64::engine::general_purpose::STANDARD.encode(&r.data),
                        "approximateArrivalTimestamp": epoch(r.approximate_arrival),
                    })
                })
            })
            .collect();
        Ok(json!({ "records": records }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            parse_put(&json!({"partitionKey": "k", "data": "aGk="})).unwrap(),
            PutRequest::One(entry("k", b"hi"))
        );
        let many = parse_put(&json!({"records": [
            {"partitionKey": "a", "data": ""},
            {"partitionKey": "b", "data": "aGk=", "explicitHashKey": "7"},
        ]}))
        .unwrap();
        let mut second = entry("b", b"hi");
        second.explicit_hash_key = Some("7".into());
        assert_eq!(many, PutRequest::Many(vec![entry("a", b""), second]));
    }

    #[test]
    fn refuses_malformed_requests_whole() {
        let err = |v: Value| parse_put(&v).unwrap_err();
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
        assert!(err(json!({"data": "aGk="}))
            .message
            .contains("partitionKey"));
        assert!(err(json!({"partitionKey": "k"}))
            .message
            .contains("`data` is required"));
        assert!(err(json!({"partitionKey": "k", "data": "", "body": 1}))
            .message
            .contains("`body` is not a known field"));
        assert!(
            err(json!({"partitionKey": "k", "data": "", "explicitHashKey": 5}))
                .message
                .contains("explicitHashKey")
        );
        assert!(err(json!([1])).message.contains("JSON object"));
        assert!(err(json!({"records": [], "partitionKey": "k"}))
            .message
            .contains("beside"));
    }

    #[test]
    fn reads_positions() {
        let p = |v: Value| parse_position(&v);
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
            .contains("`position` is required"));
    }

    #[test]
    fn answers_put_records_like_kinesis() {
        let ok = PutResult {
            shard_id: "shardId-000000000000".into(),
            sequence_number: "49".into(),
        };
        let answer =
            put_records_json(&[Ok(ok), Err(PutError::RecordTooLarge { bytes: 2_000_000 })]);
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
        let t = epoch_seconds(1700000000.5).unwrap();
        assert_eq!(t.timestamp_millis(), 1_700_000_000_500);
        assert!(epoch_seconds(f64::NAN).is_none());
        assert!(epoch_seconds(1e30).is_none());
    }
}
