//! Unit tests for [`Queues`]: dead-letter moves, redrive, reload, and a randomized run.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::queue::queue::MessageState;
use chrono::{TimeDelta, TimeZone};

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + TimeDelta::seconds(seconds)
}

fn config(name: &str, dlq: Option<(&str, u32)>) -> QueueConfig {
    let mut c = QueueConfig::new(name);
    c.fifo = name.ends_with(".fifo");
    c.content_based_deduplication = c.fifo;
    c.dead_letter = dlq.map(|(d, n)| (d.to_string(), n));
    c
}

fn app() -> Queues {
    Queues::new(vec![
        config("work", Some(("dead", 2))),
        config("dead", None),
    ])
    .expect("valid")
}

fn send(q: &mut Queues, name: &str, body: &str, now: DateTime<Utc>) -> String {
    let mut req = SendRequest::new(body);
    if name.ends_with(".fifo") {
        req.group_id = Some("g".into());
    }
    q.send(name, req, now).expect("send").message_id
}

#[test]
fn unknown_queue_lists_the_known_ones() {
    let mut q = app();
    let err = q.receive("wrok", 1, at(0)).expect_err("unknown");
    assert_eq!(
        err,
        Error::UnknownQueue {
            name: "wrok".into(),
            known: vec!["dead".into(), "work".into()]
        }
    );
    assert!(err.to_string().contains("dead, work"), "{err}");
    assert_eq!(q.names(), ["dead", "work"]);
}

#[test]
fn config_errors() {
    let err = Queues::new(vec![config("work", Some(("gone", 3)))]).expect_err("missing dlq");
    assert!(matches!(err, ConfigError::UnknownDeadLetterQueue { .. }));
    let err = Queues::new(vec![
        config("work.fifo", Some(("dead", 3))),
        config("dead", None),
    ])
    .expect_err("fifo mismatch");
    assert!(matches!(
        err,
        ConfigError::FifoMismatch {
            queue_fifo: true,
            ..
        }
    ));
    assert!(err.to_string().contains("FIFO"), "{err}");
    let err = Queues::new(vec![config("a", None), config("a", None)]).expect_err("dup");
    assert_eq!(err, ConfigError::Duplicate("a".into()));
    assert!(Queues::new(vec![
        config("w.fifo", Some(("d.fifo", 3))),
        config("d.fifo", None)
    ])
    .is_ok());
}

#[test]
fn receive_moves_dead_letters_into_the_dlq() {
    let mut q = app();
    let id = send(&mut q, "work", "poison", at(0));
    q.receive("work", 10, at(0)).expect("r1");
    q.receive("work", 10, at(30)).expect("r2");
    let r = q.receive("work", 10, at(60)).expect("r3");
    assert!(r.messages.is_empty());
    assert_eq!(r.moved_to_dlq, [(id.clone(), "dead".to_string())]);
    assert_eq!(q.stats("work", at(60)).expect("stats").visible, 0);
    let dead = q.peek("dead", at(60)).expect("peek");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message.id, id);
    assert_eq!(dead[0].message.dead_letter_source.as_deref(), Some("work"));
    assert_eq!(dead[0].state, MessageState::Visible);
}

#[test]
fn redrive_moves_messages_back_with_a_fresh_receive_count() {
    let mut q = app();
    let id = send(&mut q, "work", "poison", at(0));
    for now in [0, 30, 60] {
        q.receive("work", 10, at(now)).expect("receive");
    }
    // One message sent to the DLQ directly has no source and stays.
    let direct = send(&mut q, "dead", "direct", at(61));
    assert_eq!(q.redrive("dead", at(70)).expect("redrive"), 1);
    let dead = q.peek("dead", at(70)).expect("peek");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message.id, direct);
    let r = q.receive("work", 10, at(70)).expect("receive");
    assert_eq!(r.messages.len(), 1);
    let m = &r.messages[0].message;
    assert_eq!(m.id, id);
    assert_eq!(m.receive_count, 1, "receive count was reset by the redrive");
    assert_eq!(m.sent_at, at(0));
    assert_eq!(m.dead_letter_source, None);
    assert!(q.redrive("nope", at(70)).is_err());
}

