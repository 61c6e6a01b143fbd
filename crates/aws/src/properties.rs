//! Property tests (proptest): whatever bytes, headers and form fields a client sends, the
//! protocol layer reads them into a call or an AWS error and writes any answer back,
//! never panicking. Inputs are biased towards real operation and member names, so the
//! search reaches the model-driven codecs rather than stopping at the first lookup.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Uri};
use proptest::prelude::*;
use serde_json::Value;

use crate::model::{Model, KINESIS, SNS, SQS_QUERY};
use crate::protocol::{self, Service, Wire};
use crate::query::{self, Params};
use crate::{cbor, xml};

fn models() -> [&'static Model; 3] {
    [&SQS_QUERY, &SNS, &KINESIS]
}

/// A form key built from the model's own names: `Entries.member.1.Id`, `Attribute.2.Name`…
fn form_key() -> impl Strategy<Value = String> {
    let names: Vec<String> = models()
        .iter()
        .flat_map(|m| m.shapes.values().flat_map(|s| s.members.keys().cloned()))
        .chain(
            [
                "member", "entry", "Name", "Value", "key", "value", "Action", "Version",
            ]
            .map(String::from),
        )
        .collect();
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(names),
            (0u8..4).prop_map(|n| n.to_string())
        ],
        1..5,
    )
    .prop_map(|parts| parts.join("."))
}

fn operation() -> impl Strategy<Value = String> {
    let ops: Vec<String> = models()
        .iter()
        .flat_map(|m| m.operations.keys().cloned())
        .chain(["Nope".to_string(), String::new()])
        .collect();
    prop::sample::select(ops)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_form_reads_to_input_or_an_error(
        op in operation(),
        fields in prop::collection::vec((form_key(), ".{0,8}"), 0..12),
    ) {
        let form = serde_urlencoded::to_string(&fields).unwrap_or_default();
        let params = Params::parse(&[form.as_bytes()]);
        for model in models() {
            if let Ok(input) = query::decode(model, &op, &params) {
                prop_assert!(input.is_object());
            }
        }
    }

    #[test]
    fn any_output_value_writes_as_xml(op in operation(), output in json_value()) {
        for model in [&*SQS_QUERY, &*SNS] {
            let text = xml::response(model, &op, &output, "r");
            prop_assert!(text.ends_with("Response>"));
        }
    }

    #[test]
    fn any_bytes_read_as_cbor_or_fail_cleanly(op in operation(), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = cbor::decode(&KINESIS, &op, &body);
    }

    #[test]
    fn any_request_reads_or_is_answered_as_an_error(
        target in prop_oneof![
            Just(None),
            operation().prop_map(|op| Some(format!("AmazonSQS.{op}"))),
            operation().prop_map(|op| Some(format!("Kinesis_20131202.{op}"))),
            operation().prop_map(|op| Some(format!("AWSEvents.{op}"))),
            ".{0,20}".prop_map(Some),
        ],
        cbor_body in any::<bool>(),
        body in prop_oneof![
            json_value().prop_map(|v| v.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..64),
            prop::collection::vec((form_key(), ".{0,8}"), 0..8)
                .prop_map(|f| serde_urlencoded::to_string(&f).unwrap_or_default().into_bytes()),
        ],
        output in json_value(),
    ) {
        let mut headers = HeaderMap::new();
        if let Some(target) = target.and_then(|t| HeaderValue::from_str(&t).ok()) {
            headers.insert("x-amz-target", target);
        }
        if cbor_body {
            headers.insert("content-type", HeaderValue::from_static("application/x-amz-cbor-1.1"));
        }
        let uri: Uri = "/".parse().unwrap();
        let (service, wire, op) = match protocol::read(&uri, &headers, &Bytes::from(body)) {
            Ok(call) => (call.service, call.wire, call.operation),
            Err(bad) => (bad.service, bad.wire, String::new()),
        };
        // Whatever was read, an answer and an error can be written in its protocol.
        let answer = protocol::write(service, wire, &op, "r", Ok(output));
        prop_assert_eq!(answer.status(), 200);
        let error = protocol::write(service, wire, &op, "r", Err(crate::AwsError::internal("x")));
        prop_assert_eq!(error.status(), 500);
        let _ = (Service::Sqs, Wire::Query);
    }
}
