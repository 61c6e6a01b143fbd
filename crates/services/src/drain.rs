//! The drain report: what work each service still holds, so `sandbox` can say "the queue
//! `orders` has 3 messages due now and 2 delayed" before shutting down or when a test
//! asks whether everything has settled.
//!
//! Every service state machine implements [`Pending`]; the control API gathers the lists.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Outstanding work in one resource of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingWork {
    /// The service kind, e.g. `"schedule"` or `"queue"`.
    pub service: String,
    /// The resource's name within the service (the schedule or queue name).
    pub resource: String,
    /// Items that could be processed at `now` but have not been.
    pub due_now: u64,
    /// Items that will become due after `now`.
    pub scheduled_later: u64,
    /// When the earliest outstanding item is (or was) due.
    pub next_due: Option<DateTime<Utc>>,
}

/// Implemented by every service state machine for drain reports.
pub trait Pending {
    /// Outstanding work as of `now`, one entry per resource.
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork>;

    /// Whether any resource has work due at `now`: what drain asks on every wake-up, so
    /// state machines answer it without building the report when they can.
    fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.pending(now).iter().any(|w| w.due_now > 0)
    }
}
