//! Schedule rules: a rule with a `ScheduleExpression` sends EventBridge's "Scheduled
//! Event" (`source` `aws.events`, the rule's ARN in `resources`, an empty `detail`) to its
//! targets at every tick, the same event the manifest's `@scheduled` functions get.
//!
//! Each scheduled rule has a timer: a `rate(...)` counts from when the rule was put (AWS
//! starts a rate when the rule is created), a `cron(...)` reads UTC. Re-putting a rule
//! with the same expression keeps its timer. A disabled rule's ticks pass without firing.
//! Ticks missed while the clock jumped are fired one by one when `every_tick` (the manual
//! clock: a test that moves a day sees a `rate(1 hour)` rule fire 24 times), otherwise
//! only the latest (the system clock after a laptop sleeps), at most [`MAX_TICKS`] at once.

use chrono_tz::Tz;

use super::*;
use crate::schedule::{scheduled_event_json, ScheduleExpr};
use sandbox_ops::aws::{ACCOUNT, REGION};

/// Most ticks of one rule fired by one call.
pub const MAX_TICKS: usize = 1000;

#[derive(Debug, Clone)]
pub(super) struct Timer {
    text: String,
    expr: ScheduleExpr,
    anchor: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
}

impl Timer {
    fn new(text: &str, now: DateTime<Utc>) -> Option<Timer> {
        let expr = ScheduleExpr::parse(text).ok()?;
        let next = expr.next_after(now, Tz::UTC, now);
        Some(Timer {
            text: text.to_string(),
            expr,
            anchor: now,
            next,
        })
    }

    /// The ticks due at `now` (oldest first), moving the timer past them.
    fn take(&mut self, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut ticks = Vec::new();
        while let Some(at) = self.next.filter(|at| *at <= now) {
            if ticks.len() == MAX_TICKS {
                // Skip the rest: resume after `now`.
                self.next = self.expr.next_after(now, Tz::UTC, self.anchor);
                break;
            }
            ticks.push(at);
            self.next = self.expr.next_after(at, Tz::UTC, self.anchor);
        }
        ticks
    }
}

/// The scheduled event of `rule` (on the default bus) for the tick at `at`.
fn scheduled_event(rule: &str, at: DateTime<Utc>) -> Event {
    let id = uuid::Uuid::new_v4().to_string();
    let text = scheduled_event_json(rule, at, &id, REGION, ACCOUNT);
    let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Event {
        id,
        time: at,
        text,
        value,
    }
}

impl Buses {
    /// After `PutRule`: starts, keeps (same expression) or stops the rule's timer.
    pub(super) fn set_timer(
        &mut self,
        bus: &str,
        rule: &str,
        schedule: Option<&str>,
        now: DateTime<Utc>,
    ) {
        let Some(b) = self.buses.get_mut(bus) else {
            return;
        };
        match schedule {
            Some(text) if b.timers.get(rule).is_some_and(|t| t.text == text) => {}
            Some(text) => match Timer::new(text, now) {
                Some(timer) => {
                    b.timers.insert(rule.to_string(), timer);
                }
                None => {
                    b.timers.remove(rule);
                }
            },
            None => {
                b.timers.remove(rule);
            }
        }
    }

    /// Fires every schedule rule tick due at `now` (see the module's rules) and returns
    /// the deliveries to make.
    pub fn fire_schedules(&mut self, now: DateTime<Utc>, every_tick: bool) -> Routed {
        let mut due = Vec::new();
        for (bus_name, bus) in &mut self.buses {
            for (rule, timer) in &mut bus.timers {
                let mut ticks = timer.take(now);
                if !every_tick && ticks.len() > 1 {
                    ticks.drain(..ticks.len() - 1);
                }
                if !ticks.is_empty() {
                    due.push((bus_name.clone(), rule.clone(), ticks));
                }
            }
        }
        let mut routed = Routed::default();
        for (bus, rule, ticks) in due {
            for at in ticks {
                let event = scheduled_event(&rule, at);
                let own = |r: &RuleConfig| r.name == rule;
                self.route(&bus, &event, &own, None, now, &mut routed);
            }
        }
        routed
    }

    /// The next tick of any schedule rule.
    pub(super) fn next_tick(&self) -> Option<DateTime<Utc>> {
        self.buses
            .values()
            .flat_map(|b| b.timers.values())
            .filter_map(|t| t.next)
            .min()
    }

    /// How many schedule rules of `bus` have a tick due at `now`.
    pub(super) fn ticks_due(&self, bus: &str, now: DateTime<Utc>) -> u64 {
        self.buses.get(bus).map_or(0, |b| {
            b.timers
                .values()
                .filter(|t| t.next.is_some_and(|at| at <= now))
                .count() as u64
        })
    }
}

/// The timers of `old` whose rules `rules` still has with a schedule (a reload keeps the
/// API's schedule rules running; a manifest rule of the same name replaces one).
pub(super) fn kept_timers(
    old: BTreeMap<String, Timer>,
    rules: &[RuleConfig],
) -> BTreeMap<String, Timer> {
    old.into_iter()
        .filter(|(name, timer)| {
            rules
                .iter()
                .any(|r| &r.name == name && r.schedule.as_deref() == Some(timer.text.as_str()))
        })
        .collect()
}
