//! End to end: the official Rust SDK for SNS (Query protocol, XML answers) against the
//! sandbox's topics — every operation and its errors, deliveries to queues (the exact
//! envelope, raw delivery, filter policies, FIFO) and to the app's functions, the
//! UnsubscribeURL, and API-made topics living in the same world as the manifest's
//! (`/_sandbox/topics`, handlers, hot reload). The app is the `events` fixture
//! (fixtures/apps/events/app.arc): its queues have no consumers, so deliveries are read
//! with the control API (`GET /_sandbox/queues/NAME/messages`).

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use crate::common::aws;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry, Tag};
use serde_json::{json, Value};

const DRAIN: Duration = Duration::from_secs(60);
const ARN: &str = "arn:aws:sns:us-east-1:123456789012";

fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:123456789012:{name}")
}

fn bodies(sandbox: &sandbox_testing::Sandbox, queue: &str) -> Vec<Value> {
    sandbox
        .peek(queue)
        .unwrap()
        .iter()
        .map(|m| serde_json::from_str(m["body"].as_str().unwrap()).unwrap())
        .collect()
}

fn entry(id: &str, message: &str) -> PublishBatchRequestEntry {
    PublishBatchRequestEntry::builder()
        .id(id)
        .message(message)
        .build()
        .unwrap()
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .unwrap()
}

#[test]
fn topics_are_created_idempotently_listed_described_and_deleted() {
    let sandbox = common::manual("events");
    let rt = aws::runtime();
    let sns = aws::sns(&sandbox);

    let made = rt
        .block_on(
            sns.create_topic()
                .name("alerts")
                .attributes("DisplayName", "Alerts")
                .send(),
        )
        .unwrap();
    assert_eq!(made.topic_arn(), Some(format!("{ARN}:alerts").as_str()));
    // The same name and attributes again: the same topic.
    let again = rt
        .block_on(
            sns.create_topic()
                .name("alerts")
                .attributes("DisplayName", "Alerts")
                .send(),
        )
        .unwrap();
    assert_eq!(again.topic_arn(), made.topic_arn());
    // Different attributes: refused.
    let err = rt
        .block_on(
            sns.create_topic()
                .name("alerts")
                .attributes("DisplayName", "Other")
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameter");
    // A manifest topic answers CreateTopic with its ARN too.
    let orders = rt
        .block_on(sns.create_topic().name("orders").send())
        .unwrap();
    assert_eq!(orders.topic_arn(), Some(format!("{ARN}:orders").as_str()));

    // Listed beside the manifest's topics, by the SDK and by the control API.
    let listed = rt.block_on(sns.list_topics().send()).unwrap();
    let arns: Vec<&str> = listed
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .collect();
    assert!(arns.contains(&format!("{ARN}:alerts").as_str()), "{arns:?}");
    assert!(arns.contains(&format!("{ARN}:orders").as_str()), "{arns:?}");
    assert!(listed.next_token().is_none());
    let control = sandbox.topics().unwrap();
    assert!(control.iter().any(|t| t["name"] == "alerts"), "{control:?}");

    let attributes = rt
        .block_on(
            sns.get_topic_attributes()
                .topic_arn(made.topic_arn().unwrap())
                .send(),
        )
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    assert_eq!(attributes["TopicArn"], format!("{ARN}:alerts"));
    assert_eq!(attributes["DisplayName"], "Alerts");
    assert_eq!(attributes["Owner"], "123456789012");
    assert_eq!(attributes["SubscriptionsConfirmed"], "0");
    assert_eq!(attributes["SubscriptionsPending"], "0");
    assert_eq!(attributes["SubscriptionsDeleted"], "0");
    let policy: Value = serde_json::from_str(&attributes["Policy"]).unwrap();
    assert_eq!(policy["Statement"][0]["Resource"], format!("{ARN}:alerts"));
    assert!(attributes["EffectiveDeliveryPolicy"].contains("defaultHealthyRetryPolicy"));
    assert!(!attributes.contains_key("FifoTopic"));

    rt.block_on(
        sns.set_topic_attributes()
            .topic_arn(made.topic_arn().unwrap())
            .attribute_name("DisplayName")
            .attribute_value("Renamed")
            .send(),
    )
    .unwrap();
    let err = rt
        .block_on(
            sns.set_topic_attributes()
                .topic_arn(made.topic_arn().unwrap())
                .attribute_name("Bogus")
                .attribute_value("x")
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameter");
    let attributes = rt
        .block_on(
            sns.get_topic_attributes()
                .topic_arn(made.topic_arn().unwrap())
                .send(),
        )
        .unwrap();
    assert_eq!(attributes.attributes().unwrap()["DisplayName"], "Renamed");

    rt.block_on(
        sns.delete_topic()
            .topic_arn(made.topic_arn().unwrap())
            .send(),
    )
    .unwrap();
    // Deleting again is not an error (DeleteTopic is idempotent); describing is NotFound.
    rt.block_on(
        sns.delete_topic()
            .topic_arn(made.topic_arn().unwrap())
            .send(),
    )
    .unwrap();
    let err = rt
        .block_on(
            sns.get_topic_attributes()
                .topic_arn(made.topic_arn().unwrap())
                .send(),
        )
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_not_found_exception()),
        "{err:?}"
    );
    assert!(sandbox
        .topics()
        .unwrap()
        .iter()
        .all(|t| t["name"] != "alerts"));
}