#[test]
fn delete_purge_and_errors_name_the_queue() {
    let mut q = app();
    send(&mut q, "work", "a", at(0));
    send(&mut q, "work", "b", at(0));
    let r = q.receive("work", 1, at(0)).expect("receive");
    let handle = &r.messages[0].receipt_handle;
    assert_eq!(
        q.delete("work", handle),
        Ok(r.messages[0].message.id.clone())
    );
    let err = q.delete("work", handle).expect_err("already deleted");
    assert!(err.to_string().starts_with("queue `work`:"), "{err}");
    assert_eq!(q.purge("work"), Ok(1));
    assert_eq!(q.purge("work"), Ok(0));
}

#[test]
fn settle_deletes_processed_messages_and_reports_stale_ones() {
    let mut q = app();
    let a = send(&mut q, "work", "a", at(0));
    let b = send(&mut q, "work", "b", at(0));
    let c = send(&mut q, "work", "c", at(0));
    let batch = q.receive("work", 10, at(0)).expect("receive").messages;
    // c's handler was too slow: c timed out and was delivered again meanwhile.
    let mut c_again = Vec::new();
    q.change_visibility("work", &batch[2].receipt_handle, Duration::ZERO, at(1))
        .expect("release c");
    c_again.extend(q.receive("work", 10, at(1)).expect("receive").messages);
    assert_eq!(c_again.len(), 1);
    let outcome = BatchOutcome {
        delete: vec![a.clone(), c.clone()],
        retry: vec![b.clone()],
        warning: None,
    };
    let settled = q.settle("work", &batch, &outcome).expect("settle");
    assert_eq!(settled.deleted, [a]);
    assert_eq!(settled.retried, [b]);
    assert_eq!(
        settled.not_deleted,
        [(c.clone(), DeleteError::Stale { message_id: c })]
    );
    assert_eq!(q.get("work").expect("work").len(), 2);
}

#[test]
fn tick_reports_every_expired_message() {
    let mut c = config("short", None);
    c.retention = Duration::from_secs(60);
    let mut q = Queues::new(vec![c, config("long", None)]).expect("valid");
    let a = send(&mut q, "short", "a", at(0));
    send(&mut q, "long", "b", at(0));
    assert_eq!(q.next_change(at(0)), Some(at(60)));
    assert!(q.tick(at(59)).expired.is_empty());
    assert_eq!(q.tick(at(60)).expired, [("short".to_string(), a)]);
    assert_eq!(q.stats("short", at(60)).expect("stats").expired_total, 1);
}

#[test]
fn pending_reports_each_queue() {
    let mut q = app();
    send(&mut q, "work", "a", at(0));
    send(&mut q, "work", "b", at(0));
    q.receive("work", 1, at(1)).expect("receive");
    let pending = q.pending(at(2));
    assert_eq!(pending.len(), 2);
    let work = pending.iter().find(|p| p.resource == "work").expect("work");
    assert_eq!(work.service, "queue");
    assert_eq!((work.due_now, work.scheduled_later), (1, 1));
    assert_eq!(work.next_due, Some(at(0)));
    let dead = pending.iter().find(|p| p.resource == "dead").expect("dead");
    assert_eq!(
        (dead.due_now, dead.scheduled_later, dead.next_due),
        (0, 0, None)
    );
}

