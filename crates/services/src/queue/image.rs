//! A queue's durable image: what a store writes so the queue survives a restart, and the
//! way back from it.
//!
//! The queue stays a pure state machine: it never writes anything. When a store asks for
//! it ([`Queue::set_journal`]), the queue notes which messages and deduplication ids each
//! operation touched; [`Queue::take_changes`] hands over their current state (or that
//! they are gone), so a store writes only what changed — O(changes), not O(queue) — and
//! [`Queue::restore`] rebuilds every index from what was written. Derived facts are not
//! stored: the expiry time follows from `retained_since` and the retention period, and a
//! FIFO group's lock from its messages in flight.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rustc_hash::FxBuildHasher;

use super::{later, ConfigError, Dedup, Entry, Message, Queue, QueueConfig, DEDUP_WINDOW};

/// Which messages and dedup ids changed since the last [`Queue::take_changes`].
#[derive(Debug, Clone, Default)]
pub(super) struct Journal {
    /// Everything changed at once (a purge, a new queue): write the whole image.
    pub(super) whole: bool,
    keys: HashSet<u64, FxBuildHasher>,
    dedup: HashSet<String, FxBuildHasher>,
}

impl Journal {
    pub(super) fn touch(&mut self, key: u64) {
        self.keys.insert(key);
    }
}

/// One message as stored: the message, when it is next visible, and its current receipt
/// handle's nonce (so handles issued before a restart stay valid after it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredMessage {
    /// Arrival order within the queue (FIFO order).
    pub key: u64,
    pub message: Message,
    pub visible_at: DateTime<Utc>,
    pub receipt: Option<u128>,
}

/// One FIFO deduplication id inside its 5-minute window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredDedup {
    pub id: String,
    pub message_id: String,
    pub sequence_number: Option<String>,
    pub at: DateTime<Utc>,
}

/// The queue's counters: the next arrival key and FIFO sequence number, and its totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueHead {
    pub next_key: u64,
    pub next_sequence: u64,
    pub expired_total: u64,
    pub dead_lettered_total: u64,
}

/// What a store must write for one queue: with `whole`, replace everything it holds for
/// the queue by `messages` and `dedup`; otherwise upsert those and delete the `removed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueChanges {
    pub whole: bool,
    pub head: QueueHead,
    pub messages: Vec<StoredMessage>,
    pub removed: Vec<u64>,
    pub dedup: Vec<StoredDedup>,
    pub dedup_removed: Vec<String>,
}

impl Queue {
    /// Starts (or stops) noting changes for [`Queue::take_changes`]. Starting says the
    /// store already holds this queue as it is now.
    pub fn set_journal(&mut self, on: bool) {
        self.journal = on.then(Box::default);
    }

    pub fn is_journaled(&self) -> bool {
        self.journal.is_some()
    }

    pub(super) fn touch(&mut self, key: u64) {
        if let Some(journal) = &mut self.journal {
            journal.touch(key);
        }
    }

    pub(super) fn touch_dedup(&mut self, id: &str) {
        if let Some(journal) = &mut self.journal {
            journal.dedup.insert(id.to_string());
        }
    }

    /// What changed since the last call (nothing when journaling is off or nothing did).
    pub fn take_changes(&mut self) -> Option<QueueChanges> {
        let journal = self.journal.as_mut()?;
        if !journal.whole && journal.keys.is_empty() && journal.dedup.is_empty() {
            return None;
        }
        let journal = std::mem::take(&mut **journal);
        if journal.whole {
            return Some(self.image());
        }
        let mut changes = QueueChanges {
            head: self.head(),
            ..QueueChanges::default()
        };
        for key in journal.keys {
            match self.entries.get(&key) {
                Some(entry) => changes.messages.push(stored(key, entry)),
                None => changes.removed.push(key),
            }
        }
        for id in journal.dedup {
            match self.dedup.get(&id) {
                Some(d) => changes.dedup.push(stored_dedup(&id, d)),
                None => changes.dedup_removed.push(id),
            }
        }
        Some(changes)
    }

    /// The whole queue, as [`QueueChanges`] with `whole` set.
    pub fn image(&self) -> QueueChanges {
        QueueChanges {
            whole: true,
            head: self.head(),
            messages: self.entries.iter().map(|(k, e)| stored(*k, e)).collect(),
            removed: Vec::new(),
            dedup: self
                .dedup
                .iter()
                .map(|(id, d)| stored_dedup(id, d))
                .collect(),
            dedup_removed: Vec::new(),
        }
    }

    fn head(&self) -> QueueHead {
        QueueHead {
            next_key: self.next_key,
            next_sequence: self.next_sequence,
            expired_total: self.expired_total,
            dead_lettered_total: self.dead_lettered_total,
        }
    }

