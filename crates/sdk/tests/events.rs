//! The event types the SDK re-exports must read the exact JSON AWS sends (the
//! examples collected in the project's AWS reference notes) and write it back
//! unchanged, so a handler that logs or forwards an event shows what it got.

use sandbox_sdk::events::{
    EventBridgeEvent, HttpRequest, KinesisEvent, ScheduledEvent, SnsEvent, SqsEvent,
};
use sandbox_sdk::BatchResponse;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses the fixture as `T`, then checks that writing it back keeps every value
/// the fixture had.
///
/// Reading is exact; writing is not quite: `aws_lambda_events` writes `null` for
/// absent optional fields and a few defaults of its own (`added`). Handlers only
/// read events, so those additions are tolerated but listed, to notice if they change.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str, added: &[&str]) -> T {
    let original = fixture(name);
    let typed: T = serde_json::from_value(original.clone())
        .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
    let written = serde_json::to_value(&typed).unwrap();
    assert_preserved(&original, &written, added, name);
    typed
}

fn assert_preserved(original: &Value, written: &Value, added: &[&str], at: &str) {
    match (original, written) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, value) in want {
                let path = format!("{at}.{key}");
                let other = got.get(key).unwrap_or_else(|| panic!("{path} was dropped"));
                assert_preserved(value, other, added, &path);
            }
            for (key, value) in got {
                if !want.contains_key(key) {
                    assert!(
                        value.is_null() || added.contains(&key.as_str()),
                        "{at}.{key} = {value} was added"
                    );
                }
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            assert_eq!(want.len(), got.len(), "{at}: length changed");
            for (i, (w, g)) in want.iter().zip(got).enumerate() {
                assert_preserved(w, g, added, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(written, original, "{at} changed"),
    }
}

#[test]
fn http_api_v2_request() {
    // `httpMethod` is a deprecated field for authorizer payloads that the library
    // always writes (defaulting to GET); a handler must read
    // `request_context.http.method`.
    let request: HttpRequest = round_trip("apigw-v2-request.json", &["httpMethod"]);
    assert_eq!(request.raw_path.as_deref(), Some("/users/42"));
    assert_eq!(request.path_parameters["id"], "42");
    // API Gateway joins repeated parameters with commas; the library splits them again.
    assert_eq!(request.query_string_parameters.first("a"), Some("1"));
    assert_eq!(
        request.query_string_parameters.all("a"),
        Some(vec!["1", "2"])
    );
    assert_eq!(request.query_string_parameters.first("b"), Some("3"));
    assert_eq!(request.request_context.http.method.as_str(), "POST");
    assert_eq!(
        request
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok()),
        Some("1.2.3.4")
    );
    assert_eq!(
        request.cookies.as_deref(),
        Some(&["c1=v1".to_string(), "c2=v2".to_string()][..])
    );
    assert!(request.is_base64_encoded);
}

#[test]
fn http_api_v2_request_without_optional_fields() {
    // The library writes `stageVariables: {}` where AWS omits the key, so this one
    // is checked field by field instead of by round trip.
    let request: HttpRequest =
        serde_json::from_value(fixture("apigw-v2-request-minimal.json")).unwrap();
    assert!(request.path_parameters.is_empty());
    assert!(request.query_string_parameters.first("name").is_none());
    assert!(request.cookies.is_none());
    assert!(request.body.is_none());
    assert_eq!(request.request_context.http.path.as_deref(), Some("/hello"));
}

#[test]
fn sqs_event() {
    let event: SqsEvent = round_trip("sqs-event.json", &[]);
    let message = &event.records[0];
    assert_eq!(message.message_id.as_deref(), Some("MessageID_1"));
    assert_eq!(message.body.as_deref(), Some("Message Body"));
    assert_eq!(message.attributes["ApproximateReceiveCount"], "2");
    assert_eq!(
        message.message_attributes["Attribute1"]
            .string_value
            .as_deref(),
        Some("AttributeValue1")
    );
    assert_eq!(
        message.event_source_arn.as_deref(),
        Some("arn:aws:sqs:us-west-2:123456789012:SQSQueue")
    );
}

#[test]
fn sqs_fifo_event() {
    let event: SqsEvent = round_trip("sqs-fifo-event.json", &[]);
    assert_eq!(event.records[0].attributes["MessageGroupId"], "1");
}

#[test]
fn sns_event() {
    let event: SnsEvent = round_trip("sns-event.json", &[]);
    let sns = &event.records[0].sns;
    assert_eq!(sns.message, "Hello from SNS!");
    assert_eq!(sns.subject.as_deref(), Some("TestInvoke"));
    assert_eq!(sns.message_attributes["Test"].value, "TestString");
}

#[test]
fn kinesis_event() {
    let original = fixture("kinesis-event.json");
    let event: KinesisEvent = serde_json::from_value(original.clone()).unwrap();
    let record = &event.records[0].kinesis;
    assert_eq!(&record.data[..], b"Hello World");
    assert_eq!(record.partition_key, "s1");
    assert_eq!(
        record.approximate_arrival_timestamp.timestamp_millis(),
        1480641523477
    );

    // The library writes `approximateArrivalTimestamp` back as a string
    // ("1480641523.477") where AWS sends a number (reading takes either), so that
    // field is checked above by value and left out of the round trip.
    let without_stamp = |mut json: Value| {
        if let Some(kinesis) = json["Records"][0]["kinesis"].as_object_mut() {
            kinesis.remove("approximateArrivalTimestamp");
        }
        json
    };
    let written = without_stamp(serde_json::to_value(&event).unwrap());
    assert_preserved(
        &without_stamp(original),
        &written,
        &["encryptionType"],
        "kinesis",
    );
}

#[test]
fn scheduled_event() {
    let event: ScheduledEvent = round_trip("eventbridge-schedule.json", &[]);
    assert_eq!(event.detail_type, "Scheduled Event");
    assert_eq!(event.source, "aws.events");
    assert_eq!(event.detail, serde_json::json!({}));
}

#[test]
fn eventbridge_event_with_typed_detail() {
    #[derive(serde::Deserialize, Serialize)]
    struct Detail {
        order: u32,
    }
    let mut json = fixture("eventbridge-schedule.json");
    json["detail"] = serde_json::json!({"order": 7});
    let event: EventBridgeEvent<Detail> = serde_json::from_value(json).unwrap();
    assert_eq!(event.detail.order, 7);
}

#[test]
fn batch_response() {
    let response: BatchResponse = round_trip("batch-response.json", &[]);
    assert_eq!(response.batch_item_failures[1].item_identifier, "id4");
}
