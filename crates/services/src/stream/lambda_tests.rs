//! Tests for the Kinesis event, the on-failure record and the partial batch response.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::stream::consumer::Condition;
use crate::stream::shard::Record;

fn record(seq: &str, key: &str, data: &[u8], millis: i64) -> Record {
    Record {
        sequence_number: seq.to_string(),
        partition_key: key.to_string(),
        data: data.to_vec(),
        approximate_arrival: DateTime::from_timestamp_millis(millis).unwrap_or_default(),
        seq: 0,
    }
}

const SEQ: &str = "49568167373333333333333333333333333333333333333333333333";

#[test]
fn kinesis_event_matches_aws_byte_for_byte() {
    let batch = Batch {
        id: 1,
        stream: "simple-stream".into(),
        consumer: "c".into(),
        shard_id: "shardId-000000000000".into(),
        records: vec![record(SEQ, "s1", b"Hello World", 1_480_641_523_477)],
        attempt: 1,
    };
    let arn = stream_arn("simple-stream", "us-east-1");
    let event = kinesis_event(&batch, &arn, "us-east-1");
    let expected = concat!(
        r#"{"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"s1","#,
        r#""sequenceNumber":"49568167373333333333333333333333333333333333333333333333","#,
        r#""data":"SGVsbG8gV29ybGQ=","approximateArrivalTimestamp":1480641523.477},"#,
        r#""eventSource":"aws:kinesis","eventVersion":"1.0","#,
        r#""eventID":"shardId-000000000000:49568167373333333333333333333333333333333333333333333333","#,
        r#""eventName":"aws:kinesis:record","#,
        r#""invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role","#,
        r#""awsRegion":"us-east-1","#,
        r#""eventSourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/simple-stream"}]}"#
    );
    assert_eq!(String::from_utf8(event).unwrap(), expected);
}

#[test]
fn kinesis_event_keeps_batch_order_and_encodes_binary_data() {
    let batch = Batch {
        id: 1,
        stream: "s".into(),
        consumer: "c".into(),
        shard_id: "shardId-000000000002".into(),
        records: vec![
            record("1", "a", &[0, 255], 1_000),
            record("2", "b", b"", 2_500),
        ],
        attempt: 1,
    };
    let event: serde_json::Value =
        serde_json::from_slice(&kinesis_event(&batch, "arn", "eu-west-1")).unwrap();
    let records = event["Records"].as_array().unwrap();
    assert_eq!(records[0]["kinesis"]["data"], "AP8=");
    assert_eq!(records[0]["kinesis"]["approximateArrivalTimestamp"], 1.0);
    assert_eq!(records[1]["kinesis"]["data"], "");
    assert_eq!(records[1]["kinesis"]["approximateArrivalTimestamp"], 2.5);
    assert_eq!(records[1]["eventID"], "shardId-000000000002:2");
}

#[test]
fn on_failure_record_shape() {
    let given_up = GivenUp {
        stream: "mystream".into(),
        consumer: "c".into(),
        shard_id: "shardId-000000000001".into(),
        records: vec![
            record("4959", "a", b"x", 1_573_691_884_835),
            record("4960", "a", b"y", 1_573_691_885_580),
        ],
        condition: Condition::RetryAttemptsExhausted,
        approximate_invoke_count: 4,
        has_on_failure_destination: true,
    };
    let now = Utc
        .with_ymd_and_hms(2019, 11, 14, 0, 38, 6)
        .single()
        .unwrap_or_default()
        + chrono::TimeDelta::milliseconds(21);
    let arn = stream_arn("mystream", "us-east-1");
    let fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:f";
    let mut value = on_failure_record(&given_up, fn_arn, &arn, now);
    let request_id = value["requestContext"]["requestId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(request_id.len(), 36, "a UUID");
    value["requestContext"]["requestId"] = json!("id");
    assert_eq!(
        value,
        json!({
            "requestContext": {"requestId": "id", "functionArn": fn_arn,
                               "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 4},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": "2019-11-14T00:38:06.021Z",
            "KinesisBatchInfo": {
                "shardId": "shardId-000000000001",
                "startSequenceNumber": "4959", "endSequenceNumber": "4960",
                "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04.835Z",
                "approximateArrivalOfLastRecord": "2019-11-14T00:38:05.580Z",
                "batchSize": 2,
                "streamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/mystream"
            }
        })
    );
    // The text form keeps AWS's key order.
    let text = on_failure_record_json(&given_up, fn_arn, &arn, now);
    let order = [
        "requestContext",
        "responseContext",
        "\"version\"",
        "timestamp",
        "KinesisBatchInfo",
    ];
    let positions: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(text.contains(r#""shardId":"shardId-000000000001","startSequenceNumber""#));
}

#[test]
fn item_failure_parsing_follows_lambda_rules() {
    let parse = |s: &str| parse_item_failures(Some(s.as_bytes()));
    // Complete success.
    for ok in [
        "",
        "  ",
        "null",
        "{}",
        r#"{"batchItemFailures": null}"#,
        r#"{"batchItemFailures": []}"#,
        r#"{"other": 1}"#,
    ] {
        assert_eq!(parse(ok), Outcome::Success, "{ok:?}");
    }
    // Complete failure.
    for bad in [
        r#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#,
        r#"{"batchItemFailures": [{"itemIdentifier": null}]}"#,
        r#"{"batchItemFailures": [{"itemId": "1"}]}"#,
        r#"{"batchItemFailures": [{"itemIdentifier": 5}]}"#,
        r#"{"batchItemFailures": "1"}"#,
        "not json",
    ] {
        assert_eq!(parse(bad), Outcome::Failure, "{bad:?}");
    }
    assert_eq!(parse_item_failures(None), Outcome::Failure);
    assert_eq!(
        parse(
            r#"{"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "1"}, {"itemIdentifier": "2"}]}"#
        ),
        Outcome::ItemFailures(vec!["2".into(), "1".into()])
    );
    // With the setting off the response is not read at all.
    assert_eq!(
        invocation_outcome(Some(b"not json"), false),
        (Outcome::Success, None)
    );
    let (outcome, why) = invocation_outcome(Some(b"not json"), true);
    assert_eq!(outcome, Outcome::Failure);
    assert!(why.unwrap().contains("not valid JSON"));
}
