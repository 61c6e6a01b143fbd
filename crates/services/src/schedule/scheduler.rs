//! The schedule state machine: which schedules are due at `now`, and when to wake next.
//!
//! It holds each schedule's next fire time and never reads a clock: its driver passes
//! `now` (from the sandbox [`Clock`](crate::Clock)) to [`Scheduler::due`], sleeps until
//! [`Scheduler::next_wakeup`], and invokes one handler per [`Fire`]. Because fire times
//! advance only when `due` hands them out, a manual clock pushed forward a day makes the
//! next `due` call return the day's fires, in order.
//!
//! How missed ticks are delivered is the caller's choice ([`CatchUp`]): a test moving a
//! manual clock wants every tick; a real-time sandbox that was suspended wants one fire
//! per schedule, not a storm. Either way the work done in one call is bounded, so a
//! ten-year jump over `rate(1 minute)` returns promptly and says what it skipped.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::expr::{self, ScheduleExpr};
use super::ScheduleError;
use crate::drain::{Pending, PendingWork};

/// Most ticks one [`Scheduler::due`] call will deliver (or, for cron schedules, count).
pub const DEFAULT_TICK_LIMIT: usize = 100_000;

/// One schedule as configured (the manifest's `@scheduled` entry, minus the handler).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec {
    pub name: String,
    /// As written: `rate(1 day)` or `cron(0 12 * * ? *)`.
    pub expression: String,
    /// IANA zone name; UTC when absent.
    pub timezone: Option<String>,
}

/// How to deliver ticks that passed between two `due` calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// One fire per tick (manual clock: tests expect `rate(1 hour)` over a day to fire 24 times).
    EveryTick,
    /// One fire per schedule, for the latest missed tick (system clock: a laptop waking
    /// from sleep should not replay the night).
    Coalesce,
}

/// A schedule firing: invoke its handler with the scheduled event for `time`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fire {
    pub schedule: String,
    /// The tick's own time (what goes in the event), not the time it was noticed.
    pub time: DateTime<Utc>,
    /// Earlier ticks coalesced into this one; 0 normally.
    pub missed: u64,
}

/// Ticks of one schedule that were dropped because a `due` call hit its tick limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub schedule: String,
    /// The first tick not delivered; every tick from here up to `now` was dropped.
    pub from: DateTime<Utc>,
    /// The schedule's next fire after `now`, where it resumes.
    pub resumes: Option<DateTime<Utc>>,
}

/// What [`Scheduler::due`] returns: the fires, plus anything dropped at the tick limit.
/// Iterating a `Due` yields its fires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Due {
    /// In time order; ties broken by schedule name.
    pub fires: Vec<Fire>,
    /// Non-empty only when the call hit its tick limit.
    pub skipped: Vec<Skipped>,
}

impl Due {
    /// True when the tick limit cut this call short (see `skipped`).
    pub fn truncated(&self) -> bool {
        !self.skipped.is_empty()
    }

    pub fn len(&self) -> usize {
        self.fires.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fires.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Fire> {
        self.fires.iter()
    }
}

impl IntoIterator for Due {
    type Item = Fire;
    type IntoIter = std::vec::IntoIter<Fire>;

    fn into_iter(self) -> Self::IntoIter {
        self.fires.into_iter()
    }
}

#[derive(Debug, Clone)]
struct Entry {
    spec: ScheduleSpec,
    expr: ScheduleExpr,
    tz: Tz,
    /// When this schedule was created; rates count their ticks from here.
    anchor: DateTime<Utc>,
    /// The earliest tick not yet handed out by `due`; `None` once it never fires again.
    next: Option<DateTime<Utc>>,
}

impl Entry {
    fn new(spec: ScheduleSpec, anchor: DateTime<Utc>) -> Result<Entry, ScheduleError> {
        let in_schedule = |error| ScheduleError::InSchedule {
            schedule: spec.name.clone(),
            error: Box::new(error),
        };
        let expr = ScheduleExpr::parse(&spec.expression).map_err(in_schedule)?;
        let tz = match &spec.timezone {
            None => Tz::UTC,
            Some(zone) => zone
                .parse::<Tz>()
                .map_err(|_| in_schedule(ScheduleError::UnknownTimeZone { zone: zone.clone() }))?,
        };
        let next = expr.next_after(anchor, tz, anchor);
        Ok(Entry {
            spec,
            expr,
            tz,
            anchor,
            next,
        })
    }

    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.expr.next_after(after, self.tz, self.anchor)
    }

    fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.next.is_some_and(|next| next <= now)
    }

    /// Counts the untaken ticks up to `now` and moves `next` past them, looking at no
    /// more than `budget` ticks (then `next` stays at the first tick not looked at).
    /// Returns the count and the latest tick counted.
    fn take_until(&mut self, now: DateTime<Utc>, budget: usize) -> (u64, Option<DateTime<Utc>>) {
        let Some(first) = self.next.filter(|&next| next <= now) else {
            return (0, None);
        };
        if let ScheduleExpr::Rate { every } = self.expr {
            // Rates are arithmetic: no need to walk the ticks.
            if let (Some(k_first), Some(k_last)) = (
                expr::ticks_until(every, self.anchor, first),
                expr::ticks_until(every, self.anchor, now),
            ) {
                let latest = expr::tick(every, self.anchor, k_last);
                self.next = expr::tick(every, self.anchor, k_last + 1);
                return ((k_last - k_first + 1).max(1) as u64, latest.or(Some(first)));
            }
        }
        let (mut count, mut latest) = (1u64, first);
        loop {
            match self.next_after(latest) {
                Some(tick) if tick <= now => {
                    if count as usize >= budget {
                        self.next = Some(tick);
                        return (count, Some(latest));
                    }
                    count += 1;
                    latest = tick;
                }
                after => {
                    self.next = after;
                    return (count, Some(latest));
                }
            }
        }
    }
}

/// The schedules of one sandbox and the next fire time of each.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// By name, so iteration (and tie-breaking) is in name order.
    entries: BTreeMap<String, Entry>,
    tick_limit: usize,
}

impl Scheduler {
    /// Builds the schedules, anchored at `anchor` (normally sandbox start): rates tick
    /// every period after it, cron schedules fire at their first match after it.
    /// The error names the schedule at fault.
    pub fn new(
        specs: Vec<ScheduleSpec>,
        anchor: DateTime<Utc>,
    ) -> Result<Scheduler, ScheduleError> {
        let mut entries = BTreeMap::new();
        for spec in specs {
            if entries.contains_key(&spec.name) {
                return Err(ScheduleError::Duplicate { name: spec.name });
            }
            entries.insert(spec.name.clone(), Entry::new(spec, anchor)?);
        }
        Ok(Scheduler {
            entries,
            tick_limit: DEFAULT_TICK_LIMIT,
        })
    }

    /// Changes how many ticks one `due` call may deliver or count (at least 1).
    pub fn set_tick_limit(&mut self, limit: usize) {
        self.tick_limit = limit.max(1);
    }

    /// Every untaken tick at or before `now`, in time order (ties by name), advancing each
    /// schedule past what it returns. With [`CatchUp::Coalesce`] each schedule yields at
    /// most one fire, for its latest tick, with `missed` = the ticks folded into it.
    ///
    /// At most the tick limit ([`DEFAULT_TICK_LIMIT`]) ticks are delivered (EveryTick) or
    /// walked (Coalesce, cron schedules; rates are counted arithmetically). Beyond that,
    /// each schedule still behind `now` jumps to its first tick after `now` and is listed in
    /// [`Due::skipped`] rather than the call running on.
    pub fn due(&mut self, now: DateTime<Utc>, catch_up: CatchUp) -> Due {
        let mut due = match catch_up {
            CatchUp::EveryTick => self.every_tick(now),
            CatchUp::Coalesce => self.coalesce(now),
        };
        for entry in self.entries.values_mut() {
            if let Some(from) = entry.next.filter(|&next| next <= now) {
                entry.next = entry.next_after(now);
                due.skipped.push(Skipped {
                    schedule: entry.spec.name.clone(),
                    from,
                    resumes: entry.next,
                });
            }
        }
        due
    }

    fn every_tick(&mut self, now: DateTime<Utc>) -> Due {
        let mut due = Due::default();
        while due.fires.len() < self.tick_limit {
            // Few schedules per sandbox: a scan beats keeping a heap in sync. Strict `<`
            // over name-ordered entries breaks ties by name.
            let mut earliest: Option<&mut Entry> = None;
            for entry in self.entries.values_mut() {
                if let Some(next) = entry.next.filter(|&next| next <= now) {
                    if earliest
                        .as_ref()
                        .is_none_or(|e| e.next.is_some_and(|t| next < t))
                    {
                        earliest = Some(entry);
                    }
                }
            }
            let Some(entry) = earliest else { break };
            let Some(time) = entry.next else { break };
            entry.next = entry.next_after(time);
            due.fires.push(Fire {
                schedule: entry.spec.name.clone(),
                time,
                missed: 0,
            });
        }
        due
    }

