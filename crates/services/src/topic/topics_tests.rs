//! Unit tests for [`Topics`]: fan-out and filtering, delivery bodies, the Lambda event,
//! FIFO rules, and the retry schedule on an explicit clock.

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::queue::MessageAttribute;
use crate::topic::patterns::Scope;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + TimeDelta::seconds(seconds)
}

fn sub(id: &str, target: SubTarget) -> SubscriptionConfig {
    SubscriptionConfig::new(id, target)
}

fn queue(name: &str) -> SubTarget {
    SubTarget::Queue(name.to_string())
}

fn function(name: &str) -> SubTarget {
    SubTarget::Function(name.to_string())
}

fn policy(value: serde_json::Value, scope: Scope) -> Option<FilterPolicy> {
    Some(FilterPolicy::compile(&value, scope).expect("valid policy"))
}

fn topic(name: &str, subscriptions: Vec<SubscriptionConfig>) -> TopicConfig {
    TopicConfig {
        fifo: name.ends_with(".fifo"),
        subscriptions,
        ..TopicConfig::new(name)
    }
}

fn topics(configs: Vec<TopicConfig>) -> Topics {
    Topics::new(configs).expect("valid topics")
}

fn with_attribute(mut req: PublishRequest, name: &str, a: AttributeValue) -> PublishRequest {
    req.attributes.insert(name.to_string(), a);
    req
}

#[test]
fn fan_out_applies_attribute_and_body_filter_policies() {
    let mut red = sub("s-red", queue("reds"));
    red.filter_policy = policy(json!({"color": ["red"]}), Scope::MessageAttributes);
    let mut blue = sub("s-blue", queue("blues"));
    blue.filter_policy = policy(json!({"color": ["blue"]}), Scope::MessageAttributes);
    let mut orders = sub("s-orders", function("on-order"));
    orders.filter_policy = policy(json!({"kind": ["order"]}), Scope::MessageBody);
    let mut refunds = sub("s-refunds", function("on-refund"));
    refunds.filter_policy = policy(json!({"kind": ["refund"]}), Scope::MessageBody);
    let mut t = topics(vec![topic(
        "events",
        vec![sub("s-all", queue("all")), red, blue, orders, refunds],
    )]);

    let req = with_attribute(
        PublishRequest::new(r#"{"kind":"order","id":7}"#),
        "color",
        AttributeValue::string("red"),
    );
    let receipt = t.publish("events", req, at(0)).expect("published");
    let queues: Vec<&str> = receipt
        .queue_sends
        .iter()
        .map(|s| s.queue.as_str())
        .collect();
    assert_eq!(queues, ["all", "reds"]);
    assert_eq!(receipt.filtered, ["s-blue", "s-refunds"]);
    let due = t.due_deliveries(at(0));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].function, "on-order");
    assert_eq!(due[0].attempt, 1);

    // A body-scope policy never matches a body that is not JSON.
    let receipt = t
        .publish("events", PublishRequest::new("plain text"), at(1))
        .expect("published");
    assert_eq!(receipt.queue_sends.len(), 1);
    assert_eq!(
        receipt.filtered,
        ["s-red", "s-blue", "s-orders", "s-refunds"]
    );

    let stats = t.stats("events").expect("known");
    assert_eq!(stats.published, 2);
    let by_id: BTreeMap<&str, &SubscriptionStats> = stats
        .subscriptions
        .iter()
        .map(|s| (s.id.as_str(), s))
        .collect();
    assert_eq!(by_id["s-all"].delivered, 2);
    assert_eq!(by_id["s-red"].delivered, 1);
    assert_eq!(by_id["s-red"].filtered, 1);
    assert_eq!(by_id["s-blue"].filtered, 2);
    assert_eq!(by_id["s-orders"].in_flight, 1);
    assert_eq!(by_id["s-orders"].filtered, 1);
    assert_eq!(by_id["s-refunds"].filtered, 2);
}

