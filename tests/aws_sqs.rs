//! End to end: the official Rust SDK for SQS against the sandbox's queues (AWS JSON 1.0),
//! and the seed's flow: a client outside the sandbox sends to a manifest queue and the
//! queue's handler runs.

use crate::common;

use std::time::Duration;

use crate::common::aws;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};

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

#[test]
fn queues_made_with_the_sdk_are_the_sandbox_s_queues() {
    let sandbox = common::manual("queues");
    let rt = aws::runtime();
    let sqs = aws::sqs(&sandbox);
    let url = rt
        .block_on(
            sqs.create_queue()
                .queue_name("made")
                .attributes(QueueAttributeName::DelaySeconds, "0")
                .attributes(QueueAttributeName::VisibilityTimeout, "5")
                .tags("team", "a")
                .send(),
        )
        .unwrap()
        .queue_url
        .unwrap();
    // Same attributes: the same queue; different ones: QueueNameExists.
    rt.block_on(
        sqs.create_queue()
            .queue_name("made")
            .attributes(QueueAttributeName::VisibilityTimeout, "5")
            .send(),
    )
    .unwrap();
    let err = rt
        .block_on(
            sqs.create_queue()
                .queue_name("made")
                .attributes(QueueAttributeName::VisibilityTimeout, "6")
                .send(),
        )
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_queue_name_exists()),
        "{err:?}"
    );

    // The control API sees it, and a message sent through the control API is received
    // through the SDK.
    assert!(sandbox
        .queues()
        .unwrap()
        .iter()
        .any(|q| q["name"] == "made"));
    sandbox.send("made", "via control").unwrap();
    let got = rt
        .block_on(
            sqs.receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send(),
        )
        .unwrap();
    let messages = got.messages.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body.as_deref(), Some("via control"));
    let attributes = messages[0].attributes.as_ref().unwrap();
    assert_eq!(
        attributes[&MessageSystemAttributeName::ApproximateReceiveCount],
        "1"
    );

    let attrs = rt
        .block_on(
            sqs.get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::All)
                .send(),
        )
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attrs[&QueueAttributeName::VisibilityTimeout], "5");
    assert_eq!(
        attrs[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible],
        "1"
    );
    assert_eq!(
        attrs[&QueueAttributeName::QueueArn],
        "arn:aws:sqs:us-east-1:123456789012:made"
    );
    let tags = rt
        .block_on(sqs.list_queue_tags().queue_url(&url).send())
        .unwrap()
        .tags
        .unwrap();
    assert_eq!(tags["team"], "a");
    rt.block_on(sqs.untag_queue().queue_url(&url).tag_keys("team").send())
        .unwrap();
    assert!(rt
        .block_on(sqs.list_queue_tags().queue_url(&url).send())
        .unwrap()
        .tags
        .is_none_or(|t| t.is_empty()));

    rt.block_on(sqs.delete_queue().queue_url(&url).send())
        .unwrap();
    assert!(!sandbox
        .queues()
        .unwrap()
        .iter()
        .any(|q| q["name"] == "made"));
    let err = rt
        .block_on(sqs.get_queue_url().queue_name("made").send())
        .unwrap_err();
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_queue_does_not_exist()));
}

#[test]
fn fifo_queues_follow_sqs_naming_rules() {
    let sandbox = common::manual("queues");
    let rt = aws::runtime();
    let sqs = aws::sqs(&sandbox);
    let err = rt
        .block_on(sqs.create_queue().queue_name("orders.fifo").send())
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameterValue");
    let url = rt
        .block_on(
            sqs.create_queue()
                .queue_name("orders2.fifo")
                .attributes(QueueAttributeName::FifoQueue, "true")
                .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
                .send(),
        )
        .unwrap()
        .queue_url
        .unwrap();
    let first = rt
        .block_on(
            sqs.send_message()
                .queue_url(&url)
                .message_body("a")
                .message_group_id("g")
                .send(),
        )
        .unwrap();
    let again = rt
        .block_on(
            sqs.send_message()
                .queue_url(&url)
                .message_body("a")
                .message_group_id("g")
                .send(),
        )
        .unwrap();
    assert_eq!(
        first.message_id, again.message_id,
        "deduplicated by content"
    );
    assert!(first.sequence_number.is_some());
    let err = rt
        .block_on(sqs.send_message().queue_url(&url).message_body("b").send())
        .unwrap_err();
    assert_eq!(aws::code(&err), "MissingParameter");
}

