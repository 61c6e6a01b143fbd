//! The `/_sandbox/...` control API: what the server itself knows (status, recent
//! invocations) plus whatever a [`ControlPlane`] provided by the CLI handles (clock,
//! drain, schedules, later queues and the rest).
//!
//! Every answer is JSON; errors are `{"error": "..."}` so a script (or the test
//! harness) never has to parse text.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Method, StatusCode};
use sandbox_app::App;
use serde_json::{json, Value};

/// Where the control API lives.
pub const PREFIX: &str = "/_sandbox";

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;

/// Endpoints the server answers itself.
const OWN_ENDPOINTS: [&str; 2] = [
    "GET /_sandbox/status",
    "GET /_sandbox/invocations?function=NAME&limit=N",
];

/// The boxed future [`ControlPlane::handle`] returns.
pub type ControlFuture<'a> = Pin<Box<dyn Future<Output = Option<(StatusCode, Value)>> + Send + 'a>>;

/// Extension point for `/_sandbox` endpoints owned by the CLI and the services.
pub trait ControlPlane: Send + Sync {
    /// Answers a control request, or `None` when the endpoint is not this plane's
    /// (the server then answers 404 listing the endpoints it knows). `path` is the
    /// full path (`/_sandbox/clock/advance`); `query` the raw query string.
    fn handle(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: Bytes,
    ) -> ControlFuture<'_>;

    /// The endpoints this plane answers, for the 404 listing (`"POST /_sandbox/clock"`).
    fn endpoints(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A control plane that answers nothing; for tests and for embedding the server
/// without the CLI's services.
pub struct NoControlPlane;

impl ControlPlane for NoControlPlane {
    fn handle(&self, _: &Method, _: &str, _: Option<&str>, _: Bytes) -> ControlFuture<'_> {
        Box::pin(async { None })
    }
}

/// Answers one control request.
pub async fn handle(
    app: &App,
    control: &dyn ControlPlane,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: Bytes,
) -> (StatusCode, Value) {
    let endpoint = path.trim_end_matches('/');
    match endpoint {
        "/_sandbox/status" => {
            only_get(method, endpoint).unwrap_or_else(|| (StatusCode::OK, app.status()))
        }
        "/_sandbox/invocations" => {
            only_get(method, endpoint).unwrap_or_else(|| invocations(app, query))
        }
        _ => match control.handle(method, path, query, body).await {
            Some(answer) => answer,
            None => not_found(control, method, path),
        },
    }
}

fn only_get(method: &Method, endpoint: &str) -> Option<(StatusCode, Value)> {
    (method != Method::GET).then(|| {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({ "error": format!("{method} is not allowed on {endpoint}; use GET"), "allow": ["GET"] }),
        )
    })
}

fn invocations(app: &App, query: Option<&str>) -> (StatusCode, Value) {
    let mut function: Option<String> = None;
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in query_pairs(query.unwrap_or("")) {
        match key.as_str() {
            "function" if !value.is_empty() => function = Some(value),
            "limit" => match value.parse::<usize>() {
                Ok(n) if n >= 1 => limit = n.min(MAX_LIMIT),
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "limit must be a whole number from 1 to {MAX_LIMIT}, got {value:?}"
                        ),
                    )
                }
            },
            _ => {}
        }
    }
    let resolved = match &function {
        None => None,
        Some(name) => match app.resolve(name) {
            Some(full) => Some(full.to_string()),
            None => {
                let known: Vec<&String> = app.functions().keys().collect();
                return (
                    StatusCode::NOT_FOUND,
                    json!({ "error": format!("no function named `{name}`"), "functions": known }),
                );
            }
        },
    };
    let records = app.invocations().recent(resolved.as_deref(), limit);
    match serde_json::to_value(records) {
        Ok(value) => (StatusCode::OK, value),
        Err(err) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot serialize invocations: {err}"),
        ),
    }
}

fn not_found(control: &dyn ControlPlane, method: &Method, path: &str) -> (StatusCode, Value) {
    let mut endpoints: Vec<String> = OWN_ENDPOINTS.iter().map(|e| e.to_string()).collect();
    endpoints.extend(control.endpoints());
    (
        StatusCode::NOT_FOUND,
        json!({ "error": format!("no such control endpoint: {method} {path}"), "endpoints": endpoints }),
    )
}

fn error(status: StatusCode, message: String) -> (StatusCode, Value) {
    (status, json!({ "error": message }))
}

/// Decoded `key=value` pairs of a query string.
fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key), decode(value))
    })
}

fn decode(part: &str) -> String {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_are_decoded() {
        let pairs: Vec<_> = query_pairs("function=http%2Fget-index&limit=5&&flag").collect();
        assert_eq!(
            pairs,
            [
                ("function".to_string(), "http/get-index".to_string()),
                ("limit".to_string(), "5".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn wrong_method_is_405() {
        let (status, body) = only_get(&Method::POST, "/_sandbox/status").unwrap();
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(body["error"].as_str().unwrap().contains("POST"));
        assert!(only_get(&Method::GET, "/_sandbox/status").is_none());
    }

    struct Clock;

    impl ControlPlane for Clock {
        fn handle(
            &self,
            method: &Method,
            path: &str,
            _: Option<&str>,
            body: Bytes,
        ) -> ControlFuture<'_> {
            let mine = *method == Method::POST && path == "/_sandbox/clock";
            Box::pin(async move {
                mine.then(|| {
                    (
                        StatusCode::OK,
                        json!({ "echo": String::from_utf8_lossy(&body) }),
                    )
                })
            })
        }

        fn endpoints(&self) -> Vec<String> {
            vec!["POST /_sandbox/clock".to_string()]
        }
    }

    #[tokio::test]
    async fn control_plane_answers_or_404_lists_endpoints() {
        let answer = Clock
            .handle(
                &Method::POST,
                "/_sandbox/clock",
                None,
                Bytes::from_static(b"x"),
            )
            .await;
        assert_eq!(answer, Some((StatusCode::OK, json!({"echo": "x"}))));
        let (status, body) = not_found(&Clock, &Method::GET, "/_sandbox/nope");
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body["error"],
            json!("no such control endpoint: GET /_sandbox/nope")
        );
        let endpoints = body["endpoints"].as_array().unwrap();
        assert!(endpoints.contains(&json!("POST /_sandbox/clock")));
        assert!(endpoints.contains(&json!("GET /_sandbox/status")));
    }
}
