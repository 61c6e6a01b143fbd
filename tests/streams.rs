//! End to end: Kinesis streams consumed by handlers (Lambda's Kinesis event source
//! mapping), fed through the control API and the SDK, on a manual clock. The services
//! crate unit-tests the state machine; these check what a user sees over the real binary.

use crate::common;

use crate::common::{events, logs, replace};

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base64::Engine as _;
use sandbox_testing::Sandbox;
use serde_json::{json, Value};

const DRAIN: Duration = Duration::from_secs(60);
/// 2030-01-01T00:00:00Z, where the manual clock starts.
const START_EPOCH: u64 = 1_893_456_000;

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn unb64(text: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
    )
    .unwrap()
}

/// The `batch ...` lines a handler logged, oldest first, without the prefix.
fn batches(sandbox: &Sandbox, function: &str) -> Vec<String> {
    logs(sandbox, function)
        .into_iter()
        .filter_map(|l| l.strip_prefix("batch ").map(str::to_string))
        .collect()
}

/// `(shardId, sequenceNumber, data)` of every record an echo handler received, in order.
fn received(sandbox: &Sandbox, function: &str) -> Vec<(String, String, String)> {
    events(sandbox, function)
        .iter()
        .flat_map(|e| e["Records"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            let (shard, _) = r["eventID"].as_str().unwrap().split_once(':').unwrap();
            (
                shard.to_string(),
                r["kinesis"]["sequenceNumber"].as_str().unwrap().to_string(),
                unb64(r["kinesis"]["data"].as_str().unwrap()),
            )
        })
        .collect()
}

fn lag(sandbox: &Sandbox, stream: &str) -> u64 {
    let description = sandbox.stream(stream).unwrap();
    description["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["lag"].as_u64().unwrap())
        .sum()
}

/// Drains and moves the clock a step at a time until every consumer of `stream` is done
/// (failed batches wait for their backoff on the sandbox clock).
fn settle(sandbox: &Sandbox, stream: &str, step: &str) {
    for _ in 0..400 {
        sandbox.drain(DRAIN).unwrap();
        if lag(sandbox, stream) == 0 {
            return;
        }
        sandbox.advance(step).unwrap();
    }
    panic!(
        "stream {stream} never settled: {}",
        sandbox.stream(stream).unwrap()
    );
}

/// Bodies of the messages in the `failures` queue, parsed.
fn failures(sandbox: &Sandbox) -> Vec<Value> {
    sandbox
        .peek("failures")
        .unwrap()
        .iter()
        .map(|m| serde_json::from_str(m["body"].as_str().unwrap()).unwrap())
        .collect()
}

fn put_all(sandbox: &Sandbox, stream: &str, records: &[(&str, &str)]) -> Vec<Value> {
    let entries = records
        .iter()
        .map(|(key, data)| Sandbox::stream_record(key, data))
        .collect();
    let answer = sandbox.put_records(stream, entries).unwrap();
    assert_eq!(answer["failedRecordCount"], 0, "{answer}");
    answer["records"].as_array().unwrap().clone()
}

fn seq(answer: &Value) -> String {
    answer["sequenceNumber"].as_str().unwrap().to_string()
}

fn start() -> sandbox_testing::Sandbox {
    common::manual("streams")
}

#[test]
fn the_kinesis_event_matches_what_lambda_sends() {
    let sandbox = start();
    let put = sandbox.put_record("events", "s1", "Hello World").unwrap();
    let sequence = seq(&put);
    assert_eq!(sequence.len(), 56);
    assert!(sequence.starts_with("49"));
    sandbox.drain(DRAIN).unwrap();
    let line = &logs(&sandbox, "streams/events/echo")[0];
    // The exact text, so key order and number formats are checked too.
    let expected = format!(
        concat!(
            r#"{{"Records":[{{"kinesis":{{"kinesisSchemaVersion":"1.0","partitionKey":"s1","#,
            r#""sequenceNumber":"{seq}","data":"SGVsbG8gV29ybGQ=","approximateArrivalTimestamp":{t}.0}},"#,
            r#""eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"{shard}:{seq}","#,
            r#""eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role","#,
            r#""awsRegion":"us-east-1","eventSourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/events"}}]}}"#
        ),
        seq = sequence,
        t = START_EPOCH,
        shard = put["shardId"].as_str().unwrap(),
    );
    assert_eq!(line, &expected);
    let invocation = &sandbox.invocations(Some("streams/events/echo"), 1).unwrap()[0];
    assert_eq!(invocation["trigger"], "stream");
}

#[test]
fn records_are_routed_by_the_md5_of_their_partition_key() {
    let sandbox = start();
    // MD5("a") = 0cc1…, MD5("c") = 4a8a…, MD5("b") = 92eb…, MD5("e") = e167…, MD5("s1") =
    // 8ddf…: with four shards the top two bits pick the shard.
    let expected = [
        ("a", "shardId-000000000000"),
        ("c", "shardId-000000000001"),
        ("b", "shardId-000000000002"),
        ("s1", "shardId-000000000002"),
        ("e", "shardId-000000000003"),
    ];
    let mut last = String::new();
    for (key, shard) in expected {
        let put = sandbox.put_record("events", key, key).unwrap();
        assert_eq!(put["shardId"], shard, "partition key {key}");
        assert!(seq(&put) > last, "sequence numbers increase");
        last = seq(&put);
    }
    // An explicit hash key wins over the partition key.
    let explicit = sandbox
        .post_json(
            "/_sandbox/streams/events/records",
            &json!({"partitionKey": "a", "data": b64(b"x"), "explicitHashKey": "340282366920938463463374607431768211455"}),
        )
        .unwrap()
        .ok_json()
        .unwrap();
    assert_eq!(explicit["shardId"], "shardId-000000000003");

    let description = sandbox.stream("events").unwrap();
    assert_eq!(
        description["arn"],
        "arn:aws:kinesis:us-east-1:123456789012:stream/events"
    );
    assert_eq!(description["retentionHours"], 24);
    let ranges: Vec<(Value, Value, Value)> = description["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["hashKeyRange"]["startingHashKey"].clone(),
                s["hashKeyRange"]["endingHashKey"].clone(),
                s["records"].clone(),
            )
        })
        .collect();
    assert_eq!(
        ranges,
        [
            (
                json!("0"),
                json!("85070591730234615865843651857942052863"),
                json!(1)
            ),
            (
                json!("85070591730234615865843651857942052864"),
                json!("170141183460469231731687303715884105727"),
                json!(1)
            ),
            (
                json!("170141183460469231731687303715884105728"),
                json!("255211775190703847597530955573826158591"),
                json!(2)
            ),
            (
                json!("255211775190703847597530955573826158592"),
                json!("340282366920938463463374607431768211455"),
                json!(2)
            ),
        ]
    );
    let records = sandbox.stream_records("events").unwrap();
    assert_eq!(records.len(), 6);
    assert_eq!(records[0]["partitionKey"], "a");
    assert_eq!(
        records[0]["approximateArrivalTimestamp"],
        json!(START_EPOCH as f64)
    );
}

