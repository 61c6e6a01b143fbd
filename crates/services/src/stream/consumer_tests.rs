//! Unit tests for the event source mapping: batches, checkpoints, retries, bisect, partial
//! batch responses, record age, replay, batching windows, and a randomized run.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}

/// A one-shard stream with one consumer `c` set up by `f`.
fn mapping(f: impl FnOnce(&mut ConsumerConfig)) -> Stream {
    let mut consumer = ConsumerConfig::new("c");
    f(&mut consumer);
    let mut config = StreamConfig::new("events");
    config.consumers = vec![consumer];
    Stream::new(config).expect("valid config")
}

/// Puts records with data `0..n` under one key, at `now`.
fn put_n(s: &mut Stream, n: u8, now: DateTime<Utc>) -> Vec<String> {
    (0..n)
        .map(|i| s.put("k", vec![i], None, now).unwrap().sequence_number)
        .collect()
}

fn data(batch: &Batch) -> Vec<u8> {
    batch.records.iter().map(|r| r.data[0]).collect()
}

fn only(ready: Ready) -> Batch {
    assert_eq!(ready.batches.len(), 1, "{ready:?}");
    ready.batches.into_iter().next().unwrap()
}

#[test]
fn success_advances_the_checkpoint_in_batches() {
    let mut s = mapping(|c| c.batch_size = 2);
    put_n(&mut s, 5, at(0));
    let mut seen = Vec::new();
    for _ in 0..3 {
        let b = only(s.next_batches(at(1)));
        assert_eq!(b.attempt, 1);
        assert!(
            s.next_batches(at(1)).batches.is_empty(),
            "one batch in flight per shard"
        );
        seen.extend(data(&b));
        let done = s.complete(b.id, Outcome::Success, at(1)).unwrap();
        assert_eq!(done.processed, b.records.len());
    }
    assert_eq!(seen, [0, 1, 2, 3, 4]);
    assert_eq!(s.lag("c").unwrap(), 0);
    assert!(s.next_batches(at(2)).batches.is_empty());
    assert!(matches!(
        s.complete(999, Outcome::Success, at(2)),
        Err(StreamError::UnknownBatch { .. })
    ));
}

#[test]
fn two_consumers_each_see_every_record_of_every_shard() {
    let mut config = StreamConfig::new("events");
    config.shards = 3;
    config.consumers = vec![ConsumerConfig::new("one"), ConsumerConfig::new("two")];
    let mut s = Stream::new(config).unwrap();
    let mut put = Vec::new();
    for i in 0..30u8 {
        put.push(
            s.put(format!("key-{i}"), vec![i], None, at(0))
                .unwrap()
                .sequence_number,
        );
    }
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    loop {
        let ready = s.next_batches(at(1));
        if ready.batches.is_empty() {
            break;
        }
        for b in ready.batches {
            let list = seen.entry(b.consumer.clone()).or_default();
            list.extend(b.records.iter().map(|r| r.sequence_number.clone()));
            s.complete(b.id, Outcome::Success, at(1)).unwrap();
        }
    }
    put.sort();
    for consumer in ["one", "two"] {
        let mut got = seen[consumer].clone();
        got.sort();
        assert_eq!(got, put, "{consumer}");
    }
}

#[test]
fn failure_retries_the_same_batch_and_blocks_the_shard() {
    let mut s = mapping(|c| c.batch_size = 2);
    put_n(&mut s, 4, at(0));
    let b = only(s.next_batches(at(1)));
    let done = s.complete(b.id, Outcome::Failure, at(1)).unwrap();
    assert_eq!((done.processed, done.retrying), (0, 2));
    for attempt in 2..5 {
        let retry = only(s.next_batches(at(2)));
        assert_eq!(
            data(&retry),
            [0, 1],
            "the failing records come first, in order"
        );
        assert_eq!(retry.attempt, attempt);
        s.complete(retry.id, Outcome::Failure, at(2)).unwrap();
    }
    let retry = only(s.next_batches(at(3)));
    s.complete(retry.id, Outcome::Success, at(3)).unwrap();
    assert_eq!(data(&only(s.next_batches(at(3)))), [2, 3]);
}

