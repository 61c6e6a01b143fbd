//! All queues of one app, by name: the layer that knows about more than one queue.
//!
//! A single [`Queue`] only hands back dead letters; moving them into the dead-letter queue,
//! redriving them back, and checking that every `deadLetter` target exists (and is FIFO when
//! its source is) happen here. Like the queues, `Queues` is pure: every time-dependent call
//! takes `now`, and the driver around it holds the lock and the clock.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::lambda::BatchOutcome;
use super::message::Message;
use super::queue::{
    ConfigError, DeleteError, Delivery, MessageView, Queue, QueueConfig, QueueStats, SendError,
    SendReceipt, SendRequest, VisibilityError,
};
use crate::drain::{Pending, PendingWork};

/// Why a call on [`Queues`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("there is no queue named `{name}` (queues: {})", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    UnknownQueue { name: String, known: Vec<String> },
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("queue `{queue}`: {source}")]
    Delete { queue: String, source: DeleteError },
    #[error("queue `{queue}`: {source}")]
    Visibility {
        queue: String,
        source: VisibilityError,
    },
}

/// The result of [`Queues::receive`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    pub messages: Vec<Delivery>,
    /// Messages that passed `maxReceiveCount` during this receive and now sit in the
    /// dead-letter queue: `(message id, dead-letter queue name)`, one log line each.
    pub moved_to_dlq: Vec<(String, String)>,
}

/// What [`Queues::settle`] did with a batch after the handler ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Message ids deleted as processed.
    pub deleted: Vec<String>,
    /// Message ids left for a retry (they come back after the visibility timeout).
    pub retried: Vec<String>,
    /// Processed messages that could not be deleted, with why: typically the handler ran
    /// past the visibility timeout and the message was delivered again, so its handle is
    /// stale and the message will be processed a second time.
    pub not_deleted: Vec<(String, DeleteError)>,
}

/// What [`Queues::tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Messages removed by retention: `(queue, message id)`.
    pub expired: Vec<(String, String)>,
}

/// What [`Queues::replace_configs`] did with the messages already held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    pub added: Vec<String>,
    /// Queues that were removed empty, or changed between standard and FIFO (which
    /// cannot keep their messages), with the messages they held: `(queue, message count)`.
    pub dropped: Vec<(String, usize)>,
    /// Queues removed from the configuration while still holding messages: kept,
    /// without a consumer, so their messages can still be peeked, purged or redriven.
    pub retired: Vec<(String, usize)>,
    /// Queues kept, with their messages, under a changed configuration.
    pub changed: Vec<String>,
}

/// Every queue of an app.
#[derive(Debug, Clone, Default)]
pub struct Queues {
    queues: BTreeMap<String, Queue>,
    /// What the API knows beyond configuration (`admin`): times, tags, stored attributes.
    pub(super) meta: BTreeMap<String, super::admin::QueueMeta>,
    /// A store keeps these queues (`--state`): every queue notes its changes.
    journaling: bool,
}

/// One queue's configuration and API facts, as a store keeps them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CatalogEntry {
    pub config: QueueConfig,
    pub meta: Option<super::admin::QueueMeta>,
}

fn check(configs: &[QueueConfig]) -> Result<BTreeMap<String, QueueConfig>, ConfigError> {
    let mut by_name = BTreeMap::new();
    for config in configs {
        if by_name
            .insert(config.name.clone(), config.clone())
            .is_some()
        {
            return Err(ConfigError::Duplicate(config.name.clone()));
        }
    }
    for config in configs {
        let Some((dlq, _)) = &config.dead_letter else {
            continue;
        };
        let Some(target) = by_name.get(dlq) else {
            return Err(ConfigError::UnknownDeadLetterQueue {
                queue: config.name.clone(),
                dlq: dlq.clone(),
                known: by_name.keys().cloned().collect(),
            });
        };
        if target.fifo != config.fifo {
            return Err(ConfigError::FifoMismatch {
                queue: config.name.clone(),
                dlq: dlq.clone(),
                queue_fifo: config.fifo,
            });
        }
    }
    Ok(by_name)
}

impl Queues {
    pub fn new(configs: Vec<QueueConfig>) -> Result<Queues, ConfigError> {
        let mut queues = BTreeMap::new();
        for (name, config) in check(&configs)? {
            queues.insert(name, Queue::new(config)?);
        }
        Ok(Queues {
            queues,
            meta: BTreeMap::new(),
            journaling: false,
        })
    }

