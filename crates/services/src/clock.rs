//! The sandbox clock: the one source of "now" for every service driver.
//!
//! Services never read the wall clock themselves (ARCHITECTURE.md: time is passed in); their drivers
//! ask a [`Clock`]. The system clock follows real time but can still be pushed forward,
//! so a user can say "pretend a day went by" on a running sandbox. The manual clock stands
//! still until a test (or the control API) moves it, which is what lets a `rate(1 day)`
//! schedule or a 24 h retention be tested in microseconds.
//!
//! Time only moves forward: schedules, visibility timeouts and retention all assume it,
//! so `advance` by a negative amount and `set` into the past are errors, not surprises.
//! Every move bumps a generation counter so a driver sleeping until a deadline can notice
//! cheaply that the clock jumped and recompute its wakeup.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, TimeDelta, Utc};

/// Why the clock refused to move, or why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("cannot advance the clock by a negative duration ({by}); time only moves forward")]
    Negative { by: TimeDelta },
    #[error(
        "cannot set the clock back from {now} to {to}; time only moves forward (give a time after {now})"
    )]
    Backwards {
        now: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    #[error("moving the clock by {by} overflows the supported date range")]
    Overflow { by: TimeDelta },
    #[error("the sandbox clock ends at {limit}; {to} is past it")]
    TooLate {
        to: DateTime<Utc>,
        limit: DateTime<Utc>,
    },
    #[error("invalid duration `{input}`: {problem}")]
    InvalidDuration { input: String, problem: String },
}

/// The latest time the clock may show. Services add retention periods, timeouts and
/// backoffs to "now"; stopping here leaves millennia of headroom, so that arithmetic can
/// never overflow (chrono panics on overflow).
pub fn latest() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    // 9999-12-31T23:59:59Z
}

fn check_limit(to: DateTime<Utc>) -> Result<(), ClockError> {
    let limit = latest();
    if to > limit {
        return Err(ClockError::TooLate { to, limit });
    }
    Ok(())
}

/// A cheap, cloneable handle to the sandbox's notion of "now"; clones share the same time.
#[derive(Clone)]
pub struct Clock {
    inner: Arc<Mutex<State>>,
}

struct State {
    mode: Mode,
    generation: u64,
}

enum Mode {
    /// Real time plus however far the clock has been pushed forward.
    System { offset: TimeDelta },
    /// Frozen at `now` until advanced or set.
    Manual { now: DateTime<Utc> },
}

impl State {
    fn now(&self) -> DateTime<Utc> {
        match self.mode {
            // An offset so large it overflows cannot be created (advance checks), but
            // saturating keeps `now` total rather than panicking.
            Mode::System { offset } => Utc::now()
                .checked_add_signed(offset)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            Mode::Manual { now } => now,
        }
    }
}

impl Clock {
    /// Real time; `advance` and `set` add to an offset on top of it.
    pub fn system() -> Clock {
        Clock::with_mode(Mode::System {
            offset: TimeDelta::zero(),
        })
    }

    /// A clock frozen at `start` until advanced or set.
    pub fn manual(start: DateTime<Utc>) -> Clock {
        Clock::with_mode(Mode::Manual { now: start })
    }

