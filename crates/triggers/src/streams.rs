//! `@streams`: Kinesis data streams, and the consumers that play Lambda's Kinesis event
//! source mapping for them, on the sandbox clock.
//!
//! The state machine (`sandbox_services::stream`) owns records, routing, checkpoints,
//! retries, bisecting, partial batch responses and retention. This driver reads the
//! clock, takes the ready batches (at most one per consumer and shard at a time, so each
//! consumer sees a shard's records in order), invokes the consumer's function with the
//! Kinesis event and settles the outcome.
//!
//! Records a consumer gives up on (`maximumRetryAttempts` or `maximumRecordAgeInSeconds`
//! ran out) go to its `onFailure` destination, a queue or a topic, as Lambda's invocation
//! record; without a destination they are logged as errors, and so are records retention
//! removed before a consumer finished them: nothing is dropped silently.
//!
//! A failed batch is retried after a backoff on the sandbox clock: 1 s, doubling per
//! retry up to 60 s. Lambda backs off by an unpublished amount; retrying at once would
//! make a poison record (retried forever by default) spin a core.

mod durable;
mod resources;
mod views;

pub use durable::StreamsRestored;
pub use resources::CreateError;

pub(crate) use durable::StreamStore;

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use sandbox_app::Trigger;
use sandbox_manifest::{Manifest, Stream as StreamDef, StreamConsumer, Target};
use sandbox_services::queue::SendRequest;
use sandbox_services::stream::{
    invocation_outcome, kinesis_event, on_failure_record_json, stream_arn, Batch, ConsumerConfig,
    GivenUp, Outcome, Position, PutEntry, PutError, PutResult, StartingPosition, Stream,
    StreamConfig, Streams, StreamsError, TrimReport,
};
use sandbox_services::topic::PublishRequest;
use sandbox_services::{Pending as _, PendingWork};

use crate::api::epoch_seconds;
use crate::driver::{Context, Driver, Drivers, Round};
use crate::invoke::invoke;
use crate::lock::Lock;
use crate::{ControlError, QueueService, TopicService};
use sandbox_ops::aws::{function_arn, REGION};
use sandbox_state::Ticket;

/// First wait before retrying a failed batch; the state machine doubles it per retry,
/// up to a minute.
pub const RETRY_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct StreamService {
    inner: Arc<Inner>,
}

struct Inner {
    cx: Context,
    queues: QueueService,
    topics: TopicService,
    state: Lock<State>,
    /// The manifest's streams, swapped whole by [`StreamService::reconfigure`].
    defs: ArcSwap<Vec<StreamDef>>,
    /// With `--state`: where every change goes (`durable`).
    store: Option<StreamStore>,
}

struct State {
    streams: Streams,
    /// Records given up or lost to retention, per `(stream, consumer)`, for `describe`.
    totals: BTreeMap<(String, String), Totals>,
    /// Bumped when a reload recreates or removes a stream, so a batch that was in flight
    /// then is not settled against the new stream (whose batch ids start over).
    generations: BTreeMap<String, u64>,
}

impl State {
    fn generation(&self, stream: &str) -> u64 {
        self.generations.get(stream).copied().unwrap_or(0)
    }
}

#[derive(Default, Clone, Copy)]
struct Totals {
    given_up: u64,
    lost_to_retention: u64,
}

impl StreamService {
    /// Starts the streams from the manifest or, with a `state` store (`--state DIR`),
    /// from what it holds, reconciled with the manifest as a reload would.
    pub(crate) fn start(
        cx: &Context,
        drivers: &mut Drivers,
        queues: &QueueService,
        topics: &TopicService,
        state: Option<(&sandbox_state::Store, Arc<sandbox_state::Committer>)>,
    ) -> Result<(StreamService, Option<StreamsRestored>), String> {
        let defs = cx.app.load().manifest().streams.clone();
        let now = cx.clock.now();
        let (streams, store, restored) = match state {
            Some((store, committer)) => {
                let (streams, store, restored) = StreamStore::open(store, committer, &defs, now)?;
                for line in &restored.lines {
                    tracing::info!("restored state: {line}");
                }
                (streams, Some(store), Some(restored))
            }
            None => {
                let configs = defs.iter().map(config).collect::<Result<Vec<_>, _>>()?;
                let mut streams = Streams::new(configs).map_err(|e| e.to_string())?;
                for name in streams.names() {
                    if let Ok(stream) = streams.get_mut(&name) {
                        stream.meta_mut().created_at = now;
                    }
                }
                (streams, None, None)
            }
        };
        let inner = drivers.add(Arc::new(Inner {
            cx: cx.clone(),
            queues: queues.clone(),
            topics: topics.clone(),
            state: Lock::new(State {
                streams,
                totals: BTreeMap::new(),
                generations: BTreeMap::new(),
            }),
            defs: ArcSwap::from_pointee(defs),
            store,
        }));
        Ok((StreamService { inner }, restored))
    }

