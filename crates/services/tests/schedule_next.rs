//! Next-fire vectors for AWS `rate(...)` and `cron(...)` expressions, and their load errors.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sandbox_services::ScheduleExpr;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// The next `n` fires of `expression` in `tz` strictly after `after`, as RFC 3339 text.
fn fires_in(expression: &str, tz: Tz, after: &str, n: usize) -> Vec<String> {
    let expr = ScheduleExpr::parse(expression).unwrap_or_else(|e| panic!("{e}"));
    let anchor = t(after);
    std::iter::successors(expr.next_after(anchor, tz, anchor), |&at| {
        expr.next_after(at, tz, anchor)
    })
    .take(n)
    .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    .collect()
}

fn fires(expression: &str, after: &str, n: usize) -> Vec<String> {
    fires_in(expression, Tz::UTC, after, n)
}

#[test]
fn daily_at_noon() {
    assert_eq!(
        fires("cron(0 12 * * ? *)", "2026-11-22T11:42:00Z", 3),
        [
            "2026-11-22T12:00:00Z",
            "2026-11-23T12:00:00Z",
            "2026-11-24T12:00:00Z"
        ]
    );
    // Strictly after: a fire time itself is not returned again.
    assert_eq!(
        fires("cron(0 12 * * ? *)", "2026-11-22T12:00:00Z", 1),
        ["2026-11-23T12:00:00Z"]
    );
    assert_eq!(
        fires("cron(0 12 * * ? *)", "2026-11-22T11:59:59.999Z", 1),
        ["2026-11-22T12:00:00Z"]
    );
}

#[test]
fn every_quarter_hour() {
    assert_eq!(
        fires("cron(0/15 * * * ? *)", "2026-11-22T10:07:00Z", 4),
        [
            "2026-11-22T10:15:00Z",
            "2026-11-22T10:30:00Z",
            "2026-11-22T10:45:00Z",
            "2026-11-22T11:00:00Z"
        ]
    );
    assert_eq!(
        fires("cron(*/20 * * * ? *)", "2026-11-22T10:07:00Z", 2),
        ["2026-11-22T10:20:00Z", "2026-11-22T10:40:00Z"]
    );
}

#[test]
fn weekday_evenings() {
    // 2026-11-20 is a Friday.
    assert_eq!(
        fires("cron(0 18 ? * MON-FRI *)", "2026-11-20T19:00:00Z", 3),
        [
            "2026-11-23T18:00:00Z",
            "2026-11-24T18:00:00Z",
            "2026-11-25T18:00:00Z"
        ]
    );
    assert_eq!(
        fires("cron(0 18 ? * 2-6 *)", "2026-11-20T17:00:00Z", 2),
        ["2026-11-20T18:00:00Z", "2026-11-23T18:00:00Z"]
    );
}

#[test]
fn day_of_week_numbers_start_on_sunday() {
    // 2026-11-22 is a Sunday, 2026-11-21 a Saturday.
    for sunday in ["1", "SUN", "sun"] {
        let expr = format!("cron(0 10 ? * {sunday} *)");
        assert_eq!(
            fires(&expr, "2026-11-20T00:00:00Z", 1),
            ["2026-11-22T10:00:00Z"]
        );
    }
    for saturday in ["7", "SAT", "L"] {
        let expr = format!("cron(0 10 ? * {saturday} *)");
        assert_eq!(
            fires(&expr, "2026-11-20T00:00:00Z", 1),
            ["2026-11-21T10:00:00Z"]
        );
    }
}

#[test]
fn first_of_the_month() {
    assert_eq!(
        fires("cron(0 8 1 * ? *)", "2026-11-22T00:00:00Z", 3),
        [
            "2026-12-01T08:00:00Z",
            "2027-01-01T08:00:00Z",
            "2027-02-01T08:00:00Z"
        ]
    );
    assert_eq!(
        fires("cron(15 10 ? JUN,dec 2#1 *)", "2026-11-22T00:00:00Z", 2),
        ["2026-12-07T10:15:00Z", "2027-06-07T10:15:00Z"]
    );
}

#[test]
fn last_day_of_the_month_in_leap_and_common_years() {
    assert_eq!(
        fires("cron(0 0 L * ? *)", "2028-01-15T00:00:00Z", 3),
        [
            "2028-01-31T00:00:00Z",
            "2028-02-29T00:00:00Z",
            "2028-03-31T00:00:00Z"
        ]
    );
    assert_eq!(
        fires("cron(0 0 L * ? *)", "2027-01-15T00:00:00Z", 4),
        [
            "2027-01-31T00:00:00Z",
            "2027-02-28T00:00:00Z",
            "2027-03-31T00:00:00Z",
            "2027-04-30T00:00:00Z"
        ]
    );
    assert_eq!(
        fires("cron(0 0 L 2 ? 2024)", "2023-06-01T00:00:00Z", 5),
        ["2024-02-29T00:00:00Z"],
        "fires once, then never again"
    );
}

