//! A stream's durable image: what a store writes so a stream's records and its consumers'
//! checkpoints survive a restart, and the way back from it.
//!
//! The stream stays a pure state machine that writes nothing. When a store asks for it
//! ([`Stream::set_journal`]), the stream notes what each operation changed: the records
//! put (by shard and sequence counter), that retention trimmed something, that a
//! consumer's cursors moved. [`Stream::take_changes`] hands over exactly that — the new
//! records, how far each shard is trimmed, and the consumers' cursors (a few numbers per
//! shard, written whole) — so a put writes its records, not the stream.
//! [`Stream::restore`] rebuilds the stream from what was written.
//!
//! Batches in flight are not stored: a batch is taken from the front of its shard's
//! retries (or is the next records after the checkpoint), so the image puts it back at
//! the front of the retries, and after a restart it is invoked again (at-least-once, as
//! Lambda's event source mapping is).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::super::consumer::Pending;
use super::super::shard::Record;
use super::{ConfigError, Stream, StreamConfig, StreamMeta};

/// What changed since the last [`Stream::take_changes`].
#[derive(Debug, Clone, Default)]
pub(super) struct Journal {
    /// Records put: (shard index, sequence counter).
    appended: Vec<(usize, u64)>,
    /// Retention removed records from some shard.
    trimmed: bool,
    /// Some consumer's checkpoints, retries or positions changed.
    cursors: bool,
}

/// One stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub shard: u32,
    pub seq: u64,
    pub partition_key: String,
    /// Base64, so the JSON stays compact and readable.
    #[serde(with = "base64_data")]
    pub data: Vec<u8>,
    pub arrival: DateTime<Utc>,
}

/// The stream's counters: the newest sequence counter issued and, per shard, the counter
/// of the newest record retention removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHead {
    pub last_seq: u64,
    pub trimmed_through: Vec<u64>,
}

/// Records waiting for another invocation, by their counters within the shard (the
/// records themselves are the shard's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRetry {
    pub first: u64,
    pub last: u64,
    pub retries: u32,
    pub invocations: u32,
    pub not_before: DateTime<Utc>,
}

/// One consumer's reading state in one shard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCursor {
    pub checkpoint: u64,
    pub skip_before: Option<DateTime<Utc>>,
    pub retries: Vec<StoredRetry>,
}

/// One consumer's cursors, a cursor per shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConsumer {
    pub name: String,
    pub cursors: Vec<StoredCursor>,
}

/// What the Kinesis API shows of a stream beyond its records (see [`StreamMeta`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMeta {
    pub created_at: DateTime<Utc>,
    pub on_demand: bool,
    pub tags: BTreeMap<String, String>,
}

/// A stream's settings and API facts, as the catalog stores them. `declared` says whether
/// the manifest declared it when it was written (else the Kinesis API made it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEntry {
    pub config: StreamConfig,
    pub meta: StoredMeta,
    pub declared: bool,
}

/// What a store must write for one stream: with `whole`, replace everything it holds for
/// the stream; otherwise add `records`, remove each shard's records up to
/// `head.trimmed_through`, and replace the consumers' cursors when `consumers` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamChanges {
    pub whole: bool,
    pub head: StreamHead,
    pub records: Vec<StoredRecord>,
    pub trimmed: bool,
    pub consumers: Option<Vec<StoredConsumer>>,
}

impl Stream {
    /// Starts (or stops) noting changes for [`Stream::take_changes`]. Starting says the
    /// store already holds this stream as it is now.
    pub fn set_journal(&mut self, on: bool) {
        self.journal = on.then(Box::default);
    }

    pub fn is_journaled(&self) -> bool {
        self.journal.is_some()
    }

    pub(super) fn note_append(&mut self, shard: usize, seq: u64) {
        if let Some(journal) = &mut self.journal {
            journal.appended.push((shard, seq));
        }
    }

    pub(super) fn note_trim(&mut self) {
        if let Some(journal) = &mut self.journal {
            journal.trimmed = true;
            journal.cursors = true;
        }
    }

    pub(super) fn note_cursors(&mut self) {
        if let Some(journal) = &mut self.journal {
            journal.cursors = true;
        }
    }

    /// What changed since the last call (nothing when journaling is off or nothing did).
    pub fn take_changes(&mut self) -> Option<StreamChanges> {
        let journal = self.journal.as_mut()?;
        if journal.appended.is_empty() && !journal.trimmed && !journal.cursors {
            return None;
        }
        let journal = std::mem::take(&mut **journal);
        let records = journal
            .appended
            .iter()
            .filter_map(|&(shard, seq)| {
                let record = self.shards.get(shard)?.find(seq)?;
                Some(stored_record(shard, record))
            })
            .collect();
        Some(StreamChanges {
            whole: false,
            head: self.head(),
            records,
            trimmed: journal.trimmed,
            consumers: journal.cursors.then(|| self.stored_consumers()),
        })
    }

