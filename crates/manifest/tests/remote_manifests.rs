//! `remote` entries (queues, streams, topics, buses standing for real AWS resources)
//! read to the model in both formats; the mistakes are in `tests/bad/remote_*`.

use std::path::Path;

use sandbox_manifest::{parse_arc, parse_json, Consume};

#[test]
fn remote_entries_read_in_arc() {
    let root = tempfile::tempdir().unwrap();
    let text = "@app\nshop\n@queues\norders\n  remote https://sqs.eu-west-1.amazonaws.com/123456789012/orders\n  consume peek\n  timeout 5\n  batchSize 5\n  reportBatchItemFailures true\nout\n  remote http://127.0.0.1:4566/000000000000/out.fifo\n@events\nalerts\n  remote arn:aws:sns:us-east-1:000000000000:alerts\n  endpoint http://127.0.0.1:9/\n@streams\nclicks\n  remote arn:aws:kinesis:us-east-1:000000000000:stream/clicks\n  consumers analytics\n  startingPosition TRIM_HORIZON\n@bus\norders\n  remote arn:aws:events:us-east-1:000000000000:event-bus/orders\n";
    let m = parse_arc(root.path(), Path::new("app.arc"), text).unwrap();
    let orders = m.queues[0].remote.as_ref().unwrap();
    assert_eq!(orders.name, "orders");
    assert_eq!(orders.region.as_deref(), Some("eu-west-1"));
    assert_eq!(orders.consume, Some(Consume::Peek));
    assert_eq!(m.queues[0].function.as_deref(), Some("queues/orders"));
    assert_eq!(m.queues[0].batch_size, 5);
    assert!(m.queues[0].report_batch_item_failures);
    let out = &m.queues[1];
    assert!(out.fifo && out.function.is_none());
    let out = out.remote.as_ref().unwrap();
    assert_eq!(out.endpoint.as_deref(), Some("http://127.0.0.1:4566"));
    assert_eq!(out.consume, None);
    let alerts = m.topics[0].remote.as_ref().unwrap();
    assert_eq!(alerts.endpoint.as_deref(), Some("http://127.0.0.1:9"));
    assert!(m.topics[0].subscriptions.is_empty());
    let clicks = &m.streams[0];
    assert_eq!(clicks.remote.as_ref().unwrap().name, "clicks");
    assert_eq!(clicks.consumers[0].function, "streams/clicks/analytics");
    assert_eq!(m.buses[0].remote.as_ref().unwrap().name, "orders");
    assert!(m.buses[0].rules.is_empty());
}

#[test]
fn remote_entries_read_in_json() {
    let root = tempfile::tempdir().unwrap();
    let text = r#"{"app": "shop", "queues": {"orders": {"remote": "arn:aws:sqs:eu-west-1:123456789012:orders", "consume": "delete", "timeout": 5}}, "bus": {"orders": {"remote": "arn:aws:events:eu-west-1:123456789012:event-bus/default"}}}"#;
    let m = parse_json(root.path(), Path::new("sandbox.json"), text).unwrap();
    let orders = m.queues[0].remote.as_ref().unwrap();
    assert_eq!(orders.consume, Some(Consume::Delete));
    assert_eq!(orders.account.as_deref(), Some("123456789012"));
    assert_eq!(m.buses[0].remote.as_ref().unwrap().name, "default");
}

#[test]
fn nothing_is_remote_unless_said() {
    let root = tempfile::tempdir().unwrap();
    let m = parse_arc(
        root.path(),
        Path::new("app.arc"),
        "@app\nshop\n@queues\norders\n@events\nalerts\n",
    )
    .unwrap();
    assert!(m.queues.iter().all(|q| q.remote.is_none()));
    assert!(m.topics.iter().all(|t| t.remote.is_none()));
}