    fn coalesce(&mut self, now: DateTime<Utc>) -> Due {
        let mut due = Due::default();
        let mut budget = self.tick_limit;
        for entry in self.entries.values_mut() {
            if !entry.is_due(now) {
                continue;
            }
            let (count, latest) = entry.take_until(now, budget.max(1));
            budget = budget.saturating_sub(count as usize);
            if let Some(time) = latest {
                due.fires.push(Fire {
                    schedule: entry.spec.name.clone(),
                    time,
                    missed: count.saturating_sub(1),
                });
            }
        }
        due.fires.sort_by(|a, b| {
            a.time
                .cmp(&b.time)
                .then_with(|| a.schedule.cmp(&b.schedule))
        });
        due
    }

    /// The earliest untaken tick of any schedule (possibly already past): when the driver
    /// should next call `due`. `None` when no schedule will fire again.
    pub fn next_wakeup(&self) -> Option<DateTime<Utc>> {
        self.entries.values().filter_map(|e| e.next).min()
    }

    /// The next `n` fire times of `name`, starting with its untaken tick; empty for an
    /// unknown schedule.
    pub fn next_fires(&self, name: &str, n: usize) -> Vec<DateTime<Utc>> {
        let Some(entry) = self.entries.get(name) else {
            return Vec::new();
        };
        std::iter::successors(entry.next, |&t| entry.next_after(t))
            .take(n)
            .collect()
    }

    /// Schedule names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    pub fn spec(&self, name: &str) -> Option<&ScheduleSpec> {
        self.entries.get(name).map(|e| &e.spec)
    }

    /// The expression as written.
    pub fn expression(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(|e| e.spec.expression.as_str())
    }

    /// The IANA zone the schedule is evaluated in (`"UTC"` when none was given).
    pub fn timezone(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(|e| e.tz.name())
    }

    /// The parsed expression, for callers that want to describe it.
    pub fn parsed(&self, name: &str) -> Option<&ScheduleExpr> {
        self.entries.get(name).map(|e| &e.expr)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Swaps in a new schedule list (hot reload). A schedule whose name, expression and
    /// zone are unchanged keeps its anchor and next fire, so a reload neither repeats nor
    /// loses a tick; new or changed schedules start fresh, anchored at `now`. On error
    /// nothing changes.
    pub fn replace(
        &mut self,
        specs: Vec<ScheduleSpec>,
        now: DateTime<Utc>,
    ) -> Result<(), ScheduleError> {
        let mut entries = BTreeMap::new();
        for spec in specs {
            if entries.contains_key(&spec.name) {
                return Err(ScheduleError::Duplicate { name: spec.name });
            }
            let entry = match self.entries.get(&spec.name) {
                Some(old) if old.spec == spec => old.clone(),
                _ => Entry::new(spec, now)?,
            };
            entries.insert(entry.spec.name.clone(), entry);
        }
        self.entries = entries;
        Ok(())
    }
}

/// The drain-report name for schedules.
pub const SERVICE: &str = "schedule";

/// Most cron ticks walked per schedule to count a backlog for a drain report.
const PENDING_COUNT_LIMIT: usize = 10_000;

impl Pending for Scheduler {
    /// One entry per schedule: `due_now` counts ticks at or before `now` that `due` has
    /// not handed out yet (0 in a sandbox whose driver keeps up; for cron schedules at
    /// most 10 000 are counted), `scheduled_later` is 1 while the schedule will fire
    /// again after `now`, and `next_due` is its earliest untaken tick.
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        self.entries
            .values()
            .map(|entry| {
                let mut probe = entry.clone();
                let (due_now, _) = probe.take_until(now, PENDING_COUNT_LIMIT);
                let later = match probe.next {
                    Some(next) if next > now => Some(next),
                    _ => entry.next_after(now),
                };
                PendingWork {
                    service: SERVICE.to_string(),
                    resource: entry.spec.name.clone(),
                    due_now,
                    scheduled_later: u64::from(later.is_some()),
                    next_due: entry.next,
                }
            })
            .collect()
    }
}

#[path = "image.rs"]
pub mod image;
