//! Batches taken from remote resources and not yet settled, for drain and for stopping a
//! consumer at a reload. A batch counts from the moment its first message or record is
//! received (it is the sandbox's then: invisible in the real queue, or not yet
//! checkpointed) until it is settled (deleted or left to come back; checkpointed or
//! given up). Messages still waiting in AWS are not counted: they are not ours.
//!
//! Each consumer holds a [`Tracker`]: its own count (a reload stops it only between
//! batches) and the shared [`InFlight`] totals drain reads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sandbox_services::PendingWork;
use sandbox_triggers::remote::RemoteActivity;

/// `(service, resource)` → (batches, messages) in flight.
type PerResource = BTreeMap<(&'static str, String), (u64, u64)>;

/// Every remote consumer's batches in flight.
#[derive(Default)]
pub(crate) struct InFlight {
    busy: AtomicU64,
    ended: AtomicU64,
    per: Mutex<PerResource>,
}

impl InFlight {
    pub(crate) fn activity(&self) -> RemoteActivity {
        // `busy` first (a batch's drop counts it ended before it stops being busy): a
        // batch that ends between the two reads is seen as busy or as ended, never as
        // neither.
        let busy = self.busy.load(Ordering::Acquire);
        RemoteActivity {
            busy,
            ended: self.ended.load(Ordering::Acquire),
        }
    }

    /// One row per resource with a batch in flight; `due_now` counts its messages.
    pub(crate) fn pending(&self) -> Vec<PendingWork> {
        self.lock()
            .iter()
            .map(|((service, resource), (_, messages))| PendingWork {
                service: service.to_string(),
                resource: resource.clone(),
                due_now: *messages,
                scheduled_later: 0,
                next_due: None,
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PerResource> {
        self.per.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One consumer's view: its own count, and the shared totals.
#[derive(Clone)]
pub(crate) struct Tracker {
    shared: Arc<InFlight>,
    own: Arc<AtomicU64>,
    service: &'static str,
    resource: String,
}

impl Tracker {
    /// `service` as drain reports it (`"remote queue"`), `resource` the manifest's name.
    pub(crate) fn new(shared: &Arc<InFlight>, service: &'static str, resource: &str) -> Tracker {
        Tracker {
            shared: shared.clone(),
            own: Arc::new(AtomicU64::new(0)),
            service,
            resource: resource.to_string(),
        }
    }

    /// Batches of this consumer in flight.
    pub(crate) fn busy(&self) -> u64 {
        self.own.load(Ordering::Acquire)
    }

    /// A batch taken: in flight until the guard is dropped.
    pub(crate) fn begin(&self, messages: usize) -> Batch {
        let messages = messages as u64;
        {
            let mut per = self.shared.lock();
            let row = per
                .entry((self.service, self.resource.clone()))
                .or_default();
            row.0 += 1;
            row.1 += messages;
        }
        self.own.fetch_add(1, Ordering::AcqRel);
        self.shared.busy.fetch_add(1, Ordering::AcqRel);
        Batch {
            tracker: self.clone(),
            messages,
        }
    }
}

/// A batch in flight (see [`Tracker::begin`]).
pub(crate) struct Batch {
    tracker: Tracker,
    messages: u64,
}

impl Batch {
    /// More messages joined the batch (its batching window).
    pub(crate) fn add(&mut self, messages: usize) {
        let messages = messages as u64;
        if let Some(row) = self
            .tracker
            .shared
            .lock()
            .get_mut(&(self.tracker.service, self.tracker.resource.clone()))
        {
            row.1 += messages;
        }
        self.messages += messages;
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        let t = &self.tracker;
        {
            let mut per = t.shared.lock();
            let key = (t.service, t.resource.clone());
            if let Some(row) = per.get_mut(&key) {
                row.0 -= 1;
                row.1 -= self.messages;
                if row.0 == 0 {
                    per.remove(&key);
                }
            }
        }
        t.own.fetch_sub(1, Ordering::AcqRel);
        // Ended before no longer busy: drain never sees it as neither.
        t.shared.ended.fetch_add(1, Ordering::AcqRel);
        t.shared.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_counts_until_dropped() {
        let shared = Arc::new(InFlight::default());
        let orders = Tracker::new(&shared, "remote queue", "orders");
        let mut batch = orders.begin(2);
        batch.add(1);
        assert_eq!(orders.busy(), 1);
        assert_eq!(shared.activity(), RemoteActivity { busy: 1, ended: 0 });
        let rows = shared.pending();
        assert_eq!((rows[0].resource.as_str(), rows[0].due_now), ("orders", 3));
        drop(batch);
        assert_eq!(orders.busy(), 0);
        assert_eq!(shared.activity(), RemoteActivity { busy: 0, ended: 1 });
        assert!(shared.pending().is_empty());
    }
}