#[test]
fn two_consumers_each_see_every_record_in_shard_order() {
    let sandbox = start();
    let keys: Vec<String> = (0..40).map(|n| format!("user-{}", n % 7)).collect();
    let data: Vec<String> = (0..40).map(|n| format!("click-{n}")).collect();
    let records: Vec<(&str, &str)> = keys
        .iter()
        .zip(&data)
        .map(|(k, d)| (k.as_str(), d.as_str()))
        .collect();
    let answers = put_all(&sandbox, "events", &records);
    sandbox.drain(DRAIN).unwrap();
    // What each shard holds, in put order.
    let mut expected: Vec<(String, String, String)> = answers
        .iter()
        .zip(&data)
        .map(|(a, d)| {
            (
                a["shardId"].as_str().unwrap().to_string(),
                seq(a),
                d.clone(),
            )
        })
        .collect();
    expected.sort();
    for consumer in ["streams/events/echo", "streams/events/audit"] {
        let mut got = received(&sandbox, consumer);
        // Per shard, the order received is the order put.
        let mut by_shard: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (shard, sequence, _) in &got {
            by_shard
                .entry(shard.clone())
                .or_default()
                .push(sequence.clone());
        }
        for sequences in by_shard.values() {
            assert!(
                sequences.windows(2).all(|w| w[0] < w[1]),
                "{consumer}: {sequences:?}"
            );
        }
        got.sort();
        assert_eq!(got, expected, "{consumer} sees every record once");
    }
    for consumer in sandbox.stream("events").unwrap()["consumers"]
        .as_array()
        .unwrap()
    {
        assert_eq!(consumer["lag"], 0, "{consumer}");
    }
}