#[test]
fn receive_delete_visibility_and_batches() {
    let sandbox = common::manual("queues");
    let rt = aws::runtime();
    let sqs = aws::sqs(&sandbox);
    let url = rt
        .block_on(sqs.create_queue().queue_name("work").send())
        .unwrap()
        .queue_url
        .unwrap();
    let entries: Vec<_> = (0..3)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .message_body(format!("body {i}"))
                .message_attributes(
                    "color.primary",
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value("red")
                        .build()
                        .unwrap(),
                )
                .message_attributes(
                    "size",
                    MessageAttributeValue::builder()
                        .data_type("Number.int")
                        .string_value("3")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        })
        .collect();
    let sent = rt
        .block_on(
            sqs.send_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send(),
        )
        .unwrap();
    assert_eq!(sent.successful.len(), 3);
    assert!(sent.failed.is_empty());

    // `prefix.*` selects attributes by prefix; the SDK checks the MD5s it gets back.
    let got = rt
        .block_on(
            sqs.receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .message_attribute_names("color.*")
                .send(),
        )
        .unwrap()
        .messages
        .unwrap();
    assert_eq!(got.len(), 3);
    let attrs = got[0].message_attributes.as_ref().unwrap();
    assert!(attrs.contains_key("color.primary") && !attrs.contains_key("size"));

    // In flight: nothing more to receive; visibility 0 makes one visible again.
    let none = rt
        .block_on(sqs.receive_message().queue_url(&url).send())
        .unwrap();
    assert!(none.messages.is_none_or(|m| m.is_empty()));
    rt.block_on(
        sqs.change_message_visibility()
            .queue_url(&url)
            .receipt_handle(got[0].receipt_handle.as_deref().unwrap())
            .visibility_timeout(0)
            .send(),
    )
    .unwrap();
    let again = rt
        .block_on(sqs.receive_message().queue_url(&url).send())
        .unwrap()
        .messages
        .unwrap();
    assert_eq!(again[0].message_id, got[0].message_id);

    let deletes: Vec<_> = got[1..]
        .iter()
        .chain(&again)
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(m.receipt_handle.clone().unwrap())
                .build()
                .unwrap()
        })
        .collect();
    let deleted = rt
        .block_on(
            sqs.delete_message_batch()
                .queue_url(&url)
                .set_entries(Some(deletes))
                .send(),
        )
        .unwrap();
    assert_eq!(deleted.successful.len(), 3, "{:?}", deleted.failed);
    assert!(sandbox.peek("work").unwrap().is_empty());

    // Batch errors.
    let err = rt
        .block_on(
            sqs.send_message_batch()
                .queue_url(&url)
                .set_entries(Some(vec![]))
                .send(),
        )
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_empty_batch_request()),
        "{err:?}"
    );
    let twice: Vec<_> = (0..2)
        .map(|_| {
            SendMessageBatchRequestEntry::builder()
                .id("same")
                .message_body("x")
                .build()
                .unwrap()
        })
        .collect();
    let err = rt
        .block_on(
            sqs.send_message_batch()
                .queue_url(&url)
                .set_entries(Some(twice))
                .send(),
        )
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_batch_entry_ids_not_distinct()),
        "{err:?}"
    );
    let eleven: Vec<_> = (0..11)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body("x")
                .build()
                .unwrap()
        })
        .collect();
    let err = rt
        .block_on(
            sqs.send_message_batch()
                .queue_url(&url)
                .set_entries(Some(eleven))
                .send(),
        )
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_too_many_entries_in_batch_request()),
        "{err:?}"
    );
    let bad_id = SendMessageBatchRequestEntry::builder()
        .id("not ok!")
        .message_body("x")
        .build()
        .unwrap();
    let err = rt
        .block_on(
            sqs.send_message_batch()
                .queue_url(&url)
                .entries(bad_id)
                .send(),
        )
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_invalid_batch_entry_id()),
        "{err:?}"
    );
    let err = rt
        .block_on(
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle("garbage")
                .send(),
        )
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_receipt_handle_is_invalid()),
        "{err:?}"
    );
    let err = rt
        .block_on(
            sqs.receive_message()
                .queue_url(&url)
                .max_number_of_messages(11)
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameterValue");
}

