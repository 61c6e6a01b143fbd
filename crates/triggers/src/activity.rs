//! Who is busy, and the wake-ups between drivers and drain.
//!
//! A driver counts a delivery as busy from the moment it takes work out of a state
//! machine until the invocation has finished, so drain never sees a gap between "no
//! longer due" and "running".

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sandbox_services::Clock;

use tokio::sync::Notify;

#[derive(Default)]
pub struct Activity {
    busy: AtomicU64,
    /// Deliveries ever finished; lets drain notice work that finished (and perhaps
    /// produced more work) while it was looking.
    ended: AtomicU64,
    /// Signalled when the clock moves or work arrives: drivers re-check what is due.
    pub(crate) wake: Notify,
    /// Signalled when a driver finishes work: drain re-checks.
    pub(crate) settled: Notify,
}

impl Activity {
    pub fn clock_moved(&self) {
        self.wake.notify_waiters();
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
        self.busy.fetch_sub(n, Ordering::AcqRel);
        self.settled.notify_waiters();
    }
}

/// The longest a system-clock driver sleeps before re-reading the wall clock, so a
/// machine waking from suspend (when monotonic timers stand still) is noticed quickly.
const MAX_NAP: Duration = Duration::from_secs(1);

/// How every driver waits between rounds: until `woken` (work arrived, the clock moved)
/// or, on the system clock, until its service's next change at `next` (a timeout, a
/// delay, a tick). A manual clock only moves when told, so it waits for `woken` alone.
pub(crate) async fn wait_for_change(
    clock: &Clock,
    now: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
    woken: impl Future<Output = ()>,
) {
    match next {
        Some(next) if !clock.is_manual() => {
            // At least a millisecond: a change due "now" must not spin the driver.
            let nap = (next - now)
                .to_std()
                .unwrap_or_default()
                .clamp(Duration::from_millis(1), MAX_NAP);
            tokio::select! {
                _ = woken => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
        _ => woken.await,
    }
}

/// The "added / changed / removed" lines a hot reload logs for one kind of resource,
/// matched by name; `shape` is what counts as a change (positions in the file do not).
pub(crate) fn reload_changes<T, S: PartialEq>(
    kind: &str,
    changed: &str,
    old: &[T],
    new: &[T],
    name: impl Fn(&T) -> &str,
    shape: impl Fn(&T) -> S,
) -> Vec<String> {
    let mut lines = Vec::new();
    for item in new {
        match old.iter().find(|o| name(o) == name(item)) {
            None => lines.push(format!("{kind} {} added", name(item))),
            Some(before) if shape(before) != shape(item) => {
                lines.push(format!("{kind} {} {changed}", name(item)))
            }
            Some(_) => {}
        }
    }
    for item in old {
        if !new.iter().any(|n| name(n) == name(item)) {
            lines.push(format!("{kind} {} removed", name(item)));
        }
    }
    lines
}
