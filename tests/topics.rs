//! End to end: SNS topics (`@events`) fanning out to handlers and queues, on a manual
//! clock — the exact SNS Lambda event and SQS envelope, raw delivery, filter policies,
//! Lambda's async retries then the dead-letter queue, FIFO topics into FIFO queues, and
//! the seed's `@events` example.

use crate::common;

use crate::common::{events, outcomes};

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

const DRAIN: Duration = Duration::from_secs(60);

fn subscription<'a>(topic: &'a Value, target: &str) -> &'a Value {
    topic["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"]["name"] == target)
        .unwrap_or_else(|| panic!("no subscription to {target} in {topic}"))
}

fn start() -> sandbox_testing::Sandbox {
    common::manual("events")
}

#[test]
fn a_message_fans_out_to_every_handler_and_queue_with_the_exact_shapes() {
    let sandbox = start();
    let receipt = sandbox
        .publish_message(
            "orders",
            &json!({"message": "{\"id\":7}", "subject": "new order", "attributes": {"color": "red"}}),
        )
        .unwrap();
    let message_id = receipt["messageId"].as_str().unwrap().to_string();
    assert_eq!(receipt["queues"], json!(["inbox", "audit-log"]));
    assert_eq!(receipt["functionDeliveries"], 2);
    sandbox.drain(DRAIN).unwrap();

    // The topic's own handler and the listed one each get the SNS Lambda event once.
    let topic = sandbox.topic("orders").unwrap();
    for function in ["events/orders", "events/audit"] {
        let got = events(&sandbox, function);
        assert_eq!(got.len(), 1, "{function}");
        let records = got[0]["Records"].as_array().unwrap();
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert_eq!(record["EventSource"], "aws:sns");
        assert_eq!(record["EventVersion"], "1.0");
        let arn = subscription(&topic, function)["arn"].as_str().unwrap();
        assert_eq!(record["EventSubscriptionArn"], arn);
        assert!(arn.starts_with("arn:aws:sns:us-east-1:123456789012:orders:"));
        let sns = &record["Sns"];
        assert_eq!(sns["Type"], "Notification");
        assert_eq!(sns["MessageId"], message_id.as_str());
        assert_eq!(sns["TopicArn"], "arn:aws:sns:us-east-1:123456789012:orders");
        assert_eq!(sns["Subject"], "new order");
        assert_eq!(sns["Message"], "{\"id\":7}");
        assert_eq!(sns["Timestamp"], "2030-01-01T00:00:00.000Z");
        assert_eq!(sns["SignatureVersion"], "1");
        assert!(sns["Signature"].is_string());
        // Lambda's casing, not the envelope's.
        assert!(sns["SigningCertUrl"].is_string() && sns["SigningCertURL"].is_null());
        assert!(sns["UnsubscribeUrl"]
            .as_str()
            .is_some_and(|u| u.ends_with(arn)));
        assert!(sns["UnsubscribeURL"].is_null());
        assert_eq!(
            sns["MessageAttributes"],
            json!({"color": {"Type": "String", "Value": "red"}})
        );
    }
    // Each queue holds the SNS envelope as its body, with the envelope's casing.
    for queue in ["inbox", "audit-log"] {
        let messages = sandbox.peek(queue).unwrap();
        assert_eq!(messages.len(), 1, "{queue}");
        let body: Value = serde_json::from_str(messages[0]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["Type"], "Notification");
        assert_eq!(body["MessageId"], message_id.as_str());
        assert_eq!(body["Message"], "{\"id\":7}");
        assert_eq!(body["Subject"], "new order");
        assert!(body["SigningCertURL"].is_string() && body["SigningCertUrl"].is_null());
        assert!(body["UnsubscribeURL"].is_string() && body["UnsubscribeUrl"].is_null());
        assert_eq!(
            body["MessageAttributes"],
            json!({"color": {"Type": "String", "Value": "red"}})
        );
        assert_eq!(
            messages[0]["senderId"],
            "arn:aws:sns:us-east-1:123456789012:orders"
        );
    }
    // Counts per subscription; one log line per delivery.
    for target in ["events/orders", "inbox", "audit-log", "events/audit"] {
        assert_eq!(subscription(&topic, target)["delivered"], 1, "{target}");
    }
    assert_eq!(topic["published"], 1);
    let output = sandbox.output();
    assert!(output.contains("topic orders: message"), "{output}");
    assert!(output.contains("→ queue:inbox (subscriber) ok"), "{output}");
    assert!(output.contains("→ fn:events/audit ok"), "{output}");
}

