//! The one shape of every service driver, and the one loop that runs them.
//!
//! A service (schedules, queues, topics, buses, streams) is a state machine from
//! `sandbox-services` behind a [`Lock`](crate::lock::Lock), plus a [`Driver`]: what a
//! reload changes, what is pending and whether anything is due (for drain), and one
//! [`Driver::round`] — take what is due at `now`, start its deliveries, say when to look
//! again. [`run`] is the loop around the rounds, written once: listen for wake-ups
//! before looking (so a clock move or an arrival in between is never missed), look, then
//! wait for the next change. [`Drivers`] is the list `Triggers` walks for drain and
//! reload, so adding a service is a state machine, a driver module and one registration.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sandbox_manifest::Manifest;
use sandbox_services::{Clock, PendingWork};
use tokio::sync::Notify;

use crate::{Activity, AppCell};

/// What every driver works with: the app being served (loaded per delivery), the
/// sandbox clock, and the busy count and wake-ups shared with drain.
#[derive(Clone)]
pub(crate) struct Context {
    pub app: AppCell,
    pub clock: Clock,
    pub activity: Arc<Activity>,
    /// The counters kept as things happen (`GET /_sandbox/metrics`).
    pub metrics: Arc<crate::Metrics>,
}

/// Work a round leaves for the loop to finish before it looks again.
pub(crate) type Work = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What the loop does after a round.
pub(crate) enum Round {
    /// Wait for a wake-up or, on the system clock, until `next` (the service's next
    /// change by itself: a timeout, a delay, a retry, a tick).
    Wait(Option<DateTime<Utc>>),
    /// Finish this work first, then look again at once (schedules fire their ticks in
    /// order, one after another).
    Finish(Work),
}

/// One service's driver. Its [`Context`] is reachable through `Deref`, so the service's
/// code reads `inner.clock`, `inner.app` and `inner.activity` directly.
pub(crate) trait Driver: Deref<Target = Context> + Send + Sync + 'static {
    /// Applies a changed manifest (hot reload); the lines the reload logs. On error
    /// nothing changed.
    fn reconfigure(&self, manifest: &Manifest) -> Result<Vec<String>, String>;

    /// Everything the service holds, due now and later, for drain's report.
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork>;

    /// Whether anything is due now that no round has taken yet: the cheap question drain
    /// asks on every wake-up.
    fn has_due(&self, now: DateTime<Utc>) -> bool;

    /// Takes what is due at `now` (counting it busy before the state machine's lock is
    /// released, so drain never sees it neither pending nor running) and starts its
    /// deliveries.
    fn round(self: Arc<Self>, now: DateTime<Utc>) -> Round;

    /// A wake-up for this driver alone (work arrived, a delivery slot freed), beside the
    /// shared one every clock move rings. Must be rung with `notify_one`, which keeps a
    /// permit while the driver is busy, so no arrival is missed.
    fn own_wake(&self) -> Option<&Notify> {
        None
    }
}

/// The drivers of one sandbox, in the order a reload reconfigures them (services that
/// others send to come first, so new queues exist before topics route to them).
#[derive(Default)]
pub(crate) struct Drivers(Vec<Arc<dyn Driver>>);

impl Drivers {
    /// Registers a driver; hands it back for the service's typed handle.
    pub(crate) fn add<D: Driver>(&mut self, driver: Arc<D>) -> Arc<D> {
        self.0.push(driver.clone());
        driver
    }

    /// Starts every driver's loop. Must run inside a tokio runtime.
    pub(crate) fn spawn(&self) {
        for driver in &self.0 {
            tokio::spawn(run(driver.clone()));
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<dyn Driver>> {
        self.0.iter()
    }
}

/// The driver loop: look, then wait for the next change.
async fn run(driver: Arc<dyn Driver>) {
    // A round after a wake-up (work arrived, the clock moved, a batch finished) may have
    // changed the service; one after a nap on the system clock rarely does, and counting
    // those would make every dashboard look again every second.
    let mut woken_last = true;
    loop {
        // Listen before looking, so a clock move between the two is never missed.
        let woken = driver.activity.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();

        let now = driver.clock.now();
        match driver.clone().round(now) {
            Round::Finish(work) => {
                work.await;
                driver.activity.changed();
            }
            Round::Wait(next) => {
                if woken_last {
                    driver.activity.changed();
                }
                let woken = async {
                    match driver.own_wake() {
                        Some(own) => tokio::select! {
                            _ = &mut woken => {}
                            _ = own.notified() => {}
                        },
                        None => woken.await,
                    }
                };
                woken_last = wait_for_change(&driver.clock, now, next, woken).await;
            }
        }
    }
}

/// The longest a system-clock driver sleeps before re-reading the wall clock, so a
/// machine waking from suspend (when monotonic timers stand still) is noticed quickly.
const MAX_NAP: Duration = Duration::from_secs(1);

/// How every driver waits between rounds: until `woken` (work arrived, the clock moved)
/// or, on the system clock, until its service's next change at `next`. A manual clock
/// only moves when told, so it waits for `woken` alone. Says whether it was woken (rather
/// than done napping).
async fn wait_for_change(
    clock: &Clock,
    now: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
    woken: impl Future<Output = ()>,
) -> bool {
    match next {
        Some(next) if !clock.is_manual() => {
            // At least a millisecond: a change due "now" must not spin the driver.
            let nap = (next - now)
                .to_std()
                .unwrap_or_default()
                .clamp(Duration::from_millis(1), MAX_NAP);
            tokio::select! {
                _ = woken => true,
                _ = tokio::time::sleep(nap) => false,
            }
        }
        _ => {
            woken.await;
            true
        }
    }
}