    /// PutRecord (from the control API or a handler); wakes the consumers.
    pub fn put(
        &self,
        stream: &str,
        partition_key: &str,
        data: Vec<u8>,
        explicit_hash_key: Option<String>,
    ) -> Result<PutResult, ControlError> {
        let now = self.inner.clock.now();
        let (result, ticket) = {
            let mut state = self.inner.state();
            let result = state
                .streams
                .put(stream, partition_key, data, explicit_hash_key, now)
                .map_err(|e| self.inner.error(e))?;
            (result, self.inner.record(&mut state, false))
        };
        self.inner.activity.clock_moved();
        self.inner.durable(ticket)?;
        Ok(result)
    }

    /// PutRecords: a bad entry fails alone; limits on the whole request refuse it all.
    pub fn put_records(
        &self,
        stream: &str,
        entries: Vec<PutEntry>,
    ) -> Result<Vec<Result<PutResult, PutError>>, ControlError> {
        let now = self.inner.clock.now();
        let (results, ticket) = {
            let mut state = self.inner.state();
            let results = state
                .streams
                .put_records(stream, entries, now)
                .map_err(|e| self.inner.error(e))?;
            (results, self.inner.record(&mut state, false))
        };
        self.inner.activity.clock_moved();
        self.inner.durable(ticket)?;
        Ok(results)
    }

    /// Moves a consumer's checkpoints (replay or skip), answers it as it then stands,
    /// and wakes the consumers.
    pub fn set_position(
        &self,
        stream: &str,
        consumer: &str,
        position: Position,
    ) -> Result<sandbox_ops::streams::ConsumerView, ControlError> {
        let now = self.inner.clock.now();
        // Described under the same lock as the move: once the drivers are woken they may
        // take and finish the replayed batch at once, and the answer must show the
        // consumer where it was put, not wherever it got to since.
        let (moved, ticket) = {
            let mut state = self.inner.state();
            state
                .streams
                .set_position(stream, consumer, position, now)
                .map_err(|e| self.inner.error(e))?;
            let described = self.describe_locked(&mut state, stream, now)?;
            let ticket = self.inner.record(&mut state, false);
            (self.consumer_of(described, consumer)?, ticket)
        };
        self.inner.durable(ticket)?;
        tracing::info!("stream {stream}: consumer {consumer} moved; it reads on from there");
        self.inner.activity.clock_moved();
        Ok(moved)
    }

    /// The names of every stream: the manifest's and those created through the AWS API.
    pub fn names(&self) -> Vec<String> {
        self.inner.state().streams.names()
    }
}

impl Deref for Inner {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.cx
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// With `--state`: submits what changed to the store (call under the state lock).
    /// With `catalog`, also looks for streams made, removed or reconfigured.
    fn record(&self, state: &mut State, catalog: bool) -> Option<Ticket> {
        let store = self.store.as_ref()?;
        if !catalog {
            return store.record(&mut state.streams, None);
        }
        let defs = self.defs();
        let declared = |name: &str| defs.iter().any(|d| d.name == name);
        store.record(&mut state.streams, Some(&declared))
    }

    /// With `--state`: waits until `ticket` is on disk (call without the state lock).
    fn durable(&self, ticket: Option<Ticket>) -> Result<(), ControlError> {
        match &self.store {
            Some(store) => store.wait(ticket),
            None => Ok(()),
        }
    }

    fn defs(&self) -> Arc<Vec<StreamDef>> {
        self.defs.load_full()
    }

    fn consumer(&self, stream: &str, consumer: &str) -> Option<StreamConsumer> {
        self.defs()
            .iter()
            .find(|d| d.name == stream)?
            .consumers
            .iter()
            .find(|c| c.name == consumer)
            .cloned()
    }

