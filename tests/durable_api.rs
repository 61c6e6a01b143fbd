//! `sandbox start --state DIR` for what the AWS APIs make: an SNS topic with an SQS
//! subscription (its filter policy and raw delivery too) and an EventBridge bus with a
//! rule and a queue target, made with the official SDKs, survive `kill -9` (SIGKILL:
//! nothing flushed); after the restart Publish and PutEvents still deliver through them.
//! The app is the `bus` fixture: its queue `shop-events` has no consumer, so deliveries
//! are read with the control API.

use crate::common;

use crate::common::aws;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use aws_sdk_sns::types::MessageAttributeValue;
use sandbox_testing::Sandbox;
use serde_json::{json, Value};

const SHOP_EVENTS_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:shop-events";

fn bodies(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .peek("shop-events")
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect()
}

fn kind(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .unwrap()
}

#[test]
fn topics_subscriptions_buses_rules_and_targets_made_through_the_sdks_survive_kill_9() {
    let state = tempfile::tempdir().unwrap();
    let rt = aws::runtime();
    let sandbox = common::bus_with_state(state.path());
    let topic = aws::topic_to_queue(
        &rt,
        &sandbox,
        "api-news",
        SHOP_EVENTS_ARN,
        &[
            ("RawMessageDelivery", "true"),
            ("FilterPolicy", r#"{"kind": ["keep"]}"#),
        ],
    );
    {
        let eb = aws::eventbridge(&sandbox);
        rt.block_on(eb.create_event_bus().name("api-bus").send())
            .unwrap();
        rt.block_on(
            eb.put_rule()
                .name("from-api")
                .event_bus_name("api-bus")
                .event_pattern(r#"{"source": ["api"]}"#)
                .send(),
        )
        .unwrap();
        let put = rt
            .block_on(
                eb.put_targets()
                    .rule("from-api")
                    .event_bus_name("api-bus")
                    .targets(
                        Target::builder()
                            .id("q")
                            .arn(SHOP_EVENTS_ARN)
                            .input_path("$.detail")
                            .build()
                            .unwrap(),
                    )
                    .send(),
            )
            .unwrap();
        assert_eq!(put.failed_entry_count(), 0);
    }

    let sandbox = sandbox.kill_and_restart().unwrap();
    sandbox.await_output(
        "made through the API: 2 topic(s)/subscription(s), 3 bus(es)/rule(s)/target(s)/archive(s)",
    );
    let sns = aws::sns(&sandbox);
    for (message, k) in [("kept", "keep"), ("filtered", "drop")] {
        rt.block_on(
            sns.publish()
                .topic_arn(&topic)
                .message(message)
                .message_attributes("kind", kind(k))
                .send(),
        )
        .unwrap();
    }
    assert_eq!(
        bodies(&sandbox),
        ["kept"],
        "raw delivery and the filter policy came back"
    );

    let eb = aws::eventbridge(&sandbox);
    let sent = rt
        .block_on(
            eb.put_events()
                .entries(
                    PutEventsRequestEntry::builder()
                        .event_bus_name("api-bus")
                        .source("api")
                        .detail_type("t")
                        .detail(r#"{"n": 1}"#)
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert_eq!(sent.failed_entry_count(), 0);
    let got = bodies(&sandbox);
    assert_eq!(got.len(), 2, "{got:?}");
    let detail: Value = serde_json::from_str(&got[1]).unwrap();
    assert_eq!(detail, json!({"n": 1}));
}
