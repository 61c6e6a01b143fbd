//! End to end: JavaScript and TypeScript handlers run by the JavaScript runner — every
//! handler form, the context, console and environment, the globals and built-in
//! modules, module resolution, the sandbox clock inside handlers, and handlers that
//! misbehave (contained, typed, the daemon keeps serving).

use crate::common;

use std::time::Duration;

use sandbox_testing::Sandbox;
use serde_json::{json, Value};

fn ok_json(sandbox: &Sandbox, path: &str) -> Value {
    let response = sandbox.get(path).unwrap();
    assert_eq!(
        response.status,
        200,
        "{path}: {}\n{}",
        response.text(),
        sandbox.output()
    );
    response.json().unwrap()
}

fn last(sandbox: &Sandbox, function: &str) -> Value {
    sandbox.invocations(Some(function), 1).unwrap()[0].clone()
}

fn log_text(record: &Value) -> String {
    record["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_handler_form_returns_its_result() {
    let sandbox = common::js("js", false);
    let cjs = sandbox.get("/cjs").unwrap();
    assert_eq!((cjs.status, cjs.text()), (200, "cjs /cjs".to_string()));
    assert_eq!(
        ok_json(&sandbox, "/module-exports"),
        json!({"form": "callback", "path": "/module-exports"})
    );
    assert_eq!(
        ok_json(&sandbox, "/esm"),
        json!({"form": "esm", "method": "GET"})
    );
    assert_eq!(
        ok_json(&sandbox, "/esm-const"),
        json!({"form": "esm-const"})
    );
    assert_eq!(last(&sandbox, "http/get-esm")["outcome"], "success");
}

#[test]
fn context_console_and_environment() {
    let sandbox = common::js("js", false);
    let body = ok_json(&sandbox, "/context");
    let record = last(&sandbox, "http/get-context");
    assert_eq!(body["awsRequestId"], record["requestId"]);
    assert_eq!(body["functionName"], "http/get-context");
    assert_eq!(body["memoryLimitInMB"], "192");
    let remaining = body["remaining"].as_u64().unwrap();
    assert!(remaining > 4000 && remaining <= 5000, "{remaining}");
    assert_eq!(body["greeting"], "hello");
    assert_eq!(body["app"], "js");
    assert_eq!(body["home"], true, "no host environment");
    let logs = log_text(&record);
    let request_id = record["requestId"].as_str().unwrap();
    assert!(logs.contains(&format!("request {request_id}")), "{logs}");
    assert!(logs.contains("INFO\tinfo line"), "{logs}");
    assert!(logs.contains("WARN\twarn line { a: 1 }"), "{logs}");
    assert!(logs.contains("ERROR\terror line"), "{logs}");
}

#[test]
fn globals_a_handler_expects() {
    let sandbox = common::js("js", false);
    let body = ok_json(&sandbox, "/globals");
    assert_eq!(body["encoded"], json!([104, 195, 169, 108, 108, 111]));
    assert_eq!(body["decoded"], "héllo");
    assert_eq!(body["href"], "https://example.com:8443/a/b?x=1&y=two&z=3#h");
    assert_eq!(body["host"], "example.com:8443");
    assert_eq!(body["x"], "1");
    assert_eq!(body["search"], "?x=1&y=two&z=3");
    assert_eq!(body["btoa"], "aGkgdGhlcmU=");
    assert_eq!(body["atob"], "hi there");
    assert_eq!(body["cloneIsCopy"], true);
    assert_eq!(body["bufferBase64"], "aMOpbGxv");
    assert_eq!(body["bufferUtf8"], "héllo");
    assert_eq!(body["bufferHex"], "01ff");
    assert_eq!(body["uuid"], true);
    assert_eq!(body["randomFilled"], true);
    assert_eq!(body["params"], "a=1+2&b=%C3%A9");
}

#[test]
fn timers_and_microtasks_run_within_the_invocation() {
    let sandbox = common::js("js", false);
    let body = ok_json(&sandbox, "/timers");
    assert_eq!(
        body["order"],
        json!([
            "microtask",
            "timeout 0",
            "interval",
            "interval",
            "timeout 20"
        ])
    );
    assert_eq!(body["waited"], true);
}

#[test]
fn handlers_see_the_sandbox_clock_and_fresh_randomness() {
    let sandbox = common::js("js", true);
    let start = chrono::DateTime::parse_from_rfc3339(common::START).unwrap();
    let first = ok_json(&sandbox, "/clock");
    assert_eq!(first["now"], start.timestamp_millis());
    assert_eq!(first["iso"], "2030-01-01T00:00:00.000Z");
    sandbox.advance("1d").unwrap();
    let later = ok_json(&sandbox, "/clock");
    assert_eq!(later["now"], start.timestamp_millis() + 86_400_000);
    assert_eq!(later["iso"], "2030-01-02T00:00:00.000Z");
    // The clock stands still, yet every instance draws different random numbers.
    let a = ok_json(&sandbox, "/random");
    let b = ok_json(&sandbox, "/random");
    assert_ne!(a["random"], b["random"]);
    assert_ne!(a["uuid"], b["uuid"]);
}

#[test]
fn architect_functions_http_helpers() {
    let sandbox = common::js("js", false);
    assert_eq!(
        ok_json(&sandbox, "/arc/42?a=b"),
        json!({"id": "42", "query": {"a": "b"}})
    );
    let denied = sandbox.get("/arc/42?deny=1").unwrap();
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json().unwrap(), json!({"denied": true}));
    assert_eq!(
        common::unfollowed(&sandbox, "GET", "/arc/42?go=1"),
        (302, Some("/elsewhere".to_string()))
    );
    let html = sandbox.get("/arc/7?html=1").unwrap();
    assert_eq!(html.status, 200);
    assert!(html
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(html.text(), "<p>7</p>");
    let posted = sandbox.post_json("/arc", &json!({"n": 1})).unwrap();
    assert_eq!(posted.status, 201);
    assert_eq!(
        posted.json().unwrap(),
        json!({"received": {"n": 1}, "method": "POST"})
    );
    let form = sandbox
        .request(
            "POST",
            "/arc",
            &[("content-type", "application/x-www-form-urlencoded")],
            b"a=1&b=two+words",
        )
        .unwrap();
    assert_eq!(
        form.json().unwrap()["received"],
        json!({"a": "1", "b": "two words"})
    );
}

#[test]
fn publishing_to_queues_topics_streams_and_the_bus() {
    let sandbox = common::js("js", true);
    let mut body = ok_json(&sandbox, "/publish");
    let error = body["error"].take();
    assert_eq!(
        body,
        json!({
            "queued": "string",
            "published": "string",
            "shard": "shardId-000000000000",
            "failed": 0,
            "error": null,
        }),
        "{}",
        sandbox.output()
    );
    assert_eq!(error, "there is no queue named `nope` (queues: jobs)");
    sandbox.drain(Duration::from_secs(10)).unwrap();
    let jobs = common::logs(&sandbox, "queues/jobs");
    assert!(jobs.contains(&r#"{"from":"arc"}"#.to_string()), "{jobs:?}");
    assert!(
        jobs.iter().any(|l| l.contains("OrderPlaced")),
        "the bus rule delivered to the queue: {jobs:?}"
    );
    let news = common::logs(&sandbox, "events/news");
    assert_eq!(news, [r#"{"headline":"hi"}"#]);
    let clicks = sandbox.stream_records("clicks").unwrap();
    assert_eq!(clicks.len(), 1, "{clicks:?}");
    assert_eq!(clicks[0]["partitionKey"], "user-1", "{clicks:?}");
}

#[test]
fn modules_resolve_like_node() {
    let sandbox = common::js("js", false);
    assert_eq!(
        ok_json(&sandbox, "/modules"),
        json!({
            "shared": "hello js from shared",
            "views": "<main>x</main>",
            "sameInstance": true,
            "answer": 42,
            "local": {"name": "local-pkg", "version": "1.0.0"},
            "project": "project package (require)",
            "emitter": "function",
            "joined": "/a/c",
            "formatted": "n=5",
            "version": "v1",
        })
    );
    assert_eq!(
        ok_json(&sandbox, "/esm-modules"),
        json!({
            "flavour": "project package (import)",
            "greeting": "hello esm from shared",
            "answer": 42,
            "helper": "helped",
            "lazy": "loaded later",
            "arc": "function",
        })
    );
}

#[test]
fn typescript_runs_with_its_types_stripped() {
    let sandbox = common::js("js", false);
    assert_eq!(
        ok_json(&sandbox, "/ts"),
        json!({
            "doubled": 42,
            "shape": {"kind": "square", "side": 2},
            "colour": "red",
            "path": "/ts",
        })
    );
}

/// A failing handler: API Gateway's 502 with the request id, the failure recorded with
/// its kind, and the daemon still serving.
fn assert_contained(sandbox: &mut Sandbox, path: &str, outcome: &str) -> Value {
    let response = sandbox.get(path).unwrap();
    assert_eq!(response.status, 502, "{path}: {}", response.text());
    let request_id = response.json().unwrap()["requestId"].clone();
    let function = format!(
        "http/get-{}",
        path.trim_start_matches('/').replace('-', "_")
    );
    let record = last(sandbox, &function);
    assert_eq!(record["requestId"], request_id);
    assert_eq!(record["outcome"], outcome, "{path}: {record}");
    assert!(sandbox.is_running(), "{}", sandbox.output());
    assert_eq!(ok_json(sandbox, "/ok"), json!({"ok": true}));
    record
}

#[test]
fn errors_are_failures_with_message_and_located_stack() {
    let mut sandbox = common::js("js", false);
    let thrown = log_text(&assert_contained(&mut sandbox, "/throw", "exit"));
    assert!(thrown.contains("Error: kaboom"), "{thrown}");
    assert!(thrown.contains("src/http/get-throw/index.js:2"), "{thrown}");
    let rejected = log_text(&assert_contained(&mut sandbox, "/reject", "exit"));
    assert!(
        rejected.contains("TypeError: rejected on purpose"),
        "{rejected}"
    );
    let typed = log_text(&assert_contained(&mut sandbox, "/ts-throw", "exit"));
    assert!(typed.contains("Error: typed failure"), "{typed}");
    assert!(
        typed.contains("(src/http/get-ts_throw/index.ts:9)"),
        "the TypeScript file's own line: {typed}"
    );
}

#[test]
fn misbehaving_handlers_are_contained() {
    let mut sandbox = common::js("js", false);
    assert_contained(&mut sandbox, "/loop", "timeout");
    assert_contained(&mut sandbox, "/never", "timeout");
    assert_contained(&mut sandbox, "/memory", "out_of_memory");
    assert_contained(&mut sandbox, "/huge", "output_too_large");
}

#[test]
fn a_module_that_cannot_load_is_reported_located_and_the_app_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("app.arc"),
        "@app\nbroken\n@http\nget /missing\nget /syntax\nget /fine\n",
    )
    .unwrap();
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "src/http/get-missing/index.js",
        "const pad = require('left-pad')\nexports.handler = () => pad\n",
    );
    write(
        "src/http/get-syntax/index.js",
        "exports.handler = async () => {\n  return {ok: }\n}\n",
    );
    write(
        "src/http/get-fine/index.js",
        "exports.handler = () => ({ fine: true })\n",
    );
    let sandbox = Sandbox::builder(root)
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        // One compile cache for these throwaway projects: the JS runner is compiled once.
        .arg("--cache-dir")
        .arg(common::shared_cache())
        .start()
        .unwrap();
    assert_eq!(ok_json(&sandbox, "/fine"), json!({"fine": true}));
    let status = sandbox.status().unwrap();
    let function = |name: &str| {
        status["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()
            .clone()
    };
    let missing = function("http/get-missing");
    assert_eq!(missing["state"], "compile_failed");
    let error = missing["error"].as_str().unwrap();
    assert!(
        error.starts_with("src/http/get-missing/index.js:1:21: cannot find module `left-pad`"),
        "{error}"
    );
    assert!(error.contains("npm install left-pad"), "{error}");
    let syntax = function("http/get-syntax");
    let error = syntax["error"].as_str().unwrap();
    assert!(
        error.starts_with("src/http/get-syntax/index.js:2:"),
        "{error}"
    );
    assert!(error.contains("syntax error"), "{error}");
    assert_eq!(sandbox.get("/missing").unwrap().status, 500);
}
