//! Who is busy, and the wake-ups between drivers and drain.
//!
//! A driver counts a delivery as busy from the moment it takes work out of a state
//! machine until the invocation has finished, so drain never sees a gap between "no
//! longer due" and "running".
//!
//! It also counts changes (`changes`): a number that grows whenever a service's state may
//! have moved (a driver round after a wake-up, an alarm turning, a control request that
//! changes something), so the dashboard's live updates can tell its page "look again"
//! without the services knowing about pages.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

#[derive(Default)]
pub struct Activity {
    busy: AtomicU64,
    /// Deliveries ever finished; lets drain notice work that finished (and perhaps
    /// produced more work) while it was looking.
    ended: AtomicU64,
    /// Grows when a service's state may have changed (see the module's doc).
    changes: AtomicU64,
    /// Signalled when the clock moves or work arrives: drivers re-check what is due.
    pub(crate) wake: Notify,
    /// Signalled when the last busy delivery finishes: drain re-checks.
    pub(crate) settled: Notify,
}

impl Activity {
    pub fn clock_moved(&self) {
        self.wake.notify_waiters();
    }

    /// A number that grows whenever a service's state may have changed.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Something may have changed: the dashboard looks again.
    pub(crate) fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Deliveries finished since start.
    pub fn ended(&self) -> u64 {
        self.ended.load(Ordering::Acquire)
    }

    /// Deliveries taken from a service and not yet finished.
    pub fn busy(&self) -> u64 {
        self.busy.load(Ordering::Acquire)
    }

    pub(crate) fn begin(&self, n: u64) {
        self.busy.fetch_add(n, Ordering::AcqRel);
    }

    pub(crate) fn end(&self, n: u64) {
        self.ended.fetch_add(n, Ordering::AcqRel);
        // Drain cannot be idle while anything is busy, so only the delivery that leaves
        // nothing busy wakes it: one wake-up when a burst settles, not one per batch.
        if self.busy.fetch_sub(n, Ordering::AcqRel) == n {
            self.settled.notify_waiters();
        }
    }
}
