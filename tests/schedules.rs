//! End to end: `@scheduled` rate and cron expressions firing on the sandbox clock, the
//! control API to move that clock, drain, and the on-demand trigger.

use crate::common;

use crate::common::events;

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::START;

fn manual() -> sandbox_testing::Sandbox {
    common::manual("schedules")
}

#[test]
fn advancing_a_day_fires_every_hourly_tick_in_order_and_a_daily_cron_once() {
    let sandbox = manual();
    assert_eq!(sandbox.clock().unwrap()["mode"], "manual");
    assert_eq!(sandbox.clock().unwrap()["now"], "2030-01-01T00:00:00Z");
    sandbox.advance("1d").unwrap();
    sandbox.drain(Duration::from_secs(60)).unwrap();

    let hourly = events(&sandbox, "scheduled/hourly");
    assert_eq!(hourly.len(), 24, "rate(1 hour) over one day");
    for (i, event) in hourly.iter().enumerate() {
        let expected = format!("2030-01-{:02}T{:02}:00:00Z", 1 + (i + 1) / 24, (i + 1) % 24);
        assert_eq!(event["time"], expected.as_str(), "tick {i} in order");
    }
    let noon = events(&sandbox, "scheduled/noon");
    assert_eq!(noon.len(), 1);
    // The EventBridge scheduled event, exactly.
    let event = &noon[0];
    assert_eq!(event["version"], "0");
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(event["source"], "aws.events");
    assert_eq!(event["account"], "123456789012");
    assert_eq!(event["region"], "us-east-1");
    assert_eq!(event["time"], "2030-01-01T12:00:00Z");
    assert_eq!(
        event["resources"],
        serde_json::json!(["arn:aws:events:us-east-1:123456789012:rule/noon"])
    );
    assert_eq!(event["detail"], serde_json::json!({}));
    assert_eq!(event["id"].as_str().unwrap().len(), 36);
    let keys: Vec<&str> = event
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 9, "no extra keys: {keys:?}");
    assert!(
        events(&sandbox, "scheduled/leap").is_empty(),
        "Feb 28 is not due yet"
    );
    assert_eq!(sandbox.clock().unwrap()["now"], "2030-01-02T00:00:00Z");
}

#[test]
fn cron_l_fires_on_the_last_day_of_february_including_leap_years() {
    let sandbox = manual();
    let listed = sandbox.schedules().unwrap();
    let leap = listed.iter().find(|s| s["name"] == "leap").unwrap();
    assert_eq!(leap["expression"], "cron(0 9 L 2 ? *)");
    assert_eq!(leap["function"], "scheduled/leap");
    assert_eq!(leap["timezone"], "UTC");
    let next: Vec<&str> = leap["next"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        &next[..3],
        [
            "2030-02-28T09:00:00Z",
            "2031-02-28T09:00:00Z",
            "2032-02-29T09:00:00Z"
        ]
    );
    let hourly = listed.iter().find(|s| s["name"] == "hourly").unwrap();
    assert_eq!(
        hourly["next"][0], "2030-01-01T01:00:00Z",
        "rate counts from the start"
    );

    sandbox.set_clock("2030-03-01T00:00:00Z").unwrap();
    sandbox.drain(Duration::from_secs(120)).unwrap();
    let times: Vec<Value> = events(&sandbox, "scheduled/leap")
        .into_iter()
        .map(|e| e["time"].clone())
        .collect();
    assert_eq!(times, ["2030-02-28T09:00:00Z"]);
}

#[test]
fn a_failing_schedule_is_logged_and_keeps_firing() {
    let mut sandbox = manual();
    sandbox.advance("2d").unwrap();
    sandbox.drain(Duration::from_secs(60)).unwrap();
    let records = sandbox.invocations(Some("scheduled/broken"), 10).unwrap();
    assert_eq!(records.len(), 2);
    assert!(records
        .iter()
        .all(|r| r["outcome"] == "trap" && r["trigger"] == "schedule"));
    assert!(sandbox.is_running());
    sandbox.await_output("schedule broken fired");
}

#[test]
fn drain_is_prompt_when_idle_and_reports_pending_work_on_timeout() {
    let sandbox = manual();
    let started = Instant::now();
    let report = sandbox.drain(Duration::from_secs(10)).unwrap();
    assert_eq!(report["drained"], true);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "idle drain took {:?}",
        started.elapsed()
    );
    // Work due later does not hold drain up, but is reported.
    assert!(report["later"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["resource"] == "hourly"));
}

