//! Kinesis's CBOR protocol (the Java SDK's default, `application/x-amz-cbor-1.1`): the
//! JSON form's CBOR encoding, with the differences the model decides: blobs are CBOR byte
//! strings (base64 strings in the JSON form) and timestamps are CBOR tag 1 (plain
//! epoch-seconds numbers in the JSON form).
//!
//! The tagged number is epoch *milliseconds*, not RFC 8949's seconds: that is what AWS's
//! Java SDKs write and read in CBOR (v1's `SdkCborGenerator` writes `Date.getTime()`
//! under tag 1; v2's `AwsCborProtocolFactory` uses `UNIX_TIMESTAMP_MILLIS` for payloads).
//! Reading, a tagged number below 10^11 (March 1973 in milliseconds, the year 5138 in
//! seconds) is taken as seconds, so an RFC-minded client works too.
//!
//! Both directions walk the operation's shapes, so a service module only ever sees the
//! JSON form. Where the model says nothing (an unknown member or operation) values are
//! converted by their CBOR type alone: byte strings become base64, tags are unwrapped.

use base64::Engine as _;
use ciborium::value::{Integer, Value as Cbor};
use serde_json::{Map, Number, Value};

use crate::error::AwsError;
use crate::model::{Kind, Model};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// CBOR's tag for epoch-based date/time.
const EPOCH_TAG: u64 = 1;

/// Reads a CBOR request body into the operation's JSON form.
pub fn decode(model: &Model, operation: &str, body: &[u8]) -> Result<Value, AwsError> {
    let cbor: Cbor = ciborium::from_reader(body)
        .map_err(|e| AwsError::malformed(format!("the request body is not CBOR: {e}")))?;
    let shape = model
        .operation(operation)
        .and_then(|o| o.input.as_ref())
        .map(|r| r.shape.as_str());
    to_json(model, shape, cbor)
}

/// Writes an operation's output as CBOR.
pub fn encode(model: &Model, operation: &str, output: &Value) -> Vec<u8> {
    let shape = model
        .operation(operation)
        .and_then(|o| o.output.as_ref())
        .map(|r| r.shape.as_str());
    write(&to_cbor(model, shape, output))
}

/// Writes an error as CBOR (`__type` and `message`).
pub fn encode_error(error: &AwsError) -> Vec<u8> {
    write(&Cbor::Map(vec![
        (text("__type"), text(&error.code)),
        (text("message"), text(&error.message)),
    ]))
}

fn write(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = ciborium::into_writer(value, &mut out);
    out
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.to_string())
}

fn bad(what: &str, shape: &str) -> AwsError {
    AwsError::malformed(format!("expected {what} for a value of shape {shape}"))
}

/// One CBOR value read as `shape` (or by its type alone when `shape` is `None`).
fn to_json(model: &Model, shape: Option<&str>, value: Cbor) -> Result<Value, AwsError> {
    let Some(name) = shape else {
        return untyped(value);
    };
    let Some(s) = model.shapes.get(name) else {
        return untyped(value);
    };
    if matches!(value, Cbor::Null) {
        return Ok(Value::Null);
    }
    match s.kind {
        Kind::Structure => {
            let Cbor::Map(entries) = value else {
                return Err(bad("a map", name));
            };
            let mut out = Map::new();
            for (key, v) in entries {
                let Cbor::Text(key) = key else {
                    return Err(bad("text keys", name));
                };
                let member = s.members.get(&key).map(|r| r.shape.as_str());
                out.insert(key, to_json(model, member, v)?);
            }
            Ok(Value::Object(out))
        }
        Kind::List => {
            let Cbor::Array(items) = value else {
                return Err(bad("an array", name));
            };
            let member = s.member.as_ref().map(|r| r.shape.as_str());
            items
                .into_iter()
                .map(|v| to_json(model, member, v))
                .collect::<Result<_, _>>()
                .map(Value::Array)
        }
        Kind::Map => {
            let Cbor::Map(entries) = value else {
                return Err(bad("a map", name));
            };
            let inner = s.value.as_ref().map(|r| r.shape.as_str());
            let mut out = Map::new();
            for (key, v) in entries {
                let Cbor::Text(key) = key else {
                    return Err(bad("text keys", name));
                };
                out.insert(key, to_json(model, inner, v)?);
            }
            Ok(Value::Object(out))
        }
        Kind::Blob => match value {
            Cbor::Bytes(bytes) => Ok(Value::String(B64.encode(bytes))),
            _ => Err(bad("a byte string", name)),
        },
        Kind::Timestamp => {
            let inner = match value {
                Cbor::Tag(EPOCH_TAG, inner) => *inner,
                other => other,
            };
            epoch_seconds(inner).ok_or_else(|| bad("a timestamp (tag 1)", name))
        }
        Kind::String => match value {
            Cbor::Text(s) => Ok(Value::String(s)),
            _ => Err(bad("a text string", name)),
        },
        Kind::Boolean => match value {
            Cbor::Bool(b) => Ok(Value::Bool(b)),
            _ => Err(bad("a boolean", name)),
        },
        Kind::Integer | Kind::Long | Kind::Double | Kind::Float => {
            number(value).ok_or_else(|| bad("a number", name))
        }
    }
}

