//! One HTTP request, start to finish: control API or user route; body limit; route
//! match; API Gateway event; `App::invoke`; the handler's output mapped back to HTTP;
//! static files and API Gateway's error bodies for everything else.
//!
//! Each request works on the `App` that was current when it arrived, so a hot reload
//! in the middle never changes the code a running request uses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::request::Parts;
use http::{Method, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use sandbox_app::{App, InvokeError, Trigger};

use crate::apigw::{request, response};
use crate::aws::{self, AwsPlane, AwsRequest};
use crate::control;
use crate::static_files;
use crate::Shared;

/// API Gateway's payload limit (and Lambda's): 6 MB.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// Where a connection comes from and arrived at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Connection {
    pub peer: SocketAddr,
    pub local_port: u16,
}

pub(crate) type HttpResponse = Response<Full<Bytes>>;

pub(crate) async fn handle(
    shared: &Shared,
    connection: Connection,
    req: http::Request<Incoming>,
) -> HttpResponse {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    if path
        .strip_prefix(control::PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    {
        return control_request(shared, &parts, body).await;
    }
    if let Some(plane) = shared.aws.as_ref().filter(|_| aws::is_aws(&parts)) {
        return aws_request(shared, plane.as_ref(), parts, body).await;
    }

    let app = shared.cell.load_full();
    let router = shared.router_for(&app);
    // `curl -I` on a GET route: answered as the GET (hyper sends no body for HEAD).
    let matched = router.find(&parts.method, path).or_else(|| {
        (parts.method == Method::HEAD)
            .then(|| router.find(&Method::GET, path))
            .flatten()
    });
    let event_method = match &matched {
        Some(m) if parts.method == Method::HEAD && m.route.route_key().starts_with("GET ") => "GET",
        _ => parts.method.as_str(),
    };
    let Some(matched) = matched else {
        let response = fallback(&app, &parts).await;
        log(
            &parts,
            &response,
            started,
            if response.status().is_success() {
                "static"
            } else {
                "-"
            },
        );
        return response;
    };
    let function = matched.route.function();

    let request_id = uuid::Uuid::new_v4().to_string();
    let body = match read_body(&parts, body).await {
        Ok(body) => body,
        Err(response) => {
            let response = with_request_id(response, &request_id);
            log(&parts, &response, started, function);
            return response;
        }
    };

    let event = request::build_event(&request::EventInput {
        method: event_method,
        raw_path: path,
        raw_query: parts.uri.query().unwrap_or(""),
        protocol: protocol(parts.version),
        headers: &parts.headers,
        host: host(&parts),
        body: &body,
        source_ip: connection.peer.ip(),
        local_port: connection.local_port,
        route_key: matched.route.route_key(),
        path_params: &matched.params,
        request_id: &request_id,
        now: chrono::Utc::now(),
    });
    drop(body);

    let mapped = match app
        .invoke(function, Trigger::Http, Some(request_id.clone()), event)
        .await
    {
        Ok(invoked) => {
            let mapped = invoked.output.and_then(|output| {
                // The runtime saw a clean exit; only API Gateway's rules can tell the
                // output is unusable, so the invocation's record is corrected here.
                response::map_output(output).inspect_err(|failure| {
                    app.invocations().amend(&request_id, failure);
                })
            });
            // Final now: metrics and alarms count it as it ended, amended or not.
            app.invocations().settle(function, &request_id);
            // The function ran and failed, or answered garbage: API Gateway's 502.
            mapped.map_err(|failure| (StatusCode::BAD_GATEWAY, failure.to_string()))
        }
        // The function could not be invoked at all: API Gateway answers 500.
        Err(err @ (InvokeError::NotLoaded { .. } | InvokeError::Unknown { .. })) => {
            Err((StatusCode::INTERNAL_SERVER_ERROR, err.to_string()))
        }
    };
    let response = match mapped {
        Ok(response) => response.map(Full::new),
        Err((status, failure)) => {
            tracing::warn!(
                target: "sandbox::http",
                function,
                request_id = %request_id,
                "{function} failed ({request_id}): {failure}"
            );
            internal_error(status, &request_id)
        }
    };
    let response = with_request_id(response, &request_id);
    log(&parts, &response, started, function);
    response
}

/// Reads the whole request body, refusing more than API Gateway would accept: by
/// `Content-Length` before reading a byte, and by counting for chunked bodies.
async fn read_body(parts: &Parts, body: Incoming) -> Result<Bytes, HttpResponse> {
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(message(StatusCode::BAD_REQUEST, "Bad Request")),
    }
}

