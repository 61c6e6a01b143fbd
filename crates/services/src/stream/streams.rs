//! All streams of an app by name, so the driver and the control API have one place to put
//! records, collect ready batches, complete them and ask for drain reports.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::consumer::{Completion, Outcome, Position};
use super::stream::{
    BatchError, ConfigError, PutEntry, PutError, PutResult, Ready, Stream, StreamConfig,
    StreamDescription,
};
use crate::drain::{Pending, PendingWork};

/// Errors of the by-name calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamsError {
    #[error("no stream named `{0}`")]
    UnknownStream(String),
    #[error(transparent)]
    Put(#[from] PutError),
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error(transparent)]
    Stream(#[from] super::stream::StreamError),
}

/// Every stream of the app.
#[derive(Debug, Clone, Default)]
pub struct Streams {
    streams: BTreeMap<String, Stream>,
    /// A store keeps these (`--state`): streams added later come whole at the next
    /// [`Streams::take_changes`].
    journaling: bool,
}

impl Streams {
    pub fn new(configs: Vec<StreamConfig>) -> Result<Streams, ConfigError> {
        let mut streams = BTreeMap::new();
        for config in configs {
            let name = config.name.clone();
            if streams.contains_key(&name) {
                return Err(ConfigError {
                    stream: name,
                    reason: "declared twice".into(),
                });
            }
            streams.insert(name, Stream::new(config)?);
        }
        Ok(Streams {
            streams,
            journaling: false,
        })
    }

    /// Every stream starts noting its changes for [`Streams::take_changes`] (and streams
    /// added later do too); the store holds them as they are now.
    pub fn start_journal(&mut self) {
        self.journaling = true;
        for stream in self.streams.values_mut() {
            stream.set_journal(true);
        }
    }

    /// Each stream's changes since the last call. A stream added since (by the API or a
    /// reload) comes whole.
    pub fn take_changes(&mut self) -> Vec<(String, super::StreamChanges)> {
        if !self.journaling {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (name, stream) in &mut self.streams {
            let changes = if stream.is_journaled() {
                stream.take_changes()
            } else {
                stream.set_journal(true);
                Some(stream.image())
            };
            if let Some(changes) = changes {
                out.push((name.clone(), changes));
            }
        }
        out
    }

    /// Every stream's settings and API facts, by name; `declared` says which names the
    /// manifest declares.
    pub fn catalog(&self, declared: impl Fn(&str) -> bool) -> BTreeMap<String, super::StreamEntry> {
        self.streams
            .iter()
            .map(|(name, s)| (name.clone(), s.entry(declared(name))))
            .collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.streams.keys().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Result<&Stream, StreamsError> {
        self.streams
            .get(name)
            .ok_or_else(|| StreamsError::UnknownStream(name.to_string()))
    }

    pub fn get_mut(&mut self, name: &str) -> Result<&mut Stream, StreamsError> {
        self.streams
            .get_mut(name)
            .ok_or_else(|| StreamsError::UnknownStream(name.to_string()))
    }

    /// Adds a stream, replacing any stream of the same name (its records and
    /// checkpoints go with it). For a changed manifest.
    pub fn insert(&mut self, stream: Stream) {
        self.streams.insert(stream.name().to_string(), stream);
    }

    /// Removes a stream, returning it (to report what it held).
    pub fn remove(&mut self, name: &str) -> Option<Stream> {
        self.streams.remove(name)
    }

    /// PutRecord on stream `name`.
    pub fn put(
        &mut self,
        name: &str,
        partition_key: impl Into<String>,
        data: Vec<u8>,
        explicit_hash_key: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<PutResult, StreamsError> {
        Ok(self
            .get_mut(name)?
            .put(partition_key, data, explicit_hash_key, now)?)
    }

    /// PutRecords on stream `name`.
    pub fn put_records(
        &mut self,
        name: &str,
        entries: Vec<PutEntry>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<PutResult, PutError>>, StreamsError> {
        Ok(self.get_mut(name)?.put_records(entries, now)?)
    }

    /// [`Stream::next_batches`] of every stream, merged (each batch names its stream).
    pub fn next_batches(&mut self, now: DateTime<Utc>) -> Ready {
        let mut all = Ready::default();
        for stream in self.streams.values_mut() {
            let ready = stream.next_batches(now);
            all.batches.extend(ready.batches);
            all.given_up.extend(ready.given_up);
            all.trimmed.removed.extend(ready.trimmed.removed);
            all.trimmed.lost.extend(ready.trimmed.lost);
        }
        all
    }

    /// [`Stream::complete`] on the batch's stream.
    pub fn complete(
        &mut self,
        stream: &str,
        batch_id: u64,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<Completion, StreamsError> {
        Ok(self.get_mut(stream)?.complete(batch_id, outcome, now)?)
    }

    /// [`Stream::set_position`] on stream `name`.
    pub fn set_position(
        &mut self,
        name: &str,
        consumer: &str,
        position: Position,
        now: DateTime<Utc>,
    ) -> Result<(), StreamsError> {
        Ok(self.get_mut(name)?.set_position(consumer, position, now)?)
    }

    pub fn describe(&self, now: DateTime<Utc>) -> Vec<StreamDescription> {
        self.streams.values().map(|s| s.describe(now)).collect()
    }

    /// The earliest [`Stream::next_change`] of all streams.
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.streams
            .values()
            .filter_map(|s| s.next_change(now))
            .min()
    }
}

impl Pending for Streams {
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        self.streams.values().flat_map(|s| s.pending(now)).collect()
    }

    fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.streams.values().any(|s| s.has_due(now))
    }
}