#[test]
fn raw_delivery_puts_the_message_itself_in_the_queue() {
    let sandbox = start();
    let message = "{\"plain\": true}";
    sandbox
        .publish_message(
            "orders-raw",
            &json!({"message": message, "attributes": {"color": "blue", "n": 3}}),
        )
        .unwrap();
    sandbox.publish("orders", message).unwrap();
    sandbox.drain(DRAIN).unwrap();
    let raw = sandbox.peek("raw-inbox").unwrap();
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0]["body"], message);
    // SNS message attributes become SQS message attributes.
    let attributes = &raw[0]["attributes"];
    assert_eq!(attributes["color"]["string_value"], "blue", "{attributes}");
    assert_eq!(attributes["n"]["data_type"], "Number", "{attributes}");
    // Without raw delivery the same message arrives wrapped.
    let wrapped = sandbox.peek("inbox").unwrap();
    let body: Value = serde_json::from_str(wrapped[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["Message"], message);
}

#[test]
fn a_body_filter_policy_picks_the_messages_a_subscriber_gets() {
    let sandbox = start();
    sandbox.publish("big-orders", "{\"total\": 50}").unwrap();
    let receipt = sandbox.publish("big-orders", "{\"total\": 500}").unwrap();
    sandbox.publish("big-orders", "not json").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let got = events(&sandbox, "events/big-orders");
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0]["Records"][0]["Sns"]["MessageId"],
        receipt["messageId"]
    );
    let topic = sandbox.topic("big-orders").unwrap();
    let sub = subscription(&topic, "events/big-orders");
    assert_eq!(
        (sub["delivered"].as_u64(), sub["filtered"].as_u64()),
        (Some(1), Some(2))
    );
}

