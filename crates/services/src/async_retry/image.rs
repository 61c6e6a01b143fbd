//! The outstanding async invocations' durable image (`--state`): a delivery waiting for
//! its first attempt or a retry survives a restart, so a topic's or a bus's retries are
//! not lost with the process.
//!
//! As everywhere else the state machine writes nothing: when a store asks for it
//! ([`Invocations::set_journal`]), the invocations note which deliveries an operation
//! touched, and [`Invocations::take_changes`] hands over their current state (or that
//! they are gone). A delivery in flight is stored as due: after a crash it is invoked
//! again (at-least-once, as Lambda's async queue is), its attempts counted.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::{Entry, Invocations};

/// One delivery as stored; the tag in the owner's JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInvocation {
    pub id: u64,
    pub function: String,
    /// The event JSON, as text (events are JSON).
    pub event: String,
    pub tag: serde_json::Value,
    pub attempts: u32,
    pub due_at: DateTime<Utc>,
}

/// What a store must write: upsert `deliveries`, delete `removed`, remember `next_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvocationChanges {
    pub next_id: u64,
    pub deliveries: Vec<StoredInvocation>,
    pub removed: Vec<u64>,
}

impl<T: Clone + Serialize + DeserializeOwned> Invocations<T> {
    /// Starts noting changes for [`Invocations::take_changes`]; the store holds these
    /// invocations as they are now.
    pub fn set_journal(&mut self, on: bool) {
        self.journal = on.then(BTreeSet::new);
    }

    /// What changed since the last call (nothing when journaling is off or nothing did).
    pub fn take_changes(&mut self) -> Option<InvocationChanges> {
        let touched = std::mem::take(self.journal.as_mut()?);
        if touched.is_empty() {
            return None;
        }
        let mut changes = InvocationChanges {
            next_id: self.next_id,
            ..InvocationChanges::default()
        };
        for id in touched {
            match self.entries.get(&id) {
                Some(e) => changes.deliveries.push(stored(id, e)),
                None => changes.removed.push(id),
            }
        }
        Some(changes)
    }

    /// Every outstanding delivery, as a store writes them the first time.
    pub fn image(&self) -> InvocationChanges {
        InvocationChanges {
            next_id: self.next_id,
            deliveries: self.entries.iter().map(|(id, e)| stored(*id, e)).collect(),
            removed: Vec::new(),
        }
    }

    /// Puts stored deliveries back (each due at its stored time; one that was in flight
    /// runs again). Deliveries whose tag no longer reads, or that `keep` refuses (their
    /// subscription or target is gone), are dropped; returns how many came back.
    pub fn restore(
        &mut self,
        next_id: u64,
        stored: Vec<StoredInvocation>,
        keep: impl Fn(&T) -> bool,
    ) -> usize {
        self.next_id = self.next_id.max(next_id);
        let mut restored = 0;
        for s in stored {
            let Ok(tag) = serde_json::from_value::<T>(s.tag) else {
                continue;
            };
            if !keep(&tag) {
                continue;
            }
            self.next_id = self.next_id.max(s.id + 1);
            self.entries.insert(
                s.id,
                Entry {
                    function: s.function,
                    event: s.event.into_bytes(),
                    tag,
                    attempts: s.attempts,
                    due_at: s.due_at,
                    in_flight: false,
                },
            );
            restored += 1;
        }
        restored
    }
}

fn stored<T: Serialize>(id: u64, e: &Entry<T>) -> StoredInvocation {
    StoredInvocation {
        id,
        function: e.function.clone(),
        event: String::from_utf8_lossy(&e.event).into_owned(),
        tag: serde_json::to_value(&e.tag).unwrap_or_default(),
        attempts: e.attempts,
        due_at: e.due_at,
    }
}
