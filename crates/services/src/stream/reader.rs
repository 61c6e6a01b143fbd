//! Reading a shard the way Kinesis's GetShardIterator and GetRecords do, independently of
//! the Lambda consumers: a reader holds only a position (the counter of the last record
//! it has seen), so reading never moves a consumer's checkpoint.
//!
//! A position is resolved once from an iterator type (TRIM_HORIZON, LATEST,
//! AT/AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP) and then carried by the front end (inside its
//! shard iterator); [`Stream::read`] answers the records after it and where to go next.

use chrono::{DateTime, Utc};

use super::shard::{parse_sequence, Record};
use super::stream::Stream;

/// Where GetShardIterator starts reading a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IteratorStart {
    TrimHorizon,
    Latest,
    AtSequenceNumber(String),
    AfterSequenceNumber(String),
    AtTimestamp(DateTime<Utc>),
}

/// One GetRecords answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBatch {
    pub records: Vec<Record>,
    /// The position after the returned records (unchanged when none were).
    pub next: u64,
    /// How far the newest returned record trails the shard's newest record; 0 when the
    /// reader has caught up.
    pub millis_behind_latest: u64,
}

/// Why a position cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("stream `{stream}` has no shard `{shard}`")]
    UnknownShard { stream: String, shard: String },
    #[error("Invalid StartingSequenceNumber: {0}")]
    BadSequenceNumber(String),
}

impl Stream {
    /// The index of shard `id` (`shardId-000000000000`).
    pub fn shard_index(&self, id: &str) -> Option<usize> {
        self.shards().iter().position(|s| s.id == id)
    }

    /// The position (counter of the last record already seen) an iterator of this type
    /// starts at in shard `shard`. A sequence number must be one this stream issued to
    /// this shard (records since trimmed count: reading resumes at the trim horizon).
    pub fn iterator_position(&self, shard: &str, start: &IteratorStart) -> Result<u64, ReadError> {
        let index = self
            .shard_index(shard)
            .ok_or_else(|| ReadError::UnknownShard {
                stream: self.name().to_string(),
                shard: shard.to_string(),
            })?;
        let shard = &self.shards()[index];
        let sequence = |s: &str| {
            parse_sequence(s)
                .filter(|&seq| {
                    seq >= 1
                        && seq <= self.last_seq()
                        && (seq <= shard.trimmed_through || shard.find(seq).is_some())
                })
                .ok_or_else(|| ReadError::BadSequenceNumber(s.to_string()))
        };
        Ok(match start {
            IteratorStart::TrimHorizon => shard.trimmed_through,
            IteratorStart::Latest => self.last_seq(),
            IteratorStart::AtSequenceNumber(s) => sequence(s)? - 1,
            IteratorStart::AfterSequenceNumber(s) => sequence(s)?,
            IteratorStart::AtTimestamp(t) => shard
                .records()
                .take_while(|r| r.approximate_arrival < *t)
                .last()
                .map_or(shard.trimmed_through, |r| r.seq),
        })
    }

    /// Up to `limit` records of shard `index` after position `after`, oldest first.
    /// Records retention removed are skipped, as Kinesis skips to the trim horizon.
    pub fn read(&self, index: usize, after: u64, limit: usize, now: DateTime<Utc>) -> ReadBatch {
        let Some(shard) = self.shards().get(index) else {
            return ReadBatch {
                records: Vec::new(),
                next: after,
                millis_behind_latest: 0,
            };
        };
        let records: Vec<Record> = shard.after(after).take(limit).cloned().collect();
        let next = records.last().map_or(after, |r| r.seq);
        let unread = shard.after(next).next();
        let millis_behind_latest = match (unread, records.last()) {
            (None, _) => 0,
            (Some(first_unread), last) => {
                let from = last.map_or(first_unread.approximate_arrival, |r| r.approximate_arrival);
                (now - from).num_milliseconds().max(0) as u64
            }
        };
        ReadBatch {
            records,
            next,
            millis_behind_latest,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stream::shard::sequence_string as sequence_number;
    use crate::stream::StreamConfig;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_900_000_000 + seconds, 0).unwrap()
    }

    fn stream(shards: u32) -> Stream {
        let mut config = StreamConfig::new("s");
        config.shards = shards;
        Stream::new(config).unwrap()
    }

    const SHARD: &str = "shardId-000000000000";

