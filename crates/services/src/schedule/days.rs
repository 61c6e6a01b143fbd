//! The AWS day rules the `cron` crate cannot express: `L` and `W` in day-of-month,
//! `nL` and `n#k` in day-of-week.
//!
//! Each depends on the month as a whole (how long it is, where its weekdays fall), so it
//! cannot be written as a fixed set of day numbers. When one is used, the crate is given
//! "every day" and [`DayRule::matches`] decides which days count.

use chrono::{Datelike, NaiveDate, Weekday};

use super::field::{DAY_OF_MONTH, DAY_OF_WEEK};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayRule {
    /// `L` in day-of-month: the last day of the month.
    LastDayOfMonth,
    /// `LW` in day-of-month: the last Monday-to-Friday day of the month.
    LastWeekdayOfMonth,
    /// `15W` in day-of-month: the Monday-to-Friday day nearest the 15th, never leaving the
    /// month (so `1W` on a Saturday moves forward to Monday the 3rd).
    NearestWeekday(u32),
    /// `6L` in day-of-week: the last Friday of the month.
    LastOfMonth(Weekday),
    /// `6#3` in day-of-week: the third Friday of the month.
    Nth(Weekday, u32),
}

impl DayRule {
    pub fn matches(self, date: NaiveDate) -> bool {
        let last = days_in_month(date);
        match self {
            DayRule::LastDayOfMonth => date.day() == last,
            DayRule::LastWeekdayOfMonth => date.day() == weekday_near(date, last),
            DayRule::NearestWeekday(day) => day <= last && date.day() == weekday_near(date, day),
            DayRule::LastOfMonth(weekday) => date.weekday() == weekday && date.day() + 7 > last,
            DayRule::Nth(weekday, n) => date.weekday() == weekday && (date.day() - 1) / 7 + 1 == n,
        }
    }

    /// Reads a day-of-month field that uses `L` or `W`. `Ok(None)` means the field has
    /// neither and is a plain list for the crate.
    pub fn parse_day_of_month(text: &str) -> Result<Option<DayRule>, String> {
        let upper = text.to_ascii_uppercase();
        if !upper.contains(['L', 'W']) {
            return Ok(None);
        }
        if upper.contains([',', '/']) || (upper.contains('-') && !upper.starts_with("L-")) {
            return Err(
                "L and W cannot be combined with lists, ranges or increments; use one value such as L, LW or 15W"
                    .to_string(),
            );
        }
        match upper.as_str() {
            "L" => Ok(Some(DayRule::LastDayOfMonth)),
            "LW" | "WL" => Ok(Some(DayRule::LastWeekdayOfMonth)),
            offset if offset.starts_with("L-") => Err(format!(
                "`{text}` (an offset from the last day) is not supported; use L for the last day of the month"
            )),
            nearest => match nearest.strip_suffix('W') {
                Some(day) => DAY_OF_MONTH
                    .parse_value(day)
                    .map(|day| Some(DayRule::NearestWeekday(day))),
                None => Err(format!(
                    "`{text}` is not valid; L goes alone (L, LW) and W follows a day number (15W)"
                )),
            },
        }
    }

    /// Reads a day-of-week field that uses `L` or `#`. `Ok(None)` means the field has
    /// neither and is a plain list for the crate (a lone `L` is Saturday, the last day
    /// of the week, and is handled there).
    pub fn parse_day_of_week(text: &str) -> Result<Option<DayRule>, String> {
        let upper = text.to_ascii_uppercase();
        if !upper.contains(['L', '#']) || upper == "L" {
            return Ok(None);
        }
        if upper.contains([',', '-', '/']) {
            return Err(
                "L and # cannot be combined with lists or ranges; use one value such as 6L (last Friday) or 6#3 (third Friday)"
                    .to_string(),
            );
        }
        if let Some((day, n)) = upper.split_once('#') {
            let weekday = aws_weekday(DAY_OF_WEEK.parse_value(day)?);
            return match n.parse::<u32>() {
                Ok(n @ 1..=5) => Ok(Some(DayRule::Nth(weekday, n))),
                _ => Err(format!(
                    "the week number after # must be 1-5, not `{n}` (6#3 is the third Friday)"
                )),
            };
        }
        match upper.strip_suffix('L') {
            Some(day) if !day.contains('L') => {
                let weekday = aws_weekday(DAY_OF_WEEK.parse_value(day)?);
                Ok(Some(DayRule::LastOfMonth(weekday)))
            }
            _ => Err(format!(
                "`{text}` is not valid; write L for Saturday or a day before it (6L is the last Friday)"
            )),
        }
    }
}

/// AWS day-of-week numbers start at 1 = Sunday.
fn aws_weekday(number: u32) -> Weekday {
    match number {
        1 => Weekday::Sun,
        2 => Weekday::Mon,
        3 => Weekday::Tue,
        4 => Weekday::Wed,
        5 => Weekday::Thu,
        6 => Weekday::Fri,
        _ => Weekday::Sat,
    }
}