/// Smallest tagged number read as milliseconds rather than seconds.
const MILLIS_FROM: f64 = 1e11;

/// A tagged timestamp as the JSON form's epoch seconds.
fn epoch_seconds(value: Cbor) -> Option<Value> {
    let n = match value {
        Cbor::Integer(i) => i128::from(i) as f64,
        Cbor::Float(f) => f,
        _ => return None,
    };
    let seconds = if n.abs() >= MILLIS_FROM {
        n / 1000.0
    } else {
        n
    };
    Number::from_f64(seconds).map(Value::Number)
}

/// A CBOR number as JSON (integers stay integers).
fn number(value: Cbor) -> Option<Value> {
    match value {
        Cbor::Integer(i) => {
            let i = i128::from(i);
            i64::try_from(i)
                .map(Value::from)
                .or_else(|_| u64::try_from(i).map(Value::from))
                .ok()
        }
        Cbor::Float(f) => Number::from_f64(f).map(Value::Number),
        _ => None,
    }
}

/// A CBOR value by its type alone.
fn untyped(value: Cbor) -> Result<Value, AwsError> {
    Ok(match value {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Text(s) => Value::String(s),
        Cbor::Bytes(b) => Value::String(B64.encode(b)),
        Cbor::Tag(_, inner) => untyped(*inner)?,
        Cbor::Array(items) => {
            Value::Array(items.into_iter().map(untyped).collect::<Result<_, _>>()?)
        }
        Cbor::Map(entries) => {
            let mut out = Map::new();
            for (k, v) in entries {
                let Cbor::Text(k) = k else {
                    return Err(AwsError::malformed("map keys must be text strings"));
                };
                out.insert(k, untyped(v)?);
            }
            Value::Object(out)
        }
        other @ (Cbor::Integer(_) | Cbor::Float(_)) => number(other).unwrap_or(Value::Null),
        _ => return Err(AwsError::malformed("unsupported CBOR value")),
    })
}

/// One JSON-form value written as `shape` (or by its JSON type alone).
fn to_cbor(model: &Model, shape: Option<&str>, value: &Value) -> Cbor {
    let s = shape.and_then(|name| model.shapes.get(name));
    match (s.map(|s| s.kind), value) {
        (_, Value::Null) => Cbor::Null,
        (Some(Kind::Structure), Value::Object(members)) => Cbor::Map(
            members
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let member = s.and_then(|s| s.members.get(k)).map(|r| r.shape.as_str());
                    (text(k), to_cbor(model, member, v))
                })
                .collect(),
        ),
        (Some(Kind::Map), Value::Object(entries)) => {
            let inner = s.and_then(|s| s.value.as_ref()).map(|r| r.shape.as_str());
            Cbor::Map(
                entries
                    .iter()
                    .map(|(k, v)| (text(k), to_cbor(model, inner, v)))
                    .collect(),
            )
        }
        (Some(Kind::List), Value::Array(items)) => {
            let member = s.and_then(|s| s.member.as_ref()).map(|r| r.shape.as_str());
            Cbor::Array(items.iter().map(|v| to_cbor(model, member, v)).collect())
        }
        (Some(Kind::Blob), Value::String(b64)) => {
            Cbor::Bytes(B64.decode(b64).unwrap_or_else(|_| b64.as_bytes().to_vec()))
        }
        (Some(Kind::Timestamp), Value::Number(n)) => {
            let millis = (n.as_f64().unwrap_or_default() * 1000.0).round() as i64;
            Cbor::Tag(EPOCH_TAG, Box::new(Cbor::Integer(Integer::from(millis))))
        }
        (Some(Kind::Double | Kind::Float), Value::Number(n)) => {
            Cbor::Float(n.as_f64().unwrap_or_default())
        }
        (_, Value::Object(members)) => Cbor::Map(
            members
                .iter()
                .map(|(k, v)| (text(k), to_cbor(model, None, v)))
                .collect(),
        ),
        (_, Value::Array(items)) => {
            Cbor::Array(items.iter().map(|v| to_cbor(model, None, v)).collect())
        }
        (_, Value::String(s)) => Cbor::Text(s.clone()),
        (_, Value::Bool(b)) => Cbor::Bool(*b),
        (_, Value::Number(n)) => json_number(n),
    }
}

