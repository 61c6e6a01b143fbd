//! End to end: the JavaScript examples of Architect's "Background tasks" guide and
//! SST's TypeScript queue consumer, their handlers exactly as the guides write them,
//! running from fixture apps.

use crate::common;

use std::time::Duration;

#[test]
fn architect_events_example_publishes_and_the_topic_handler_gets_it() {
    let sandbox = common::js("js-arc", true);
    let index = sandbox.get("/").unwrap();
    assert_eq!(index.status, 200, "{}", sandbox.output());
    assert_eq!(index.header("content-type"), Some("text/html"));
    assert!(index.text().contains("<form action=/yolo method=post>"));

    assert_eq!(
        common::unfollowed(&sandbox, "POST", "/yolo"),
        (302, Some("/".to_string())),
        "{}",
        sandbox.output()
    );

    sandbox.drain(Duration::from_secs(10)).unwrap();
    let events = sandbox.invocations(Some("events/yolo"), 10).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["outcome"], "success");
    let logs = common::logs(&sandbox, "events/yolo").join("\n");
    assert!(logs.starts_with("got event {"), "{logs}");
    // The payload, with the timestamp the handler took from the sandbox clock.
    assert!(
        logs.contains(r#"\"message\":\"swag\",\"timestamp\":\"2030-01-01T00:00:00.000Z\""#),
        "{logs}"
    );
}

#[test]
fn architect_scheduled_example_runs_daily_on_the_sandbox_clock() {
    let sandbox = common::js("js-arc", true);
    sandbox.advance("1d").unwrap();
    sandbox.drain(Duration::from_secs(10)).unwrap();
    assert_eq!(common::outcomes(&sandbox, "scheduled/daily"), ["success"]);
    let logs = common::logs(&sandbox, "scheduled/daily").join("\n");
    assert!(
        logs.contains(r#""detail-type": "Scheduled Event""#),
        "{logs}"
    );
}

#[test]
fn architect_queues_example_publishes_and_the_consumer_gets_it() {
    let sandbox = common::js("js-arc-queues", true);
    let index = sandbox
        .request("GET", "/", &[("x-seed", "background-tasks")], b"")
        .unwrap();
    assert_eq!(index.status, 201, "{}\n{}", index.text(), sandbox.output());
    sandbox.drain(Duration::from_secs(10)).unwrap();
    assert_eq!(
        common::outcomes(&sandbox, "queues/account-signup"),
        ["success"]
    );
    let logs = common::logs(&sandbox, "queues/account-signup").join("\n");
    assert!(logs.contains("got queue event"), "{logs}");
    assert!(
        logs.contains(r#"\"x-seed\":\"background-tasks\""#),
        "{logs}"
    );
    assert!(logs.contains(r#"\"text\":\"yolo\""#), "{logs}");
}

#[test]
fn sst_typescript_queue_consumer_processes_messages() {
    let sandbox = common::js("js-sst", true);
    sandbox.send("queue", "Hello from Next.js!").unwrap();
    sandbox.drain(Duration::from_secs(10)).unwrap();
    assert_eq!(common::outcomes(&sandbox, "queues/queue"), ["success"]);
    assert_eq!(
        common::logs(&sandbox, "queues/queue"),
        [r#"Message processed: "Hello from Next.js!""#]
    );
}
