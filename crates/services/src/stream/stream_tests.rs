//! Unit tests for shards, routing, puts and retention, each driven by explicit `now`.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;
use crate::drain::Pending as _;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}

fn stream(shards: u32, consumers: &[&str]) -> Stream {
    let mut config = StreamConfig::new("events");
    config.shards = shards;
    config.consumers = consumers.iter().map(|c| ConsumerConfig::new(*c)).collect();
    Stream::new(config).expect("valid config")
}

fn ranges(shards: u32) -> Vec<(String, String)> {
    hash_ranges(shards)
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const MAX: &str = "340282366920938463463374607431768211455";

#[test]
fn hash_ranges_match_create_stream() {
    assert_eq!(ranges(1), [("0".to_string(), MAX.to_string())]);
    assert_eq!(
        ranges(2),
        [
            ("0".into(), "170141183460469231731687303715884105727".into()),
            ("170141183460469231731687303715884105728".into(), MAX.into()),
        ]
    );
    assert_eq!(
        ranges(3),
        [
            ("0".into(), "113427455640312821154458202477256070484".into()),
            (
                "113427455640312821154458202477256070485".into(),
                "226854911280625642308916404954512140969".into()
            ),
            ("226854911280625642308916404954512140970".into(), MAX.into()),
        ]
    );
    let four = ranges(4);
    assert_eq!(four[1].0, "85070591730234615865843651857942052864");
    assert_eq!(four[3].1, MAX);
    // Contiguous and complete for any count.
    for n in [1, 2, 3, 5, 7, 16, 100] {
        let r = hash_ranges(n);
        assert_eq!(r.len(), n as usize);
        assert_eq!(r[0].0, 0);
        assert_eq!(r[r.len() - 1].1, u128::MAX);
        for w in r.windows(2) {
            assert_eq!(w[0].1 + 1, w[1].0);
        }
    }
}

#[test]
fn shard_ids_and_description() {
    let s = stream(3, &["c"]);
    let d = s.describe(t0());
    let ids: Vec<&str> = d.shards.iter().map(|s| s.shard_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "shardId-000000000000",
            "shardId-000000000001",
            "shardId-000000000002"
        ]
    );
    assert_eq!(d.shards[2].ending_hash_key, MAX);
    assert_eq!(d.retention_hours, 24);
}

#[test]
fn partition_keys_route_by_md5() {
    // md5("a") = 0cc175b9c0f1b6a831c399e269772661, md5("b") = 92eb5ffee6ae2fec3ad71c777531578f,
    // md5("hello") = 5d41402abc4b2a76b9719d911017c592.
    assert_eq!(
        partition_key_hash("a"),
        0x0cc175b9c0f1b6a831c399e269772661u128
    );
    assert_eq!(
        partition_key_hash("hello"),
        0x5d41402abc4b2a76b9719d911017c592u128
    );
    let mut two = stream(2, &[]);
    // 0x0c.. < 2^127 <= 0x92..
    assert_eq!(
        two.put("a", b"x".to_vec(), None, t0()).unwrap().shard_id,
        "shardId-000000000000"
    );
    assert_eq!(
        two.put("b", b"x".to_vec(), None, t0()).unwrap().shard_id,
        "shardId-000000000001"
    );
    let mut four = stream(4, &[]);
    // Quarters by the top two bits: 0x0c -> 0, 0x5d -> 1, 0x92 -> 2.
    let shard = |s: &mut Stream, k: &str| s.put(k, vec![], None, t0()).unwrap().shard_id;
    assert_eq!(shard(&mut four, "a"), "shardId-000000000000");
    assert_eq!(shard(&mut four, "hello"), "shardId-000000000001");
    assert_eq!(shard(&mut four, "b"), "shardId-000000000002");
    // Same key, same shard, every time.
    for _ in 0..5 {
        assert_eq!(shard(&mut four, "hello"), "shardId-000000000001");
    }
}