#[test]
fn a_failing_batch_blocks_its_shard_until_it_is_given_up() {
    let sandbox = start();
    // "a" goes to shard 0, "b" to shard 1 (MD5 0c… and 92…).
    let answers = put_all(
        &sandbox,
        "ordered",
        &[
            ("a", "a1"),
            ("b", "b1"),
            ("a", "a2"),
            ("b", "b2"),
            ("a", "poison-a3"),
            ("b", "b3"),
            ("a", "a4"),
            ("b", "b4"),
            ("a", "a5"),
            ("b", "b5"),
        ],
    );
    sandbox.drain(DRAIN).unwrap();
    let shard0 = |sandbox: &Sandbox| -> Vec<String> {
        batches(sandbox, "streams/ordered/strict")
            .into_iter()
            .filter_map(|b| b.strip_prefix("shardId-000000000000 ").map(str::to_string))
            .collect()
    };
    let shard1: Vec<String> = batches(&sandbox, "streams/ordered/strict")
        .into_iter()
        .filter_map(|b| b.strip_prefix("shardId-000000000001 ").map(str::to_string))
        .collect();
    assert_eq!(
        shard1,
        ["b1,b2,b3", "b4,b5"],
        "the other shard is not blocked"
    );
    assert_eq!(shard0(&sandbox), ["a1,a2,poison-a3"]);
    let consumer = sandbox.stream_consumer("ordered", "strict").unwrap();
    assert_eq!(consumer["shards"][0]["retryBatches"], 1, "{consumer}");
    assert_eq!(consumer["shards"][0]["lag"], 5);

    // Retries back off on the sandbox clock: 1 s, then 2 s.
    sandbox.advance("1s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(shard0(&sandbox).len(), 2);
    sandbox.advance("1s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(shard0(&sandbox).len(), 2, "the second retry waits 2 s");
    sandbox.advance("1s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        shard0(&sandbox),
        [
            "a1,a2,poison-a3",
            "a1,a2,poison-a3",
            "a1,a2,poison-a3",
            "a4,a5"
        ],
        "three invocations (maximumRetryAttempts 2), then the shard moves on in order"
    );
    assert_eq!(lag(&sandbox, "ordered"), 0);

    // The on-failure destination got Lambda's invocation record, in AWS's key order.
    let messages = sandbox.peek("failures").unwrap();
    assert_eq!(messages.len(), 1);
    let body = messages[0]["body"].as_str().unwrap();
    assert!(
        body.starts_with(r#"{"requestContext":{"requestId":""#),
        "{body}"
    );
    let record: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        record["requestContext"]["functionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:streams-ordered-strict"
    );
    assert_eq!(
        record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(
        record["responseContext"],
        json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
    );
    assert_eq!(record["version"], "1.0");
    assert_eq!(record["timestamp"], "2030-01-01T00:00:03.000Z");
    assert_eq!(
        record["KinesisBatchInfo"],
        json!({
            "shardId": "shardId-000000000000",
            "startSequenceNumber": seq(&answers[0]),
            "endSequenceNumber": seq(&answers[4]),
            "approximateArrivalOfFirstRecord": "2030-01-01T00:00:00.000Z",
            "approximateArrivalOfLastRecord": "2030-01-01T00:00:00.000Z",
            "batchSize": 3,
            "streamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/ordered",
        })
    );
    let consumer = sandbox.stream_consumer("ordered", "strict").unwrap();
    assert_eq!(consumer["givenUp"], 3);
    sandbox.await_output("invocation record sent to queue failures");
}

#[test]
fn bisect_narrows_a_failing_batch_down_to_the_poison_record() {
    let sandbox = start();
    let data = ["1", "2", "3", "4", "5", "poison-6", "7", "8"];
    let records: Vec<(&str, &str)> = data.iter().map(|d| ("k", *d)).collect();
    let answers = put_all(&sandbox, "halves", &records);
    settle(&sandbox, "halves", "1s");
    let got: Vec<String> = batches(&sandbox, "streams/halves/bisect")
        .into_iter()
        .map(|b| b.split_once(' ').unwrap().1.to_string())
        .collect();
    assert_eq!(
        got,
        [
            "1,2,3,4,5,poison-6,7,8",
            "1,2,3,4",
            "5,poison-6,7,8",
            "5,poison-6",
            "5",
            "poison-6",
            "poison-6",
            "7,8",
        ],
        "halves until one record; only a one-record failure counts as a retry"
    );
    let given_up = failures(&sandbox);
    assert_eq!(given_up.len(), 1);
    let info = &given_up[0]["KinesisBatchInfo"];
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["startSequenceNumber"], seq(&answers[5]));
    assert_eq!(info["endSequenceNumber"], seq(&answers[5]));
    assert_eq!(
        given_up[0]["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(
        given_up[0]["requestContext"]["approximateInvokeCount"], 5,
        "every invocation that included the record"
    );
}

#[test]
fn item_failures_checkpoint_at_the_lowest_failed_record() {
    let sandbox = start();
    let data = ["1", "2", "fail-3", "4", "fail-5", "6"];
    let records: Vec<(&str, &str)> = data.iter().map(|d| ("k", *d)).collect();
    let answers = put_all(&sandbox, "partial", &records);
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        batches(&sandbox, "streams/partial/items"),
        ["1,2,fail-3,4,fail-5,6"]
    );
    let cursor = &sandbox.stream_consumer("partial", "items").unwrap()["shards"][0];
    assert_eq!(cursor["checkpoint"], json!(seq(&answers[1])), "{cursor}");
    assert_eq!(cursor["lag"], 4);
    assert_eq!(cursor["retryBatches"], 1);
    settle(&sandbox, "partial", "1s");
    assert_eq!(
        batches(&sandbox, "streams/partial/items"),
        ["1,2,fail-3,4,fail-5,6", "fail-3,4,fail-5,6", "fail-5,6"],
        "each retry starts at the lowest reported record; later ones come again"
    );
    let cursor = &sandbox.stream_consumer("partial", "items").unwrap()["shards"][0];
    assert_eq!(cursor["checkpoint"], json!(seq(&answers[5])));
    assert!(failures(&sandbox).is_empty());
}

#[test]
fn records_older_than_the_maximum_age_go_to_the_on_failure_queue() {
    let sandbox = start();
    let put = sandbox.put_record("aging", "k", "stale").unwrap();
    for _ in 0..70 {
        sandbox.drain(DRAIN).unwrap();
        sandbox.advance("1s").unwrap();
    }
    sandbox.drain(DRAIN).unwrap();
    let outcomes: Vec<Value> = sandbox
        .invocations(Some("streams/aging/stale"), 100)
        .unwrap()
        .iter()
        .map(|r| r["outcome"].clone())
        .collect();
    // Retries at 0, 1, 3, 7, 15 and 31 s; at 63 s the record is over a minute old.
    assert_eq!(outcomes.len(), 6, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o == "trap"));
    let given_up = failures(&sandbox);
    assert_eq!(given_up.len(), 1);
    assert_eq!(
        given_up[0]["requestContext"]["condition"],
        "RecordAgeExceeded"
    );
    assert_eq!(given_up[0]["requestContext"]["approximateInvokeCount"], 6);
    assert_eq!(
        given_up[0]["KinesisBatchInfo"]["startSequenceNumber"],
        seq(&put)
    );
    assert_eq!(lag(&sandbox, "aging"), 0);
}

#[test]
fn given_up_records_without_a_destination_are_logged_loudly() {
    let sandbox = start();
    sandbox.put_record("skipped", "k", "doomed").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        lag(&sandbox, "skipped"),
        0,
        "maximumRetryAttempts 0: given up at once"
    );
    sandbox.await_output("consumer trap gave up 1 record(s)");
    sandbox.await_output("no onFailure destination, so the records are SKIPPED");
    assert_eq!(
        sandbox.stream_consumer("skipped", "trap").unwrap()["givenUp"],
        1
    );
}

#[test]
fn an_on_failure_topic_receives_the_invocation_record() {
    let sandbox = start();
    let put = sandbox.put_record("flagged", "k", "bad").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(lag(&sandbox, "flagged"), 0);
    // The topic's queue subscriber gets the SNS envelope; its Message is the record.
    let messages = sandbox.peek("topic-failures").unwrap();
    assert_eq!(messages.len(), 1, "{}", sandbox.output());
    let envelope: Value = serde_json::from_str(messages[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    let record: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(
        record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(record["KinesisBatchInfo"]["startSequenceNumber"], seq(&put));
    assert_eq!(
        record["KinesisBatchInfo"]["streamArn"],
        "arn:aws:kinesis:us-east-1:123456789012:stream/flagged"
    );
    assert!(failures(&sandbox).is_empty());
}

#[test]
fn retention_removes_records_on_the_sandbox_clock() {
    let sandbox = start();
    put_all(&sandbox, "events", &[("a", "1"), ("b", "2"), ("c", "3")]);
    sandbox
        .put_record("doomed", "k", "never processed")
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(sandbox.stream("events").unwrap()["records"], 3);
    sandbox.advance("23h").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(sandbox.stream("events").unwrap()["records"], 3);
    sandbox.advance("1h").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let events = sandbox.stream("events").unwrap();
    assert_eq!(events["records"], 0, "{events}");
    assert!(sandbox.stream_records("events").unwrap().is_empty());
    // Replaying from the trim horizon finds nothing to replay.
    sandbox
        .set_stream_position("events", "echo", &json!({"position": "TRIM_HORIZON"}))
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(received(&sandbox, "streams/events/echo").len(), 3);

    // A consumer that never succeeded lost its record, and says so.
    let doomed = sandbox.stream_consumer("doomed", "trap").unwrap();
    assert_eq!(doomed["lostToRetention"], 1, "{doomed}");
    assert_eq!(doomed["lag"], 0);
    sandbox.await_output("consumer trap LOST 1 record(s)");
}

#[test]
fn a_consumer_replays_from_the_trim_horizon_a_timestamp_or_a_sequence_number() {
    let sandbox = start();
    let early = put_all(&sandbox, "events", &[("a", "early-1"), ("a", "early-2")]);
    sandbox.advance("1h").unwrap();
    sandbox.put_record("events", "a", "late-1").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let data = |sandbox: &Sandbox, function: &str| -> Vec<String> {
        received(sandbox, function)
            .into_iter()
            .map(|(_, _, d)| d)
            .collect()
    };
    assert_eq!(
        data(&sandbox, "streams/events/echo"),
        ["early-1", "early-2", "late-1"]
    );

    let moved = sandbox
        .set_stream_position("events", "echo", &json!({"position": "TRIM_HORIZON"}))
        .unwrap();
    assert_eq!(moved["name"], "echo");
    assert_eq!(moved["lag"], 3);
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        data(&sandbox, "streams/events/echo")[3..],
        ["early-1", "early-2", "late-1"]
    );
    assert_eq!(
        data(&sandbox, "streams/events/audit").len(),
        3,
        "the other consumer stays put"
    );

    sandbox
        .set_stream_position(
            "events",
            "echo",
            &json!({"position": "AT_TIMESTAMP", "timestamp": "2030-01-01T01:00:00Z"}),
        )
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(data(&sandbox, "streams/events/echo")[6..], ["late-1"]);

    // Epoch seconds work too.
    sandbox
        .set_stream_position(
            "events",
            "echo",
            &json!({"position": "AT_TIMESTAMP", "timestamp": START_EPOCH}),
        )
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        data(&sandbox, "streams/events/echo")[7..],
        ["early-1", "early-2", "late-1"]
    );

    sandbox
        .set_stream_position(
            "events",
            "echo",
            &json!({"position": "AT_SEQUENCE_NUMBER", "sequenceNumber": seq(&early[1])}),
        )
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        data(&sandbox, "streams/events/echo")[10..],
        ["early-2", "late-1"]
    );

    let latest = sandbox
        .set_stream_position("events", "echo", &json!({"position": "LATEST"}))
        .unwrap();
    assert_eq!(latest["lag"], 0);
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(data(&sandbox, "streams/events/echo").len(), 12);

    // Mistakes are explained.
    let path = "/_sandbox/streams/events/consumers/echo/position";
    let bad = sandbox
        .post_json(path, &json!({"position": "NEWEST"}))
        .unwrap();
    assert_eq!(bad.status, 400);
    assert!(
        bad.text().contains("unknown position `NEWEST`"),
        "{}",
        bad.text()
    );
    let bad = sandbox
        .post_json(path, &json!({"position": "AT_TIMESTAMP"}))
        .unwrap();
    assert_eq!(bad.status, 400);
    let unknown = sandbox
        .post_json(
            "/_sandbox/streams/events/consumers/nobody/position",
            &json!({"position": "LATEST"}),
        )
        .unwrap();
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.text().contains("consumers: echo, audit"),
        "{}",
        unknown.text()
    );
    let missing = sandbox
        .post_json(
            path,
            &json!({"position": "AT_SEQUENCE_NUMBER", "sequenceNumber": "49999999999999999999999999999999999999999999999999999999"}),
        )
        .unwrap();
    assert_eq!(missing.status, 400);
    assert!(
        missing.text().contains("no shard holds"),
        "{}",
        missing.text()
    );
}

