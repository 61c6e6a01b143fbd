//! `@scheduled`: EventBridge schedule expressions, checked for shape only (the
//! services crate evaluates them).
//!
//! Accepted forms: `daily rate(1 day)`, `noon cron(0 12 * * ? *)`, or Architect's map
//! form with an indented `rate 1 day` / `cron 0 12 * * ? *`; any of them may add
//! `timezone Europe/Paris`.

use std::ops::Range;

use super::functions::{self, Settings};
use super::{names, Ctx};
use crate::error::{DResult, Diag};
use crate::model::Schedule;
use crate::suggest;
use crate::tree::{Node, Props};

const KEYS: &[&str] = &[
    "expression",
    "rate",
    "cron",
    "timezone",
    "timeout",
    "memory",
    "env",
    "build",
];
const UNITS: &[&str] = &["minute", "minutes", "hour", "hours", "day", "days"];

pub(crate) fn read(ctx: &mut Ctx, node: &Node) -> DResult<Vec<Schedule>> {
    let entries = node.obj(ctx.source, "`scheduled`")?;
    let mut schedules = Vec::new();
    for (key, value) in entries {
        let props = Props::new(value, ctx.source, &format!("schedule `{}`", key.name))?;
        props.only(KEYS, "a schedule")?;
        names::check(&key.name, key.span.clone(), names::SCHEDULE)?;
        let given: Vec<&str> = ["expression", "rate", "cron"]
            .into_iter()
            .filter(|k| props.get(k).is_some())
            .collect();
        let expression = match given.as_slice() {
            [] => {
                return Err(Diag::new(
                    key.span.clone(),
                    format!("schedule `{}` has no rate or cron expression", key.name),
                    "when should it run?",
                )
                .help(format!(
                    "write e.g. `{} rate(1 day)` or `{} cron(0 12 * * ? *)`",
                    key.name, key.name
                )));
            }
            [one] => {
                let node = props.get(one).expect("filtered above");
                let text = node.text(ctx.source, one)?;
                let text = match *one {
                    "rate" => format!("rate({})", text.trim()),
                    "cron" => format!("cron({})", text.trim()),
                    _ => text.trim().to_string(),
                };
                check_expression(&text, node.span.clone())?;
                text
            }
            [_, second, ..] => {
                let second_key = props.key(second).expect("present");
                return Err(Diag::new(
                    second_key.span.clone(),
                    format!("schedule `{}` has more than one expression", key.name),
                    "second expression",
                )
                .help("give one `rate(…)` or one `cron(…)`"));
            }
        };
        let timezone = match props.get("timezone") {
            Some(node) => {
                let zone = node.str(ctx.source, "timezone")?;
                if zone.parse::<chrono_tz::Tz>().is_err() {
                    let zones = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name());
                    return Err(Diag::new(
                        node.span.clone(),
                        format!("unknown time zone `{zone}`"),
                        "not an IANA time zone",
                    )
                    .help(
                        suggest::did_you_mean(&zone, zones, "").unwrap_or_else(|| {
                            "use an IANA name such as `Europe/Paris` or `UTC`".to_string()
                        }),
                    ));
                }
                Some(zone)
            }
            None => None,
        };
        let settings = Settings::read(ctx, &props)?;
        let function = functions::declare(
            ctx,
            &format!("scheduled/{}", key.name),
            &settings,
            &key.span,
        );
        schedules.push(Schedule {
            name: key.name.clone(),
            expression,
            timezone,
            function,
            span: ctx.span(&key.span),
        });
    }
    Ok(schedules)
}

/// `rate(N unit)` or `cron(six fields)`.
pub(crate) fn check_expression(text: &str, span: Range<usize>) -> DResult<()> {
    if let Some(inner) = text.strip_prefix("rate(").and_then(|t| t.strip_suffix(')')) {
        return check_rate(text, inner, span);
    }
    if let Some(inner) = text.strip_prefix("cron(").and_then(|t| t.strip_suffix(')')) {
        let fields = inner.split_whitespace().count();
        if fields != 6 {
            return Err(Diag::new(span, format!("`{text}` has {fields} fields; AWS cron expressions have 6"), "expected 6 fields")
                .help("the fields are minutes, hours, day-of-month, month, day-of-week and year, with `?` in one of the day fields, e.g. `cron(0 12 * * ? *)`"));
        }
        return Ok(());
    }
    Err(Diag::new(
        span,
        format!("`{text}` is not a schedule expression"),
        "expected `rate(…)` or `cron(…)`",
    )
    .help("write e.g. `rate(5 minutes)` or `cron(0 12 * * ? *)`"))
}

fn check_rate(text: &str, inner: &str, span: Range<usize>) -> DResult<()> {
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let [value, unit] = parts.as_slice() else {
        return Err(Diag::new(
            span,
            format!("`{text}` is not a rate"),
            "expected `rate(<number> <unit>)`",
        )
        .help("write e.g. `rate(1 day)` or `rate(5 minutes)`"));
    };
    let Some(n) = value.parse::<u64>().ok().filter(|n| *n >= 1) else {
        return Err(Diag::new(
            span,
            format!("the rate in `{text}` must be a whole number above 0"),
            format!("found `{value}`"),
        )
        .help("write e.g. `rate(5 minutes)`"));
    };
    if !UNITS.contains(unit) {
        return Err(Diag::new(
            span,
            format!("unknown rate unit `{unit}`"),
            "expected minute(s), hour(s) or day(s)",
        )
        .help(
            suggest::did_you_mean(unit, UNITS.iter().copied(), "").unwrap_or_else(|| {
                "AWS rates use minute, minutes, hour, hours, day or days".to_string()
            }),
        ));
    }
    let plural = unit.ends_with('s');
    if (n == 1) == plural {
        let fixed = if plural {
            unit.trim_end_matches('s').to_string()
        } else {
            format!("{unit}s")
        };
        let (message, label) = if n == 1 {
            (
                format!("`{text}` needs the singular unit"),
                format!("`{unit}` with a value of 1"),
            )
        } else {
            (
                format!("`{text}` needs the plural unit"),
                format!("`{unit}` with a value of {n}"),
            )
        };
        return Err(Diag::new(span, message, label).help(format!(
            "AWS requires `rate({n} {fixed})`: singular for 1, plural otherwise"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions() {
        for ok in [
            "rate(1 day)",
            "rate(5 minutes)",
            "rate(1 minute)",
            "cron(0 12 * * ? *)",
            "cron(0/15 * * * ? *)",
        ] {
            assert!(check_expression(ok, 0..1).is_ok(), "{ok}");
        }
        for bad in [
            "rate(1 days)",
            "rate(2 day)",
            "rate(0 days)",
            "rate(1 week)",
            "rate(day)",
            "cron(0 12 * * ?)",
            "every day",
            "rate(1 day",
        ] {
            assert!(check_expression(bad, 0..1).is_err(), "{bad}");
        }
    }
}
