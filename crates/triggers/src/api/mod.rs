//! What each control route and host call does: decode the typed operation from
//! `sandbox-ops`, call the service, answer its typed result. One module per service;
//! the routes that reach them are the table in [`crate::control`], the host calls the
//! table in [`crate::host`].

pub(crate) mod alarms;
pub(crate) mod buses;
pub(crate) mod clock;
#[cfg(test)]
mod properties;
pub(crate) mod queues;
pub(crate) mod remote;
pub(crate) mod streams;
pub(crate) mod topics;

use chrono::{DateTime, TimeZone, Utc};
use sandbox_ops::text::TimeInput;

use crate::ControlError;

/// A time as clients send it (RFC 3339 or epoch seconds); `what` names the field.
pub(crate) fn time(input: &TimeInput, what: &str) -> Result<DateTime<Utc>, ControlError> {
    match input {
        TimeInput::Text(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                ControlError::bad_request(format!("{what} `{text}` is not an RFC 3339 time ({e})"))
            }),
        TimeInput::EpochSeconds(seconds) => epoch_seconds(*seconds).ok_or_else(|| {
            ControlError::bad_request(format!("{what} {seconds} is not a time in epoch seconds"))
        }),
    }
}

/// Epoch seconds with their milliseconds, as AWS's APIs send times.
pub(crate) fn epoch_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() {
        return None;
    }
    Utc.timestamp_millis_opt((seconds * 1000.0).round() as i64)
        .single()
}
