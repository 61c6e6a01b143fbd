//! Streams as the Kinesis API manages them: created and deleted at run time, read and
//! changed under the service's lock at the sandbox clock's `now`. These are the same
//! streams as the manifest's (one world): listed by `/_sandbox/streams`, counted by
//! drain, reached by handlers' `streams.PutRecord`.
//!
//! A stream named like one the manifest declares gets the manifest's consumers when it
//! is (re)created, so deleting a manifest stream and creating it again reconnects its
//! handlers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sandbox_services::stream::{Stream, StreamConfig, Streams};

use super::{config, drop_stream, StreamService};
use crate::ControlError;

/// Why CreateStream refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateError {
    /// A stream of that name exists.
    Exists,
    /// The settings cannot work (shard count out of range, …).
    Invalid(String),
    /// Made, but it could not be saved to the state directory (`--state`): not
    /// acknowledged.
    NotSaved(ControlError),
}

impl StreamService {
    /// CreateStream: an empty stream of `shards` shards and 24 hours' retention, with the
    /// manifest's consumers if the manifest declares the name.
    pub fn create(&self, name: &str, shards: u32, on_demand: bool) -> Result<(), CreateError> {
        let now = self.inner.clock.now();
        let consumers = match self.inner.defs().iter().find(|d| d.name == name) {
            Some(def) => config(def).map_err(CreateError::Invalid)?.consumers,
            None => Vec::new(),
        };
        let stream = Stream::new(StreamConfig {
            name: name.to_string(),
            shards,
            retention: Duration::from_secs(24 * 3600),
            consumers,
        })
        .map_err(|e| CreateError::Invalid(e.reason))?;
        let mut stream = stream.created_at(now);
        stream.meta_mut().on_demand = on_demand;
        let ticket = {
            let mut state = self.inner.state();
            if state.streams.get(name).is_ok() {
                return Err(CreateError::Exists);
            }
            state.streams.insert(stream);
            self.inner.record(&mut state, true)
        };
        self.inner.durable(ticket).map_err(CreateError::NotSaved)?;
        tracing::info!("stream {name} created through the AWS API ({shards} shard(s))");
        self.inner.activity.clock_moved();
        Ok(())
    }

    /// DeleteStream: the stream goes with its records and consumers' checkpoints; batches
    /// in flight finish without effect. `None` if there is no such stream; an error if
    /// the deletion could not be saved (`--state`).
    pub fn delete(&self, name: &str) -> Result<Option<usize>, ControlError> {
        let (held, ticket) = {
            let mut state = self.inner.state();
            if state.streams.get(name).is_err() {
                return Ok(None);
            }
            let held = drop_stream(&mut state, name);
            (held, self.inner.record(&mut state, true))
        };
        self.inner.durable(ticket)?;
        tracing::info!("stream {name} deleted through the AWS API with its {held} record(s)");
        self.inner.activity.clock_moved();
        Ok(Some(held))
    }

    /// Runs `f` on stream `name` (retention applied first) under the lock at the sandbox's
    /// `now`, then wakes the consumers; `None` if there is no such stream. With
    /// `--state`, returns once what `f` changed is on disk, or the error (503) if it
    /// could not be written: then the change must not be acknowledged.
    pub fn with_stream<R>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Stream, DateTime<Utc>) -> R,
    ) -> Result<Option<R>, ControlError> {
        let now = self.inner.clock.now();
        let (result, ticket) = {
            let mut state = self.inner.state();
            self.inner.trim(&mut state, name, now);
            let Ok(stream) = state.streams.get_mut(name) else {
                return Ok(None);
            };
            let result = f(stream, now);
            (result, self.inner.record(&mut state, true))
        };
        self.inner.activity.clock_moved();
        self.inner.durable(ticket)?;
        Ok(Some(result))
    }

    /// Runs `f` on every stream, reading only, at the sandbox's `now`.
    pub fn with_streams<R>(&self, f: impl FnOnce(&Streams, DateTime<Utc>) -> R) -> R {
        let now = self.inner.clock.now();
        f(&self.inner.state().streams, now)
    }
}