    /// A state-machine error as the control API answers it: unknown names are 404s that
    /// list the known ones, everything else is the caller's mistake.
    fn error(&self, e: StreamsError) -> ControlError {
        use sandbox_services::stream::StreamError;
        match &e {
            StreamsError::UnknownStream(name) => {
                let defs = self.defs();
                let known: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
                let known = if known.is_empty() {
                    "the app declares no @streams".to_string()
                } else {
                    format!("streams: {}", known.join(", "))
                };
                ControlError::not_found(format!("no stream named `{name}`; {known}"))
            }
            StreamsError::Stream(StreamError::UnknownConsumer { stream, consumer }) => {
                let defs = self.defs();
                let known: Vec<&str> = defs
                    .iter()
                    .find(|d| d.name == *stream)
                    .map(|d| d.consumers.iter().map(|c| c.name.as_str()).collect())
                    .unwrap_or_default();
                let known = if known.is_empty() {
                    "it has no consumers".to_string()
                } else {
                    format!("consumers: {}", known.join(", "))
                };
                ControlError::not_found(format!(
                    "stream `{stream}` has no consumer `{consumer}`; {known}"
                ))
            }
            _ => ControlError::bad_request(e.to_string()),
        }
    }

    /// Sends a given-up batch's invocation record to the consumer's on-failure
    /// destination, or logs it as an error when there is none.
    fn give_up(&self, given_up: &GivenUp, now: DateTime<Utc>) {
        let def = self.consumer(&given_up.stream, &given_up.consumer);
        let function = def.as_ref().map_or("?", |c| c.function.as_str());
        let record = on_failure_record_json(
            given_up,
            &function_arn(function),
            &stream_arn(&given_up.stream, REGION),
            now,
        );
        {
            let mut state = self.state();
            let totals = state
                .totals
                .entry((given_up.stream.clone(), given_up.consumer.clone()))
                .or_default();
            totals.given_up += given_up.records.len() as u64;
        }
        let what = format!(
            "stream {}: consumer {} gave up {} record(s) of {} ({}..{}, {}, after {} invocation(s))",
            given_up.stream,
            given_up.consumer,
            given_up.records.len(),
            given_up.shard_id,
            given_up.start_sequence_number(),
            given_up.end_sequence_number(),
            given_up.condition.as_str(),
            given_up.approximate_invoke_count,
        );
        match def.as_ref().and_then(|c| c.on_failure.as_ref()) {
            Some(Target::Queue(queue)) => {
                match self.queues.send(queue, SendRequest::new(record.clone())) {
                    Ok(_) => tracing::warn!("{what}; invocation record sent to queue {queue}"),
                    Err(e) => tracing::error!(
                        "{what}; the invocation record could NOT be sent to queue {queue} ({e}): {record}"
                    ),
                }
            }
            Some(Target::Topic(topic)) => {
                match self.topics.publish(topic, PublishRequest::new(record.clone())) {
                    Ok(_) => tracing::warn!("{what}; invocation record published to topic {topic}"),
                    Err(e) => tracing::error!(
                        "{what}; the invocation record could NOT be published to topic {topic} ({e}): {record}"
                    ),
                }
            }
            Some(Target::Function(function)) => tracing::error!(
                "{what}; fn:{function} cannot be an on-failure destination (use queue: or topic:); invocation record: {record}"
            ),
            None => tracing::error!(
                "{what}; the consumer has no onFailure destination, so the records are SKIPPED (set `onFailure queue:<name>` to keep the invocation record): {record}"
            ),
        }
    }

    /// Applies retention to `stream` now, so views agree with the clock even before the
    /// driver has run.
    fn trim(&self, state: &mut State, stream: &str, now: DateTime<Utc>) {
        if let Ok(s) = state.streams.get_mut(stream) {
            let report = s.trim(now);
            record_trim(state, stream, &report);
        }
    }
}

