//! Remote Kinesis streams read as Lambda's Kinesis event source mapping reads them: per
//! shard with GetShardIterator/GetRecords, the consumer's settings (starting position,
//! batch size, batching window (records gathered until the batch is full or the window
//! since the first of them ends, as Lambda does), retries, bisecting a failing batch,
//! batch item failures, record age, on-failure destination), the event built by the
//! services' own [`kinesis_event`]. Checkpoints are kept locally ([`Checkpoints`]); a
//! consumer can be moved to a position through the control API as a local one can
//! (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP` move every shard; `AT_SEQUENCE_NUMBER` and
//! `AFTER_SEQUENCE_NUMBER` move the one shard that holds the record, found by asking
//! each shard for an iterator there, as Kinesis refuses one on a shard that does not
//! hold it). A batch read before a move checkpoints nothing and is not retried. Resharding is followed in order: a child
//! shard is read only once its parents were read to their end.
//!
//! One task per consumer reads its shards in turn, a batch at a time, and finishes each
//! batch (retries included) before reading on, so a shard's records reach the handler in
//! order and a checkpoint only ever moves forward past what was processed or given up.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Position {
    TrimHorizon,
    Latest,
    AtTimestamp(DateTime<Utc>),
    /// One shard, moved to this record (`AFTER_SEQUENCE_NUMBER` is a checkpoint instead).
    AtSequenceNumber(String),
}

/// A move the control API made, for the consumer to follow between batches (its
/// checkpoints were already changed).
#[derive(Debug, Clone, PartialEq)]
enum Move {
    /// Every shard starts over here.
    To(Position),
    /// One shard: at this record, or (`None`) after its new checkpoint.
    Shard { shard: String, at: Option<String> },
}

/// One consumer's shared state: what the control API shows and moves.
struct Shared {
    moves: Vec<Move>,
    /// Bumped by every move: a batch read before it checkpoints nothing.
    generation: u64,
    client: aws_sdk_kinesis::Client,
    remote_name: String,
    handle: tokio::runtime::Handle,
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

