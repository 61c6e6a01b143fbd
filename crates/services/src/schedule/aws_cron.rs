//! AWS EventBridge cron expressions: `cron(minutes hours day-of-month month day-of-week year)`.
//!
//! The six AWS fields are read and checked here (so errors name the field), then
//! translated into the seven-field dialect of the `cron` crate (seconds first, `0`), which
//! walks the calendar for us, time zones and daylight-saving gaps included. Everything the
//! crate cannot express is kept out of the translation:
//!
//! - `L`, `W` and `#` day rules become a [`DayRule`]: the crate is given every day and
//!   each candidate day is checked against the rule.
//! - Years: AWS allows 1970-2199, the crate stops at 2100. Years after 2100 are dropped
//!   from the translation (a schedule *only* in those years is an error at load).
//!
//! Both the crate and AWS number the days of the week 1-7 from Sunday (checked in the
//! crate's `time_unit/days_of_week.rs`), so weekday numbers pass through unchanged;
//! the translation spells every field as an explicit list anyway, so the crate's reading
//! of ranges and steps never matters.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::days::DayRule;
use super::field::{FieldKind, DAY_OF_MONTH, DAY_OF_WEEK, HOURS, MINUTES, MONTH, YEAR};
use super::ScheduleError;

/// The last year the `cron` crate can iterate to.
const CRATE_MAX_YEAR: u32 = 2100;

/// Bound on calendar steps in one [`AwsCron::next_after`]. Every step moves forward at
/// least a day (or to the crate's next candidate), and the crate stops at 2100, so this
/// is never reached in practice; it only guarantees termination.
const MAX_STEPS: usize = 200_000;

/// A parsed AWS cron expression.
#[derive(Debug, Clone)]
pub struct AwsCron {
    /// The six fields as written, inside `cron(...)`.
    fields: String,
    /// The same schedule in the `cron` crate's dialect.
    translated: String,
    /// Boxed: the crate's schedule is large and `ScheduleExpr::Rate` is tiny.
    schedule: Box<cron::Schedule>,
    /// Set when day-of-month or day-of-week uses `L`, `W` or `#`.
    days: Option<DayRule>,
}

impl PartialEq for AwsCron {
    fn eq(&self, other: &AwsCron) -> bool {
        self.fields == other.fields
    }
}

impl Eq for AwsCron {}

impl AwsCron {
    /// Reads the text inside `cron(...)`; `expression` (the whole text) is quoted in errors.
    pub(crate) fn parse(fields: &str, expression: &str) -> Result<AwsCron, ScheduleError> {
        let parts: Vec<&str> = fields.split_whitespace().collect();
        let &[minutes, hours, day_of_month, month, day_of_week, year] = parts.as_slice() else {
            return Err(ScheduleError::Cron {
                expression: expression.to_string(),
                problem: format!(
                    "has {} field{}; an EventBridge cron expression needs exactly 6: minutes hours day-of-month month day-of-week year, e.g. cron(0 12 * * ? *)",
                    parts.len(),
                    if parts.len() == 1 { "" } else { "s" }
                ),
            });
        };
        let field_error =
            |kind: &FieldKind, value: &str, problem: String| ScheduleError::CronField {
                expression: expression.to_string(),
                field: kind.name,
                value: value.to_string(),
                problem,
            };
        let read = |kind: &FieldKind, text: &str| {
            kind.parse(text)
                .map(|values| render(kind, &values))
                .map_err(|problem| field_error(kind, text, problem))
        };

        let minutes = read(&MINUTES, minutes)?;
        let hours = read(&HOURS, hours)?;
        let month = read(&MONTH, month)?;

        // AWS wants exactly one of the two day fields to be `?`.
        let (day_of_month, day_of_week, days) = match (day_of_month == "?", day_of_week == "?") {
            (false, false) => {
                return Err(ScheduleError::Cron {
                    expression: expression.to_string(),
                    problem: "day-of-month and day-of-week cannot both be set; use ? in one of them, e.g. cron(0 12 * * ? *) or cron(0 12 ? * MON-FRI *)".to_string(),
                })
            }
            (true, true) => {
                return Err(ScheduleError::Cron {
                    expression: expression.to_string(),
                    problem: "day-of-month and day-of-week cannot both be ?; put * or a value in one of them, e.g. cron(0 12 * * ? *)".to_string(),
                })
            }
            (false, true) => match DayRule::parse_day_of_month(day_of_month)
                .map_err(|p| field_error(&DAY_OF_MONTH, day_of_month, p))?
            {
                Some(rule) => ("*".to_string(), "?".to_string(), Some(rule)),
                None => (read(&DAY_OF_MONTH, day_of_month)?, "?".to_string(), None),
            },
            (true, false) => match DayRule::parse_day_of_week(day_of_week)
                .map_err(|p| field_error(&DAY_OF_WEEK, day_of_week, p))?
            {
                Some(rule) => ("*".to_string(), "?".to_string(), Some(rule)),
                // A lone `L` is the last day of the week: Saturday.
                None if day_of_week.eq_ignore_ascii_case("L") => {
                    ("?".to_string(), "7".to_string(), None)
                }
                None => ("?".to_string(), read(&DAY_OF_WEEK, day_of_week)?, None),
            },
        };

        let years = YEAR
            .parse(year)
            .map_err(|problem| field_error(&YEAR, year, problem))?;
        let reachable: BTreeSet<u32> = years.range(..=CRATE_MAX_YEAR).copied().collect();
        if reachable.is_empty() {
            return Err(field_error(
                &YEAR,
                year,
                format!(
                    "the sandbox can only schedule up to {CRATE_MAX_YEAR}; include an earlier year"
                ),
            ));
        }
        let year = if reachable.len() == (CRATE_MAX_YEAR - YEAR.min + 1) as usize {
            "*".to_string()
        } else {
            join(&reachable)
        };

        let translated = format!("0 {minutes} {hours} {day_of_month} {month} {day_of_week} {year}");
        let schedule = cron::Schedule::from_str(&translated).map_err(|e| ScheduleError::Cron {
            expression: expression.to_string(),
            problem: format!("cannot be evaluated (translated to `{translated}`: {e})"),
        })?;
        Ok(AwsCron {
            fields: parts.join(" "),
            translated,
            schedule: Box::new(schedule),
            days,
        })
    }