#[test]
fn the_batching_window_waits_for_a_full_batch_on_the_sandbox_clock() {
    let sandbox = start();
    put_all(&sandbox, "windowed", &[("k", "1"), ("k", "2"), ("k", "3")]);
    sandbox.drain(DRAIN).unwrap();
    assert!(events(&sandbox, "streams/windowed/echo").is_empty());
    sandbox.advance("4s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert!(events(&sandbox, "streams/windowed/echo").is_empty());
    sandbox.advance("1s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let sizes = |sandbox: &Sandbox| -> Vec<usize> {
        events(sandbox, "streams/windowed/echo")
            .iter()
            .map(|e| e["Records"].as_array().unwrap().len())
            .collect()
    };
    assert_eq!(sizes(&sandbox), [3], "the window ended: what there is goes");
    // A full batch does not wait.
    let records: Vec<(&str, &str)> = (0..10).map(|_| ("k", "x")).collect();
    put_all(&sandbox, "windowed", &records);
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(sizes(&sandbox), [3, 10]);
}

#[test]
fn an_at_timestamp_consumer_skips_earlier_records() {
    let sandbox = start();
    sandbox.put_record("later", "k", "too early").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert!(events(&sandbox, "streams/later/echo").is_empty());
    sandbox.advance("1h").unwrap();
    sandbox.put_record("later", "k", "on time").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let data: Vec<String> = received(&sandbox, "streams/later/echo")
        .into_iter()
        .map(|(_, _, d)| d)
        .collect();
    assert_eq!(data, ["on time"]);
}

#[test]
fn a_consumer_keeps_up_on_the_system_clock() {
    let sandbox = common::start("streams");
    put_all(&sandbox, "events", &[("a", "1"), ("b", "2")]);
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(received(&sandbox, "streams/events/echo").len(), 2);
    // A failing batch is retried after its backoff, here in real time. Awaited on the
    // invocation record itself: the consumer checkpoints past the batch (lag 0) before
    // the record reaches `failures`, so a lag of 0 alone does not mean it is there yet.
    sandbox.put_record("ordered", "a", "poison").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while failures(&sandbox).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "1 s + 2 s of backoff, then given up: {}",
            sandbox.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(lag(&sandbox, "ordered"), 0);
    assert_eq!(failures(&sandbox).len(), 1);
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let sandbox = start();
    let post = |path: &str, body: Value| sandbox.post_json(path, &body).unwrap();
    let records = "/_sandbox/streams/events/records";

    let unknown = post(
        "/_sandbox/streams/nope/records",
        json!({"partitionKey": "k", "data": ""}),
    );
    assert_eq!(unknown.status, 404);
    assert!(
        unknown
            .text()
            .contains("no stream named `nope`; streams: events"),
        "{}",
        unknown.text()
    );
    assert_eq!(sandbox.get("/_sandbox/streams/nope").unwrap().status, 404);

    let bad = post(records, json!({"partitionKey": "k", "data": "not base64!"}));
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("not valid base64"), "{}", bad.text());

    let big = vec![b'x'; 1024 * 1024];
    let oversize = post(records, json!({"partitionKey": "k", "data": b64(&big)}));
    assert_eq!(oversize.status, 400);
    assert!(oversize.text().contains("1 MiB"), "{}", oversize.text());

    let many: Vec<Value> = (0..501)
        .map(|n| Sandbox::stream_record("k", format!("{n}")))
        .collect();
    let too_many = post(records, json!({ "records": many }));
    assert_eq!(too_many.status, 400);
    assert!(
        too_many.text().contains("at most 500 records, got 501"),
        "{}",
        too_many.text()
    );

    let malformed = post(
        records,
        json!({"records": [Sandbox::stream_record("k", "ok"), {"partitionKey": "k", "data": "%%%"}]}),
    );
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.text().contains("records[1].data"),
        "{}",
        malformed.text()
    );
    assert_eq!(
        sandbox.stream("events").unwrap()["records"],
        0,
        "nothing was written"
    );

    // An entry the stream refuses fails alone, reported as PutRecords does.
    let answer = sandbox
        .put_records(
            "events",
            vec![
                Sandbox::stream_record("a", "fine"),
                json!({"partitionKey": "", "data": ""}),
                Sandbox::stream_record("a", &big),
                Sandbox::stream_record("b", "also fine"),
            ],
        )
        .unwrap();
    assert_eq!(answer["failedRecordCount"], 2, "{answer}");
    let entries = answer["records"].as_array().unwrap();
    assert!(entries[0]["sequenceNumber"].is_string());
    assert_eq!(entries[1]["errorCode"], "ValidationException");
    assert!(entries[1]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("partition key"));
    assert_eq!(entries[2]["errorCode"], "ValidationException");
    assert!(entries[3]["sequenceNumber"].is_string());
    assert_eq!(sandbox.stream("events").unwrap()["records"], 2);

    let method = sandbox.request("DELETE", records, &[], b"").unwrap();
    assert_eq!(method.status, 405);
    let not_json = sandbox.request("POST", records, &[], b"{").unwrap();
    assert_eq!(not_json.status, 400);
    assert!(not_json.text().contains("not JSON"));
}

