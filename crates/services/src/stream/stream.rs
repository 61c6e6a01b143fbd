//! One Kinesis data stream: its shards, its records within retention, and the Lambda
//! consumers reading it ([`super::consumer`]).
//!
//! Writes follow PutRecord/PutRecords: a partition key of 1..=256 characters, a record
//! (partition key bytes + data) of at most 1 MiB, at most 500 records and 5 MiB per
//! PutRecords. Retention removes records that arrived `retention` or longer ago; a consumer
//! that had not finished them is told how many it lost, so retention never drops work
//! silently.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::consumer::{
    to_delta, Batch, Completion, Consumer, ConsumerConfig, GivenUp, Outcome, Pending, Position,
};
use super::shard::{hash_ranges, partition_key_hash, sequence_string, Record, Shard};
use crate::drain::{Pending as PendingTrait, PendingWork};

/// Largest record: partition key bytes plus data.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Largest PutRecords request, partition keys included.
pub const MAX_REQUEST_BYTES: usize = 5 * 1024 * 1024;
/// Most records in one PutRecords request.
pub const MAX_BATCH_ENTRIES: usize = 500;
/// Longest partition key, in characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;
/// Most shards a sandbox stream may have (Kinesis's default per-account quota is far
/// higher, but every consumer keeps a cursor per shard).
pub const MAX_SHARDS: u32 = 1024;

/// A stream as the app declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StreamConfig {
    pub name: String,
    pub shards: u32,
    /// How long records stay readable (Kinesis: 24 hours to 365 days).
    pub retention: Duration,
    pub consumers: Vec<ConsumerConfig>,
}

impl StreamConfig {
    /// One shard, 24 hours of retention, no consumers.
    pub fn new(name: impl Into<String>) -> Self {
        StreamConfig {
            name: name.into(),
            shards: 1,
            retention: Duration::from_secs(24 * 3600),
            consumers: Vec::new(),
        }
    }
}

/// A stream configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stream `{stream}`: {reason}")]
pub struct ConfigError {
    pub stream: String,
    pub reason: String,
}

/// Why one record was not written. AWS answers most of these with a `ValidationException`
/// for the whole request; [`PutError::code`] gives the AWS error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutError {
    #[error("the partition key must be 1 to 256 characters long, got {chars}")]
    PartitionKeyLength { chars: usize },
    #[error("the record is {bytes} bytes (partition key + data); the limit is 1 MiB ({MAX_RECORD_BYTES} bytes)")]
    RecordTooLarge { bytes: usize },
    #[error("the explicit hash key `{0}` is not a decimal integer")]
    ExplicitHashKeyInvalid(String),
    #[error("the explicit hash key `{0}` is outside 0..=2^128-1")]
    ExplicitHashKeyOutOfRange(String),
}

impl PutError {
    /// The AWS error code for this failure.
    pub fn code(&self) -> &'static str {
        match self {
            PutError::ExplicitHashKeyOutOfRange(_) => "InvalidArgumentException",
            _ => "ValidationException",
        }
    }
}

/// Why a whole PutRecords request was refused (nothing written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("PutRecords needs at least one record")]
    Empty,
    #[error("PutRecords takes at most {MAX_BATCH_ENTRIES} records, got {count}")]
    TooManyRecords { count: usize },
    #[error("the PutRecords request is {bytes} bytes (partition keys + data); the limit is 5 MiB ({MAX_REQUEST_BYTES} bytes)")]
    RequestTooLarge { bytes: usize },
}

/// Errors of the consumer-facing calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("stream `{stream}` has no batch {batch} in flight")]
    UnknownBatch { stream: String, batch: u64 },
    #[error("stream `{stream}` has no consumer `{consumer}`")]
    UnknownConsumer { stream: String, consumer: String },
    #[error("stream `{stream}`: {reason}")]
    SequenceNumberNotFound { stream: String, reason: String },
}

