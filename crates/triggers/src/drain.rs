//! Drain: wait until the sandbox has settled — no invocation running, nothing taken
//! from a service and not yet delivered, nothing due now in any service — so a test can
//! publish, drain and assert without sleeping. Work scheduled for later does not count.
//! Batches taken from remote resources (`remote` entries) count as running until they
//! are settled in AWS; what still waits in a real queue or stream does not.

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

/// Idle means nothing running and nothing due, and nothing finished while looking:
/// work moves from due to running (a driver counts it busy before it leaves the
/// service, under the service's lock) and from running to due (a handler publishes, then
/// ends), so "running" is read on both sides of the due check and the completion
/// counters catch anything that finished in between.
fn idle(triggers: &Triggers) -> bool {
    let app = triggers.app();
    let activity = &triggers.activity;
    let remote = || triggers.remote().map(|r| r.activity()).unwrap_or_default();
    let remote_before = remote();
    let finished_before = activity.ended() + app.finished() + remote_before.ended;
    let running_before = activity.busy() + app.in_flight() + remote_before.busy;
    let due = triggers.has_due(triggers.clock.now());
    let remote_after = remote();
    let running_after = activity.busy() + app.in_flight() + remote_after.busy;
    let finished_after = activity.ended() + app.finished() + remote_after.ended;
    running_before == 0 && !due && running_after == 0 && finished_before == finished_after
}

fn report(triggers: &Triggers) -> DrainReport {
    let now = triggers.clock.now();
    let remote = triggers.remote().map(|r| r.pending()).unwrap_or_default();
    let (pending, later): (Vec<_>, Vec<_>) = triggers
        .pending(now)
        .into_iter()
        .chain(remote)
        .filter(|w| w.due_now > 0 || w.scheduled_later > 0)
        .partition(|w| w.due_now > 0);
    DrainReport {
        drained: false,
        waited_ms: 0.0,
        // Taken from a service (and perhaps invoking) or invoking from HTTP: the larger
        // of the two counts, since a trigger's invocation is in both.
        in_flight: triggers.activity.busy().max(triggers.app().in_flight()),
        pending,
        later,
    }
}