    /// The whole stream, as [`StreamChanges`] with `whole` set.
    pub fn image(&self) -> StreamChanges {
        StreamChanges {
            whole: true,
            head: self.head(),
            records: self
                .shards
                .iter()
                .enumerate()
                .flat_map(|(i, shard)| shard.records().map(move |r| stored_record(i, r)))
                .collect(),
            trimmed: false,
            consumers: Some(self.stored_consumers()),
        }
    }

    /// The settings the stream runs with (its consumers' included).
    pub fn config(&self) -> StreamConfig {
        StreamConfig {
            name: self.name.clone(),
            shards: self.shards.len() as u32,
            retention: self.retention,
            consumers: self.consumers.iter().map(|c| c.config.clone()).collect(),
        }
    }

    /// Its catalog entry (`declared`: whether the manifest declares it).
    pub fn entry(&self, declared: bool) -> StreamEntry {
        StreamEntry {
            config: self.config(),
            meta: StoredMeta {
                created_at: self.meta.created_at,
                on_demand: self.meta.on_demand,
                tags: self.meta.tags.clone(),
            },
            declared,
        }
    }

    fn head(&self) -> StreamHead {
        StreamHead {
            last_seq: self.last_seq,
            trimmed_through: self.shards.iter().map(|s| s.trimmed_through).collect(),
        }
    }

