//! End to end: HTTP routes served by the real binary, with API Gateway HTTP API
//! (payload 2.0) events in and API Gateway response mapping out.

use crate::common;

use base64::Engine as _;
use serde_json::{json, Value};
use std::io::{Read, Write};

/// The echo handlers answer with the event they received as the body.
fn event_of(response: &sandbox_testing::Response) -> Value {
    assert_eq!(response.status, 200, "body: {}", response.text());
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|_| panic!("not JSON: {}", response.text()))
}

#[test]
fn request_event_matches_api_gateway_payload_2() {
    let sandbox = common::start("http");
    let response = sandbox
        .request(
            "POST",
            "/echo?a=1&a=2&b=hello%20world",
            &[
                ("content-type", "application/json"),
                ("x-dup", "one"),
                ("x-dup", "two"),
                ("X-Mixed-Case", "v"),
                ("cookie", "c1=v1; c2=v2"),
                ("user-agent", "e2e-test"),
            ],
            br#"{"hello":"world"}"#,
        )
        .unwrap();
    let event = event_of(&response);
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "ANY /echo");
    assert_eq!(event["rawPath"], "/echo");
    assert_eq!(event["rawQueryString"], "a=1&a=2&b=hello%20world");
    assert_eq!(
        event["queryStringParameters"],
        json!({"a": "1,2", "b": "hello world"})
    );
    assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));
    assert_eq!(event["headers"]["x-dup"], "one,two");
    assert_eq!(event["headers"]["x-mixed-case"], "v");
    assert!(
        event["headers"].get("cookie").is_none(),
        "cookies are not repeated in headers"
    );
    assert!(
        event.get("pathParameters").is_none(),
        "omitted when the route has none"
    );
    assert_eq!(event["body"], r#"{"hello":"world"}"#);
    assert_eq!(event["isBase64Encoded"], false);
    let ctx = &event["requestContext"];
    assert_eq!(ctx["http"]["method"], "POST");
    assert_eq!(ctx["http"]["path"], "/echo");
    assert_eq!(ctx["http"]["protocol"], "HTTP/1.1");
    assert_eq!(ctx["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["http"]["userAgent"], "e2e-test");
    assert_eq!(ctx["routeKey"], "ANY /echo");
    assert_eq!(ctx["stage"], "$default");
    assert_eq!(ctx["accountId"], "123456789012");
    assert!(ctx["timeEpoch"].as_u64().unwrap() > 1_600_000_000_000);
    let time = ctx["time"].as_str().unwrap();
    assert!(
        time.ends_with(" +0000") && time.contains('/'),
        "API Gateway time format: {time}"
    );
    // The request id is shared by the event, the response header and the invocation log.
    let request_id = ctx["requestId"].as_str().unwrap();
    assert_eq!(response.header("apigw-requestid"), Some(request_id));
    let invocations = sandbox.invocations(Some("http/any-echo"), 5).unwrap();
    assert_eq!(invocations[0]["requestId"], request_id);
    assert_eq!(invocations[0]["outcome"], "success");
    assert_eq!(invocations[0]["trigger"], "http");

    // No query string, cookies or body: those keys are omitted, as AWS omits them.
    let event = event_of(&sandbox.get("/echo").unwrap());
    for absent in ["queryStringParameters", "cookies", "body", "pathParameters"] {
        assert!(
            event.get(absent).is_none(),
            "{absent} should be omitted: {event}"
        );
    }
    assert_eq!(event["rawQueryString"], "");
}

#[test]
fn binary_bodies_are_base64_in_the_event() {
    let sandbox = common::start("http");
    let bytes = [0u8, 159, 146, 150, 255];
    let response = sandbox
        .request(
            "PUT",
            "/echo",
            &[("content-type", "application/octet-stream")],
            &bytes,
        )
        .unwrap();
    let event = event_of(&response);
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(
        event["body"],
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
}

#[test]
fn path_parameters_and_catch_all() {
    let sandbox = common::start("http");
    let event = event_of(&sandbox.get("/echo/first/sec%20ond").unwrap());
    assert_eq!(event["routeKey"], "GET /echo/{a}/{b}");
    assert_eq!(
        event["pathParameters"],
        json!({"a": "first", "b": "sec ond"})
    );

    let event = event_of(&sandbox.get("/files/a/b/c.txt").unwrap());
    assert_eq!(event["routeKey"], "ANY /files/{proxy+}");
    assert_eq!(event["pathParameters"], json!({"proxy": "a/b/c.txt"}));
    assert_eq!(event["rawPath"], "/files/a/b/c.txt");
}

#[test]
fn response_mapping_follows_api_gateway() {
    let sandbox = common::start("http");

    // Cookies become one set-cookie header each; custom headers pass through.
    let response = sandbox.get("/cookies").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header_all("set-cookie").len(),
        2,
        "{:?}",
        response.headers
    );
    assert!(
        response.header("x-custom").is_some(),
        "{:?}",
        response.headers
    );

    // isBase64Encoded bodies are decoded to bytes.
    let response = sandbox.get("/binary").unwrap();
    assert_eq!(response.status, 200);
    assert!(!response.body.is_empty());
    assert_ne!(
        response.body.first(),
        Some(&b'"'),
        "body must be decoded, not the base64 text"
    );
    assert!(
        String::from_utf8(response.body.clone()).is_err()
            || response.header("content-type").is_some()
    );

    // A bare JSON value without statusCode is a 200 application/json body.
    let response = sandbox.get("/bare").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.json().unwrap(), json!({"hello": "world"}));

    let response = sandbox.get("/string").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));

    // The handler picks the status code.
    let response = sandbox.request("POST", "/status/418", &[], b"").unwrap();
    assert_eq!(response.status, 418);
}

#[test]
fn static_files_and_not_found() {
    let sandbox = common::start("http");
    let index = sandbox.get("/").unwrap();
    assert_eq!(index.status, 200, "{}", index.text());
    assert!(index
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/html"));
    let nested = sandbox.get("/a/b.txt").unwrap();
    assert_eq!(nested.status, 200);
    assert!(nested
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/plain"));

    let missing = sandbox.get("/no/such/thing").unwrap();
    assert_eq!(missing.status, 404);
    assert!(missing.json().unwrap()["message"].is_string());

    // Traversal attempts never leave public/, whatever the encoding.
    for path in [
        "/../app.arc",
        "/%2e%2e/app.arc",
        "/a/..%2f..%2fapp.arc",
        "/a/%2e%2e/%2e%2e/app.arc",
        "/..%5capp.arc",
    ] {
        let response = raw_get(sandbox.base_url(), path);
        assert!(
            !response.contains("@app"),
            "{path} leaked the manifest: {response}"
        );
        assert!(
            response.starts_with("HTTP/1.1 404") || response.starts_with("HTTP/1.1 400"),
            "{path}: {response}"
        );
    }
}

#[test]
fn oversized_bodies_get_413() {
    let sandbox = common::start("http");
    let addr = sandbox.base_url().trim_start_matches("http://").to_string();
    // Announced too large: rejected before the body is read.
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 7000000\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    // Just under the limit still reaches the handler.
    let body = vec![b'x'; 6 * 1024 * 1024 - 1024];
    let response = sandbox
        .request("POST", "/echo", &[("content-type", "text/plain")], &body)
        .unwrap();
    assert_eq!(response.status, 200);

    // The daemon is unharmed.
    assert_eq!(sandbox.get("/bare").unwrap().status, 200);
}

/// A request with the path sent exactly as given (clients normalise `..` away).
fn raw_get(base: &str, path: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}
