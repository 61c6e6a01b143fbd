//! Remote Kinesis streams read as Lambda's Kinesis event source mapping reads them: per
//! shard with GetShardIterator/GetRecords, the consumer's settings (starting position,
//! batch size, retries, bisecting a failing batch, batch item failures, record age,
//! on-failure destination), the event built by the services' own [`kinesis_event`].
//! Checkpoints are kept locally ([`Checkpoints`]); a consumer can be moved to a position
//! through the control API as a local one can. Resharding is followed in order: a child
//! shard is read only once its parents were read to their end.
//!
//! One task per consumer reads its shards in turn, a batch at a time, and finishes each
//! batch (retries included) before reading on, so a shard's records reach the handler in
//! order and a checkpoint only ever moves forward past what was processed or given up.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::types::{Shard, ShardIteratorType};
use chrono::{DateTime, TimeZone, Utc};
use sandbox_app::{AppCell, Trigger};
use sandbox_manifest::{StartingPosition, StreamConsumer, Target};
use sandbox_ops::control::{decode, ControlError};
use sandbox_ops::streams::SetPosition;
use sandbox_services::stream::{
    invocation_outcome, kinesis_event, on_failure_record_json, Batch, Condition, GivenUp, Outcome,
    Record,
};
use serde_json::{json, Value};

use crate::checkpoints::{key, Checkpoint, Checkpoints};
use crate::sdk::sdk_error;

/// Where a consumer starts reading a shard it has no checkpoint for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Position {
    TrimHorizon,
    Latest,
    AtTimestamp(DateTime<Utc>),
}

/// One consumer's shared state: what the control API shows and moves.
#[derive(Default)]
struct Shared {
    /// Set by the control API; the consumer drops its iterators and starts over here.
    moved_to: Option<Position>,
}

/// `(stream, consumer)`.
type ConsumerKey = (String, String);

/// Every remote stream consumer, for the control API.
pub(crate) struct Streams {
    pub checkpoints: Arc<Checkpoints>,
    consumers: Mutex<HashMap<ConsumerKey, Arc<Mutex<Shared>>>>,
}

impl Streams {
    pub(crate) fn new(checkpoints: Checkpoints) -> Streams {
        Streams {
            checkpoints: Arc::new(checkpoints),
            consumers: Mutex::new(HashMap::new()),
        }
    }

    fn register(&self, stream: &str, consumer: &str) -> Arc<Mutex<Shared>> {
        let shared = Arc::new(Mutex::new(Shared::default()));
        self.consumers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((stream.to_string(), consumer.to_string()), shared.clone());
        shared
    }

    /// `GET /_sandbox/streams/{stream}/consumers/{consumer}` and
    /// `POST …/position` for a remote stream's consumer.
    pub(crate) fn control(
        &self,
        stream: &str,
        consumer: &str,
        method: &str,
        rest: &[&str],
        body: &[u8],
    ) -> Option<Result<Value, ControlError>> {
        let shared = self
            .consumers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(stream.to_string(), consumer.to_string()))
            .cloned();
        let Some(shared) = shared else {
            return Some(Err(ControlError::not_found(format!(
                "remote stream {stream} has no running consumer `{consumer}`"
            ))));
        };
        let prefix = format!("{stream}/{consumer}/");
        match (method, rest) {
            ("GET", []) => {}
            ("POST", ["position"]) => {
                let op: SetPosition = match decode(
                    body,
                    r#"{"position": "TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP", "timestamp"?}"#,
                ) {
                    Ok(op) => op,
                    Err(e) => return Some(Err(e)),
                };
                let position = match op.position.as_str() {
                    "TRIM_HORIZON" => Position::TrimHorizon,
                    "LATEST" => Position::Latest,
                    "AT_TIMESTAMP" => match op.timestamp.as_ref().map(crate::time) {
                        Some(Ok(at)) => Position::AtTimestamp(at),
                        Some(Err(e)) => return Some(Err(e)),
                        None => return Some(Err(ControlError::bad_request("AT_TIMESTAMP needs a `timestamp`"))),
                    },
                    other => {
                        return Some(Err(ControlError::bad_request(format!(
                            "a remote stream's consumer moves to TRIM_HORIZON, LATEST or AT_TIMESTAMP, not `{other}`"
                        ))))
                    }
                };
                if let Err(e) = self.checkpoints.clear(&prefix) {
                    return Some(Err(ControlError {
                        status: 503,
                        message: e,
                    }));
                }
                shared.lock().unwrap_or_else(|e| e.into_inner()).moved_to = Some(position);
            }
            _ => return None,
        }
        let shards: Vec<Value> = self
            .checkpoints
            .under(&prefix)
            .into_iter()
            .map(|(shard, c)| json!({"shardId": shard, "checkpoint": c.sequence_number, "finished": c.finished}))
            .collect();
        Some(Ok(
            json!({"stream": stream, "consumer": consumer, "remote": true, "shards": shards}),
        ))
    }
}

