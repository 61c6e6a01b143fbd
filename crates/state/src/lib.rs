//! Durable state for `sandbox start --state DIR`: one redb file in DIR that holds what the
//! services hold, so a restart or a `kill -9` loses nothing that was acknowledged.
//!
//! - [`store`]: the file, its tables, writing a batch of changes in one transaction and
//!   reading everything back at start.
//! - [`streams`]: the tables of streams (records, consumers' cursors, catalog) and of
//!   schedules (anchor and last fire).
//! - `retries`: topics' and buses' async invocations waiting for an attempt.
//! - [`buses`]: buses' catalog (what the API made, replays) and archived events.
//! - `topics`: the SNS topics' catalog (topics and subscriptions, the API's too).
//! - `table`: the one shape of every table above — JSON rows by key, read and written
//!   by key, key range or whole catalog.
//! - [`commit`]: group commit — changes from many concurrent senders go to disk in one
//!   transaction (one fsync), and each sender waits only for the commit holding its own.
//!
//! The services stay pure state machines: they note what changed
//! (`sandbox_services::queue::Queues::take_changes`) and this crate writes it. The drivers
//! in `sandbox-triggers` decide when to hand changes over and when an answer must wait.

pub mod buses;
pub mod commit;
mod retries;
pub mod store;
pub mod streams;
mod table;
mod topics;

pub use buses::BusesDelta;
pub use commit::{Committer, Ticket};
pub use store::{Delta, LoadedQueue, Store, StoreError};
pub use streams::{LoadedStream, StreamsDelta};