#[test]
fn max_retries_gives_up_with_invoke_count() {
    let mut s = mapping(|c| {
        c.batch_size = 2;
        c.maximum_retry_attempts = 3;
        c.has_on_failure_destination = true;
    });
    let seqs = put_n(&mut s, 3, at(0));
    let mut given_up = Vec::new();
    for _ in 0..4 {
        let b = only(s.next_batches(at(1)));
        assert_eq!(data(&b), [0, 1]);
        given_up.extend(s.complete(b.id, Outcome::Failure, at(1)).unwrap().given_up);
    }
    assert_eq!(given_up.len(), 1);
    let g = &given_up[0];
    assert_eq!(g.condition, Condition::RetryAttemptsExhausted);
    assert_eq!(
        g.approximate_invoke_count, 4,
        "one invocation plus three retries"
    );
    assert_eq!(g.start_sequence_number(), seqs[0]);
    assert_eq!(g.end_sequence_number(), seqs[1]);
    assert_eq!(
        (g.consumer.as_str(), g.shard_id.as_str()),
        ("c", "shardId-000000000000")
    );
    assert!(g.has_on_failure_destination);
    // The shard moves on past the given-up batch.
    assert_eq!(data(&only(s.next_batches(at(2)))), [2]);
}

#[test]
fn zero_retries_gives_up_after_the_first_failure() {
    let mut s = mapping(|c| c.maximum_retry_attempts = 0);
    put_n(&mut s, 1, at(0));
    let b = only(s.next_batches(at(1)));
    let done = s.complete(b.id, Outcome::Failure, at(1)).unwrap();
    assert_eq!(done.given_up[0].approximate_invoke_count, 1);
    assert_eq!(s.lag("c").unwrap(), 0);
}

#[test]
fn bisect_splits_without_counting_and_isolates_a_poison_record() {
    let mut s = mapping(|c| {
        c.batch_size = 8;
        c.bisect_batch_on_function_error = true;
        c.maximum_retry_attempts = 1;
    });
    put_n(&mut s, 8, at(0));
    let poison = 5u8;
    let mut processed = Vec::new();
    let mut given_up = Vec::new();
    let mut sizes = Vec::new();
    for _ in 0..100 {
        let ready = s.next_batches(at(1));
        given_up.extend(ready.given_up);
        let Some(b) = ready.batches.into_iter().next() else {
            break;
        };
        sizes.push(b.records.len());
        let outcome = if data(&b).contains(&poison) {
            Outcome::Failure
        } else {
            processed.extend(data(&b));
            Outcome::Success
        };
        given_up.extend(s.complete(b.id, outcome, at(1)).unwrap().given_up);
    }
    // 8 fails -> [0..4] ok, [4..8] fails -> [4,5] fails -> [4] ok, [5] fails twice
    // (one retry allowed) -> given up; then [6,7] ok. Splits never used up the retry.
    assert_eq!(sizes, [8, 4, 4, 2, 1, 1, 1, 2]);
    assert_eq!(processed, [0, 1, 2, 3, 4, 6, 7]);
    assert_eq!(given_up.len(), 1);
    assert_eq!(given_up[0].records.len(), 1);
    assert_eq!(given_up[0].records[0].data, [poison]);
    assert_eq!(given_up[0].condition, Condition::RetryAttemptsExhausted);
    // In the batches of 8, 4 and 2, then twice alone.
    assert_eq!(given_up[0].approximate_invoke_count, 5);
}

