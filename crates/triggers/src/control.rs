//! The control endpoints the triggers own, as plain request → (status, JSON) routing,
//! so they are testable without a server:
//!
//! | method | path | body / query |
//! |---|---|---|
//! | GET  | `/_sandbox/clock` | |
//! | POST | `/_sandbox/clock` | `{"advance": "1h"}` or `{"set": "2030-01-01T00:00:00Z"}` |
//! | POST | `/_sandbox/drain` | `?timeout=10s` (default 10 s) |
//! | GET  | `/_sandbox/schedules` | |
//! | POST | `/_sandbox/schedules/{name}/invoke` | |
//! | GET  | `/_sandbox/queues` | |
//! | POST | `/_sandbox/queues/{name}/messages` | `{"body", "delaySeconds"?, "groupId"?, "deduplicationId"?, "attributes"?}` |
//! | GET  | `/_sandbox/queues/{name}/messages` | (peek: changes nothing) |
//! | DELETE | `/_sandbox/queues/{name}/messages` | (purge) |
//! | POST | `/_sandbox/queues/{name}/redrive` | (dead-letter queue back to its sources) |

use std::time::Duration;

use serde_json::{json, Value};

use crate::{ControlError, Triggers};

pub const ENDPOINTS: [&str; 10] = [
    "GET /_sandbox/clock",
    "POST /_sandbox/clock {\"advance\":\"1h\"} | {\"set\":\"2030-01-01T00:00:00Z\"}",
    "POST /_sandbox/drain?timeout=10s",
    "GET /_sandbox/schedules",
    "POST /_sandbox/schedules/{name}/invoke",
    "GET /_sandbox/queues",
    "POST /_sandbox/queues/{name}/messages {\"body\":\"...\"}",
    "GET /_sandbox/queues/{name}/messages",
    "DELETE /_sandbox/queues/{name}/messages",
    "POST /_sandbox/queues/{name}/redrive",
];

const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers a control request, or `None` when the path is not one of ours.
pub async fn route(
    triggers: &Triggers,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Option<(u16, Value)> {
    let path = path.trim_end_matches('/');
    let result = match (method, path) {
        ("GET", "/_sandbox/clock") => Ok(json!(triggers.clock())),
        ("POST", "/_sandbox/clock") => move_clock(triggers, body),
        ("POST", "/_sandbox/drain") => return Some(drain(triggers, query).await),
        ("GET", "/_sandbox/schedules") => Ok(json!({ "schedules": triggers.schedules().list() })),
        ("GET", "/_sandbox/queues") => Ok(triggers.queues().list()),
        (_, "/_sandbox/clock" | "/_sandbox/drain" | "/_sandbox/schedules" | "/_sandbox/queues") => {
            Err(ControlError {
                status: 405,
                message: format!("{method} is not allowed on {path}"),
            })
        }
        _ if path.starts_with("/_sandbox/queues/") => queues(triggers, method, path, body)?,
        _ if path.starts_with("/_sandbox/topics") => {
            crate::topics::route(triggers, method, path, query, body).await?
        }
        _ if path.starts_with("/_sandbox/buses") => {
            crate::buses::route(triggers, method, path, query, body).await?
        }
        _ if path.starts_with("/_sandbox/streams") => {
            crate::streams::route(triggers, method, path, query, body).await?
        }
        _ => {
            let name = path
                .strip_prefix("/_sandbox/schedules/")?
                .strip_suffix("/invoke")?;
            if method != "POST" {
                Err(ControlError {
                    status: 405,
                    message: format!("{method} is not allowed on {path}; use POST"),
                })
            } else {
                triggers.schedules().invoke(name).await
            }
        }
    };
    Some(match result {
        Ok(value) => (200, value),
        Err(e) => (e.status, json!({ "error": e.message })),
    })
}

/// `/_sandbox/queues/{name}/messages` and `/_sandbox/queues/{name}/redrive`.
fn queues(
    triggers: &Triggers,
    method: &str,
    path: &str,
    body: &[u8],
) -> Option<Result<Value, ControlError>> {
    let rest = path.strip_prefix("/_sandbox/queues/")?;
    let (name, action) = rest.split_once('/')?;
    let service = triggers.queues();
    Some(match (method, action) {
        ("POST", "messages") => serde_json::from_slice::<Value>(body)
            .map_err(|e| {
                ControlError::bad_request(format!(
                    "body is not JSON ({e}); send {{\"body\": \"...\"}}"
                ))
            })
            .and_then(|request| crate::queues::parse_send(&request, "sandbox-control-api"))
            .and_then(|request| service.send(name, request))
            .map(|receipt| crate::queues::receipt_json(&receipt)),
        ("GET", "messages") => service.peek(name),
        ("DELETE", "messages") => service.purge(name),
        ("POST", "redrive") => service.redrive(name),
        (_, "messages" | "redrive") => Err(ControlError {
            status: 405,
            message: format!("{method} is not allowed on {path}"),
        }),
        _ => return None,
    })
}

fn move_clock(triggers: &Triggers, body: &[u8]) -> Result<Value, ControlError> {
    let usage = "send {\"advance\": \"1h\"} or {\"set\": \"2030-01-01T00:00:00Z\"}";
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| ControlError::bad_request(format!("body is not JSON ({e}); {usage}")))?;
    let field = |name: &str| {
        body.get(name).map(|v| {
            v.as_str().ok_or_else(|| {
                ControlError::bad_request(format!("`{name}` must be a string; {usage}"))
            })
        })
    };
    match (field("advance"), field("set")) {
        (Some(by), None) => Ok(json!(triggers.advance(by?)?)),
        (None, Some(to)) => Ok(json!(triggers.set(to?)?)),
        (Some(_), Some(_)) => Err(ControlError::bad_request(format!(
            "give `advance` or `set`, not both; {usage}"
        ))),
        (None, None) => Err(ControlError::bad_request(usage)),
    }
}

async fn drain(triggers: &Triggers, query: Option<&str>) -> (u16, Value) {
    let timeout = match query_param(query, "timeout") {
        None => DEFAULT_DRAIN_TIMEOUT,
        Some(text) => match sandbox_services::parse_duration(&text)
            .ok()
            .and_then(|d| d.to_std().ok())
        {
            Some(timeout) => timeout,
            None => {
                return (
                    400,
                    json!({ "error": format!("timeout `{text}` is not a duration such as 10s or 500ms") }),
                )
            }
        },
    };
    let report = triggers.drain(timeout).await;
    // 408: the request timed out waiting; the body says what is still pending.
    (if report.drained { 200 } else { 408 }, json!(report))
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::query_param;

    #[test]
    fn reads_query_parameters() {
        assert_eq!(
            query_param(Some("timeout=5s&x=1"), "timeout").as_deref(),
            Some("5s")
        );
        assert_eq!(query_param(Some("x=1"), "timeout"), None);
        assert_eq!(query_param(None, "timeout"), None);
    }
}