#[test]
fn replace_configs_keeps_messages_of_kept_queues() {
    let mut q = Queues::new(vec![
        config("keep", None),
        config("drop", None),
        config("flip", None),
    ])
    .expect("valid");
    let kept = send(&mut q, "keep", "k", at(0));
    send(&mut q, "drop", "d1", at(0));
    send(&mut q, "drop", "d2", at(0));
    send(&mut q, "flip", "f", at(0));
    let mut changed = config("keep", None);
    changed.visibility_timeout = Duration::from_secs(5);
    let mut flipped = config("flip", None);
    flipped.fifo = true;
    flipped.content_based_deduplication = true;

    // A bad set changes nothing.
    assert!(q
        .replace_configs(vec![config("keep", Some(("nope", 1)))])
        .is_err());
    assert_eq!(q.names(), ["drop", "flip", "keep"]);

    let report = q
        .replace_configs(vec![changed, flipped, config("new", None)])
        .expect("reload");
    assert_eq!(report.changed, ["keep"]);
    assert_eq!(report.added, ["flip", "new"]);
    assert_eq!(report.dropped, [("flip".to_string(), 1)]);
    // A removed queue still holding messages is retired, not emptied: they stay readable.
    assert_eq!(report.retired, [("drop".to_string(), 2)]);
    assert_eq!(q.names(), ["drop", "flip", "keep", "new"]);
    assert_eq!(q.peek("drop", at(1)).expect("peek").len(), 2);
    // Once empty, the next reload drops it.
    q.purge("drop").expect("purge");
    let report = q
        .replace_configs(vec![
            {
                let mut k = config("keep", None);
                k.visibility_timeout = Duration::from_secs(5);
                k
            },
            config("new", None),
            {
                let mut f = config("flip", None);
                f.fifo = true;
                f.content_based_deduplication = true;
                f
            },
        ])
        .expect("reload");
    assert_eq!(report.dropped, [("drop".to_string(), 0)]);
    assert_eq!(q.names(), ["flip", "keep", "new"]);
    let r = q.receive("keep", 10, at(1)).expect("receive");
    assert_eq!(r.messages[0].message.id, kept);
    // The new 5 s visibility timeout applies.
    assert_eq!(
        q.receive("keep", 10, at(6))
            .expect("receive")
            .messages
            .len(),
        1
    );
}

/// xorshift64: a tiny seeded generator so the run is reproducible without a new dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Many messages, random failures (never deleted, so they time out), some consumers slow
/// enough that their delete arrives after a re-delivery: at the end every message was
/// deleted exactly once after a success or sits in the DLQ. None lost, none invented.
fn randomized_run(seed: u64, fifo: bool) {
    let (work, dead) = if fifo {
        ("work.fifo", "dead.fifo")
    } else {
        ("work", "dead")
    };
    let mut q =
        Queues::new(vec![config(work, Some((dead, 3))), config(dead, None)]).expect("valid");
    let mut rng = Rng(seed);
    let mut sent = BTreeSet::new();
    let mut succeeded: BTreeMap<String, u32> = BTreeMap::new();
    let mut moved = BTreeSet::new();
    // Deletes that a slow consumer sends later: (due step, handle, message id).
    let mut slow: Vec<(i64, String, String)> = Vec::new();
    let mut now = 0;
    for step in 0..2_000 {
        now = step * 7;
        if step < 100 {
            for _ in 0..(rng.next() % 4) {
                let mut req = SendRequest::new(format!("m{}", sent.len()));
                req.group_id = fifo.then(|| format!("g{}", rng.next() % 5));
                let receipt = q.send(work, req, at(now)).expect("send");
                assert!(!receipt.duplicate);
                sent.insert(receipt.message_id);
            }
        }
        let mut still_slow = Vec::new();
        for (due, handle, id) in slow.drain(..) {
            if due > step {
                still_slow.push((due, handle, id));
                continue;
            }
            match q.delete(work, &handle) {
                Ok(deleted) => {
                    assert_eq!(deleted, id);
                    *succeeded.entry(id).or_default() += 1;
                }
                Err(Error::Delete {
                    source: DeleteError::Stale { .. } | DeleteError::Gone { .. },
                    ..
                }) => {}
                Err(other) => panic!("unexpected delete error {other}"),
            }
        }
        slow = still_slow;
        for name in [work, dead] {
            q.get(name).expect("queue").check_invariants();
        }
        let r = q
            .receive(work, 1 + (rng.next() % 10) as usize, at(now))
            .expect("receive");
        for (id, dlq) in r.moved_to_dlq {
            assert_eq!(dlq, dead);
            assert!(moved.insert(id));
        }
        if fifo {
            // Group order: whatever is still queued ahead of a delivered message in its
            // group must have been delivered in this same batch, before it.
            let queued = q.peek(work, at(now)).expect("peek");
            let batch: Vec<&str> = r.messages.iter().map(|d| d.message.id.as_str()).collect();
            for (i, d) in r.messages.iter().enumerate() {
                for v in &queued {
                    if v.message.group_id == d.message.group_id
                        && v.message.sequence_number < d.message.sequence_number
                    {
                        let pos = batch.iter().position(|id| *id == v.message.id);
                        assert!(pos.is_some_and(|p| p < i), "FIFO order broken");
                    }
                }
            }
        }
        for d in r.messages {
            assert!(sent.contains(&d.message.id), "a message nobody sent");
            assert!(d.message.receive_count <= 3);
            if rng.chance(45) {
                continue; // failure: left to time out
            }
            if rng.chance(10) {
                // A slow consumer: the delete comes 35-70 s later, after the 30 s timeout.
                slow.push((
                    step + 5 + (rng.next() % 6) as i64,
                    d.receipt_handle,
                    d.message.id,
                ));
                continue;
            }
            let deleted = q
                .delete(work, &d.receipt_handle)
                .expect("fresh handle deletes");
            *succeeded.entry(deleted).or_default() += 1;
        }
        if step > 100 && slow.is_empty() && q.get(work).map(|w| w.is_empty()).unwrap_or(false) {
            break;
        }
    }
    assert!(
        q.get(work).expect("work").is_empty(),
        "work queue drained by {now} s"
    );
    let in_dlq: BTreeSet<String> = q
        .peek(dead, at(now))
        .expect("peek")
        .into_iter()
        .map(|v| v.message.id)
        .collect();
    assert_eq!(
        in_dlq, moved,
        "the DLQ holds exactly what was reported as moved"
    );
    assert!(
        succeeded.values().all(|&n| n == 1),
        "each success deleted exactly once"
    );
    let done: BTreeSet<String> = succeeded.keys().cloned().collect();
    assert!(done.is_disjoint(&in_dlq));
    let all: BTreeSet<String> = done.union(&in_dlq).cloned().collect();
    assert_eq!(all, sent, "none lost, none invented");
    assert!(
        !in_dlq.is_empty() && !done.is_empty(),
        "the run exercised both outcomes"
    );
}

