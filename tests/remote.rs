//! End to end: an app's handlers consume and publish to "remote" resources. A second
//! sandbox plays AWS (its SQS, SNS, EventBridge and Kinesis APIs, resources created
//! with the official SDK); the app under test (`fixtures/apps/remote`) reaches it
//! through its `remote` entries with AWS_ENDPOINT_URL and dummy credentials, as a
//! developer's machine reaches AWS.

use crate::common;

use std::time::{Duration, Instant};

use crate::common::aws;
use aws_sdk_sqs::types::QueueAttributeName;
use sandbox_testing::Sandbox;
use serde_json::{json, Value};

/// The stand-in for AWS: an app with nothing in it but the AWS APIs.
fn start_aws() -> (Sandbox, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.arc"), "@app\naws\n").unwrap();
    let sandbox = Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .start()
        .unwrap();
    (sandbox, dir)
}

/// Every resource the fixture names, made through the AWS APIs. `slow` times out its
/// messages' visibility after one second.
fn create_resources(aws_sandbox: &Sandbox) {
    let rt = aws::runtime();
    let sqs = aws::sqs(aws_sandbox);
    for (queue, visibility) in [
        ("orders", "30"),
        ("slow", "1"),
        ("audit", "30"),
        ("alerts-copy", "30"),
        ("bus-copy", "30"),
    ] {
        rt.block_on(
            sqs.create_queue()
                .queue_name(queue)
                .attributes(QueueAttributeName::VisibilityTimeout, visibility)
                .send(),
        )
        .unwrap();
    }
    aws::topic_to_queue(
        &rt,
        aws_sandbox,
        "alerts",
        "arn:aws:sqs:us-east-1:123456789012:alerts-copy",
        &[("RawMessageDelivery", "true")],
    );
    let events = aws::eventbridge(aws_sandbox);
    rt.block_on(events.create_event_bus().name("shop").send())
        .unwrap();
    rt.block_on(
        events
            .put_rule()
            .event_bus_name("shop")
            .name("all")
            .event_pattern(r#"{"source": ["shop"]}"#)
            .send(),
    )
    .unwrap();
    rt.block_on(
        events
            .put_targets()
            .event_bus_name("shop")
            .rule("all")
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("copy")
                    .arn("arn:aws:sqs:us-east-1:123456789012:bus-copy")
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    let kinesis = aws::kinesis(aws_sandbox);
    rt.block_on(
        kinesis
            .create_stream()
            .stream_name("clicks")
            .shard_count(2)
            .send(),
    )
    .unwrap();
}

/// The app under test, pointed at `aws_sandbox` the way a developer points the SDK at
/// AWS: the environment's credentials, region and endpoint (and no config files).
fn app(aws_sandbox: &Sandbox) -> sandbox_testing::Builder {
    pointed_at(common::sandbox("remote"), aws_sandbox)
}

/// `builder` reaching `aws_sandbox` as [`app`] does.
fn pointed_at(
    builder: sandbox_testing::Builder,
    aws_sandbox: &Sandbox,
) -> sandbox_testing::Builder {
    builder
        .arg("--cache-dir")
        .arg(common::shared_cache())
        .env("AWS_ENDPOINT_URL", aws_sandbox.base_url())
        .env("AWS_ACCESS_KEY_ID", "AKIDREMOTETEST")
        .env("AWS_SECRET_ACCESS_KEY", "remote-test-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

fn send(aws_sandbox: &Sandbox, queue: &str, body: &str) {
    let rt = aws::runtime();
    let sqs = aws::sqs(aws_sandbox);
    let url = format!("{}/123456789012/{queue}", aws_sandbox.base_url());
    rt.block_on(sqs.send_message().queue_url(url).message_body(body).send())
        .unwrap();
}

/// Waits (bounded) until `check` holds for the remote queue's messages.
fn await_queue(aws_sandbox: &Sandbox, queue: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let messages = aws_sandbox.peek(queue).unwrap();
        if check(&messages) {
            return messages;
        }
        assert!(
            Instant::now() < deadline,
            "queue {queue} never got there: {messages:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn bodies(messages: &[Value]) -> Vec<&str> {
    messages.iter().filter_map(|m| m["body"].as_str()).collect()
}

#[test]
fn a_remote_queue_is_consumed_as_lambda_does_and_failed_items_stay() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let app = app(&aws_sandbox).start().unwrap();
    let output = app.output();
    assert!(output.contains("remote queue orders"), "{output}");
    assert!(output.contains("DELETED from the real queue"), "{output}");
    for body in ["one", "two", "three-fail"] {
        send(&aws_sandbox, "orders", body);
    }
    for body in ["one", "two", "three-fail"] {
        app.await_output(&format!(
            "order {body} from arn:aws:sqs:us-east-1:123456789012:orders receive 1"
        ));
    }
    // Processed messages are deleted; the failed item stays (in flight, then visible
    // again for the real queue's redrive policy to count).
    let left = await_queue(&aws_sandbox, "orders", |m| m.len() == 1);
    assert_eq!(bodies(&left), ["three-fail"]);
    // The sandbox never purges, peeks at or redrives a real queue.
    let purge = app
        .request("DELETE", "/_sandbox/queues/orders/messages", &[], b"")
        .unwrap();
    assert_eq!(purge.status, 400, "{}", purge.text());
    assert!(purge.text().contains("lives in AWS"), "{}", purge.text());
    // /_sandbox/status labels it remote.
    let status = app.status().unwrap();
    let orders = status["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "orders")
        .unwrap();
    assert_eq!(orders["remote"]["consume"], "delete", "{orders}");
}

#[test]
fn visibility_is_extended_while_a_batch_runs_longer_than_the_timeout() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let app = app(&aws_sandbox).start().unwrap();
    send(&aws_sandbox, "slow", "long-job");
    app.await_output("slow start long-job");
    // The job takes 3 s; the queue's visibility timeout is 1 s. Without the extension
    // the message would be visible again (and received by another consumer) meanwhile.
    let output = app.await_output("slow done long-job");
    assert!(
        output.contains(
            "remote queue slow: batch still running; visibility of 1 message(s) extended by 1 s"
        ),
        "{output}"
    );
    await_queue(&aws_sandbox, "slow", |m| m.is_empty());
    let output = app.output();
    assert_eq!(output.matches("slow start long-job").count(), 1, "{output}");
}

#[test]
fn read_only_mode_invokes_without_deleting() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let rt = aws::runtime();
    // A short visibility timeout, so the message comes back quickly.
    let sqs = aws::sqs(&aws_sandbox);
    rt.block_on(
        sqs.set_queue_attributes()
            .queue_url(format!("{}/123456789012/orders", aws_sandbox.base_url()))
            .attributes(QueueAttributeName::VisibilityTimeout, "1")
            .send(),
    )
    .unwrap();
    let app = app(&aws_sandbox).arg("--remote-read-only").start().unwrap();
    assert!(app.output().contains("read-only: nothing is deleted"));
    send(&aws_sandbox, "orders", "peeked");
    app.await_output("order peeked from arn:aws:sqs:us-east-1:123456789012:orders receive 1");
    // Not deleted: back after its visibility timeout, delivered again.
    app.await_output("order peeked from arn:aws:sqs:us-east-1:123456789012:orders receive 2");
    let messages = aws_sandbox.peek("orders").unwrap();
    assert_eq!(bodies(&messages), ["peeked"]);
    // Nothing is written to AWS either.
    let refused = app
        .post_json("/_sandbox/queues/audit/messages", &json!({"body": "x"}))
        .unwrap();
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(refused.text().contains("--remote-read-only"));
}

#[test]
fn missing_credentials_name_the_resource_and_the_app_runs_on() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let app = common::sandbox("remote")
        .arg("--cache-dir")
        .arg(common::shared_cache())
        .env("AWS_ENDPOINT_URL", aws_sandbox.base_url())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "")
        .env("AWS_SECRET_ACCESS_KEY", "")
        .env("AWS_PROFILE", "nobody")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .start()
        .unwrap();
    let output = app.await_output("remote queue orders (arn:aws:sqs:us-east-1:123456789012:orders): no usable AWS credentials");
    assert!(output.contains("NOT CONNECTED"), "{output}");
    // The rest of the app serves; a call to the remote resource says why it cannot.
    let answer = app
        .post_json("/publish", &json!({"message": "hello"}))
        .unwrap();
    assert_eq!(answer.status, 502, "{}", answer.text());
    let sent = app
        .post_json("/_sandbox/queues/audit/messages", &json!({"body": "x"}))
        .unwrap();
    assert_eq!(sent.status, 503, "{}", sent.text());
    assert!(
        sent.text().contains("remote queue audit is not connected"),
        "{}",
        sent.text()
    );
}

#[test]
fn handlers_and_the_control_api_publish_to_remote_topics_buses_queues_and_streams() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let app = app(&aws_sandbox).start().unwrap();
    // A handler's host calls.
    let answer = app
        .post_json("/publish", &json!({"message": "hello"}))
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let sent: Value = answer.json().unwrap();
    assert!(sent["topic"]["messageId"].is_string(), "{sent}");
    assert_eq!(sent["bus"]["FailedEntryCount"], 0, "{sent}");
    assert!(sent["queue"]["messageId"].is_string(), "{sent}");
    await_queue(&aws_sandbox, "alerts-copy", |m| bodies(m) == ["hello"]);
    await_queue(&aws_sandbox, "audit", |m| bodies(m) == ["hello"]);
    let events = await_queue(&aws_sandbox, "bus-copy", |m| m.len() == 1);
    let event: Value = serde_json::from_str(events[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(event["detail"]["message"], "hello", "{event}");
    assert_eq!(event["source"], "shop");
    // The control API's publish, send and put.
    app.publish("alerts", "from-control").unwrap();
    await_queue(&aws_sandbox, "alerts-copy", |m| {
        bodies(m).contains(&"from-control")
    });
    app.send("audit", "sent-by-control").unwrap();
    await_queue(&aws_sandbox, "audit", |m| {
        bodies(m).contains(&"sent-by-control")
    });
    app.put_record("clicks", "k", b"put-by-control").unwrap();
    let stream = aws_sandbox.stream("clicks").unwrap();
    let records: u64 = stream["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["records"].as_u64().unwrap())
        .sum();
    assert_eq!(records, 1, "{stream}");
}

/// Puts one record into the remote stream; its sequence number.
fn put(aws_sandbox: &Sandbox, key: &str, data: &str) -> String {
    let rt = aws::runtime();
    let kinesis = aws::kinesis(aws_sandbox);
    rt.block_on(
        kinesis
            .put_record()
            .stream_name("clicks")
            .partition_key(key)
            .data(aws_sdk_kinesis::primitives::Blob::new(data.as_bytes()))
            .send(),
    )
    .unwrap()
    .sequence_number
}

/// The `click …` lines the stream's handler logged, in order.
fn clicks(app: &Sandbox) -> Vec<String> {
    app.output()
        .lines()
        .filter_map(|l| l.find("click ").map(|i| l[i..].to_string()))
        .collect()
}

#[test]
fn a_remote_stream_is_read_per_shard_in_order() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let app = app(&aws_sandbox).start().unwrap();
    for i in 0..5 {
        put(&aws_sandbox, "alpha", &format!("a{i}"));
        put(&aws_sandbox, "bravo", &format!("b{i}"));
    }
    app.await_output("click a4 ");
    app.await_output("click b4 ");
    let lines = clicks(&app);
    for key in ["a", "b"] {
        let order: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.split(' ').nth(1))
            .filter(|d| d.starts_with(key))
            .collect();
        assert_eq!(
            order,
            (0..5).map(|i| format!("{key}{i}")).collect::<Vec<_>>(),
            "{lines:#?}"
        );
    }
    assert!(
        lines[0].contains(" from arn:aws:kinesis:us-east-1:123456789012:stream/clicks"),
        "{lines:#?}"
    );
    // Moved back to the start, the consumer reads everything again.
    let moved = app
        .post_json(
            "/_sandbox/streams/clicks/consumers/log/position",
            &json!({"position": "TRIM_HORIZON"}),
        )
        .unwrap();
    assert_eq!(moved.status, 200, "{}", moved.text());
    let deadline = Instant::now() + Duration::from_secs(30);
    while clicks(&app)
        .iter()
        .filter(|l| l.starts_with("click a0 "))
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "{}", app.output());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn remote_stream_checkpoints_outlive_a_restart_with_state() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let state = tempfile::tempdir().unwrap();
    let mut first = app(&aws_sandbox).state(state.path()).start().unwrap();
    put(&aws_sandbox, "k", "r1");
    let last = put(&aws_sandbox, "k", "r2");
    first.await_output("click r2 ");
    // The consumer's view shows the checkpoint once it is on disk.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let view = first
            .get("/_sandbox/streams/clicks/consumers/log")
            .unwrap()
            .ok_json()
            .unwrap();
        let shards = view["shards"].as_array().unwrap();
        if shards.iter().any(|s| s["checkpoint"] == last.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "{view}");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    put(&aws_sandbox, "k", "r3");
    let second = app(&aws_sandbox).state(state.path()).start().unwrap();
    second.await_output("click r3 ");
    let lines = clicks(&second);
    assert!(
        lines
            .iter()
            .all(|l| !l.starts_with("click r1 ") && !l.starts_with("click r2 ")),
        "{}",
        second.output()
    );
}