#[test]
fn long_polling_returns_as_soon_as_a_message_arrives() {
    let sandbox = common::manual("queues");
    let rt = aws::runtime();
    let sqs = aws::sqs(&sandbox);
    let url = rt
        .block_on(sqs.create_queue().queue_name("waiting").send())
        .unwrap()
        .queue_url
        .unwrap();
    let started = std::time::Instant::now();
    let receive = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(20)
        .send();
    let send = async {
        // The receive is in flight once the sandbox has it; send from "elsewhere".
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqs.send_message()
            .queue_url(&url)
            .message_body("late")
            .send()
            .await
    };
    let (got, sent) = rt.block_on(async { tokio::join!(receive, send) });
    sent.unwrap();
    let messages = got.unwrap().messages.unwrap();
    assert_eq!(messages[0].body.as_deref(), Some("late"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // With nothing to come, a short wait ends empty after the wait.
    let started = std::time::Instant::now();
    let none = rt
        .block_on(
            sqs.receive_message()
                .queue_url(&url)
                .wait_time_seconds(1)
                .send(),
        )
        .unwrap();
    assert!(none.messages.is_none_or(|m| m.is_empty()));
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[test]
fn dead_letter_queues_redrive_policies_and_move_tasks() {
    let sandbox = common::manual("queues");
    let rt = aws::runtime();
    let sqs = aws::sqs(&sandbox);
    let dlq_url = rt
        .block_on(sqs.create_queue().queue_name("dead").send())
        .unwrap()
        .queue_url
        .unwrap();
    let policy = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dead","maxReceiveCount":"1"}"#;
    let url = rt
        .block_on(
            sqs.create_queue()
                .queue_name("src")
                .attributes(QueueAttributeName::RedrivePolicy, policy)
                .attributes(QueueAttributeName::VisibilityTimeout, "0")
                .send(),
        )
        .unwrap()
        .queue_url
        .unwrap();
    let sources = rt
        .block_on(
            sqs.list_dead_letter_source_queues()
                .queue_url(&dlq_url)
                .send(),
        )
        .unwrap();
    assert_eq!(sources.queue_urls, vec![url.clone()]);
    rt.block_on(
        sqs.send_message()
            .queue_url(&url)
            .message_body("poison")
            .send(),
    )
    .unwrap();
    // Received once (visibility 0), then the second receive moves it to the DLQ.
    for _ in 0..2 {
        rt.block_on(sqs.receive_message().queue_url(&url).send())
            .unwrap();
    }
    assert_eq!(sandbox.peek("dead").unwrap().len(), 1);
    let task = rt
        .block_on(
            sqs.start_message_move_task()
                .source_arn("arn:aws:sqs:us-east-1:123456789012:dead")
                .send(),
        )
        .unwrap();
    assert!(task.task_handle.is_some());
    assert_eq!(sandbox.peek("src").unwrap().len(), 1);
    let listed = rt
        .block_on(
            sqs.list_message_move_tasks()
                .source_arn("arn:aws:sqs:us-east-1:123456789012:dead")
                .send(),
        )
        .unwrap()
        .results
        .unwrap();
    assert_eq!(listed[0].status.as_deref(), Some("COMPLETED"));
    assert_eq!(listed[0].approximate_number_of_messages_moved, 1);
    let err = rt
        .block_on(
            sqs.start_message_move_task()
                .source_arn("arn:aws:sqs:us-east-1:123456789012:src")
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidParameterValue");
    // PurgeQueue and SetQueueAttributes.
    rt.block_on(sqs.purge_queue().queue_url(&url).send())
        .unwrap();
    assert!(sandbox.peek("src").unwrap().is_empty());
    let err = rt
        .block_on(
            sqs.set_queue_attributes()
                .queue_url(&url)
                .attributes(QueueAttributeName::MessageRetentionPeriod, "10")
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "InvalidAttributeValue");
}

#[test]
fn list_queues_pages_by_prefix() {
    let sandbox = common::manual("queues");
    let rt = aws::runtime();
    let sqs = aws::sqs(&sandbox);
    for i in 0..5 {
        rt.block_on(sqs.create_queue().queue_name(format!("page-{i}")).send())
            .unwrap();
    }
    let first = rt
        .block_on(
            sqs.list_queues()
                .queue_name_prefix("page-")
                .max_results(2)
                .send(),
        )
        .unwrap();
    assert_eq!(first.queue_urls.as_ref().unwrap().len(), 2);
    let mut all = first.queue_urls.unwrap();
    let mut token = first.next_token;
    while let Some(t) = token {
        let page = rt
            .block_on(
                sqs.list_queues()
                    .queue_name_prefix("page-")
                    .max_results(2)
                    .next_token(t)
                    .send(),
            )
            .unwrap();
        all.extend(page.queue_urls.unwrap_or_default());
        token = page.next_token;
    }
    assert_eq!(all.len(), 5);
    assert!(all[4].ends_with("/123456789012/page-4"));
}