#[test]
fn explicit_hash_keys_on_range_boundaries() {
    let mut s = stream(3, &[]);
    let mut put = |key: &str| s.put("ignored", vec![], Some(key.to_string()), t0());
    let shard = |r: Result<PutResult, PutError>| r.expect("routed").shard_id;
    assert_eq!(shard(put("0")), "shardId-000000000000");
    assert_eq!(
        shard(put("113427455640312821154458202477256070484")),
        "shardId-000000000000"
    );
    assert_eq!(
        shard(put("113427455640312821154458202477256070485")),
        "shardId-000000000001"
    );
    assert_eq!(
        shard(put("226854911280625642308916404954512140969")),
        "shardId-000000000001"
    );
    assert_eq!(
        shard(put("226854911280625642308916404954512140970")),
        "shardId-000000000002"
    );
    assert_eq!(shard(put(MAX)), "shardId-000000000002");
    let too_big = put("340282366920938463463374607431768211456").unwrap_err();
    assert!(matches!(too_big, PutError::ExplicitHashKeyOutOfRange(_)));
    assert_eq!(too_big.code(), "InvalidArgumentException");
    for bad in ["", "-1", "+5", "12a", " 1"] {
        assert!(
            matches!(put(bad), Err(PutError::ExplicitHashKeyInvalid(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn put_validates_partition_key_and_size() {
    let mut s = stream(1, &[]);
    assert_eq!(
        s.put("", vec![], None, t0()),
        Err(PutError::PartitionKeyLength { chars: 0 })
    );
    // 256 characters is fine even when multi-byte; 257 is not.
    assert!(s.put("é".repeat(256), vec![], None, t0()).is_ok());
    assert_eq!(
        s.put("k".repeat(257), vec![], None, t0()),
        Err(PutError::PartitionKeyLength { chars: 257 })
    );
    // The partition key counts toward the 1 MiB.
    assert!(s
        .put("k", vec![0; MAX_RECORD_BYTES - 1], None, t0())
        .is_ok());
    let err = s
        .put("kk", vec![0; MAX_RECORD_BYTES - 1], None, t0())
        .unwrap_err();
    assert_eq!(
        err,
        PutError::RecordTooLarge {
            bytes: MAX_RECORD_BYTES + 1
        }
    );
    assert_eq!(err.code(), "ValidationException");
}

#[test]
fn sequence_numbers_increase_per_shard_and_are_fixed_width() {
    let mut s = stream(4, &[]);
    let mut last: std::collections::BTreeMap<String, String> = Default::default();
    for i in 0..200 {
        let r = s.put(format!("key-{i}"), vec![], None, at(i)).unwrap();
        assert_eq!(r.sequence_number.len(), 56);
        assert!(r.sequence_number.bytes().all(|b| b.is_ascii_digit()));
        if let Some(prev) = last.get(&r.shard_id) {
            assert!(r.sequence_number > *prev, "string order is number order");
            let number = |s: &str| super::shard::parse_sequence(s).unwrap();
            assert!(number(&r.sequence_number) > number(prev));
        }
        last.insert(r.shard_id, r.sequence_number);
    }
    assert_eq!(last.len(), 4, "200 keys reach every shard");
}

#[test]
fn put_records_limits_and_partial_failures() {
    let mut s = stream(2, &["c"]);
    let entry = |k: &str, n: usize| PutEntry {
        partition_key: k.to_string(),
        data: vec![1; n],
        explicit_hash_key: None,
    };
    assert_eq!(s.put_records(vec![], t0()), Err(BatchError::Empty));
    let too_many: Vec<PutEntry> = (0..501).map(|i| entry(&i.to_string(), 1)).collect();
    assert_eq!(
        s.put_records(too_many, t0()),
        Err(BatchError::TooManyRecords { count: 501 })
    );
    // 6 records of ~1 MiB: each is fine alone, together over 5 MiB.
    let big: Vec<PutEntry> = (0..6)
        .map(|i| entry(&i.to_string(), MAX_RECORD_BYTES - 1))
        .collect();
    assert!(matches!(
        s.put_records(big, t0()),
        Err(BatchError::RequestTooLarge { .. })
    ));
    assert_eq!(
        s.describe(t0())
            .shards
            .iter()
            .map(|s| s.records)
            .sum::<usize>(),
        0
    );

    let full: Vec<PutEntry> = (0..500).map(|i| entry(&i.to_string(), 1)).collect();
    assert!(s.put_records(full, t0()).unwrap().iter().all(Result::is_ok));

    let mixed = vec![
        entry("ok-1", 10),
        entry("", 10),
        entry("ok-2", MAX_RECORD_BYTES),
        PutEntry {
            explicit_hash_key: Some("nope".into()),
            ..entry("ok-3", 1)
        },
        entry("ok-4", 10),
    ];
    let results = s.put_records(mixed, at(1)).unwrap();
    assert_eq!(results.len(), 5);
    assert!(results[0].is_ok());
    assert!(matches!(
        results[1],
        Err(PutError::PartitionKeyLength { .. })
    ));
    assert!(matches!(results[2], Err(PutError::RecordTooLarge { .. })));
    assert!(matches!(
        results[3],
        Err(PutError::ExplicitHashKeyInvalid(_))
    ));
    assert!(results[4].is_ok());
    assert_eq!(s.lag("c").unwrap(), 502);
}

#[test]
fn retention_trims_by_time_and_reports_lost_records() {
    let mut config = StreamConfig::new("events");
    config.retention = Duration::from_secs(3600);
    config.consumers = vec![ConsumerConfig::new("fast"), ConsumerConfig::new("slow")];
    let mut s = Stream::new(config).unwrap();
    for i in 0..3 {
        s.put("k", vec![i], None, at(i64::from(i) * 600)).unwrap();
    }
    // `fast` processes everything; `slow` never gets to it.
    let ready = s.next_batches(at(1200));
    for b in ready.batches {
        if b.consumer == "fast" {
            s.complete(b.id, Outcome::Success, at(1201)).unwrap();
        }
    }
    assert_eq!(s.next_change(at(1201)), Some(at(3600)));
    // Nothing is old enough yet.
    assert_eq!(s.trim(at(3599)), TrimReport::default());
    // At 3600 s the first record has been kept for the full hour.
    let report = s.trim(at(3600));
    assert_eq!(
        report.removed,
        [ShardTrim {
            shard_id: "shardId-000000000000".into(),
            records: 1
        }]
    );
    // `slow` has a batch in flight with all three: the first is lost to it.
    assert_eq!(report.lost.len(), 1);
    assert_eq!(report.lost[0].consumer, "slow");
    assert_eq!(report.lost[0].records, 1);
    assert_eq!(s.describe(at(3600)).shards[0].records, 2);

    // The in-flight batch of `slow` fails: only the two retained records are retried.
    let slow_batch = s.describe(at(3600)).consumers[1].shards[0]
        .in_flight
        .clone()
        .unwrap();
    let done = s
        .complete(slow_batch.batch_id, Outcome::Failure, at(3601))
        .unwrap();
    assert_eq!(done.retrying, 2);
    // Everything else expires unread by `slow`.
    let report = s.trim(at(2 * 3600));
    assert_eq!(report.lost[0].records, 2);
    assert_eq!(s.lag("slow").unwrap(), 0);
    assert_eq!(s.lag("fast").unwrap(), 0);
    assert!(s.next_batches(at(7201)).batches.is_empty());
}

#[test]
fn trimming_unread_records_moves_the_checkpoint_to_the_trim_horizon() {
    let mut config = StreamConfig::new("events");
    config.retention = Duration::from_secs(60);
    config.consumers = vec![ConsumerConfig::new("c")];
    let mut s = Stream::new(config).unwrap();
    s.put("k", b"old".to_vec(), None, at(0)).unwrap();
    s.put("k", b"new".to_vec(), None, at(30)).unwrap();
    let ready = s.next_batches(at(70));
    assert_eq!(ready.trimmed.lost[0].records, 1);
    assert_eq!(ready.batches.len(), 1);
    assert_eq!(ready.batches[0].records.len(), 1);
    assert_eq!(ready.batches[0].records[0].data, b"new");
}

#[test]
fn config_errors_are_clear() {
    let mut c = StreamConfig::new("s");
    c.shards = 0;
    assert!(Stream::new(c).unwrap_err().to_string().contains("0 shards"));
    let mut c = StreamConfig::new("s");
    c.consumers = vec![ConsumerConfig::new("a"), ConsumerConfig::new("a")];
    assert!(Stream::new(c)
        .unwrap_err()
        .to_string()
        .contains("two consumers"));
    let mut c = StreamConfig::new("s");
    let mut consumer = ConsumerConfig::new("a");
    consumer.batch_size = 0;
    c.consumers = vec![consumer];
    assert!(Stream::new(c)
        .unwrap_err()
        .to_string()
        .contains("batch size"));
}

#[test]
fn drain_report_per_consumer() {
    let mut config = StreamConfig::new("events");
    let mut windowed = ConsumerConfig::new("windowed");
    windowed.batching_window = Duration::from_secs(10);
    config.consumers = vec![ConsumerConfig::new("eager"), windowed];
    let mut s = Stream::new(config).unwrap();
    s.put("k", vec![], None, at(0)).unwrap();
    s.put("k", vec![], None, at(1)).unwrap();
    let pending = s.pending(at(2));
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].resource, "events/eager");
    assert_eq!(pending[0].service, "stream");
    assert_eq!((pending[0].due_now, pending[0].scheduled_later), (2, 0));
    assert_eq!((pending[1].due_now, pending[1].scheduled_later), (0, 2));
    assert_eq!(pending[1].next_due, Some(at(10)));
    let ready = s.next_batches(at(2));
    assert_eq!(ready.batches.len(), 1);
    // In flight counts as later work.
    let pending = s.pending(at(2));
    assert_eq!((pending[0].due_now, pending[0].scheduled_later), (0, 2));
    s.complete(ready.batches[0].id, Outcome::Success, at(3))
        .unwrap();
    let pending = s.pending(at(10));
    assert_eq!((pending[0].due_now, pending[0].scheduled_later), (0, 0));
    assert_eq!((pending[1].due_now, pending[1].scheduled_later), (2, 0));
}

#[test]
fn streams_by_name() {
    let mut a = StreamConfig::new("a");
    a.consumers = vec![ConsumerConfig::new("c")];
    let mut streams = Streams::new(vec![a, StreamConfig::new("b")]).unwrap();
    assert!(Streams::new(vec![StreamConfig::new("x"), StreamConfig::new("x")]).is_err());
    assert_eq!(streams.names(), ["a", "b"]);
    streams.put("a", "k", b"1".to_vec(), None, at(0)).unwrap();
    assert!(matches!(
        streams.put("zzz", "k", vec![], None, at(0)),
        Err(StreamsError::UnknownStream(_))
    ));
    assert!(matches!(
        streams.put("a", "", vec![], None, at(0)),
        Err(StreamsError::Put(PutError::PartitionKeyLength { .. }))
    ));
    assert_eq!(streams.next_change(at(0)), Some(at(0)));
    let ready = streams.next_batches(at(0));
    assert_eq!(ready.batches.len(), 1);
    assert_eq!(ready.batches[0].stream, "a");
    assert_eq!(streams.pending(at(0))[0].scheduled_later, 1);
    streams
        .complete("a", ready.batches[0].id, Outcome::Success, at(0))
        .unwrap();
    assert_eq!(streams.pending(at(0))[0].scheduled_later, 0);
    assert_eq!(streams.describe(at(0)).len(), 2);
}

#[test]
fn has_due_agrees_with_the_drain_report() {
    let mut config = StreamConfig::new("events");
    let mut windowed = ConsumerConfig::new("windowed");
    windowed.batching_window = Duration::from_secs(10);
    let mut small = ConsumerConfig::new("small");
    small.batch_size = 2;
    small.batching_window = Duration::from_secs(100);
    config.consumers = vec![windowed, small];
    let mut s = Stream::new(config).unwrap();
    let agrees = |s: &Stream, now| {
        let report = s.pending(now).iter().any(|p| p.due_now > 0);
        assert_eq!(s.has_due(now), report, "at {now}");
        report
    };
    assert!(!agrees(&s, at(0)));
    s.put("k", vec![], None, at(0)).unwrap();
    // Neither window has ended and neither batch is full.
    assert!(!agrees(&s, at(5)));
    // A full batch is due at once.
    s.put("k", vec![], None, at(6)).unwrap();
    assert!(agrees(&s, at(6)));
    let ready = s.next_batches(at(6));
    assert_eq!(ready.batches.len(), 1);
    // In flight: not due, and the other consumer's window is still open.
    assert!(!agrees(&s, at(9)));
    assert!(agrees(&s, at(10)));
    s.complete(ready.batches[0].id, Outcome::Success, at(11))
        .unwrap();
    assert!(agrees(&s, at(11)));
}