    /// A queue as it was stored. Receipt handles stay valid; dedup ids whose window ended
    /// before `now` are dropped.
    pub fn restore(
        config: QueueConfig,
        head: QueueHead,
        messages: Vec<StoredMessage>,
        dedup: Vec<StoredDedup>,
        now: DateTime<Utc>,
    ) -> Result<Queue, ConfigError> {
        let mut queue = Queue::new(config)?;
        queue.next_sequence = head.next_sequence.max(queue.next_sequence);
        queue.expired_total = head.expired_total;
        queue.dead_lettered_total = head.dead_lettered_total;
        let mut next_key = head.next_key;
        for m in messages {
            let key = m.key;
            next_key = next_key.max(key + 1);
            let expires_at = later(m.message.retained_since, queue.config.retention);
            queue.by_id.insert(m.message.id.clone(), key);
            queue.by_visible.insert((m.visible_at, key));
            queue.by_expiry.insert((expires_at, key));
            if let Some(nonce) = m.receipt {
                queue.by_handle.insert(nonce, key);
            }
            queue.entries.insert(
                key,
                Box::new(Entry {
                    message: m.message,
                    visible_at: m.visible_at,
                    receipt: m.receipt,
                    expires_at,
                }),
            );
        }
        queue.next_key = next_key;
        let mut dedup: Vec<StoredDedup> = dedup
            .into_iter()
            .filter(|d| later(d.at, DEDUP_WINDOW) > now)
            .collect();
        dedup.sort_by_key(|d| d.at);
        queue.dedup_order = dedup.iter().map(|d| (d.at, d.id.clone())).collect();
        queue.dedup = dedup
            .into_iter()
            .map(|d| {
                let entry = Dedup {
                    message_id: d.message_id,
                    sequence_number: d.sequence_number,
                    at: d.at,
                };
                (d.id, entry)
            })
            .collect();
        Ok(queue)
    }
}

fn stored(key: u64, entry: &Entry) -> StoredMessage {
    StoredMessage {
        key,
        message: entry.message.clone(),
        visible_at: entry.visible_at,
        receipt: entry.receipt,
    }
}

fn stored_dedup(id: &str, d: &Dedup) -> StoredDedup {
    StoredDedup {
        id: id.to_string(),
        message_id: d.message_id.clone(),
        sequence_number: d.sequence_number.clone(),
        at: d.at,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;

    use super::super::SendRequest;
    use super::*;

    /// A store in miniature: applies changes the way a real one must.
    #[derive(Default)]
    struct Model {
        head: QueueHead,
        messages: BTreeMap<u64, StoredMessage>,
        dedup: BTreeMap<String, StoredDedup>,
    }

    impl Model {
        fn apply(&mut self, c: QueueChanges) {
            if c.whole {
                self.messages.clear();
                self.dedup.clear();
            }
            self.head = c.head;
            for m in c.messages {
                self.messages.insert(m.key, m);
            }
            for k in c.removed {
                self.messages.remove(&k);
            }
            for d in c.dedup {
                self.dedup.insert(d.id.clone(), d);
            }
            for id in c.dedup_removed {
                self.dedup.remove(&id);
            }
        }

        fn restore(&self, config: QueueConfig, now: DateTime<Utc>) -> Queue {
            Queue::restore(
                config,
                self.head,
                self.messages.values().cloned().collect(),
                self.dedup.values().cloned().collect(),
                now,
            )
            .unwrap_or_else(|e| panic!("{e}"))
        }
    }

    fn fifo() -> QueueConfig {
        let mut c = QueueConfig::new("jobs.fifo");
        c.fifo = true;
        c
    }

    fn send(q: &mut Queue, body: &str, group: &str, now: DateTime<Utc>) -> String {
        let mut req = SendRequest::new(body);
        req.group_id = Some(group.into());
        req.dedup_id = Some(format!("d-{body}"));
        q.send(req, now).map(|r| r.message_id).unwrap_or_default()
    }

    #[test]
    fn changes_applied_in_order_restore_the_same_queue() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut q = Queue::new(fifo()).unwrap();
        let mut model = Model::default();
        q.set_journal(true);
        send(&mut q, "a", "g1", t0);
        send(&mut q, "b", "g1", t0);
        send(&mut q, "c", "g2", t0);
        model.apply(q.take_changes().unwrap());
        let got = q.receive(1, None, t0);
        let handle = got.messages[0].receipt_handle.clone();
        model.apply(q.take_changes().unwrap());
        assert!(q.take_changes().is_none(), "nothing changed since");

        let mut back = model.restore(fifo(), t0);
        back.check_invariants();
        assert_eq!(back.peek(t0), q.peek(t0));
        // The group stays locked behind its in-flight message, and the handle still works.
        let next = back.receive(10, None, t0);
        let bodies: Vec<&str> = next
            .messages
            .iter()
            .map(|d| d.message.body.as_str())
            .collect();
        assert_eq!(bodies, ["c"]);
        assert!(back.delete(&handle).is_ok());
        // Dedup survives: the same id within 5 minutes is a duplicate.
        let mut req = SendRequest::new("a");
        req.group_id = Some("g1".into());
        req.dedup_id = Some("d-a".into());
        assert!(back.send(req, t0).unwrap().duplicate);
        // A new message continues the sequence numbers and arrival order.
        let id = send(&mut back, "d", "g3", t0);
        let views = back.peek(t0);
        assert_eq!(views.last().map(|v| v.message.id.clone()), Some(id));
        let seqs: Vec<_> = views
            .iter()
            .map(|v| v.message.sequence_number.clone())
            .collect();
        let mut sorted = seqs.clone();
        sorted.sort();
        assert_eq!(seqs, sorted);
    }

    #[test]
    fn deletes_purges_and_expired_dedup_reach_the_store() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut q = Queue::new(fifo()).unwrap();
        let mut model = Model::default();
        q.set_journal(true);
        send(&mut q, "a", "g", t0);
        let got = q.receive(1, None, t0);
        q.delete(&got.messages[0].receipt_handle).unwrap();
        model.apply(q.take_changes().unwrap());
        assert!(model.messages.is_empty());
        assert_eq!(model.dedup.len(), 1);
        let later = t0 + chrono::Duration::minutes(6);
        send(&mut q, "b", "g", later);
        model.apply(q.take_changes().unwrap());
        assert_eq!(model.dedup.keys().collect::<Vec<_>>(), ["d-b"]);
        q.purge();
        model.apply(q.take_changes().unwrap());
        assert!(model.messages.is_empty());
        assert_eq!(model.restore(fifo(), later).len(), 0);
    }
}
