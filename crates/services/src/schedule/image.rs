//! A schedule's durable image: its anchor and the tick it last fired for, so a restart
//! on the same `--state` neither fires a tick again nor forgets the ones it missed.
//!
//! Only a schedule whose expression and zone are unchanged is resumed (as a reload keeps
//! it); a changed one starts fresh. Resumed, its next fire is the first tick after the
//! last one fired, so ticks that fell while the sandbox was down are due at once: each
//! of them on the manual clock, one for the whole gap on the system clock (the driver's
//! [`CatchUp`](super::CatchUp), as after a laptop's sleep).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ScheduleSpec, Scheduler};

/// One schedule as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSchedule {
    pub expression: String,
    pub timezone: Option<String>,
    /// Where rates count their ticks from.
    pub anchor: DateTime<Utc>,
    /// The tick it last fired for (`None` before its first).
    pub last_fire: Option<DateTime<Utc>>,
}

impl Scheduler {
    /// Schedule `name` as it stands, with `last_fire` as the tick it last fired for.
    pub fn stored(&self, name: &str, last_fire: Option<DateTime<Utc>>) -> Option<StoredSchedule> {
        let entry = self.entries.get(name)?;
        Some(StoredSchedule {
            expression: entry.spec.expression.clone(),
            timezone: entry.spec.timezone.clone(),
            anchor: entry.anchor,
            last_fire,
        })
    }

    /// Puts schedule `name` back where `stored` left it, if its expression and zone are
    /// the same: same anchor, next fire the first tick after the last one fired. Says
    /// whether it did.
    pub fn resume(&mut self, name: &str, stored: &StoredSchedule) -> bool {
        let Some(entry) = self.entries.get_mut(name) else {
            return false;
        };
        let same = ScheduleSpec {
            name: name.to_string(),
            expression: stored.expression.clone(),
            timezone: stored.timezone.clone(),
        };
        if entry.spec != same {
            return false;
        }
        entry.anchor = stored.anchor;
        entry.next = match stored.last_fire {
            Some(last) => entry.next_after(last),
            None => entry.next_after(stored.anchor),
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::super::CatchUp;
    use super::*;

    fn spec(expression: &str) -> ScheduleSpec {
        ScheduleSpec {
            name: "tick".into(),
            expression: expression.into(),
            timezone: None,
        }
    }

    #[test]
    fn a_resumed_schedule_neither_refires_nor_skips() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut before = Scheduler::new(vec![spec("rate(1 hour)")], t0).unwrap();
        let fired = before.due(t0 + Duration::hours(2), CatchUp::EveryTick);
        assert_eq!(fired.len(), 2);
        let stored = before
            .stored("tick", fired.fires.last().map(|f| f.time))
            .unwrap();

        // Restarted 3.5 hours later: the ticks at 3:00, 4:00 and 5:00 fell while down.
        let restart = t0 + Duration::minutes(5 * 60 + 30);
        let mut after = Scheduler::new(vec![spec("rate(1 hour)")], restart).unwrap();
        assert!(after.resume("tick", &stored));
        let due = after.due(restart, CatchUp::EveryTick);
        let times: Vec<_> = due.iter().map(|f| f.time).collect();
        assert_eq!(
            times,
            [3, 4, 5].map(|h| t0 + Duration::hours(h)),
            "every missed tick, none fired again"
        );
        // The system clock folds them into one fire for the gap.
        let mut coalesced = Scheduler::new(vec![spec("rate(1 hour)")], restart).unwrap();
        coalesced.resume("tick", &stored);
        let due = coalesced.due(restart, CatchUp::Coalesce);
        assert_eq!(due.len(), 1);
        assert_eq!(due.fires[0].missed, 2);

        // A changed expression starts fresh.
        let mut changed = Scheduler::new(vec![spec("rate(2 hours)")], restart).unwrap();
        assert!(!changed.resume("tick", &stored));
        assert!(changed.due(restart, CatchUp::EveryTick).is_empty());
    }
}