    /// The six fields, as written (whitespace normalised).
    pub fn fields(&self) -> &str {
        &self.fields
    }

    /// The expression handed to the `cron` crate (seven fields, seconds first); with an
    /// `L`/`W`/`#` day rule its day fields are `* ?` and the rule filters the days.
    pub fn translated(&self) -> &str {
        &self.translated
    }

    /// The first fire time strictly after `after`, with the fields read as local time in
    /// `tz`. A local time that does not exist (spring forward) is skipped; one that
    /// happens twice (fall back) fires once, at its first occurrence.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let mut from = after.with_timezone(&tz);
        for _ in 0..MAX_STEPS {
            // The crate searches by local wall time from `from` + 1 s, so every step
            // below moves strictly forward in local time.
            let candidate = self.schedule.after(&from).next()?;
            let date = candidate.date_naive();
            if let Some(rule) = self.days {
                if !rule.matches(date) {
                    from = end_of_day(tz, date).unwrap_or(candidate);
                    continue;
                }
            }
            if candidate.with_timezone(&Utc) > after {
                return Some(candidate.with_timezone(&Utc));
            }
            // The crate hands out the first occurrence of a repeated local time even when
            // `after` lies inside the repeat. If that first occurrence has passed, the
            // second is still this time's one firing.
            if let chrono::LocalResult::Ambiguous(_, second) =
                tz.from_local_datetime(&candidate.naive_local())
            {
                let second = second.with_timezone(&Utc);
                if second > after {
                    return Some(second);
                }
            }
            from = candidate;
        }
        None
    }
}

/// The last second of `date` in `tz`, so that the crate's next search starts at the
/// following midnight. `None` in the (theoretical) case that 23:59:59 does not exist.
fn end_of_day(tz: Tz, date: NaiveDate) -> Option<DateTime<Tz>> {
    let last_second = NaiveTime::from_hms_opt(23, 59, 59)?;
    tz.from_local_datetime(&date.and_time(last_second)).latest()
}

/// A value set in the crate's syntax: `*` for the whole field, else an explicit list.
fn render(kind: &FieldKind, values: &BTreeSet<u32>) -> String {
    if values.len() == (kind.max - kind.min + 1) as usize {
        "*".to_string()
    } else {
        join(values)
    }
}

fn join(values: &BTreeSet<u32>) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translate(fields: &str) -> String {
        AwsCron::parse(fields, fields)
            .map(|c| c.translated().to_string())
            .unwrap_or_else(|e| panic!("{fields}: {e}"))
    }

    #[test]
    fn translates_to_the_crate_dialect() {
        assert_eq!(translate("0 12 * * ? *"), "0 0 12 * * ? *");
        assert_eq!(translate("0/15 * * * ? *"), "0 0,15,30,45 * * * ? *");
        assert_eq!(translate("0 18 ? * MON-FRI *"), "0 0 18 ? * 2,3,4,5,6 *");
        assert_eq!(translate("0 8 1 * ? *"), "0 0 8 1 * ? *");
        assert_eq!(translate("0 0 L * ? *"), "0 0 0 * * ? *");
        assert_eq!(translate("0 10 ? * L *"), "0 0 10 ? * 7 *");
        assert_eq!(translate("0 10 ? JAN,jul 1 2024"), "0 0 10 ? 1,7 1 2024");
        assert_eq!(translate("0 10 * * ? 2099-2102"), "0 0 10 * * ? 2099,2100");
        assert_eq!(translate("0 10 * * ? 1970-2199"), "0 0 10 * * ? *");
    }

    #[test]
    fn years_beyond_the_engine_are_an_error() {
        let err = AwsCron::parse("0 10 * * ? 2150", "cron(0 10 * * ? 2150)").unwrap_err();
        assert!(err.to_string().contains("year field `2150`"), "{err}");
    }
}