/// Logs what retention removed, and loudly the records a consumer had not finished.
fn record_trim(state: &mut State, stream: &str, report: &TrimReport) {
    for trim in &report.removed {
        tracing::debug!(
            "stream {stream}: retention removed {} record(s) from {}",
            trim.records,
            trim.shard_id
        );
    }
    for lost in &report.lost {
        tracing::error!(
            "stream {stream}: consumer {} LOST {} record(s) of {} ({}..{}) to retention before processing them; its checkpoint moved to the trim horizon",
            lost.consumer,
            lost.records,
            lost.shard_id,
            lost.first_sequence_number,
            lost.last_sequence_number
        );
        state
            .totals
            .entry((stream.to_string(), lost.consumer.clone()))
            .or_default()
            .lost_to_retention += lost.records as u64;
    }
}

/// Whether a stream the AWS API created can become the manifest's `def` in place: the
/// same shard count and no consumers of its own yet.
fn fits_api_stream(state: &State, def: &StreamDef) -> bool {
    state
        .streams
        .get(&def.name)
        .is_ok_and(|s| s.shards().len() == def.shards as usize && !s.has_consumers())
}

/// Makes an API-created stream the manifest's: its retention and consumers (`built` is
/// the stream as the manifest declares it, read for its settings).
fn adopt(state: &mut State, def: &StreamDef, built: Stream) {
    let Ok(stream) = state.streams.get_mut(&def.name) else {
        return;
    };
    stream.set_retention(built.retention());
    let consumers = config(def).map(|c| c.consumers).unwrap_or_default();
    if let Err(e) = stream.adopt_consumers(consumers) {
        tracing::error!("stream {}: {e}", def.name);
    }
}

/// Removes a stream for a reload; in-flight batches of it will be ignored. Returns how
/// many records it held.
fn drop_stream(state: &mut State, name: &str) -> usize {
    *state.generations.entry(name.to_string()).or_default() += 1;
    state.streams.remove(name).map_or(0, |s| {
        s.shards().iter().map(|shard| shard.records().count()).sum()
    })
}

/// Whether two definitions of a stream behave the same (source positions aside).
fn same_settings(a: &StreamDef, b: &StreamDef) -> bool {
    let routing = |d: &StreamDef| -> Vec<(String, Option<Target>)> {
        d.consumers
            .iter()
            .map(|c| (c.function.clone(), c.on_failure.clone()))
            .collect()
    };
    config(a).ok() == config(b).ok() && routing(a) == routing(b)
}

fn config(def: &StreamDef) -> Result<StreamConfig, String> {
    let consumers = def
        .consumers
        .iter()
        .map(|c| consumer_config(&def.name, c))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StreamConfig {
        name: def.name.clone(),
        shards: def.shards,
        retention: Duration::from_secs(u64::from(def.retention_hours) * 3600),
        consumers,
    })
}

fn consumer_config(stream: &str, c: &StreamConsumer) -> Result<ConsumerConfig, String> {
    use sandbox_manifest::StartingPosition as Start;
    let starting_position = match c.starting_position {
        Start::TrimHorizon => StartingPosition::TrimHorizon,
        Start::Latest => StartingPosition::Latest,
        Start::AtTimestamp => {
            let seconds = c.starting_position_timestamp.unwrap_or(0.0);
            StartingPosition::AtTimestamp(epoch_seconds(seconds).ok_or_else(|| {
                format!(
                    "stream `{stream}`: consumer `{}`: startingPositionTimestamp {seconds} is not a time",
                    c.name
                )
            })?)
        }
    };
    Ok(ConsumerConfig {
        name: c.name.clone(),
        batch_size: c.batch_size,
        batching_window: c.batching_window,
        starting_position,
        maximum_retry_attempts: c.maximum_retry_attempts,
        maximum_record_age_seconds: c.maximum_record_age_seconds,
        bisect_batch_on_function_error: c.bisect_batch_on_function_error,
        report_batch_item_failures: c.report_batch_item_failures,
        has_on_failure_destination: c.on_failure.is_some(),
        retry_backoff: RETRY_BACKOFF,
    })
}

