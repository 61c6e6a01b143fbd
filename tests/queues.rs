//! End to end: queues with SQS semantics consumed by handlers (Lambda's event source
//! mapping), fed through the control API, on a manual clock.

use crate::common;

use crate::common::{logs, outcomes};

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};

const DRAIN: Duration = Duration::from_secs(60);

fn start() -> sandbox_testing::Sandbox {
    common::manual("queues")
}

#[test]
fn the_sqs_event_matches_what_lambda_sends() {
    let sandbox = start();
    let receipt = sandbox
        .send_message(
            "echo",
            &json!({"body": "hello", "attributes": {"Attribute1": "AttributeValue1"}}),
        )
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    let line = &logs(&sandbox, "queues/echo")[0];
    let event: Value = serde_json::from_str(line).unwrap();
    let records = event["Records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["messageId"], receipt["messageId"]);
    assert!(record["receiptHandle"]
        .as_str()
        .is_some_and(|h| !h.is_empty()));
    assert_eq!(record["body"], "hello");
    assert_eq!(record["md5OfBody"], "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(
        record["md5OfMessageAttributes"],
        receipt["md5OfMessageAttributes"]
    );
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(
        record["eventSourceARN"],
        "arn:aws:sqs:us-east-1:123456789012:echo"
    );
    assert_eq!(record["awsRegion"], "us-east-1");
    let attributes = &record["attributes"];
    assert_eq!(attributes["ApproximateReceiveCount"], "1");
    let sent = attributes["SentTimestamp"].as_str().unwrap();
    assert_eq!(
        sent, "1893456000000",
        "epoch millis of the manual clock, as a string"
    );
    assert_eq!(attributes["ApproximateFirstReceiveTimestamp"], sent);
    assert!(attributes["SenderId"].is_string());
    assert_eq!(
        record["messageAttributes"]["Attribute1"],
        json!({"stringValue": "AttributeValue1", "stringListValues": [], "binaryListValues": [], "dataType": "String"})
    );
}

#[test]
fn batches_are_at_most_ten_and_every_message_is_delivered() {
    let sandbox = start();
    for n in 0..25 {
        sandbox.send("orders", &format!("order-{n}")).unwrap();
    }
    sandbox.drain(DRAIN).unwrap();
    let records = sandbox.invocations(Some("queues/orders"), 100).unwrap();
    assert!(records
        .iter()
        .all(|r| r["logs"].as_array().unwrap().len() <= 10));
    let bodies: BTreeSet<String> = logs(&sandbox, "queues/orders").into_iter().collect();
    let expected: BTreeSet<String> = (0..25).map(|n| format!("order-{n}")).collect();
    assert_eq!(bodies, expected);
    let queue = sandbox.queue("orders").unwrap();
    assert_eq!(
        (queue["visible"].as_u64(), queue["inFlight"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn a_failed_batch_reappears_after_the_visibility_timeout() {
    let sandbox = start();
    sandbox.send("flaky", "job").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(outcomes(&sandbox, "queues/flaky"), ["exit"]);
    assert_eq!(sandbox.queue("flaky").unwrap()["inFlight"], 1);
    // 29 s: still invisible.
    sandbox.advance("29s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(outcomes(&sandbox, "queues/flaky").len(), 1);
    sandbox.advance("1s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    sandbox.advance("30s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        outcomes(&sandbox, "queues/flaky"),
        ["exit", "exit", "success"]
    );
    let receives: Vec<String> = logs(&sandbox, "queues/flaky")
        .into_iter()
        .filter(|l| l.starts_with("receive"))
        .collect();
    assert_eq!(
        receives,
        ["receive 1: job", "receive 2: job", "receive 3: job"]
    );
    let queue = sandbox.queue("flaky").unwrap();
    assert_eq!(
        (queue["visible"].as_u64(), queue["inFlight"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn a_message_that_always_fails_reaches_the_dead_letter_queue() {
    let sandbox = start();
    sandbox.send("poison", "bad").unwrap();
    for _ in 0..4 {
        sandbox.drain(DRAIN).unwrap();
        sandbox.advance("10s").unwrap();
    }
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        outcomes(&sandbox, "queues/poison"),
        ["trap", "trap", "trap"],
        "maxReceiveCount 3"
    );
    let queue = sandbox.queue("poison").unwrap();
    assert_eq!(
        queue["deadLetterQueue"],
        json!({"name": "poison-dlq", "maxReceiveCount": 3, "depth": 1})
    );
    let dead = sandbox.peek("poison-dlq").unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["body"], "bad");
    assert!(
        sandbox
            .output()
            .contains("moved to dead-letter queue poison-dlq"),
        "{}",
        sandbox.output()
    );
    // Peeking changes nothing.
    assert_eq!(sandbox.peek("poison-dlq").unwrap(), dead);

    // Redrive puts it back on its source queue, where it fails again.
    assert_eq!(sandbox.redrive("poison-dlq").unwrap()["moved"], 1);
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(outcomes(&sandbox, "queues/poison").len(), 4);
    assert!(sandbox.peek("poison-dlq").unwrap().is_empty());
}

#[test]
fn batch_item_failures_retry_only_the_listed_messages() {
    let sandbox = start();
    for body in ["ok-1", "fail-2", "ok-3"] {
        sandbox.send("partial", body).unwrap();
    }
    sandbox.drain(DRAIN).unwrap();
    let mut ok = logs(&sandbox, "queues/partial");
    ok.sort();
    assert_eq!(ok, ["ok ok-1", "ok ok-3"]);
    let queue = sandbox.queue("partial").unwrap();
    assert_eq!(queue["inFlight"], 1, "only the failed one is kept: {queue}");
    sandbox.advance("10s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        sandbox.queue("partial").unwrap()["inFlight"],
        1,
        "failed again on its second receive"
    );
    sandbox.advance("10s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    // Two receives (maxReceiveCount 2), then the DLQ; the others were never redelivered.
    let dead: Vec<Value> = sandbox.peek("partial-dlq").unwrap();
    assert_eq!(
        dead.iter().map(|m| m["body"].clone()).collect::<Vec<_>>(),
        ["fail-2"]
    );
    assert_eq!(dead[0]["receiveCount"], 2);
    assert_eq!(dead[0]["deadLetterSource"], "partial");
    assert_eq!(logs(&sandbox, "queues/partial").len(), 2);
}

#[test]
fn item_failures_without_the_setting_are_ignored_with_a_warning() {
    let sandbox = start();
    for n in 0..20 {
        sandbox.send("unreported", &format!("m{n}")).unwrap();
    }
    sandbox.drain(DRAIN).unwrap();
    let queue = sandbox.queue("unreported").unwrap();
    assert_eq!(
        (queue["visible"].as_u64(), queue["inFlight"].as_u64()),
        (Some(0), Some(0)),
        "{queue}"
    );
    sandbox.await_output("reportBatchItemFailures");
}

#[test]
fn fifo_keeps_order_per_group_and_deduplicates() {
    let sandbox = start();
    let mut sequence = Vec::new();
    for (group, body) in [
        ("a", "a1"),
        ("b", "b1"),
        ("a", "a2"),
        ("b", "b2"),
        ("a", "a3"),
    ] {
        let receipt = sandbox
            .send_message("jobs.fifo", &json!({"body": body, "groupId": group}))
            .unwrap();
        sequence.push(receipt["sequenceNumber"].as_str().unwrap().to_string());
    }
    assert!(
        sequence.windows(2).all(|w| w[0] < w[1]),
        "sequence numbers increase: {sequence:?}"
    );
    let duplicate = sandbox
        .send_message("jobs.fifo", &json!({"body": "a1", "groupId": "a"}))
        .unwrap();
    assert_eq!(
        duplicate["duplicate"], true,
        "content-based deduplication within 5 minutes"
    );
    let missing_group = sandbox
        .post_json("/_sandbox/queues/jobs.fifo/messages", &json!({"body": "x"}))
        .unwrap();
    assert_eq!(missing_group.status, 400, "{}", missing_group.text());

    sandbox.drain(DRAIN).unwrap();
    let mut per_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in logs(&sandbox, "queues/jobs.fifo") {
        let (group, body) = line.split_once(' ').unwrap();
        per_group.entry(group.into()).or_default().push(body.into());
    }
    assert_eq!(per_group["a"], ["a1", "a2", "a3"]);
    assert_eq!(per_group["b"], ["b1", "b2"]);
    // One invocation per group at a time: batches are split by group.
    for record in sandbox.invocations(Some("queues/jobs.fifo"), 100).unwrap() {
        let groups: BTreeSet<String> = record["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(groups.len(), 1, "{record}");
    }
}

#[test]
fn delay_and_retention_follow_the_clock() {
    let sandbox = start();
    sandbox
        .send_message("orders", &json!({"body": "later", "delaySeconds": 60}))
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert!(
        logs(&sandbox, "queues/orders").is_empty(),
        "delayed messages do not hold drain up"
    );
    assert_eq!(sandbox.queue("orders").unwrap()["delayed"], 1);
    sandbox.advance("60s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(logs(&sandbox, "queues/orders"), ["later"]);

    // Nobody consumes poison-dlq: a message there waits until retention (4 days).
    sandbox.send("poison-dlq", "forgotten").unwrap();
    sandbox.advance("3d23h59m59s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        sandbox.peek("poison-dlq").unwrap().len(),
        1,
        "a second short of 4 days: still there"
    );
    sandbox.advance("1s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let queue = sandbox.queue("poison-dlq").unwrap();
    assert_eq!(queue["expiredTotal"], 1, "{queue}");
    assert!(sandbox.peek("poison-dlq").unwrap().is_empty());
    sandbox.await_output("expired");
}

#[test]
fn control_api_errors_are_clear_and_lose_nothing() {
    let sandbox = start();
    let unknown = sandbox
        .post_json("/_sandbox/queues/nope/messages", &json!({"body": "x"}))
        .unwrap();
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.text().contains("orders"),
        "names the known queues: {}",
        unknown.text()
    );
    for (body, field) in [
        (json!({"body": 5}), "body"),
        (json!({}), "body"),
        (json!({"body": "x", "delaySeconds": 901}), "delaySeconds"),
        (json!({"body": "x", "colour": "red"}), "colour"),
        (
            json!({"body": "x", "attributes": {"a": {"dataType": "Binary", "binaryValue": "%%%"}}}),
            "binaryValue",
        ),
    ] {
        let response = sandbox
            .post_json("/_sandbox/queues/poison-dlq/messages", &body)
            .unwrap();
        assert_eq!(response.status, 400, "{body}");
        assert!(
            response.text().contains(field),
            "{body}: {}",
            response.text()
        );
    }
    let big = "x".repeat(1024 * 1024 + 1);
    let response = sandbox
        .send_message("poison-dlq", &json!({"body": big}))
        .unwrap_err();
    assert!(format!("{response:#}").contains("1048576"), "{response:#}");
    assert!(
        sandbox.peek("poison-dlq").unwrap().is_empty(),
        "nothing enqueued"
    );

    sandbox.send("poison-dlq", "a").unwrap();
    sandbox.send("poison-dlq", "b").unwrap();
    assert_eq!(sandbox.purge("poison-dlq").unwrap()["purged"], 2);
}

#[test]
fn randomized_failures_lose_nothing_and_invent_nothing() {
    let sandbox = start();
    let sent: BTreeSet<String> = (0..200).map(|n| format!("msg-{n}")).collect();
    for body in &sent {
        sandbox.send("random", body).unwrap();
    }
    for _ in 0..10 {
        sandbox.drain(DRAIN).unwrap();
        sandbox.advance("5s").unwrap();
    }
    sandbox.drain(DRAIN).unwrap();
    let queue = sandbox.queue("random").unwrap();
    assert_eq!(
        (queue["visible"].as_u64(), queue["inFlight"].as_u64()),
        (Some(0), Some(0)),
        "{queue}"
    );

    let processed: Vec<String> = logs(&sandbox, "queues/random")
        .into_iter()
        .map(|l| {
            l.strip_prefix("ok ")
                .unwrap_or_else(|| panic!("unexpected log line {l:?}"))
                .to_string()
        })
        .collect();
    let processed_set: BTreeSet<String> = processed.iter().cloned().collect();
    assert_eq!(
        processed.len(),
        processed_set.len(),
        "a deleted message is never delivered again"
    );
    let dead: BTreeSet<String> = sandbox
        .peek("random-dlq")
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect();
    assert!(processed_set.is_disjoint(&dead));
    let all: BTreeSet<String> = processed_set.union(&dead).cloned().collect();
    assert_eq!(
        all, sent,
        "every message processed or dead-lettered, none invented"
    );
    assert!(
        !dead.is_empty() && !processed_set.is_empty(),
        "the failure rate exercises both ends"
    );
}

#[test]
fn the_seed_example_a_route_publishes_and_the_queue_handler_runs() {
    let sandbox = common::sandbox("demo").manual_clock().start().unwrap();
    let response = sandbox.get("/signup").unwrap();
    assert_eq!(response.status, 201, "{}", response.text());
    let message_id = response.json().unwrap()["queued"]
        .as_str()
        .unwrap()
        .to_string();
    sandbox.drain(DRAIN).unwrap();
    let runs = sandbox
        .invocations(Some("queues/account-signup"), 10)
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["outcome"], "success");
    let log = runs[0]["logs"][0].as_str().unwrap();
    assert!(log.contains(&message_id) && log.contains("yolo"), "{log}");
    assert_eq!(sandbox.queue("account-signup").unwrap()["visible"], 0);
}

#[test]
fn a_handler_sending_to_an_unknown_queue_gets_an_error_naming_the_known_ones() {
    // A handler publishing to an unknown queue gets an error it can report; the
    // request fails with 502 (the SDK turns the error into a non-zero exit).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.arc"),
        "@app\nsend\n@http\nget /\n@queues\njobs\n",
    )
    .unwrap();
    let index = dir.path().join("src/http/get-index");
    std::fs::create_dir_all(&index).unwrap();
    // WAT: call sandbox.call with a request for an unknown queue, write the answer to stdout.
    let request = r#"{"service":"queues","action":"send","queue":"nope","body":"x"}"#;
    let wat = format!(
        r#"(module
  (import "sandbox" "call" (func $call (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{escaped}")
  (func (export "_start")
    (local $n i32)
    (local.set $n (call $call (i32.const 1024) (i32.const {len}) (i32.const 4096) (i32.const 4096)))
    (i32.store (i32.const 0) (i32.const 4096))
    (i32.store (i32.const 4) (local.get $n))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        escaped = request.replace('"', "\\\""),
        len = request.len()
    );
    std::fs::write(index.join("handler.wat"), wat).unwrap();
    let sandbox = sandbox_testing::Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .start()
        .unwrap();
    let answer = sandbox.get("/").unwrap().json().unwrap();
    let error = answer["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(error.contains("nope") && error.contains("jobs"), "{error}");
}

#[test]
fn the_batching_window_waits_for_a_full_batch_or_the_window() {
    let sandbox = start();
    let batch_sizes = |sandbox: &sandbox_testing::Sandbox| -> Vec<usize> {
        common::events(sandbox, "queues/windowed")
            .iter()
            .map(|e| e["Records"].as_array().unwrap().len())
            .collect()
    };
    // Three messages: fewer than the batch of 5, so the consumer waits for the window.
    for n in 0..3 {
        sandbox.send("windowed", &format!("m{n}")).unwrap();
    }
    sandbox.drain(DRAIN).unwrap();
    assert!(
        batch_sizes(&sandbox).is_empty(),
        "delivered before the window ended"
    );
    sandbox.advance("9s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert!(
        batch_sizes(&sandbox).is_empty(),
        "delivered before the window ended"
    );
    sandbox.advance("1s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        batch_sizes(&sandbox),
        [3],
        "the window ended: what was there goes"
    );

    // A full batch goes at once, without waiting for the window.
    for n in 0..5 {
        sandbox.send("windowed", &format!("f{n}")).unwrap();
    }
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(batch_sizes(&sandbox), [3, 5]);
}