#[test]
fn randomized_standard_queue_loses_nothing() {
    for seed in [1, 42, 0x5eed_cafe] {
        randomized_run(seed, false);
    }
}

#[test]
fn randomized_fifo_queue_loses_nothing() {
    for seed in [7, 99] {
        randomized_run(seed, true);
    }
}

#[test]
fn stopping_a_recursive_loop_dead_letters_or_drops_and_redrive_starts_a_new_chain() {
    let mut q = Queues::new(vec![
        config("work", Some(("dead", 5))),
        config("dead", None),
        config("alone", None),
    ])
    .expect("valid");
    for name in ["work", "alone"] {
        let request = SendRequest {
            hops: crate::recursion::MAX_INVOCATIONS,
            ..SendRequest::new("again")
        };
        q.send(name, request, at(0)).expect("send");
    }

    let got = q.receive("work", 10, at(1)).expect("receive").messages;
    assert!(crate::recursion::stops(got[0].message.hops));
    let fates = q.stop_recursive("work", &got, at(1)).expect("stop");
    assert_eq!(
        fates,
        vec![(got[0].message.id.clone(), Some("dead".to_string()))]
    );
    assert!(q.get("work").expect("work").is_empty());
    let dead = q.peek("dead", at(1)).expect("peek");
    assert_eq!(dead[0].message.dead_letter_source.as_deref(), Some("work"));

    let got = q.receive("alone", 10, at(1)).expect("receive").messages;
    let fates = q.stop_recursive("alone", &got, at(1)).expect("stop");
    assert_eq!(fates, vec![(got[0].message.id.clone(), None)]);
    assert!(q.get("alone").expect("alone").is_empty(), "dropped");

    // A redrive is a new start: the message is delivered again, not stopped at once.
    assert_eq!(q.redrive("dead", at(2)).expect("redrive"), 1);
    let again = q.receive("work", 10, at(2)).expect("receive").messages;
    assert_eq!(again[0].message.hops, 0);
}
