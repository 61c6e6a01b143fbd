//! `sandbox start --state DIR` beyond queues (those are `durable.rs`): stream records with
//! their sequence numbers, every consumer's checkpoints, streams made through the Kinesis
//! API, each schedule's last fire, and topics' and buses' pending retries survive
//! `kill -9` (SIGKILL: nothing flushed).

use crate::common;

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use sandbox_testing::Sandbox;
use serde_json::{json, Value};

const DRAIN: Duration = Duration::from_secs(60);

fn start(app: &str, state: &Path) -> Sandbox {
    common::sandbox(app)
        .arg("--no-watch")
        .state(state)
        .manual_clock_at(common::START)
        .start()
        .unwrap_or_else(|e| panic!("starting {app} with --state: {e:#}"))
}

/// One Kinesis call in AWS JSON 1.1, as the SDKs send it.
fn kinesis(sandbox: &Sandbox, action: &str, input: &Value) -> Value {
    let response = sandbox
        .agent()
        .post(sandbox.base_url())
        .header("X-Amz-Target", format!("Kinesis_20131202.{action}"))
        .header("Content-Type", "application/x-amz-json-1.1")
        .send(input.to_string())
        .unwrap_or_else(|e| panic!("{action}: {e}"));
    let text = response.into_body().read_to_string().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{action}: {e}: {text}"))
}

fn put(sandbox: &Sandbox, stream: &str, data: &[&str]) -> Vec<String> {
    let entries = data
        .iter()
        .map(|d| Sandbox::stream_record("k", d))
        .collect();
    let answer = sandbox.put_records(stream, entries).unwrap();
    assert_eq!(answer["failedRecordCount"], 0, "{answer}");
    answer["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sequenceNumber"].as_str().unwrap().to_string())
        .collect()
}

/// `(sequence number, data)` of every record a consumer's handler received, in order.
fn received(sandbox: &Sandbox, function: &str) -> Vec<(String, String)> {
    common::events(sandbox, function)
        .iter()
        .flat_map(|e| e["Records"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(r["kinesis"]["data"].as_str().unwrap())
                .unwrap();
            (
                r["kinesis"]["sequenceNumber"].as_str().unwrap().to_string(),
                String::from_utf8(data).unwrap(),
            )
        })
        .collect()
}

