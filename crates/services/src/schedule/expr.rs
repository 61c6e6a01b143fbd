//! A schedule expression as EventBridge writes it: `rate(5 minutes)` or `cron(...)`,
//! and when it next fires.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::aws_cron::AwsCron;
use super::ScheduleError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleExpr {
    /// `rate(N unit)`: every `every`, counting from the schedule's anchor.
    Rate {
        every: TimeDelta,
    },
    Cron(AwsCron),
}

impl ScheduleExpr {
    /// Reads `rate(...)` or `cron(...)`, with AWS's rules.
    pub fn parse(expression: &str) -> Result<ScheduleExpr, ScheduleError> {
        let text = expression.trim();
        let inner = |prefix: &str| {
            text.strip_prefix(prefix)
                .and_then(|rest| rest.trim_start().strip_prefix('('))
                .and_then(|rest| rest.strip_suffix(')'))
        };
        if let Some(rate) = inner("rate") {
            return parse_rate(rate, expression).map(|every| ScheduleExpr::Rate { every });
        }
        if let Some(fields) = inner("cron") {
            return AwsCron::parse(fields, expression).map(ScheduleExpr::Cron);
        }
        Err(ScheduleError::Unrecognized {
            expression: expression.to_string(),
        })
    }

    /// The first fire time strictly after `after`. Rates tick at `anchor + k * every`
    /// for k >= 1 (the first tick is one period after the schedule was created, and the
    /// anchor itself does not fire); cron fields are read as local time in `tz`.
    /// `None` when the schedule never fires again.
    pub fn next_after(
        &self,
        after: DateTime<Utc>,
        tz: Tz,
        anchor: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match self {
            ScheduleExpr::Rate { every } => {
                let k = ticks_until(*every, anchor, after)?.checked_add(1)?.max(1);
                tick(*every, anchor, k)
            }
            ScheduleExpr::Cron(cron) => cron.next_after(after, tz),
        }
    }
}

/// The number of whole rate periods from `anchor` to `at` (floored; may be negative).
pub(crate) fn ticks_until(
    every: TimeDelta,
    anchor: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Option<i64> {
    let period = every.num_milliseconds();
    if period <= 0 {
        return None;
    }
    // Milliseconds are exact for rates (whole minutes); truncating the sub-millisecond
    // part of `at - anchor` toward zero never moves the result across a tick boundary.
    Some((at - anchor).num_milliseconds().div_euclid(period))
}

/// `anchor + k * every`, or `None` past the end of time.
pub(crate) fn tick(every: TimeDelta, anchor: DateTime<Utc>, k: i64) -> Option<DateTime<Utc>> {
    let offset = every.num_milliseconds().checked_mul(k)?;
    anchor.checked_add_signed(TimeDelta::try_milliseconds(offset)?)
}

/// Reads the inside of `rate(...)`: a whole number >= 1 and a unit, singular exactly
/// when the number is 1 (AWS rejects `rate(1 minutes)` and `rate(5 minute)`).
fn parse_rate(inner: &str, expression: &str) -> Result<TimeDelta, ScheduleError> {
    let error = |problem: String| ScheduleError::Rate {
        expression: expression.to_string(),
        problem,
    };
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let &[value, unit] = parts.as_slice() else {
        return Err(error(
            "a rate is a number and a unit, e.g. rate(5 minutes), rate(1 hour) or rate(2 days)"
                .to_string(),
        ));
    };
    let value: i64 = match value.parse::<i64>() {
        Ok(v) if v >= 1 && value.bytes().all(|b| b.is_ascii_digit()) => v,
        Ok(_) => {
            return Err(error(format!(
                "the value must be a whole number of 1 or more, not {value}"
            )))
        }
        Err(_) => {
            return Err(error(format!(
                "`{value}` is not a whole number; write e.g. rate(5 minutes)"
            )))
        }
    };
    let (singular, plural) = match unit {
        "minute" | "minutes" => ("minute", "minutes"),
        "hour" | "hours" => ("hour", "hours"),
        "day" | "days" => ("day", "days"),
        other => {
            return Err(error(format!(
                "unit `{other}` is not supported; use minute(s), hour(s) or day(s)"
            )))
        }
    };
    if value == 1 && unit != singular {
        return Err(error(format!(
            "use the singular unit for a value of 1: rate(1 {singular})"
        )));
    }
    if value != 1 && unit != plural {
        return Err(error(format!(
            "use the plural unit for a value other than 1: rate({value} {plural})"
        )));
    }
    let every = match singular {
        "minute" => TimeDelta::try_minutes(value),
        "hour" => TimeDelta::try_hours(value),
        _ => TimeDelta::try_days(value),
    };
    every.ok_or_else(|| error(format!("{value} {plural} is too long a period")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rates() {
        for (text, every) in [
            ("rate(1 minute)", TimeDelta::minutes(1)),
            ("rate(5 minutes)", TimeDelta::minutes(5)),
            ("rate(1 hour)", TimeDelta::hours(1)),
            ("rate(12 hours)", TimeDelta::hours(12)),
            ("rate(1 day)", TimeDelta::days(1)),
            (" rate( 7  days ) ", TimeDelta::days(7)),
        ] {
            assert_eq!(
                ScheduleExpr::parse(text),
                Ok(ScheduleExpr::Rate { every }),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_bad_rates() {
        for (text, needle) in [
            ("rate(1 days)", "rate(1 day)"),
            ("rate(1 minutes)", "rate(1 minute)"),
            ("rate(5 minute)", "rate(5 minutes)"),
            ("rate(0 minutes)", "1 or more"),
            ("rate(-1 minutes)", "1 or more"),
            ("rate(+5 minutes)", "1 or more"),
            ("rate(1.5 hours)", "not a whole number"),
            ("rate(5 seconds)", "unit `seconds` is not supported"),
            ("rate(5)", "a number and a unit"),
            ("rate()", "a number and a unit"),
            ("rate(99999999999999 days)", "too long"),
            ("every 5 minutes", "not a schedule expression"),
            ("rate 5 minutes", "not a schedule expression"),
        ] {
            let err = ScheduleExpr::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(
                err.contains(text),
                "{text}: the error quotes the expression: {err}"
            );
        }
    }

    #[test]
    fn rate_ticks_count_from_the_anchor() {
        let anchor = DateTime::parse_from_rfc3339("2026-03-01T10:17:23.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let hourly = ScheduleExpr::Rate {
            every: TimeDelta::hours(1),
        };
        let next = |after| hourly.next_after(after, Tz::UTC, anchor);
        assert_eq!(next(anchor), Some(anchor + TimeDelta::hours(1)));
        assert_eq!(
            next(anchor - TimeDelta::days(1)),
            Some(anchor + TimeDelta::hours(1))
        );
        assert_eq!(
            next(anchor + TimeDelta::hours(1) - TimeDelta::nanoseconds(1)),
            Some(anchor + TimeDelta::hours(1))
        );
        assert_eq!(
            next(anchor + TimeDelta::hours(1)),
            Some(anchor + TimeDelta::hours(2))
        );
        assert_eq!(
            next(anchor + TimeDelta::hours(5) + TimeDelta::minutes(59)),
            Some(anchor + TimeDelta::hours(6))
        );
        assert_eq!(
            hourly.next_after(DateTime::<Utc>::MAX_UTC, Tz::UTC, anchor),
            None
        );
    }
}