#[test]
fn a_failing_handler_is_retried_twice_on_the_clock_then_dead_lettered() {
    let sandbox = start();
    let receipt = sandbox.publish("flaky", "boom").unwrap();
    sandbox.publish("doomed", "boom").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(outcomes(&sandbox, "events/flaky"), ["trap"]);
    // Lambda's async retries: one minute, then two more.
    sandbox.advance("59s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(outcomes(&sandbox, "events/flaky").len(), 1);
    assert!(sandbox.peek("flaky-dlq").unwrap().is_empty());
    sandbox.advance("1s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(outcomes(&sandbox, "events/flaky").len(), 2);
    sandbox.advance("119s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(outcomes(&sandbox, "events/flaky").len(), 2);
    let topic = sandbox.topic("flaky").unwrap();
    assert_eq!(subscription(&topic, "events/flaky")["retrying"], 1);
    sandbox.advance("1s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(outcomes(&sandbox, "events/flaky"), ["trap", "trap", "trap"]);
    // The same event every time.
    let got = events(&sandbox, "events/flaky");
    assert!(got.iter().all(|e| e == &got[0]));

    // Then the subscription's dead-letter queue holds the envelope.
    let dead = sandbox.peek("flaky-dlq").unwrap();
    assert_eq!(dead.len(), 1);
    let body: Value = serde_json::from_str(dead[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["MessageId"], receipt["messageId"]);
    assert_eq!(body["Message"], "boom");
    let topic = sandbox.topic("flaky").unwrap();
    let sub = subscription(&topic, "events/flaky");
    assert_eq!(
        (sub["failed"].as_u64(), sub["deadLettered"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(topic["recentFailures"][0]["deadLetterQueue"], "flaky-dlq");
    assert_eq!(topic["recentFailures"][0]["attempts"], 3);

    // Without a dead-letter queue the failure is kept and logged, never dropped silently.
    assert_eq!(outcomes(&sandbox, "events/doomed").len(), 3);
    let doomed = sandbox.topic("doomed").unwrap();
    assert_eq!(doomed["recentFailures"].as_array().unwrap().len(), 1);
    assert!(doomed["recentFailures"][0]["deadLetterQueue"].is_null());
    let output = sandbox.output();
    assert!(
        output.contains("moved to dead-letter queue flaky-dlq"),
        "{output}"
    );
    assert!(
        output.contains("is NOT delivered (no dead-letter queue"),
        "{output}"
    );
    assert!(
        output.contains("retried at 2030-01-01T00:01:00Z"),
        "{output}"
    );
}

#[test]
fn a_fifo_topic_delivers_to_its_fifo_queue_in_order_per_group_once() {
    let sandbox = start();
    let mut sent: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in 0..12 {
        let group = format!("g{}", n % 3);
        let body = format!("{group}-{n}");
        let receipt = sandbox
            .publish_message(
                "jobs.fifo",
                &json!({"message": body, "groupId": group, "deduplicationId": format!("d{n}")}),
            )
            .unwrap();
        assert_eq!(receipt["sequenceNumber"].as_str().map(str::len), Some(20));
        sent.entry(group).or_default().push(body);
    }
    // A repeated deduplication id is accepted and not delivered again.
    let duplicate = sandbox
        .publish_message(
            "jobs.fifo",
            &json!({"message": "again", "groupId": "g0", "deduplicationId": "d0"}),
        )
        .unwrap();
    assert_eq!(duplicate["duplicate"], true);
    // FIFO topics need a group id.
    let response = sandbox
        .post_json(
            "/_sandbox/topics/jobs.fifo/messages",
            &json!({"message": "x"}),
        )
        .unwrap();
    assert_eq!(response.status, 400);
    assert!(response.text().contains("group"), "{}", response.text());
    sandbox.drain(DRAIN).unwrap();

    let mut received: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in events(&sandbox, "queues/jobs.fifo") {
        for record in event["Records"].as_array().unwrap() {
            let group = record["attributes"]["MessageGroupId"].as_str().unwrap();
            let envelope: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
            // FIFO notifications carry a sequence number and are not signed.
            assert!(envelope["SequenceNumber"].is_string());
            assert!(envelope["Signature"].is_null());
            received
                .entry(group.to_string())
                .or_default()
                .push(envelope["Message"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(received, sent);
}

#[test]
fn unknown_topics_and_bad_requests_are_refused_clearly() {
    let sandbox = start();
    let response = sandbox
        .post_json("/_sandbox/topics/nope/messages", &json!({"message": "x"}))
        .unwrap();
    assert_eq!(response.status, 404);
    let text = response.text();
    assert!(
        text.contains("nope") && text.contains("orders, orders-raw"),
        "{text}"
    );
    let response = sandbox
        .post_json("/_sandbox/topics/orders/messages", &json!({"mesage": "x"}))
        .unwrap();
    assert_eq!(response.status, 400);
    assert!(response.text().contains("mesage"), "{}", response.text());
    let response = sandbox.get("/_sandbox/topics/nope").unwrap();
    assert_eq!(response.status, 404);
    let listed = sandbox.topics().unwrap();
    assert_eq!(listed.len(), 6);
    assert_eq!(
        listed.iter().find(|t| t["name"] == "orders").unwrap()["subscriptions"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // Subscription ids are stable across starts (their ARNs appear in events and logs).
    let again = start();
    assert_eq!(again.topics().unwrap(), listed);
}

#[test]
fn the_seed_example_a_route_publishes_and_the_topic_handler_runs() {
    let sandbox = common::sandbox("demo").manual_clock().start().unwrap();
    // The handler redirects back to `/` (which the test client follows).
    let response = sandbox.request("POST", "/yolo", &[], b"").unwrap();
    assert!(matches!(response.status, 200 | 302), "{}", response.text());
    let posted = sandbox.invocations(Some("http/post-yolo"), 10).unwrap();
    assert_eq!(posted[0]["outcome"], "success", "{}", sandbox.output());
    sandbox.drain(DRAIN).unwrap();
    let runs = sandbox.invocations(Some("events/yolo"), 10).unwrap();
    assert_eq!(runs.len(), 1, "{}", sandbox.output());
    assert_eq!(runs[0]["outcome"], "success");
    assert_eq!(runs[0]["trigger"], "topic");
    let log = runs[0]["logs"][0].as_str().unwrap();
    assert!(
        log.contains("arn:aws:sns:us-east-1:123456789012:yolo") && log.contains("swag"),
        "{log}"
    );
}

#[test]
fn a_manifest_reload_changes_subscriptions_and_keeps_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let echo =
        std::fs::read_to_string(common::fixture("events").join("src/events/orders/handler.wat"))
            .unwrap();
    let handler = dir.path().join("src/events/news");
    std::fs::create_dir_all(&handler).unwrap();
    std::fs::write(handler.join("handler.wat"), echo).unwrap();
    std::fs::write(
        dir.path().join("app.arc"),
        "@app\nreload\n@events\nnews\n@queues\ninbox\n",
    )
    .unwrap();
    let sandbox = sandbox_testing::Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .manual_clock()
        .start()
        .unwrap();
    sandbox.publish("news", "first").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(events(&sandbox, "events/news").len(), 1);
    assert_eq!(sandbox.get("/_sandbox/topics/later").unwrap().status, 404);

    // Editors replace files by renaming a temporary one over them.
    let manifest = dir.path().join("app.arc");
    let temporary = manifest.with_extension("tmp");
    std::fs::write(
        &temporary,
        "@app\nreload\n@events\nnews\n  subscribers queue:inbox\nlater\n  subscribers queue:inbox\n@queues\ninbox\n",
    )
    .unwrap();
    std::fs::rename(&temporary, &manifest).unwrap();
    // Poll for the condition (not a sleep): the reload is asynchronous.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let topic = sandbox.topic("news").unwrap();
        if topic["subscriptions"]
            .as_array()
            .is_some_and(|s| s.len() == 2)
        {
            // The topic stayed: its counts did too.
            assert_eq!(topic["published"], 1);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reload: {}",
            sandbox.output()
        );
        std::thread::yield_now();
    }
    sandbox.publish("news", "second").unwrap();
    sandbox.publish("later", "third").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(events(&sandbox, "events/news").len(), 2);
    let bodies: Vec<String> = sandbox
        .peek("inbox")
        .unwrap()
        .iter()
        .map(|m| {
            let envelope: Value = serde_json::from_str(m["body"].as_str().unwrap()).unwrap();
            envelope["Message"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(bodies, ["second", "third"]);
    sandbox.await_output("topic later added");
}