    #[test]
    fn pages_through_a_shard_and_reports_how_far_behind() {
        let mut s = stream(1);
        for i in 0..5 {
            s.put("k", vec![i], None, at(i64::from(i))).unwrap();
        }
        let start = s
            .iterator_position(SHARD, &IteratorStart::TrimHorizon)
            .unwrap();
        let first = s.read(0, start, 2, at(10));
        let data: Vec<u8> = first.records.iter().map(|r| r.data[0]).collect();
        assert_eq!(data, [0, 1]);
        // The newest returned arrived at 1 s; now is 10 s and more records wait.
        assert_eq!(first.millis_behind_latest, 9000);
        let rest = s.read(0, first.next, 10, at(10));
        assert_eq!(rest.records.len(), 3);
        assert_eq!(rest.millis_behind_latest, 0);
        let empty = s.read(0, rest.next, 10, at(10));
        assert!(empty.records.is_empty());
        assert_eq!(empty.next, rest.next);
    }

    #[test]
    fn resolves_every_iterator_type() {
        let mut s = stream(1);
        let seqs: Vec<String> = (0..3)
            .map(|i| {
                s.put("k", vec![i], None, at(i64::from(i) * 10))
                    .unwrap()
                    .sequence_number
            })
            .collect();
        let pos = |start: IteratorStart| s.iterator_position(SHARD, &start).unwrap();
        let first_of = |after: u64| {
            s.read(0, after, 1, at(100))
                .records
                .first()
                .map(|r| r.data[0])
        };
        assert_eq!(first_of(pos(IteratorStart::TrimHorizon)), Some(0));
        assert_eq!(first_of(pos(IteratorStart::Latest)), None);
        assert_eq!(
            first_of(pos(IteratorStart::AtSequenceNumber(seqs[1].clone()))),
            Some(1)
        );
        assert_eq!(
            first_of(pos(IteratorStart::AfterSequenceNumber(seqs[1].clone()))),
            Some(2)
        );
        assert_eq!(first_of(pos(IteratorStart::AtTimestamp(at(10)))), Some(1));
        assert_eq!(first_of(pos(IteratorStart::AtTimestamp(at(11)))), Some(2));
        assert_eq!(
            first_of(pos(IteratorStart::AtTimestamp(
                at(0) - chrono::Duration::hours(1)
            ))),
            Some(0)
        );
        // A record put after LATEST was taken is read from it.
        let latest = pos(IteratorStart::Latest);
        s.put("k", vec![9], None, at(50)).unwrap();
        assert_eq!(s.read(0, latest, 10, at(50)).records[0].data, [9]);
    }

    #[test]
    fn refuses_unknown_shards_and_sequence_numbers() {
        let mut s = stream(2);
        let put = s.put("k", vec![1], None, at(0)).unwrap();
        let other = if put.shard_id == SHARD {
            "shardId-000000000001"
        } else {
            SHARD
        };
        let at_seq = |shard: &str, seq: &str| {
            s.iterator_position(shard, &IteratorStart::AtSequenceNumber(seq.into()))
        };
        assert!(at_seq(&put.shard_id, &put.sequence_number).is_ok());
        assert!(matches!(
            at_seq(other, &put.sequence_number),
            Err(ReadError::BadSequenceNumber(_))
        ));
        assert!(at_seq(&put.shard_id, "12").is_err());
        assert!(at_seq(&put.shard_id, &sequence_number(99)).is_err());
        assert!(matches!(
            s.iterator_position("shardId-000000000007", &IteratorStart::Latest),
            Err(ReadError::UnknownShard { .. })
        ));
    }

    #[test]
    fn trimmed_records_are_skipped_and_retention_can_change() {
        let mut s = stream(1);
        let first = s.put("k", vec![1], None, at(0)).unwrap();
        s.put("k", vec![2], None, at(3600 * 20)).unwrap();
        s.trim(at(3600 * 25));
        assert_eq!(s.read(0, 0, 10, at(3600 * 25)).records[0].data, [2]);
        // A trimmed sequence number still starts a reader, at the trim horizon.
        let p = s
            .iterator_position(
                SHARD,
                &IteratorStart::AtSequenceNumber(first.sequence_number),
            )
            .unwrap();
        assert_eq!(s.read(0, p, 10, at(3600 * 25)).records[0].data, [2]);
        s.set_retention(Duration::from_secs(48 * 3600));
        assert_eq!(s.retention(), Duration::from_secs(48 * 3600));
        s.trim(at(3600 * 60));
        assert_eq!(s.read(0, 0, 10, at(3600 * 60)).records.len(), 1);
    }
}
