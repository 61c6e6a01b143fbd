//! End to end: the `sandbox` command itself — start-up summary, `invoke`, bad
//! manifests and a busy port.

use crate::common;

use std::process::Command;

fn sandbox() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sandbox"))
}

#[test]
fn demo_app_serves_the_seed_routes() {
    let sandbox = common::start("demo");
    let page = sandbox.get("/").unwrap();
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/html"));
    assert!(page.text().contains("<form"), "{}", page.text());
    let user = sandbox.get("/users/42").unwrap();
    assert_eq!(user.json().unwrap()["id"], "42");
    let css = sandbox.get("/style.css").unwrap();
    assert_eq!(css.status, 200);
    assert!(css
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/css"));
    let output = sandbox.output();
    for line in [
        "GET /",
        "/users/:id",
        "account-signup",
        "daily rate(1 day)",
        "listening on http://127.0.0.1:",
    ] {
        assert!(
            output.contains(line),
            "the summary mentions {line}:\n{output}"
        );
    }
    let status = sandbox.status().unwrap();
    assert_eq!(status["app"], "demo");
    let functions = status["functions"].as_array().unwrap();
    assert!(
        functions.iter().all(|f| f["state"] == "ready"),
        "{functions:?}"
    );
}

#[test]
fn invoke_runs_one_handler_and_prints_its_result() {
    let dir = common::fixture("http");
    let output = sandbox()
        .args(["invoke", "get-bare", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(value, serde_json::json!({"hello": "world"}));

    let output = sandbox()
        .args(["invoke", "no-such-function", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no function named `no-such-function`") && stderr.contains("http/get-bare"),
        "{stderr}"
    );
}

#[test]
fn invoke_reports_handler_failure_with_nonzero_exit() {
    let output = sandbox()
        .args(["invoke", "http/get-trap_wat", "--dir"])
        .arg(common::fixture("misbehave"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("trap"));
}

#[test]
fn bad_manifest_is_a_located_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.arc"), "@app\nbroken\n\n@htp\nget /\n").unwrap();
    let output = sandbox()
        .arg("start")
        .arg(dir.path())
        .args(["--port", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("app.arc:4:1"), "{stderr}");
    assert!(
        stderr.contains("@http"),
        "suggests the nearest pragma: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn missing_handler_is_reported_and_the_rest_serves() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.arc"),
        "@app\nhalf\n@http\nget /\nget /missing\n",
    )
    .unwrap();
    let index = dir.path().join("src/http/get-index");
    std::fs::create_dir_all(&index).unwrap();
    std::fs::copy(
        common::fixture("bench").join("src/http/get-index/handler.wat"),
        index.join("handler.wat"),
    )
    .unwrap();
    let sandbox = sandbox_testing::Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .start()
        .unwrap();
    assert_eq!(sandbox.get("/").unwrap().status, 200);
    let missing = sandbox.get("/missing").unwrap();
    assert_eq!(
        missing.status, 500,
        "API Gateway answers 500 when the function cannot be invoked"
    );
    let output = sandbox.output();
    assert!(
        output.contains("src/http/get-missing"),
        "says where it looked:\n{output}"
    );
    let status = sandbox.status().unwrap();
    let state = status["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "http/get-missing")
        .unwrap()["state"]
        .clone();
    assert_eq!(state, "missing");
}

#[test]
fn busy_port_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let output = sandbox()
        .arg("start")
        .arg(common::fixture("bench"))
        .args(["--port", &port])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&port) && stderr.contains("--port"),
        "{stderr}"
    );
}
