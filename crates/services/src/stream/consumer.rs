//! Lambda's Kinesis event source mapping for one consumer, as a state machine.
//!
//! A consumer reads every shard of its stream with its own checkpoint per shard (the
//! counter of the last record it is done with). At most one batch per (consumer, shard) is
//! in flight, so records reach the handler in shard order; a failing batch blocks its shard
//! for this consumer until it succeeds or is given up (aws-semantics.md, "Kinesis ... event
//! source mapping failure semantics"):
//!
//! - a function error retries the same records; `maximum_retry_attempts` (−1 = forever)
//!   bounds the retries, `maximum_record_age_seconds` (−1 = forever) bounds record age;
//! - `bisect_batch_on_function_error` splits a failing batch in halves, each retried in
//!   order; splitting does not count as a retry, a failing batch of one record does;
//! - `report_batch_item_failures` checkpoints before the lowest reported sequence number
//!   and retries from that record (with bisect on, that split does not count as a retry);
//! - a batch given up is skipped (the checkpoint moves past it) and reported as a
//!   [`GivenUp`], so the driver sends the on-failure record or logs it: nothing is dropped
//!   silently.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::shard::{parse_sequence, Record, Shard};

/// Lambda's default `BatchSize` for Kinesis.
pub const DEFAULT_BATCH_SIZE: u32 = 100;
/// Lambda's largest `BatchSize` for Kinesis.
pub const MAX_BATCH_SIZE: u32 = 10_000;
/// Lambda's largest `MaximumBatchingWindowInSeconds`.
pub const MAX_BATCHING_WINDOW: Duration = Duration::from_secs(300);
/// Longest wait between retries of one batch, whatever the backoff doubles to.
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(60);

/// Where a new consumer starts reading (`StartingPosition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
    AtTimestamp(DateTime<Utc>),
}

/// Where [`super::Stream::set_position`] moves a consumer (replay or skip ahead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// The oldest retained record of every shard.
    TrimHorizon,
    /// Only records put from now on.
    Latest,
    /// In every shard, the first record that arrived at or after the time.
    AtTimestamp(DateTime<Utc>),
    /// The record with this sequence number, in the one shard that holds it; other shards
    /// keep their checkpoints.
    AtSequenceNumber(String),
}

/// One event source mapping on a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ConsumerConfig {
    pub name: String,
    pub batch_size: u32,
    pub batching_window: Duration,
    pub starting_position: StartingPosition,
    /// −1 = retry until the records expire.
    pub maximum_retry_attempts: i64,
    /// −1 = no age limit.
    pub maximum_record_age_seconds: i64,
    pub bisect_batch_on_function_error: bool,
    pub report_batch_item_failures: bool,
    /// Whether given-up batches go to an on-failure destination; without one the driver
    /// must log them loudly. Carried into each [`GivenUp`].
    pub has_on_failure_destination: bool,
    /// Wait before the first retry of a failed batch, doubling per retry up to a minute.
    /// Zero (the default) retries at once; Lambda backs off by an unpublished amount.
    pub retry_backoff: Duration,
}

impl ConsumerConfig {
    /// A consumer with Lambda's defaults: batches of 100, no window, TRIM_HORIZON,
    /// infinite retries and age, no bisect, no item failures.
    pub fn new(name: impl Into<String>) -> Self {
        ConsumerConfig {
            name: name.into(),
            batch_size: DEFAULT_BATCH_SIZE,
            batching_window: Duration::ZERO,
            starting_position: StartingPosition::TrimHorizon,
            maximum_retry_attempts: -1,
            maximum_record_age_seconds: -1,
            bisect_batch_on_function_error: false,
            report_batch_item_failures: false,
            has_on_failure_destination: false,
            retry_backoff: Duration::ZERO,
        }
    }