    /// Queues read back from a store, as they were (no checks between them: the store
    /// held a state that passed them). Reconcile with the manifest by
    /// [`Queues::replace_configs`], as a reload does.
    pub fn restored(queues: Vec<(Queue, Option<super::admin::QueueMeta>)>) -> Queues {
        let mut out = Queues::default();
        for (queue, meta) in queues {
            let name = queue.name().to_string();
            if let Some(meta) = meta {
                out.meta.insert(name.clone(), meta);
            }
            out.queues.insert(name, queue);
        }
        out
    }

    /// Every queue starts noting its changes for [`Queues::take_changes`] (and queues
    /// made later do too); the store holds them as they are now.
    pub fn start_journal(&mut self) {
        self.journaling = true;
        for queue in self.queues.values_mut() {
            queue.set_journal(true);
        }
    }

    /// Each queue's changes since the last call. A queue made since (by the API or a
    /// reload) comes whole.
    pub fn take_changes(&mut self) -> Vec<(String, super::queue::image::QueueChanges)> {
        if !self.journaling {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (name, queue) in &mut self.queues {
            let changes = if queue.is_journaled() {
                queue.take_changes()
            } else {
                queue.set_journal(true);
                Some(queue.image())
            };
            if let Some(changes) = changes {
                out.push((name.clone(), changes));
            }
        }
        out
    }

    /// Every queue's configuration and API facts, by name.
    pub fn catalog(&self) -> BTreeMap<String, CatalogEntry> {
        self.queues
            .iter()
            .map(|(name, queue)| {
                let entry = CatalogEntry {
                    config: queue.config().clone(),
                    meta: self.meta.get(name).cloned(),
                };
                (name.clone(), entry)
            })
            .collect()
    }

    /// Adds a queue made at run time (`admin`).
    pub(super) fn insert(&mut self, queue: Queue) {
        self.queues.insert(queue.name().to_string(), queue);
    }

    /// Removes a queue and its messages (`admin`).
    pub(super) fn remove(&mut self, name: &str) -> Option<Queue> {
        self.queues.remove(name)
    }

    /// Changes one queue's configuration, keeping its messages; checks its dead-letter
    /// queue against the others as a reload would.
    pub(super) fn reconfigure_one(
        &mut self,
        name: &str,
        config: QueueConfig,
    ) -> Result<(), ConfigError> {
        let configs: Vec<QueueConfig> = self
            .queues
            .values()
            .map(|q| {
                if q.name() == name {
                    config.clone()
                } else {
                    q.config().clone()
                }
            })
            .collect();
        check(&configs)?;
        match self.queues.get_mut(name) {
            Some(queue) => queue.reconfigure(config),
            None => Ok(()),
        }
    }

    /// Moves every message of `dlq_name` to `destination` (`StartMessageMoveTask` with a
    /// destination), receive counts reset. Returns how many moved.
    pub fn move_messages(
        &mut self,
        dlq_name: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, Error> {
        self.get(destination)?;
        let messages = self.get_mut(dlq_name)?.take_all();
        let moved = messages.len();
        let target = self.get_mut(destination)?;
        for mut message in messages {
            message.dead_letter_source = None;
            message.receive_count = 0;
            message.first_received_at = None;
            message.hops = 0;
            target.enqueue_moved(message, now);
        }
        Ok(moved)
    }

    /// Queue names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.queues.keys().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Result<&Queue, Error> {
        self.queues.get(name).ok_or_else(|| self.unknown(name))
    }

    fn get_mut(&mut self, name: &str) -> Result<&mut Queue, Error> {
        if !self.queues.contains_key(name) {
            return Err(self.unknown(name));
        }
        self.queues
            .get_mut(name)
            .ok_or_else(|| Error::UnknownQueue {
                name: name.to_string(),
                known: Vec::new(),
            })
    }

    fn unknown(&self, name: &str) -> Error {
        Error::UnknownQueue {
            name: name.to_string(),
            known: self.names(),
        }
    }

    pub fn send(
        &mut self,
        name: &str,
        req: SendRequest,
        now: DateTime<Utc>,
    ) -> Result<SendReceipt, Error> {
        Ok(self.get_mut(name)?.send(req, now)?)
    }

    /// Receives with the queue's visibility timeout, moving dead letters into their
    /// dead-letter queue on the way.
    pub fn receive(
        &mut self,
        name: &str,
        max: usize,
        now: DateTime<Utc>,
    ) -> Result<Received, Error> {
        self.receive_with_visibility(name, max, None, now)
    }

    /// Like [`Queues::receive`] with an explicit visibility timeout (`ReceiveMessage`'s
    /// `VisibilityTimeout`).
    pub fn receive_with_visibility(
        &mut self,
        name: &str,
        max: usize,
        visibility: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Result<Received, Error> {
        let queue = self.get_mut(name)?;
        let got = queue.receive(max, visibility, now);
        let dlq_name = queue.config().dead_letter.as_ref().map(|(d, _)| d.clone());
        let mut received = Received {
            messages: got.messages,
            moved_to_dlq: Vec::new(),
        };
        if got.dead_lettered.is_empty() {
            return Ok(received);
        }
        // The queue only dead-letters when it has a DLQ, and `new` checked that it exists.
        let dlq_name = dlq_name.unwrap_or_default();
        let dlq = self.get_mut(&dlq_name)?;
        for mut message in got.dead_lettered {
            message.dead_letter_source = Some(name.to_string());
            received
                .moved_to_dlq
                .push((message.id.clone(), dlq_name.clone()));
            dlq.enqueue_moved(message, now);
        }
        Ok(received)
    }

    /// Deletes by receipt handle; returns the message id.
    pub fn delete(&mut self, name: &str, receipt_handle: &str) -> Result<String, Error> {
        self.get_mut(name)?
            .delete(receipt_handle)
            .map_err(|source| Error::Delete {
                queue: name.to_string(),
                source,
            })
    }

    /// Applies a [`BatchOutcome`] to the batch it was computed for: deletes the processed
    /// messages by their receipt handles and leaves the others alone.
    pub fn settle(
        &mut self,
        name: &str,
        batch: &[Delivery],
        outcome: &BatchOutcome,
    ) -> Result<Settled, Error> {
        let queue = self.get_mut(name)?;
        let mut settled = Settled {
            retried: outcome.retry.clone(),
            ..Settled::default()
        };
        for id in &outcome.delete {
            let Some(delivery) = batch.iter().find(|d| &d.message.id == id) else {
                continue;
            };
            match queue.delete(&delivery.receipt_handle) {
                Ok(deleted) => settled.deleted.push(deleted),
                Err(e) => settled.not_deleted.push((id.clone(), e)),
            }
        }
        Ok(settled)
    }

    pub fn change_visibility(
        &mut self,
        name: &str,
        receipt_handle: &str,
        timeout: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.get_mut(name)?
            .change_visibility(receipt_handle, timeout, now)
            .map_err(|source| Error::Visibility {
                queue: name.to_string(),
                source,
            })
    }

    /// Takes received messages out of `name` without delivering them, because they would
    /// continue a recursive loop (`crate::recursion`): each goes to the queue's
    /// dead-letter queue when it has one, as Lambda sends a stopped message there, and is
    /// dropped otherwise. Returns `(message id, dead-letter queue it went to)`.
    pub fn stop_recursive(
        &mut self,
        name: &str,
        stopped: &[Delivery],
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, Option<String>)>, Error> {
        let queue = self.get_mut(name)?;
        let dlq = queue.config().dead_letter.as_ref().map(|(d, _)| d.clone());
        let mut removed = Vec::new();
        for delivery in stopped {
            if queue.delete(&delivery.receipt_handle).is_ok() {
                removed.push(delivery.message.clone());
            }
        }
        let target = dlq.as_deref().and_then(|d| self.queues.get_mut(d));
        let mut fates = Vec::with_capacity(removed.len());
        match target {
            Some(dlq_queue) => {
                for mut message in removed {
                    message.dead_letter_source = Some(name.to_string());
                    fates.push((message.id.clone(), dlq.clone()));
                    dlq_queue.enqueue_moved(message, now);
                }
            }
            None => fates.extend(removed.into_iter().map(|m| (m.id, None))),
        }
        Ok(fates)
    }

    /// Moves every message of `dlq_name` back to the queue it was dead-lettered from, with
    /// its receive count reset (a fresh set of attempts). Messages that did not come from
    /// a queue (sent to the DLQ directly) or whose source no longer exists stay where they
    /// are. Returns how many moved.
    pub fn redrive(&mut self, dlq_name: &str, now: DateTime<Utc>) -> Result<usize, Error> {
        let messages = self.get_mut(dlq_name)?.take_all();
        let mut moved = 0;
        for mut message in messages {
            let source = message
                .dead_letter_source
                .clone()
                .filter(|s| s != dlq_name && self.queues.contains_key(s));
            let target = source.unwrap_or_else(|| dlq_name.to_string());
            if target != dlq_name {
                message.dead_letter_source = None;
                message.receive_count = 0;
                message.first_received_at = None;
                // A redrive is a new start, not the loop that dead-lettered it.
                message.hops = 0;
                moved += 1;
            }
            if let Some(queue) = self.queues.get_mut(&target) {
                queue.enqueue_moved(message, now);
            }
        }
        Ok(moved)
    }

    /// See [`Queue::visible_window`].
    pub fn visible_window(
        &self,
        name: &str,
        now: DateTime<Utc>,
        want: usize,
    ) -> Result<(usize, Option<DateTime<Utc>>), Error> {
        Ok(self.get(name)?.visible_window(now, want))
    }

    pub fn stats(&self, name: &str, now: DateTime<Utc>) -> Result<QueueStats, Error> {
        Ok(self.get(name)?.stats(now))
    }

    pub fn peek(&self, name: &str, now: DateTime<Utc>) -> Result<Vec<MessageView>, Error> {
        Ok(self.get(name)?.peek(now))
    }

    pub fn purge(&mut self, name: &str) -> Result<usize, Error> {
        Ok(self.get_mut(name)?.purge())
    }

    /// Applies retention to every queue and reports each removed message.
    pub fn tick(&mut self, now: DateTime<Utc>) -> TickReport {
        let mut report = TickReport::default();
        for (name, queue) in &mut self.queues {
            for message in queue.expire(now) {
                report.expired.push((name.clone(), message.id));
            }
        }
        report
    }

    /// Like [`Queues::tick`] but hands back the expired messages themselves.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Vec<(String, Message)> {
        let mut out = Vec::new();
        for (name, queue) in &mut self.queues {
            out.extend(queue.expire(now).into_iter().map(|m| (name.clone(), m)));
        }
        out
    }

    /// The earliest [`Queue::next_change`] over all queues.
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.queues
            .values()
            .filter_map(|q| q.next_change(now))
            .min()
    }