impl Driver for Inner {
    /// New streams start empty, removed ones go, and a stream whose settings changed is
    /// recreated empty (the state machine cannot reshard or re-point consumers in place);
    /// whatever a dropped stream held is reported.
    fn reconfigure(&self, manifest: &Manifest) -> Result<Vec<String>, String> {
        let defs = manifest.streams.clone();
        let now = self.clock.now();
        // Build every new stream first: a bad setting changes nothing.
        let mut built = Vec::new();
        for def in &defs {
            built.push(
                Stream::new(config(def)?)
                    .map_err(|e| e.to_string())?
                    .created_at(now),
            );
        }
        let old = self.defs();
        let mut lines = Vec::new();
        // Records dropped with recreated or removed streams.
        let mut lost = 0;
        let mut state = self.state();
        for (def, stream) in defs.iter().zip(built) {
            let exists = state.streams.get(&def.name).is_ok();
            let before = old.iter().find(|d| d.name == def.name);
            match before {
                None if !exists => lines.push(format!("stream {} added", def.name)),
                Some(_) if !exists => lines.push(format!(
                    "stream {} (deleted through the AWS API) recreated from the manifest",
                    def.name
                )),
                Some(before) if same_settings(before, def) => continue,
                None if fits_api_stream(&state, def) => {
                    lines.push(format!(
                        "stream {} (created through the AWS API) is now declared by the manifest; its records are kept",
                        def.name
                    ));
                    adopt(&mut state, def, stream);
                    continue;
                }
                _ => {
                    let held = drop_stream(&mut state, &def.name);
                    lost += held;
                    let was = if before.is_none() {
                        " (created through the AWS API)"
                    } else {
                        ""
                    };
                    lines.push(format!(
                        "stream {}{was} settings changed; it was recreated empty, dropping {held} record(s) and its consumers' checkpoints",
                        def.name
                    ));
                }
            }
            state.streams.insert(stream);
        }
        for gone in old.iter().filter(|o| defs.iter().all(|d| d.name != o.name)) {
            if state.streams.get(&gone.name).is_err() {
                continue;
            }
            let held = drop_stream(&mut state, &gone.name);
            lost += held;
            lines.push(format!(
                "stream {} removed; it held {held} record(s), which are gone with it",
                gone.name
            ));
        }
        self.defs.store(Arc::new(defs));
        let ticket = self.record(&mut state, true);
        drop(state);
        self.durable(ticket).map_err(|e| e.message)?;
        if lost > 0 {
            tracing::warn!(
                "streams: a manifest change dropped {lost} record(s): {}",
                lines.join("; ")
            );
        }
        self.activity.clock_moved();
        Ok(lines)
    }

    /// Records due now and later: one entry per `<stream>/<consumer>`.
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        self.state().streams.pending(now)
    }

    fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.state().streams.has_due(now)
    }

    /// Trims, then hands out every ready batch; the next change is a record put, a
    /// batch finishing, a window or backoff ending.
    fn round(self: Arc<Self>, now: DateTime<Utc>) -> Round {
        let (ready, next) = {
            let mut state = self.state();
            let mut ready = Vec::new();
            // Every stream, the AWS API's too: retention trims them all.
            for name in state.streams.names() {
                let generation = state.generation(&name);
                let Ok(stream) = state.streams.get_mut(&name) else {
                    continue;
                };
                let stream_ready = stream.next_batches(now);
                // Busy before the lock is released, so drain never sees the work as
                // neither pending nor running; a given-up batch counts until its
                // invocation record is sent.
                let records: usize = stream_ready.batches.iter().map(|b| b.records.len()).sum();
                self.activity
                    .begin((records + stream_ready.given_up.len()) as u64);
                record_trim(&mut state, &name, &stream_ready.trimmed);
                ready.push((generation, stream_ready));
            }
            // Not waited for: a batch taken or a trim lost in a crash is taken again.
            self.record(&mut state, false);
            (ready, state.streams.next_change(now))
        };
        for (generation, ready) in ready {
            for given_up in &ready.given_up {
                self.give_up(given_up, now);
                self.activity.end(1);
            }
            for batch in ready.batches {
                tokio::spawn(deliver(self.clone(), batch, generation));
            }
        }
        Round::Wait(next)
    }
}