    /// Checks the ranges Lambda accepts for these settings.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        if name.is_empty() {
            return Err("a stream consumer needs a name".into());
        }
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(format!(
                "consumer `{name}`: batch size {} is outside 1..={MAX_BATCH_SIZE}",
                self.batch_size
            ));
        }
        if self.batching_window > MAX_BATCHING_WINDOW {
            return Err(format!(
                "consumer `{name}`: batching window {:?} is longer than Lambda's 300 seconds",
                self.batching_window
            ));
        }
        if !(-1..=10_000).contains(&self.maximum_retry_attempts) {
            return Err(format!(
                "consumer `{name}`: maximum retry attempts {} is outside -1..=10000",
                self.maximum_retry_attempts
            ));
        }
        let age = self.maximum_record_age_seconds;
        if age != -1 && !(60..=604_800).contains(&age) {
            return Err(format!(
                "consumer `{name}`: maximum record age {age} s must be -1 or within 60..=604800"
            ));
        }
        Ok(())
    }

    fn record_too_old(&self, record: &Record, now: DateTime<Utc>) -> bool {
        self.maximum_record_age_seconds >= 0
            && now - record.approximate_arrival
                > TimeDelta::seconds(self.maximum_record_age_seconds)
    }

    fn retries_exhausted(&self, retries: u32) -> bool {
        self.maximum_retry_attempts >= 0 && i64::from(retries) > self.maximum_retry_attempts
    }

    fn window(&self) -> TimeDelta {
        to_delta(self.batching_window)
    }

    fn backoff(&self, retries: u32) -> TimeDelta {
        if self.retry_backoff.is_zero() {
            return TimeDelta::zero();
        }
        let factor = 1u32 << retries.saturating_sub(1).min(16);
        to_delta(
            self.retry_backoff
                .saturating_mul(factor)
                .min(MAX_RETRY_BACKOFF),
        )
    }
}

pub(crate) fn to_delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// Records handed to the consumer's function in one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Pass back to [`super::Stream::complete`].
    pub id: u64,
    pub stream: String,
    pub consumer: String,
    pub shard_id: String,
    /// In shard order, never empty.
    pub records: Vec<Record>,
    /// 1 for the first invocation with these records, counting invocations of larger
    /// batches they were split from.
    pub attempt: u32,
}

/// What the function's invocation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A function error (trap, exit code, timeout, unparsable response...).
    Failure,
    /// `batchItemFailures` sequence numbers (see [`super::lambda::parse_item_failures`]).
    ItemFailures(Vec<String>),
}

/// Why a batch was given up, as the on-failure record's `condition` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Condition {
    RetryAttemptsExhausted,
    RecordAgeExceeded,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::RetryAttemptsExhausted => "RetryAttemptsExhausted",
            Condition::RecordAgeExceeded => "RecordAgeExceeded",
        }
    }
}

/// Records a consumer skipped after retries or age ran out. The driver sends the
/// on-failure record ([`super::lambda::on_failure_record`]) or, without a destination,
/// logs it as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenUp {
    pub stream: String,
    pub consumer: String,
    pub shard_id: String,
    /// In shard order, never empty.
    pub records: Vec<Record>,
    pub condition: Condition,
    /// Invocations that included these records (0 when they aged out before any).
    pub approximate_invoke_count: u32,
    pub has_on_failure_destination: bool,
}

impl GivenUp {
    pub fn start_sequence_number(&self) -> &str {
        self.records.first().map_or("", |r| &r.sequence_number)
    }

    pub fn end_sequence_number(&self) -> &str {
        self.records.last().map_or("", |r| &r.sequence_number)
    }

    pub fn first_arrival(&self) -> Option<DateTime<Utc>> {
        self.records.first().map(|r| r.approximate_arrival)
    }

    pub fn last_arrival(&self) -> Option<DateTime<Utc>> {
        self.records.last().map(|r| r.approximate_arrival)
    }
}

/// What [`super::Stream::complete`] did with a batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    pub consumer: String,
    pub shard_id: String,
    /// Records now behind the checkpoint because the function processed them.
    pub processed: usize,
    /// Records queued for another invocation (in two batches after a bisect).
    pub retrying: usize,
    pub given_up: Vec<GivenUp>,
    /// Why the outcome was not taken at face value, for the log.
    pub warning: Option<String>,
}

/// Records waiting for (another) invocation after a failure, and their history.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) records: Vec<Record>,
    /// Failures that counted toward `maximum_retry_attempts`.
    pub(crate) retries: u32,
    /// Invocations these records were part of.
    pub(crate) invocations: u32,
    pub(crate) not_before: DateTime<Utc>,
}

impl Pending {
    fn fresh(records: Vec<Record>, now: DateTime<Utc>) -> Self {
        Pending {
            records,
            retries: 0,
            invocations: 0,
            not_before: now,
        }
    }

    fn last_seq(&self) -> u64 {
        self.records.last().map_or(0, |r| r.seq)
    }
}

