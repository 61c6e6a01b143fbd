//! The web dashboard: `GET /_sandbox/ui` (one page, its script and style embedded in the
//! binary, so it works offline and needs no CDN) and `GET /_sandbox/events`, the
//! server-sent events that tell an open page to look again.
//!
//! The page holds no second copy of any operation: it reads and acts through the same
//! `/_sandbox/*` JSON endpoints as scripts and tests (status, invocations, queues, topics,
//! buses, streams, schedules, clock, drain, alarms). So it goes through the same access
//! rules ([`Policy::admit_control`](crate::Policy)): its own requests are same-origin and
//! send JSON bodies, which the rules let through, and a Content-Security-Policy keeps the
//! page to its own script, style and origin.

mod events;

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{Either, Full};
use sandbox_ops::control::{method_not_allowed, Endpoint};

pub(crate) use events::{EventStream, Live};

use crate::Shared;

/// What the server answers: a whole body, or the dashboard's event stream.
pub(crate) type Body = Either<Full<Bytes>, EventStream>;

const UI: Endpoint = Endpoint::new("GET", "/_sandbox/ui", "");
const ASSET: Endpoint = Endpoint::new("GET", "/_sandbox/ui/{asset}", "");
const EVENTS: Endpoint = Endpoint::new("GET", "/_sandbox/events", "");

/// The dashboard's endpoints, for the 404 listing.
pub(crate) const ENDPOINTS: [Endpoint; 3] = [UI, ASSET, EVENTS];

/// The page may load only its own script and style, talk only to its own origin, and
/// never be framed (so no other site can overlay and click its buttons).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The embedded files: name, content type, bytes.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
];

/// Answers a dashboard request, or `None` when the path is not the dashboard's.
pub(crate) fn answer<B>(shared: &Arc<Shared>, req: &Request<B>) -> Option<Response<Body>> {
    let path = req.uri().path().trim_end_matches('/');
    let asset = if UI.params(path).is_some() {
        Some("index.html")
    } else if let Some(params) = ASSET.params(path) {
        Some(params[0])
    } else if EVENTS.params(path).is_some() {
        None
    } else {
        return None;
    };
    let (parts, ()) = clone_head(req).into_parts();
    if let Err((status, refusal)) = shared.policy.admit_control(&parts) {
        tracing::warn!(target: "sandbox::control", "{} {path} refused: {refusal}", parts.method);
        return Some(json(status, serde_json::json!({ "error": refusal })));
    }
    if parts.method != Method::GET && parts.method != Method::HEAD {
        let (status, body) = method_not_allowed(parts.method.as_str(), path, &["GET"]);
        let mut response = json(
            StatusCode::from_u16(status).unwrap_or(StatusCode::METHOD_NOT_ALLOWED),
            body,
        );
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("GET"));
        return Some(response);
    }
    Some(match asset {
        Some(name) => file(name),
        None if parts.method == Method::HEAD => {
            let mut response = Response::new(Either::Left(Full::new(Bytes::new())));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(events::CONTENT_TYPE));
            response
        }
        None => events::stream(shared),
    })
}

/// The request's method, URI and headers (what the access rules read), without its body.
fn clone_head<B>(req: &Request<B>) -> Request<()> {
    let mut head = Request::new(());
    *head.method_mut() = req.method().clone();
    *head.uri_mut() = req.uri().clone();
    *head.version_mut() = req.version();
    *head.headers_mut() = req.headers().clone();
    head
}

fn file(name: &str) -> Response<Body> {
    let Some((_, content_type, text)) = ASSETS.iter().find(|(file, _, _)| *file == name) else {
        let known: Vec<&str> = ASSETS.iter().map(|(file, _, _)| *file).collect();
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({
                "error": format!("the dashboard has no file `{name}`; it has {}", known.join(", "))
            }),
        );
    };
    let mut response = Response::new(Either::Left(Full::new(Bytes::from_static(text.as_bytes()))));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    // Embedded in the binary: a new sandbox may bring a new page.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn json(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(
        serde_json::to_vec(&value).unwrap_or_default(),
    ))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_page_names_is_embedded() {
        let (_, _, page) = ASSETS[0];
        for (name, _, _) in &ASSETS[1..] {
            assert!(
                page.contains(&format!("/_sandbox/ui/{name}")),
                "index.html does not load {name}"
            );
        }
        let (_, _, script) = ASSETS[1];
        assert!(script.contains("/_sandbox/events"));
    }

    #[test]
    fn pages_carry_the_security_headers() {
        let response = file("index.html");
        let headers = response.headers();
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(file("nope.js").status(), StatusCode::NOT_FOUND);
    }
}
