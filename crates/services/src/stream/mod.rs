//! Kinesis data streams as pure state machines, plus the pure half of Lambda's Kinesis
//! trigger.
//!
//! - [`shard`]: hash-key ranges, MD5 routing, sequence numbers, one shard's records.
//! - [`stream`]: one stream: PutRecord/PutRecords, retention, and its consumers' batches.
//! - [`streams`]: every stream of the app by name.
//! - [`reader`]: GetShardIterator/GetRecords positions, independent of the consumers.
//! - [`consumer`]: Lambda's event source mapping per consumer (checkpoints, retries,
//!   bisect, partial batch responses, max record age, replay).
//! - [`lambda`]: the Kinesis event JSON, the on-failure record, the partial batch response.
//!
//! Nothing here reads a clock or sleeps: every time-dependent call takes `now`, and a driver
//! sleeps until [`Stream::next_change`] (ARCHITECTURE.md: time is passed in).

pub mod consumer;
pub mod lambda;
pub mod reader;
pub mod shard;
#[allow(clippy::module_inception)]
pub mod stream;
pub mod streams;

pub use consumer::{
    Batch, Completion, Condition, ConsumerConfig, GivenUp, Outcome, Position, StartingPosition,
};
pub use lambda::{
    invocation_outcome, kinesis_event, on_failure_record, on_failure_record_json,
    parse_item_failures, stream_arn,
};
pub use reader::{IteratorStart, ReadBatch, ReadError};
pub use shard::{hash_ranges, partition_key_hash, sequence_string, shard_id, Record, Shard};
pub use stream::image::{
    StoredConsumer, StoredCursor, StoredMeta, StoredRecord, StoredRetry, StreamChanges,
    StreamEntry, StreamHead,
};
pub use stream::{
    BatchError, ConfigError, ConsumerDescription, CursorDescription, InFlightDescription,
    LostToRetention, PutEntry, PutError, PutResult, Ready, ShardDescription, ShardTrim, Stream,
    StreamConfig, StreamDescription, StreamError, StreamMeta, TrimReport, MAX_BATCH_ENTRIES,
    MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES, MAX_REQUEST_BYTES, MAX_SHARDS,
};
pub use streams::{Streams, StreamsError};

#[cfg(test)]
mod consumer_tests;
#[cfg(test)]
mod stream_tests;