/// Where a put record went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PutResult {
    pub shard_id: String,
    pub sequence_number: String,
}

/// One record of a PutRecords request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutEntry {
    pub partition_key: String,
    pub data: Vec<u8>,
    pub explicit_hash_key: Option<String>,
}

/// Ready work from [`Stream::next_batches`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ready {
    /// Invoke each consumer's function with these, then call [`Stream::complete`].
    pub batches: Vec<Batch>,
    /// Records given up before invocation (`RecordAgeExceeded`).
    pub given_up: Vec<GivenUp>,
    /// What retention removed first.
    pub trimmed: TrimReport,
}

/// What [`Stream::trim`] removed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TrimReport {
    /// Records removed per shard (shards with none removed are left out).
    pub removed: Vec<ShardTrim>,
    /// Records consumers had not finished when retention removed them.
    pub lost: Vec<LostToRetention>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShardTrim {
    pub shard_id: String,
    pub records: usize,
}

/// Records a consumer never finished, removed by retention. Its checkpoint moved to the
/// trim horizon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostToRetention {
    pub consumer: String,
    pub shard_id: String,
    pub records: usize,
    pub first_sequence_number: String,
    pub last_sequence_number: String,
}

/// The stream as `describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamDescription {
    pub name: String,
    pub retention_hours: u64,
    pub shards: Vec<ShardDescription>,
    pub consumers: Vec<ConsumerDescription>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShardDescription {
    pub shard_id: String,
    pub starting_hash_key: String,
    pub ending_hash_key: String,
    /// Records within retention.
    pub records: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsumerDescription {
    pub name: String,
    /// Records not yet done, all shards together.
    pub lag: usize,
    pub shards: Vec<CursorDescription>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CursorDescription {
    pub shard_id: String,
    /// Reading resumes after this sequence number; `None` = at the stream's beginning.
    pub checkpoint: Option<String>,
    /// Records after the checkpoint.
    pub lag: usize,
    pub in_flight: Option<InFlightDescription>,
    /// Failed record groups waiting for a retry (two after a bisect).
    pub retry_batches: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InFlightDescription {
    pub batch_id: u64,
    pub records: usize,
    pub attempt: u32,
    pub first_sequence_number: String,
    pub last_sequence_number: String,
}

#[derive(Debug, Clone)]
struct InFlight {
    consumer: usize,
    shard: usize,
    pending: Pending,
    /// `set_position` moved the consumer meanwhile: the outcome no longer matters.
    stale: bool,
}

/// What the Kinesis API shows of a stream beyond its records: when it was created, its
/// capacity mode and tags. Front ends set it; the state machine only keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamMeta {
    pub created_at: DateTime<Utc>,
    /// `ON_DEMAND` rather than `PROVISIONED` (the shard count is fixed either way).
    pub on_demand: bool,
    pub tags: BTreeMap<String, String>,
    /// Unique among every stream this process made, so a shard iterator of a deleted
    /// stream never reads a new stream of the same name.
    pub incarnation: u64,
}

impl Default for StreamMeta {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StreamMeta {
            created_at: DateTime::UNIX_EPOCH,
            on_demand: false,
            tags: BTreeMap::new(),
            incarnation: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// One stream with its consumers.
#[derive(Debug, Clone)]
pub struct Stream {
    name: String,
    retention: Duration,
    meta: StreamMeta,
    shards: Vec<Shard>,
    consumers: Vec<Consumer>,
    /// Counter of the newest sequence number issued.
    last_seq: u64,
    next_batch_id: u64,
    in_flight: BTreeMap<u64, InFlight>,
    /// What changed since a store last looked; only kept when a store asked
    /// (`--state`, see [`image`]).
    journal: Option<Box<image::Journal>>,
}

impl Stream {
    pub fn new(config: StreamConfig) -> Result<Self, ConfigError> {
        let fail = |reason: String| ConfigError {
            stream: config.name.clone(),
            reason,
        };
        if !(1..=MAX_SHARDS).contains(&config.shards) {
            return Err(fail(format!(
                "{} shards is outside 1..={MAX_SHARDS}",
                config.shards
            )));
        }
        if config.retention.is_zero() {
            return Err(fail("retention must be longer than zero".into()));
        }
        for (i, c) in config.consumers.iter().enumerate() {
            c.validate().map_err(&fail)?;
            if config.consumers[..i].iter().any(|o| o.name == c.name) {
                return Err(fail(format!("two consumers are named `{}`", c.name)));
            }
        }
        let shards: Vec<Shard> = hash_ranges(config.shards)
            .into_iter()
            .enumerate()
            .map(|(i, range)| Shard::new(i, range))
            .collect();
        let consumers = config
            .consumers
            .into_iter()
            .map(|c| Consumer::new(c, &shards, 0))
            .collect();
        Ok(Stream {
            name: config.name,
            retention: config.retention,
            meta: StreamMeta::default(),
            shards,
            consumers,
            last_seq: 0,
            next_batch_id: 1,
            in_flight: BTreeMap::new(),
            journal: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    pub fn has_consumers(&self) -> bool {
        !self.consumers.is_empty()
    }

    pub fn meta(&self) -> &StreamMeta {
        &self.meta
    }

    pub fn meta_mut(&mut self) -> &mut StreamMeta {
        &mut self.meta
    }

    /// The stream as created at `now`.
    pub fn created_at(mut self, now: DateTime<Utc>) -> Self {
        self.meta.created_at = now;
        self
    }

    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// Increase/DecreaseStreamRetentionPeriod: records older than the new period go at
    /// the next trim (bounds are the front end's to check).
    pub fn set_retention(&mut self, retention: Duration) {
        if !retention.is_zero() {
            self.retention = retention;
        }
    }

    /// Gives a stream that has no consumers yet (one created through the AWS API, now
    /// declared by the manifest) the manifest's consumers, each starting at its starting
    /// position among the records already there.
    pub fn adopt_consumers(&mut self, configs: Vec<ConsumerConfig>) -> Result<(), ConfigError> {
        let fail = |reason: String| ConfigError {
            stream: self.name.clone(),
            reason,
        };
        if !self.consumers.is_empty() {
            return Err(fail("it already has consumers".into()));
        }
        for (i, c) in configs.iter().enumerate() {
            c.validate().map_err(&fail)?;
            if configs[..i].iter().any(|o| o.name == c.name) {
                return Err(fail(format!("two consumers are named `{}`", c.name)));
            }
        }
        self.consumers = configs
            .into_iter()
            .map(|c| Consumer::new(c, &self.shards, self.last_seq))
            .collect();
        self.note_cursors();
        Ok(())
    }

    /// The counter of the newest sequence number issued (0 before the first record).
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The shard a record goes to, or why it is refused.
    fn route(
        &self,
        partition_key: &str,
        data_len: usize,
        explicit_hash_key: Option<&str>,
    ) -> Result<usize, PutError> {
        let chars = partition_key.chars().count();
        if !(1..=MAX_PARTITION_KEY_CHARS).contains(&chars) {
            return Err(PutError::PartitionKeyLength { chars });
        }
        let bytes = partition_key.len() + data_len;
        if bytes > MAX_RECORD_BYTES {
            return Err(PutError::RecordTooLarge { bytes });
        }
        let hash = match explicit_hash_key {
            None => partition_key_hash(partition_key),
            Some(key) => parse_hash_key(key)?,
        };
        // The ranges cover 0..=2^128-1, so some shard always matches.
        Ok(self
            .shards
            .iter()
            .position(|s| s.contains_hash(hash))
            .unwrap_or(0))
    }

    fn append(
        &mut self,
        shard: usize,
        partition_key: String,
        data: Vec<u8>,
        now: DateTime<Utc>,
    ) -> PutResult {
        self.last_seq += 1;
        let record = Record {
            sequence_number: sequence_string(self.last_seq),
            partition_key,
            data,
            approximate_arrival: now,
            seq: self.last_seq,
        };
        let seq = record.seq;
        let index = shard;
        let shard = &mut self.shards[shard];
        let result = PutResult {
            shard_id: shard.id.clone(),
            sequence_number: record.sequence_number.clone(),
        };
        shard.records.push_back(record);
        self.note_append(index, seq);
        result
    }

    /// PutRecord.
    pub fn put(
        &mut self,
        partition_key: impl Into<String>,
        data: Vec<u8>,
        explicit_hash_key: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<PutResult, PutError> {
        let partition_key = partition_key.into();
        let shard = self.route(&partition_key, data.len(), explicit_hash_key.as_deref())?;
        Ok(self.append(shard, partition_key, data, now))
    }

    /// PutRecords: limits on the whole request refuse it all; a bad entry fails alone and
    /// the others are written, in request order.
    pub fn put_records(
        &mut self,
        entries: Vec<PutEntry>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<PutResult, PutError>>, BatchError> {
        if entries.is_empty() {
            return Err(BatchError::Empty);
        }
        if entries.len() > MAX_BATCH_ENTRIES {
            return Err(BatchError::TooManyRecords {
                count: entries.len(),
            });
        }
        let bytes: usize = entries
            .iter()
            .map(|e| e.partition_key.len() + e.data.len())
            .sum();
        if bytes > MAX_REQUEST_BYTES {
            return Err(BatchError::RequestTooLarge { bytes });
        }
        Ok(entries
            .into_iter()
            .map(|e| {
                let shard = self.route(
                    &e.partition_key,
                    e.data.len(),
                    e.explicit_hash_key.as_deref(),
                )?;
                Ok(self.append(shard, e.partition_key, e.data, now))
            })
            .collect())
    }

    /// Removes records that arrived `retention` or longer before `now`. Consumers that had
    /// not finished them move to the trim horizon, and the report counts what they lost.
    pub fn trim(&mut self, now: DateTime<Utc>) -> TrimReport {
        let mut report = TrimReport::default();
        let cutoff = now - to_delta(self.retention);
        for (index, shard) in self.shards.iter_mut().enumerate() {
            // Records an AT_TIMESTAMP consumer skips are not lost to it.
            let done: Vec<u64> = self
                .consumers
                .iter()
                .map(|c| c.cursors[index].effective_checkpoint(shard))
                .collect();
            let removed = shard.trim(cutoff);
            let Some(last) = removed.last() else {
                continue;
            };
            report.removed.push(ShardTrim {
                shard_id: shard.id.clone(),
                records: removed.len(),
            });
            for (consumer, done) in self.consumers.iter_mut().zip(done) {
                let cursor = &mut consumer.cursors[index];
                let lost: Vec<&Record> = removed.iter().filter(|r| r.seq > done).collect();
                if let (Some(first), Some(last_lost)) = (lost.first(), lost.last()) {
                    report.lost.push(LostToRetention {
                        consumer: consumer.config.name.clone(),
                        shard_id: shard.id.clone(),
                        records: lost.len(),
                        first_sequence_number: first.sequence_number.clone(),
                        last_sequence_number: last_lost.sequence_number.clone(),
                    });
                }
                cursor.checkpoint = cursor.checkpoint.max(last.seq);
                for pending in &mut cursor.retries {
                    pending.records.retain(|r| r.seq > last.seq);
                }
                cursor.retries.retain(|p| !p.records.is_empty());
            }
        }
        if !report.removed.is_empty() {
            self.note_trim();
        }
        report
    }

    /// Trims, then takes the next batch of every (consumer, shard) that has no batch in
    /// flight and records ready (a full batch, or the batching window over).
    pub fn next_batches(&mut self, now: DateTime<Utc>) -> Ready {
        let mut ready = Ready {
            trimmed: self.trim(now),
            ..Ready::default()
        };
        for (ci, consumer) in self.consumers.iter_mut().enumerate() {
            for (si, shard) in self.shards.iter().enumerate() {
                let Some(mut pending) =
                    consumer.poll(&self.name, si, shard, now, &mut ready.given_up)
                else {
                    continue;
                };
                pending.invocations += 1;
                let id = self.next_batch_id;
                self.next_batch_id += 1;
                consumer.cursors[si].busy = Some(id);
                ready.batches.push(Batch {
                    id,
                    stream: self.name.clone(),
                    consumer: consumer.config.name.clone(),
                    shard_id: shard.id.clone(),
                    records: pending.records.clone(),
                    attempt: pending.invocations,
                });
                self.in_flight.insert(
                    id,
                    InFlight {
                        consumer: ci,
                        shard: si,
                        pending,
                        stale: false,
                    },
                );
            }
        }
        if !ready.batches.is_empty() || !ready.given_up.is_empty() {
            self.note_cursors();
        }
        ready
    }

    /// Applies the outcome of batch `batch_id`'s invocation and frees its shard for the
    /// consumer's next batch.
    pub fn complete(
        &mut self,
        batch_id: u64,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<Completion, StreamError> {
        let flight = self
            .in_flight
            .remove(&batch_id)
            .ok_or_else(|| StreamError::UnknownBatch {
                stream: self.name.clone(),
                batch: batch_id,
            })?;
        self.note_cursors();
        let consumer = &mut self.consumers[flight.consumer];
        let shard = &self.shards[flight.shard];
        consumer.cursors[flight.shard].busy = None;
        if flight.stale {
            return Ok(Completion {
                consumer: consumer.config.name.clone(),
                shard_id: shard.id.clone(),
                warning: Some(format!(
                    "batch {batch_id} finished after its consumer's position was moved; its outcome is ignored"
                )),
                ..Completion::default()
            });
        }
        Ok(consumer.settle(
            &self.name,
            flight.shard,
            shard,
            flight.pending,
            outcome,
            now,
        ))
    }

    fn consumer_index(&self, consumer: &str) -> Result<usize, StreamError> {
        self.consumers
            .iter()
            .position(|c| c.config.name == consumer)
            .ok_or_else(|| StreamError::UnknownConsumer {
                stream: self.name.clone(),
                consumer: consumer.to_string(),
            })
    }

    /// Moves a consumer (replay or skip). Pending retries of the moved shards are dropped,
    /// and a batch in flight there completes without effect.
    pub fn set_position(
        &mut self,
        consumer: &str,
        position: Position,
        _now: DateTime<Utc>,
    ) -> Result<(), StreamError> {
        let ci = self.consumer_index(consumer)?;
        let moved = self.consumers[ci]
            .set_position(&position, &self.shards, self.last_seq)
            .map_err(|reason| StreamError::SequenceNumberNotFound {
                stream: self.name.clone(),
                reason,
            })?;
        let stale: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.consumer == ci && moved.contains(&f.shard))
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            if let Some(f) = self.in_flight.get_mut(&id) {
                f.stale = true;
            }
        }
        self.note_cursors();
        Ok(())
    }

    /// Shards, consumers, checkpoints, lag and batches in flight.
    pub fn describe(&self, _now: DateTime<Utc>) -> StreamDescription {
        let consumers = self
            .consumers
            .iter()
            .map(|c| {
                let shards: Vec<CursorDescription> = c
                    .cursors
                    .iter()
                    .zip(&self.shards)
                    .enumerate()
                    .map(|(si, (cursor, shard))| CursorDescription {
                        shard_id: shard.id.clone(),
                        checkpoint: Some(cursor.effective_checkpoint(shard))
                            .filter(|&c| c > 0)
                            .map(sequence_string),
                        lag: c.lag(si, shard),
                        in_flight: cursor.busy.and_then(|id| {
                            let f = self.in_flight.get(&id)?;
                            Some(InFlightDescription {
                                batch_id: id,
                                records: f.pending.records.len(),
                                attempt: f.pending.invocations,
                                first_sequence_number: f
                                    .pending
                                    .records
                                    .first()
                                    .map(|r| r.sequence_number.clone())
                                    .unwrap_or_default(),
                                last_sequence_number: f
                                    .pending
                                    .records
                                    .last()
                                    .map(|r| r.sequence_number.clone())
                                    .unwrap_or_default(),
                            })
                        }),
                        retry_batches: cursor.retries.len(),
                    })
                    .collect();
                ConsumerDescription {
                    name: c.config.name.clone(),
                    lag: shards.iter().map(|s| s.lag).sum(),
                    shards,
                }
            })
            .collect();
        StreamDescription {
            name: self.name.clone(),
            retention_hours: self.retention.as_secs() / 3600,
            shards: self
                .shards
                .iter()
                .map(|s| ShardDescription {
                    shard_id: s.id.clone(),
                    starting_hash_key: s.starting_hash_key.to_string(),
                    ending_hash_key: s.ending_hash_key.to_string(),
                    records: s.records.len(),
                })
                .collect(),
            consumers,
        }
    }

    /// Records consumer `consumer` has not finished, all shards together.
    pub fn lag(&self, consumer: &str) -> Result<usize, StreamError> {
        let ci = self.consumer_index(consumer)?;
        let c = &self.consumers[ci];
        Ok(self
            .shards
            .iter()
            .enumerate()
            .map(|(si, shard)| c.lag(si, shard))
            .sum())
    }

    /// How long ago the oldest record consumer `consumer` has not finished arrived, over
    /// every shard (Lambda's `IteratorAge`); `None` when it is caught up.
    pub fn iterator_age(
        &self,
        consumer: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<chrono::TimeDelta>, StreamError> {
        let c = &self.consumers[self.consumer_index(consumer)?];
        Ok(c.cursors
            .iter()
            .zip(&self.shards)
            .filter_map(|(cursor, shard)| {
                let first = shard.after(cursor.effective_checkpoint(shard)).next()?;
                Some(now - first.approximate_arrival)
            })
            .max())
    }

    /// The earliest moment at or after `now` when something happens by itself: a batching
    /// window or retry backoff ends, or a record reaches retention (`now` if a batch is
    /// ready already).
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let retention = to_delta(self.retention);
        let expiry = self
            .shards
            .iter()
            .filter_map(|s| s.records.front())
            .map(|r| (r.approximate_arrival + retention).max(now))
            .min();
        let consumers = self
            .consumers
            .iter()
            .filter_map(|c| c.next_change(&self.shards, now))
            .min();
        match (expiry, consumers) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Drain report: one entry per consumer, `resource` = `<stream>/<consumer>`.
impl PendingTrait for Stream {
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        self.consumers
            .iter()
            .map(|c| {
                let counts = c.pending_counts(&self.shards, now);
                PendingWork {
                    service: "stream".to_string(),
                    resource: format!("{}/{}", self.name, c.config.name),
                    due_now: counts.due_now,
                    scheduled_later: counts.scheduled_later,
                    next_due: counts.next_due,
                }
            })
            .collect()
    }

    fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.consumers.iter().any(|c| c.has_due(&self.shards, now))
    }
}

/// An explicit hash key: a decimal integer within 0..=2^128-1.
fn parse_hash_key(key: &str) -> Result<u128, PutError> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PutError::ExplicitHashKeyInvalid(key.to_string()));
    }
    // All digits, so the only way to fail is being too large.
    key.parse()
        .map_err(|_| PutError::ExplicitHashKeyOutOfRange(key.to_string()))
}

#[path = "image.rs"]
pub mod image;