#[test]
fn topics_are_tagged_untagged_and_their_tags_listed() {
    let sandbox = common::manual("events");
    let rt = aws::runtime();
    let sns = aws::sns(&sandbox);
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    let topic = rt
        .block_on(
            sns.create_topic()
                .name("tagged")
                .tags(tag("team", "a"))
                .send(),
        )
        .unwrap()
        .topic_arn
        .unwrap();
    rt.block_on(
        sns.tag_resource()
            .resource_arn(&topic)
            .tags(tag("env", "dev"))
            .tags(tag("team", "b"))
            .send(),
    )
    .unwrap();
    rt.block_on(
        sns.untag_resource()
            .resource_arn(&topic)
            .tag_keys("env")
            .send(),
    )
    .unwrap();
    let listed = rt
        .block_on(sns.list_tags_for_resource().resource_arn(&topic).send())
        .unwrap();
    let tags: Vec<(&str, &str)> = listed.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [("team", "b")]);
    let err = rt
        .block_on(
            sns.list_tags_for_resource()
                .resource_arn(format!("{ARN}:missing"))
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "ResourceNotFound");
    let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    let err = rt
        .block_on(
            sns.tag_resource()
                .resource_arn(&topic)
                .set_tags(Some(many))
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "TagLimitExceeded");
}

#[test]
fn list_topics_pages_by_a_hundred() {
    let sandbox = common::manual("events");
    let rt = aws::runtime();
    let sns = aws::sns(&sandbox);
    for i in 0..120 {
        rt.block_on(sns.create_topic().name(format!("t{i:03}")).send())
            .unwrap();
    }
    let first = rt.block_on(sns.list_topics().send()).unwrap();
    assert_eq!(first.topics().len(), 100);
    let token = first.next_token().expect("a second page").to_string();
    let second = rt
        .block_on(sns.list_topics().next_token(&token).send())
        .unwrap();
    // 120 made here and the fixture's 6.
    assert_eq!(second.topics().len(), 26);
    assert!(second.next_token().is_none());
    let err = rt
        .block_on(sns.list_topics().next_token("bogus").send())
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameter");
}