#[test]
fn last_weekday_of_the_month() {
    // 2026-05-31 is a Sunday, 2026-10-31 a Saturday.
    assert_eq!(
        fires("cron(0 17 LW * ? *)", "2026-05-01T00:00:00Z", 2),
        ["2026-05-29T17:00:00Z", "2026-06-30T17:00:00Z"]
    );
    assert_eq!(
        fires("cron(0 17 LW 10 ? *)", "2026-01-01T00:00:00Z", 1),
        ["2026-10-30T17:00:00Z"]
    );
}

#[test]
fn nearest_weekday() {
    // The 15th: 2026-08-15 is a Saturday (-> Friday 14th), 2026-11-15 a Sunday (-> Monday
    // 16th), 2026-09-15 a Tuesday.
    assert_eq!(
        fires("cron(0 9 15W * ? *)", "2026-08-01T00:00:00Z", 4),
        [
            "2026-08-14T09:00:00Z",
            "2026-09-15T09:00:00Z",
            "2026-10-15T09:00:00Z",
            "2026-11-16T09:00:00Z"
        ]
    );
    // 2026-08-01 is a Saturday: the nearest weekday in the month is Monday the 3rd, not
    // Friday 31 July.
    assert_eq!(
        fires("cron(0 9 1W * ? *)", "2026-07-31T12:00:00Z", 1),
        ["2026-08-03T09:00:00Z"]
    );
}

#[test]
fn nth_and_last_weekday_of_the_month() {
    // Fridays: November 2026 6, 13, 20, 27; December 2026 4, 11, 18, 25.
    assert_eq!(
        fires("cron(0 10 ? * 6#3 *)", "2026-11-01T00:00:00Z", 2),
        ["2026-11-20T10:00:00Z", "2026-12-18T10:00:00Z"]
    );
    assert_eq!(
        fires("cron(0 10 ? * FRI#3 *)", "2026-11-20T10:00:00Z", 1),
        ["2026-12-18T10:00:00Z"]
    );
    assert_eq!(
        fires("cron(0 10 ? * 6L *)", "2026-11-01T00:00:00Z", 2),
        ["2026-11-27T10:00:00Z", "2026-12-25T10:00:00Z"]
    );
    // A fifth Friday exists only in some months: 2027 has them in Jan, Apr, Jul, Oct, Dec.
    assert_eq!(
        fires("cron(0 10 ? * 6#5 *)", "2027-01-01T00:00:00Z", 2),
        ["2027-01-29T10:00:00Z", "2027-04-30T10:00:00Z"]
    );
}

#[test]
fn year_field_limits() {
    assert_eq!(
        fires("cron(0 0 1 1 ? 2027-2028)", "2026-11-22T00:00:00Z", 5),
        ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"]
    );
    assert_eq!(
        fires("cron(0 0 1 1 ? 1970-2199)", "2026-11-22T00:00:00Z", 1),
        ["2027-01-01T00:00:00Z"]
    );
    assert_eq!(
        fires("cron(0 0 1 1 ? 2020/5)", "2026-11-22T00:00:00Z", 2),
        ["2030-01-01T00:00:00Z", "2035-01-01T00:00:00Z"]
    );
    assert!(fires("cron(0 0 1 1 ? 2025)", "2026-11-22T00:00:00Z", 1).is_empty());
    // The last year the sandbox can reach.
    assert_eq!(
        fires("cron(0 0 1 1 ? 2100-2199)", "2026-11-22T00:00:00Z", 2),
        ["2100-01-01T00:00:00Z"]
    );
}

#[test]
fn rate_counts_from_the_anchor() {
    // Anchored at 10:17:23: ticks at 11:17:23, 12:17:23, ... not on the hour.
    assert_eq!(
        fires("rate(1 hour)", "2026-11-22T10:17:23Z", 3),
        [
            "2026-11-22T11:17:23Z",
            "2026-11-22T12:17:23Z",
            "2026-11-22T13:17:23Z"
        ]
    );
    assert_eq!(
        fires("rate(2 days)", "2026-11-22T10:00:00Z", 2),
        ["2026-11-24T10:00:00Z", "2026-11-26T10:00:00Z"]
    );
    let expr = ScheduleExpr::parse("rate(5 minutes)").unwrap();
    let anchor = t("2026-11-22T10:00:00Z");
    assert_eq!(
        expr.next_after(t("2026-11-22T10:12:00Z"), Tz::UTC, anchor),
        Some(t("2026-11-22T10:15:00Z"))
    );
    assert_eq!(
        expr.next_after(t("2026-11-22T10:15:00Z"), Tz::UTC, anchor),
        Some(t("2026-11-22T10:20:00Z"))
    );
}

