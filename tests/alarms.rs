//! Alarms end to end on the manual clock: an `oldestAge` alarm fires once the clock
//! passes its threshold and clears when the queue empties; the default dead-letter alarm
//! fires when a message is dead-lettered; `errors N in P` counts failures within sandbox
//! minutes; a stream consumer's lag alarm follows its batching window. Each firing and
//! clearing is one warning line, and `GET /_sandbox/alarms` shows state, reason and since.

use crate::common;

use std::time::Duration;

use sandbox_testing::Sandbox;
use serde_json::{json, Value};

const DRAIN: Duration = Duration::from_secs(10);

fn alarms(sandbox: &Sandbox) -> Vec<Value> {
    let body = sandbox.get("/_sandbox/alarms").unwrap().ok_json().unwrap();
    body["alarms"].as_array().unwrap().clone()
}

/// `(state, since)` of the alarm named `name`.
fn alarm(sandbox: &Sandbox, name: &str) -> (String, String) {
    let all = alarms(sandbox);
    let found = all
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no alarm {name}: {all:?}"));
    (
        found["state"].as_str().unwrap().to_string(),
        found["since"].as_str().unwrap().to_string(),
    )
}

fn state(s: &str, since: &str) -> (String, String) {
    (s.to_string(), since.to_string())
}

#[test]
fn every_alarm_is_listed_ok_since_start() {
    let sandbox = common::manual("alarms");
    let names: Vec<(String, String)> = alarms(&sandbox)
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        "queue/backlog oldestAge",
        "function/queues/poison errors",
        "queue/poison deadLetters",
        "stream/clicks/slow lag",
    ];
    assert_eq!(
        names,
        expected.map(|n| (n.to_string(), "ok".to_string())).to_vec()
    );
    let first = &alarms(&sandbox)[0];
    assert_eq!(first["since"], common::START);
    assert_eq!(first["alarm"], "oldestAge");
    assert_eq!(first["resource"], "queue/backlog");
    assert_eq!(first["reason"], "queue is empty (threshold 300s)");
    assert_eq!(
        first["rule"],
        json!({"watch": "oldestAge", "queue": "backlog", "seconds": 300})
    );
}

#[test]
fn oldest_age_fires_past_its_threshold_and_clears_when_the_queue_empties() {
    let sandbox = common::manual("alarms");
    sandbox.send("backlog", "waits").unwrap();
    sandbox.advance("299s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        alarm(&sandbox, "queue/backlog oldestAge"),
        state("ok", common::START)
    );
    sandbox.advance("1s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        alarm(&sandbox, "queue/backlog oldestAge"),
        state("alarm", "2030-01-01T00:05:00Z")
    );
    sandbox.await_output("ALARM queue/backlog oldestAge: oldest message is 300s old (threshold 300s) (sandbox time 2030-01-01T00:05:00Z)",
    );
    let listed = alarms(&sandbox);
    assert_eq!(
        listed[0]["reason"],
        "oldest message is 300s old (threshold 300s)"
    );

    // Still old a minute later: still one alarm, since unchanged, no second line.
    sandbox.advance("1m").unwrap();
    assert_eq!(
        alarm(&sandbox, "queue/backlog oldestAge"),
        state("alarm", "2030-01-01T00:05:00Z")
    );
    assert_eq!(sandbox.output().matches("ALARM queue/backlog").count(), 1);

    sandbox.purge("backlog").unwrap();
    assert_eq!(
        alarm(&sandbox, "queue/backlog oldestAge"),
        state("ok", "2030-01-01T00:06:00Z")
    );
    sandbox.await_output("alarm cleared queue/backlog oldestAge: queue is empty (threshold 300s) (sandbox time 2030-01-01T00:06:00Z)",
    );
}

#[test]
fn a_dead_lettered_message_fires_the_default_alarm_and_errors_count_in_their_period() {
    let sandbox = common::manual("alarms");
    sandbox.send("poison", "p0").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(alarm(&sandbox, "queue/poison deadLetters").0, "ok");
    assert_eq!(
        alarm(&sandbox, "function/queues/poison errors").0,
        "ok",
        "one error, threshold 2"
    );
    // Past the visibility timeout the message (received once, maxReceiveCount 1) moves
    // to poison-dlq.
    sandbox.advance("10s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(sandbox.peek("poison-dlq").unwrap().len(), 1);
    assert_eq!(
        alarm(&sandbox, "queue/poison deadLetters"),
        state("alarm", "2030-01-01T00:00:10Z")
    );
    sandbox.await_output("ALARM queue/poison deadLetters: dead-letter queue poison-dlq holds 1 message(s) (threshold 1)",
    );

    // A second failure within 5 minutes of the first.
    sandbox.send("poison", "p1").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        alarm(&sandbox, "function/queues/poison errors"),
        state("alarm", "2030-01-01T00:00:10Z")
    );
    sandbox.await_output(
        "ALARM function/queues/poison errors: 2 error(s) in the last 300s (threshold 2)",
    );
    // Five sandbox minutes after the first error it no longer counts.
    sandbox.advance("290s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        alarm(&sandbox, "function/queues/poison errors"),
        state("ok", "2030-01-01T00:05:00Z")
    );
    sandbox.await_output(
        "alarm cleared function/queues/poison errors: 1 error(s) in the last 300s (threshold 2)",
    );

    // Emptying the dead-letter queue clears the alarm.
    sandbox.purge("poison-dlq").unwrap();
    assert_eq!(
        alarm(&sandbox, "queue/poison deadLetters"),
        state("ok", "2030-01-01T00:05:00Z")
    );
}

#[test]
fn a_lagging_stream_consumer_fires_until_its_batch_runs() {
    let sandbox = common::manual("alarms");
    for data in ["YQ==", "Yg==", "Yw=="] {
        sandbox
            .post_json(
                "/_sandbox/streams/clicks/records",
                &json!({"partitionKey": "k", "data": data}),
            )
            .unwrap();
    }
    assert_eq!(
        alarm(&sandbox, "stream/clicks/slow lag"),
        state("alarm", common::START)
    );
    sandbox.await_output("ALARM stream/clicks/slow lag: 3 record(s) behind (threshold 3)");
    sandbox.advance("10s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(
        alarm(&sandbox, "stream/clicks/slow lag"),
        state("ok", "2030-01-01T00:00:10Z")
    );
}