#[test]
fn queue_subscription_gets_the_envelope_with_aws_key_order() {
    let mut t = topics(vec![topic("news", vec![sub("0f1e", queue("inbox"))])]);
    let mut req = PublishRequest::new("hello");
    req.subject = Some("Greeting".into());
    req = with_attribute(req, "lang", AttributeValue::string("en"));
    let receipt = t.publish("news", req, at(5)).expect("published");
    let send = &receipt.queue_sends[0];
    let expected = format!(
        concat!(
            r#"{{"Type":"Notification","MessageId":"{id}","TopicArn":"arn:aws:sns:us-east-1:123456789012:news","#,
            r#""Subject":"Greeting","Message":"hello","Timestamp":"2026-01-01T00:00:05.000Z","#,
            r#""SignatureVersion":"1","Signature":"{sig}","#,
            r#""SigningCertURL":"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sandbox-not-signed.pem","#,
            r#""UnsubscribeURL":"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:news:0f1e","#,
            r#""MessageAttributes":{{"lang":{{"Type":"String","Value":"en"}}}}}}"#
        ),
        id = receipt.message_id,
        sig = crate::topic::envelope::FAKE_SIGNATURE
    );
    assert_eq!(send.body, expected);
    assert!(send.attributes.is_empty());
    assert_eq!(send.sender_id, "arn:aws:sns:us-east-1:123456789012:news");

    // No subject and no attributes: both keys are left out.
    let receipt = t
        .publish("news", PublishRequest::new("bare"), at(6))
        .expect("published");
    let body: serde_json::Value = serde_json::from_str(&receipt.queue_sends[0].body).expect("json");
    assert!(body.get("Subject").is_none());
    assert!(body.get("MessageAttributes").is_none());
}