#[test]
fn item_failures_checkpoint_at_the_lowest_failed_record() {
    let mut s = mapping(|c| {
        c.batch_size = 5;
        c.report_batch_item_failures = true;
    });
    let seqs = put_n(&mut s, 7, at(0));
    let b = only(s.next_batches(at(1)));
    assert_eq!(data(&b), [0, 1, 2, 3, 4]);
    // Two failures reported, out of order: the lowest (record 2) is the checkpoint.
    let done = s
        .complete(
            b.id,
            Outcome::ItemFailures(vec![seqs[3].clone(), seqs[2].clone()]),
            at(1),
        )
        .unwrap();
    assert_eq!((done.processed, done.retrying), (2, 3));
    let d = s.describe(at(1));
    assert_eq!(
        d.consumers[0].shards[0].checkpoint.as_deref(),
        Some(seqs[1].as_str())
    );
    let retry = only(s.next_batches(at(2)));
    assert_eq!(
        data(&retry),
        [2, 3, 4],
        "the retry begins at the failed record"
    );
    assert_eq!(retry.attempt, 2);
    s.complete(retry.id, Outcome::ItemFailures(vec![]), at(2))
        .unwrap();
    assert_eq!(data(&only(s.next_batches(at(3)))), [5, 6]);
}

#[test]
fn item_failures_that_do_not_match_fail_the_whole_batch() {
    let mut s = mapping(|c| c.report_batch_item_failures = true);
    put_n(&mut s, 2, at(0));
    let b = only(s.next_batches(at(1)));
    let done = s
        .complete(b.id, Outcome::ItemFailures(vec!["49123".into()]), at(1))
        .unwrap();
    assert_eq!((done.processed, done.retrying), (0, 2));
    assert!(done
        .warning
        .unwrap()
        .contains("not a sequence number of this batch"));
}

#[test]
fn item_failures_are_ignored_when_not_enabled() {
    let mut s = mapping(|_| {});
    let seqs = put_n(&mut s, 2, at(0));
    let b = only(s.next_batches(at(1)));
    let done = s
        .complete(b.id, Outcome::ItemFailures(vec![seqs[0].clone()]), at(1))
        .unwrap();
    assert_eq!(done.processed, 2);
    assert!(done
        .warning
        .unwrap()
        .contains("ReportBatchItemFailures is off"));
}

#[test]
fn bisect_with_item_failures_splits_at_the_returned_record() {
    let mut s = mapping(|c| {
        c.batch_size = 6;
        c.bisect_batch_on_function_error = true;
        c.report_batch_item_failures = true;
        c.maximum_retry_attempts = 0;
    });
    let seqs = put_n(&mut s, 6, at(0));
    let b = only(s.next_batches(at(1)));
    let done = s
        .complete(b.id, Outcome::ItemFailures(vec![seqs[4].clone()]), at(1))
        .unwrap();
    // The split does not count: with zero retries allowed the remainder is still retried.
    assert_eq!((done.processed, done.retrying), (4, 2));
    assert!(done.given_up.is_empty());
    let retry = only(s.next_batches(at(1)));
    assert_eq!(data(&retry), [4, 5]);
    // The first record failing again is a plain failure: halves, then retries counted.
    let done = s
        .complete(
            retry.id,
            Outcome::ItemFailures(vec![seqs[4].clone()]),
            at(1),
        )
        .unwrap();
    assert_eq!(done.retrying, 2);
    let half = only(s.next_batches(at(1)));
    assert_eq!(data(&half), [4]);
    let done = s.complete(half.id, Outcome::Failure, at(1)).unwrap();
    assert_eq!(done.given_up.len(), 1);
    assert_eq!(data(&only(s.next_batches(at(1)))), [5]);
}

