//! Unit tests for [`Queue`], every one driven by explicit `now` values.

use super::*;
use crate::queue::message::MessageAttribute;
use chrono::TimeZone;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}

fn standard() -> Queue {
    Queue::new(QueueConfig::new("jobs")).expect("valid config")
}

fn with(f: impl FnOnce(&mut QueueConfig)) -> Queue {
    let mut config = QueueConfig::new("jobs");
    f(&mut config);
    Queue::new(config).expect("valid config")
}

fn fifo() -> Queue {
    with(|c| {
        c.name = "jobs.fifo".into();
        c.fifo = true;
        c.content_based_deduplication = true;
    })
}

fn send(q: &mut Queue, body: &str, now: DateTime<Utc>) -> String {
    q.send(SendRequest::new(body), now)
        .expect("send")
        .message_id
}

fn send_group(q: &mut Queue, body: &str, group: &str, now: DateTime<Utc>) -> String {
    let mut req = SendRequest::new(body);
    req.group_id = Some(group.into());
    q.send(req, now).expect("send").message_id
}

fn bodies(r: &Received) -> Vec<&str> {
    r.messages.iter().map(|d| d.message.body.as_str()).collect()
}

#[test]
fn send_then_receive_sets_system_attributes() {
    let mut q = standard();
    let receipt = q
        .send(
            SendRequest {
                sender_id: "fn-a".into(),
                ..SendRequest::new("hello")
            },
            at(0),
        )
        .expect("send");
    assert!(!receipt.duplicate);
    assert_eq!(receipt.md5_of_body, "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(receipt.sequence_number, None);
    let r = q.receive(10, None, at(2));
    assert_eq!(r.messages.len(), 1);
    let m = &r.messages[0].message;
    assert_eq!(m.id, receipt.message_id);
    assert_eq!(m.receive_count, 1);
    assert_eq!(m.sent_at, at(0));
    assert_eq!(m.first_received_at, Some(at(2)));
    assert_eq!(m.sender_id, "fn-a");
}

#[test]
fn visibility_expiry_redelivers_with_receive_count_two() {
    let mut q = standard(); // 30 s visibility
    send(&mut q, "a", at(0));
    let first = q.receive(10, None, at(1));
    assert_eq!(first.messages.len(), 1);
    assert!(
        q.receive(10, None, at(30)).messages.is_empty(),
        "still in flight at 30 s"
    );
    let second = q.receive(10, None, at(31));
    assert_eq!(second.messages.len(), 1);
    let m = &second.messages[0].message;
    assert_eq!(m.receive_count, 2);
    assert_eq!(
        m.first_received_at,
        Some(at(1)),
        "first receive time is kept"
    );
    assert_ne!(
        first.messages[0].receipt_handle,
        second.messages[0].receipt_handle
    );
}

#[test]
fn receive_with_explicit_visibility() {
    let mut q = standard();
    send(&mut q, "a", at(0));
    q.receive(1, Some(Duration::from_secs(5)), at(0));
    assert!(q.receive(1, None, at(4)).messages.is_empty());
    assert_eq!(q.receive(1, None, at(5)).messages.len(), 1);
}

#[test]
fn delete_with_the_latest_handle_only() {
    let mut q = standard();
    let id = send(&mut q, "a", at(0));
    let old = q.receive(1, None, at(0)).messages[0].receipt_handle.clone();
    // The visibility timeout runs out and the message is delivered again: only the new
    // handle counts from now on.
    let new = q.receive(1, None, at(40)).messages[0]
        .receipt_handle
        .clone();
    assert_eq!(
        q.delete(&old),
        Err(DeleteError::Stale {
            message_id: id.clone()
        })
    );
    assert_eq!(q.len(), 1, "a stale handle deletes nothing");
    assert_eq!(q.delete(&new), Ok(id.clone()));
    assert!(q.is_empty());
    assert_eq!(q.delete(&new), Err(DeleteError::Gone { message_id: id }));
    assert!(matches!(
        q.delete("nonsense"),
        Err(DeleteError::Invalid { .. })
    ));
}

#[test]
fn handle_still_deletes_after_visibility_ran_out_if_not_redelivered() {
    let mut q = standard();
    send(&mut q, "a", at(0));
    let handle = q.receive(1, None, at(0)).messages[0].receipt_handle.clone();
    // The 30 s timeout is long over at 100 s, but nobody received the message again.
    assert_eq!(q.stats(at(100)).visible, 1);
    assert!(q.delete(&handle).is_ok());
}

#[test]
fn dead_letter_after_max_receive_count() {
    // AWS: "When the ReceiveCount for a message exceeds the maxReceiveCount for a queue,
    // Amazon SQS moves the message to a dead-letter queue" (SQS developer guide,
    // sqs-dead-letter-queues). With 3: three deliveries, moved on the 4th receive.
    let mut q = with(|c| c.dead_letter = Some(("dlq".into(), 3)));
    let id = send(&mut q, "poison", at(0));
    for (i, now) in [at(0), at(31), at(62)].into_iter().enumerate() {
        let r = q.receive(10, None, now);
        assert_eq!(r.messages.len(), 1, "delivery {}", i + 1);
        assert_eq!(r.messages[0].message.receive_count, i as u32 + 1);
        assert!(r.dead_lettered.is_empty());
    }
    let r = q.receive(10, None, at(93));
    assert!(r.messages.is_empty());
    assert_eq!(r.dead_lettered.len(), 1);
    let dead = &r.dead_lettered[0];
    assert_eq!(dead.id, id);
    assert_eq!(dead.receive_count, 3, "keeps its receive count");
    assert_eq!(dead.sent_at, at(0), "keeps its sent timestamp");
    assert!(q.is_empty());
    assert_eq!(q.stats(at(93)).dead_lettered_total, 1);
}

#[test]
fn dead_letters_do_not_use_up_the_batch() {
    let mut q = with(|c| c.dead_letter = Some(("dlq".into(), 1)));
    send(&mut q, "poison", at(0));
    q.receive(1, None, at(0));
    // The poison message is visible again from 30 s, before "fresh" is sent.
    send(&mut q, "fresh", at(31));
    let r = q.receive(1, None, at(31));
    assert_eq!(r.dead_lettered.len(), 1);
    assert_eq!(bodies(&r), ["fresh"]);
}

#[test]
fn queue_delay_and_per_message_delay() {
    let mut q = with(|c| c.delay = Duration::from_secs(10));
    send(&mut q, "queue-delayed", at(0));
    let mut req = SendRequest::new("message-delayed");
    req.delay = Some(Duration::from_secs(60));
    q.send(req, at(0)).expect("send");
    let mut req = SendRequest::new("not-delayed");
    req.delay = Some(Duration::ZERO);
    q.send(req, at(0)).expect("send");

    let s = q.stats(at(0));
    assert_eq!((s.visible, s.delayed, s.in_flight), (1, 2, 0));
    assert_eq!(q.next_change(at(0)), Some(at(10)));
    let mut take = |now| {
        let r = q.receive(10, None, now);
        for d in &r.messages {
            q.delete(&d.receipt_handle).expect("delete");
        }
        r.messages
            .into_iter()
            .map(|d| d.message.body)
            .collect::<Vec<_>>()
    };
    assert_eq!(take(at(0)), ["not-delayed"]);
    assert!(take(at(9)).is_empty());
    assert_eq!(take(at(10)), ["queue-delayed"]);
    assert!(take(at(59)).is_empty());
    assert_eq!(take(at(60)), ["message-delayed"]);
}

#[test]
fn delay_limits() {
    let mut q = standard();
    let mut req = SendRequest::new("x");
    req.delay = Some(Duration::from_secs(901));
    assert_eq!(
        q.send(req, at(0)),
        Err(SendError::DelayTooLong { seconds: 901 })
    );
    let mut f = fifo();
    let mut req = SendRequest::new("x");
    req.group_id = Some("g".into());
    req.delay = Some(Duration::from_secs(5));
    assert!(matches!(
        f.send(req, at(0)),
        Err(SendError::DelayOnFifo { .. })
    ));
    assert!(f.is_empty());
}

#[test]
fn retention_expiry_is_counted_and_returned() {
    let mut q = with(|c| c.retention = Duration::from_secs(60));
    let a = send(&mut q, "a", at(0));
    // In flight does not protect from retention.
    q.receive(1, Some(Duration::from_secs(600)), at(1));
    assert_eq!(q.next_change(at(1)), Some(at(60)));
    send(&mut q, "b", at(30));
    assert!(q.expire(at(59)).is_empty());
    // An expired message is never delivered, even before expire() removes it.
    let expired = q.expire(at(60));
    assert_eq!(
        expired.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        [a]
    );
    assert_eq!(q.stats(at(60)).expired_total, 1);
    assert_eq!(q.peek(at(90))[0].state, MessageState::Expired);
    assert!(q.receive(10, None, at(90)).messages.is_empty());
    assert_eq!(q.next_change(at(90)), Some(at(90)));
    assert_eq!(q.expire(at(90)).len(), 1);
    assert_eq!(q.stats(at(90)).expired_total, 2);
    assert!(q.is_empty());
    assert_eq!(q.next_change(at(90)), None);
}

#[test]
fn fifo_keeps_order_within_a_group() {
    let mut q = fifo();
    for i in 0..5 {
        send_group(&mut q, &format!("m{i}"), "g", at(i));
    }
    let r = q.receive(3, None, at(10));
    assert_eq!(
        bodies(&r),
        ["m0", "m1", "m2"],
        "one batch may hold several of a group, in order"
    );
    for d in &r.messages {
        q.delete(&d.receipt_handle).expect("delete");
    }
    assert_eq!(bodies(&q.receive(10, None, at(11))), ["m3", "m4"]);
}

#[test]
fn fifo_group_is_locked_while_in_flight() {
    let mut q = fifo();
    send_group(&mut q, "a1", "a", at(0));
    send_group(&mut q, "a2", "a", at(1));
    send_group(&mut q, "b1", "b", at(2));
    let first = q.receive(1, None, at(5));
    assert_eq!(bodies(&first), ["a1"]);
    // a2 is visible but group a is locked by a1; group b is free.
    let second = q.receive(10, None, at(6));
    assert_eq!(bodies(&second), ["b1"]);
    q.delete(&second.messages[0].receipt_handle)
        .expect("delete");
    assert!(q.receive(10, None, at(7)).messages.is_empty());
    // a1 times out: it comes back first, before a2.
    let third = q.receive(1, None, at(36));
    assert_eq!(bodies(&third), ["a1"]);
    assert_eq!(third.messages[0].message.receive_count, 2);
    q.delete(&third.messages[0].receipt_handle).expect("delete");
    assert_eq!(bodies(&q.receive(10, None, at(37))), ["a2"]);
}

#[test]
fn fifo_group_stays_locked_when_one_of_two_in_flight_is_made_visible() {
    let mut q = fifo();
    send_group(&mut q, "a1", "a", at(0));
    send_group(&mut q, "a2", "a", at(0));
    let r = q.receive(10, None, at(1));
    assert_eq!(bodies(&r), ["a1", "a2"]);
    q.change_visibility(&r.messages[0].receipt_handle, Duration::ZERO, at(2))
        .expect("change");
    assert!(
        q.receive(10, None, at(3)).messages.is_empty(),
        "a2 still in flight locks the group"
    );
}

#[test]
fn fifo_batches_hold_several_groups() {
    let mut q = fifo();
    send_group(&mut q, "a1", "a", at(0));
    send_group(&mut q, "b1", "b", at(0));
    send_group(&mut q, "a2", "a", at(0));
    assert_eq!(bodies(&q.receive(10, None, at(1))), ["a1", "b1", "a2"]);
}

#[test]
fn fifo_requires_a_group_and_a_dedup_id() {
    let mut q = with(|c| {
        c.name = "x.fifo".into();
        c.fifo = true;
    });
    assert!(matches!(
        q.send(SendRequest::new("x"), at(0)),
        Err(SendError::MissingGroupId { .. })
    ));
    let mut req = SendRequest::new("x");
    req.group_id = Some("g".into());
    assert!(matches!(
        q.send(req.clone(), at(0)),
        Err(SendError::MissingDedupId { .. })
    ));
    req.dedup_id = Some("d1".into());
    assert!(q.send(req, at(0)).is_ok());
}

#[test]
fn standard_queue_refuses_a_dedup_id_but_takes_a_group() {
    let mut q = standard();
    let mut req = SendRequest::new("x");
    req.dedup_id = Some("d".into());
    assert!(matches!(
        q.send(req, at(0)),
        Err(SendError::DedupIdOnStandard { .. })
    ));
    let mut req = SendRequest::new("x");
    req.group_id = Some("tenant-1".into());
    q.send(req, at(0)).expect("fair queue group id");
    let r = q.receive(1, None, at(0));
    assert_eq!(r.messages[0].message.group_id.as_deref(), Some("tenant-1"));
}

#[test]
fn dedup_window_by_id() {
    let mut q = with(|c| {
        c.name = "x.fifo".into();
        c.fifo = true;
    });
    let req = |body: &str| SendRequest {
        group_id: Some("g".into()),
        dedup_id: Some("same".into()),
        ..SendRequest::new(body)
    };
    let first = q.send(req("one"), at(0)).expect("send");
    let dup = q.send(req("two"), at(299)).expect("accepted");
    assert!(dup.duplicate);
    assert_eq!(dup.message_id, first.message_id);
    assert_eq!(dup.sequence_number, first.sequence_number);
    assert_eq!(q.len(), 1, "a duplicate is not enqueued");
    // The window is counted from the first send, and deleting does not end it.
    let r = q.receive(1, None, at(299));
    q.delete(&r.messages[0].receipt_handle).expect("delete");
    assert!(q.send(req("three"), at(299)).expect("send").duplicate);
    let later = q.send(req("four"), at(300)).expect("send");
    assert!(
        !later.duplicate,
        "5 minutes after the first send the id is new again"
    );
    assert_eq!(q.len(), 1);
}

#[test]
fn dedup_window_by_content() {
    let mut q = fifo();
    let a = send_group(&mut q, "same body", "g", at(0));
    let dup = {
        let mut req = SendRequest::new("same body");
        req.group_id = Some("other-group".into());
        q.send(req, at(100)).expect("send")
    };
    assert!(dup.duplicate, "content dedup is per queue, not per group");
    assert_eq!(dup.message_id, a);
    send_group(&mut q, "other body", "g", at(100));
    assert_eq!(q.len(), 2);
    let again = send_group(&mut q, "same body", "g", at(301));
    assert_ne!(again, a);
    assert_eq!(q.len(), 3);
}

#[test]
fn sequence_numbers_increase_and_have_20_digits() {
    let mut q = fifo();
    let mut last: Option<String> = None;
    for i in 0..20 {
        let mut req = SendRequest::new(format!("m{i}"));
        req.group_id = Some(format!("g{}", i % 3));
        let seq = q
            .send(req, at(i))
            .expect("send")
            .sequence_number
            .expect("fifo seq");
        assert_eq!(seq.len(), 20);
        assert!(seq.chars().all(|c| c.is_ascii_digit()));
        if let Some(prev) = &last {
            assert!(seq > *prev, "{seq} > {prev}");
        }
        last = Some(seq);
    }
}

#[test]
fn max_size_rejection_names_both_sizes() {
    let mut q = with(|c| c.max_message_size = 1024);
    let mut req = SendRequest::new("x".repeat(1000));
    req.attributes
        .insert("trace".into(), MessageAttribute::string("y".repeat(30)));
    let err = q.send(req, at(0)).expect_err("too large");
    assert_eq!(
        err,
        SendError::TooLarge {
            queue: "jobs".into(),
            size: 1041,
            body: 1000,
            attributes: 41,
            max: 1024
        }
    );
    let text = err.to_string();
    assert!(text.contains("1041") && text.contains("1024"), "{text}");
    assert!(q.is_empty());
    assert!(q.send(SendRequest::new("x".repeat(1024)), at(0)).is_ok());
}

#[test]
fn body_and_attribute_validation() {
    let mut q = standard();
    assert!(matches!(
        q.send(SendRequest::new(""), at(0)),
        Err(SendError::EmptyBody { .. })
    ));
    assert!(matches!(
        q.send(SendRequest::new("a\u{1}b"), at(0)),
        Err(SendError::InvalidCharacter { code: 1, .. })
    ));
    let mut req = SendRequest::new("x");
    req.attributes
        .insert("bad name!".into(), MessageAttribute::string("v"));
    assert!(matches!(
        q.send(req, at(0)),
        Err(SendError::Attribute { .. })
    ));
    assert!(q.is_empty());
}

#[test]
fn change_visibility() {
    let mut q = standard();
    send(&mut q, "a", at(0));
    let h = q.receive(1, None, at(0)).messages[0].receipt_handle.clone();
    q.change_visibility(&h, Duration::from_secs(100), at(10))
        .expect("extend");
    assert!(q.receive(1, None, at(109)).messages.is_empty());
    assert_eq!(q.receive(1, None, at(110)).messages.len(), 1);
    assert!(matches!(
        q.change_visibility(&h, Duration::ZERO, at(110)),
        Err(VisibilityError::Handle(DeleteError::Stale { .. }))
    ));
    let mut q = standard();
    send(&mut q, "b", at(0));
    let h = q.receive(1, None, at(0)).messages[0].receipt_handle.clone();
    q.change_visibility(&h, Duration::ZERO, at(1))
        .expect("release");
    assert!(matches!(
        q.change_visibility(&h, Duration::ZERO, at(1)),
        Err(VisibilityError::NotInFlight { .. })
    ));
    assert!(matches!(
        q.change_visibility(&h, Duration::from_secs(43_201), at(1)),
        Err(VisibilityError::TooLong { .. })
    ));
    assert_eq!(q.receive(1, None, at(1)).messages.len(), 1);
}

#[test]
fn purge_removes_everything() {
    let mut q = standard();
    send(&mut q, "a", at(0));
    send(&mut q, "b", at(0));
    let h = q.receive(1, None, at(0)).messages[0].receipt_handle.clone();
    assert_eq!(q.purge(), 2);
    assert!(q.is_empty());
    assert!(matches!(q.delete(&h), Err(DeleteError::Gone { .. })));
    assert!(q.receive(10, None, at(100)).messages.is_empty());
}

#[test]
fn peek_changes_nothing() {
    let mut q = with(|c| c.delay = Duration::from_secs(5));
    send(&mut q, "a", at(0));
    let mut req = SendRequest::new("b");
    req.delay = Some(Duration::ZERO);
    q.send(req, at(0)).expect("send");
    let h = q.receive(1, None, at(1)).messages[0].receipt_handle.clone();
    let before = q.peek(at(2));
    let again = q.peek(at(2));
    assert_eq!(before, again);
    assert_eq!(before.len(), 2);
    assert_eq!(before[0].state, MessageState::Delayed { until: at(5) });
    assert_eq!(before[1].state, MessageState::InFlight { until: at(31) });
    assert_eq!(before[1].message.receive_count, 1);
    // The handle still works and the delayed message still comes at 5 s.
    assert!(q.delete(&h).is_ok());
    let r = q.receive(10, None, at(5));
    assert_eq!(bodies(&r), ["a"]);
    assert_eq!(r.messages[0].message.receive_count, 1);
}

#[test]
fn stats_and_next_change() {
    let mut q = with(|c| c.delay = Duration::from_secs(20));
    assert_eq!(q.next_change(at(0)), None);
    send(&mut q, "delayed", at(0));
    let mut req = SendRequest::new("now");
    req.delay = Some(Duration::ZERO);
    q.send(req, at(5)).expect("send");
    q.receive(1, Some(Duration::from_secs(10)), at(6));
    let s = q.stats(at(7));
    assert_eq!((s.visible, s.in_flight, s.delayed), (0, 1, 1));
    assert_eq!(s.oldest_age_seconds, Some(7));
    assert_eq!(
        q.next_change(at(7)),
        Some(at(16)),
        "in-flight timeout first"
    );
    assert_eq!(q.next_change(at(16)), Some(at(20)), "then the delay");
    let p = q.pending_counts(at(7));
    assert_eq!(
        (p.due_now, p.scheduled_later, p.next_due),
        (0, 2, Some(at(16)))
    );
    let p = q.pending_counts(at(17));
    assert_eq!(
        (p.due_now, p.scheduled_later, p.next_due),
        (1, 1, Some(at(16)))
    );
}

#[test]
fn moved_messages_keep_identity_and_retention_rules() {
    let mut source = with(|c| c.dead_letter = Some(("dlq".into(), 1)));
    let mut dlq = with(|c| {
        c.name = "dlq".into();
        c.retention = Duration::from_secs(100);
    });
    let id = send(&mut source, "x", at(0));
    source.receive(1, None, at(0));
    let dead = source.receive(1, None, at(30)).dead_lettered;
    assert_eq!(dead.len(), 1);
    dlq.enqueue_moved(dead[0].clone(), at(30));
    let r = dlq.receive(1, None, at(30));
    assert_eq!(r.messages[0].message.id, id);
    assert_eq!(
        r.messages[0].message.receive_count, 2,
        "count carries over into the DLQ"
    );
    // Standard queue: retention counts from the original send (0 s), not the move (30 s).
    assert_eq!(dlq.expire(at(100)).len(), 1);

    let mut fifo_dlq = with(|c| {
        c.name = "dlq.fifo".into();
        c.fifo = true;
        c.content_based_deduplication = true;
        c.retention = Duration::from_secs(100);
    });
    let mut m = dead[0].clone();
    m.group_id = Some("g".into());
    fifo_dlq.enqueue_moved(m, at(30));
    assert!(
        fifo_dlq.expire(at(100)).is_empty(),
        "FIFO restarts retention on arrival"
    );
    assert_eq!(fifo_dlq.expire(at(130)).len(), 1);
}

#[test]
fn config_validation() {
    let bad = |f: fn(&mut QueueConfig)| {
        let mut c = QueueConfig::new("q");
        f(&mut c);
        Queue::new(c).is_err()
    };
    assert!(bad(|c| c.visibility_timeout = Duration::from_secs(43_201)));
    assert!(bad(|c| c.delay = Duration::from_secs(901)));
    assert!(bad(|c| c.retention = Duration::ZERO));
    assert!(bad(|c| c.dead_letter = Some(("q".into(), 3))));
    assert!(bad(|c| c.dead_letter = Some(("d".into(), 0))));
    assert!(!bad(|c| c.visibility_timeout = Duration::ZERO));
}

#[test]
fn many_messages_stay_cheap() {
    // A regression guard for accidental O(n) work per call (the driver asks
    // `next_change` after every operation): 20 000 sends and receives in a debug build.
    let mut q = standard();
    for i in 0..20_000 {
        send(&mut q, "m", at(i / 100));
        assert!(q.next_change(at(i / 100)).is_some());
    }
    let mut received = 0;
    while received < 20_000 {
        let r = q.receive(10, None, at(300));
        assert!(!r.messages.is_empty());
        for d in &r.messages {
            q.delete(&d.receipt_handle).expect("delete");
        }
        received += r.messages.len();
        q.next_change(at(300));
    }
    q.check_invariants();
    assert!(q.is_empty());
}

#[test]
fn visible_window_counts_only_what_a_receive_could_hand_out() {
    // Standard: every visible message, up to `want`.
    let mut q = standard();
    for n in 0..5 {
        send(&mut q, &format!("m{n}"), at(0));
    }
    assert_eq!(q.visible_window(at(1), 3), (3, Some(at(0))));
    assert_eq!(q.visible_window(at(1), 10).0, 5);

    // FIFO: a group with a message in flight is locked, so its visible successor is not
    // deliverable — a drain must not wait for it.
    let mut q = fifo();
    send_group(&mut q, "a1", "a", at(0));
    send_group(&mut q, "a2", "a", at(0));
    assert_eq!(q.receive(1, None, at(1)).messages.len(), 1);
    assert_eq!(q.visible_window(at(1), 10), (0, None));
    send_group(&mut q, "b1", "b", at(2));
    assert_eq!(
        q.visible_window(at(2), 10).0,
        1,
        "another group is not locked"
    );
}
