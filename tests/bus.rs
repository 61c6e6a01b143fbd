//! End to end: EventBridge buses (`@bus`) on a manual clock — an SST-style rule with two
//! function targets, the exact event envelope, input shaping to a queue, a topic and a
//! handler, disabled rules, PutEvents' per-entry errors, archives and replays, retries,
//! and handlers publishing with the SDK (`topics::publish`, `bus::put_events`).

use crate::common;

use crate::common::{events, first_lines};

use std::time::Duration;

use serde_json::{json, Value};

const DRAIN: Duration = Duration::from_secs(60);

fn start() -> sandbox_testing::Sandbox {
    common::manual("bus")
}

#[test]
fn an_sst_style_rule_delivers_the_exact_envelope_to_both_targets() {
    let sandbox = start();
    let result = sandbox
        .put_events(
            "default",
            &[json!({"Source": "myevent", "DetailType": "Order Placed", "Detail": "{\"b\": 2, \"a\": [1, \"x y\"]}", "Resources": ["arn:aws:s3:::r"]})],
        )
        .unwrap();
    assert_eq!(result["FailedEntryCount"], 0);
    let id = result["Entries"][0]["EventId"]
        .as_str()
        .unwrap()
        .to_string();
    sandbox.drain(DRAIN).unwrap();
    for function in ["bus/first", "bus/second"] {
        let got = first_lines(&sandbox, function);
        assert_eq!(got.len(), 1, "{function}");
        // Keys in AWS's order, the detail as written (without insignificant spaces).
        assert_eq!(
            got[0],
            format!(
                "{{\"version\":\"0\",\"id\":\"{id}\",\"detail-type\":\"Order Placed\",\"source\":\"myevent\",\"account\":\"123456789012\",\"time\":\"2030-01-01T00:00:00Z\",\"region\":\"us-east-1\",\"resources\":[\"arn:aws:s3:::r\"],\"detail\":{{\"b\":2,\"a\":[1,\"x y\"]}}}}"
            )
        );
    }
    let bus = sandbox.bus("default").unwrap();
    let rule1 = bus["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "rule1")
        .unwrap();
    assert_eq!(rule1["matched"], 1);
    assert_eq!(
        rule1["arn"],
        "arn:aws:events:us-east-1:123456789012:rule/rule1"
    );
    assert!(rule1["targets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["delivered"] == 1));
    let output = sandbox.output();
    assert!(
        output.contains("bus default: rule rule1 → fn:bus/first ok"),
        "{output}"
    );
    assert!(
        output.contains("bus default: rule rule1 → fn:bus/second ok"),
        "{output}"
    );
}

#[test]
fn targets_get_their_shaped_input_and_disabled_rules_deliver_nothing() {
    let sandbox = start();
    sandbox
        .put_event("default", "shop", "Order", &json!({"id": 7, "total": 500}))
        .unwrap();
    sandbox
        .put_event("default", "shop", "Order", &json!({"id": 8, "total": 50}))
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    // InputPath to a queue.
    let queued = sandbox.peek("shop-events").unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["body"], "{\"id\":7,\"total\":500}");
    // A constant Input published to a topic, whose handler gets the SNS event.
    let notices = events(&sandbox, "events/notices");
    assert_eq!(notices.len(), 1);
    assert_eq!(
        notices[0]["Records"][0]["Sns"]["Message"],
        "{\"fixed\":true}"
    );
    // An InputTransformer template.
    let transformed = events(&sandbox, "bus/transformed");
    assert_eq!(
        transformed,
        [json!({"order": 7, "total": 500, "rule": "big"})]
    );
    // `off` matches every shop event but is disabled; rule1 matches none of them.
    assert!(first_lines(&sandbox, "bus/first").is_empty());
    let bus = sandbox.bus("default").unwrap();
    let off = bus["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "off")
        .unwrap();
    assert_eq!(
        (off["enabled"].as_bool(), off["matched"].as_u64()),
        (Some(false), Some(0))
    );
}

#[test]
fn put_events_reports_errors_per_entry_and_unknown_buses_are_named() {
    let sandbox = start();
    let result = sandbox
        .put_events(
            "default",
            &[
                json!({"source": "myevent", "detailType": "ok", "detail": {"n": 1}}),
                json!({"Source": "myevent", "Detail": "{}"}),
                json!({"Source": "myevent", "DetailType": "t", "Detail": "[1]"}),
                json!({"Source": "myevent", "DetailType": "t", "Detail": "{}", "EventBusName": "nope"}),
            ],
        )
        .unwrap();
    assert_eq!(result["FailedEntryCount"], 3, "{result}");
    let entries = result["Entries"].as_array().unwrap();
    assert!(entries[0]["EventId"].is_string());
    assert_eq!(entries[1]["ErrorCode"], "InvalidArgument");
    assert_eq!(entries[2]["ErrorCode"], "MalformedDetail");
    assert_eq!(entries[3]["ErrorCode"], "ResourceNotFoundException");
    assert!(entries[3]["ErrorMessage"]
        .as_str()
        .is_some_and(|m| m.contains("default, orders")));
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(first_lines(&sandbox, "bus/first").len(), 1);

    let response = sandbox
        .post_json("/_sandbox/buses/nope/events", &json!({"entries": []}))
        .unwrap();
    assert_eq!(response.status, 404);
    assert!(
        response.text().contains("default, orders"),
        "{}",
        response.text()
    );
    let eleven: Vec<Value> = (0..11)
        .map(|_| json!({"Source": "s", "DetailType": "t", "Detail": "{}"}))
        .collect();
    let response = sandbox
        .post_json(
            "/_sandbox/buses/default/events",
            &json!({ "entries": eleven }),
        )
        .unwrap();
    assert_eq!(response.status, 400);
    let response = sandbox
        .post_json(
            "/_sandbox/buses/default/events",
            &json!({"entries": [{"Sauce": "x"}]}),
        )
        .unwrap();
    assert_eq!(response.status, 400);
    assert!(response.text().contains("Sauce"), "{}", response.text());

    // A named bus routes only its own rules.
    sandbox
        .put_event("orders", "myevent", "t", &json!({"n": 2}))
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(first_lines(&sandbox, "bus/orders-all").len(), 1);
    assert_eq!(first_lines(&sandbox, "bus/first").len(), 1);
    let names: Vec<Value> = sandbox
        .buses()
        .unwrap()
        .iter()
        .map(|b| b["name"].clone())
        .collect();
    assert_eq!(names, [json!("default"), json!("orders")]);
}

#[test]
fn a_replay_redelivers_exactly_the_archived_events_of_its_range() {
    let sandbox = start();
    let mut ids = Vec::new();
    for (n, at) in ["00:00", "01:00", "02:00"].iter().enumerate() {
        sandbox.set_clock(&format!("2030-01-01T{at}:00Z")).unwrap();
        ids.push(
            sandbox
                .put_event("default", "myevent", "tick", &json!({ "n": n }))
                .unwrap(),
        );
    }
    // A shop event lands only in `shop-only` (and `all`); it matches no rule1 target.
    sandbox
        .put_event("default", "shop", "Order", &json!({"id": 1, "total": 5}))
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(first_lines(&sandbox, "bus/first").len(), 3);
    let archives = sandbox.archives("default").unwrap();
    let count = |name: &str| {
        archives
            .iter()
            .find(|a| a["name"] == name)
            .map(|a| a["eventCount"].clone())
    };
    assert_eq!(count("all"), Some(json!(4)));
    assert_eq!(count("shop-only"), Some(json!(1)));
    let archived = sandbox.archived_events("default", "all").unwrap();
    assert_eq!(archived[1]["id"], ids[1].as_str());

    // [00:30, 02:00) holds only the second event.
    let replay = sandbox
        .replay(
            "default",
            "r1",
            "all",
            "2030-01-01T00:30:00Z",
            "2030-01-01T02:00:00Z",
            None,
        )
        .unwrap();
    assert_eq!(replay["eventsReplayed"], 1, "{replay}");
    assert_eq!(replay["deliveries"], 2);
    sandbox.drain(DRAIN).unwrap();
    for function in ["bus/first", "bus/second"] {
        let got = events(&sandbox, function);
        assert_eq!(got.len(), 4, "{function}");
        let replayed = &got[3];
        assert_eq!(replayed["id"], ids[1].as_str());
        assert_eq!(replayed["detail"], json!({"n": 1}));
        assert_eq!(replayed["time"], "2030-01-01T01:00:00Z");
        assert_eq!(replayed["replay-name"], "r1");
        assert!(got[..3].iter().all(|e| e.get("replay-name").is_none()));
    }
    // Replayed events are not archived again.
    let all = sandbox.archives("default").unwrap();
    assert_eq!(
        all.iter().find(|a| a["name"] == "all").unwrap()["eventCount"],
        4
    );
    let info = sandbox
        .get("/_sandbox/buses/default/replays/r1")
        .unwrap()
        .ok_json()
        .unwrap();
    assert_eq!(info["state"], "COMPLETED");

    // Names are unique; unknown archives and rules are named.
    let again = sandbox.post_json(
        "/_sandbox/buses/default/replays",
        &json!({"name": "r1", "archive": "all", "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"}),
    ).unwrap();
    assert_eq!(again.status, 409);
    let unknown = sandbox.post_json(
        "/_sandbox/buses/default/replays",
        &json!({"name": "r2", "archive": "nope", "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"}),
    ).unwrap();
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.text().contains("all, shop-only"),
        "{}",
        unknown.text()
    );

    // Only the named rules: `big` matches none of these events.
    let only = sandbox
        .replay(
            "default",
            "r3",
            "all",
            "2030-01-01T00:00:00Z",
            "2030-01-02T00:00:00Z",
            Some(&["big"]),
        )
        .unwrap();
    assert_eq!(
        (only["eventsReplayed"].as_u64(), only["deliveries"].as_u64()),
        (Some(4), Some(0))
    );

    // Retention: `shop-only` keeps events one day.
    sandbox.advance("1d").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let archives = sandbox.archives("default").unwrap();
    let shop = archives.iter().find(|a| a["name"] == "shop-only").unwrap();
    assert_eq!(shop["eventCount"], 0);
}

#[test]
fn a_failing_function_target_is_retried_then_reported() {
    let sandbox = start();
    sandbox
        .put_event("default", "flaky", "t", &json!({}))
        .unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(first_lines(&sandbox, "bus/flaky").len(), 1);
    sandbox.advance("1m").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(first_lines(&sandbox, "bus/flaky").len(), 2);
    sandbox.advance("2m").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(first_lines(&sandbox, "bus/flaky").len(), 3);
    sandbox.advance("1h").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(first_lines(&sandbox, "bus/flaky").len(), 3);
    let bus = sandbox.bus("default").unwrap();
    assert_eq!(bus["recentFailures"][0]["attempts"], 3);
    assert_eq!(bus["recentFailures"][0]["rule"], "fails");
    let output = sandbox.output();
    assert!(output.contains("giving up after 3 attempts"), "{output}");
}

#[test]
fn a_handler_publishes_with_the_sdk() {
    let sandbox = start();
    let response = sandbox
        .post_json("/publish", &json!({"hello": "world"}))
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    let answer = response.json().unwrap();
    assert_eq!(answer["failedEntryCount"], 1, "{answer}");
    assert_eq!(answer["error"], "ResourceNotFoundException");
    sandbox.drain(DRAIN).unwrap();
    // topics::publish reached the topic's handler…
    let notices = events(&sandbox, "events/notices");
    assert_eq!(notices.len(), 1);
    let sns = &notices[0]["Records"][0]["Sns"];
    assert_eq!(sns["MessageId"], answer["messageId"]);
    assert_eq!(sns["Message"], "{\"hello\":\"world\"}");
    // …and bus::put_events reached both targets of rule1.
    for function in ["bus/first", "bus/second"] {
        let got = events(&sandbox, function);
        assert_eq!(got.len(), 1, "{function}");
        assert_eq!(got[0]["id"], answer["eventId"]);
        assert_eq!(got[0]["detail-type"], "FromHandler");
        assert_eq!(got[0]["detail"], json!({"hello": "world"}));
    }
}

#[test]
fn a_manifest_reload_changes_rules_and_keeps_the_archives() {
    let dir = tempfile::tempdir().unwrap();
    let echo =
        std::fs::read_to_string(common::fixture("bus").join("src/bus/first/handler.wat")).unwrap();
    let handler = dir.path().join("src/bus/h");
    std::fs::create_dir_all(&handler).unwrap();
    std::fs::write(handler.join("handler.wat"), echo).unwrap();
    let manifest = dir.path().join("app.arc");
    let base = "@app\nreload\n@bus\ndefault\n  rule a {\"source\": [\"a\"]}\n  target a fn:bus/h\n  archive all\n";
    std::fs::write(&manifest, base).unwrap();
    let sandbox = sandbox_testing::Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .manual_clock()
        .start()
        .unwrap();
    sandbox.put_event("default", "a", "t", &json!({})).unwrap();
    sandbox.put_event("default", "b", "t", &json!({})).unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(first_lines(&sandbox, "bus/h").len(), 1);

    let temporary = manifest.with_extension("tmp");
    std::fs::write(
        &temporary,
        format!("{base}  rule b {{\"source\": [\"b\"]}}\n  target b fn:bus/h\n"),
    )
    .unwrap();
    std::fs::rename(&temporary, &manifest).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sandbox.bus("default").unwrap()["rules"]
        .as_array()
        .map(Vec::len)
        != Some(2)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload: {}",
            sandbox.output()
        );
        std::thread::yield_now();
    }
    // The archive kept its events: replaying them now reaches the new rule too.
    assert_eq!(sandbox.archives("default").unwrap()[0]["eventCount"], 2);
    let replay = sandbox
        .replay(
            "default",
            "again",
            "all",
            "2000-01-01T00:00:00Z",
            "2100-01-01T00:00:00Z",
            None,
        )
        .unwrap();
    assert_eq!(replay["deliveries"], 2);
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(first_lines(&sandbox, "bus/h").len(), 3);
    sandbox.await_output("bus default rules changed");
}