#[test]
fn a_handler_puts_records_through_the_sdk() {
    let sandbox = start();
    sandbox.put_record("raw", "k1", "hello").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let forwarded = logs(&sandbox, "streams/raw/forward");
    assert_eq!(forwarded.len(), 1);
    assert!(
        forwarded[0].starts_with("put HELLO shardId-000000000000 49"),
        "{forwarded:?}"
    );
    put_all(
        &sandbox,
        "raw",
        &[("k2", "one"), ("k3", "two"), ("k4", "three")],
    );
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        logs(&sandbox, "streams/raw/forward")[1],
        "putRecords 3 failed 0"
    );
    let cooked: Vec<String> = received(&sandbox, "streams/cooked/echo")
        .into_iter()
        .map(|(_, _, d)| d)
        .collect();
    assert_eq!(cooked, ["HELLO", "ONE", "TWO", "THREE"]);
    let partition_keys: Vec<String> = sandbox
        .stream_records("cooked")
        .unwrap()
        .iter()
        .map(|r| r["partitionKey"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(partition_keys, ["k1", "k2", "k3", "k4"]);
}

#[test]
fn an_sst_style_stream_with_two_consumers() {
    let sandbox = common::manual("streams/sst");
    let keys: Vec<String> = (0..12).map(|n| format!("key-{n}")).collect();
    let records: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), k.as_str())).collect();
    put_all(&sandbox, "stream", &records);
    sandbox.drain(DRAIN).unwrap();
    let expected: BTreeSet<String> = keys.iter().cloned().collect();
    for consumer in ["consumer1", "consumer2"] {
        let function = format!("streams/stream/{consumer}");
        let got: BTreeSet<String> = received(&sandbox, &function)
            .into_iter()
            .map(|(_, _, d)| d)
            .collect();
        assert_eq!(got, expected, "{consumer} reads every shard");
    }
    let sizes: Vec<usize> = events(&sandbox, "streams/stream/consumer2")
        .iter()
        .map(|e| e["Records"].as_array().unwrap().len())
        .collect();
    assert!(
        sizes.iter().all(|&n| n <= 5),
        "consumer2 has batchSize 5: {sizes:?}"
    );
    let description = sandbox.streams().unwrap();
    assert_eq!(description.len(), 1);
    assert_eq!(description[0]["shards"].as_array().unwrap().len(), 2);
    let consumers: Vec<&str> = description[0]["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(consumers, ["consumer1", "consumer2"]);
}

