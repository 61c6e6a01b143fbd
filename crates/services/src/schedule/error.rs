//! Why a schedule could not be loaded. Each message names what is wrong and how to fix it,
//! because it ends up in front of a person reading `sandbox start` output.

/// A schedule expression, time zone or schedule list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "`{expression}` is not a schedule expression; write rate(5 minutes) or cron(0 12 * * ? *)"
    )]
    Unrecognized { expression: String },
    #[error("`{expression}`: {problem}")]
    Rate { expression: String, problem: String },
    #[error("`{expression}`: {problem}")]
    Cron { expression: String, problem: String },
    #[error("`{expression}`: {field} field `{value}`: {problem}")]
    CronField {
        expression: String,
        field: &'static str,
        value: String,
        problem: String,
    },
    #[error("unknown time zone `{zone}`; use an IANA name such as UTC, Europe/Paris or America/New_York")]
    UnknownTimeZone { zone: String },
    #[error("schedule `{name}` is defined more than once; give each schedule its own name")]
    Duplicate { name: String },
    /// Another error, for the named schedule. The inner error is part of the message
    /// (not a `source`) so it is printed once.
    #[error("schedule `{schedule}`: {error}")]
    InSchedule {
        schedule: String,
        error: Box<ScheduleError>,
    },
}
