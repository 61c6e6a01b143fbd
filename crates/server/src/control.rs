//! The `/_sandbox/...` control API: the two endpoints the server answers itself (status,
//! recent invocations) in the same kind of table as the [`ControlPlane`]'s (clock, drain,
//! and every service, from `sandbox-triggers`). Rows, query strings, 404 and 405 answers
//! come from `sandbox_ops::control`, so every endpoint behaves alike.
//!
//! Every answer is JSON; errors are `{"error": "..."}` so a script (or the test
//! harness) never has to parse text. The one exception is text meant for another
//! program, with its own content type ([`ControlBody::Text`]: the Prometheus metrics).

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Method, StatusCode};
use sandbox_app::App;
pub use sandbox_ops::control::PREFIX;
use sandbox_ops::control::{method_not_allowed, Endpoint, Query};
use serde_json::{json, Value};

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;

const STATUS: Endpoint = Endpoint::new("GET", "/_sandbox/status", "");
const INVOCATIONS: Endpoint =
    Endpoint::new("GET", "/_sandbox/invocations", "?function=NAME&limit=N");

/// Endpoints the server answers itself.
const OWN_ENDPOINTS: [Endpoint; 2] = [STATUS, INVOCATIONS];

/// The boxed future [`ControlPlane::handle`] returns.
pub type ControlFuture<'a> =
    Pin<Box<dyn Future<Output = Option<(StatusCode, ControlBody)>> + Send + 'a>>;

/// A control answer's body: JSON, or text with its content type.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlBody {
    Json(Value),
    Text {
        content_type: &'static str,
        text: String,
    },
}

impl From<Value> for ControlBody {
    fn from(value: Value) -> Self {
        ControlBody::Json(value)
    }
}

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

    /// The endpoints this plane answers, for the 404 listing.
    fn endpoints(&self) -> Vec<Endpoint> {
        Vec::new()
    }

    /// A number that grows whenever the plane's state may have changed; the dashboard's
    /// event stream tells its page to look again when it moves.
    fn changes(&self) -> u64 {
        0
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
) -> (StatusCode, ControlBody) {
    let endpoint = path.trim_end_matches('/');
    for own in OWN_ENDPOINTS {
        if own.params(endpoint).is_some() {
            // `curl -I`: a HEAD is answered as the GET (hyper sends no body).
            let (code, value) = if method.as_str() != own.method && *method != Method::HEAD {
                status(method_not_allowed(method.as_str(), endpoint, &[own.method]))
            } else if own == STATUS {
                (StatusCode::OK, app.status())
            } else {
                invocations(app, &Query::parse(query))
            };
            return (code, value.into());
        }
    }
    match control.handle(method, path, query, body).await {
        Some(answer) => answer,
        None => {
            let (code, value) = not_found(control, method, path);
            (code, value.into())
        }
    }
}

fn status((code, body): (u16, Value)) -> (StatusCode, Value) {
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
}

fn invocations(app: &App, query: &Query) -> (StatusCode, Value) {
    let function = query.get("function").filter(|f| !f.is_empty());
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(value) => match value.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_LIMIT),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}, got {value:?}"),
                )
            }
        },
    };
    let resolved = match function {
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
    let plane = control.endpoints();
    status(sandbox_ops::control::not_found(
        method.as_str(),
        path,
        OWN_ENDPOINTS
            .iter()
            .chain(&crate::dashboard::ENDPOINTS)
            .chain(&plane),
    ))
}

fn error(status: StatusCode, message: String) -> (StatusCode, Value) {
    (status, json!({ "error": message }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_method_is_405() {
        let (code, body) = status(method_not_allowed("POST", "/_sandbox/status", &["GET"]));
        assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
        assert!(body["error"].as_str().unwrap().contains("POST"));
        assert_eq!(body["allow"], json!(["GET"]));
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
                        json!({ "echo": String::from_utf8_lossy(&body) }).into(),
                    )
                })
            })
        }

        fn endpoints(&self) -> Vec<Endpoint> {
            vec![Endpoint::new("POST", "/_sandbox/clock", "")]
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
        assert_eq!(answer, Some((StatusCode::OK, json!({"echo": "x"}).into())));
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
