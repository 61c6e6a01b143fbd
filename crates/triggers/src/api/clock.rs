//! The clock, drain and schedules: `/_sandbox/clock`, `/drain`, `/schedules`.

use std::time::Duration;

use sandbox_ops::clock::MoveClock;
use sandbox_ops::control::decode;

use crate::control::{ok, Answer, Call, Reply};
use crate::{ControlError, Triggers};

const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
const MOVE_USAGE: &str = r#"send {"advance": "1h"} or {"set": "2030-01-01T00:00:00Z"}"#;

pub(crate) fn show(triggers: &Triggers, _: &Call) -> Answer {
    ok(triggers.clock())
}

pub(crate) fn move_clock(triggers: &Triggers, call: &Call) -> Answer {
    let request: MoveClock = decode(call.body, MOVE_USAGE)?;
    match (request.advance, request.set) {
        (Some(by), None) => ok(triggers.advance(&by)?),
        (None, Some(to)) => ok(triggers.set(&to)?),
        (Some(_), Some(_)) => Err(ControlError::bad_request(format!(
            "give `advance` or `set`, not both; {MOVE_USAGE}"
        ))),
        (None, None) => Err(ControlError::bad_request(MOVE_USAGE)),
    }
}

/// Waits until nothing runs and nothing is due; 408 (the request timed out waiting) with
/// what is still pending otherwise.
pub(crate) fn drain<'a>(
    triggers: &'a Triggers,
    call: &'a Call<'a>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Answer> + Send + 'a>> {
    Box::pin(async move {
        let timeout = match call.query.get("timeout") {
            None => DEFAULT_DRAIN_TIMEOUT,
            Some(text) => sandbox_services::parse_duration(text)
                .ok()
                .and_then(|d| d.to_std().ok())
                .ok_or_else(|| {
                    ControlError::bad_request(format!(
                        "timeout `{text}` is not a duration such as 10s or 500ms"
                    ))
                })?,
        };
        let report = triggers.drain(timeout).await;
        let status = if report.drained { 200 } else { 408 };
        let body = serde_json::to_value(report).unwrap_or_default();
        Ok(Reply { status, body })
    })
}

pub(crate) fn schedules(triggers: &Triggers, _: &Call) -> Answer {
    ok(serde_json::json!({ "schedules": triggers.schedules().list() }))
}

pub(crate) fn invoke_schedule<'a>(
    triggers: &'a Triggers,
    call: &'a Call<'a>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Answer> + Send + 'a>> {
    Box::pin(async move { ok(triggers.schedules().invoke(call.param(0)).await?) })
}
