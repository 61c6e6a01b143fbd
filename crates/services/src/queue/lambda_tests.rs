//! Unit tests for the SQS event JSON and the partial batch response rules.

use super::*;
use crate::queue::message::{Message, MessageAttribute, MessageAttributes};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

fn millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn delivery(id: &str, body: &str, attributes: MessageAttributes) -> Delivery {
    let mut message = Message::new(
        body.into(),
        attributes,
        "AIDAIO23YVJENQZJOL4VO".into(),
        millis(1_573_251_510_774),
    );
    message.id = id.into();
    message.receive_count = 1;
    message.first_received_at = Some(millis(1_573_251_510_774));
    Delivery {
        message,
        receipt_handle: "AQEBBX8nesZEXmkhsmZeyIE8iQAMig7qw".into(),
    }
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn queue_arn_format() {
    assert_eq!(
        queue_arn("orders", "us-east-1", "123456789012"),
        "arn:aws:sqs:us-east-1:123456789012:orders"
    );
}

#[test]
fn standard_event_shape() {
    let mut attributes = MessageAttributes::new();
    attributes.insert(
        "attribName1".into(),
        MessageAttribute::string("attribValue 1"),
    );
    attributes.insert("blob".into(), MessageAttribute::binary(b"hi".to_vec()));
    let mut d = delivery(
        "059f36b4-87a3-44ab-83d2-661975830a7d",
        "Message Body",
        attributes,
    );
    d.message.receive_count = 2;
    d.message.sent_at = millis(1_520_621_625_029);
    d.message.first_received_at = Some(millis(1_520_621_634_884));
    d.message.sender_id = "AROAIWPX5BD2BHG722MW4:sender".into();
    d.receipt_handle = "MessageReceiptHandle".into();
    let md5_attrs = d
        .message
        .md5_of_message_attributes
        .clone()
        .expect("has attributes");
    let bytes = sqs_event(
        &[d],
        &queue_arn("SQSQueue", "us-west-2", "123456789012"),
        "us-west-2",
    );
    let got: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
    let want = json!({"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "MessageReceiptHandle",
        "body": "Message Body",
        "attributes": {
            "ApproximateReceiveCount": "2",
            "SentTimestamp": "1520621625029",
            "SenderId": "AROAIWPX5BD2BHG722MW4:sender",
            "ApproximateFirstReceiveTimestamp": "1520621634884"
        },
        "messageAttributes": {
            "attribName1": {"stringValue": "attribValue 1", "stringListValues": [],
                            "binaryListValues": [], "dataType": "String"},
            "blob": {"binaryValue": "aGk=", "stringListValues": [],
                     "binaryListValues": [], "dataType": "Binary"}
        },
        "md5OfBody": "77a3cf88eba293be44f5fd5c61835a43",
        "md5OfMessageAttributes": md5_attrs,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-west-2:123456789012:SQSQueue",
        "awsRegion": "us-west-2"
    }]});
    assert_eq!(got, want);
}

#[test]
fn fifo_event_shape_byte_for_byte() {
    // AWS's example FIFO event (Lambda developer guide), without attributes.
    let mut d = delivery(
        "11d6ee51-4cc7-4302-9e22-7cd8afdaadf5",
        "Test message.",
        MessageAttributes::new(),
    );
    d.message.sequence_number = Some("18849496460467696128".into());
    d.message.group_id = Some("1".into());
    d.message.dedup_id = Some("1".into());
    let bytes = sqs_event(
        &[d],
        "arn:aws:sqs:us-east-2:123456789012:fifo.fifo",
        "us-east-2",
    );
    let want = concat!(
        r#"{"Records":[{"messageId":"11d6ee51-4cc7-4302-9e22-7cd8afdaadf5","#,
        r#""receiptHandle":"AQEBBX8nesZEXmkhsmZeyIE8iQAMig7qw","body":"Test message.","#,
        r#""attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1573251510774","#,
        r#""SequenceNumber":"18849496460467696128","MessageGroupId":"1","#,
        r#""SenderId":"AIDAIO23YVJENQZJOL4VO","MessageDeduplicationId":"1","#,
        r#""ApproximateFirstReceiveTimestamp":"1573251510774"},"messageAttributes":{},"#,
        r#""md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3","eventSource":"aws:sqs","#,
        r#""eventSourceARN":"arn:aws:sqs:us-east-2:123456789012:fifo.fifo","#,
        r#""awsRegion":"us-east-2"}]}"#
    );
    assert_eq!(String::from_utf8_lossy(&bytes), want);
}

#[test]
fn dead_letter_source_arn_for_messages_read_from_a_dlq() {
    let mut d = delivery("m1", "x", MessageAttributes::new());
    d.message.dead_letter_source = Some("orders".into());
    let bytes = sqs_event(
        &[d],
        "arn:aws:sqs:us-east-1:123456789012:orders-dlq",
        "us-east-1",
    );
    let got: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(
        got["Records"][0]["attributes"]["DeadLetterQueueSourceArn"],
        "arn:aws:sqs:us-east-1:123456789012:orders"
    );
}

