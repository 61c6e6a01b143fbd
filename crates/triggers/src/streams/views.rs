//! What the control API shows of streams: each stream's shards and every consumer's
//! progress, and the retained records. Beside the service because it reads the
//! service's state (totals, consumer settings) directly.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use sandbox_manifest::Target;
use sandbox_ops::streams::{
    ConsumerShardView, ConsumerView, HashKeyRange, InFlightView, RecordList, RecordView, ShardView,
    StreamList, StreamView,
};
use sandbox_services::alarm::ConsumerFacts;
use sandbox_services::stream::{stream_arn, Stream};

use super::{State, StreamService, Totals};
use crate::ControlError;
use sandbox_ops::aws::REGION;

impl StreamService {
    /// Every stream, as [`StreamService::describe`] shows it.
    pub fn list(&self) -> StreamList {
        let streams = self
            .names()
            .iter()
            .filter_map(|name| self.describe(name).ok())
            .collect();
        StreamList { streams }
    }

    /// Every consumer's lag in records and its iterator age, by (stream, consumer): what
    /// metrics and alarms read.
    pub fn consumer_facts(&self) -> Vec<((String, String), ConsumerFacts)> {
        let now = self.inner.clock.now();
        let state = self.inner.state();
        let mut facts = Vec::new();
        for name in state.streams.names() {
            let Ok(stream) = state.streams.get(&name) else {
                continue;
            };
            for consumer in stream.describe(now).consumers {
                let age = stream.iterator_age(&consumer.name, now).ok().flatten();
                facts.push((
                    (name.clone(), consumer.name),
                    ConsumerFacts {
                        lag: consumer.lag,
                        iterator_age_ms: age.map(|a| a.num_milliseconds().max(0) as u64),
                    },
                ));
            }
        }
        facts
    }

    /// One stream: shards with hash ranges and record counts, each consumer's progress.
    pub fn describe(&self, name: &str) -> Result<StreamView, ControlError> {
        let now = self.inner.clock.now();
        let mut state = self.inner.state();
        self.describe_locked(&mut state, name, now)
    }

    /// [`StreamService::describe`] with the state already locked, so a caller can show
    /// exactly what it just changed before any driver moves on.
    pub(super) fn describe_locked(
        &self,
        state: &mut State,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<StreamView, ControlError> {
        self.inner.trim(state, name, now);
        let stream = state.streams.get(name).map_err(|e| self.inner.error(e))?;
        let description = stream.describe(now);
        let shards = description
            .shards
            .iter()
            .map(|s| ShardView {
                shard_id: s.shard_id.clone(),
                hash_key_range: HashKeyRange {
                    starting_hash_key: s.starting_hash_key.clone(),
                    ending_hash_key: s.ending_hash_key.clone(),
                },
                records: s.records,
            })
            .collect();
        let consumers = description
            .consumers
            .iter()
            .map(|c| {
                let totals = state
                    .totals
                    .get(&(name.to_string(), c.name.clone()))
                    .copied()
                    .unwrap_or_default();
                self.consumer_view(name, c, totals)
            })
            .collect();
        Ok(StreamView {
            arn: stream_arn(name, REGION),
            retention_hours: description.retention_hours,
            records: description.shards.iter().map(|s| s.records).sum(),
            name: description.name,
            shards,
            consumers,
        })
    }

    /// One consumer, as in its stream's description.
    pub fn describe_consumer(
        &self,
        name: &str,
        consumer: &str,
    ) -> Result<ConsumerView, ControlError> {
        let described = self.describe(name)?;
        self.consumer_of(described, consumer)
    }

    /// `consumer` out of its stream's description.
    pub(super) fn consumer_of(
        &self,
        described: StreamView,
        consumer: &str,
    ) -> Result<ConsumerView, ControlError> {
        let name = described.name.clone();
        described
            .consumers
            .into_iter()
            .find(|c| c.name == consumer)
            .ok_or_else(|| {
                self.inner
                    .error(sandbox_services::stream::StreamsError::Stream(
                        sandbox_services::stream::StreamError::UnknownConsumer {
                            stream: name.to_string(),
                            consumer: consumer.to_string(),
                        },
                    ))
            })
    }

    fn consumer_view(
        &self,
        stream: &str,
        c: &sandbox_services::stream::ConsumerDescription,
        totals: Totals,
    ) -> ConsumerView {
        let def = self.inner.consumer(stream, &c.name);
        let def = def.as_ref();
        let shards = c
            .shards
            .iter()
            .map(|s| ConsumerShardView {
                shard_id: s.shard_id.clone(),
                checkpoint: s.checkpoint.clone(),
                lag: s.lag,
                in_flight: s.in_flight.as_ref().map(|f| InFlightView {
                    batch_id: f.batch_id,
                    records: f.records,
                    attempt: f.attempt,
                    first_sequence_number: f.first_sequence_number.clone(),
                    last_sequence_number: f.last_sequence_number.clone(),
                }),
                retry_batches: s.retry_batches,
            })
            .collect();
        ConsumerView {
            name: c.name.clone(),
            function: def.map(|d| d.function.clone()),
            batch_size: def.map(|d| d.batch_size),
            maximum_retry_attempts: def.map(|d| d.maximum_retry_attempts),
            maximum_record_age_in_seconds: def.map(|d| d.maximum_record_age_seconds),
            bisect_batch_on_function_error: def.map(|d| d.bisect_batch_on_function_error),
            report_batch_item_failures: def.map(|d| d.report_batch_item_failures),
            on_failure: def.and_then(|d| d.on_failure.as_ref()).map(target_text),
            lag: c.lag,
            given_up: totals.given_up,
            lost_to_retention: totals.lost_to_retention,
            shards,
        }
    }

    /// Retained records, by shard then sequence number; `shard` keeps one shard's.
    pub fn records(&self, name: &str, shard: Option<&str>) -> Result<RecordList, ControlError> {
        let now = self.inner.clock.now();
        let mut state = self.inner.state();
        self.inner.trim(&mut state, name, now);
        let stream: &Stream = state.streams.get(name).map_err(|e| self.inner.error(e))?;
        if let Some(wanted) = shard {
            if !stream.shards().iter().any(|s| s.id == wanted) {
                let known: Vec<&str> = stream.shards().iter().map(|s| s.id.as_str()).collect();
                return Err(ControlError::not_found(format!(
                    "stream `{name}` has no shard `{wanted}`; shards: {}",
                    known.join(", ")
                )));
            }
        }
        let records = stream
            .shards()
            .iter()
            .filter(|s| shard.is_none_or(|wanted| s.id == wanted))
            .flat_map(|s| {
                s.records().map(|r| RecordView {
                    shard_id: s.id.clone(),
                    sequence_number: r.sequence_number.clone(),
                    partition_key: r.partition_key.clone(),
                    data: base64::engine::general_purpose::STANDARD.encode(&r.data),
                    approximate_arrival_timestamp: epoch(r.approximate_arrival),
                })
            })
            .collect();
        Ok(RecordList { records })
    }
}

fn target_text(target: &Target) -> String {
    match target {
        Target::Queue(name) => format!("queue:{name}"),
        Target::Topic(name) => format!("topic:{name}"),
        Target::Function(name) => format!("fn:{name}"),
    }
}

/// Epoch seconds with milliseconds, as Kinesis answers times.
fn epoch(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}