/// No route matched: the static folder for GET and HEAD, else API Gateway's 404.
async fn fallback(app: &App, parts: &Parts) -> HttpResponse {
    if parts.method == Method::GET || parts.method == Method::HEAD {
        let manifest = app.manifest();
        if let Some(dir) = &manifest.static_dir {
            let dir = manifest.root.join(dir);
            if let Some(response) = static_files::lookup(&dir, parts.uri.path()).await {
                return response.map(Full::new);
            }
        }
    }
    message(StatusCode::NOT_FOUND, "Not Found")
}

/// An AWS API call: the same Host and Origin rules as the control API (it changes the
/// same state), then the plane answers in the call's own protocol.
async fn aws_request(
    shared: &Shared,
    plane: &dyn AwsPlane,
    parts: Parts,
    body: Incoming,
) -> HttpResponse {
    if let Err((status, refusal)) = shared.policy.admit_control(&parts) {
        tracing::warn!(target: "sandbox::aws", "{} {} refused: {refusal}", parts.method, parts.uri.path());
        return json_response(
            status,
            serde_json::to_vec(&serde_json::json!({ "message": refusal })).unwrap_or_default(),
        );
    }
    let body = match read_body(&parts, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let request = AwsRequest {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body,
    };
    let response = plane.handle(request).await.map(Full::new);
    shared.live.touched();
    response
}

async fn control_request(shared: &Shared, parts: &Parts, body: Incoming) -> HttpResponse {
    if let Err((status, refusal)) = shared.policy.admit_control(parts) {
        tracing::warn!(target: "sandbox::control", "{} {} refused: {refusal}", parts.method, parts.uri.path());
        return json_response(
            status,
            serde_json::to_vec(&serde_json::json!({ "error": refusal })).unwrap_or_default(),
        );
    }
    let body = match read_body(parts, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let app: Arc<App> = shared.cell.load_full();
    let (status, body) = control::handle(
        &app,
        shared.control.as_ref(),
        &parts.method,
        parts.uri.path(),
        parts.uri.query(),
        body,
    )
    .await;
    tracing::debug!(target: "sandbox::control", "{} {} {}", parts.method, parts.uri, status.as_u16());
    if parts.method != Method::GET && parts.method != Method::HEAD {
        shared.live.touched();
    }
    let value = match body {
        control::ControlBody::Json(value) => value,
        control::ControlBody::Text { content_type, text } => {
            return text_response(status, content_type, text)
        }
    };
    let mut response = json_response(
        status,
        serde_json::to_vec(&value).unwrap_or_else(|_| b"null".to_vec()),
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow: Vec<&str> = value["allow"]
            .as_array()
            .map(|methods| methods.iter().filter_map(|m| m.as_str()).collect())
            .unwrap_or_default();
        if let Ok(allow) = HeaderValue::from_str(&allow.join(", ")) {
            response.headers_mut().insert(http::header::ALLOW, allow);
        }
    }
    response
}

fn log(parts: &Parts, response: &HttpResponse, started: Instant, function: &str) {
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "sandbox::http",
        "{} {} {} {duration_ms:.1}ms {function}",
        parts.method,
        parts.uri.path(),
        response.status().as_u16()
    );
}

fn with_request_id(mut response: HttpResponse, request_id: &str) -> HttpResponse {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("apigw-requestid", value);
    }
    response
}

/// API Gateway's body for a failed integration, plus the request id to find the logs.
fn internal_error(status: StatusCode, request_id: &str) -> HttpResponse {
    let body = serde_json::to_vec(&serde_json::json!({
        "message": "Internal Server Error",
        "requestId": request_id,
    }))
    .unwrap_or_default();
    json_response(status, body)
}

fn too_large() -> HttpResponse {
    message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
}

/// API Gateway's own error shape: `{"message":"..."}`.
fn message(status: StatusCode, text: &'static str) -> HttpResponse {
    json_response(status, format!("{{\"message\":\"{text}\"}}").into_bytes())
}

fn json_response(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A control answer that is text for another program (the Prometheus metrics).
fn text_response(status: StatusCode, content_type: &'static str, text: String) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// The host the client asked for; HTTP/1.0 clients may omit it.
fn host(parts: &Parts) -> &str {
    parts
        .headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost")
}
