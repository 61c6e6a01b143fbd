//! End to end: the official Rust SDK for SQS against the sandbox's queues (AWS JSON 1.0),
//! and the seed's flow: a client outside the sandbox sends to a manifest queue and the
//! queue's handler runs.

mod common;

use std::time::Duration;

use common::aws;

const DRAIN: Duration = Duration::from_secs(60);

#[test]
fn an_sdk_client_sends_to_a_manifest_queue_and_its_handler_runs() {
    let sandbox = common::manual("queues");
    let rt = aws::runtime();
    let sqs = aws::sqs(&sandbox);
    let url = rt
        .block_on(sqs.get_queue_url().queue_name("echo").send())
        .unwrap()
        .queue_url
        .unwrap();
    assert_eq!(url, format!("{}/123456789012/echo", sandbox.base_url()));
    let sent = rt
        .block_on(
            sqs.send_message()
                .queue_url(&url)
                .message_body("from the sdk")
                .send(),
        )
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    let line = &common::logs(&sandbox, "queues/echo")[0];
    let event: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(event["Records"][0]["body"], "from the sdk");
    assert_eq!(
        event["Records"][0]["messageId"].as_str(),
        sent.message_id.as_deref()
    );
}

#[test]
fn an_unknown_queue_is_queue_does_not_exist() {
    let sandbox = common::manual("queues");
    let rt = aws::runtime();
    let sqs = aws::sqs(&sandbox);
    let err = rt
        .block_on(sqs.get_queue_url().queue_name("nope").send())
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_queue_does_not_exist()),
        "{err:?}"
    );
}