/// xorshift64*: the test's own randomness, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_failures_lose_nothing_and_keep_shard_order() {
    let seed = std::env::var("STREAMS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    eprintln!("STREAMS_SEED={seed}");
    let mut rng = Rng(seed);
    let sandbox = start();

    // (shardId, sequenceNumber) of every record put, with its data.
    let mut put: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut n = 0;
    while n < 150 {
        let chunk = 1 + rng.below(25) as usize;
        let entries: Vec<Value> = (0..chunk)
            .map(|i| {
                let key = format!("key-{}", rng.below(12));
                let data = format!("r{}-{:x}", n + i, rng.next());
                Sandbox::stream_record(&key, data)
            })
            .collect();
        let datas: Vec<String> = entries
            .iter()
            .map(|e| unb64(e["data"].as_str().unwrap()))
            .collect();
        let answer = sandbox.put_records("random", entries).unwrap();
        for (entry, data) in answer["records"].as_array().unwrap().iter().zip(datas) {
            put.insert(
                (entry["shardId"].as_str().unwrap().to_string(), seq(entry)),
                data,
            );
        }
        n += chunk;
        match rng.below(3) {
            0 => {
                sandbox.drain(DRAIN).unwrap();
            }
            1 => {
                sandbox.advance(&format!("{}s", 1 + rng.below(3))).unwrap();
            }
            _ => {}
        }
    }
    settle(&sandbox, "random", "5s");

    let given_up = failures(&sandbox);
    for consumer in ["one", "two"] {
        let function = format!("streams/random/{consumer}");
        let arn =
            format!("arn:aws:lambda:us-east-1:123456789012:function:streams-random-{consumer}");
        // Processed records per shard, in the order the handler saw them.
        let mut processed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in logs(&sandbox, &function) {
            let Some(rest) = line.strip_prefix("ok ") else {
                continue;
            };
            let mut parts = rest.splitn(3, ' ');
            let (shard, sequence, data) = (
                parts.next().unwrap().to_string(),
                parts.next().unwrap().to_string(),
                parts.next().unwrap().to_string(),
            );
            assert_eq!(
                put.get(&(shard.clone(), sequence.clone())),
                Some(&data),
                "seed {seed}: {consumer} got a record nobody put"
            );
            processed.entry(shard).or_default().push(sequence);
        }
        for (shard, sequences) in &processed {
            assert!(
                sequences.windows(2).all(|w| w[0] < w[1]),
                "seed {seed}: {consumer} processed {shard} out of order: {sequences:?}"
            );
        }
        // Given-up ranges for this consumer, per shard.
        let ranges: Vec<(String, String, String)> = given_up
            .iter()
            .filter(|r| r["requestContext"]["functionArn"] == arn.as_str())
            .map(|r| {
                let info = &r["KinesisBatchInfo"];
                (
                    info["shardId"].as_str().unwrap().to_string(),
                    info["startSequenceNumber"].as_str().unwrap().to_string(),
                    info["endSequenceNumber"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for (shard, sequence) in put.keys() {
            let done = processed
                .get(shard)
                .is_some_and(|s| s.binary_search(sequence).is_ok());
            let reported = ranges
                .iter()
                .any(|(s, first, last)| s == shard && first <= sequence && sequence <= last);
            assert!(
                done || reported,
                "seed {seed}: {consumer} neither processed nor reported {shard} {sequence}"
            );
        }
        let invocations = sandbox.invocations(Some(&function), 1000).unwrap().len();
        let failed = logs(&sandbox, &function)
            .iter()
            .filter(|l| l.starts_with("fail-batch"))
            .count();
        eprintln!(
            "{consumer}: {invocations} invocations, {failed} failed whole, {} records processed, {} batches given up",
            processed.values().map(Vec::len).sum::<usize>(),
            ranges.len()
        );
        assert!(
            invocations > put.len().div_ceil(10),
            "seed {seed}: failures must have caused retries"
        );
        let description = sandbox.stream_consumer("random", consumer).unwrap();
        assert_eq!(description["lag"], 0);
        assert_eq!(description["lostToRetention"], 0);
    }
}

/// Polls until `GET path` answers `status` (a condition, not a sleep), or panics.
fn await_status(sandbox: &Sandbox, path: &str, status: u16) {
    for _ in 0..2000 {
        if sandbox.get(path).unwrap().status == status {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{path} never answered {status}: {}", sandbox.output());
}

#[test]
fn a_manifest_change_adds_recreates_and_removes_streams() {
    let dir = tempfile::tempdir().unwrap();
    let echo = std::fs::read_to_string(
        common::fixture("streams").join("src/streams/events/echo/handler.wat"),
    )
    .unwrap();
    for stream in ["one", "two"] {
        let function = dir.path().join("src/streams").join(stream).join("echo");
        std::fs::create_dir_all(&function).unwrap();
        std::fs::write(function.join("handler.wat"), &echo).unwrap();
    }
    let manifest = dir.path().join("app.arc");
    std::fs::write(
        &manifest,
        "@app\nreload\n\n@streams\none\n  consumers echo\n",
    )
    .unwrap();
    let sandbox = Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .manual_clock()
        .start()
        .unwrap();
    sandbox.put_record("one", "k", "before").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(received(&sandbox, "streams/one/echo").len(), 1);

    // `two` is added; `one` gets a second shard, so it starts over, empty.
    replace(
        &manifest,
        "@app\nreload\n\n@streams\none\n  shards 2\n  consumers echo\ntwo\n  consumers echo\n",
    );
    await_status(&sandbox, "/_sandbox/streams/two", 200);
    let one = sandbox.stream("one").unwrap();
    assert_eq!(one["shards"].as_array().unwrap().len(), 2);
    assert_eq!(one["records"], 0);
    sandbox
        .await_output("stream one settings changed; it was recreated empty, dropping 1 record(s)");
    sandbox.put_record("two", "k", "new").unwrap();
    sandbox.put_record("one", "k", "after").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let data = |function: &str| -> Vec<String> {
        received(&sandbox, function)
            .into_iter()
            .map(|(_, _, d)| d)
            .collect()
    };
    assert_eq!(data("streams/two/echo"), ["new"]);
    assert_eq!(data("streams/one/echo"), ["before", "after"]);

    // `one` is removed, and says what it held.
    replace(
        &manifest,
        "@app\nreload\n\n@streams\ntwo\n  consumers echo\n",
    );
    await_status(&sandbox, "/_sandbox/streams/one", 404);
    sandbox.await_output("stream one removed; it held 1 record(s)");
}