#[test]
fn records_too_old_are_given_up_before_invoking() {
    let mut s = mapping(|c| {
        c.batch_size = 2;
        c.maximum_record_age_seconds = 60;
    });
    put_n(&mut s, 3, at(0));
    s.put("k", vec![9], None, at(100)).unwrap();
    let ready = s.next_batches(at(120));
    // Three old records in batch-sized chunks, none invoked.
    let counts: Vec<usize> = ready.given_up.iter().map(|g| g.records.len()).collect();
    assert_eq!(counts, [2, 1]);
    assert!(ready
        .given_up
        .iter()
        .all(|g| g.condition == Condition::RecordAgeExceeded && g.approximate_invoke_count == 0));
    assert_eq!(data(&only(ready)), [9]);
}

#[test]
fn a_failing_batch_is_given_up_once_its_records_are_too_old() {
    let mut s = mapping(|c| c.maximum_record_age_seconds = 60);
    put_n(&mut s, 2, at(0));
    let b = only(s.next_batches(at(1)));
    assert!(s
        .complete(b.id, Outcome::Failure, at(30))
        .unwrap()
        .given_up
        .is_empty());
    let b = only(s.next_batches(at(31)));
    let done = s.complete(b.id, Outcome::Failure, at(61)).unwrap();
    assert_eq!(done.given_up[0].condition, Condition::RecordAgeExceeded);
    assert_eq!(done.given_up[0].approximate_invoke_count, 2);
    assert_eq!(s.lag("c").unwrap(), 0);
}

#[test]
fn batching_window_waits_for_a_full_batch_or_the_window() {
    let mut s = mapping(|c| {
        c.batch_size = 3;
        c.batching_window = Duration::from_secs(10);
    });
    put_n(&mut s, 2, at(0));
    assert!(s.next_batches(at(5)).batches.is_empty());
    assert_eq!(s.next_change(at(5)), Some(at(10)));
    // A full batch goes at once.
    s.put("k", vec![2], None, at(6)).unwrap();
    assert_eq!(s.next_change(at(6)), Some(at(6)));
    let b = only(s.next_batches(at(6)));
    assert_eq!(data(&b), [0, 1, 2]);
    s.complete(b.id, Outcome::Success, at(6)).unwrap();
    // One record waits its window out, counted from its arrival.
    s.put("k", vec![3], None, at(7)).unwrap();
    assert!(s.next_batches(at(16)).batches.is_empty());
    assert_eq!(data(&only(s.next_batches(at(17)))), [3]);
}

#[test]
fn retry_backoff_delays_retries() {
    let mut s = mapping(|c| c.retry_backoff = Duration::from_secs(2));
    put_n(&mut s, 1, at(0));
    let b = only(s.next_batches(at(0)));
    s.complete(b.id, Outcome::Failure, at(0)).unwrap();
    assert!(s.next_batches(at(1)).batches.is_empty());
    assert_eq!(s.next_change(at(1)), Some(at(2)));
    let b = only(s.next_batches(at(2)));
    s.complete(b.id, Outcome::Failure, at(2)).unwrap();
    // Doubles: the second retry waits 4 s.
    assert_eq!(s.next_change(at(2)), Some(at(6)));
}

#[test]
fn starting_position_latest_and_at_timestamp() {
    let mut config = StreamConfig::new("events");
    let mut latest = ConsumerConfig::new("latest");
    latest.starting_position = StartingPosition::Latest;
    let mut stamped = ConsumerConfig::new("stamped");
    stamped.starting_position = StartingPosition::AtTimestamp(at(10));
    config.consumers = vec![latest, stamped];
    let mut s = Stream::new(config).unwrap();
    for i in 0..20u8 {
        s.put("k", vec![i], None, at(i64::from(i))).unwrap();
    }
    let ready = s.next_batches(at(30));
    for b in &ready.batches {
        match b.consumer.as_str() {
            // Created before any put, so LATEST still sees them all.
            "latest" => assert_eq!(b.records.len(), 20),
            _ => assert_eq!(b.records[0].data, [10]),
        }
    }
}

