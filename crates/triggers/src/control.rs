//! The `/_sandbox` control API of the clock, drain and every service: ONE router table.
//!
//! Each row names its method, path and what it takes, and the function in [`crate::api`]
//! that answers it. The same table matches requests, answers 405 for a known path under
//! another method, and is the endpoint list of the 404 answer, so the listing can never
//! leave a route out. The server adds its own two rows (`/status`, `/invocations`) and
//! forwards everything else under the prefix here.
//!
//! Handlers decode bodies into the typed operations of `sandbox-ops` and call the
//! services; a new front end (the AWS protocols, a dashboard) calls the same services.

use std::future::Future;
use std::pin::Pin;

use sandbox_ops::control::{method_not_allowed, Endpoint, Query};
use serde::Serialize;
use serde_json::Value;

use crate::api::{alarms, buses, clock, queues, remote, streams, topics};
use crate::{ControlError, Triggers};

/// A matched request: the path's parameters in order, the decoded query, the body.
pub struct Call<'a> {
    pub params: Vec<&'a str>,
    pub query: Query,
    pub body: &'a [u8],
}

impl Call<'_> {
    /// The `i`th path parameter (the table guarantees it is there).
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).copied().unwrap_or_default()
    }
}

/// A status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

pub type Answer = Result<Reply, ControlError>;

/// What a route answers: JSON (nearly every row), or text with its content type
/// (`GET /_sandbox/metrics`, whose reader is Prometheus, not a script).
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Json(Value),
    Text {
        content_type: &'static str,
        text: String,
    },
}

/// A 200 with `value` as its body.
pub fn ok(value: impl Serialize) -> Answer {
    serde_json::to_value(value)
        .map(|body| Reply { status: 200, body })
        .map_err(|e| ControlError {
            status: 500,
            message: format!("cannot serialize the answer: {e}"),
        })
}

type Later<'a> = Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