#[test]
fn bad_names_and_unknown_topics_are_refused_with_sns_codes() {
    let sandbox = common::manual("events");
    let rt = aws::runtime();
    let sns = aws::sns(&sandbox);
    for (name, fifo) in [("jobs", true), ("jobs.fifo", false), ("has space", false)] {
        let mut call = sns.create_topic().name(name);
        if fifo {
            call = call.attributes("FifoTopic", "true");
        }
        let err = rt.block_on(call.send()).unwrap_err();
        assert_eq!(aws::code(&err), "InvalidParameter", "{name}");
    }
    let err = rt
        .block_on(
            sns.create_topic()
                .name("plain")
                .attributes("ContentBasedDeduplication", "true")
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameter");

    let missing = format!("{ARN}:missing");
    let err = rt
        .block_on(sns.publish().topic_arn(&missing).message("m").send())
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_not_found_exception()),
        "{err:?}"
    );
    let err = rt
        .block_on(
            sns.subscribe()
                .topic_arn(&missing)
                .protocol("sqs")
                .endpoint(queue_arn("inbox"))
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "NotFound");
    let err = rt
        .block_on(sns.list_subscriptions_by_topic().topic_arn(&missing).send())
        .unwrap_err();
    assert_eq!(aws::code(&err), "NotFound");
    let err = rt
        .block_on(
            sns.get_subscription_attributes()
                .subscription_arn(format!("{ARN}:orders:no-such-id"))
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "NotFound");
    let err = rt
        .block_on(sns.publish().topic_arn("not-an-arn").message("m").send())
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameter");
    // Publish's own validation: an empty message, a bad attribute.
    let orders = format!("{ARN}:orders");
    let err = rt
        .block_on(sns.publish().topic_arn(&orders).message("").send())
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameter");
    let err = rt
        .block_on(
            sns.publish()
                .topic_arn(&orders)
                .message("m")
                .message_attributes(
                    "n",
                    MessageAttributeValue::builder()
                        .data_type("Number")
                        .string_value("five")
                        .build()
                        .unwrap(),
                )
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "ParameterValueInvalid");
}