#[test]
fn empty_batch_is_an_empty_records_list() {
    assert_eq!(sqs_event(&[], "arn", "r"), br#"{"Records":[]}"#);
}

#[test]
fn function_failure_retries_all() {
    let batch = ids(&["a", "b"]);
    for report in [false, true] {
        let o = batch_outcome(None, &batch, report);
        assert_eq!(o.retry, batch);
        assert!(o.delete.is_empty());
        assert_eq!(o.warning, None);
    }
}

#[test]
fn success_without_report_deletes_all() {
    let batch = ids(&["a", "b"]);
    let o = batch_outcome(Some(b"\"ok\""), &batch, false);
    assert_eq!(
        (o.delete, o.retry, o.warning),
        (batch.clone(), vec![], None)
    );
    let o = batch_outcome(
        Some(br#"{"batchItemFailures":[{"itemIdentifier":"a"}]}"#),
        &batch,
        false,
    );
    assert_eq!(o.delete, batch);
    let warning = o.warning.expect("warns that the setting is off");
    assert!(
        warning.contains("ReportBatchItemFailures is off"),
        "{warning}"
    );
    let o = batch_outcome(Some(br#"{"batchItemFailures":[]}"#), &batch, false);
    assert_eq!(o.warning, None);
}

#[test]
fn complete_success_forms() {
    let batch = ids(&["a", "b"]);
    for output in [
        &b""[..],
        b"  \n",
        b"null",
        b"{}",
        br#"{"batchItemFailures":null}"#,
        br#"{"batchItemFailures":[]}"#,
        br#"{"statusCode":200}"#,
    ] {
        let o = batch_outcome(Some(output), &batch, true);
        assert_eq!(o.delete, batch, "{}", String::from_utf8_lossy(output));
        assert!(o.retry.is_empty());
        assert_eq!(o.warning, None);
    }
}

#[test]
fn partial_failure_retries_only_the_listed_ids() {
    let batch = ids(&["a", "b", "c", "d"]);
    let o = batch_outcome(
        Some(br#"{"batchItemFailures":[{"itemIdentifier":"d"},{"itemIdentifier":"b"},{"itemIdentifier":"b"}]}"#),
        &batch,
        true,
    );
    assert_eq!(o.retry, ids(&["b", "d"]));
    assert_eq!(o.delete, ids(&["a", "c"]));
    assert_eq!(o.warning, None);
}

#[test]
fn malformed_responses_fail_the_whole_batch() {
    let batch = ids(&["a", "b"]);
    for (output, why) in [
        (
            &br#"{"batchItemFailures":[{"itemIdentifier":""}]}"#[..],
            "empty itemIdentifier",
        ),
        (
            br#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
            "null itemIdentifier",
        ),
        (
            br#"{"batchItemFailures":[{"itemId":"a"}]}"#,
            "no `itemIdentifier` key (keys: itemId)",
        ),
        (
            br#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#,
            "`zzz`, which is not a message id of this batch",
        ),
        (
            br#"{"batchItemFailures":[{"itemIdentifier":1}]}"#,
            "got a number",
        ),
        (br#"{"batchItemFailures":["a"]}"#, "must be an object"),
        (br#"{"batchItemFailures":"a"}"#, "must be a list"),
        (b"{not json", "not valid JSON"),
    ] {
        let o = batch_outcome(Some(output), &batch, true);
        assert_eq!(o.retry, batch, "{}", String::from_utf8_lossy(output));
        assert!(o.delete.is_empty());
        let warning = o.warning.expect("a warning says why");
        assert!(warning.contains(why), "{warning} should mention {why}");
        assert!(warning.contains("whole batch is retried"), "{warning}");
    }
}

fn fifo_delivery(id: &str, group: &str) -> Delivery {
    let mut d = delivery(id, "x", MessageAttributes::new());
    d.message.group_id = Some(group.into());
    d
}

#[test]
fn fifo_outcome_retries_the_rest_of_a_failed_group() {
    let batch = vec![
        fifo_delivery("a1", "a"),
        fifo_delivery("b1", "b"),
        fifo_delivery("a2", "a"),
        fifo_delivery("a3", "a"),
        fifo_delivery("b2", "b"),
    ];
    // The handler reports only a2, although a3 comes after it in the same group.
    let o = batch_outcome_fifo(
        Some(br#"{"batchItemFailures":[{"itemIdentifier":"a2"}]}"#),
        &batch,
        true,
    );
    assert_eq!(o.delete, ids(&["a1", "b1", "b2"]));
    assert_eq!(o.retry, ids(&["a2", "a3"]));
    assert!(o.warning.expect("explains a3").contains("a3"));
    // Reporting the failed and the unprocessed messages, as AWS advises, needs no warning.
    let o = batch_outcome_fifo(
        Some(br#"{"batchItemFailures":[{"itemIdentifier":"a2"},{"itemIdentifier":"a3"}]}"#),
        &batch,
        true,
    );
    assert_eq!(o.retry, ids(&["a2", "a3"]));
    assert_eq!(o.warning, None);
    let o = batch_outcome_fifo(None, &batch, true);
    assert_eq!(o.retry.len(), 5);
}

#[test]
fn by_group_splits_in_order() {
    let batch = vec![
        fifo_delivery("a1", "a"),
        fifo_delivery("b1", "b"),
        fifo_delivery("a2", "a"),
        fifo_delivery("c1", "c"),
    ];
    let groups: Vec<Vec<String>> = by_group(batch)
        .into_iter()
        .map(|g| g.into_iter().map(|d| d.message.id).collect())
        .collect();
    assert_eq!(groups, [ids(&["a1", "a2"]), ids(&["b1"]), ids(&["c1"])]);
}