    /// Hot reload: queues whose name stays keep their messages under the new
    /// configuration; a removed queue that still holds messages is retired (kept, with
    /// its messages, for the control API) and an empty one dropped; a queue switching
    /// between standard and FIFO starts empty and reports what it held. On error nothing
    /// changes.
    pub fn replace_configs(
        &mut self,
        configs: Vec<QueueConfig>,
    ) -> Result<ReloadReport, ConfigError> {
        let mut configs = configs;
        // Queues the API made are not in the manifest: they stay, under their own
        // settings, unless the manifest now declares the same name.
        for (name, queue) in &self.queues {
            let from_api = self.meta.get(name).is_some_and(|m| m.from_api);
            if from_api && !configs.iter().any(|c| &c.name == name) {
                configs.push(queue.config().clone());
            }
        }
        let wanted = check(&configs)?;
        let mut report = ReloadReport::default();
        let mut next = BTreeMap::new();
        for (name, config) in wanted {
            match self.queues.get(&name) {
                Some(old) if old.config().fifo == config.fifo => {
                    let mut queue = old.clone();
                    if queue.config() != &config {
                        queue.reconfigure(config)?;
                        report.changed.push(name.clone());
                    }
                    next.insert(name, queue);
                }
                Some(old) => {
                    report.dropped.push((name.clone(), old.len()));
                    report.added.push(name.clone());
                    next.insert(name, Queue::new(config)?);
                }
                None => {
                    report.added.push(name.clone());
                    next.insert(name, Queue::new(config)?);
                }
            }
        }
        for (name, old) in &self.queues {
            if next.contains_key(name) {
                continue;
            }
            if old.is_empty() {
                report.dropped.push((name.clone(), 0));
            } else {
                report.retired.push((name.clone(), old.len()));
                next.insert(name.clone(), old.clone());
            }
        }
        self.queues = next;
        Ok(report)
    }
}

impl Pending for Queues {
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        self.queues
            .iter()
            .map(|(name, queue)| {
                let counts = queue.pending_counts(now);
                PendingWork {
                    service: "queue".to_string(),
                    resource: name.clone(),
                    due_now: counts.due_now as u64,
                    scheduled_later: counts.scheduled_later as u64,
                    next_due: counts.next_due,
                }
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "broker_tests.rs"]
mod tests;
