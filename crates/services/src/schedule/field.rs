//! One plain field of an AWS cron expression (`*`, `5`, `1-5`, `0/15`, `*/5`, `MON,WED`)
//! read into the set of values it selects.
//!
//! We read the fields ourselves rather than handing AWS text straight to the `cron`
//! crate so that every mistake is reported with the field's name, the offending value and
//! the allowed range, and so the meaning of each field is fixed by this file rather than
//! by whichever dialect the crate happens to parse. The special AWS forms (`?`, `L`, `W`,
//! `#`) are recognised by the caller before a field gets here.

use std::collections::BTreeSet;

/// What one cron field accepts.
pub(crate) struct FieldKind {
    pub name: &'static str,
    pub min: u32,
    pub max: u32,
    /// Names accepted instead of numbers (matched case-insensitively).
    pub names: &'static [(&'static str, u32)],
    /// AWS allows `/` in every field but day-of-week.
    pub steps: bool,
    /// How to write a valid value, for error messages.
    pub hint: &'static str,
}

pub(crate) const MINUTES: FieldKind = FieldKind {
    name: "minutes",
    min: 0,
    max: 59,
    names: &[],
    steps: true,
    hint: "0-59",
};

pub(crate) const HOURS: FieldKind = FieldKind {
    name: "hours",
    min: 0,
    max: 23,
    names: &[],
    steps: true,
    hint: "0-23",
};

pub(crate) const DAY_OF_MONTH: FieldKind = FieldKind {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    steps: true,
    hint: "1-31",
};

pub(crate) const MONTH: FieldKind = FieldKind {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        ("JAN", 1),
        ("FEB", 2),
        ("MAR", 3),
        ("APR", 4),
        ("MAY", 5),
        ("JUN", 6),
        ("JUL", 7),
        ("AUG", 8),
        ("SEP", 9),
        ("OCT", 10),
        ("NOV", 11),
        ("DEC", 12),
    ],
    steps: true,
    hint: "1-12 or JAN-DEC",
};

/// AWS numbers the days of the week 1-7 starting on Sunday.
pub(crate) const DAY_OF_WEEK: FieldKind = FieldKind {
    name: "day-of-week",
    min: 1,
    max: 7,
    names: &[
        ("SUN", 1),
        ("MON", 2),
        ("TUE", 3),
        ("WED", 4),
        ("THU", 5),
        ("FRI", 6),
        ("SAT", 7),
    ],
    steps: false,
    hint: "1-7 (1 = Sunday) or SUN-SAT",
};

pub(crate) const YEAR: FieldKind = FieldKind {
    name: "year",
    min: 1970,
    max: 2199,
    names: &[],
    steps: true,
    hint: "1970-2199",
};

impl FieldKind {
    /// Reads a comma-separated list into the values it selects. The error is the problem
    /// alone; the caller adds the field name and text.
    pub fn parse(&self, text: &str) -> Result<BTreeSet<u32>, String> {
        let mut values = BTreeSet::new();
        for item in text.split(',') {
            values.extend(self.parse_item(item)?);
        }
        Ok(values)
    }

    fn parse_item(&self, item: &str) -> Result<Vec<u32>, String> {
        if item.is_empty() {
            return Err("empty entry in the list; remove the extra comma".to_string());
        }
        let (range, step) = match item.split_once('/') {
            Some(_) if !self.steps => {
                return Err(format!(
                "`/` increments are not allowed in {}; list the days instead (e.g. MON,WED,FRI)",
                self.name
            ))
            }
            Some((range, step)) => (range, Some(self.parse_step(step)?)),
            None => (item, None),
        };
        let (start, end) = if range == "*" {
            (self.min, self.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (self.parse_value(a)?, self.parse_value(b)?);
            if a > b {
                return Err(format!(
                    "range {range} runs backwards; write the smaller value first, or split it into two ranges"
                ));
            }
            (a, b)
        } else {
            let a = self.parse_value(range)?;
            // `0/15` means "from 0, every 15" (to the end of the field), as in AWS.
            (a, if step.is_some() { self.max } else { a })
        };
        let step = step.unwrap_or(1) as usize;
        Ok((start..=end).step_by(step).collect())
    }

    fn parse_step(&self, text: &str) -> Result<u32, String> {
        match text.parse::<u32>() {
            Ok(0) => Err("the increment after `/` must be at least 1".to_string()),
            Ok(step) => Ok(step),
            Err(_) => Err(format!(
                "the increment after `/` must be a whole number, not `{text}`"
            )),
        }
    }

    /// Reads one number or name, checking its range.
    pub fn parse_value(&self, text: &str) -> Result<u32, String> {
        if text.is_empty() {
            return Err(format!(
                "missing value; {} values are {}",
                self.name, self.hint
            ));
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return match text.parse::<u32>() {
                Ok(v) if (self.min..=self.max).contains(&v) => Ok(v),
                _ => Err(format!(
                    "{text} is out of range; {} values are {}",
                    self.name, self.hint
                )),
            };
        }
        self.names
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
            .map(|&(_, value)| value)
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a valid {} value; use {}",
                    self.name, self.hint
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[u32]) -> BTreeSet<u32> {
        values.iter().copied().collect()
    }

    #[test]
    fn reads_lists_ranges_and_steps() {
        assert_eq!(MINUTES.parse("0/15"), Ok(set(&[0, 15, 30, 45])));
        assert_eq!(MINUTES.parse("*/20"), Ok(set(&[0, 20, 40])));
        assert_eq!(MINUTES.parse("1/10").map(|s| s.len()), Ok(6));
        assert_eq!(HOURS.parse("8-10,12"), Ok(set(&[8, 9, 10, 12])));
        assert_eq!(HOURS.parse("8-16/4"), Ok(set(&[8, 12, 16])));
        assert_eq!(MONTH.parse("jan,MAR-may"), Ok(set(&[1, 3, 4, 5])));
        assert_eq!(DAY_OF_WEEK.parse("MON-FRI"), Ok(set(&[2, 3, 4, 5, 6])));
        assert_eq!(DAY_OF_WEEK.parse("1,7"), Ok(set(&[1, 7])));
        assert_eq!(YEAR.parse("2024-2026"), Ok(set(&[2024, 2025, 2026])));
        assert_eq!(YEAR.parse("*").map(|s| s.len()), Ok(230));
    }

    #[test]
    fn explains_bad_values() {
        for (kind, text, needle) in [
            (&HOURS, "25", "25 is out of range; hours values are 0-23"),
            (&MINUTES, "60", "out of range"),
            (&DAY_OF_MONTH, "0", "out of range"),
            (&DAY_OF_WEEK, "0", "1-7 (1 = Sunday)"),
            (&DAY_OF_WEEK, "8", "out of range"),
            (&DAY_OF_WEEK, "MON/2", "not allowed in day-of-week"),
            (
                &DAY_OF_WEEK,
                "FOO",
                "`FOO` is not a valid day-of-week value",
            ),
            (&MONTH, "13", "1-12 or JAN-DEC"),
            (&YEAR, "2200", "1970-2199"),
            (&YEAR, "1969", "out of range"),
            (&MINUTES, "5-2", "runs backwards"),
            (&MINUTES, "1,,2", "extra comma"),
            (&MINUTES, "*/0", "at least 1"),
            (&MINUTES, "*/x", "whole number"),
            (&MINUTES, "1-", "missing value"),
        ] {
            let err = kind.parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