#[test]
fn a_failing_stream_record_is_retried_from_where_it_failed_then_given_up_to_on_failure() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    // All in the stream before the consumer starts, so they come as one batch.
    for data in ["good1", "bad2", "good3"] {
        put(&aws_sandbox, "z", data);
    }
    let app = app(&aws_sandbox).start().unwrap();
    // Attempt 1 reports bad2; attempt 2 starts at bad2 (good1 is checkpointed); with
    // maximumRetryAttempts 1 the rest is then given up to the onFailure queue.
    let output = app.await_output("gave up on 2 record(s)");
    assert!(output.contains("RetryAttemptsExhausted"), "{output}");
    let lines = clicks(&app);
    let seen = |data: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("click {data} ")))
            .count()
    };
    assert_eq!(
        (seen("good1"), seen("bad2"), seen("good3")),
        (1, 2, 2),
        "{lines:#?}"
    );
    let failed = app.peek("clicks-failed").unwrap();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let record: Value = serde_json::from_str(failed[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        record["requestContext"]["condition"], "RetryAttemptsExhausted",
        "{record}"
    );
    assert_eq!(record["KinesisBatchInfo"]["batchSize"], 2, "{record}");
    assert_eq!(
        record["KinesisBatchInfo"]["streamArn"],
        "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
    );
}