    fn stored_consumers(&self) -> Vec<StoredConsumer> {
        self.consumers
            .iter()
            .enumerate()
            .map(|(ci, consumer)| StoredConsumer {
                name: consumer.config.name.clone(),
                cursors: consumer
                    .cursors
                    .iter()
                    .enumerate()
                    .map(|(si, cursor)| {
                        // A batch in flight goes back in front of the retries: after a
                        // restart it is invoked again.
                        let flying = cursor
                            .busy
                            .and_then(|id| self.in_flight.get(&id))
                            .filter(|f| f.consumer == ci && f.shard == si && !f.stale)
                            .map(|f| &f.pending);
                        StoredCursor {
                            checkpoint: cursor.checkpoint,
                            skip_before: cursor.skip_before,
                            retries: flying
                                .into_iter()
                                .chain(cursor.retries.iter())
                                .filter_map(stored_retry)
                                .collect(),
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    /// A stream as it was stored: `config` with the consumers it runs with now (cursors
    /// are matched by consumer name; a consumer with none stored starts at its starting
    /// position), its records and counters. Batches that were in flight are retried.
    pub fn restore(
        config: StreamConfig,
        meta: StoredMeta,
        head: StreamHead,
        records: Vec<StoredRecord>,
        consumers: Vec<StoredConsumer>,
    ) -> Result<Stream, ConfigError> {
        let mut stream = Stream::new(config)?;
        stream.meta = StreamMeta {
            created_at: meta.created_at,
            on_demand: meta.on_demand,
            tags: meta.tags,
            ..StreamMeta::default()
        };
        let mut last_seq = head.last_seq;
        for r in records {
            last_seq = last_seq.max(r.seq);
            let Some(shard) = stream.shards.get_mut(r.shard as usize) else {
                continue;
            };
            shard.records.push_back(Record {
                sequence_number: super::sequence_string(r.seq),
                partition_key: r.partition_key,
                data: r.data,
                approximate_arrival: r.arrival,
                seq: r.seq,
            });
        }
        for (shard, through) in stream.shards.iter_mut().zip(&head.trimmed_through) {
            shard.records.make_contiguous().sort_by_key(|r| r.seq);
            shard.trimmed_through = *through;
        }
        stream.last_seq = last_seq;
        for consumer in &mut stream.consumers {
            let Some(stored) = consumers.iter().find(|c| c.name == consumer.config.name) else {
                // Starts where its starting position says, among the restored records.
                *consumer = super::super::consumer::Consumer::new(
                    consumer.config.clone(),
                    &stream.shards,
                    last_seq,
                );
                continue;
            };
            for ((cursor, saved), shard) in consumer
                .cursors
                .iter_mut()
                .zip(&stored.cursors)
                .zip(&stream.shards)
            {
                cursor.checkpoint = saved.checkpoint;
                cursor.skip_before = saved.skip_before;
                cursor.retries = saved
                    .retries
                    .iter()
                    .filter_map(|r| {
                        let records: Vec<Record> = shard
                            .after(r.first.saturating_sub(1).max(saved.checkpoint))
                            .take_while(|rec| rec.seq <= r.last)
                            .cloned()
                            .collect();
                        (!records.is_empty()).then_some(Pending {
                            records,
                            retries: r.retries,
                            invocations: r.invocations,
                            not_before: r.not_before,
                        })
                    })
                    .collect();
            }
        }
        Ok(stream)
    }
}

fn stored_record(shard: usize, r: &Record) -> StoredRecord {
    StoredRecord {
        shard: shard as u32,
        seq: r.seq,
        partition_key: r.partition_key.clone(),
        data: r.data.clone(),
        arrival: r.approximate_arrival,
    }
}

fn stored_retry(p: &Pending) -> Option<StoredRetry> {
    Some(StoredRetry {
        first: p.records.first()?.seq,
        last: p.records.last()?.seq,
        retries: p.retries,
        invocations: p.invocations,
        not_before: p.not_before,
    })
}

mod base64_data {
    use base64::Engine as _;

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeDelta, TimeZone};

    use super::super::super::consumer::{ConsumerConfig, Outcome};
    use super::*;

    /// A store in miniature: applies changes the way a real one must.
    #[derive(Default)]
    struct Model {
        head: StreamHead,
        records: BTreeMap<(u32, u64), StoredRecord>,
        consumers: Vec<StoredConsumer>,
    }

    impl Model {
        fn apply(&mut self, c: StreamChanges) {
            if c.whole {
                self.records.clear();
            }
            if c.trimmed {
                for (shard, through) in c.head.trimmed_through.iter().enumerate() {
                    self.records
                        .retain(|(s, seq), _| *s != shard as u32 || seq > through);
                }
            }
            self.head = c.head;
            for r in c.records {
                self.records.insert((r.shard, r.seq), r);
            }
            if let Some(consumers) = c.consumers {
                self.consumers = consumers;
            }
        }

        fn restore(&self, config: StreamConfig) -> Stream {
            let meta = StoredMeta {
                created_at: DateTime::UNIX_EPOCH,
                on_demand: false,
                tags: BTreeMap::new(),
            };
            Stream::restore(
                config,
                meta,
                self.head.clone(),
                self.records.values().cloned().collect(),
                self.consumers.clone(),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        }
    }

    fn config() -> StreamConfig {
        let mut config = StreamConfig::new("events");
        config.shards = 2;
        let mut c = ConsumerConfig::new("echo");
        c.batch_size = 2;
        config.consumers = vec![c];
        config
    }

    #[test]
    fn changes_applied_in_order_restore_records_checkpoints_and_batches_in_flight() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut s = Stream::new(config()).unwrap();
        let mut model = Model::default();
        model.apply(s.image());
        s.set_journal(true);
        for i in 0..6 {
            s.put(format!("k{i}"), vec![i], None, t0).unwrap();
        }
        model.apply(s.take_changes().unwrap());
        // One batch per shard: one succeeds, the other fails and is retried; then the
        // retry is taken (in flight) when the "crash" comes.
        let ready = s.next_batches(t0);
        let mut batches = ready.batches.into_iter();
        let (ok, failed) = (batches.next().unwrap(), batches.next().unwrap());
        s.complete(ok.id, Outcome::Success, t0).unwrap();
        s.complete(failed.id, Outcome::Failure, t0).unwrap();
        let later = t0 + TimeDelta::seconds(1);
        let flying = s.next_batches(later);
        model.apply(s.take_changes().unwrap());
        assert!(s.take_changes().is_none(), "nothing changed since");

        let mut back = model.restore(config());
        assert_eq!(back.describe(later).shards, s.describe(later).shards);
        assert_eq!(back.lag("echo"), s.lag("echo"));
        // The batch in flight comes again, with the same records, as a retry.
        let again = back.next_batches(later);
        let records = |b: &super::super::super::consumer::Batch| -> Vec<String> {
            b.records
                .iter()
                .map(|r| r.sequence_number.clone())
                .collect()
        };
        let failed_again = again
            .batches
            .iter()
            .find(|b| b.shard_id == failed.shard_id)
            .unwrap();
        assert_eq!(records(failed_again), records(&failed));
        // The invocation the crash cut off counts as one.
        assert_eq!(failed_again.attempt, 3);
        assert!(flying
            .batches
            .iter()
            .any(|b| records(b) == records(&failed)));
        // New records continue the sequence.
        let next = back.put("k", vec![9], None, later).unwrap();
        assert!(next.sequence_number > s.shards()[0].records().last().unwrap().sequence_number);
    }

    #[test]
    fn retention_reaches_the_store() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut config = config();
        config.consumers.clear();
        let mut s = Stream::new(config.clone()).unwrap();
        let mut model = Model::default();
        s.set_journal(true);
        s.put("a", vec![1], None, t0).unwrap();
        let day = t0 + TimeDelta::hours(24);
        s.put("a", vec![2], None, day).unwrap();
        model.apply(s.take_changes().unwrap());
        assert_eq!(model.records.len(), 2);
        s.trim(day);
        model.apply(s.take_changes().unwrap());
        assert_eq!(model.records.len(), 1);
        let back = model.restore(config);
        assert_eq!(back.describe(day).shards, s.describe(day).shards);
    }
}