#[test]
fn raw_delivery_sends_the_message_and_converts_attributes() {
    let mut raw = sub("r", queue("raw"));
    raw.raw_message_delivery = true;
    let mut t = topics(vec![topic("news", vec![raw])]);
    let mut req = PublishRequest::new("just this");
    req = with_attribute(req, "s", AttributeValue::string("x"));
    req = with_attribute(req, "n", AttributeValue::new("Number", "42"));
    req = with_attribute(req, "b", AttributeValue::new("Binary", "aGk="));
    req = with_attribute(
        req,
        "a",
        AttributeValue::new("String.Array", r#"["x","y"]"#),
    );
    let receipt = t.publish("news", req, at(0)).expect("published");
    let send = receipt.queue_sends[0].clone();
    assert_eq!(send.body, "just this");
    assert_eq!(send.attributes["s"], MessageAttribute::string("x"));
    assert_eq!(send.attributes["n"], MessageAttribute::number("42"));
    assert_eq!(
        send.attributes["b"],
        MessageAttribute::binary(b"hi".to_vec())
    );
    assert_eq!(send.attributes["a"].data_type, "String.Array");
    assert_eq!(
        send.attributes["a"].string_value.as_deref(),
        Some(r#"["x","y"]"#)
    );
    let (queue, request) = send.into_request();
    assert_eq!(queue, "raw");
    assert_eq!(request.body, "just this");
    assert_eq!(request.attributes.len(), 4);
}

#[test]
fn lambda_event_is_byte_for_byte_what_sns_sends() {
    let mut t = topics(vec![topic(
        "orders",
        vec![sub(
            "2bcfbf39-05c5-4b64-9a43-48e2ab4ce0ed",
            function("ship"),
        )],
    )]);
    let req = with_attribute(
        PublishRequest::new("Hello from SNS!"),
        "Test",
        AttributeValue::string("TestString"),
    );
    let receipt = t.publish("orders", req, at(0)).expect("published");
    let due = t.due_deliveries(at(0));
    let expected = format!(
        concat!(
            r#"{{"Records":[{{"EventVersion":"1.0","#,
            r#""EventSubscriptionArn":"arn:aws:sns:us-east-1:123456789012:orders:2bcfbf39-05c5-4b64-9a43-48e2ab4ce0ed","#,
            r#""EventSource":"aws:sns","Sns":{{"Type":"Notification","MessageId":"{id}","#,
            r#""TopicArn":"arn:aws:sns:us-east-1:123456789012:orders","Subject":null,"#,
            r#""Message":"Hello from SNS!","Timestamp":"2026-01-01T00:00:00.000Z","#,
            r#""SignatureVersion":"1","Signature":"{sig}","#,
            r#""SigningCertUrl":"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sandbox-not-signed.pem","#,
            r#""UnsubscribeUrl":"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:orders:2bcfbf39-05c5-4b64-9a43-48e2ab4ce0ed","#,
            r#""MessageAttributes":{{"Test":{{"Type":"String","Value":"TestString"}}}}}}}}]}}"#
        ),
        id = receipt.message_id,
        sig = crate::topic::envelope::FAKE_SIGNATURE
    );
    assert_eq!(String::from_utf8_lossy(&due[0].event), expected);

    // Without attributes the record still has `"MessageAttributes":{}`.
    t.publish("orders", PublishRequest::new("x"), at(1))
        .expect("published");
    let due = t.due_deliveries(at(1));
    let event: serde_json::Value = serde_json::from_slice(&due[0].event).expect("json");
    assert_eq!(event["Records"][0]["Sns"]["MessageAttributes"], json!({}));
}

#[test]
fn fifo_topic_needs_a_group_and_deduplicates_for_five_minutes() {
    let mut config = topic("jobs.fifo", vec![sub("q", queue("jobs.fifo"))]);
    config.content_based_deduplication = true;
    let mut t = topics(vec![config]);

    let err = t.publish("jobs.fifo", PublishRequest::new("a"), at(0));
    assert_eq!(
        err,
        Err(PublishError::MissingGroupId {
            topic: "jobs.fifo".into()
        })
    );

    let grouped = |body: &str| PublishRequest {
        group_id: Some("g1".into()),
        ..PublishRequest::new(body)
    };
    let first = t.publish("jobs.fifo", grouped("a"), at(0)).expect("ok");
    assert!(!first.duplicate);
    let send = &first.queue_sends[0];
    assert_eq!(send.group_id.as_deref(), Some("g1"));
    // Content-based deduplication: the SHA-256 of the message, passed on to the queue.
    assert_eq!(
        send.dedup_id.as_deref(),
        Some("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb")
    );
    // The FIFO envelope carries the sequence number and no signature fields.
    let body: serde_json::Value = serde_json::from_str(&send.body).expect("json");
    assert_eq!(
        body["SequenceNumber"].as_str(),
        first.sequence_number.as_deref()
    );
    assert!(body.get("Signature").is_none());
    assert!(body.get("SigningCertURL").is_none());
    assert!(body.get("UnsubscribeURL").is_some());

    let second = t.publish("jobs.fifo", grouped("b"), at(1)).expect("ok");
    assert!(second.sequence_number > first.sequence_number);
    assert_eq!(second.sequence_number.as_deref().map(str::len), Some(20));

    let again = t.publish("jobs.fifo", grouped("a"), at(299)).expect("ok");
    assert!(again.duplicate);
    assert_eq!(again.message_id, first.message_id);
    assert_eq!(again.sequence_number, first.sequence_number);
    assert!(again.queue_sends.is_empty());

    let later = t.publish("jobs.fifo", grouped("a"), at(300)).expect("ok");
    assert!(!later.duplicate);
    assert_ne!(later.message_id, first.message_id);
    assert_eq!(t.stats("jobs.fifo").expect("known").duplicates, 1);
}

#[test]
fn fifo_without_content_dedup_needs_an_id_and_standard_refuses_one() {
    let mut t = topics(vec![topic("jobs.fifo", vec![]), topic("plain", vec![])]);
    let req = PublishRequest {
        group_id: Some("g".into()),
        ..PublishRequest::new("a")
    };
    assert_eq!(
        t.publish("jobs.fifo", req.clone(), at(0)),
        Err(PublishError::MissingDedupId {
            topic: "jobs.fifo".into()
        })
    );
    let with_id = PublishRequest {
        dedup_id: Some("d-1".into()),
        ..req
    };
    assert!(t.publish("jobs.fifo", with_id.clone(), at(0)).is_ok());
    assert_eq!(
        t.publish("plain", with_id, at(0)),
        Err(PublishError::DedupIdOnStandard {
            topic: "plain".into()
        })
    );
}

#[test]
fn function_failures_retry_after_one_then_two_minutes_then_dead_letter() {
    let mut s = sub("s1", function("flaky"));
    s.dead_letter_queue = Some("dead".into());
    let mut t = topics(vec![topic("alerts", vec![s])]);
    let receipt = t
        .publish("alerts", PublishRequest::new("boom"), at(0))
        .expect("ok");
    assert_eq!(receipt.function_deliveries.len(), 1);
    let pending = |t: &Topics, now| {
        let p = &t.pending(now)[0];
        (p.due_now, p.scheduled_later)
    };
    assert_eq!(pending(&t, at(0)), (1, 0));
    assert_eq!(t.next_change(at(0)), Some(at(0)));

    let first = t.due_deliveries(at(0));
    assert_eq!(first[0].attempt, 1);
    assert_eq!(pending(&t, at(0)), (0, 0));
    assert_eq!(t.next_change(at(0)), None);
    assert_eq!(
        t.complete(first[0].id, false, at(2)),
        Ok(DeliveryOutcome::Retrying {
            attempts: 1,
            at: at(62)
        })
    );
    assert_eq!(pending(&t, at(2)), (0, 1));
    assert_eq!(t.next_change(at(2)), Some(at(62)));
    assert!(t.due_deliveries(at(61)).is_empty());

    let second = t.due_deliveries(at(62));
    assert_eq!(second[0].attempt, 2);
    assert_eq!(second[0].event, first[0].event);
    assert_eq!(
        t.complete(second[0].id, false, at(63)),
        Ok(DeliveryOutcome::Retrying {
            attempts: 2,
            at: at(183)
        })
    );
    assert!(t.due_deliveries(at(182)).is_empty());
    let third = t.due_deliveries(at(183));
    assert_eq!(third[0].attempt, 3);
    assert_eq!(
        t.stats("alerts").expect("known").subscriptions[0].in_flight,
        1
    );

    let outcome = t.complete(third[0].id, false, at(184)).expect("known id");
    let DeliveryOutcome::DeadLettered { send, failure } = outcome else {
        panic!("expected a dead letter, got {outcome:?}");
    };
    assert_eq!(send.queue, "dead");
    let body: serde_json::Value = serde_json::from_str(&send.body).expect("envelope");
    assert_eq!(body["Message"], "boom");
    assert_eq!(
        body["MessageId"].as_str(),
        Some(receipt.message_id.as_str())
    );
    assert_eq!(failure.attempts, 3);
    assert_eq!(failure.dead_letter_queue.as_deref(), Some("dead"));
    assert_eq!(pending(&t, at(184)), (0, 0));
    assert_eq!(t.next_change(at(184)), None);

    let stats = t.stats("alerts").expect("known");
    assert_eq!(stats.subscriptions[0].failed, 1);
    assert_eq!(stats.subscriptions[0].dead_lettered, 1);
    assert_eq!(stats.recent_failures, vec![failure]);
    // The id is spent.
    assert_eq!(
        t.complete(third[0].id, true, at(185)),
        Err(CompleteError::Unknown { id: third[0].id })
    );
}

#[test]
fn failure_without_dead_letter_queue_is_recorded_not_dropped() {
    let mut t = topics(vec![topic("alerts", vec![sub("s1", function("flaky"))])]);
    t.publish("alerts", PublishRequest::new("boom"), at(0))
        .expect("ok");
    let mut now = at(0);
    let mut outcome = None;
    for _ in 0..3 {
        let due = t.due_deliveries(now);
        assert_eq!(due.len(), 1);
        outcome = Some(t.complete(due[0].id, false, now).expect("known"));
        now = t.next_change(now).unwrap_or(now);
    }
    let Some(DeliveryOutcome::Failed(failure)) = outcome else {
        panic!("expected a permanent failure, got {outcome:?}");
    };
    assert_eq!(failure.function, "flaky");
    assert_eq!(failure.attempts, 3);
    assert_eq!(failure.dead_letter_queue, None);
    let stats = t.stats("alerts").expect("known");
    assert_eq!(stats.subscriptions[0].failed, 1);
    assert_eq!(stats.subscriptions[0].dead_lettered, 0);
    assert_eq!(stats.recent_failures.len(), 1);
}

#[test]
fn success_on_a_retry_counts_as_delivered() {
    let mut t = topics(vec![topic("alerts", vec![sub("s1", function("f"))])]);
    t.publish("alerts", PublishRequest::new("m"), at(0))
        .expect("ok");
    let d = t.due_deliveries(at(0));
    assert_eq!(
        t.complete(d[0].id, true, at(0)),
        Ok(DeliveryOutcome::Delivered)
    );
    let stats = t.stats("alerts").expect("known");
    assert_eq!(stats.subscriptions[0].delivered, 1);
    assert_eq!(
        t.complete(99, true, at(0)),
        Err(CompleteError::Unknown { id: 99 })
    );
    t.publish("alerts", PublishRequest::new("m2"), at(0))
        .expect("ok");
    // Not handed out yet.
    assert!(matches!(
        t.complete(2, true, at(0)),
        Err(CompleteError::NotInFlight { .. })
    ));
}

#[test]
fn unknown_topic_lists_the_known_ones() {
    let mut t = topics(vec![topic("a", vec![]), topic("b", vec![])]);
    let err = t
        .publish("c", PublishRequest::new("m"), at(0))
        .expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "there is no topic named `c` (topics: a, b)"
    );
    assert!(t.stats("c").is_err());
}

#[test]
fn publish_validation() {
    let mut t = topics(vec![topic("t", vec![])]);
    let publish = |t: &mut Topics, req| t.publish("t", req, at(0));
    assert!(matches!(
        publish(&mut t, PublishRequest::new("")),
        Err(PublishError::EmptyMessage { .. })
    ));
    let long_subject = PublishRequest {
        subject: Some("s".repeat(101)),
        ..PublishRequest::new("m")
    };
    assert!(matches!(
        publish(&mut t, long_subject),
        Err(PublishError::InvalidSubject { .. })
    ));
    let line_break = PublishRequest {
        subject: Some("a\nb".into()),
        ..PublishRequest::new("m")
    };
    assert!(matches!(
        publish(&mut t, line_break),
        Err(PublishError::InvalidSubject { .. })
    ));
    let ok_subject = PublishRequest {
        subject: Some("s".repeat(100)),
        ..PublishRequest::new("m")
    };
    assert!(publish(&mut t, ok_subject).is_ok());
    assert!(matches!(
        publish(
            &mut t,
            PublishRequest::new("x".repeat(MAX_MESSAGE_BYTES + 1))
        ),
        Err(PublishError::TooLarge { .. })
    ));
    assert!(publish(&mut t, PublishRequest::new("x".repeat(MAX_MESSAGE_BYTES))).is_ok());
    let bad_number = with_attribute(
        PublishRequest::new("m"),
        "n",
        AttributeValue::new("Number", "abc"),
    );
    assert!(matches!(
        publish(&mut t, bad_number),
        Err(PublishError::Attribute { .. })
    ));
    let bad_type = with_attribute(
        PublishRequest::new("m"),
        "n",
        AttributeValue::new("Text", "abc"),
    );
    assert!(matches!(
        publish(&mut t, bad_type),
        Err(PublishError::Attribute { .. })
    ));
}

#[test]
fn queue_kinds_must_match_the_topic() {
    let mut s = sub("s", queue("std"));
    s.dead_letter_queue = Some("missing".into());
    let t = topics(vec![
        topic("jobs.fifo", vec![sub("f", queue("std"))]),
        topic("plain", vec![s, sub("g", queue("q.fifo"))]),
    ]);
    let problems = t.check_queues(|q| match q {
        "std" => Some(false),
        "q.fifo" => Some(true),
        _ => None,
    });
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("FIFO topic"));
    assert!(problems[1].contains("`missing` is not a queue"));
    assert!(problems[2].contains("standard queue"));
}

