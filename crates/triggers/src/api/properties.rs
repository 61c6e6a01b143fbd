//! Property tests (proptest): every request body the control API and the host import
//! decode, whatever JSON (or bytes) it holds, ends in a typed request or a 4xx error,
//! never a panic. The values are biased towards the operations' own field names so the
//! search reaches the checks behind serde (ranges, base64, times, positions).

use proptest::prelude::*;
use sandbox_ops::control::{decode, decode_value, Endpoint, Query};
use serde_json::Value;

use super::{buses, queues, streams, topics};
use crate::control::ROUTES;

const FIELDS: &[&str] = &[
    "body",
    "MessageBody",
    "delaySeconds",
    "DelaySeconds",
    "groupId",
    "deduplicationId",
    "attributes",
    "MessageAttributes",
    "dataType",
    "DataType",
    "stringValue",
    "StringValue",
    "binaryValue",
    "BinaryValue",
    "message",
    "Message",
    "subject",
    "entries",
    "Entries",
    "Source",
    "DetailType",
    "Detail",
    "Time",
    "Resources",
    "EventBusName",
    "name",
    "archive",
    "from",
    "to",
    "rules",
    "partitionKey",
    "data",
    "explicitHashKey",
    "records",
    "Records",
    "position",
    "timestamp",
    "sequenceNumber",
    "advance",
    "set",
    "QueueUrl",
    "TopicArn",
    "StreamName",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "",
            "aGk=",
            "%%",
            "String",
            "Number",
            "Binary.x",
            "TRIM_HORIZON",
            "AT_TIMESTAMP",
            "AT_SEQUENCE_NUMBER",
            "LATEST",
            "2030-01-01T00:00:00Z",
            "1h",
            "-1d",
            "49",
            "340282366920938463463374607431768211456",
        ])
        .prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(FIELDS.to_vec()).prop_map(str::to_string),
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn request_bodies_never_panic(value in json_value()) {
        let refused = |status: u16| assert!((400..500).contains(&status), "{status}");
        if let Err(e) = decode_value(value.clone(), "").and_then(|op| queues::send_request(op, "me")) {
            refused(e.status);
        }
        if let Err(e) = decode_value(value.clone(), "").and_then(topics::request) {
            refused(e.status);
        }
        if let Err(e) = buses::decode_entries(value.clone(), "").and_then(|e| buses::entries(e, "default")) {
            refused(e.status);
        }
        if let Err(e) = decode_value(value.clone(), "").and_then(buses::replay) {
            refused(e.status);
        }
        if let Err(e) = streams::parse_put(value.clone()) {
            refused(e.status);
        }
        if let Err(e) = decode_value(value.clone(), "").and_then(streams::position) {
            refused(e.status);
        }
        let _ = decode::<sandbox_ops::clock::MoveClock>(value.to_string().as_bytes(), "usage");
    }

    #[test]
    fn bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<sandbox_ops::queues::SendMessage>(&bytes, "usage");
        let _ = decode::<sandbox_ops::streams::PutRecords>(&bytes, "usage");
        let _ = Query::parse(Some(&String::from_utf8_lossy(&bytes)));
    }

    #[test]
    fn paths_match_at_most_one_row_per_method(path in "(/_sandbox)?(/[a-z{}%.-]{0,10}){0,6}/?") {
        let path = path.trim_end_matches('/');
        for method in ["GET", "POST", "DELETE"] {
            let rows: Vec<&Endpoint> = ROUTES
                .iter()
                .map(|r| &r.endpoint)
                .filter(|e| e.method == method && e.params(path).is_some())
                .collect();
            prop_assert!(rows.len() <= 1, "{method} {path} matches {rows:?}");
        }
    }
}