/// One consumer's reading state in one shard.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cursor {
    /// Records with a counter above this are not done yet.
    pub(crate) checkpoint: u64,
    /// The batch in flight, if any.
    pub(crate) busy: Option<u64>,
    /// Failed records waiting for a retry, in shard order; all lie after `checkpoint`.
    pub(crate) retries: VecDeque<Pending>,
    /// AT_TIMESTAMP: records that arrived before this are skipped, including ones put
    /// after the position was set (a timestamp in the future).
    pub(crate) skip_before: Option<DateTime<Utc>>,
}

impl Cursor {
    /// The checkpoint once records skipped by AT_TIMESTAMP are passed over.
    pub(crate) fn effective_checkpoint(&self, shard: &Shard) -> u64 {
        let Some(t) = self.skip_before else {
            return self.checkpoint;
        };
        shard
            .after(self.checkpoint)
            .take_while(|r| r.approximate_arrival < t)
            .last()
            .map_or(self.checkpoint, |r| r.seq)
    }
}

/// Counts for the drain report of one consumer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PendingCounts {
    pub(crate) due_now: u64,
    pub(crate) scheduled_later: u64,
    pub(crate) next_due: Option<DateTime<Utc>>,
}

impl PendingCounts {
    fn due_at(&mut self, t: DateTime<Utc>) {
        self.next_due = Some(self.next_due.map_or(t, |n| n.min(t)));
    }
}

/// A consumer: its settings and a cursor per shard.
#[derive(Debug, Clone)]
pub(crate) struct Consumer {
    pub(crate) config: ConsumerConfig,
    pub(crate) cursors: Vec<Cursor>,
}

impl Consumer {
    pub(crate) fn new(config: ConsumerConfig, shards: &[Shard], last_seq: u64) -> Self {
        let mut consumer = Consumer {
            cursors: vec![Cursor::default(); shards.len()],
            config,
        };
        let start = match consumer.config.starting_position {
            StartingPosition::TrimHorizon => Position::TrimHorizon,
            StartingPosition::Latest => Position::Latest,
            StartingPosition::AtTimestamp(t) => Position::AtTimestamp(t),
        };
        // Only AtSequenceNumber can fail, and it is not a starting position.
        let _ = consumer.set_position(&start, shards, last_seq);
        consumer
    }

    fn given_up(
        &self,
        stream: &str,
        shard: &Shard,
        records: Vec<Record>,
        condition: Condition,
        invocations: u32,
    ) -> GivenUp {
        GivenUp {
            stream: stream.to_string(),
            consumer: self.config.name.clone(),
            shard_id: shard.id.clone(),
            records,
            condition,
            approximate_invoke_count: invocations,
            has_on_failure_destination: self.config.has_on_failure_destination,
        }
    }

    /// The next records to invoke with in shard `index`, if any are ready; records that
    /// aged out on the way are given up (checkpointed past) and pushed onto `given_up`.
    pub(crate) fn poll(
        &mut self,
        stream: &str,
        index: usize,
        shard: &Shard,
        now: DateTime<Utc>,
        given_up: &mut Vec<GivenUp>,
    ) -> Option<Pending> {
        let cursor = &self.cursors[index];
        if cursor.busy.is_some() {
            return None;
        }
        if let Some(front) = cursor.retries.front() {
            if front.not_before > now {
                return None;
            }
            let pending = self.cursors[index].retries.pop_front()?;
            if pending
                .records
                .first()
                .is_some_and(|r| self.config.record_too_old(r, now))
            {
                let last = pending.last_seq();
                given_up.push(self.given_up(
                    stream,
                    shard,
                    pending.records,
                    Condition::RecordAgeExceeded,
                    pending.invocations,
                ));
                self.advance(index, last);
                return self.poll(stream, index, shard, now, given_up);
            }
            return Some(pending);
        }

        let cursor = &mut self.cursors[index];
        cursor.checkpoint = cursor.effective_checkpoint(shard);

        // Fresh records: give up any that are already too old, in batch-sized chunks.
        let batch_size = self.config.batch_size as usize;
        loop {
            let expired: Vec<Record> = shard
                .after(self.cursors[index].checkpoint)
                .take(batch_size)
                .take_while(|r| self.config.record_too_old(r, now))
                .cloned()
                .collect();
            let Some(last) = expired.last().map(|r| r.seq) else {
                break;
            };
            given_up.push(self.given_up(stream, shard, expired, Condition::RecordAgeExceeded, 0));
            self.advance(index, last);
        }
        let checkpoint = self.cursors[index].checkpoint;
        let oldest = shard.after(checkpoint).next()?;
        let unread = shard.count_after(checkpoint);
        if unread < batch_size && oldest.approximate_arrival + self.config.window() > now {
            return None;
        }
        let records: Vec<Record> = shard.after(checkpoint).take(batch_size).cloned().collect();
        Some(Pending::fresh(records, now))
    }