#[test]
fn an_sdk_subscribed_queue_gets_the_exact_envelope_and_its_unsubscribe_url_works() {
    let sandbox = common::manual("events");
    let rt = aws::runtime();
    let sns = aws::sns(&sandbox);
    let topic = rt
        .block_on(sns.create_topic().name("news").send())
        .unwrap()
        .topic_arn
        .unwrap();
    let subscribed = rt
        .block_on(
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(queue_arn("inbox"))
                .return_subscription_arn(true)
                .send(),
        )
        .unwrap();
    let subscription = subscribed.subscription_arn().unwrap().to_string();
    assert!(
        subscription.starts_with(&format!("{topic}:")),
        "{subscription}"
    );
    // Subscribing the same endpoint again answers the same subscription.
    let again = rt
        .block_on(
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(queue_arn("inbox"))
                .send(),
        )
        .unwrap();
    assert_eq!(again.subscription_arn(), Some(subscription.as_str()));

    let published = rt
        .block_on(
            sns.publish()
                .topic_arn(&topic)
                .message("hello")
                .subject("Greeting")
                .message_attributes("lang", string_attribute("en"))
                .send(),
        )
        .unwrap();
    let message_id = published.message_id().unwrap();
    let got = bodies(&sandbox, "inbox");
    assert_eq!(got.len(), 1);
    let body = &got[0];
    let unsubscribe_url = format!(
        "{}/?Action=Unsubscribe&SubscriptionArn={subscription}",
        sandbox.base_url()
    );
    // Byte for byte, in SNS's key order.
    let raw = sandbox.peek("inbox").unwrap()[0]["body"]
        .as_str()
        .unwrap()
        .to_string();
    let expected = format!(
        concat!(
            r#"{{"Type":"Notification","MessageId":"{id}","TopicArn":"{topic}","#,
            r#""Subject":"Greeting","Message":"hello","Timestamp":"2030-01-01T00:00:00.000Z","#,
            r#""SignatureVersion":"1","Signature":"{signature}","#,
            r#""SigningCertURL":"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sandbox-not-signed.pem","#,
            r#""UnsubscribeURL":"{unsubscribe}","#,
            r#""MessageAttributes":{{"lang":{{"Type":"String","Value":"en"}}}}}}"#
        ),
        id = message_id,
        topic = topic,
        signature = body["Signature"].as_str().unwrap(),
        unsubscribe = unsubscribe_url,
    );
    assert_eq!(raw, expected);
    assert_eq!(body["Type"], "Notification");
    assert_eq!(body["MessageId"], message_id);
    assert_eq!(body["TopicArn"], topic.as_str());
    assert_eq!(body["Subject"], "Greeting");
    assert_eq!(body["Message"], "hello");
    assert_eq!(body["Timestamp"], "2030-01-01T00:00:00.000Z");
    assert_eq!(body["SignatureVersion"], "1");
    assert_eq!(body["UnsubscribeURL"], unsubscribe_url.as_str());
    assert_eq!(
        body["MessageAttributes"],
        json!({"lang": {"Type": "String", "Value": "en"}})
    );

    // The subscription is listed and described.
    let listed = rt
        .block_on(sns.list_subscriptions_by_topic().topic_arn(&topic).send())
        .unwrap();
    let row = &listed.subscriptions()[0];
    assert_eq!(row.subscription_arn(), Some(subscription.as_str()));
    assert_eq!(row.protocol(), Some("sqs"));
    assert_eq!(row.endpoint(), Some(queue_arn("inbox").as_str()));
    assert_eq!(row.owner(), Some("123456789012"));
    let all = rt.block_on(sns.list_subscriptions().send()).unwrap();
    assert!(all
        .subscriptions()
        .iter()
        .any(|s| s.subscription_arn() == Some(subscription.as_str())));
    let topic_view = sandbox.topic("news").unwrap();
    assert_eq!(
        topic_view["subscriptions"][0]["delivered"], 1,
        "{topic_view}"
    );

    // Following the UnsubscribeURL (a plain GET) removes the subscription.
    let response = sandbox.agent().get(&unsubscribe_url).call().unwrap();
    assert_eq!(response.status(), 200);
    let listed = rt
        .block_on(sns.list_subscriptions_by_topic().topic_arn(&topic).send())
        .unwrap();
    assert!(listed.subscriptions().is_empty());
    let attributes = rt
        .block_on(sns.get_topic_attributes().topic_arn(&topic).send())
        .unwrap();
    assert_eq!(
        attributes.attributes().unwrap()["SubscriptionsDeleted"],
        "1"
    );
    rt.block_on(sns.publish().topic_arn(&topic).message("after").send())
        .unwrap();
    assert_eq!(bodies(&sandbox, "inbox").len(), 1);
    // Unsubscribing again is not an error.
    rt.block_on(sns.unsubscribe().subscription_arn(&subscription).send())
        .unwrap();
}

