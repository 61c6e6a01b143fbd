//! `--state DIR` for schedules: each schedule's anchor and the tick it last fired for.
//!
//! A restart resumes a schedule whose expression and zone are unchanged where it left
//! off: its next fire is the first tick after the last one fired. A tick whose
//! invocation had not finished when the sandbox stopped fires again (at-least-once, as
//! EventBridge Scheduler delivers); ticks that fell while it was down fire at start —
//! each one on the manual clock, one for the whole gap on the system clock (as after a
//! laptop's sleep; EventBridge would have fired them, so none is skipped silently). A
//! changed schedule starts fresh, as a reload starts it.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sandbox_services::schedule::StoredSchedule;
use sandbox_services::Scheduler;
use sandbox_state::{Committer, Delta, Store, Ticket};

use crate::queue_store::Durable;
use crate::ControlError;

pub(crate) struct ScheduleStore {
    /// Every schedule as last submitted is its catalog (written whole: a sandbox has a
    /// handful).
    durable: Durable<BTreeMap<String, StoredSchedule>>,
}

impl ScheduleStore {
    /// Resumes every stored schedule of `scheduler` that is unchanged and writes the
    /// result. Returns the store and how many schedules were resumed.
    pub(crate) fn open(
        store: &Store,
        committer: Arc<Committer>,
        scheduler: &mut Scheduler,
    ) -> Result<(ScheduleStore, usize), String> {
        let loaded = store.load_schedules().map_err(|e| e.to_string())?;
        let names: Vec<String> = scheduler.names().map(str::to_string).collect();
        let mut resumed = 0;
        let mut now_stored = BTreeMap::new();
        for name in names {
            let entry = match loaded.get(&name) {
                Some(stored) if scheduler.resume(&name, stored) => {
                    resumed += 1;
                    Some(stored.clone())
                }
                _ => scheduler.stored(&name, None),
            };
            if let Some(entry) = entry {
                now_stored.insert(name, entry);
            }
        }
        let this = ScheduleStore {
            durable: Durable::new(committer, BTreeMap::new()),
        };
        let ticket = this.submit(now_stored);
        this.wait(ticket).map_err(|e| e.message)?;
        Ok((this, resumed))
    }

    fn submit(&self, next: BTreeMap<String, StoredSchedule>) -> Option<Ticket> {
        self.durable.submit(Delta {
            schedules: self.durable.changed(Some(next)),
            ..Delta::default()
        })
    }

    /// After a reload: unchanged schedules keep their last fire, the others start over.
    /// Call under the scheduler lock.
    pub(crate) fn reconfigured(&self, scheduler: &Scheduler) -> Option<Ticket> {
        let before = self.durable.catalog();
        let next = scheduler
            .names()
            .filter_map(|name| {
                let now = scheduler.stored(name, None)?;
                let entry = match before.get(name) {
                    Some(old)
                        if old.expression == now.expression
                            && old.timezone == now.timezone
                            && old.anchor == now.anchor =>
                    {
                        old.clone()
                    }
                    _ => now,
                };
                Some((name.to_string(), entry))
            })
            .collect();
        self.submit(next)
    }

    /// Schedule `name`'s invocation for the tick `time` finished: submits its last fire
    /// (the caller waits for the ticket outside the scheduler lock). A crash before the
    /// commit fires the tick once more. Call under the scheduler lock.
    pub(crate) fn fired(
        &self,
        scheduler: &Scheduler,
        name: &str,
        time: DateTime<Utc>,
    ) -> Option<Ticket> {
        let mut next = self.durable.catalog();
        let entry = scheduler.stored(name, Some(time))?;
        next.insert(name.to_string(), entry);
        self.submit(next)
    }

    pub(crate) fn wait(&self, ticket: Option<Ticket>) -> Result<(), ControlError> {
        self.durable.wait(ticket)
    }
}
