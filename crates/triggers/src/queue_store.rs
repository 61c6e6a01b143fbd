//! `--state DIR` for queues: restores the queues at start and hands every change of the
//! queue state machine to the store.
//!
//! The promise: an acknowledged send (control API, AWS API, a handler's host call) is on
//! disk before its answer leaves, so it survives `kill -9` at the next instant. Each
//! change is taken from the state machine's journal under the broker lock and submitted
//! to group commit while the lock is still held (so deltas reach the disk in the order
//! the changes happened); the caller then releases the lock and waits for its commit,
//! while other senders add theirs to the same transaction.
//!
//! The consumer's own changes (a receive, a settle's deletes, expiry) are submitted the
//! same way but not waited for: if one is lost in a crash, the message comes back once
//! more — the at-least-once that SQS promises too, never a loss.
//!
//! Every durable service (streams, schedules, topics, buses too) keeps its link to the
//! store in a [`Durable`]: the committer, the catalog as last submitted, submitting a
//! change and waiting for it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sandbox_services::queue::{CatalogEntry, Queue, QueueConfig, Queues, ReloadReport};
use sandbox_state::{Committer, Delta, Store, Ticket};

use crate::ControlError;

/// What `--state` brought back at start, for the start-up summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    pub dir: PathBuf,
    pub messages: usize,
    /// Queues holding at least one of them.
    pub queues: usize,
    /// How reconciling with the manifest changed the stored queues (reload's lines).
    pub report: ReloadReport,
    /// Where the manual clock was set back to, when it had moved before.
    pub clock: Option<DateTime<Utc>>,
    /// Stream records and consumers' checkpoints (`streams::durable`).
    pub streams: crate::streams::StreamsRestored,
    /// Schedules that resumed from their last fire.
    pub schedules: usize,
    /// Topics' and buses' function deliveries waiting for an attempt or a retry.
    pub retries: usize,
    /// Buses' archived events and API-made resources (`buses::durable`).
    pub buses: crate::buses::BusesRestored,
    /// Topics and subscriptions made through the SNS API (`topics::durable`).
    pub topics: crate::topics::TopicsRestored,
}

/// A durable service's link to the store: group commit and the catalog `C` as last
/// submitted (a change of it is written whole, which is small).
pub(crate) struct Durable<C> {
    committer: Arc<Committer>,
    catalog: Mutex<C>,
}

impl<C: PartialEq + Clone> Durable<C> {
    /// `catalog`: what the store holds now.
    pub(crate) fn new(committer: Arc<Committer>, catalog: C) -> Self {
        Durable {
            committer,
            catalog: Mutex::new(catalog),
        }
    }

    /// The catalog as last submitted.
    pub(crate) fn catalog(&self) -> C {
        self.catalog
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `next`, when it differs from the catalog last submitted (it is then the last).
    pub(crate) fn changed(&self, next: Option<C>) -> Option<C> {
        let next = next?;
        let mut last = self.catalog.lock().unwrap_or_else(|p| p.into_inner());
        (*last != next).then(|| {
            *last = next.clone();
            next
        })
    }

    /// Submits `delta` unless it is empty. Call under the service's lock, so deltas
    /// reach the disk in the order their changes happened.
    pub(crate) fn submit(&self, delta: Delta) -> Option<Ticket> {
        (!delta.is_empty()).then(|| self.committer.submit(delta))
    }

    /// Waits (outside the service's lock) until `ticket`'s commit is on disk; on tokio's
    /// multi-threaded runtime the worker hands its other tasks on while it waits. A
    /// failed write is a 503: the change must not be acknowledged.
    pub(crate) fn wait(&self, ticket: Option<Ticket>) -> Result<(), ControlError> {
        let Some(ticket) = ticket else {
            return Ok(());
        };
        let wait = || self.committer.wait(ticket);
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let result = if multi {
            tokio::task::block_in_place(wait)
        } else {
            wait()
        };
        result.map_err(|e| ControlError {
            status: 503,
            message: format!(
                "{e}; the change was not acknowledged: check the state directory (disk full or read-only?) and retry"
            ),
        })
    }
}

pub(crate) struct QueueStore {
    durable: Durable<BTreeMap<String, CatalogEntry>>,
}

impl QueueStore {
    /// Reads the stored queues, reconciles them with the manifest's `configs` the way a
    /// reload does, and writes the result before anything else can change it.
    pub(crate) fn open(
        store: Arc<Store>,
        dir: PathBuf,
        configs: Vec<QueueConfig>,
        now: DateTime<Utc>,
    ) -> Result<(Queues, QueueStore, Restored), String> {
        let loaded = store.load_queues().map_err(|e| e.to_string())?;
        let mut restored = Restored {
            dir,
            queues: loaded.iter().filter(|l| !l.messages.is_empty()).count(),
            messages: loaded.iter().map(|l| l.messages.len()).sum(),
            report: ReloadReport::default(),
            clock: None,
            ..Restored::default()
        };
        let stored_catalog: BTreeMap<String, CatalogEntry> = loaded
            .iter()
            .map(|l| (l.entry.config.name.clone(), l.entry.clone()))
            .collect();
        let mut broker = if loaded.is_empty() {
            Queues::new(configs).map_err(|e| e.to_string())?
        } else {
            let queues = loaded
                .into_iter()
                .map(|l| {
                    let queue = Queue::restore(l.entry.config, l.head, l.messages, l.dedup, now)
                        .map_err(|e| format!("stored queue: {e}"))?;
                    Ok((queue, l.entry.meta))
                })
                .collect::<Result<Vec<_>, String>>()?;
            let mut broker = Queues::restored(queues);
            // The store holds exactly these; from here on only changes are written.
            broker.start_journal();
            restored.report = broker
                .replace_configs(configs)
                .map_err(|e| format!("the stored queues and the manifest: {e}"))?;
            broker
        };
        broker.stamp(now);
        let fresh = stored_catalog.is_empty();
        let this = QueueStore {
            durable: Durable::new(Arc::new(Committer::start(store)), stored_catalog),
        };
        let mut delta = this.delta(&mut broker, true);
        if fresh {
            // Nothing stored yet: every queue is written whole, then only its changes.
            broker.start_journal();
            delta.queues = broker
                .names()
                .into_iter()
                .filter_map(|n| broker.get(&n).ok().map(|q| (n, q.image())))
                .collect();
        }
        let committer = &this.durable.committer;
        committer
            .wait(committer.submit(delta))
            .map_err(|e| e.to_string())?;
        Ok((broker, this, restored))
    }

    fn delta(&self, broker: &mut Queues, catalog: bool) -> Delta {
        Delta {
            catalog: self.durable.changed(catalog.then(|| broker.catalog())),
            queues: broker.take_changes(),
            ..Delta::default()
        }
    }

    /// Submits what changed since the last call; call it under the broker lock. With
    /// `catalog`, also looks for queues made, removed or reconfigured (the API's and a
    /// reload's changes; a send cannot make any).
    pub(crate) fn record(&self, broker: &mut Queues, catalog: bool) -> Option<Ticket> {
        self.durable.submit(self.delta(broker, catalog))
    }

    /// Waits (outside the broker lock) until `ticket`'s commit is on disk.
    pub(crate) fn wait(&self, ticket: Option<Ticket>) -> Result<(), ControlError> {
        self.durable.wait(ticket)
    }
}
