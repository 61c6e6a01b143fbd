//! End to end: Lambda's recursive loop detection. A handler that sends what it receives
//! back where it came from (its own queue, a topic feeding its queue, its own topic) is
//! invoked 16 times by one chain of events; the 17th invocation is stopped, logged and
//! counted, the message goes to the dead-letter queue (or is dropped without one), and
//! drain settles instead of running forever.

use crate::common;

use std::time::Duration;

use serde_json::Value;

const DRAIN: Duration = Duration::from_secs(60);

fn start() -> sandbox_testing::Sandbox {
    common::js("loops", true)
}

/// The `n` of every message a queue holds (the handlers count hops in the body).
fn held(sandbox: &sandbox_testing::Sandbox, queue: &str) -> Vec<Value> {
    sandbox
        .peek(queue)
        .unwrap()
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m["body"].as_str().unwrap()).unwrap();
            // Raw queue messages carry `n`; an SNS envelope carries it in `Message`.
            match body.get("Message") {
                Some(inner) => {
                    serde_json::from_str::<Value>(inner.as_str().unwrap()).unwrap()["n"].clone()
                }
                None => body["n"].clone(),
            }
        })
        .collect()
}

fn invocations(sandbox: &sandbox_testing::Sandbox, function: &str) -> usize {
    sandbox.invocations(Some(function), 1000).unwrap().len()
}

#[test]
fn a_queue_handler_sending_to_its_own_queue_is_stopped_after_16_invocations() {
    let sandbox = start();
    sandbox.send("echo", r#"{"n":1}"#).unwrap();
    sandbox.send("spin", r#"{"n":1}"#).unwrap();
    sandbox.drain(DRAIN).unwrap();

    assert_eq!(invocations(&sandbox, "queues/echo"), 16);
    assert_eq!(invocations(&sandbox, "queues/spin"), 16);
    // The 17th message is where Lambda puts a stopped one: the queue's dead-letter
    // queue, or nowhere when the queue has none.
    assert_eq!(held(&sandbox, "echo-stopped"), vec![Value::from(17)]);
    assert!(held(&sandbox, "echo").is_empty());
    assert!(held(&sandbox, "spin").is_empty());
    let stopped = &sandbox.peek("echo-stopped").unwrap()[0];
    assert_eq!(stopped["deadLetterSource"], "echo", "{stopped}");

    sandbox.await_output(
        "queue echo: recursive loop detected: function queues/echo stopped after 16 invocations in one chain of events, message",
    );
    sandbox.await_output("sent to dead-letter queue echo-stopped");
    sandbox.await_output(
        "queue spin: recursive loop detected: function queues/spin stopped after 16 invocations",
    );
    sandbox.await_output("dropped (no dead-letter queue");

    let metrics = sandbox.get("/_sandbox/metrics").unwrap().text();
    for function in ["queues/echo", "queues/spin"] {
        let line = metrics
            .lines()
            .find(|l| {
                l.starts_with("sandbox_recursive_loops_stopped_total")
                    && l.contains(&format!("function=\"{function}\""))
            })
            .unwrap_or_else(|| panic!("no loop counted for {function}:\n{metrics}"));
        assert!(line.ends_with(" 1"), "{line}");
    }
}

#[test]
fn a_topic_queue_topic_loop_and_a_topic_handler_loop_are_stopped_too() {
    let sandbox = start();
    sandbox.publish("bounce", r#"{"n":1}"#).unwrap();
    sandbox.publish("ring", r#"{"n":1}"#).unwrap();
    sandbox.drain(DRAIN).unwrap();

    // bounce → relay (queue) → publish to bounce → …: the queue handler runs 16 times
    // and the 17th envelope goes to relay's dead-letter queue.
    assert_eq!(invocations(&sandbox, "queues/relay"), 16);
    assert_eq!(held(&sandbox, "relay-stopped"), vec![Value::from(17)]);
    sandbox.await_output(
        "queue relay: recursive loop detected: function queues/relay stopped after 16 invocations",
    );

    // ring → its own handler → publish to ring → …: the 17th delivery is not invoked and
    // goes to the subscription's dead-letter queue, without Lambda's async retries.
    assert_eq!(invocations(&sandbox, "events/ring"), 16);
    assert_eq!(held(&sandbox, "ring-stopped"), vec![Value::from(17)]);
    sandbox.await_output(
        "topic ring: recursive loop detected: function events/ring stopped after 16 invocations",
    );
    sandbox.await_output("sent to dead-letter queue ring-stopped");
}