async fn deliver(inner: Arc<Inner>, batch: Batch, generation: u64) {
    let started = Instant::now();
    let count = batch.records.len();
    let label = format!(
        "stream {}: batch of {count} from {} (attempt {})",
        batch.stream, batch.shard_id, batch.attempt
    );
    let (function, report) = match inner.consumer(&batch.stream, &batch.consumer) {
        Some(c) => (c.function.clone(), c.report_batch_item_failures),
        None => (String::new(), false),
    };
    let event = kinesis_event(&batch, &stream_arn(&batch.stream, REGION), REGION);
    let app = inner.app.load_full();
    let (output, failure) = match invoke(&app, &function, Trigger::Stream, event).await.output {
        Ok(output) => (Some(output), None),
        Err(failed) => (None, Some(failed.message)),
    };
    let (outcome, warning) = invocation_outcome(output.as_deref(), report);
    if let Some(warning) = warning {
        tracing::warn!("{label} → {function}: {warning}");
    }
    let now = inner.clock.now();
    let completion = {
        let mut state = inner.state();
        let completion = (state.generation(&batch.stream) == generation).then(|| {
            state
                .streams
                .complete(&batch.stream, batch.id, outcome.clone(), now)
        });
        // Not waited for: a checkpoint lost in a crash means the batch runs once more.
        inner.record(&mut state, false);
        completion
    };
    let elapsed = started.elapsed();
    match completion {
        None => tracing::info!(
            "{label} → {function} finished in {elapsed:.1?} after a reload recreated or removed the stream; its outcome is ignored"
        ),
        Some(Ok(done)) => {
            if let Some(warning) = &done.warning {
                tracing::warn!("{label} → {function}: {warning}");
            }
            match (&failure, &outcome) {
                (Some(failure), _) => tracing::warn!(
                    "{label} → {function} FAILED in {elapsed:.1?}: {failure}; {} record(s) retried, {} given up",
                    done.retrying,
                    done.given_up.iter().map(|g| g.records.len()).sum::<usize>()
                ),
                (None, Outcome::ItemFailures(_)) => tracing::info!(
                    "{label} → {function} partial in {elapsed:.1?}: {} processed, {} retried from the lowest failure",
                    done.processed,
                    done.retrying
                ),
                _ => tracing::info!("{label} → {function} ok in {elapsed:.1?}"),
            }
            for given_up in &done.given_up {
                inner.give_up(given_up, now);
            }
        }
        Some(Err(e)) => tracing::error!("{label}: settling: {e}"),
    }
    inner.activity.end(count as u64);
    // The shard is free for this consumer's next batch: look again.
    inner.activity.clock_moved();
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn streams(json: &str) -> Vec<StreamDef> {
        sandbox_manifest::parse_json(Path::new("/app"), Path::new("/app/sandbox.json"), json)
            .unwrap()
            .streams
    }

    #[test]
    fn maps_the_manifest_to_the_state_machine() {
        let defs = streams(
            r#"{"app": "a", "streams": {"clicks": {"shards": 3, "retention": 48, "consumers": {
                "one": {"batchSize": 7, "startingPosition": "AT_TIMESTAMP", "startingPositionTimestamp": 1893456000.25,
                        "maximumRetryAttempts": 2, "maximumRecordAgeInSeconds": 120,
                        "bisectBatchOnFunctionError": true, "reportBatchItemFailures": true,
                        "onFailure": "queue:dlq"},
                "two": {"startingPosition": "LATEST"}}}},
               "queues": ["dlq"]}"#,
        );
        let config = config(&defs[0]).unwrap();
        assert_eq!(config.name, "clicks");
        assert_eq!(config.shards, 3);
        assert_eq!(config.retention, Duration::from_secs(48 * 3600));
        let one = &config.consumers[0];
        assert_eq!(one.batch_size, 7);
        assert_eq!(
            one.starting_position,
            StartingPosition::AtTimestamp(
                DateTime::from_timestamp_millis(1_893_456_000_250).unwrap()
            )
        );
        assert_eq!(one.maximum_retry_attempts, 2);
        assert_eq!(one.maximum_record_age_seconds, 120);
        assert!(one.bisect_batch_on_function_error && one.report_batch_item_failures);
        assert!(one.has_on_failure_destination);
        assert_eq!(one.retry_backoff, RETRY_BACKOFF);
        let two = &config.consumers[1];
        assert_eq!(two.starting_position, StartingPosition::Latest);
        assert_eq!(two.batch_size, 100);
        assert_eq!(two.maximum_retry_attempts, -1);
        assert!(!two.has_on_failure_destination);
        // The state machine accepts what the manifest allows.
        assert!(Streams::new(vec![config]).is_ok());
    }

    #[test]
    fn function_arns_have_no_slashes() {
        assert_eq!(
            function_arn("streams/clicks/one"),
            "arn:aws:lambda:us-east-1:123456789012:function:streams-clicks-one"
        );
    }
}