#[test]
fn drain_times_out_with_a_report_of_what_is_running() {
    // A schedule whose handler spins until its 1 s timeout: drain must wait for it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.arc"),
        "@app\nspin\n@scheduled\nspin rate(1 day)\n  timeout 1\n",
    )
    .unwrap();
    let handler = dir.path().join("src/scheduled/spin");
    std::fs::create_dir_all(&handler).unwrap();
    std::fs::write(
        handler.join("handler.wat"),
        r#"(module (memory (export "memory") 1) (func (export "_start") (loop $spin (br $spin))))"#,
    )
    .unwrap();
    let sandbox = sandbox_testing::Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .manual_clock()
        .start()
        .unwrap();
    sandbox.advance("1d").unwrap();
    let response = sandbox
        .request("POST", "/_sandbox/drain?timeout=10ms", &[], b"")
        .unwrap();
    assert_eq!(response.status, 408, "{}", response.text());
    let report = response.json().unwrap();
    assert_eq!(report["drained"], false);
    let busy = report["inFlight"].as_u64().unwrap() > 0
        || report["pending"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["resource"] == "spin");
    assert!(busy, "the report names what is pending: {report}");

    let report = sandbox.drain(Duration::from_secs(30)).unwrap();
    assert_eq!(report["drained"], true);
    let records = sandbox.invocations(Some("scheduled/spin"), 5).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["outcome"], "timeout");
}

#[test]
fn on_demand_trigger_invokes_now() {
    let sandbox = manual();
    let result = sandbox.invoke_schedule("noon").unwrap();
    assert_eq!(result["outcome"], "success");
    assert_eq!(result["function"], "scheduled/noon");
    let events = events(&sandbox, "scheduled/noon");
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["time"], START,
        "the event carries the sandbox clock's time"
    );

    let missing = sandbox
        .request("POST", "/_sandbox/schedules/nope/invoke", &[], b"")
        .unwrap();
    assert_eq!(missing.status, 404);
    let error = missing.json().unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("nope") && error.contains("hourly"),
        "{error}"
    );
}

#[test]
fn clock_rejects_bad_moves_with_json_errors() {
    let sandbox = manual();
    for body in [
        serde_json::json!({"advance": "soon"}),
        serde_json::json!({"advance": "-1h"}),
        serde_json::json!({"set": "2020-01-01T00:00:00Z"}),
        serde_json::json!({"set": "tomorrow"}),
        serde_json::json!({"advance": "1h", "set": START}),
        // Past the end of year 9999: refused, so no service's date arithmetic overflows.
        serde_json::json!({"advance": "13000000w"}),
        serde_json::json!({"set": "10000-01-01T00:00:00Z"}),
        serde_json::json!({}),
    ] {
        let response = sandbox.post_json("/_sandbox/clock", &body).unwrap();
        assert_eq!(response.status, 400, "{body}: {}", response.text());
        assert!(response.json().unwrap()["error"].is_string());
    }
    assert_eq!(
        sandbox.clock().unwrap()["now"],
        START,
        "a rejected move changes nothing"
    );
    let bad = sandbox
        .request("POST", "/_sandbox/drain?timeout=forever", &[], b"")
        .unwrap();
    assert_eq!(bad.status, 400);
    let unknown = sandbox.get("/_sandbox/nothing-here").unwrap();
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.text().contains("/_sandbox/clock"),
        "the 404 lists the endpoints: {}",
        unknown.text()
    );
}

#[test]
fn seed_daily_schedule_fires_on_the_system_clock_when_advanced() {
    // The seed's `daily rate(1 day)`, with the real clock: advancing offsets it.
    let sandbox = common::start("demo");
    assert_eq!(sandbox.clock().unwrap()["mode"], "system");
    sandbox.advance("1d").unwrap();
    sandbox.drain(Duration::from_secs(60)).unwrap();
    let records = sandbox.invocations(Some("scheduled/daily"), 10).unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["outcome"], "success", "{}", records[0]);
}

#[test]
fn sandbox_invoke_sends_a_scheduled_event() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(["invoke", "daily", "--dir"])
        .arg(common::fixture("demo"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("Scheduled Event"));
}