#[test]
fn config_errors_and_reload() {
    assert_eq!(
        Topics::new(vec![topic("a", vec![]), topic("a", vec![])]).err(),
        Some(ConfigError::DuplicateTopic("a".into()))
    );
    assert!(matches!(
        Topics::new(vec![topic(
            "a",
            vec![sub("x", queue("q")), sub("x", queue("r"))]
        )]),
        Err(ConfigError::DuplicateSubscription { .. })
    ));

    let mut t = topics(vec![topic(
        "a",
        vec![sub("keep", queue("q")), sub("gone", function("f"))],
    )]);
    t.publish("a", PublishRequest::new("m"), at(0)).expect("ok");
    let dropped = t
        .replace_configs(vec![topic("a", vec![sub("keep", queue("q"))])])
        .expect("valid");
    assert_eq!(dropped, 1);
    let stats = t.stats("a").expect("known");
    assert_eq!(stats.published, 1);
    assert_eq!(stats.subscriptions.len(), 1);
    assert_eq!(stats.subscriptions[0].delivered, 1);
    assert!(t.due_deliveries(at(0)).is_empty());
}

#[test]
fn fifo_lambda_event_has_a_sequence_number_and_no_signature() {
    let mut config = topic("jobs.fifo", vec![sub("s", function("f"))]);
    config.content_based_deduplication = true;
    let mut t = topics(vec![config]);
    let req = PublishRequest {
        group_id: Some("g".into()),
        ..PublishRequest::new("m")
    };
    let receipt = t.publish("jobs.fifo", req, at(0)).expect("ok");
    let due = t.due_deliveries(at(0));
    let event: serde_json::Value = serde_json::from_slice(&due[0].event).expect("json");
    let sns = &event["Records"][0]["Sns"];
    assert_eq!(
        sns["SequenceNumber"].as_str(),
        receipt.sequence_number.as_deref()
    );
    assert!(sns.get("Signature").is_none());
    assert!(sns.get("SigningCertUrl").is_none());
    assert!(sns["UnsubscribeUrl"].is_string());
}