/// How a row is answered: at once, or after waiting (drain, invoking a handler).
#[derive(Clone, Copy)]
pub enum Handler {
    Now(fn(&Triggers, &Call) -> Answer),
    Later(for<'a> fn(&'a Triggers, &'a Call<'a>) -> Later<'a>),
    /// A text answer: its content type and the text.
    Text(fn(&Triggers, &Call) -> (&'static str, String)),
}

/// One row of the table.
pub struct Route {
    pub endpoint: Endpoint,
    pub handler: Handler,
}

const fn now(
    method: &'static str,
    path: &'static str,
    takes: &'static str,
    f: fn(&Triggers, &Call) -> Answer,
) -> Route {
    Route {
        endpoint: Endpoint::new(method, path, takes),
        handler: Handler::Now(f),
    }
}

const fn later(
    method: &'static str,
    path: &'static str,
    takes: &'static str,
    f: for<'a> fn(&'a Triggers, &'a Call<'a>) -> Later<'a>,
) -> Route {
    Route {
        endpoint: Endpoint::new(method, path, takes),
        handler: Handler::Later(f),
    }
}

const fn text(
    method: &'static str,
    path: &'static str,
    f: fn(&Triggers, &Call) -> (&'static str, String),
) -> Route {
    Route {
        endpoint: Endpoint::new(method, path, ""),
        handler: Handler::Text(f),
    }
}

/// Every control endpoint the triggers answer.
pub static ROUTES: &[Route] = &[
    now("GET", "/_sandbox/clock", "", clock::show),
    now(
        "POST",
        "/_sandbox/clock",
        r#"{"advance":"1h"} | {"set":"2030-01-01T00:00:00Z"}"#,
        clock::move_clock,
    ),
    later("POST", "/_sandbox/drain", "?timeout=10s", clock::drain),
    now("GET", "/_sandbox/schedules", "", clock::schedules),
    later(
        "POST",
        "/_sandbox/schedules/{name}/invoke",
        "",
        clock::invoke_schedule,
    ),
    now("GET", "/_sandbox/queues", "", queues::list),
    now(
        "POST",
        "/_sandbox/queues/{name}/messages",
        r#"{"body":"...","delaySeconds"?,"groupId"?,"deduplicationId"?,"attributes"?}"#,
        queues::send,
    ),
    now("GET", "/_sandbox/queues/{name}/messages", "", queues::peek),
    now(
        "DELETE",
        "/_sandbox/queues/{name}/messages",
        "",
        queues::purge,
    ),
    now(
        "POST",
        "/_sandbox/queues/{name}/redrive",
        "",
        queues::redrive,
    ),
    now("GET", "/_sandbox/topics", "", topics::list),
    now("GET", "/_sandbox/topics/{name}", "", topics::get),
    now(
        "POST",
        "/_sandbox/topics/{name}/messages",
        r#"{"message":"...","subject"?,"attributes"?,"groupId"?,"deduplicationId"?}"#,
        topics::publish,
    ),
    now("GET", "/_sandbox/buses", "", buses::list),
    now("GET", "/_sandbox/buses/{name}", "", buses::get),
    now(
        "POST",
        "/_sandbox/buses/{name}/events",
        r#"{"entries":[{"Source","DetailType","Detail"}]}"#,
        buses::put_events,
    ),
    now(
        "GET",
        "/_sandbox/buses/{name}/archives",
        "",
        buses::archives,
    ),
    now(
        "GET",
        "/_sandbox/buses/{name}/archives/{archive}/events",
        "",
        buses::archived_events,
    ),
    now(
        "POST",
        "/_sandbox/buses/{name}/replays",
        r#"{"name","archive","from","to","rules"?}"#,
        buses::start_replay,
    ),
    now(
        "GET",
        "/_sandbox/buses/{name}/replays/{replay}",
        "",
        buses::describe_replay,
    ),
    now("GET", "/_sandbox/streams", "", streams::list),
    now("GET", "/_sandbox/streams/{name}", "", streams::describe),
    now(
        "POST",
        "/_sandbox/streams/{name}/records",
        r#"{"partitionKey":"k","data":"<base64>"} | {"records":[...]}"#,
        streams::put,
    ),
    now(
        "GET",
        "/_sandbox/streams/{name}/records",
        "?shard=shardId-000000000000",
        streams::records,
    ),
    now(
        "GET",
        "/_sandbox/streams/{name}/consumers/{consumer}",
        "",
        streams::consumer,
    ),
    now(
        "POST",
        "/_sandbox/streams/{name}/consumers/{consumer}/position",
        r#"{"position":"TRIM_HORIZON"|"LATEST"|"AT_TIMESTAMP"|"AT_SEQUENCE_NUMBER"}"#,
        streams::set_position,
    ),
    now("GET", "/_sandbox/alarms", "", alarms::list),
    text("GET", "/_sandbox/metrics", alarms::metrics),
    now("GET", "/_sandbox/remote", "", remote::list),
];

/// The endpoints of [`ROUTES`], for the 404 listing.
pub fn endpoints() -> impl Iterator<Item = &'static Endpoint> {
    ROUTES.iter().map(|route| &route.endpoint)
}

/// Answers a control request, or `None` when no row has this path (the server then
/// answers 404 with every endpoint).
pub async fn route(
    triggers: &Triggers,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Option<(u16, Body)> {
    let path = path.trim_end_matches('/');
    // `curl -I`: a HEAD is answered as the GET (the server sends no body).
    let method = if method == "HEAD" { "GET" } else { method };
    // Sends, publishes and puts to a resource that lives in AWS are answered there.
    if let Some((status, answer)) = triggers
        .remote()
        .and_then(|r| r.control(method, path, body))
    {
        return Some((status, Body::Json(answer)));
    }
    let mut allowed = Vec::new();
    for row in ROUTES {
        let Some(params) = row.endpoint.params(path) else {
            continue;
        };
        if row.endpoint.method != method {
            allowed.push(row.endpoint.method);
            continue;
        }
        let call = Call {
            params,
            query: Query::parse(query),
            body,
        };
        let answer = match row.handler {
            Handler::Now(f) => f(triggers, &call),
            Handler::Later(f) => f(triggers, &call).await,
            Handler::Text(f) => {
                let (content_type, text) = f(triggers, &call);
                return Some((200, Body::Text { content_type, text }));
            }
        };
        if method != "GET" {
            // Whatever it did, the dashboard looks again.
            triggers.changed();
        }
        return Some(match answer {
            Ok(reply) => (reply.status, Body::Json(reply.body)),
            Err(e) => (e.status, Body::Json(e.body())),
        });
    }
    (!allowed.is_empty()).then(|| {
        let (status, body) = method_not_allowed(method, path, &allowed);
        (status, Body::Json(body))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_rows_are_the_same_endpoint() {
        let mut seen = std::collections::HashSet::new();
        for e in endpoints() {
            assert!(
                seen.insert((e.method, e.path)),
                "{} {} twice",
                e.method,
                e.path
            );
            assert!(
                e.path.starts_with(sandbox_ops::control::PREFIX),
                "{}",
                e.path
            );
        }
    }
}