#[test]
fn cron_in_a_time_zone_follows_daylight_saving() {
    let paris: Tz = "Europe/Paris".parse().unwrap();
    // Summer time ends 2026-10-25: 09:00 moves from 07:00Z to 08:00Z.
    assert_eq!(
        fires_in("cron(0 9 * * ? *)", paris, "2026-10-23T12:00:00Z", 3),
        [
            "2026-10-24T07:00:00Z",
            "2026-10-25T08:00:00Z",
            "2026-10-26T08:00:00Z"
        ]
    );
    // Summer time starts 2027-03-28: back to 07:00Z.
    assert_eq!(
        fires_in("cron(0 9 * * ? *)", paris, "2027-03-26T12:00:00Z", 3),
        [
            "2027-03-27T08:00:00Z",
            "2027-03-28T07:00:00Z",
            "2027-03-29T07:00:00Z"
        ]
    );
}

#[test]
fn a_local_time_that_does_not_exist_is_skipped() {
    let paris: Tz = "Europe/Paris".parse().unwrap();
    // 2027-03-28 02:30 does not exist in Paris (02:00 jumps to 03:00).
    assert_eq!(
        fires_in("cron(30 2 * * ? *)", paris, "2027-03-27T00:00:00Z", 2),
        ["2027-03-27T01:30:00Z", "2027-03-29T00:30:00Z"]
    );
}

#[test]
fn a_repeated_local_time_fires_once() {
    let paris: Tz = "Europe/Paris".parse().unwrap();
    // 2026-10-25 02:30 happens twice in Paris (00:30Z and 01:30Z): one fire, the first.
    assert_eq!(
        fires_in("cron(30 2 * * ? *)", paris, "2026-10-24T12:00:00Z", 2),
        ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
    );
    // Hourly: the repeated 02:00 fires once, then 03:00.
    assert_eq!(
        fires_in("cron(0 * * * ? *)", paris, "2026-10-24T23:30:00Z", 3),
        [
            "2026-10-25T00:00:00Z",
            "2026-10-25T02:00:00Z",
            "2026-10-25T03:00:00Z"
        ]
    );
    // Created during the repeat, after the first 02:30 passed: the second one is its
    // only chance that day.
    assert_eq!(
        fires_in("cron(30 2 * * ? *)", paris, "2026-10-25T01:00:00Z", 2),
        ["2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"]
    );
}

#[test]
fn load_errors_say_what_and_how() {
    for (expression, needles) in [
        ("rate(1 days)", &["rate(1 day)"][..]),
        ("rate(0 minutes)", &["1 or more"]),
        (
            "cron(0 12 * * * *)",
            &[
                "day-of-month and day-of-week cannot both be set",
                "use ? in one",
            ],
        ),
        ("cron(0 12 ? * ? *)", &["cannot both be ?"]),
        ("cron(0 12 * * ?)", &["has 5 fields", "exactly 6"]),
        ("cron(0 12 * * ? * *)", &["has 7 fields"]),
        ("cron(0 25 * * ? *)", &["hours field `25`", "0-23"]),
        ("cron(60 1 * * ? *)", &["minutes field `60`", "0-59"]),
        ("cron(0 1 32 * ? *)", &["day-of-month field `32`", "1-31"]),
        ("cron(0 1 * 13 ? *)", &["month field `13`", "JAN-DEC"]),
        (
            "cron(0 1 ? * 0 *)",
            &["day-of-week field `0`", "1 = Sunday"],
        ),
        (
            "cron(0 1 ? * MON/2 *)",
            &["day-of-week field", "not allowed"],
        ),
        ("cron(0 1 * * ? 2200)", &["year field `2200`", "1970-2199"]),
        ("cron(0 1 * * ? 2150)", &["year field `2150`", "up to 2100"]),
        (
            "cron(0 1 L-2 * ? *)",
            &["day-of-month field `L-2`", "not supported"],
        ),
        (
            "cron(0 1 ? * 3#1,6#3 *)",
            &["day-of-week field", "cannot be combined"],
        ),
        ("cron(0 1 ? * 6#6 *)", &["1-5"]),
        ("cron(0 1 * * ? foo)", &["year field `foo`"]),
        ("cron 0 1 * * ? *", &["not a schedule expression"]),
        ("", &["not a schedule expression"]),
    ] {
        let err = ScheduleExpr::parse(expression)
            .expect_err(expression)
            .to_string();
        for needle in needles {
            assert!(err.contains(needle), "{expression}: {err}");
        }
    }
}