#[test]
fn replay_with_set_position() {
    let mut s = mapping(|c| c.batch_size = 100);
    let seqs = put_n(&mut s, 5, at(0));
    let more: Vec<String> = (5..10u8)
        .map(|i| s.put("k", vec![i], None, at(100)).unwrap().sequence_number)
        .collect();
    let b = only(s.next_batches(at(200)));
    s.complete(b.id, Outcome::Success, at(200)).unwrap();
    assert_eq!(s.lag("c").unwrap(), 0);

    s.set_position("c", Position::TrimHorizon, at(201)).unwrap();
    assert_eq!(
        data(&only(s.next_batches(at(201)))),
        (0..10).collect::<Vec<u8>>()
    );
    // Moving while a batch is in flight: its outcome is ignored.
    s.set_position("c", Position::AtTimestamp(at(50)), at(202))
        .unwrap();
    let stale = s.describe(at(202)).consumers[0].shards[0]
        .in_flight
        .clone()
        .unwrap();
    let done = s
        .complete(stale.batch_id, Outcome::Success, at(202))
        .unwrap();
    assert!(done.warning.unwrap().contains("ignored"));
    assert_eq!(s.lag("c").unwrap(), 5);
    let b = only(s.next_batches(at(203)));
    assert_eq!(data(&b), [5, 6, 7, 8, 9]);
    s.complete(b.id, Outcome::Success, at(203)).unwrap();

    s.set_position("c", Position::AtSequenceNumber(seqs[3].clone()), at(204))
        .unwrap();
    let b = only(s.next_batches(at(204)));
    assert_eq!(data(&b), [3, 4, 5, 6, 7, 8, 9]);
    s.complete(b.id, Outcome::Success, at(204)).unwrap();

    s.set_position("c", Position::TrimHorizon, at(205)).unwrap();
    s.set_position("c", Position::Latest, at(205)).unwrap();
    assert!(s.next_batches(at(205)).batches.is_empty());
    s.put("k", vec![10], None, at(206)).unwrap();
    assert_eq!(data(&only(s.next_batches(at(206)))), [10]);

    assert!(matches!(
        s.set_position("nobody", Position::Latest, at(207)),
        Err(StreamError::UnknownConsumer { .. })
    ));
    assert_eq!(more.len(), 5);
    for bad in ["49", "not-a-number", &format!("49{:054}", 999)] {
        assert!(matches!(
            s.set_position("c", Position::AtSequenceNumber(bad.to_string()), at(207)),
            Err(StreamError::SequenceNumberNotFound { .. })
        ));
    }
}