fn days_in_month(date: NaiveDate) -> u32 {
    let (year, month) = (date.year(), date.month());
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|n| n.pred_opt())
        .map(|last| last.day())
        .unwrap_or(31)
}

/// The Monday-to-Friday day nearest to `day` in `date`'s month, staying inside the month.
/// `day` must exist in that month.
fn weekday_near(date: NaiveDate, day: u32) -> u32 {
    let last = days_in_month(date);
    let Some(target) = date.with_day(day) else {
        return day;
    };
    match target.weekday() {
        Weekday::Sat if day == 1 => 3,
        Weekday::Sat => day - 1,
        Weekday::Sun if day == last => day - 2,
        Weekday::Sun => day + 1,
        _ => day,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn matching(rule: DayRule, y: i32, m: u32) -> Vec<u32> {
        (1..=31)
            .filter_map(|d| NaiveDate::from_ymd_opt(y, m, d))
            .filter(|&d| rule.matches(d))
            .map(|d| d.day())
            .collect()
    }

    #[test]
    fn last_day_and_last_weekday() {
        assert_eq!(matching(DayRule::LastDayOfMonth, 2028, 2), [29]);
        assert_eq!(matching(DayRule::LastDayOfMonth, 2027, 2), [28]);
        // 2026-05-31 is a Sunday: the last weekday is Friday the 29th.
        assert_eq!(matching(DayRule::LastWeekdayOfMonth, 2026, 5), [29]);
        // 2026-10-31 is a Saturday.
        assert_eq!(matching(DayRule::LastWeekdayOfMonth, 2026, 10), [30]);
        assert_eq!(matching(DayRule::LastWeekdayOfMonth, 2026, 6), [30]);
    }

    #[test]
    fn nearest_weekday_stays_in_month() {
        // 2026-08-15 is a Saturday, 2026-11-15 a Sunday, 2026-08-01 a Saturday.
        assert_eq!(matching(DayRule::NearestWeekday(15), 2026, 8), [14]);
        assert_eq!(matching(DayRule::NearestWeekday(15), 2026, 11), [16]);
        assert_eq!(matching(DayRule::NearestWeekday(1), 2026, 8), [3]);
        // 2026-05-31 is a Sunday: back to Friday the 29th rather than into June.
        assert_eq!(matching(DayRule::NearestWeekday(31), 2026, 5), [29]);
        assert_eq!(
            matching(DayRule::NearestWeekday(31), 2026, 6),
            Vec::<u32>::new()
        );
        assert_eq!(matching(DayRule::NearestWeekday(15), 2026, 7), [15]);
    }

    #[test]
    fn weekday_in_month() {
        // Fridays of 2026-11: 6, 13, 20, 27.
        assert_eq!(matching(DayRule::Nth(Weekday::Fri, 3), 2026, 11), [20]);
        assert_eq!(
            matching(DayRule::Nth(Weekday::Fri, 5), 2026, 11),
            Vec::<u32>::new()
        );
        assert_eq!(matching(DayRule::LastOfMonth(Weekday::Fri), 2026, 11), [27]);
        assert!(DayRule::Nth(Weekday::Sun, 1).matches(day(2026, 11, 1)));
    }

    #[test]
    fn reads_special_fields() {
        assert_eq!(DayRule::parse_day_of_month("15"), Ok(None));
        assert_eq!(
            DayRule::parse_day_of_month("l"),
            Ok(Some(DayRule::LastDayOfMonth))
        );
        assert_eq!(
            DayRule::parse_day_of_month("LW"),
            Ok(Some(DayRule::LastWeekdayOfMonth))
        );
        assert_eq!(
            DayRule::parse_day_of_month("15W"),
            Ok(Some(DayRule::NearestWeekday(15)))
        );
        assert_eq!(DayRule::parse_day_of_week("MON-FRI"), Ok(None));
        assert_eq!(DayRule::parse_day_of_week("L"), Ok(None));
        assert_eq!(
            DayRule::parse_day_of_week("6L"),
            Ok(Some(DayRule::LastOfMonth(Weekday::Fri)))
        );
        assert_eq!(
            DayRule::parse_day_of_week("fri#3"),
            Ok(Some(DayRule::Nth(Weekday::Fri, 3)))
        );
        for (dom, needle) in [
            ("1,L", "cannot be combined"),
            ("L-3", "not supported"),
            ("32W", "out of range"),
            ("W", "missing value"),
            ("1-5W", "cannot be combined"),
            ("LX", "not valid"),
        ] {
            let err = DayRule::parse_day_of_month(dom).unwrap_err();
            assert!(err.contains(needle), "{dom}: {err}");
        }
        for (dow, needle) in [
            ("3#1,6#3", "cannot be combined"),
            ("6#6", "must be 1-5"),
            ("8#1", "out of range"),
            ("LL", "not valid"),
            ("9L", "out of range"),
        ] {
            let err = DayRule::parse_day_of_week(dow).unwrap_err();
            assert!(err.contains(needle), "{dow}: {err}");
        }
    }
}