/// An app of its own in a temporary directory: `app.arc` and JavaScript handlers
/// (`(path under src, code)`), for tests that change the manifest as they go.
fn own_app(arc: &str, handlers: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.arc"), arc).unwrap();
    for (path, code) in handlers {
        let file = dir.path().join("src").join(path).join("index.js");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, code).unwrap();
    }
    dir
}

/// The app in `dir` (see [`own_app`]), reaching `aws_sandbox` as [`app`] does.
fn own(dir: &tempfile::TempDir, aws_sandbox: &Sandbox) -> sandbox_testing::Builder {
    pointed_at(
        Sandbox::builder(dir.path()).bin(env!("CARGO_BIN_EXE_sandbox")),
        aws_sandbox,
    )
}

/// A queue handler that logs `<label> <body> receive <n>` for each message.
fn logging_handler(label: &str) -> String {
    format!(
        "exports.handler = async (event) => {{\n  for (const r of event.Records) console.log(`{label} ${{r.body}} receive ${{r.attributes.ApproximateReceiveCount}}`)\n}}\n"
    )
}

/// `GET /_sandbox/remote`: the entry `name` of `kind`.
fn remote_entry(app: &Sandbox, kind: &str, name: &str) -> Value {
    let all = app.get("/_sandbox/remote").unwrap().ok_json().unwrap();
    all["remote"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind && e["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Waits (bounded) until the remote entry holds one message or record in flight.
fn await_in_flight(app: &Sandbox, kind: &str, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while remote_entry(app, kind, name)["inFlight"] != 1 {
        assert!(Instant::now() < deadline, "{}", app.output());
        std::thread::sleep(Duration::from_millis(5));
    }
}

const ARN: &str = "arn:aws:sqs:us-east-1:123456789012";

#[test]
fn a_reload_restarts_changed_remote_consumers_starts_new_ones_and_stops_removed_ones() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let arc = |orders: &str, third: &str| {
        format!("@app\nreloading\n\n@queues\norders\n  remote {ARN}:orders\n  consume {orders}\n{third}")
    };
    let audit = format!("audit\n  remote {ARN}:audit\n  consume delete\n");
    let alerts = format!("alerts-copy\n  remote {ARN}:alerts-copy\n  consume delete\n");
    let dir = own_app(
        &arc("delete", &audit),
        &[
            ("queues/orders", &logging_handler("order")),
            ("queues/audit", &logging_handler("audit-got")),
            ("queues/alerts-copy", &logging_handler("alert")),
        ],
    );
    let state = tempfile::tempdir().unwrap();
    let app = own(&dir, &aws_sandbox).state(state.path()).start().unwrap();
    // No remote stream consumer, so no file for their checkpoints.
    assert!(!state.path().join("remote.redb").exists());
    send(&aws_sandbox, "orders", "a1");
    app.await_output("order a1 receive 1");
    await_queue(&aws_sandbox, "orders", |m| m.is_empty());

    // orders changes to peek, audit goes, alerts-copy comes.
    std::fs::write(dir.path().join("app.arc"), arc("peek", &alerts)).unwrap();
    let output = app.await_output("remote queue alerts-copy added");
    assert!(output.contains("remote queue orders changed"), "{output}");
    assert!(output.contains("remote queue audit removed"), "{output}");
    // The changed consumer follows its new line: nothing is deleted any more.
    send(&aws_sandbox, "orders", "b1");
    app.await_output("order b1 receive");
    app.await_output(
        "remote queue orders: 1 message(s) processed, 0 failed; read-only: none deleted",
    );
    assert_eq!(bodies(&aws_sandbox.peek("orders").unwrap()), ["b1"]);
    // The removed one consumes no more; the new one does.
    send(&aws_sandbox, "audit", "d1");
    send(&aws_sandbox, "alerts-copy", "c1");
    app.await_output("alert c1 receive 1");
    app.drain(Duration::from_secs(10)).unwrap();
    assert!(!app.output().contains("audit-got d1"), "{}", app.output());
    assert_eq!(bodies(&aws_sandbox.peek("audit").unwrap()), ["d1"]);
    assert_eq!(remote_entry(&app, "queue", "audit"), Value::Null);
    assert_eq!(
        remote_entry(&app, "queue", "alerts-copy")["state"],
        "connected"
    );
    assert!(!state.path().join("remote.redb").exists());
}

#[test]
fn drain_waits_for_remote_batches_in_flight_and_lists_them() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let slow = "exports.handler = async (event) => {\n  console.log(`slow start ${event.Records[0].body}`)\n  await new Promise((resolve) => setTimeout(resolve, 2000))\n  console.log(`slow done ${event.Records[0].body}`)\n}\n";
    let dir = own_app(
        &format!(
            "@app\ndraining\n\n@queues\norders\n  remote {ARN}:orders\n  consume delete\n  batchWindow 2\nslow\n  remote {ARN}:slow\n  consume delete\n  timeout 10\n"
        ),
        &[("queues/orders", &logging_handler("order")), ("queues/slow", slow)],
    );
    let app = own(&dir, &aws_sandbox).start().unwrap();
    // Received and held for its batching window: ours, though no handler runs yet.
    send(&aws_sandbox, "orders", "w1");
    await_in_flight(&app, "queue", "orders");
    app.drain(Duration::from_secs(20)).unwrap();
    // Settled before drain returned: processed and deleted from the real queue.
    assert_eq!(aws_sandbox.peek("orders").unwrap(), Vec::<Value>::new());
    app.await_output("order w1 receive 1");

    // A batch still running is listed by a drain that gives up.
    send(&aws_sandbox, "slow", "long");
    // (A handler's log lines are printed when it ends: the batch is watched instead.)
    await_in_flight(&app, "queue", "slow");
    let report = app
        .request("POST", "/_sandbox/drain?timeout=100ms", &[], b"")
        .unwrap();
    assert_eq!(report.status, 408, "{}", report.text());
    let report: Value = report.json().unwrap();
    let pending = report["pending"].as_array().unwrap();
    assert!(
        pending.iter().any(|w| w["service"] == "remote queue"
            && w["resource"] == "slow"
            && w["due_now"] == 1),
        "{report}"
    );
    app.drain(Duration::from_secs(20)).unwrap();
    assert_eq!(aws_sandbox.peek("slow").unwrap(), Vec::<Value>::new());
    app.await_output("slow done long");
}

#[test]
fn an_entry_that_cannot_connect_is_retried_until_it_does_then_consumed() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let rt = aws::runtime();
    let sqs = aws::sqs(&aws_sandbox);
    let url = format!("{}/123456789012/orders", aws_sandbox.base_url());
    rt.block_on(sqs.delete_queue().queue_url(&url).send())
        .unwrap();
    let app = app(&aws_sandbox).start().unwrap();
    let output = app.output();
    assert!(
        output.contains(&format!(
            "remote queue orders → {ARN}:orders NOT CONNECTED, connecting in the background"
        )),
        "{output}"
    );
    let entry = remote_entry(&app, "queue", "orders");
    assert_eq!(entry["state"], "connecting", "{entry}");
    assert!(
        entry["error"]
            .as_str()
            .unwrap()
            .contains("remote queue orders"),
        "{entry}"
    );
    // The rest of the app runs meanwhile.
    assert_eq!(remote_entry(&app, "queue", "slow")["state"], "connected");
    // Once the queue exists, the entry connects and its messages are consumed.
    rt.block_on(sqs.create_queue().queue_name("orders").send())
        .unwrap();
    send(&aws_sandbox, "orders", "late");
    app.await_output("order late from arn:aws:sqs:us-east-1:123456789012:orders receive 1");
    let output = app.await_output(&format!("remote queue orders → {ARN}:orders: connected"));
    assert_eq!(remote_entry(&app, "queue", "orders")["state"], "connected");
    // One line per change of state, not one per retry; no secret anywhere.
    assert_eq!(
        output.matches("retrying in the background").count(),
        1,
        "{output}"
    );
    assert!(!output.contains("remote-test-secret"), "{output}");
}