    fn with_mode(mode: Mode) -> Clock {
        Clock {
            inner: Arc::new(Mutex::new(State {
                mode,
                generation: 0,
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is two plain values that are always consistent, so a panic in another
        // holder cannot have left it half-written: recover instead of propagating poison.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.state().now()
    }

    pub fn is_manual(&self) -> bool {
        matches!(self.state().mode, Mode::Manual { .. })
    }

    /// Moves the clock forward by `by` and returns the new now.
    pub fn advance(&self, by: TimeDelta) -> Result<DateTime<Utc>, ClockError> {
        if by < TimeDelta::zero() {
            return Err(ClockError::Negative { by });
        }
        let mut state = self.state();
        let new_now = state
            .now()
            .checked_add_signed(by)
            .ok_or(ClockError::Overflow { by })?;
        check_limit(new_now)?;
        match &mut state.mode {
            Mode::System { offset } => {
                *offset = offset.checked_add(&by).ok_or(ClockError::Overflow { by })?
            }
            Mode::Manual { now } => *now = new_now,
        }
        state.generation += 1;
        Ok(new_now)
    }

    /// Moves the clock to `to`, which may not be earlier than now; returns the new now.
    pub fn set(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, ClockError> {
        let mut state = self.state();
        let now = state.now();
        if to < now {
            return Err(ClockError::Backwards { now, to });
        }
        check_limit(to)?;
        match &mut state.mode {
            // Re-read real time after the check so `now()` lands on `to` as closely as the
            // wall clock allows; the offset only ever grows.
            Mode::System { offset } => *offset = (*offset).max(to - Utc::now()),
            Mode::Manual { now } => *now = to,
        }
        state.generation += 1;
        Ok(to)
    }

    /// Bumps on every advance or set, so drivers can notice time jumps cheaply.
    pub fn generation(&self) -> u64 {
        self.state().generation
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Clock")
            .field("manual", &matches!(state.mode, Mode::Manual { .. }))
            .field("now", &state.now())
            .field("generation", &state.generation)
            .finish()
    }
}

/// `2030-01-01T00:00:00Z`: whole seconds, as EventBridge and log lines write times.
pub fn rfc3339_seconds(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `2030-01-01T00:00:00Z`, with a fraction only when there is one: how the control API
/// shows times (chrono's own serde form).
pub fn rfc3339_auto(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// `2030-01-01T00:00:00.000Z`: milliseconds always, as SNS and Kinesis write times.
pub fn rfc3339_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Reads a human duration: one or more `<number><unit>` parts, units `ms`, `s`, `m`, `h`,
/// `d`, `w` (`"90m"`, `"1h30m"`, `"500ms"`, `"2w"`). Parts may be separated by spaces.
pub fn parse_duration(s: &str) -> Result<TimeDelta, ClockError> {
    let invalid = |problem: &str| ClockError::InvalidDuration {
        input: s.to_string(),
        problem: problem.to_string(),
    };
    let text = s.trim();
    if text.is_empty() {
        return Err(invalid(
            "it is empty; write a number and a unit, e.g. 30s, 15m, 1h30m or 2d",
        ));
    }
    if text.contains(['.', ',']) {
        return Err(invalid(
            "fractions are not supported; combine units instead (1h30m, not 1.5h)",
        ));
    }
    let mut total = TimeDelta::zero();
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(invalid(&format!(
                "expected a number at `{rest}`; write e.g. 30s, 15m, 1h30m or 2d"
            )));
        }
        let (number, after) = rest.split_at(digits);
        let number: i64 = number
            .parse()
            .map_err(|_| invalid(&format!("the number {number} is too large")))?;
        let unit_len = after.len()
            - after
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (unit, after) = after.split_at(unit_len);
        let part = match unit {
            "ms" => TimeDelta::try_milliseconds(number),
            "s" => TimeDelta::try_seconds(number),
            "m" => TimeDelta::try_minutes(number),
            "h" => TimeDelta::try_hours(number),
            "d" => TimeDelta::try_days(number),
            "w" => TimeDelta::try_weeks(number),
            "" => {
                return Err(invalid(&format!(
                    "{number} has no unit; add one of ms, s, m, h, d, w (e.g. {number}s)"
                )))
            }
            other => {
                return Err(invalid(&format!(
                    "unknown unit `{other}`; use ms, s, m, h, d or w"
                )))
            }
        }
        .ok_or_else(|| invalid("the duration is too large"))?;
        total = total
            .checked_add(&part)
            .ok_or_else(|| invalid("the duration is too large"))?;
        rest = after.trim_start();
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn manual_clock_stands_still_until_moved() {
        let clock = Clock::manual(start());
        assert!(clock.is_manual());
        assert_eq!(clock.now(), start());
        assert_eq!(clock.generation(), 0);
        let later = clock.advance(TimeDelta::hours(1)).unwrap();
        assert_eq!(later, start() + TimeDelta::hours(1));
        assert_eq!(clock.now(), later);
        assert_eq!(clock.generation(), 1);
        let set = start() + TimeDelta::days(3);
        assert_eq!(clock.set(set).unwrap(), set);
        assert_eq!(clock.now(), set);
        assert_eq!(clock.generation(), 2);
    }

    #[test]
    fn clones_share_time() {
        let clock = Clock::manual(start());
        let other = clock.clone();
        clock.advance(TimeDelta::minutes(5)).unwrap();
        assert_eq!(other.now(), start() + TimeDelta::minutes(5));
        assert_eq!(other.generation(), 1);
    }

    #[test]
    fn time_never_goes_backwards() {
        let clock = Clock::manual(start());
        assert_eq!(
            clock.advance(TimeDelta::seconds(-1)),
            Err(ClockError::Negative {
                by: TimeDelta::seconds(-1)
            })
        );
        let err = clock.set(start() - TimeDelta::seconds(1)).unwrap_err();
        assert!(matches!(err, ClockError::Backwards { .. }));
        assert!(err.to_string().contains("time only moves forward"));
        assert_eq!(clock.now(), start());
        assert_eq!(clock.generation(), 0, "failed moves do not bump");
        // Setting to exactly now is allowed (a no-op move).
        assert_eq!(clock.set(start()).unwrap(), start());
    }

    #[test]
    fn advance_overflow_is_an_error() {
        let clock = Clock::manual(DateTime::<Utc>::MAX_UTC - TimeDelta::days(1));
        assert!(matches!(
            clock.advance(TimeDelta::days(2)),
            Err(ClockError::Overflow { .. })
        ));
    }

    #[test]
    fn system_clock_follows_real_time_plus_offset() {
        let clock = Clock::system();
        assert!(!clock.is_manual());
        let before = Utc::now();
        let now = clock.now();
        assert!(now >= before && now - before < TimeDelta::seconds(5));

        clock.advance(TimeDelta::days(1)).unwrap();
        let skew = clock.now() - Utc::now();
        assert!(skew > TimeDelta::hours(23) && skew <= TimeDelta::days(1));
        assert_eq!(clock.generation(), 1);

        let target = Utc::now() + TimeDelta::days(10);
        clock.set(target).unwrap();
        let now = clock.now();
        assert!(now >= target && now - target < TimeDelta::seconds(5));
        assert!(
            clock.set(Utc::now()).is_err(),
            "real now is in the past now"
        );
        assert!(clock.advance(TimeDelta::seconds(-5)).is_err());
        assert_eq!(clock.generation(), 2);
    }

    #[test]
    fn parses_durations() {
        let cases = [
            ("1h", TimeDelta::hours(1)),
            ("30s", TimeDelta::seconds(30)),
            ("1d", TimeDelta::days(1)),
            ("90m", TimeDelta::minutes(90)),
            ("1h30m", TimeDelta::minutes(90)),
            ("1h 30m", TimeDelta::minutes(90)),
            ("500ms", TimeDelta::milliseconds(500)),
            ("2w", TimeDelta::weeks(2)),
            ("0s", TimeDelta::zero()),
            (" 1d2h3m4s5ms ", TimeDelta::milliseconds(93_784_005)),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input), Ok(want), "{input}");
        }
    }

    #[test]
    fn rejects_bad_durations() {
        for (input, needle) in [
            ("", "empty"),
            ("5", "no unit"),
            ("h", "expected a number"),
            ("5y", "unknown unit `y`"),
            ("-5s", "expected a number"),
            ("1.5h", "fractions are not supported"),
            ("99999999999999999999s", "too large"),
            ("9999999999999w", "too large"),
        ] {
            let err = parse_duration(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }
}