#[test]
fn subscription_attributes_raw_delivery_and_filter_policies() {
    let sandbox = common::manual("events");
    let rt = aws::runtime();
    let sns = aws::sns(&sandbox);
    let topic = rt
        .block_on(sns.create_topic().name("prices").send())
        .unwrap()
        .topic_arn
        .unwrap();
    // Raw delivery, set at subscribe time.
    let raw = rt
        .block_on(
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(queue_arn("raw-inbox"))
                .attributes("RawMessageDelivery", "true")
                .send(),
        )
        .unwrap()
        .subscription_arn
        .unwrap();
    // A filter policy on the message body, set afterwards.
    let filtered = rt
        .block_on(
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(queue_arn("audit-log"))
                .send(),
        )
        .unwrap()
        .subscription_arn
        .unwrap();
    for (name, value) in [
        ("FilterPolicyScope", "MessageBody"),
        ("FilterPolicy", r#"{"total": [{"numeric": [">", 100]}]}"#),
    ] {
        rt.block_on(
            sns.set_subscription_attributes()
                .subscription_arn(&filtered)
                .attribute_name(name)
                .attribute_value(value)
                .send(),
        )
        .unwrap();
    }
    let attributes = rt
        .block_on(
            sns.get_subscription_attributes()
                .subscription_arn(&filtered)
                .send(),
        )
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    assert_eq!(attributes["FilterPolicyScope"], "MessageBody");
    assert_eq!(
        attributes["FilterPolicy"],
        r#"{"total": [{"numeric": [">", 100]}]}"#
    );
    assert_eq!(attributes["RawMessageDelivery"], "false");
    assert_eq!(attributes["Protocol"], "sqs");
    assert_eq!(attributes["Endpoint"], queue_arn("audit-log"));
    assert_eq!(attributes["TopicArn"], topic.as_str());
    assert_eq!(attributes["PendingConfirmation"], "false");
    let raw_attributes = rt
        .block_on(
            sns.get_subscription_attributes()
                .subscription_arn(&raw)
                .send(),
        )
        .unwrap();
    assert_eq!(
        raw_attributes.attributes().unwrap()["RawMessageDelivery"],
        "true"
    );

    // A bad policy and an unknown attribute are refused, leaving the subscription as it was.
    for (name, value) in [
        ("FilterPolicy", "{not json"),
        ("Bogus", "1"),
        ("RawMessageDelivery", "maybe"),
    ] {
        let err = rt
            .block_on(
                sns.set_subscription_attributes()
                    .subscription_arn(&filtered)
                    .attribute_name(name)
                    .attribute_value(value)
                    .send(),
            )
            .unwrap_err();
        assert_eq!(aws::code(&err), "InvalidParameter", "{name}");
    }
    // A redrive policy names a dead-letter queue of the sandbox.
    let redrive = json!({"deadLetterTargetArn": queue_arn("flaky-dlq")}).to_string();
    rt.block_on(
        sns.set_subscription_attributes()
            .subscription_arn(&filtered)
            .attribute_name("RedrivePolicy")
            .attribute_value(&redrive)
            .send(),
    )
    .unwrap();
    let err = rt
        .block_on(
            sns.set_subscription_attributes()
                .subscription_arn(&filtered)
                .attribute_name("RedrivePolicy")
                .attribute_value(json!({"deadLetterTargetArn": queue_arn("nope")}).to_string())
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameter");
    let attributes = rt
        .block_on(
            sns.get_subscription_attributes()
                .subscription_arn(&filtered)
                .send(),
        )
        .unwrap();
    assert_eq!(attributes.attributes().unwrap()["RedrivePolicy"], redrive);

    for total in [50, 500] {
        rt.block_on(
            sns.publish()
                .topic_arn(&topic)
                .message(json!({"total": total}).to_string())
                .message_attributes("color", string_attribute("blue"))
                .send(),
        )
        .unwrap();
    }
    // Raw delivery: the message itself, its attributes as SQS message attributes.
    let raw_messages = sandbox.peek("raw-inbox").unwrap();
    assert_eq!(raw_messages.len(), 2);
    assert_eq!(raw_messages[0]["body"], r#"{"total":50}"#);
    assert_eq!(
        raw_messages[0]["attributes"]["color"]["string_value"],
        "blue"
    );
    // The filter let only the big total through, in the envelope.
    let filtered_bodies = bodies(&sandbox, "audit-log");
    assert_eq!(filtered_bodies.len(), 1);
    assert_eq!(filtered_bodies[0]["Message"], r#"{"total":500}"#);

    // Subscribing the same endpoint with other attributes is refused.
    let err = rt
        .block_on(
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(queue_arn("raw-inbox"))
                .attributes("RawMessageDelivery", "false")
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameter");
    // Endpoints the sandbox cannot deliver to are refused with a reason.
    for (protocol, endpoint) in [
        ("http", "http://example.com/hook"),
        ("email", "a@example.com"),
        ("carrier-pigeon", "x"),
        ("sqs", "arn:aws:sqs:us-east-1:123456789012:no-such-queue"),
        ("sqs", "jobs"),
        (
            "lambda",
            "arn:aws:lambda:us-east-1:123456789012:function:no-such-fn",
        ),
    ] {
        let err = rt
            .block_on(
                sns.subscribe()
                    .topic_arn(&topic)
                    .protocol(protocol)
                    .endpoint(endpoint)
                    .send(),
            )
            .unwrap_err();
        assert_eq!(aws::code(&err), "InvalidParameter", "{protocol} {endpoint}");
    }
    let err = rt
        .block_on(
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("http")
                .endpoint("http://example.com/hook")
                .send(),
        )
        .unwrap_err();
    let message = err
        .as_service_error()
        .and_then(|e| e.meta().message())
        .unwrap_or_default();
    assert!(
        message.contains("sqs") && message.contains("lambda"),
        "{message}"
    );
}

#[test]
fn a_lambda_subscription_runs_the_apps_function_with_the_sns_event() {
    let sandbox = common::manual("events");
    let rt = aws::runtime();
    let sns = aws::sns(&sandbox);
    let topic = rt
        .block_on(sns.create_topic().name("signups").send())
        .unwrap()
        .topic_arn
        .unwrap();
    let subscription = rt
        .block_on(
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("lambda")
                .endpoint("arn:aws:lambda:us-east-1:123456789012:function:events-audit")
                .send(),
        )
        .unwrap()
        .subscription_arn
        .unwrap();
    let published = rt
        .block_on(
            sns.publish()
                .topic_arn(&topic)
                .message(r#"{"default": "for everyone", "lambda": "for functions"}"#)
                .message_structure("json")
                .send(),
        )
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    let got = common::events(&sandbox, "events/audit");
    assert_eq!(got.len(), 1);
    let record = &got[0]["Records"][0];
    assert_eq!(record["EventSource"], "aws:sns");
    assert_eq!(record["EventSubscriptionArn"], subscription.as_str());
    assert_eq!(record["Sns"]["MessageId"], published.message_id().unwrap());
    assert_eq!(record["Sns"]["TopicArn"], topic.as_str());
    assert_eq!(record["Sns"]["Message"], "for functions");
    assert_eq!(
        record["Sns"]["UnsubscribeUrl"],
        format!(
            "{}/?Action=Unsubscribe&SubscriptionArn={subscription}",
            sandbox.base_url()
        )
    );
    let attributes = rt
        .block_on(
            sns.get_subscription_attributes()
                .subscription_arn(&subscription)
                .send(),
        )
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    assert_eq!(attributes["Protocol"], "lambda");
    assert_eq!(
        attributes["Endpoint"],
        "arn:aws:lambda:us-east-1:123456789012:function:events-audit"
    );
    // Lambda subscriptions have no raw delivery.
    let err = rt
        .block_on(
            sns.set_subscription_attributes()
                .subscription_arn(&subscription)
                .attribute_name("RawMessageDelivery")
                .attribute_value("true")
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameter");
}

#[test]
fn a_fifo_topic_delivers_in_order_to_a_fifo_queue_and_deduplicates() {
    let sandbox = common::manual("events");
    let rt = aws::runtime();
    let sns = aws::sns(&sandbox);
    let topic = rt
        .block_on(
            sns.create_topic()
                .name("made.fifo")
                .attributes("FifoTopic", "true")
                .attributes("ContentBasedDeduplication", "true")
                .send(),
        )
        .unwrap()
        .topic_arn
        .unwrap();
    let attributes = rt
        .block_on(sns.get_topic_attributes().topic_arn(&topic).send())
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    assert_eq!(attributes["FifoTopic"], "true");
    assert_eq!(attributes["ContentBasedDeduplication"], "true");
    // A standard queue cannot subscribe a FIFO topic here; the FIFO queue can.
    let err = rt
        .block_on(
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(queue_arn("inbox"))
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameter");
    rt.block_on(
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(queue_arn("jobs.fifo"))
            .send(),
    )
    .unwrap();
    // A FIFO publish needs a group id.
    let err = rt
        .block_on(sns.publish().topic_arn(&topic).message("no group").send())
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameter");
    let first = rt
        .block_on(
            sns.publish()
                .topic_arn(&topic)
                .message("one")
                .message_group_id("g")
                .send(),
        )
        .unwrap();
    let sequence = first
        .sequence_number()
        .expect("FIFO topics answer a sequence number");
    assert_eq!(sequence.len(), 20);
    // The same body again is a duplicate (content-based deduplication): same ids.
    let duplicate = rt
        .block_on(
            sns.publish()
                .topic_arn(&topic)
                .message("one")
                .message_group_id("g")
                .send(),
        )
        .unwrap();
    assert_eq!(duplicate.message_id(), first.message_id());
    rt.block_on(
        sns.publish()
            .topic_arn(&topic)
            .message("two")
            .message_group_id("g")
            .message_deduplication_id("d2")
            .send(),
    )
    .unwrap();
    sandbox.drain(DRAIN).unwrap();
    let got = common::events(&sandbox, "queues/jobs.fifo");
    let messages: Vec<String> = got
        .iter()
        .flat_map(|e| e["Records"].as_array().unwrap().clone())
        .map(|r| {
            let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
            body["Message"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(messages, ["one", "two"]);
}

#[test]
fn publish_batch_answers_per_entry_and_refuses_bad_batches() {
    let sandbox = common::manual("events");
    let rt = aws::runtime();
    let sns = aws::sns(&sandbox);
    let topic = format!("{ARN}:orders-raw");
    let answer = rt
        .block_on(
            sns.publish_batch()
                .topic_arn(&topic)
                .publish_batch_request_entries(entry("a", "first"))
                .publish_batch_request_entries(entry("b", ""))
                .publish_batch_request_entries(
                    PublishBatchRequestEntry::builder()
                        .id("c")
                        .message("third")
                        .message_attributes("k", string_attribute("v"))
                        .build()
                        .unwrap(),
                )
                .send(),
        )
        .unwrap();
    let ok: Vec<&str> = answer.successful().iter().filter_map(|s| s.id()).collect();
    assert_eq!(ok, ["a", "c"]);
    assert!(answer.successful().iter().all(|s| s.message_id().is_some()));
    let failed = answer.failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id(), "b");
    assert_eq!(failed[0].code(), "InvalidParameter");
    assert!(failed[0].sender_fault());
    let delivered: Vec<Value> = sandbox.peek("raw-inbox").unwrap();
    let bodies: Vec<&str> = delivered
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["first", "third"]);

    let batch = |entries: Vec<PublishBatchRequestEntry>| {
        let err = rt
            .block_on(
                sns.publish_batch()
                    .topic_arn(&topic)
                    .set_publish_batch_request_entries(Some(entries))
                    .send(),
            )
            .unwrap_err();
        aws::code(&err)
    };
    assert_eq!(batch(vec![]), "EmptyBatchRequest");
    let eleven = (0..11).map(|i| entry(&format!("e{i}"), "m")).collect();
    assert_eq!(batch(eleven), "TooManyEntriesInBatchRequest");
    assert_eq!(
        batch(vec![entry("x", "1"), entry("x", "2")]),
        "BatchEntryIdsNotDistinct"
    );
    assert_eq!(batch(vec![entry("bad id!", "1")]), "InvalidBatchEntryId");
    let err = rt
        .block_on(
            sns.publish_batch()
                .topic_arn(format!("{ARN}:missing"))
                .publish_batch_request_entries(entry("a", "m"))
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "NotFound");
}

#[test]
fn handlers_and_the_control_api_reach_api_made_topics() {
    let sandbox = common::manual("events");
    let rt = aws::runtime();
    let topic = aws::topic_to_queue(&rt, &sandbox, "made", &queue_arn("inbox"), &[]);
    let sns = aws::sns(&sandbox);
    // The control API's publish (the same path handlers' topics.Publish takes).
    let receipt = sandbox.publish("made", "from the control api").unwrap();
    assert_eq!(receipt["queues"], json!(["inbox"]));
    let got = bodies(&sandbox, "inbox");
    assert_eq!(got[0]["Message"], "from the control api");
    assert_eq!(got[0]["TopicArn"], topic.as_str());
    // A manifest topic's subscriptions are listed with their attributes too.
    let listed = rt
        .block_on(
            sns.list_subscriptions_by_topic()
                .topic_arn(format!("{ARN}:big-orders"))
                .send(),
        )
        .unwrap();
    let manifest_sub = listed.subscriptions()[0]
        .subscription_arn()
        .unwrap()
        .to_string();
    let attributes = rt
        .block_on(
            sns.get_subscription_attributes()
                .subscription_arn(&manifest_sub)
                .send(),
        )
        .unwrap();
    let attributes: HashMap<String, String> = attributes.attributes().unwrap().clone();
    assert_eq!(attributes["Protocol"], "lambda");
    assert_eq!(attributes["FilterPolicyScope"], "MessageBody");
    assert!(attributes["FilterPolicy"].contains("numeric"));
}

#[test]
fn a_manifest_topic_deleted_through_the_api_comes_back_with_its_handler() {
    let sandbox = common::manual("events");
    let rt = aws::runtime();
    let sns = aws::sns(&sandbox);
    let orders = format!("{ARN}:orders");
    rt.block_on(sns.delete_topic().topic_arn(&orders).send())
        .unwrap();
    let err = rt
        .block_on(sns.publish().topic_arn(&orders).message("gone").send())
        .unwrap_err();
    assert_eq!(aws::code(&err), "NotFound");
    assert!(sandbox
        .topics()
        .unwrap()
        .iter()
        .all(|t| t["name"] != "orders"));
    rt.block_on(sns.create_topic().name("orders").send())
        .unwrap();
    rt.block_on(sns.publish().topic_arn(&orders).message("back").send())
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    let got = common::events(&sandbox, "events/orders");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["Records"][0]["Sns"]["Message"], "back");
    assert_eq!(bodies(&sandbox, "inbox")[0]["Message"], "back");
}

#[test]
fn api_made_topics_and_subscriptions_survive_a_hot_reload() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&common::fixture("events"), dir.path());
    let sandbox = sandbox_testing::Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .manual_clock()
        .start()
        .unwrap();
    let rt = aws::runtime();
    let sns = aws::sns(&sandbox);
    let made = rt
        .block_on(sns.create_topic().name("made").send())
        .unwrap()
        .topic_arn
        .unwrap();
    for topic in [made.clone(), format!("{ARN}:orders")] {
        rt.block_on(
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(queue_arn("raw-inbox"))
                .attributes("RawMessageDelivery", "true")
                .send(),
        )
        .unwrap();
    }
    // Edit the manifest: a new topic, so the topics are rebuilt from it.
    let manifest = dir.path().join("app.arc");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let edited = text.replace("@queues\n", "added\n\n@queues\n");
    assert_ne!(edited, text);
    common::replace(&manifest, &edited);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !sandbox
        .topics()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "added")
    {
        assert!(std::time::Instant::now() < deadline, "{}", sandbox.output());
        std::thread::sleep(Duration::from_millis(50));
    }
    // Both API subscriptions still deliver.
    for topic in [made.clone(), format!("{ARN}:orders")] {
        rt.block_on(
            sns.publish()
                .topic_arn(&topic)
                .message("after reload")
                .send(),
        )
        .unwrap();
    }
    sandbox.drain(DRAIN).unwrap();
    let raw = sandbox.peek("raw-inbox").unwrap();
    assert_eq!(raw.len(), 2, "{raw:?}");
    assert!(raw.iter().all(|m| m["body"] == "after reload"));
    let listed = rt.block_on(sns.list_topics().send()).unwrap();
    assert!(listed
        .topics()
        .iter()
        .any(|t| t.topic_arn() == Some(made.as_str())));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
