//! `sandbox start --state DIR`: what was acknowledged survives `kill -9`.
//!
//! The sandbox is killed with SIGKILL (no shutdown, nothing flushed) and started again on
//! the same state directory. The tests consume through the AWS SQS API themselves, so
//! know which deletes they asked for and which were acknowledged: every acknowledged send
//! must then be still in its queue or have had a delete asked for (one the kill cut off
//! may or may not have happened), and an acknowledged delete must stay deleted.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use sandbox_testing::Sandbox;
use serde_json::{json, Value};

fn start(state: &Path, manual: bool) -> Sandbox {
    let mut builder = common::sandbox("queues").arg("--no-watch").state(state);
    if manual {
        builder = builder.manual_clock_at(common::START);
    }
    builder
        .start()
        .unwrap_or_else(|e| panic!("starting with --state: {e:#}"))
}

/// One SQS call in AWS JSON 1.0, as the SDKs send it; `Err` for anything but 200.
fn sqs(agent: &ureq::Agent, base: &str, action: &str, input: &Value) -> Result<Value, String> {
    let response = agent
        .post(base)
        .header("X-Amz-Target", format!("AmazonSQS.{action}"))
        .header("Content-Type", "application/x-amz-json-1.0")
        .send(input.to_string())
        .map_err(|e| e.to_string())?;
    let text = response
        .into_body()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    )
}

/// Every message body in a queue, in any state, with its receive count.
fn held(sandbox: &Sandbox, queue: &str) -> BTreeMap<String, Value> {
    let list = sandbox
        .get(&format!("/_sandbox/queues/{queue}/messages"))
        .and_then(|r| r.ok_json())
        .unwrap_or_else(|e| panic!("peeking {queue}: {e:#}"));
    list["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m["body"].as_str().unwrap_or_default().to_string(), m))
        .collect()
}

#[test]
fn acknowledged_messages_and_api_queues_survive_kill_9() {
    let state = tempfile::tempdir().unwrap();
    let sandbox = start(state.path(), true);
    let (agent, base) = (agent(), sandbox.base_url().to_string());
    let url = sqs(
        &agent,
        &base,
        "CreateQueue",
        &json!({"QueueName": "kept", "tags": {"team": "a"}}),
    )
    .unwrap()["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let fifo = sqs(
        &agent,
        &base,
        "CreateQueue",
        &json!({"QueueName": "kept.fifo", "Attributes": {"FifoQueue": "true"}}),
    )
    .unwrap()["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..20 {
        let message = json!({"body": format!("m{i}"), "attributes": {"n": {"dataType": "Number", "stringValue": i.to_string()}}});
        sandbox.send_message("kept", &message).unwrap();
    }
    sandbox
        .send_message("kept", &json!({"body": "later", "delaySeconds": 600}))
        .unwrap();
    let first = sqs(
        &agent,
        &base,
        "SendMessage",
        &json!({"QueueUrl": fifo, "MessageBody": "f1", "MessageGroupId": "g", "MessageDeduplicationId": "d1"}),
    )
    .unwrap();
    sqs(
        &agent,
        &base,
        "SendMessage",
        &json!({"QueueUrl": fifo, "MessageBody": "f2", "MessageGroupId": "g", "MessageDeduplicationId": "d2"}),
    )
    .unwrap();
    // A manifest queue's messages too (its consumer is busy elsewhere: nothing runs on a
    // frozen clock until the test drains).
    sandbox.send("partial-dlq", "parked").unwrap();
    let got = sqs(
        &agent,
        &base,
        "ReceiveMessage",
        &json!({"QueueUrl": url, "MaxNumberOfMessages": 5, "VisibilityTimeout": 300}),
    )
    .unwrap();
    let received = got["Messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(received.len(), 5);
    for m in &received[..2] {
        sqs(
            &agent,
            &base,
            "DeleteMessage",
            &json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]}),
        )
        .unwrap();
    }
    let fifo_got = sqs(&agent, &base, "ReceiveMessage", &json!({"QueueUrl": fifo})).unwrap();
    assert_eq!(fifo_got["Messages"][0]["Body"], "f1");
    let before = held(&sandbox, "kept");

    let sandbox = sandbox.kill_and_restart().unwrap();
    // `kept`: 21 sent, 2 deleted; `kept.fifo`: 2; `partial-dlq`: 1.
    sandbox.await_output("restored 22 message(s) in 3 queue(s)");
    assert_eq!(held(&sandbox, "kept"), before, "every message as it was");
    let deleted: BTreeSet<&str> = received[..2]
        .iter()
        .map(|m| m["Body"].as_str().unwrap())
        .collect();
    assert!(before.keys().all(|b| !deleted.contains(b.as_str())));
    assert_eq!(before["later"]["state"], "delayed");
    let in_flight: Vec<&Value> = before
        .values()
        .filter(|m| m["state"] == "inFlight")
        .collect();
    assert_eq!(in_flight.len(), 3);
    assert!(in_flight.iter().all(|m| m["receiveCount"] == 1));
    assert_eq!(before["m5"]["attributes"]["n"]["string_value"], "5");
    // Receipt handles issued before the crash still work.
    let agent = ureq::Agent::new_with_config(ureq::Agent::config_builder().build());
    let base = sandbox.base_url().to_string();
    sqs(
        &agent,
        &base,
        "DeleteMessage",
        &json!({"QueueUrl": url, "ReceiptHandle": received[2]["ReceiptHandle"]}),
    )
    .unwrap();
    // The API-made queues came back with their tags; FIFO dedup and group lock too.
    let tags = sqs(&agent, &base, "ListQueueTags", &json!({"QueueUrl": url})).unwrap();
    assert_eq!(tags["Tags"]["team"], "a");
    let again = sqs(
        &agent,
        &base,
        "SendMessage",
        &json!({"QueueUrl": fifo, "MessageBody": "f1", "MessageGroupId": "g", "MessageDeduplicationId": "d1"}),
    )
    .unwrap();
    assert_eq!(
        again["MessageId"], first["MessageId"],
        "a duplicate within 5 minutes"
    );
    let locked = sqs(&agent, &base, "ReceiveMessage", &json!({"QueueUrl": fifo})).unwrap();
    assert!(
        locked["Messages"].as_array().is_none_or(|m| m.is_empty()),
        "{locked}"
    );
    assert_eq!(held(&sandbox, "partial-dlq").len(), 1);
}