#[test]
fn describe_shows_checkpoints_lag_and_batches_in_flight() {
    let mut s = mapping(|c| c.batch_size = 2);
    let seqs = put_n(&mut s, 3, at(0));
    let b = only(s.next_batches(at(1)));
    s.complete(b.id, Outcome::Success, at(1)).unwrap();
    let b = only(s.next_batches(at(1)));
    let d = s.describe(at(1));
    let cursor = &d.consumers[0].shards[0];
    assert_eq!(cursor.checkpoint.as_deref(), Some(seqs[1].as_str()));
    assert_eq!(cursor.lag, 1);
    let flight = cursor.in_flight.as_ref().unwrap();
    assert_eq!((flight.batch_id, flight.records), (b.id, 1));
    assert_eq!(flight.first_sequence_number, seqs[2]);
    assert_eq!(d.shards[0].records, 3);
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn randomized_failures_never_lose_invent_or_reorder_records() {
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut config = StreamConfig::new("events");
        config.shards = 4;
        let mut bisect = ConsumerConfig::new("bisect");
        bisect.batch_size = 7;
        bisect.bisect_batch_on_function_error = true;
        bisect.maximum_retry_attempts = 2;
        bisect.report_batch_item_failures = true;
        let mut retry = ConsumerConfig::new("retry");
        retry.batch_size = 5;
        retry.maximum_retry_attempts = 3;
        retry.batching_window = Duration::from_secs(2);
        config.consumers = vec![bisect, retry];
        let mut s = Stream::new(config).unwrap();

        let mut put: BTreeMap<String, Vec<String>> = BTreeMap::new(); // shard -> seqs
        let mut ok: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        let mut dropped: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        let mut in_flight: Vec<Batch> = Vec::new();
        let mut now = at(0);
        for step in 0..400 {
            now += TimeDelta::milliseconds(rng.below(1500) as i64);
            if step < 300 {
                for _ in 0..rng.below(4) {
                    let key = format!("k{}", rng.below(50));
                    let r = s.put(key, vec![], None, now).unwrap();
                    put.entry(r.shard_id).or_default().push(r.sequence_number);
                }
            }
            let ready = s.next_batches(now);
            for g in ready.given_up {
                let list = dropped.entry((g.consumer, g.shard_id)).or_default();
                list.extend(g.records.iter().map(|r| r.sequence_number.clone()));
            }
            in_flight.extend(ready.batches);
            // Finish a random subset of the batches in flight, in random order.
            let mut i = 0;
            while i < in_flight.len() {
                if rng.below(3) == 0 {
                    i += 1;
                    continue;
                }
                let b = in_flight.swap_remove(i);
                let outcome = match rng.below(6) {
                    0 | 1 => Outcome::Failure,
                    2 => {
                        let pick = rng.below(b.records.len() as u64) as usize;
                        Outcome::ItemFailures(vec![b.records[pick].sequence_number.clone()])
                    }
                    _ => Outcome::Success,
                };
                let key = (b.consumer.clone(), b.shard_id.clone());
                let done = s.complete(b.id, outcome.clone(), now).unwrap();
                let processed = match outcome {
                    Outcome::Success => b.records.len(),
                    // ItemFailures is only honoured by the consumer that reports them.
                    Outcome::ItemFailures(_) if b.consumer == "retry" => b.records.len(),
                    _ => done.processed,
                };
                assert_eq!(processed, done.processed);
                let list = ok.entry(key).or_default();
                list.extend(
                    b.records[..processed]
                        .iter()
                        .map(|r| r.sequence_number.clone()),
                );
                for g in done.given_up {
                    let list = dropped.entry((g.consumer, g.shard_id)).or_default();
                    list.extend(g.records.iter().map(|r| r.sequence_number.clone()));
                }
            }
        }
        // Let everything settle with handlers that always succeed.
        for _ in 0..10_000 {
            now += TimeDelta::seconds(3);
            for b in in_flight.drain(..) {
                let key = (b.consumer.clone(), b.shard_id.clone());
                s.complete(b.id, Outcome::Success, now).unwrap();
                ok.entry(key)
                    .or_default()
                    .extend(b.records.iter().map(|r| r.sequence_number.clone()));
            }
            let ready = s.next_batches(now);
            assert!(ready.given_up.is_empty());
            if ready.batches.is_empty() {
                break;
            }
            in_flight.extend(ready.batches);
        }
        assert_eq!(
            s.lag("bisect").unwrap() + s.lag("retry").unwrap(),
            0,
            "seed {seed}"
        );

        for consumer in ["bisect", "retry"] {
            for (shard, seqs) in &put {
                let key = (consumer.to_string(), shard.clone());
                let processed = ok.get(&key).cloned().unwrap_or_default();
                // Successfully processed records come in increasing order per shard.
                assert!(
                    processed.windows(2).all(|w| w[0] < w[1]),
                    "seed {seed}: {consumer} {shard} out of order"
                );
                let lost = dropped.get(&key).cloned().unwrap_or_default();
                for seq in seqs {
                    assert!(
                        processed.contains(seq) || lost.contains(seq),
                        "seed {seed}: {consumer} never got {seq} on {shard}"
                    );
                }
                for seq in processed.iter().chain(&lost) {
                    assert!(seqs.contains(seq), "seed {seed}: invented {seq}");
                }
            }
        }
    }
}