#[test]
fn stream_records_checkpoints_and_api_streams_survive_kill_9() {
    let state = tempfile::tempdir().unwrap();
    let sandbox = start("streams", state.path());
    // Processed before the crash: both consumers' checkpoints move past them.
    let done = put(&sandbox, "events", &["a", "b", "c", "d", "e"]);
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(received(&sandbox, "streams/events/echo").len(), 5);
    // Waiting for their batching window (5 s on the frozen clock) when the crash comes.
    let waiting = put(&sandbox, "windowed", &["w1", "w2", "w3"]);
    // A stream made through the Kinesis API, with a record and a tag.
    kinesis(
        &sandbox,
        "CreateStream",
        &json!({"StreamName": "made", "ShardCount": 2}),
    );
    kinesis(
        &sandbox,
        "AddTagsToStream",
        &json!({"StreamName": "made", "Tags": {"team": "a"}}),
    );
    let made = kinesis(
        &sandbox,
        "PutRecord",
        &json!({"StreamName": "made", "PartitionKey": "p", "Data": "aGVsbG8="}),
    );
    let events_before = sandbox.stream("events").unwrap();

    let sandbox = sandbox.kill_and_restart().unwrap();
    sandbox.await_output("restored 9 stream record(s) in 3 stream(s)");
    // Same records, same checkpoints: nothing is delivered again.
    assert_eq!(sandbox.stream("events").unwrap(), events_before);
    sandbox.drain(DRAIN).unwrap();
    assert!(received(&sandbox, "streams/events/echo").is_empty());
    assert!(received(&sandbox, "streams/events/audit").is_empty());
    // New records continue the sequence numbers.
    let next = put(&sandbox, "events", &["f"]);
    assert!(next[0] > done[4], "{} after {}", next[0], done[4]);
    sandbox.drain(DRAIN).unwrap();
    let after: Vec<String> = received(&sandbox, "streams/events/echo")
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert_eq!(after, ["f"]);
    // The waiting records are delivered once their window ends, with their numbers.
    sandbox.advance("5s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let got = received(&sandbox, "streams/windowed/echo");
    let expected: Vec<(String, String)> = waiting
        .iter()
        .cloned()
        .zip(["w1", "w2", "w3"].map(String::from))
        .collect();
    assert_eq!(got, expected);
    // The API's stream came back with its shards, tag and record.
    let summary = kinesis(
        &sandbox,
        "DescribeStreamSummary",
        &json!({"StreamName": "made"}),
    );
    assert_eq!(
        summary["StreamDescriptionSummary"]["OpenShardCount"], 2,
        "{summary}"
    );
    let tags = kinesis(
        &sandbox,
        "ListTagsForStream",
        &json!({"StreamName": "made"}),
    );
    assert_eq!(tags["Tags"][0]["Key"], "team", "{tags}");
    let iterator = kinesis(
        &sandbox,
        "GetShardIterator",
        &json!({"StreamName": "made", "ShardId": made["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let records = kinesis(
        &sandbox,
        "GetRecords",
        &json!({"ShardIterator": iterator["ShardIterator"]}),
    );
    assert_eq!(
        records["Records"][0]["SequenceNumber"], made["SequenceNumber"],
        "{records}"
    );
    assert_eq!(records["Records"][0]["Data"], "aGVsbG8=");
}

#[test]
fn a_moved_consumer_and_a_deleted_api_stream_stay_so() {
    let state = tempfile::tempdir().unwrap();
    let sandbox = start("streams", state.path());
    put(&sandbox, "events", &["a", "b"]);
    sandbox.drain(DRAIN).unwrap();
    // A stream made and deleted through the API before the crash stays deleted.
    kinesis(
        &sandbox,
        "CreateStream",
        &json!({"StreamName": "gone", "ShardCount": 1}),
    );
    kinesis(&sandbox, "DeleteStream", &json!({"StreamName": "gone"}));
    let sandbox = sandbox.kill_and_restart().unwrap();
    let listed = kinesis(&sandbox, "ListStreams", &json!({}));
    let names: Vec<&str> = listed["StreamNames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(!names.contains(&"gone"), "{listed}");
    assert!(names.contains(&"events"), "{listed}");
    let moved = sandbox
        .post_json(
            "/_sandbox/streams/events/consumers/echo/position",
            &json!({"position": "TRIM_HORIZON"}),
        )
        .unwrap();
    assert_eq!(moved.status, 200);
    sandbox.drain(DRAIN).unwrap();
    let replayed: Vec<String> = received(&sandbox, "streams/events/echo")
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert_eq!(replayed, ["a", "b"], "the stored records replay");
    assert!(received(&sandbox, "streams/events/audit").is_empty());
}

#[test]
fn a_schedule_s_last_fire_survives_kill_9() {
    let state = tempfile::tempdir().unwrap();
    let sandbox = start("schedules", state.path());
    sandbox.advance("2h").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(common::events(&sandbox, "scheduled/hourly").len(), 2);

    let sandbox = sandbox.kill_and_restart().unwrap();
    sandbox.await_output("4 schedule(s)' last fire");
    // The clock goes on at 02:00; the 01:00 and 02:00 ticks do not fire again.
    sandbox.drain(DRAIN).unwrap();
    assert!(common::events(&sandbox, "scheduled/hourly").is_empty());
    let listed = sandbox.schedules().unwrap();
    let hourly = listed.iter().find(|s| s["name"] == "hourly").unwrap();
    assert_eq!(hourly["next"][0], "2030-01-01T03:00:00Z");
    sandbox.advance("1h").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let times: Vec<Value> = common::events(&sandbox, "scheduled/hourly")
        .iter()
        .map(|e| e["time"].clone())
        .collect();
    assert_eq!(times, ["2030-01-01T03:00:00Z"]);

    // Down while the clock moved on (a later --clock-start): the ticks that fell in
    // between fire at start, each once, in order (the manual clock delivers every tick).
    let sandbox = sandbox
        .kill_and_restart_with(|b| b.manual_clock_at("2030-01-01T05:30:00Z"))
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    let times: Vec<Value> = common::events(&sandbox, "scheduled/hourly")
        .iter()
        .map(|e| e["time"].clone())
        .collect();
    assert_eq!(
        times,
        ["2030-01-01T04:00:00Z", "2030-01-01T05:00:00Z"],
        "missed while down: fired at start, none twice"
    );
}

#[test]
fn a_topic_s_pending_retry_survives_kill_9() {
    let state = tempfile::tempdir().unwrap();
    let sandbox = start("events", state.path());
    let receipt = sandbox.publish("flaky", "boom").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(common::outcomes(&sandbox, "events/flaky"), ["trap"]);

    // The retry is due a minute after the failure, on the clock that comes back.
    let sandbox = sandbox.kill_and_restart().unwrap();
    sandbox.await_output("1 pending topic/bus deliveries");
    sandbox.advance("1m").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        common::outcomes(&sandbox, "events/flaky"),
        ["trap"],
        "the second attempt, after the restart"
    );
    sandbox.advance("2m").unwrap();
    sandbox.drain(DRAIN).unwrap();
    // The third and last attempt, then the dead-letter queue: attempts were counted
    // across the restart.
    let dead = sandbox.peek("flaky-dlq").unwrap();
    assert_eq!(dead.len(), 1, "{}", sandbox.output());
    let body: Value = serde_json::from_str(dead[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["MessageId"], receipt["messageId"]);
    assert_eq!(common::outcomes(&sandbox, "events/flaky").len(), 2);
}

#[test]
fn a_bus_target_s_pending_retry_survives_kill_9() {
    let state = tempfile::tempdir().unwrap();
    let sandbox = start("bus", state.path());
    sandbox
        .put_event("default", "flaky", "t", &json!({}))
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(common::first_lines(&sandbox, "bus/flaky").len(), 1);

    let sandbox = sandbox.kill_and_restart().unwrap();
    sandbox.await_output("1 pending topic/bus deliveries");
    sandbox.advance("1m").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(common::first_lines(&sandbox, "bus/flaky").len(), 1);
    sandbox.advance("2m").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(common::first_lines(&sandbox, "bus/flaky").len(), 2);
    // Attempts counted across the restart: the third was the last.
    sandbox.advance("1h").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(common::first_lines(&sandbox, "bus/flaky").len(), 2);
    let bus = sandbox.bus("default").unwrap();
    assert_eq!(bus["recentFailures"][0]["attempts"], 3, "{bus}");
}
