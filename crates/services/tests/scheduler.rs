//! The schedule state machine driven by a manual clock, as the sandbox driver will.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use sandbox_services::{
    CatchUp, Clock, Fire, Pending, PendingWork, ScheduleError, ScheduleSpec, Scheduler,
};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

fn spec(name: &str, expression: &str) -> ScheduleSpec {
    ScheduleSpec {
        name: name.to_string(),
        expression: expression.to_string(),
        timezone: None,
    }
}

const START: &str = "2026-11-22T10:00:00Z";

#[test]
fn a_manual_day_fires_every_tick_in_order() {
    let clock = Clock::manual(t(START));
    let mut scheduler = Scheduler::new(
        vec![
            spec("hourly", "rate(1 hour)"),
            spec("daily", "cron(0 12 * * ? *)"),
        ],
        clock.now(),
    )
    .unwrap();
    assert!(scheduler.due(clock.now(), CatchUp::EveryTick).is_empty());

    clock.advance(TimeDelta::days(1)).unwrap();
    let due = scheduler.due(clock.now(), CatchUp::EveryTick);
    assert!(!due.truncated());
    let hourly: Vec<&Fire> = due.iter().filter(|f| f.schedule == "hourly").collect();
    assert_eq!(hourly.len(), 24);
    for (i, fire) in hourly.iter().enumerate() {
        assert_eq!(fire.time, t(START) + TimeDelta::hours(i as i64 + 1));
        assert_eq!(fire.missed, 0);
    }
    let daily: Vec<&Fire> = due.iter().filter(|f| f.schedule == "daily").collect();
    assert_eq!(daily.len(), 1);
    assert_eq!(daily[0].time, t("2026-11-22T12:00:00Z"));

    // In time order overall; the 12:00 tie goes to "daily" (name order).
    assert!(due.fires.windows(2).all(|w| w[0].time <= w[1].time));
    let names: Vec<&str> = due.iter().take(3).map(|f| f.schedule.as_str()).collect();
    assert_eq!(names, ["hourly", "daily", "hourly"]);

    // Taken ticks are not handed out again.
    assert!(scheduler.due(clock.now(), CatchUp::EveryTick).is_empty());
    assert_eq!(
        scheduler.next_wakeup(),
        Some(t(START) + TimeDelta::hours(25))
    );
}

#[test]
fn coalesce_folds_missed_ticks_into_one_fire() {
    let mut scheduler = Scheduler::new(
        vec![
            spec("hourly", "rate(1 hour)"),
            spec("quarterly", "cron(0/15 * * * ? *)"),
            spec("daily", "cron(0 12 * * ? *)"),
        ],
        t(START),
    )
    .unwrap();
    let now = t(START) + TimeDelta::days(1);
    let due = scheduler.due(now, CatchUp::Coalesce);
    assert_eq!(
        due.fires,
        [
            Fire {
                schedule: "daily".into(),
                time: t("2026-11-22T12:00:00Z"),
                missed: 0
            },
            Fire {
                schedule: "hourly".into(),
                time: now,
                missed: 23
            },
            Fire {
                schedule: "quarterly".into(),
                time: now,
                missed: 24 * 4 - 1
            },
        ]
    );
    assert_eq!(
        scheduler.next_fires("hourly", 1),
        [now + TimeDelta::hours(1)]
    );
    assert_eq!(
        scheduler.next_fires("quarterly", 1),
        [now + TimeDelta::minutes(15)]
    );
}

#[test]
fn giant_jumps_are_capped_not_hung() {
    let mut scheduler = Scheduler::new(
        vec![
            spec("minutely-rate", "rate(1 minute)"),
            spec("minutely-cron", "cron(* * * * ? *)"),
        ],
        t(START),
    )
    .unwrap();
    let now = t(START) + TimeDelta::days(3650);
    let started = Instant::now();
    let due = scheduler.due(now, CatchUp::EveryTick);
    assert_eq!(due.len(), sandbox_services::schedule::DEFAULT_TICK_LIMIT);
    assert!(due.truncated());
    assert_eq!(due.skipped.len(), 2);
    for skipped in &due.skipped {
        assert!(skipped.from > t(START) && skipped.from <= now);
        assert_eq!(skipped.resumes, Some(now + TimeDelta::minutes(1)));
    }
    // Both schedules now resume after `now`, nothing is left behind.
    assert!(scheduler.due(now, CatchUp::EveryTick).is_empty());
    assert_eq!(scheduler.next_wakeup(), Some(now + TimeDelta::minutes(1)));

    // Coalesce over the same kind of jump: rates are counted exactly, cron up to the cap.
    let later = now + TimeDelta::days(3650);
    let due = scheduler.due(later, CatchUp::Coalesce);
    assert_eq!(due.len(), 2);
    let rate = due.iter().find(|f| f.schedule == "minutely-rate").unwrap();
    assert_eq!(rate.time, later);
    assert_eq!(rate.missed, 3650 * 24 * 60 - 1);
    assert_eq!(due.skipped.len(), 1);
    assert_eq!(due.skipped[0].schedule, "minutely-cron");
    assert!(scheduler.due(later, CatchUp::Coalesce).is_empty());
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_smaller_tick_limit_applies_across_schedules() {
    let mut scheduler = Scheduler::new(
        vec![spec("a", "rate(1 minute)"), spec("b", "rate(1 minute)")],
        t(START),
    )
    .unwrap();
    scheduler.set_tick_limit(5);
    let due = scheduler.due(t(START) + TimeDelta::minutes(10), CatchUp::EveryTick);
    let got: Vec<(&str, i64)> = due
        .iter()
        .map(|f| (f.schedule.as_str(), (f.time - t(START)).num_minutes()))
        .collect();
    assert_eq!(got, [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3)]);
    assert_eq!(due.skipped.len(), 2);
    assert_eq!(due.skipped[0].from, t(START) + TimeDelta::minutes(4));
    assert_eq!(due.skipped[1].from, t(START) + TimeDelta::minutes(3));
}

