//! One shard of a Kinesis data stream: its hash-key range and its retained records.
//!
//! Kinesis routes a record by the MD5 of its partition key read as a big-endian 128-bit
//! unsigned integer (or by an explicit hash key), to the shard whose inclusive
//! `[StartingHashKey, EndingHashKey]` range holds it. CreateStream splits `0..=2^128-1`
//! evenly: shard `i` starts at `i * floor(2^128 / n)` and the last shard ends at `2^128-1`,
//! which is what `DescribeStream` shows for a new stream.
//!
//! Sequence numbers are 56-digit decimal strings like Kinesis's, built from one counter per
//! stream, so they are fixed-width (string order is number order) and strictly increasing
//! within a shard and across the stream.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};

/// Width of a sequence number, as Kinesis prints them.
const SEQUENCE_DIGITS: usize = 56;
/// Kinesis sequence numbers of a new stream begin with `49`; ours do too.
const SEQUENCE_PREFIX: &str = "49";

/// One stored data record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The 56-digit sequence number.
    pub sequence_number: String,
    pub partition_key: String,
    pub data: Vec<u8>,
    /// When the record was put (Kinesis's `ApproximateArrivalTimestamp`).
    pub approximate_arrival: DateTime<Utc>,
    /// The counter behind `sequence_number`; ordering and checkpoints use it.
    pub(crate) seq: u64,
}

impl Record {
    /// A record read from another Kinesis (a remote stream), so the Lambda event is built
    /// by [`super::lambda::kinesis_event`] as for a local one. Its sequence number is
    /// Kinesis's own; the local counter (never compared for such records) is 0.
    pub fn received(
        sequence_number: String,
        partition_key: String,
        data: Vec<u8>,
        approximate_arrival: DateTime<Utc>,
    ) -> Record {
        Record {
            sequence_number,
            partition_key,
            data,
            approximate_arrival,
            seq: 0,
        }
    }
}

/// The sequence number string for counter value `seq`.
pub fn sequence_string(seq: u64) -> String {
    let width = SEQUENCE_DIGITS - SEQUENCE_PREFIX.len();
    format!("{SEQUENCE_PREFIX}{seq:0width$}")
}

/// The counter behind a sequence number this stream issued, or `None` for anything else.
pub(crate) fn parse_sequence(s: &str) -> Option<u64> {
    if s.len() != SEQUENCE_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix(SEQUENCE_PREFIX)?.parse().ok()
}

/// `shardId-000000000000` for shard index 0.
pub fn shard_id(index: usize) -> String {
    format!("shardId-{index:012}")
}

/// The 128-bit hash Kinesis routes a partition key by: MD5 of its UTF-8 bytes, big-endian.
pub fn partition_key_hash(partition_key: &str) -> u128 {
    u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into())
}

/// The inclusive hash-key ranges CreateStream gives `count` shards.
pub fn hash_ranges(count: u32) -> Vec<(u128, u128)> {
    let n = u128::from(count.max(1));
    // floor(2^128 / n) without overflowing: floor((MAX + 1) / n) is floor(MAX / n), plus one
    // when n divides 2^128 (then MAX % n == n - 1). For n == 1 the single range is all keys.
    let step = if n == 1 {
        0
    } else {
        u128::MAX / n + u128::from(u128::MAX % n == n - 1)
    };
    (0..n)
        .map(|i| {
            let start = i * step;
            let end = if i + 1 == n {
                u128::MAX
            } else {
                (i + 1) * step - 1
            };
            (start, end)
        })
        .collect()
}

/// One shard: its range and the records still within retention, oldest first.
#[derive(Debug, Clone)]
pub struct Shard {
    pub id: String,
    pub starting_hash_key: u128,
    pub ending_hash_key: u128,
    pub(crate) records: VecDeque<Record>,
    /// The counter of the newest record removed by retention (0 if none was).
    pub(crate) trimmed_through: u64,
}

impl Shard {
    pub(crate) fn new(index: usize, (start, end): (u128, u128)) -> Self {
        Shard {
            id: shard_id(index),
            starting_hash_key: start,
            ending_hash_key: end,
            records: VecDeque::new(),
            trimmed_through: 0,
        }
    }

    pub(crate) fn contains_hash(&self, hash: u128) -> bool {
        (self.starting_hash_key..=self.ending_hash_key).contains(&hash)
    }

    /// Retained records, oldest first.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.iter()
    }

    /// Retained records with counter above `after`, oldest first.
    pub(crate) fn after(&self, after: u64) -> impl Iterator<Item = &Record> {
        let start = self.records.partition_point(|r| r.seq <= after);
        self.records.range(start..)
    }

    pub(crate) fn count_after(&self, after: u64) -> usize {
        self.records.len() - self.records.partition_point(|r| r.seq <= after)
    }

    pub(crate) fn find(&self, seq: u64) -> Option<&Record> {
        let i = self.records.partition_point(|r| r.seq < seq);
        self.records.get(i).filter(|r| r.seq == seq)
    }

    /// Removes records that arrived at or before `cutoff`; returns them oldest first.
    pub(crate) fn trim(&mut self, cutoff: DateTime<Utc>) -> Vec<Record> {
        let mut removed = Vec::new();
        while self
            .records
            .front()
            .is_some_and(|r| r.approximate_arrival <= cutoff)
        {
            if let Some(r) = self.records.pop_front() {
                self.trimmed_through = r.seq;
                removed.push(r);
            }
        }
        removed
    }
}