#[test]
fn has_due_agrees_with_the_drain_report() {
    let mut t = topics(vec![topic("alerts", vec![sub("s1", function("flaky"))])]);
    let agrees = |t: &Topics, now| {
        let report = t.pending(now).iter().any(|p| p.due_now > 0);
        assert_eq!(t.has_due(now), report, "at {now}");
        report
    };
    assert!(!agrees(&t, at(0)));
    t.publish("alerts", PublishRequest::new("boom"), at(0))
        .expect("ok");
    assert!(agrees(&t, at(0)));
    let first = t.due_deliveries(at(0));
    assert!(!agrees(&t, at(0)));
    t.complete(first[0].id, false, at(2)).expect("settled");
    assert!(!agrees(&t, at(61)));
    assert!(agrees(&t, at(62)));
}

#[test]
fn the_unsubscribe_url_names_the_endpoint_that_was_set() {
    let mut t = topics(vec![topic("news", vec![sub("0f1e", queue("inbox"))])]);
    t.set_endpoint("http://127.0.0.1:3333");
    let receipt = t.publish("news", PublishRequest::new("hi"), at(0)).unwrap();
    let body: serde_json::Value = serde_json::from_str(&receipt.queue_sends[0].body).unwrap();
    assert_eq!(
        body["UnsubscribeURL"],
        "http://127.0.0.1:3333/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:news:0f1e"
    );
}