    fn register(&self, reader: &StreamReader) -> Arc<Mutex<Shared>> {
        let (stream, consumer) = (&reader.stream, &reader.consumer.name);
        let shared = Arc::new(Mutex::new(Shared {
            moves: Vec::new(),
            generation: 0,
            client: reader.client.clone(),
            remote_name: reader.remote_name.clone(),
            handle: tokio::runtime::Handle::current(),
        }));
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
        match (method, rest) {
            ("GET", []) => {}
            ("POST", ["position"]) => {
                if let Err(e) = self.set_position(stream, consumer, &shared, body) {
                    return Some(Err(e));
                }
            }
            _ => return None,
        }
        let prefix = format!("{stream}/{consumer}/");
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

impl Streams {
    /// `POST …/position`: changes the checkpoints now and tells the consumer, which
    /// follows between batches.
    fn set_position(
        &self,
        stream: &str,
        consumer: &str,
        shared: &Mutex<Shared>,
        body: &[u8],
    ) -> Result<(), ControlError> {
        let op: SetPosition = decode(
            body,
            r#"{"position": "TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP" | "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER", "timestamp"?, "sequenceNumber"?}"#,
        )?;
        let unavailable = |message: String| ControlError {
            status: 503,
            message,
        };
        let kind = op.position.as_str();
        let position = match kind {
            "TRIM_HORIZON" => Position::TrimHorizon,
            "LATEST" => Position::Latest,
            "AT_TIMESTAMP" => match op.timestamp.as_ref().map(crate::time) {
                Some(at) => Position::AtTimestamp(at?),
                None => return Err(ControlError::bad_request("AT_TIMESTAMP needs a `timestamp`")),
            },
            "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER" => {
                let Some(sequence) = op.sequence_number else {
                    return Err(ControlError::bad_request(format!(
                        "{kind} needs `sequenceNumber` (a string)"
                    )));
                };
                let after = kind == "AFTER_SEQUENCE_NUMBER";
                let (client, name, handle) = {
                    let s = shared.lock().unwrap_or_else(|e| e.into_inner());
                    (s.client.clone(), s.remote_name.clone(), s.handle.clone())
                };
                let Some(shard) = crate::block(&handle, {
                    let sequence = sequence.clone();
                    async move { shard_holding(&client, &name, &sequence).await }
                })
                .map_err(|e| unavailable(format!("remote stream {stream}: {e}")))?
                else {
                    return Err(ControlError::bad_request(format!(
                        "no shard of remote stream {stream} holds a record with sequence number `{sequence}` (it may have been trimmed by retention)"
                    )));
                };
                let key = key(stream, consumer, &shard);
                let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                let at = if after {
                    let checkpoint = Checkpoint {
                        sequence_number: Some(sequence),
                        finished: false,
                    };
                    self.checkpoints.set(&key, checkpoint).map_err(unavailable)?;
                    None
                } else {
                    // Shard ids have one length, so the key clears this shard alone.
                    self.checkpoints.clear(&key).map_err(unavailable)?;
                    Some(sequence)
                };
                s.generation += 1;
                s.moves.push(Move::Shard { shard, at });
                return Ok(());
            }
            other => {
                return Err(ControlError::bad_request(format!(
                    "a remote stream's consumer moves to TRIM_HORIZON, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER, not `{other}`"
                )))
            }
        };
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        self.checkpoints
            .clear(&format!("{stream}/{consumer}/"))
            .map_err(unavailable)?;
        s.generation += 1;
        s.moves.push(Move::To(position));
        Ok(())
    }
}

/// The shard of stream `name` that holds the record `sequence`: the one that gives an
/// iterator at it (Kinesis answers InvalidArgumentException on any other shard).
async fn shard_holding(
    client: &aws_sdk_kinesis::Client,
    name: &str,
    sequence: &str,
) -> Result<Option<String>, String> {
    for shard in list_shards(client, name).await? {
        let asked = client
            .get_shard_iterator()
            .stream_name(name)
            .shard_id(&shard.shard_id)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .starting_sequence_number(sequence)
            .send()
            .await;
        match asked {
            Ok(_) => return Ok(Some(shard.shard_id)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_invalid_argument_exception()) => {}
            Err(e) => return Err(sdk_error(&e)),
        }
    }
    Ok(None)
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
    /// `true` once a reload stopped this consumer: a batch being retried ends between
    /// attempts without a checkpoint (the consumer that follows reads it again), so a
    /// batch that fails forever cannot hold the reload up.
    pub stopped: tokio::sync::watch::Receiver<bool>,
}

/// A shard being read: its iterator, once asked for, and the records gathered for the
/// next batch while its batching window is open.
#[derive(Default)]
struct Reading {
    iterator: Option<String>,
    gathered: Vec<Record>,
    /// When the first of `gathered` was read: the window runs from there.
    since: Option<Instant>,
    /// `gathered` counted in flight from its first record (drain waits for a window
    /// being filled, as it does for a remote queue's).
    taken: Option<crate::in_flight::Batch>,
}

impl Reading {
    /// Whether the gathered records go now: a full batch, the window over, or the shard
    /// read to its end (a closed shard's last records wait for nothing).
    fn due(&self, batch_size: usize, window: Duration, now: Instant) -> bool {
        !self.gathered.is_empty()
            && (self.gathered.len() >= batch_size
                || self.iterator.is_none()
                || self.since.is_some_and(|s| now >= s + window))
    }
}

impl StreamReader {
    pub(crate) async fn run(self) {
        let shared = self.streams.register(&self);
        let checkpoints = self.streams.checkpoints.clone();
        let mut start = starting(&self.consumer);
        let mut shards: Vec<Shard> = Vec::new();
        let mut stale = true;
        let mut reading: BTreeMap<String, Reading> = BTreeMap::new();
        let mut failing: Option<String> = None;
        let mut backoff = Duration::from_secs(1);
        // Shards moved to a record they have not passed.
        let mut at_sequence: HashMap<String, String> = HashMap::new();
        // Shards found open when first read since the last move: their children carry
        // on their records, so they are read from their start.
        let mut followed: HashSet<String> = HashSet::new();
        loop {
            // The moves to follow, and how many were made: a batch read now checkpoints
            // only if no other comes before it is done.
            let (generation, moves) = {
                let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                (s.generation, std::mem::take(&mut s.moves))
            };
            for moved in moves {
                tracing::info!(
                    "remote stream {} consumer {}: moved ({moved:?})",
                    self.stream,
                    self.consumer.name
                );
                match moved {
                    Move::To(position) => {
                        start = position;
                        reading.clear();
                        at_sequence.clear();
                        followed.clear();
                    }
                    Move::Shard { shard, at } => {
                        reading.remove(&shard);
                        match at {
                            Some(sequence) => at_sequence.insert(shard, sequence),
                            None => at_sequence.remove(&shard),
                        };
                    }
                }
                stale = true;
            }
            let round = async {
                if stale {
                    shards = list_shards(&self.client, &self.remote_name).await?;
                    stale = false;
                }
                let mut any = false;
                for shard in readable(&shards, |id| checkpoints.get(&self.key(id)).finished) {
                    let id = shard.shard_id.clone();
                    let entry = reading.entry(id.clone()).or_default();
                    if entry.iterator.is_none() {
                        let followed_parent =
                            [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
                                .into_iter()
                                .flatten()
                                .filter(|p| shards.iter().any(|s| s.shard_id == *p))
                                .any(|p| {
                                    followed.contains(p)
                                        || checkpoints.get(&self.key(p)).sequence_number.is_some()
                                });
                        let at = match at_sequence.get(&id) {
                            Some(sequence) => Position::AtSequenceNumber(sequence.clone()),
                            None => shard_start(&start, followed_parent),
                        };
                        if shard
                            .sequence_number_range()
                            .is_some_and(|r| r.ending_sequence_number().is_none())
                        {
                            followed.insert(id.clone());
                        }
                        entry.iterator = Some(
                            self.iterator(&id, checkpoints.get(&self.key(&id)), at)
                                .await?,
                        );
                    }
                    let batch_size = self.consumer.batch_size.clamp(1, 10_000) as usize;
                    let out = self
                        .client
                        .get_records()
                        .shard_iterator(entry.iterator.clone().unwrap_or_default())
                        .limit((batch_size - entry.gathered.len()).max(1) as i32)
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
                        match &mut entry.taken {
                            Some(taken) => taken.add(records.len()),
                            None => {
                                entry.since = Some(Instant::now());
                                entry.taken = Some(self.in_flight.begin(records.len()));
                            }
                        }
                    }
                    entry.gathered.extend(records);
                    if entry.due(batch_size, self.consumer.batching_window, Instant::now()) {
                        any = true;
                        entry.since = None;
                        let batch = std::mem::take(&mut entry.gathered);
                        let _in_flight = entry
                            .taken
                            .take()
                            .unwrap_or_else(|| self.in_flight.begin(batch.len()));
                        self.process(&id, batch, &shared, generation).await?;
                    }
                    if entry.iterator.is_none() {
                        // Read to its end: closed by resharding; its children come next.
                        if self.guarded(&shared, generation, &id, |c| c.finished = true)? {
                            tracing::info!("remote stream {}: shard {id} was read to its end (resharded); reading its children", self.stream);
                        }
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
                        // Idle, or gathering: look again soon, or when a window ends.
                        let now = Instant::now();
                        let window = self.consumer.batching_window;
                        let wait = reading
                            .values()
                            .filter_map(|r| r.since)
                            .map(|s| (s + window).saturating_duration_since(now))
                            .fold(IDLE, Duration::min);
                        tokio::time::sleep(wait).await;
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

    /// Changes shard's checkpoint, unless the consumer was moved since `generation` (the
    /// move wins: what was read before it counts for nothing); whether it did.
    fn guarded(
        &self,
        shared: &Mutex<Shared>,
        generation: u64,
        shard: &str,
        change: impl FnOnce(&mut Checkpoint),
    ) -> Result<bool, String> {
        let s = shared.lock().unwrap_or_else(|e| e.into_inner());
        if s.generation != generation {
            return Ok(false);
        }
        let key = self.key(shard);
        let mut checkpoint = self.streams.checkpoints.get(&key);
        change(&mut checkpoint);
        self.streams.checkpoints.set(&key, checkpoint)?;
        Ok(true)
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
            (None, Position::AtSequenceNumber(sequence)) => call
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(sequence),
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
    /// A move of the consumer meanwhile, or a stop, ends it without effect (no
    /// checkpoint, no more retries, nothing given up).
    async fn process(
        &self,
        shard: &str,
        records: Vec<Record>,
        shared: &Mutex<Shared>,
        generation: u64,
    ) -> Result<(), String> {
        let c = &self.consumer;
        let moved = || {
            *self.stopped.borrow()
                || shared.lock().unwrap_or_else(|e| e.into_inner()).generation != generation
        };
        let checkpoint = |sequence: Option<String>| match sequence {
            None => Ok(true),
            Some(sequence) => self.guarded(shared, generation, shard, |c| {
                c.sequence_number = Some(sequence);
                c.finished = false;
            }),
        };
        let mut pending: Vec<(Vec<Record>, u32)> = vec![(records, 1)];
        while let Some((batch, attempt)) = pending.pop() {
            if moved() {
                return Ok(());
            }
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
                if !checkpoint(last)? {
                    return Ok(());
                }
                continue;
            }
            let done = batch.len() - retry.len();
            if done > 0 && !checkpoint(Some(batch[done - 1].sequence_number.clone()))? {
                return Ok(());
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
                if moved() {
                    return Ok(());
                }
                self.give_up(shard, retry.clone(), condition, attempt);
                if !checkpoint(retry.last().map(|r| r.sequence_number.clone()))? {
                    return Ok(());
                }
                continue;
            }
            let mut stopped = self.stopped.clone();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100 * attempt.min(10) as u64)) => {}
                _ = stopped.wait_for(|s| *s) => return Ok(()),
            }
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

/// Every shard of stream `name` (ListShards, page by page).
async fn list_shards(client: &aws_sdk_kinesis::Client, name: &str) -> Result<Vec<Shard>, String> {
    let mut shards = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let call = client.list_shards();
        let call = match &next {
            Some(token) => call.next_token(token),
            None => call.stream_name(name),
        };
        let out = call.send().await.map_err(|e| sdk_error(&e))?;
        shards.extend(out.shards.unwrap_or_default());
        next = out.next_token;
        if next.is_none() {
            return Ok(shards);
        }
    }
}

/// Where a shard without a checkpoint starts. A child of a parent this consumer followed
/// (read records of, or found open) carries on the parent's records, so it is read from
/// its start; otherwise the consumer's own start holds: LATEST on a stream resharded
/// before the consumer began means the children's tips, not a replay of every record
/// since the split.
fn shard_start(start: &Position, followed_parent: bool) -> Position {
    if followed_parent {
        Position::TrimHorizon
    } else {
        start.clone()
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
    fn a_batch_goes_when_full_when_its_window_ends_or_at_the_shards_end() {
        let now = Instant::now();
        let window = Duration::from_secs(5);
        let record = |n: u32| Record::received(n.to_string(), "k".into(), Vec::new(), Utc::now());
        let mut reading = Reading {
            iterator: Some("iterator".into()),
            gathered: vec![record(1)],
            since: Some(now),
            taken: None,
        };
        assert!(!reading.due(2, window, now));
        assert!(!reading.due(2, window, now + window / 2));
        assert!(reading.due(2, window, now + window));
        assert!(
            reading.due(1, window, now),
            "a full batch waits for nothing"
        );
        assert!(reading.due(2, Duration::ZERO, now), "no window");
        reading.iterator = None;
        assert!(reading.due(2, window, now), "a closed shard's last records");
        reading.gathered.clear();
        assert!(!reading.due(2, window, now + window), "nothing to send");
    }

    #[test]
    fn a_child_starts_at_its_start_only_when_its_parent_was_followed() {
        let at = Position::AtTimestamp(Utc::now());
        for start in [Position::TrimHorizon, Position::Latest, at] {
            assert_eq!(shard_start(&start, true), Position::TrimHorizon);
            assert_eq!(shard_start(&start, false), start);
        }
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
