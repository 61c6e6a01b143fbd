//! Drain: wait until the sandbox has settled — no invocation running, nothing taken
//! from a service and not yet delivered, nothing due now in any service — so a test can
//! publish, drain and assert without sleeping. Work scheduled for later does not count.

use std::time::{Duration, Instant};

use sandbox_services::PendingWork;

use crate::Triggers;

/// HTTP invocations do not signal completion to drain; this bounds how late drain
/// notices one finishing.
const POLL: Duration = Duration::from_millis(2);

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainReport {
    pub drained: bool,
    pub waited_ms: f64,
    /// Invocations running when drain returned.
    pub in_flight: u64,
    /// Work due now that has not been delivered.
    pub pending: Vec<PendingWork>,
    /// Work due later (does not hold up drain), for the curious.
    pub later: Vec<PendingWork>,
}

pub(crate) async fn drain(triggers: &Triggers, timeout: Duration) -> DrainReport {
    let started = Instant::now();
    loop {
        let settled = triggers.activity.settled.notified();
        tokio::pin!(settled);
        settled.as_mut().enable();

        let idle = idle(triggers);
        let elapsed = started.elapsed();
        if idle || elapsed >= timeout {
            // The full report walks every service's state: once, at the end.
            let mut report = report(triggers);
            report.drained = idle;
            report.waited_ms = elapsed.as_secs_f64() * 1000.0;
            return report;
        }
        tokio::select! {
            _ = &mut settled => {}
            _ = tokio::time::sleep(POLL.min(timeout - elapsed)) => {}
        }
    }
}

/// Due work before busy: a driver counts work as busy before it stops being due (both
/// under the service's lock), so this order can never see it as neither.
fn idle(triggers: &Triggers) -> bool {
    let now = triggers.clock.now();
    !triggers.has_due(now) && triggers.activity.busy() == 0 && triggers.app().in_flight() == 0
}

fn report(triggers: &Triggers) -> DrainReport {
    let now = triggers.clock.now();
    let (pending, later): (Vec<_>, Vec<_>) = triggers
        .pending(now)
        .into_iter()
        .filter(|w| w.due_now > 0 || w.scheduled_later > 0)
        .partition(|w| w.due_now > 0);
    DrainReport {
        drained: false,
        waited_ms: 0.0,
        in_flight: triggers.activity.busy() + triggers.app().in_flight(),
        pending,
        later,
    }
}