/// How often an idle consumer looks for new records (Lambda polls each shard about
/// once a second; a developer waiting on a handler likes it sooner).
const IDLE: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where an on-failure record goes: a remote queue or topic (through the SDK) or the
/// sandbox's own.
pub(crate) type OnFailure = Arc<dyn Fn(&Target, String) -> Result<(), String> + Send + Sync>;

pub(crate) struct StreamReader {
    pub stream: String,
    pub arn: String,
    pub region: String,
    pub remote_name: String,
    pub client: aws_sdk_kinesis::Client,
    pub consumer: StreamConsumer,
    pub app: AppCell,
    pub streams: Arc<Streams>,
    pub on_failure: OnFailure,
    /// Counts each batch in flight until checkpointed or given up (drain waits for it;
    /// a reload stops the reader only between batches).
    pub in_flight: crate::in_flight::Tracker,
}

/// A shard being read: its iterator, once asked for.
struct Reading {
    iterator: Option<String>,
}

impl StreamReader {
    pub(crate) async fn run(self) {
        let shared = self.streams.register(&self.stream, &self.consumer.name);
        let checkpoints = self.streams.checkpoints.clone();
        let mut start = starting(&self.consumer);
        let mut shards: Vec<Shard> = Vec::new();
        let mut stale = true;
        let mut reading: BTreeMap<String, Reading> = BTreeMap::new();
        let mut failing: Option<String> = None;
        let mut backoff = Duration::from_secs(1);
        loop {
            if let Some(position) = shared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .moved_to
                .take()
            {
                tracing::info!(
                    "remote stream {} consumer {}: moved to {position:?}",
                    self.stream,
                    self.consumer.name
                );
                start = position;
                reading.clear();
                stale = true;
            }
            let round = async {
                if stale {
                    shards = self.list_shards().await?;
                    stale = false;
                }
                let mut any = false;
                for shard in readable(&shards, |id| checkpoints.get(&self.key(id)).finished) {
                    let id = shard.shard_id.clone();
                    let entry = reading
                        .entry(id.clone())
                        .or_insert(Reading { iterator: None });
                    if entry.iterator.is_none() {
                        // A child shard (its parent is still listed) is read from its start.
                        let child = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
                            .into_iter()
                            .flatten()
                            .any(|p| shards.iter().any(|s| s.shard_id == p));
                        let at = if child { Position::TrimHorizon } else { start };
                        entry.iterator = Some(
                            self.iterator(&id, checkpoints.get(&self.key(&id)), at)
                                .await?,
                        );
                    }
                    let out = self
                        .client
                        .get_records()
                        .shard_iterator(entry.iterator.clone().unwrap_or_default())
                        .limit(self.consumer.batch_size.min(10_000) as i32)
                        .send()
                        .await
                        .map_err(|e| sdk_error(&e))?;
                    entry.iterator = out.next_shard_iterator.clone();
                    let records: Vec<Record> = out
                        .records
                        .iter()
                        .map(|r| {
                            Record::received(
                                r.sequence_number.clone(),
                                r.partition_key.clone().unwrap_or_default(),
                                r.data.as_ref().to_vec(),
                                r.approximate_arrival_timestamp
                                    .and_then(|t| {
                                        Utc.timestamp_millis_opt(t.to_millis().ok()?).single()
                                    })
                                    .unwrap_or_else(Utc::now),
                            )
                        })
                        .collect();
                    if !records.is_empty() {
                        any = true;
                        let _in_flight = self.in_flight.begin(records.len());
                        self.process(&id, records).await?;
                    }
                    if entry.iterator.is_none() {
                        // Read to its end: closed by resharding; its children come next.
                        let mut at = checkpoints.get(&self.key(&id));
                        at.finished = true;
                        checkpoints.set(&self.key(&id), at)?;
                        tracing::info!("remote stream {}: shard {id} was read to its end (resharded); reading its children", self.stream);
                        stale = true;
                    }
                }
                Ok::<bool, String>(any)
            };
            match round.await {
                Ok(any) => {
                    if failing.take().is_some() {
                        tracing::info!("remote stream {}: reading again", self.stream);
                    }
                    backoff = Duration::from_secs(1);
                    if !any {
                        tokio::time::sleep(IDLE).await;
                    }
                }
                Err(e) => {
                    if failing.as_deref() != Some(e.as_str()) {
                        tracing::error!(
                            "remote stream {} consumer {}: {e}; retrying",
                            self.stream,
                            self.consumer.name
                        );
                        failing = Some(e);
                    }
                    reading.clear();
                    stale = true;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn key(&self, shard: &str) -> String {
        key(&self.stream, &self.consumer.name, shard)
    }

    async fn list_shards(&self) -> Result<Vec<Shard>, String> {
        let mut shards = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let call = self.client.list_shards();
            let call = match &next {
                Some(token) => call.next_token(token),
                None => call.stream_name(&self.remote_name),
            };
            let out = call.send().await.map_err(|e| sdk_error(&e))?;
            shards.extend(out.shards.unwrap_or_default());
            next = out.next_token;
            if next.is_none() {
                return Ok(shards);
            }
        }
    }

    async fn iterator(
        &self,
        shard: &str,
        checkpoint: Checkpoint,
        start: Position,
    ) -> Result<String, String> {
        let call = self
            .client
            .get_shard_iterator()
            .stream_name(&self.remote_name)
            .shard_id(shard);
        let call = match (&checkpoint.sequence_number, start) {
            (Some(sequence), _) => call
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(sequence),
            (None, Position::TrimHorizon) => {
                call.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            (None, Position::Latest) => call.shard_iterator_type(ShardIteratorType::Latest),
            (None, Position::AtTimestamp(at)) => call
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(aws_sdk_kinesis::primitives::DateTime::from_millis(
                    at.timestamp_millis(),
                )),
        };
        let out = call.send().await.map_err(|e| sdk_error(&e))?;
        out.shard_iterator
            .ok_or_else(|| format!("no iterator for shard {shard}"))
    }

    /// One batch to its end: invoked, retried (bisected, item failures resumed from the
    /// first failed record) until it succeeds or is given up; then the checkpoint moves.
    async fn process(&self, shard: &str, records: Vec<Record>) -> Result<(), String> {
        let c = &self.consumer;
        let mut pending: Vec<(Vec<Record>, u32)> = vec![(records, 1)];
        while let Some((batch, attempt)) = pending.pop() {
            let last = batch.last().map(|r| r.sequence_number.clone());
            let event = kinesis_event(
                &Batch {
                    id: 0,
                    stream: self.stream.clone(),
                    consumer: c.name.clone(),
                    shard_id: shard.to_string(),
                    records: batch.clone(),
                    attempt,
                },
                &self.arn,
                &self.region,
            );
            let app = self.app.load_full();
            let invoked = app.invoke(&c.function, Trigger::Stream, None, event).await;
            let output = match &invoked {
                Ok(i) => i.output.as_ref().ok().map(Vec::as_slice),
                Err(_) => None,
            };
            match &invoked {
                Err(e) => tracing::error!("remote stream {}: {e}", self.stream),
                Ok(i) => {
                    if let Err(failure) = &i.output {
                        tracing::warn!(
                            "remote stream {}: {} failed: {failure}",
                            self.stream,
                            c.function
                        );
                    }
                }
            }
            let (outcome, warning) = invocation_outcome(output, c.report_batch_item_failures);
            if let Some(warning) = warning {
                tracing::warn!("remote stream {}: {warning}", self.stream);
            }
            let retry: Vec<Record> = match outcome {
                Outcome::Success => Vec::new(),
                Outcome::Failure => batch.clone(),
                Outcome::ItemFailures(ids) => {
                    // Resume from the earliest failed record; an unknown id fails it all.
                    match batch.iter().position(|r| ids.contains(&r.sequence_number)) {
                        Some(first) => batch[first..].to_vec(),
                        None => batch.clone(),
                    }
                }
            };
            if retry.is_empty() {
                self.checkpoint(shard, last)?;
                continue;
            }
            let done = batch.len() - retry.len();
            if done > 0 {
                self.checkpoint(shard, Some(batch[done - 1].sequence_number.clone()))?;
            }
            let oldest = retry
                .first()
                .map(|r| r.approximate_arrival)
                .unwrap_or_else(Utc::now);
            let too_old = c.maximum_record_age_seconds >= 0
                && (Utc::now() - oldest).num_seconds() > c.maximum_record_age_seconds;
            let exhausted =
                c.maximum_retry_attempts >= 0 && attempt as i64 > c.maximum_retry_attempts;
            if too_old || exhausted {
                let condition = if too_old {
                    Condition::RecordAgeExceeded
                } else {
                    Condition::RetryAttemptsExhausted
                };
                self.give_up(shard, retry.clone(), condition, attempt);
                self.checkpoint(shard, retry.last().map(|r| r.sequence_number.clone()))?;
                continue;
            }
            tokio::time::sleep(Duration::from_millis(100 * attempt.min(10) as u64)).await;
            if c.bisect_batch_on_function_error && retry.len() > 1 {
                let half = retry.len() / 2;
                // Popped last first: the first half runs before the second.
                pending.push((retry[half..].to_vec(), attempt + 1));
                pending.push((retry[..half].to_vec(), attempt + 1));
            } else {
                pending.push((retry, attempt + 1));
            }
        }
        Ok(())
    }

    fn checkpoint(&self, shard: &str, sequence: Option<String>) -> Result<(), String> {
        let Some(sequence) = sequence else {
            return Ok(());
        };
        self.streams.checkpoints.set(
            &self.key(shard),
            Checkpoint {
                sequence_number: Some(sequence),
                finished: false,
            },
        )
    }

    fn give_up(&self, shard: &str, records: Vec<Record>, condition: Condition, invokes: u32) {
        let c = &self.consumer;
        let given_up = GivenUp {
            stream: self.stream.clone(),
            consumer: c.name.clone(),
            shard_id: shard.to_string(),
            records,
            condition,
            approximate_invoke_count: invokes,
            has_on_failure_destination: c.on_failure.is_some(),
        };
        let function_arn = sandbox_ops::aws::function_arn(&c.function);
        let record = on_failure_record_json(&given_up, &function_arn, &self.arn, Utc::now());
        let span = format!(
            "remote stream {} consumer {}: gave up on {} record(s) of {shard} ({} to {}, {})",
            self.stream,
            c.name,
            given_up.records.len(),
            given_up.start_sequence_number(),
            given_up.end_sequence_number(),
            condition.as_str()
        );
        match &c.on_failure {
            None => tracing::error!("{span}; no onFailure destination, so they are skipped"),
            Some(target) => match (self.on_failure)(target, record) {
                Ok(()) => tracing::warn!("{span}; the invocation record went to {target:?}"),
                Err(e) => tracing::error!("{span}; the invocation record could not be sent: {e}"),
            },
        }
    }
}

/// The consumer's configured start.
fn starting(c: &StreamConsumer) -> Position {
    match c.starting_position {
        StartingPosition::TrimHorizon => Position::TrimHorizon,
        StartingPosition::Latest => Position::Latest,
        StartingPosition::AtTimestamp => c
            .starting_position_timestamp
            .and_then(|s| Utc.timestamp_millis_opt((s * 1000.0) as i64).single())
            .map_or(Position::TrimHorizon, Position::AtTimestamp),
    }
}

/// The shards to read now, in shard id order: not finished, and every parent still
/// listed finished first (resharding's order: parent before children).
fn readable(shards: &[Shard], finished: impl Fn(&str) -> bool) -> Vec<&Shard> {
    let listed = |id: &str| shards.iter().any(|s| s.shard_id == id);
    let mut ready: Vec<&Shard> = shards
        .iter()
        .filter(|s| !finished(&s.shard_id))
        .filter(|s| {
            [s.parent_shard_id(), s.adjacent_parent_shard_id()]
                .into_iter()
                .flatten()
                .all(|p| !listed(p) || finished(p))
        })
        .collect();
    ready.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
    ready
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>, adjacent: Option<&str>) -> Shard {
        Shard::builder()
            .shard_id(id)
            .set_parent_shard_id(parent.map(str::to_string))
            .set_adjacent_parent_shard_id(adjacent.map(str::to_string))
            .build()
            .unwrap()
    }

    #[test]
    fn children_wait_for_their_parents() {
        // 0 split into 2 and 3; 1 and 2 merged into 4.
        let shards = [
            shard("shardId-0", None, None),
            shard("shardId-1", None, None),
            shard("shardId-2", Some("shardId-0"), None),
            shard("shardId-3", Some("shardId-0"), None),
            shard("shardId-4", Some("shardId-1"), Some("shardId-2")),
        ];
        let ids = |finished: &[&str]| -> Vec<String> {
            readable(&shards, |id| finished.contains(&id))
                .into_iter()
                .map(|s| s.shard_id.clone())
                .collect()
        };
        assert_eq!(ids(&[]), ["shardId-0", "shardId-1"]);
        assert_eq!(ids(&["shardId-0"]), ["shardId-1", "shardId-2", "shardId-3"]);
        assert_eq!(ids(&["shardId-0", "shardId-1"]), ["shardId-2", "shardId-3"]);
        assert_eq!(
            ids(&["shardId-0", "shardId-1", "shardId-2"]),
            ["shardId-3", "shardId-4"]
        );
        // A parent past retention (no longer listed) holds nothing back.
        assert_eq!(
            readable(&shards[2..], |_| false)
                .iter()
                .map(|s| s.shard_id.as_str())
                .collect::<Vec<_>>(),
            ["shardId-2", "shardId-3"]
        );
    }
}
