//! End to end: handlers that misbehave are contained. Each gets API Gateway's 502 with
//! the request id, the failure is recorded with its kind, and the daemon keeps serving.

use crate::common;

use sandbox_testing::Sandbox;

fn assert_contained(sandbox: &mut Sandbox, path: &str, function: &str, outcome: &str) {
    let response = sandbox.get(path).unwrap();
    assert_eq!(response.status, 502, "{path}: {}", response.text());
    let body = response.json().unwrap();
    assert_eq!(body["message"], "Internal Server Error");
    let request_id = body["requestId"]
        .as_str()
        .expect("502 names the request id")
        .to_string();
    let invocations = sandbox.invocations(Some(function), 1).unwrap();
    assert_eq!(invocations[0]["requestId"], request_id.as_str());
    assert_eq!(
        invocations[0]["outcome"], outcome,
        "{path}: {}",
        invocations[0]
    );
    assert!(
        sandbox.is_running(),
        "the daemon died on {path}:\n{}",
        sandbox.output()
    );
    assert_eq!(
        sandbox.get("/ok").unwrap().status,
        200,
        "still serving after {path}"
    );
    sandbox.await_output(&request_id);
}

#[test]
fn trap_is_contained() {
    let mut sandbox = common::start("misbehave");
    assert_contained(&mut sandbox, "/trap", "http/get-trap", "trap");
    assert_contained(&mut sandbox, "/trap-wat", "http/get-trap_wat", "trap");
}

#[test]
fn endless_loop_times_out_without_blocking_others() {
    let mut sandbox = common::start("misbehave");
    let base = sandbox.base_url().to_string();
    // While one request spins, others are still answered promptly.
    let spinner = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        agent
            .get(&format!("{base}/loop"))
            .call()
            .map(|r| r.status().as_u16())
    });
    for _ in 0..5 {
        assert_eq!(sandbox.get("/ok").unwrap().status, 200);
    }
    assert_eq!(spinner.join().unwrap().unwrap(), 502);
    assert_contained(&mut sandbox, "/loop", "http/get-loop", "timeout");
}

#[test]
fn memory_bomb_is_contained() {
    let mut sandbox = common::start("misbehave");
    assert_contained(&mut sandbox, "/oom", "http/get-oom", "out_of_memory");
}

#[test]
fn huge_output_is_contained() {
    let mut sandbox = common::start("misbehave");
    assert_contained(&mut sandbox, "/huge", "http/get-huge", "output_too_large");
}

#[test]
fn garbage_output_is_contained() {
    let mut sandbox = common::start("misbehave");
    assert_contained(
        &mut sandbox,
        "/garbage",
        "http/get-garbage",
        "malformed_output",
    );
    // Metrics count it as it ended (amended by API Gateway's rules), not as the clean
    // exit the runtime saw.
    let metrics = sandbox.get("/_sandbox/metrics").unwrap().text();
    let counted: Vec<&str> = metrics
        .lines()
        .filter(|line| {
            line.starts_with("sandbox_invocations_total{")
                && line.contains("function=\"http/get-garbage\"")
        })
        .collect();
    assert_eq!(counted.len(), 1, "{counted:?}");
    assert!(
        counted[0].contains("outcome=\"malformed_output\"") && counted[0].ends_with(" 1"),
        "{counted:?}"
    );
}

#[test]
fn nonzero_exit_is_contained() {
    let mut sandbox = common::start("misbehave");
    assert_contained(&mut sandbox, "/exit", "http/get-exit", "exit");
}

#[test]
fn slow_handler_finishes_within_its_timeout() {
    let sandbox = common::start("misbehave");
    let response = sandbox.get("/slow").unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    let invocations = sandbox.invocations(Some("http/get-slow"), 1).unwrap();
    assert!(invocations[0]["durationMs"].as_f64().unwrap() >= 250.0);
}