#[test]
fn topics_and_subscriptions_are_created_and_removed_at_run_time() {
    let mut t = topics(vec![]);
    t.create(topic("made", vec![])).unwrap();
    assert_eq!(
        t.create(topic("made", vec![])),
        Err(ConfigError::DuplicateTopic("made".into()))
    );
    t.subscribe("made", sub("a", function("f"))).unwrap();
    t.subscribe("made", sub("b", queue("q"))).unwrap();
    assert!(t.subscribe("made", sub("a", queue("q"))).is_err());
    assert_eq!(
        t.subscribe("nope", sub("c", queue("q"))),
        Err(ConfigError::UnknownTopic("nope".into()))
    );
    let receipt = t.publish("made", PublishRequest::new("m"), at(0)).unwrap();
    assert_eq!(receipt.queue_sends.len(), 1);
    assert_eq!(receipt.function_deliveries.len(), 1);
    // Unsubscribing drops the outstanding function delivery and counts the removal.
    assert!(t.unsubscribe("made", "a").is_some());
    assert!(t.unsubscribe("made", "a").is_none());
    assert_eq!(t.unsubscribed("made"), 1);
    assert!(t.due_deliveries(at(0)).is_empty());
    t.subscription_mut("made", "b")
        .unwrap()
        .raw_message_delivery = true;
    let receipt = t
        .publish("made", PublishRequest::new("raw"), at(1))
        .unwrap();
    assert_eq!(receipt.queue_sends[0].body, "raw");
    assert!(t.delete("made").is_some());
    assert!(t.publish("made", PublishRequest::new("m"), at(2)).is_err());
}

