//! SQS queues as pure state machines, plus the pure half of Lambda's SQS trigger.
//!
//! - [`message`]: one message and the MD5 digests SQS computes for it.
//! - [`queue`]: one standard or FIFO queue (visibility, delay, retention, dedup, groups).
//! - [`admin`]: queues made, changed and removed at run time; SQS's attributes and tags.
//! - [`broker`]: all queues of an app by name; dead-letter moves, redrive, reload.
//! - [`lambda`]: the SQS event JSON and the partial batch response rules.
//!
//! Nothing here reads a clock or sleeps: every time-dependent call takes `now`, and a driver
//! sleeps until [`Queues::next_change`] (ARCHITECTURE.md: time is passed in).

pub mod admin;
pub mod broker;
pub mod lambda;
pub mod message;
#[allow(clippy::module_inception)]
pub mod queue;

pub use admin::{AdminError, QueueMeta, MAX_WAIT};
pub use broker::{CatalogEntry, Error, Queues, Received, ReloadReport, Settled, TickReport};
pub use lambda::{batch_outcome, batch_outcome_fifo, by_group, queue_arn, sqs_event, BatchOutcome};
pub use message::{Message, MessageAttribute, MessageAttributes};
pub use queue::image::{QueueChanges, QueueHead, StoredDedup, StoredMessage};
pub use queue::{
    ConfigError, DeleteError, Delivery, MessageState, MessageView, PendingCounts, Queue,
    QueueConfig, QueueStats, SendError, SendReceipt, SendRequest, VisibilityError,
};