#[test]
fn max_concurrency_runs_that_many_remote_batches_at_once() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    // Each invocation logs when it ran; overlaps are counted from those spans.
    let span = "exports.handler = async (event) => {\n  const start = Date.now()\n  await new Promise((resolve) => setTimeout(resolve, 1500))\n  console.log(`span ${event.Records[0].body} ${start} ${Date.now()}`)\n}\n";
    let dir = own_app(
        &format!(
            "@app\nconcurrent\n\n@queues\norders\n  remote {ARN}:orders\n  consume delete\n  batchSize 1\n  maxConcurrency 2\n  timeout 10\n"
        ),
        &[("queues/orders", span)],
    );
    let app = own(&dir, &aws_sandbox).start().unwrap();
    assert!(app.output().contains("up to 2 at once"), "{}", app.output());
    for i in 0..5 {
        send(&aws_sandbox, "orders", &format!("m{i}"));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let spans = loop {
        let spans: Vec<(u64, u64)> = app
            .output()
            .lines()
            .filter_map(|l| {
                let mut words = l[l.find("span ")?..].split_whitespace().skip(2);
                Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
            })
            .collect();
        if spans.len() == 5 {
            break spans;
        }
        assert!(Instant::now() < deadline, "{}", app.output());
        std::thread::sleep(Duration::from_millis(20));
    };
    let most = spans
        .iter()
        .map(|&(start, _)| {
            spans
                .iter()
                .filter(|&&(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap();
    assert_eq!(most, 2, "{spans:?}");
}

#[test]
fn remote_streams_follow_a_reload_and_their_checkpoint_file_comes_with_the_first() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let reader = |label: &str| {
        format!(
            "exports.handler = async (event) => {{\n  for (const r of event.Records) console.log(`{label} ${{Buffer.from(r.kinesis.data, 'base64').toString('utf8')}}`)\n}}\n"
        )
    };
    let dir = own_app(
        "@app\nstreaming\n",
        &[
            ("streams/clicks/log", &reader("log-got")),
            ("streams/clicks/again", &reader("again-got")),
        ],
    );
    let state = tempfile::tempdir().unwrap();
    let app = own(&dir, &aws_sandbox).state(state.path()).start().unwrap();
    assert!(!state.path().join("remote.redb").exists());
    let stream = |consumer: &str| {
        format!(
            "@app\nstreaming\n\n@streams\nclicks\n  remote arn:aws:kinesis:us-east-1:123456789012:stream/clicks\n  consumers {consumer}\n  startingPosition TRIM_HORIZON\n"
        )
    };
    // Added: read from the start, checkpoints now kept in --state.
    put(&aws_sandbox, "k", "r1");
    std::fs::write(dir.path().join("app.arc"), stream("log")).unwrap();
    app.await_output("remote stream clicks added");
    app.await_output("log-got r1");
    assert!(state.path().join("remote.redb").exists());
    // Changed to another consumer: it has no checkpoint, so it reads from the start too.
    std::fs::write(dir.path().join("app.arc"), stream("again")).unwrap();
    app.await_output("remote stream clicks changed");
    app.await_output("again-got r1");
    put(&aws_sandbox, "k", "r2");
    app.await_output("again-got r2");
    assert!(!app.output().contains("log-got r2"), "{}", app.output());
}

#[test]
fn drain_waits_for_a_remote_stream_batch_being_retried() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let failing = "exports.handler = async (event) => {\n  throw new Error('always')\n}\n";
    let dir = own_app(
        "@app\nretrying\n\n@streams\nclicks\n  remote arn:aws:kinesis:us-east-1:123456789012:stream/clicks\n  consumers log\n  startingPosition TRIM_HORIZON\n  maximumRetryAttempts 3\n",
        &[("streams/clicks/log", failing)],
    );
    let sequence = put(&aws_sandbox, "k", "doomed");
    let app = own(&dir, &aws_sandbox).start().unwrap();
    await_in_flight(&app, "stream", "clicks");
    // Between attempts nothing runs, yet the batch is the sandbox's until given up.
    app.drain(Duration::from_secs(20)).unwrap();
    let view = app
        .get("/_sandbox/streams/clicks/consumers/log")
        .unwrap()
        .ok_json()
        .unwrap();
    assert!(
        view["shards"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["checkpoint"] == sequence.as_str()),
        "{view}"
    );
    app.await_output("gave up on 1 record(s)");
}

#[test]
fn a_reload_during_a_batch_window_runs_what_was_received_instead_of_returning_it() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let arc = |size: u32| {
        format!("@app\nwindowed\n\n@queues\norders\n  remote {ARN}:orders\n  consume delete\n  batchSize {size}\n  batchWindow 15\n  maxConcurrency 2\n")
    };
    let dir = own_app(&arc(10), &[("queues/orders", &logging_handler("order"))]);
    let app = own(&dir, &aws_sandbox).start().unwrap();
    send(&aws_sandbox, "orders", "w1");
    // Received, the batch waits for its window to fill.
    await_in_flight(&app, "queue", "orders");
    std::fs::write(dir.path().join("app.arc"), arc(9)).unwrap();
    app.await_output("remote queue orders changed");
    // The stopped poller runs what it holds at once, on its first receive: it is not
    // given back to come again (one receive higher) or to the dead-letter queue.
    app.await_output("order w1 receive 1");
    await_queue(&aws_sandbox, "orders", |m| m.is_empty());
    assert!(
        !app.output().contains("order w1 receive 2"),
        "{}",
        app.output()
    );
}

#[test]
fn a_stream_batch_failing_forever_does_not_hold_up_a_reload() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let failing = "exports.handler = async (event) => {\n  throw new Error('always')\n}\n";
    // No maximumRetryAttempts: the batch is retried until it succeeds or expires.
    let arc = |extra: &str| {
        format!("@app\nstuck\n\n@streams\nclicks\n  remote arn:aws:kinesis:us-east-1:123456789012:stream/clicks\n  consumers log\n  startingPosition TRIM_HORIZON\n{extra}")
    };
    let dir = own_app(&arc(""), &[("streams/clicks/log", failing)]);
    put(&aws_sandbox, "k", "doomed");
    let app = own(&dir, &aws_sandbox).start().unwrap();
    await_in_flight(&app, "stream", "clicks");
    // The fix a developer makes: give up after the first failure. The old reader stops
    // between attempts without a checkpoint, so the new one reads the record again.
    std::fs::write(
        dir.path().join("app.arc"),
        arc("  maximumRetryAttempts 0\n"),
    )
    .unwrap();
    app.await_output("remote stream clicks changed");
    app.await_output("gave up on 1 record(s)");
    app.drain(Duration::from_secs(20)).unwrap();
}