/// A JSON number as CBOR: whole numbers as integers, the rest as floats.
fn json_number(n: &Number) -> Cbor {
    if let Some(i) = n.as_i64() {
        Cbor::Integer(Integer::from(i))
    } else if let Some(u) = n.as_u64() {
        Cbor::Integer(Integer::from(u))
    } else {
        Cbor::Float(n.as_f64().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::KINESIS;

    fn cbor(value: &Cbor) -> Vec<u8> {
        write(value)
    }

    fn read(bytes: &[u8]) -> Cbor {
        ciborium::from_reader(bytes).unwrap()
    }

    #[test]
    fn reads_blobs_as_base64_and_timestamps_as_epoch_seconds() {
        let body = cbor(&Cbor::Map(vec![
            (text("StreamName"), text("s")),
            (text("Data"), Cbor::Bytes(b"hi".to_vec())),
            (text("PartitionKey"), text("k")),
        ]));
        assert_eq!(
            decode(&KINESIS, "PutRecord", &body).unwrap(),
            json!({"StreamName": "s", "Data": "aGk=", "PartitionKey": "k"})
        );
        let body = cbor(&Cbor::Map(vec![
            (text("ShardIteratorType"), text("AT_TIMESTAMP")),
            (
                text("Timestamp"),
                Cbor::Tag(1, Box::new(Cbor::Float(1893456000.5))),
            ),
            (text("Limit"), Cbor::Integer(7.into())),
        ]));
        let input = decode(&KINESIS, "GetShardIterator", &body).unwrap();
        assert_eq!(input["Timestamp"], json!(1893456000.5));
        assert_eq!(
            decode(&KINESIS, "GetRecords", &body).unwrap()["Limit"],
            json!(7)
        );
    }

    #[test]
    fn reads_nested_lists_and_maps() {
        let body = cbor(&Cbor::Map(vec![
            (text("StreamName"), text("s")),
            (
                text("Records"),
                Cbor::Array(vec![Cbor::Map(vec![
                    (text("Data"), Cbor::Bytes(vec![0, 255])),
                    (text("PartitionKey"), text("k")),
                ])]),
            ),
        ]));
        let input = decode(&KINESIS, "PutRecords", &body).unwrap();
        assert_eq!(input["Records"][0]["Data"], "AP8=");
        let tags = cbor(&Cbor::Map(vec![(
            text("Tags"),
            Cbor::Map(vec![(text("team"), text("data"))]),
        )]));
        assert_eq!(
            decode(&KINESIS, "AddTagsToStream", &tags).unwrap()["Tags"],
            json!({"team": "data"})
        );
    }

    #[test]
    fn refuses_what_the_shapes_forbid() {
        let wrong = cbor(&Cbor::Map(vec![(text("Data"), text("aGk="))]));
        let e = decode(&KINESIS, "PutRecord", &wrong).unwrap_err();
        assert_eq!(e.code, "SerializationException");
        assert!(decode(&KINESIS, "PutRecord", b"\xff\x00").is_err());
    }

    #[test]
    fn writes_blobs_as_byte_strings_and_timestamps_under_tag_1() {
        let output = json!({
            "Records": [{"SequenceNumber": "49", "Data": "aGk=", "PartitionKey": "k",
                         "ApproximateArrivalTimestamp": 1893456000.25}],
            "NextShardIterator": "it",
            "MillisBehindLatest": 0,
        });
        let Cbor::Map(top) = read(&encode(&KINESIS, "GetRecords", &output)) else {
            panic!("not a map")
        };
        let get = |entries: &[(Cbor, Cbor)], key: &str| {
            entries
                .iter()
                .find(|(k, _)| *k == text(key))
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get(&top, "MillisBehindLatest"), Cbor::Integer(0.into()));
        let Cbor::Array(records) = get(&top, "Records") else {
            panic!("not an array")
        };
        let Cbor::Map(record) = &records[0] else {
            panic!("not a map")
        };
        assert_eq!(get(record, "Data"), Cbor::Bytes(b"hi".to_vec()));
        assert_eq!(
            get(record, "ApproximateArrivalTimestamp"),
            Cbor::Tag(1, Box::new(Cbor::Integer(1_893_456_000_250i64.into())))
        );
    }

    #[test]
    fn round_trips_through_the_json_form() {
        let output = json!({"StreamDescriptionSummary": {"StreamName": "s", "OpenShardCount": 2,
            "EnhancedMonitoring": [{"ShardLevelMetrics": []}]}});
        let bytes = encode(&KINESIS, "DescribeStreamSummary", &output);
        assert_eq!(untyped(read(&bytes)).unwrap(), output);
        let error = read(&encode_error(&AwsError::sender(
            "ResourceNotFoundException",
            "gone",
        )));
        assert_eq!(
            untyped(error).unwrap(),
            json!({"__type": "ResourceNotFoundException", "message": "gone"})
        );
    }
}