#[test]
fn a_reload_keeps_what_the_api_made() {
    let mut t = topics(vec![topic("declared", vec![sub("m", queue("q"))])]);
    let mut made = topic("made", vec![]);
    made.from_api = true;
    t.create(made).unwrap();
    let mut api_sub = sub("api", queue("other"));
    api_sub.from_api = true;
    t.subscribe("declared", api_sub.clone()).unwrap();
    t.subscribe("made", api_sub).unwrap();
    t.config_mut("declared")
        .unwrap()
        .attributes
        .insert("DisplayName".into(), "D".into());
    t.publish("declared", PublishRequest::new("x"), at(0))
        .unwrap();

    // The manifest now declares `declared` with another subscription.
    t.replace_configs(vec![topic("declared", vec![sub("m2", queue("q"))])])
        .unwrap();
    assert_eq!(t.names(), vec!["declared".to_string(), "made".to_string()]);
    let ids: Vec<_> = t
        .config("declared")
        .unwrap()
        .subscriptions
        .iter()
        .map(|s| s.id.clone())
        .collect();
    assert_eq!(ids, vec!["m2".to_string(), "api".to_string()]);
    assert_eq!(t.config("declared").unwrap().attributes["DisplayName"], "D");
    assert_eq!(t.stats("declared").unwrap().published, 1);
    let stats = t.stats("declared").unwrap();
    assert_eq!(
        stats.subscriptions[1].delivered, 1,
        "the API subscription keeps its count"
    );
    assert_eq!(t.config("made").unwrap().subscriptions.len(), 1);

    // A manifest that declares an API-made topic takes it over: removed with the manifest.
    t.replace_configs(vec![topic("made", vec![])]).unwrap();
    assert_eq!(t.config("made").unwrap().subscriptions.len(), 1);
    t.replace_configs(vec![]).unwrap();
    assert!(t.names().is_empty());
}

#[test]
fn a_json_message_structure_gives_each_protocol_its_message() {
    let mut t = topics(vec![topic(
        "t",
        vec![sub("q", queue("q")), sub("f", function("f"))],
    )]);
    let mut req = PublishRequest::new("default");
    req.per_protocol
        .insert("lambda".into(), "for lambda".into());
    let receipt = t.publish("t", req, at(0)).unwrap();
    let body: serde_json::Value = serde_json::from_str(&receipt.queue_sends[0].body).unwrap();
    assert_eq!(body["Message"], "default");
    let due = t.due_deliveries(at(0));
    let event: serde_json::Value = serde_json::from_slice(&due[0].event).unwrap();
    assert_eq!(event["Records"][0]["Sns"]["Message"], "for lambda");
}
