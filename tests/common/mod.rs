//! Shared helpers for the end-to-end tests: where the fixtures are, and how to start
//! the binary under test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sandbox_testing::{Builder, Sandbox};
use serde_json::Value;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/apps")
        .join(name)
}

pub fn sandbox(app: &str) -> Builder {
    Sandbox::builder(fixture(app)).bin(env!("CARGO_BIN_EXE_sandbox"))
}

pub fn start(app: &str) -> Sandbox {
    sandbox(app)
        .start()
        .unwrap_or_else(|e| panic!("starting the {app} fixture: {e:#}"))
}

/// Where the manual clock starts in every test that uses one.
pub const START: &str = "2030-01-01T00:00:00Z";

/// A fixture app with time frozen at [`START`].
pub fn manual(app: &str) -> Sandbox {
    sandbox(app)
        .manual_clock()
        .arg("--clock-start")
        .arg(START)
        .start()
        .unwrap_or_else(|e| panic!("starting the {app} fixture: {e:#}"))
}

/// A JavaScript fixture app, with the compile cache shared by every test (the
/// JavaScript runner is the same module in every app: compiled once, not per app).
pub fn js(app: &str, manual_clock: bool) -> Sandbox {
    let mut builder = sandbox(app).arg("--cache-dir").arg(shared_cache());
    if manual_clock {
        builder = builder.manual_clock().arg("--clock-start").arg(START);
    }
    builder
        .start()
        .unwrap_or_else(|e| panic!("starting the {app} fixture: {e:#}"))
}

/// A function's invocations, oldest first.
fn records(sandbox: &Sandbox, function: &str) -> Vec<Value> {
    let mut records = sandbox.invocations(Some(function), 1000).unwrap();
    records.reverse();
    records
}

/// Every log line of a function's invocations, oldest first.
pub fn logs(sandbox: &Sandbox, function: &str) -> Vec<String> {
    records(sandbox, function)
        .iter()
        .flat_map(|r| r["logs"].as_array().cloned().unwrap_or_default())
        .map(|l| l.as_str().unwrap_or_default().to_string())
        .collect()
}

/// The first log line of each invocation (an echo handler's event), oldest first.
pub fn first_lines(sandbox: &Sandbox, function: &str) -> Vec<String> {
    records(sandbox, function)
        .iter()
        .filter_map(|r| r["logs"][0].as_str().map(str::to_string))
        .collect()
}

/// The events an echo handler received (it logs each one verbatim), oldest first.
pub fn events(sandbox: &Sandbox, function: &str) -> Vec<Value> {
    first_lines(sandbox, function)
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// Each invocation's outcome (`success`, `trap`, ...), oldest first.
pub fn outcomes(sandbox: &Sandbox, function: &str) -> Vec<String> {
    records(sandbox, function)
        .iter()
        .map(|r| r["outcome"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Replaces a file the way editors do: write a temporary file, then rename over.
pub fn replace(path: &Path, contents: &str) {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, contents).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// Status and `location` of a request whose redirect is not followed (the testing
/// client follows them).
pub fn unfollowed(sandbox: &Sandbox, method: &str, path: &str) -> (u16, Option<String>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let request = http::Request::builder()
        .method(method)
        .uri(sandbox.url(path))
        .body(Vec::new())
        .unwrap();
    let response = agent.run(request).unwrap();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (response.status().as_u16(), location)
}

/// A compile cache shared by tests whose projects are temporary directories, so modules
/// every project uses (the JavaScript runner) are compiled once per build, not per test.
pub fn shared_cache() -> String {
    concat!(env!("CARGO_TARGET_TMPDIR"), "/sandbox-test-cache").to_string()
}
pub mod aws;

/// The bus fixture on `state` (`--state`), its manual clock at [`START`]: the durable
/// API and bus tests restart it on the same directory.
pub fn bus_with_state(state: &Path) -> Sandbox {
    sandbox("bus")
        .arg("--no-watch")
        .state(state)
        .manual_clock_at(START)
        .start()
        .unwrap_or_else(|e| panic!("starting bus with --state: {e:#}"))
}