    fn advance(&mut self, index: usize, seq: u64) {
        let cursor = &mut self.cursors[index];
        cursor.checkpoint = cursor.checkpoint.max(seq);
    }

    /// Applies an invocation's outcome to the batch `pending` of shard `index`.
    pub(crate) fn settle(
        &mut self,
        stream: &str,
        index: usize,
        shard: &Shard,
        mut pending: Pending,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Completion {
        let mut done = Completion {
            consumer: self.config.name.clone(),
            shard_id: shard.id.clone(),
            ..Completion::default()
        };
        let first_failed = match outcome {
            Outcome::Success => None,
            Outcome::Failure => Some(0),
            Outcome::ItemFailures(ids) if ids.is_empty() => None,
            Outcome::ItemFailures(ids) if !self.config.report_batch_item_failures => {
                done.warning = Some(format!(
                    "the handler returned batchItemFailures ({}) but ReportBatchItemFailures is off for consumer `{}`, so the whole batch counts as processed; turn on reportBatchItemFailures to retry from the first failure",
                    ids.join(", "),
                    self.config.name
                ));
                None
            }
            Outcome::ItemFailures(ids) => match lowest_failure(&pending.records, &ids) {
                Ok(i) => Some(i),
                Err(why) => {
                    done.warning =
                        Some(format!("{why}; the whole batch is retried, as Lambda does"));
                    Some(0)
                }
            },
        };
        let Some(first_failed) = first_failed else {
            done.processed = pending.records.len();
            self.advance(index, pending.last_seq());
            return done;
        };

        // Records before the lowest reported failure are done.
        let mut split = false;
        if first_failed > 0 {
            let rest = pending.records.split_off(first_failed);
            done.processed = pending.records.len();
            self.advance(index, pending.last_seq());
            pending.records = rest;
            split = self.config.bisect_batch_on_function_error;
        }
        // Records retention removed meanwhile are gone (the trim report counted them).
        pending.records.retain(|r| r.seq > shard.trimmed_through);
        if pending.records.is_empty() {
            return done;
        }

        let cursor_retries = &mut self.cursors[index].retries;
        if self.config.bisect_batch_on_function_error && !split && pending.records.len() > 1 {
            // Splitting is not a retry: both halves keep the retry count and history.
            let second_half = Pending {
                records: pending.records.split_off(pending.records.len() / 2),
                not_before: now,
                ..pending
            };
            pending.not_before = now;
            done.retrying = pending.records.len() + second_half.records.len();
            cursor_retries.push_front(second_half);
            cursor_retries.push_front(pending);
            return done;
        }
        if !split {
            pending.retries += 1;
        }
        let condition = if self.config.retries_exhausted(pending.retries) {
            Some(Condition::RetryAttemptsExhausted)
        } else if pending
            .records
            .first()
            .is_some_and(|r| self.config.record_too_old(r, now))
        {
            Some(Condition::RecordAgeExceeded)
        } else {
            None
        };
        if let Some(condition) = condition {
            let last = pending.last_seq();
            let invocations = pending.invocations;
            done.given_up.push(self.given_up(
                stream,
                shard,
                pending.records,
                condition,
                invocations,
            ));
            self.advance(index, last);
            return done;
        }
        pending.not_before = now + self.config.backoff(pending.retries);
        done.retrying = pending.records.len();
        self.cursors[index].retries.push_front(pending);
        done
    }

    /// Moves the checkpoints and returns the shards it moved; fails only for a sequence
    /// number no shard holds.
    pub(crate) fn set_position(
        &mut self,
        position: &Position,
        shards: &[Shard],
        last_seq: u64,
    ) -> Result<Vec<usize>, String> {
        let target: Vec<(usize, u64)> = match position {
            Position::TrimHorizon => shards
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.trimmed_through))
                .collect(),
            Position::Latest => (0..shards.len()).map(|i| (i, last_seq)).collect(),
            Position::AtTimestamp(t) => shards
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let before = s
                        .records()
                        .take_while(|r| r.approximate_arrival < *t)
                        .last()
                        .map_or(s.trimmed_through, |r| r.seq);
                    (i, before)
                })
                .collect(),
            Position::AtSequenceNumber(sequence_number) => {
                let found = parse_sequence(sequence_number).and_then(|seq| {
                    shards
                        .iter()
                        .position(|s| s.find(seq).is_some())
                        .map(|i| (i, seq - 1))
                });
                match found {
                    Some(target) => vec![target],
                    None => {
                        return Err(format!(
                            "no shard holds a record with sequence number `{sequence_number}` (it may have been trimmed by retention)"
                        ))
                    }
                }
            }
        };
        let skip_before = match position {
            Position::AtTimestamp(t) => Some(*t),
            _ => None,
        };
        for &(i, checkpoint) in &target {
            let cursor = &mut self.cursors[i];
            cursor.checkpoint = checkpoint;
            cursor.retries.clear();
            cursor.skip_before = skip_before;
        }
        Ok(target.into_iter().map(|(i, _)| i).collect())
    }

    /// Records not yet done in shard `index` (its lag).
    pub(crate) fn lag(&self, index: usize, shard: &Shard) -> usize {
        shard.count_after(self.cursors[index].effective_checkpoint(shard))
    }

    pub(crate) fn pending_counts(&self, shards: &[Shard], now: DateTime<Utc>) -> PendingCounts {
        let mut counts = PendingCounts::default();
        for (cursor, shard) in self.cursors.iter().zip(shards) {
            let checkpoint = cursor.effective_checkpoint(shard);
            let unread = shard.count_after(checkpoint) as u64;
            if unread == 0 {
                continue;
            }
            if cursor.busy.is_some() {
                counts.scheduled_later += unread;
                continue;
            }
            let due = match cursor.retries.front() {
                Some(front) => front.not_before,
                None => {
                    let oldest = shard
                        .after(checkpoint)
                        .next()
                        .map_or(now, |r| r.approximate_arrival);
                    if unread >= u64::from(self.config.batch_size) {
                        oldest
                    } else {
                        oldest + self.config.window()
                    }
                }
            };
            counts.due_at(due);
            if due <= now {
                counts.due_now += unread;
            } else {
                counts.scheduled_later += unread;
            }
        }
        counts
    }

    /// Whether [`Consumer::pending_counts`] would count anything due now, without
    /// walking every shard's records.
    pub(crate) fn has_due(&self, shards: &[Shard], now: DateTime<Utc>) -> bool {
        self.cursors.iter().zip(shards).any(|(cursor, shard)| {
            let checkpoint = cursor.effective_checkpoint(shard);
            let unread = shard.count_after(checkpoint);
            if unread == 0 || cursor.busy.is_some() {
                return false;
            }
            let due = match cursor.retries.front() {
                Some(front) => front.not_before,
                None => {
                    let oldest = shard
                        .after(checkpoint)
                        .next()
                        .map_or(now, |r| r.approximate_arrival);
                    if unread >= self.config.batch_size as usize {
                        oldest
                    } else {
                        oldest + self.config.window()
                    }
                }
            };
            due <= now
        })
    }

    /// The earliest moment at or after `now` at which a batch window ends or a retry
    /// backoff runs out (`now` if a batch is ready already).
    pub(crate) fn next_change(
        &self,
        shards: &[Shard],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let counts = self.pending_counts(shards, now);
        counts.next_due.map(|t| t.max(now))
    }
}

/// Index of the lowest reported failure in the batch, or why the report is unusable.
fn lowest_failure(records: &[Record], ids: &[String]) -> Result<usize, String> {
    let mut lowest: Option<usize> = None;
    for id in ids {
        let index = records
            .iter()
            .position(|r| r.sequence_number == *id)
            .ok_or_else(|| {
                format!(
                    "batchItemFailures names `{id}`, which is not a sequence number of this batch"
                )
            })?;
        lowest = Some(lowest.map_or(index, |l| l.min(index)));
    }
    lowest.ok_or_else(|| "batchItemFailures is empty".to_string())
}