#[test]
fn drain_waits_for_stream_records_gathering_in_a_batch_window() {
    let (aws_sandbox, _dir) = start_aws();
    create_resources(&aws_sandbox);
    let reader = "exports.handler = async (event) => {\n  for (const r of event.Records) console.log(`windowed ${Buffer.from(r.kinesis.data, 'base64').toString('utf8')}`)\n}\n";
    let dir = own_app(
        "@app\ngathering\n\n@streams\nclicks\n  remote arn:aws:kinesis:us-east-1:123456789012:stream/clicks\n  consumers log\n  startingPosition TRIM_HORIZON\n  batchSize 100\n  batchWindow 20\n",
        &[("streams/clicks/log", reader)],
    );
    let app = own(&dir, &aws_sandbox).start().unwrap();
    put(&aws_sandbox, "k", "g1");
    // Read and waiting for its window: already the sandbox's (in flight long before the
    // window ends), so drain waits for it.
    let read = Instant::now();
    while remote_entry(&app, "stream", "clicks")["inFlight"] != 1 {
        assert!(
            read.elapsed() < Duration::from_secs(10),
            "not in flight while gathering: {}",
            app.output()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    app.drain(Duration::from_secs(30)).unwrap();
    assert!(app.output().contains("windowed g1"), "{}", app.output());
}