#[test]
fn listing_and_next_fires() {
    let scheduler = Scheduler::new(
        vec![
            spec("b-daily", "cron(0 9 * * ? *)"),
            ScheduleSpec {
                timezone: Some("Europe/Paris".into()),
                ..spec("a-paris", "cron(0 9 * * ? *)")
            },
        ],
        t(START),
    )
    .unwrap();
    assert_eq!(
        scheduler.names().collect::<Vec<_>>(),
        ["a-paris", "b-daily"]
    );
    assert_eq!(scheduler.expression("a-paris"), Some("cron(0 9 * * ? *)"));
    assert_eq!(scheduler.timezone("a-paris"), Some("Europe/Paris"));
    assert_eq!(scheduler.timezone("b-daily"), Some("UTC"));
    assert_eq!(scheduler.expression("nope"), None);
    assert_eq!(
        scheduler.next_fires("a-paris", 2),
        [t("2026-11-23T08:00:00Z"), t("2026-11-24T08:00:00Z")]
    );
    assert_eq!(
        scheduler.next_fires("b-daily", 1),
        [t("2026-11-23T09:00:00Z")]
    );
    assert!(scheduler.next_fires("nope", 3).is_empty());
    assert_eq!(scheduler.next_wakeup(), Some(t("2026-11-23T08:00:00Z")));
}

#[test]
fn errors_name_the_schedule() {
    let err = Scheduler::new(
        vec![
            spec("ok", "rate(1 hour)"),
            spec("nightly", "cron(0 25 * * ? *)"),
        ],
        t(START),
    )
    .unwrap_err();
    assert!(matches!(&err, ScheduleError::InSchedule { schedule, .. } if schedule == "nightly"));
    let text = err.to_string();
    assert!(
        text.starts_with("schedule `nightly`: `cron(0 25 * * ? *)`: hours field `25`"),
        "{text}"
    );

    let err = Scheduler::new(
        vec![ScheduleSpec {
            timezone: Some("Mars/Olympus".into()),
            ..spec("red", "rate(1 day)")
        }],
        t(START),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("schedule `red`") && err.contains("unknown time zone `Mars/Olympus`"),
        "{err}"
    );

    let err = Scheduler::new(
        vec![spec("x", "rate(1 day)"), spec("x", "rate(2 days)")],
        t(START),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`x` is defined more than once"), "{err}");
}

#[test]
fn replace_keeps_unchanged_schedules_in_step() {
    let mut scheduler = Scheduler::new(
        vec![
            spec("keep", "rate(1 hour)"),
            spec("change", "rate(1 hour)"),
            spec("drop", "rate(1 day)"),
        ],
        t(START),
    )
    .unwrap();
    let now = t(START) + TimeDelta::minutes(90);
    assert_eq!(scheduler.due(now, CatchUp::EveryTick).len(), 2);

    scheduler
        .replace(
            vec![
                spec("keep", "rate(1 hour)"),
                spec("change", "rate(2 hours)"),
                spec("new", "rate(1 hour)"),
            ],
            now,
        )
        .unwrap();
    assert_eq!(
        scheduler.names().collect::<Vec<_>>(),
        ["change", "keep", "new"]
    );
    // Unchanged: still anchored at START.
    assert_eq!(
        scheduler.next_fires("keep", 1),
        [t(START) + TimeDelta::hours(2)]
    );
    // Changed and new: anchored at the reload.
    assert_eq!(
        scheduler.next_fires("change", 1),
        [now + TimeDelta::hours(2)]
    );
    assert_eq!(scheduler.next_fires("new", 1), [now + TimeDelta::hours(1)]);

    // A bad list changes nothing.
    let err = scheduler.replace(vec![spec("keep", "rate(0 hours)")], now);
    assert!(err.is_err());
    assert_eq!(scheduler.len(), 3);
}

#[test]
fn drain_report() {
    let mut scheduler = Scheduler::new(
        vec![
            spec("hourly", "rate(1 hour)"),
            spec("once", "cron(0 0 L 2 ? 2027)"),
        ],
        t(START),
    )
    .unwrap();
    let now = t(START) + TimeDelta::minutes(150);
    let report = scheduler.pending(now);
    assert_eq!(
        report,
        [
            PendingWork {
                service: "schedule".into(),
                resource: "hourly".into(),
                due_now: 2,
                scheduled_later: 1,
                next_due: Some(t(START) + TimeDelta::hours(1)),
            },
            PendingWork {
                service: "schedule".into(),
                resource: "once".into(),
                due_now: 0,
                scheduled_later: 1,
                next_due: Some(t("2027-02-28T00:00:00Z")),
            },
        ]
    );
    // Once the driver has taken the fires nothing is due now.
    scheduler.due(now, CatchUp::EveryTick);
    assert_eq!(scheduler.pending(now)[0].due_now, 0);
    assert_eq!(
        scheduler.pending(now)[0].next_due,
        Some(t(START) + TimeDelta::hours(3))
    );

    // After its only fire, a one-off schedule has nothing left.
    let end = t("2027-03-01T00:00:00Z");
    scheduler.due(end, CatchUp::Coalesce);
    let once = &scheduler.pending(end)[1];
    assert_eq!(
        (once.due_now, once.scheduled_later, once.next_due),
        (0, 0, None)
    );

    let json = serde_json::to_value(&scheduler.pending(end)[1]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"service": "schedule", "resource": "once", "due_now": 0, "scheduled_later": 0, "next_due": null})
    );
}