#[test]
fn random_kills_under_send_and_consume_load_lose_nothing() {
    let state = tempfile::tempdir().unwrap();
    let acked = Mutex::new(BTreeSet::<String>::new());
    let deleted = Mutex::new(BTreeSet::<String>::new());
    let tried = Mutex::new(BTreeSet::<String>::new());
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut url;
    let mut sandbox = start(state.path(), false);
    for round in 0..4 {
        let base = sandbox.base_url().to_string();
        // Made through the API in the first round; found again after every restart.
        let made = sqs(
            &agent(),
            &base,
            "CreateQueue",
            &json!({"QueueName": "load"}),
        )
        .unwrap();
        url = made["QueueUrl"].as_str().unwrap().to_string();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for sender in 0..2 {
                let (base, stop, acked) = (&base, &stop, &acked);
                s.spawn(move || {
                    let agent = agent();
                    let url = format!("{base}/_sandbox/queues/load/messages");
                    for i in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let body = format!("r{round}-s{sender}-{i}");
                        let sent = agent
                            .post(&url)
                            .header("Content-Type", "application/json")
                            .send(json!({ "body": body }).to_string());
                        match sent {
                            Ok(_) => {
                                acked.lock().unwrap().insert(body);
                            }
                            Err(_) => break,
                        }
                    }
                });
            }
            let (base, stop, deleted, tried, url) = (&base, &stop, &deleted, &tried, &url);
            s.spawn(move || {
                let agent = agent();
                while !stop.load(Ordering::Relaxed) {
                    let input =
                        json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 1});
                    let Ok(got) = sqs(&agent, base, "ReceiveMessage", &input) else {
                        break;
                    };
                    for m in got["Messages"].as_array().cloned().unwrap_or_default() {
                        let body = m["Body"].as_str().unwrap_or_default().to_string();
                        // A delete the kill cut off may have happened or not.
                        tried.lock().unwrap().insert(body.clone());
                        let input = json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]});
                        if sqs(&agent, base, "DeleteMessage", &input).is_ok() {
                            deleted.lock().unwrap().insert(body);
                        }
                    }
                }
            });
            // xorshift: a different moment each round, the same moments every run.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            std::thread::sleep(Duration::from_millis(150 + seed % 600));
            sandbox.kill().unwrap();
            stop.store(true, Ordering::Relaxed);
        });
        sandbox = sandbox.kill_and_restart().unwrap();
    }
    let remaining = held(&sandbox, "load");
    let acked = acked.into_inner().unwrap();
    let deleted = deleted.into_inner().unwrap();
    let tried = tried.into_inner().unwrap();
    assert!(acked.len() > 20, "only {} sends acknowledged", acked.len());
    let lost: Vec<&String> = acked
        .iter()
        .filter(|b| !remaining.contains_key(*b) && !tried.contains(*b))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages lost: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(10)]
    );
    let back: Vec<&String> = deleted
        .iter()
        .filter(|b| remaining.contains_key(*b))
        .collect();
    assert!(back.is_empty(), "acknowledged deletes came back: {back:?}");
}

#[test]
fn the_manual_clock_goes_on_from_where_it_stood() {
    let state = tempfile::tempdir().unwrap();
    let sandbox = start(state.path(), true);
    sandbox.advance("2h").unwrap();
    sandbox
        .send_message("partial-dlq", &json!({"body": "held", "delaySeconds": 900}))
        .unwrap();
    // Started again with the same --clock-start: the stored position wins.
    let sandbox = sandbox.kill_and_restart().unwrap();
    assert_eq!(sandbox.clock().unwrap()["now"], "2030-01-01T02:00:00Z");
    assert!(
        sandbox
            .output()
            .contains("the manual clock goes on from 2030-01-01T02:00:00Z"),
        "{}",
        sandbox.output()
    );
    let held = held(&sandbox, "partial-dlq");
    assert_eq!(held["held"]["state"], "delayed");
    assert_eq!(held["held"]["until"], "2030-01-01T02:15:00Z");
}
