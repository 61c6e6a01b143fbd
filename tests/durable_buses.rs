//! `sandbox start --state DIR` for EventBridge buses: an archive's events (the manifest's
//! archives and one made through the API, with its settings), and the replays started
//! before, survive `kill -9` (SIGKILL: nothing flushed); StartReplay after the restart
//! sends the stored events to the rule's targets.

use crate::common;

use std::time::Duration;

use sandbox_testing::Sandbox;
use serde_json::{json, Value};

const DRAIN: Duration = Duration::from_secs(60);

/// One EventBridge call in AWS JSON 1.1, as the SDKs send it.
fn events_api(sandbox: &Sandbox, action: &str, input: &Value) -> Value {
    let response = sandbox
        .agent()
        .post(sandbox.base_url())
        .header("X-Amz-Target", format!("AWSEvents.{action}"))
        .header("Content-Type", "application/x-amz-json-1.1")
        .send(input.to_string())
        .unwrap_or_else(|e| panic!("{action}: {e}"));
    let text = response.into_body().read_to_string().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{action}: {e}: {text}"))
}

fn count(archives: &[Value], name: &str) -> Option<Value> {
    archives
        .iter()
        .find(|a| a["name"] == name)
        .map(|a| a["eventCount"].clone())
}

#[test]
fn archived_events_and_replays_survive_kill_9() {
    let state = tempfile::tempdir().unwrap();
    let sandbox = common::bus_with_state(state.path());
    let bus = events_api(&sandbox, "DescribeEventBus", &json!({"Name": "default"}));
    let made = events_api(
        &sandbox,
        "CreateArchive",
        &json!({
            "ArchiveName": "api-made",
            "EventSourceArn": bus["Arn"],
            "EventPattern": "{\"source\": [\"myevent\"]}",
            "RetentionDays": 7,
        }),
    );
    assert!(made.get("ArchiveArn").is_some(), "{made}");
    let mut ids = Vec::new();
    for (n, at) in ["00:10", "01:00"].iter().enumerate() {
        sandbox.set_clock(&format!("2030-01-01T{at}:00Z")).unwrap();
        ids.push(
            sandbox
                .put_event("default", "myevent", "tick", &json!({ "n": n }))
                .unwrap(),
        );
    }
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(common::events(&sandbox, "bus/first").len(), 2);
    let before = sandbox
        .replay(
            "default",
            "before",
            "all",
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:30:00Z",
            Some(&["rule1"]),
        )
        .unwrap();
    assert_eq!(before["eventsReplayed"], 1, "{before}");
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(common::events(&sandbox, "bus/first").len(), 3);

    let sandbox = sandbox.kill_and_restart().unwrap();
    sandbox.await_output("restored 4 archived bus event(s); made through the API: 0 topic(s)/subscription(s), 1 bus(es)/rule(s)/target(s)/archive(s)");
    let archives = sandbox.archives("default").unwrap();
    assert_eq!(count(&archives, "all"), Some(json!(2)), "{archives:?}");
    assert_eq!(count(&archives, "api-made"), Some(json!(2)), "{archives:?}");
    let described = events_api(
        &sandbox,
        "DescribeArchive",
        &json!({"ArchiveName": "api-made"}),
    );
    assert_eq!(described["RetentionDays"], 7, "{described}");
    assert_eq!(described["EventPattern"], "{\"source\": [\"myevent\"]}");
    let archived = sandbox.archived_events("default", "all").unwrap();
    let stored: Vec<&str> = archived.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(stored, ids, "the archive kept its events, in order");
    // The replay made before the crash is still reported.
    let replay = sandbox
        .get("/_sandbox/buses/default/replays/before")
        .unwrap()
        .ok_json()
        .unwrap();
    assert_eq!(replay["state"], "COMPLETED", "{replay}");
    assert_eq!(replay["eventsReplayed"], 1, "{replay}");

    // The stored events replay to the rule's targets after the restart.
    let after = sandbox
        .replay(
            "default",
            "after",
            "api-made",
            "2030-01-01T00:00:00Z",
            "2030-01-02T00:00:00Z",
            Some(&["rule1"]),
        )
        .unwrap();
    assert_eq!(after["eventsReplayed"], 2, "{after}");
    sandbox.drain(DRAIN).unwrap();
    let got = common::events(&sandbox, "bus/first");
    // Function deliveries run concurrently: compare without their order.
    let mut replayed: Vec<(&str, &str)> = got
        .iter()
        .filter_map(|e| Some((e["id"].as_str()?, e.get("replay-name")?.as_str()?)))
        .filter(|(_, r)| *r == "after")
        .collect();
    replayed.sort();
    let mut expected = [(ids[0].as_str(), "after"), (ids[1].as_str(), "after")];
    expected.sort();
    assert_eq!(replayed, expected, "{got:?}");
}
