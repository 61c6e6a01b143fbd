//! End to end: the official Rust SDK for EventBridge (AWS JSON 1.1) against the sandbox's
//! buses, on the `bus` fixture with a manual clock. One world: buses, rules and targets
//! made with the SDK are the bus service's own — they show in `/_sandbox/buses`, deliver
//! through the same driver as the manifest's rules (functions, queues, topics), are
//! reached by handlers' `bus.PutEvents`, and survive a hot reload.

use crate::common;

use std::time::Duration;

use crate::common::{aws, events, first_lines};
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::{
    InputTransformer, PutEventsRequestEntry, ReplayDestination, ReplayState, RuleState, Target,
};
use aws_sdk_eventbridge::Client;
use serde_json::{json, Value};
use tokio::runtime::Runtime;

const DRAIN: Duration = Duration::from_secs(60);
/// `common::START` in epoch seconds.
const START_SECONDS: i64 = 1_893_456_000;
const SDK_BUS_ARN: &str = "arn:aws:events:us-east-1:123456789012:event-bus/sdk-bus";
const SHOP_EVENTS_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:shop-events";

fn lambda(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")
}

fn target(id: &str, arn: &str) -> aws_sdk_eventbridge::types::builders::TargetBuilder {
    Target::builder().id(id).arn(arn)
}

fn entry(bus: &str, source: &str, detail: &str) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(source)
        .detail_type("Sdk Thing")
        .detail(detail)
        .build()
}

struct Setup {
    sandbox: sandbox_testing::Sandbox,
    rt: Runtime,
    eb: Client,
}

fn start() -> Setup {
    let sandbox = common::manual("bus");
    let eb = aws::eventbridge(&sandbox);
    Setup {
        sandbox,
        rt: aws::runtime(),
        eb,
    }
}

#[test]
fn buses_are_created_described_listed_and_deleted() {
    let Setup { sandbox, rt, eb } = start();
    let made = rt
        .block_on(
            eb.create_event_bus()
                .name("sdk-bus")
                .description("made by the SDK")
                .send(),
        )
        .unwrap();
    assert_eq!(made.event_bus_arn(), Some(SDK_BUS_ARN));
    let again = rt
        .block_on(eb.create_event_bus().name("sdk-bus").send())
        .unwrap_err();
    assert_eq!(aws::code(&again), "ResourceAlreadyExistsException");
    let described = rt
        .block_on(eb.describe_event_bus().name("sdk-bus").send())
        .unwrap();
    assert_eq!(described.description(), Some("made by the SDK"));
    assert_eq!(described.arn(), Some(SDK_BUS_ARN));
    assert_eq!(
        described.creation_time().map(|t| t.secs()),
        Some(START_SECONDS)
    );

    // Paged one at a time: the manifest's buses and the SDK's, in name order.
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = rt
            .block_on(
                eb.list_event_buses()
                    .limit(1)
                    .set_next_token(token.clone())
                    .send(),
            )
            .unwrap();
        names.extend(
            page.event_buses()
                .iter()
                .filter_map(|b| b.name().map(String::from)),
        );
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, vec!["default", "orders", "sdk-bus"]);
    let prefixed = rt
        .block_on(eb.list_event_buses().name_prefix("sdk").send())
        .unwrap();
    assert_eq!(prefixed.event_buses().len(), 1);
    rt.block_on(
        eb.update_event_bus()
            .name("sdk-bus")
            .description("changed")
            .send(),
    )
    .unwrap();
    let described = rt
        .block_on(eb.describe_event_bus().name(SDK_BUS_ARN).send())
        .unwrap();
    assert_eq!(described.description(), Some("changed"));
    // One world: the control API lists it.
    assert_eq!(sandbox.bus("sdk-bus").unwrap()["origin"], "api");

    let default = rt
        .block_on(eb.delete_event_bus().name("default").send())
        .unwrap_err();
    assert_eq!(aws::code(&default), "ValidationException");
    rt.block_on(eb.delete_event_bus().name("sdk-bus").send())
        .unwrap();
    let gone = rt
        .block_on(eb.describe_event_bus().name("sdk-bus").send())
        .unwrap_err();
    assert_eq!(aws::code(&gone), "ResourceNotFoundException");
    assert!(sandbox.bus("sdk-bus").is_err());

    // The manifest's bus: gone with its rules, then re-created with them.
    rt.block_on(eb.delete_event_bus().name("orders").send())
        .unwrap();
    let put = |detail: &str| {
        rt.block_on(
            eb.put_events()
                .entries(entry("orders", "sdk", detail))
                .send(),
        )
        .unwrap()
    };
    assert_eq!(
        put("{}").entries()[0].error_code(),
        Some("ResourceNotFoundException")
    );
    rt.block_on(eb.create_event_bus().name("orders").send())
        .unwrap();
    assert_eq!(put(r#"{"back": true}"#).failed_entry_count(), 0);
    sandbox.drain(DRAIN).unwrap();
    let got = events(&sandbox, "bus/orders-all");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["detail"], json!({"back": true}));
}

#[test]
fn rules_are_put_described_listed_toggled_and_deleted() {
    let Setup {
        sandbox: _sandbox,
        rt,
        eb,
    } = start();
    let invalid = rt
        .block_on(
            eb.put_rule()
                .name("bad")
                .event_pattern(r#"{"source": "not-an-array"}"#)
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&invalid), "InvalidEventPatternException");
    let unknown_bus = rt
        .block_on(
            eb.put_rule()
                .name("r")
                .event_bus_name("nope")
                .event_pattern(r#"{"source": ["x"]}"#)
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&unknown_bus), "ResourceNotFoundException");
    let neither = rt.block_on(eb.put_rule().name("r").send()).unwrap_err();
    assert_eq!(aws::code(&neither), "ValidationException");

    let arn = rt
        .block_on(
            eb.put_rule()
                .name("sdk-rule")
                .event_pattern(r#"{"source": ["sdk"]}"#)
                .description("first")
                .send(),
        )
        .unwrap()
        .rule_arn
        .unwrap();
    assert_eq!(arn, "arn:aws:events:us-east-1:123456789012:rule/sdk-rule");
    rt.block_on(
        eb.put_targets()
            .rule("sdk-rule")
            .targets(target("q", SHOP_EVENTS_ARN).build().unwrap())
            .send(),
    )
    .unwrap();
    // PutRule again replaces the settings and keeps the targets.
    rt.block_on(
        eb.put_rule()
            .name("sdk-rule")
            .event_pattern(r#"{"source": ["sdk"]}"#)
            .description("second")
            .state(RuleState::Disabled)
            .send(),
    )
    .unwrap();
    let rule = rt
        .block_on(eb.describe_rule().name("sdk-rule").send())
        .unwrap();
    assert_eq!(rule.description(), Some("second"));
    assert_eq!(rule.state(), Some(&RuleState::Disabled));
    assert_eq!(rule.event_pattern(), Some(r#"{"source": ["sdk"]}"#));
    assert_eq!(rule.event_bus_name(), Some("default"));
    rt.block_on(eb.enable_rule().name("sdk-rule").send())
        .unwrap();
    let rule = rt
        .block_on(eb.describe_rule().name("sdk-rule").send())
        .unwrap();
    assert_eq!(rule.state(), Some(&RuleState::Enabled));
    rt.block_on(eb.disable_rule().name("sdk-rule").send())
        .unwrap();
    let listed = rt
        .block_on(eb.list_targets_by_rule().rule("sdk-rule").send())
        .unwrap();
    assert_eq!(listed.targets().len(), 1);

    // A schedule rule is accepted and described.
    rt.block_on(
        eb.put_rule()
            .name("nightly")
            .schedule_expression("cron(0 3 * * ? *)")
            .send(),
    )
    .unwrap();
    let nightly = rt
        .block_on(eb.describe_rule().name("nightly").send())
        .unwrap();
    assert_eq!(nightly.schedule_expression(), Some("cron(0 3 * * ? *)"));
    let bad_schedule = rt
        .block_on(
            eb.put_rule()
                .name("never")
                .schedule_expression("every tuesday")
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&bad_schedule), "ValidationException");

    // The manifest's rules and the SDK's, one list.
    let names = |bus: &str, prefix: &str| -> Vec<String> {
        rt.block_on(
            eb.list_rules()
                .event_bus_name(bus)
                .name_prefix(prefix)
                .send(),
        )
        .unwrap()
        .rules()
        .iter()
        .filter_map(|r| r.name().map(String::from))
        .collect()
    };
    assert_eq!(
        names("default", ""),
        vec!["big", "fails", "nightly", "off", "rule1", "sdk-rule"]
    );
    assert_eq!(names("default", "sdk"), vec!["sdk-rule"]);
    assert_eq!(names("orders", ""), vec!["everything"]);

    let refused = rt
        .block_on(eb.delete_rule().name("sdk-rule").send())
        .unwrap_err();
    assert_eq!(aws::code(&refused), "ValidationException");
    rt.block_on(eb.remove_targets().rule("sdk-rule").ids("q").send())
        .unwrap();
    rt.block_on(eb.delete_rule().name("sdk-rule").send())
        .unwrap();
    let gone = rt
        .block_on(eb.describe_rule().name("sdk-rule").send())
        .unwrap_err();
    assert_eq!(aws::code(&gone), "ResourceNotFoundException");
    let no_rule = rt
        .block_on(eb.list_targets_by_rule().rule("sdk-rule").send())
        .unwrap_err();
    assert_eq!(aws::code(&no_rule), "ResourceNotFoundException");

    // The manifest's targets, numbered from 1, with their input settings.
    let big = rt
        .block_on(eb.list_targets_by_rule().rule("big").send())
        .unwrap();
    let ids: Vec<_> = big.targets().iter().map(|t| t.id()).collect();
    assert_eq!(ids, vec!["1", "2", "3"]);
    assert_eq!(big.targets()[0].arn(), SHOP_EVENTS_ARN);
    assert_eq!(big.targets()[0].input_path(), Some("$.detail"));
    assert_eq!(
        big.targets()[1].arn(),
        "arn:aws:sns:us-east-1:123456789012:notices"
    );
    assert_eq!(big.targets()[2].arn(), lambda("bus-transformed"));
    assert!(big.targets()[2].input_transformer().is_some());
    let by_target = rt
        .block_on(
            eb.list_rule_names_by_target()
                .target_arn(lambda("bus-first"))
                .send(),
        )
        .unwrap();
    assert_eq!(by_target.rule_names(), ["off", "rule1"]);
}

#[test]
fn test_event_pattern_matches_with_the_rules_patterns() {
    let Setup {
        sandbox: _sandbox,
        rt,
        eb,
    } = start();
    let event = json!({
        "id": "1", "account": "123456789012", "source": "shop", "time": "2030-01-01T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail-type": "Order",
        "detail": {"total": 150}
    })
    .to_string();
    // Whether the pattern matches, or the error code.
    let test = |pattern: &str, event: &str| {
        rt.block_on(
            eb.test_event_pattern()
                .event_pattern(pattern)
                .event(event)
                .send(),
        )
        .map(|out| out.result())
        .map_err(|err| aws::code(&err))
    };
    let big = r#"{"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}"#;
    assert_eq!(test(big, &event), Ok(true));
    assert_eq!(test(r#"{"source": ["other"]}"#, &event), Ok(false));
    let invalid = test(r#"{"detail": {"total": [{"numeric": [">"]}]}}"#, &event);
    assert_eq!(invalid, Err("InvalidEventPatternException".to_string()));
    let not_an_event = test(big, r#"{"source": "shop"}"#);
    assert_eq!(not_an_event, Err("ValidationException".to_string()));
}

#[test]
fn put_events_reports_each_entry_and_runs_the_manifest_rule() {
    let Setup { sandbox, rt, eb } = start();
    let out = rt
        .block_on(
            eb.put_events()
                .entries(entry("default", "myevent", r#"{"from": "sdk"}"#))
                .entries(entry("default", "myevent", "{not json"))
                .entries(entry("nope", "myevent", "{}"))
                .entries(entry(
                    "arn:aws:events:us-east-1:123456789012:event-bus/orders",
                    "sdk",
                    "{}",
                ))
                .send(),
        )
        .unwrap();
    assert_eq!(out.failed_entry_count(), 2);
    let entries = out.entries();
    let id = entries[0].event_id().unwrap().to_string();
    assert_eq!(entries[1].error_code(), Some("MalformedDetail"));
    assert_eq!(entries[2].error_code(), Some("ResourceNotFoundException"));
    assert!(entries[3].event_id().is_some());
    sandbox.drain(DRAIN).unwrap();
    for function in ["bus/first", "bus/second"] {
        let got = events(&sandbox, function);
        assert_eq!(got.len(), 1, "{function}");
        assert_eq!(got[0]["id"], id.as_str());
        assert_eq!(got[0]["detail"], json!({"from": "sdk"}));
        assert_eq!(got[0]["detail-type"], "Sdk Thing");
    }
    assert_eq!(events(&sandbox, "bus/orders-all")[0]["source"], "sdk");
}

#[test]
fn an_sdk_bus_rule_and_lambda_target_run_an_app_function_also_for_handlers_events() {
    let Setup { sandbox, rt, eb } = start();
    // `nope` is the bus the fixture's handler puts its second entry on: refused until it
    // exists, then routed like any other.
    rt.block_on(eb.create_event_bus().name("nope").send())
        .unwrap();
    rt.block_on(
        eb.put_rule()
            .name("all")
            .event_bus_name("nope")
            .event_pattern(r#"{"source": [{"prefix": ""}]}"#)
            .send(),
    )
    .unwrap();
    let put = rt
        .block_on(
            eb.put_targets()
                .rule("all")
                .event_bus_name("nope")
                .targets(target("fn", &lambda("bus-second")).build().unwrap())
                .targets(target("missing", &lambda("bus-missing")).build().unwrap())
                .targets(
                    target(
                        "elsewhere",
                        "arn:aws:states:us-east-1:123456789012:stateMachine:x",
                    )
                    .build()
                    .unwrap(),
                )
                .send(),
        )
        .unwrap();
    assert_eq!(put.failed_entry_count(), 2);
    let failed: Vec<_> = put
        .failed_entries()
        .iter()
        .map(|f| (f.target_id().unwrap(), f.error_code().unwrap()))
        .collect();
    assert_eq!(
        failed,
        vec![
            ("missing", "ResourceNotFoundException"),
            ("elsewhere", "ValidationException")
        ]
    );

    let sent = rt
        .block_on(
            eb.put_events()
                .entries(entry("nope", "sdk", r#"{"n": 1}"#))
                .send(),
        )
        .unwrap();
    let id = sent.entries()[0].event_id().unwrap().to_string();
    sandbox.drain(DRAIN).unwrap();
    let got = events(&sandbox, "bus/second");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["id"], id.as_str());

    // A handler's bus.PutEvents reaches the SDK's bus (its second entry names `nope`).
    let answer = sandbox
        .post_json("/publish", &json!({"hello": "world"}))
        .unwrap()
        .ok_json()
        .unwrap();
    assert_eq!(answer["failedEntryCount"], 0, "{answer}");
    sandbox.drain(DRAIN).unwrap();
    // bus/second: the SDK's event, then the handler's twice (default's rule1 and nope's).
    let got = events(&sandbox, "bus/second");
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[1..].iter().all(|e| e["detail-type"] == "FromHandler"));

    let bus = sandbox.bus("nope").unwrap();
    let rule = &bus["rules"][0];
    assert_eq!(rule["targets"][0]["id"], "fn");
    assert_eq!(rule["targets"][0]["delivered"], 2);
}

#[test]
fn queue_topic_and_shaped_targets_receive_exactly_their_input() {
    let Setup { sandbox, rt, eb } = start();
    rt.block_on(
        eb.put_rule()
            .name("shaped")
            .event_pattern(r#"{"source": ["sdk"]}"#)
            .send(),
    )
    .unwrap();
    let transformer = InputTransformer::builder()
        .input_paths_map("id", "$.detail.id")
        .input_paths_map("src", "$.source")
        .input_template(r#"{"order": <id>, "from": "<src>", "rule": <aws.events.rule-name>}"#)
        .build()
        .unwrap();
    let put = rt
        .block_on(
            eb.put_targets()
                .rule("shaped")
                .targets(target("whole", SHOP_EVENTS_ARN).build().unwrap())
                .targets(
                    target("constant", SHOP_EVENTS_ARN)
                        .input(r#"{"fixed": true}"#)
                        .build()
                        .unwrap(),
                )
                .targets(
                    target("path", SHOP_EVENTS_ARN)
                        .input_path("$.detail")
                        .build()
                        .unwrap(),
                )
                .targets(
                    target("template", SHOP_EVENTS_ARN)
                        .input_transformer(transformer)
                        .build()
                        .unwrap(),
                )
                .targets(
                    target("topic", "arn:aws:sns:us-east-1:123456789012:notices")
                        .input(r#""to the topic""#)
                        .build()
                        .unwrap(),
                )
                .send(),
        )
        .unwrap();
    assert_eq!(put.failed_entry_count(), 0);
    let listed = rt
        .block_on(eb.list_targets_by_rule().rule("shaped").send())
        .unwrap();
    assert_eq!(listed.targets()[1].input(), Some(r#"{"fixed": true}"#));
    assert_eq!(listed.targets()[2].input_path(), Some("$.detail"));
    let sixth = rt
        .block_on(
            eb.put_targets()
                .rule("shaped")
                .targets(target("sixth", SHOP_EVENTS_ARN).build().unwrap())
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&sixth), "LimitExceededException");

    let sent = rt
        .block_on(
            eb.put_events()
                .entries(entry("default", "sdk", r#"{"id": 42, "note": "a b"}"#))
                .send(),
        )
        .unwrap();
    let id = sent.entries()[0].event_id().unwrap().to_string();
    sandbox.drain(DRAIN).unwrap();

    let bodies: Vec<String> = sandbox
        .peek("shop-events")
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(bodies.len(), 4, "{bodies:?}");
    // The whole event, exactly: AWS's key order, the detail as written.
    assert_eq!(
        bodies[0],
        format!(
            "{{\"version\":\"0\",\"id\":\"{id}\",\"detail-type\":\"Sdk Thing\",\"source\":\"sdk\",\"account\":\"123456789012\",\"time\":\"2030-01-01T00:00:00Z\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":{{\"id\":42,\"note\":\"a b\"}}}}"
        )
    );
    assert_eq!(bodies[1], r#"{"fixed": true}"#);
    assert_eq!(
        serde_json::from_str::<Value>(&bodies[2]).unwrap(),
        json!({"id": 42, "note": "a b"})
    );
    assert_eq!(
        serde_json::from_str::<Value>(&bodies[3]).unwrap(),
        json!({"order": 42, "from": "sdk", "rule": "shaped"})
    );
    let notices = events(&sandbox, "events/notices");
    assert_eq!(notices.len(), 1);
    assert_eq!(
        notices[0]["Records"][0]["Sns"]["Message"],
        "\"to the topic\""
    );
}

#[test]
fn archives_record_and_replays_resend_on_the_manual_clock() {
    let Setup { sandbox, rt, eb } = start();
    let orders = "arn:aws:events:us-east-1:123456789012:event-bus/orders";
    let invalid = rt
        .block_on(
            eb.create_archive()
                .archive_name("bad")
                .event_source_arn(orders)
                .event_pattern("[]")
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&invalid), "InvalidEventPatternException");
    let made = rt
        .block_on(
            eb.create_archive()
                .archive_name("sdk-only")
                .event_source_arn(orders)
                .event_pattern(r#"{"source": ["sdk"]}"#)
                .send(),
        )
        .unwrap();
    assert_eq!(
        made.archive_arn(),
        Some("arn:aws:events:us-east-1:123456789012:archive/sdk-only")
    );
    let again = rt
        .block_on(
            eb.create_archive()
                .archive_name("sdk-only")
                .event_source_arn(orders)
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&again), "ResourceAlreadyExistsException");
    let unknown_bus = rt
        .block_on(
            eb.create_archive()
                .archive_name("x")
                .event_source_arn(SDK_BUS_ARN)
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&unknown_bus), "ResourceNotFoundException");

    rt.block_on(
        eb.put_events()
            .entries(entry("orders", "sdk", r#"{"n": 1}"#))
            .entries(entry("orders", "other", r#"{"n": 2}"#))
            .send(),
    )
    .unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(events(&sandbox, "bus/orders-all").len(), 2);
    rt.block_on(
        eb.update_archive()
            .archive_name("sdk-only")
            .description("sdk events")
            .retention_days(1)
            .send(),
    )
    .unwrap();
    let archive = rt
        .block_on(eb.describe_archive().archive_name("sdk-only").send())
        .unwrap();
    assert_eq!(archive.event_count(), 1);
    assert_eq!(archive.retention_days(), Some(1));
    assert_eq!(archive.description(), Some("sdk events"));
    assert_eq!(archive.event_source_arn(), Some(orders));
    let listed = rt
        .block_on(eb.list_archives().event_source_arn(orders).send())
        .unwrap();
    assert_eq!(listed.archives().len(), 1);
    assert_eq!(sandbox.archives("orders").unwrap()[0]["eventCount"], 1);

    sandbox.advance("1h").unwrap();
    let started = rt
        .block_on(
            eb.start_replay()
                .replay_name("again")
                .event_source_arn(made.archive_arn().unwrap())
                .event_start_time(DateTime::from_secs(START_SECONDS))
                .event_end_time(DateTime::from_secs(START_SECONDS + 1800))
                .destination(ReplayDestination::builder().arn(orders).build().unwrap())
                .send(),
        )
        .unwrap();
    assert_eq!(
        started.replay_arn(),
        Some("arn:aws:events:us-east-1:123456789012:replay/again")
    );
    sandbox.drain(DRAIN).unwrap();
    let got = events(&sandbox, "bus/orders-all");
    assert_eq!(got.len(), 3);
    assert_eq!(got[2]["replay-name"], "again");
    assert_eq!(got[2]["detail"], json!({"n": 1}));
    let replay = rt
        .block_on(eb.describe_replay().replay_name("again").send())
        .unwrap();
    assert_eq!(replay.state(), Some(&ReplayState::Completed));
    assert_eq!(
        replay.event_last_replayed_time().map(|t| t.secs()),
        Some(START_SECONDS)
    );
    assert_eq!(
        replay.replay_start_time().map(|t| t.secs()),
        Some(START_SECONDS + 3600)
    );
    let replays = rt
        .block_on(eb.list_replays().name_prefix("ag").send())
        .unwrap();
    assert_eq!(replays.replays().len(), 1);
    let cancel = rt
        .block_on(eb.cancel_replay().replay_name("again").send())
        .unwrap_err();
    assert_eq!(aws::code(&cancel), "IllegalStatusException");
    let duplicate = rt
        .block_on(
            eb.start_replay()
                .replay_name("again")
                .event_source_arn(made.archive_arn().unwrap())
                .event_start_time(DateTime::from_secs(START_SECONDS))
                .event_end_time(DateTime::from_secs(START_SECONDS + 1800))
                .destination(ReplayDestination::builder().arn(orders).build().unwrap())
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&duplicate), "ResourceAlreadyExistsException");

    // Retention: a day after archiving, the event no longer counts.
    sandbox.advance("24h").unwrap();
    let archive = rt
        .block_on(eb.describe_archive().archive_name("sdk-only").send())
        .unwrap();
    assert_eq!(archive.event_count(), 0);
    rt.block_on(eb.delete_archive().archive_name("sdk-only").send())
        .unwrap();
    let gone = rt
        .block_on(eb.describe_archive().archive_name("sdk-only").send())
        .unwrap_err();
    assert_eq!(aws::code(&gone), "ResourceNotFoundException");
}

#[test]
fn what_the_sdk_made_survives_a_hot_reload() {
    let dir = tempfile::tempdir().unwrap();
    let echo =
        std::fs::read_to_string(common::fixture("bus").join("src/bus/first/handler.wat")).unwrap();
    let handler = dir.path().join("src/bus/h");
    std::fs::create_dir_all(&handler).unwrap();
    std::fs::write(handler.join("handler.wat"), echo).unwrap();
    let manifest = dir.path().join("app.arc");
    let base = "@app\nreload\n@bus\ndefault\n  rule a {\"source\": [\"a\"]}\n  target a fn:bus/h\n";
    std::fs::write(&manifest, base).unwrap();
    let sandbox = sandbox_testing::Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .manual_clock()
        .start()
        .unwrap();
    let rt = aws::runtime();
    let eb = aws::eventbridge(&sandbox);
    rt.block_on(eb.create_event_bus().name("sdk-bus").send())
        .unwrap();
    for bus in ["sdk-bus", "default"] {
        rt.block_on(
            eb.put_rule()
                .name("sdk-rule")
                .event_bus_name(bus)
                .event_pattern(r#"{"source": ["sdk"]}"#)
                .send(),
        )
        .unwrap();
        rt.block_on(
            eb.put_targets()
                .rule("sdk-rule")
                .event_bus_name(bus)
                .targets(target("h", &lambda("bus-h")).build().unwrap())
                .send(),
        )
        .unwrap();
    }
    // An extra target on the manifest's rule.
    rt.block_on(
        eb.put_targets()
            .rule("a")
            .targets(
                target("extra", &lambda("bus-h"))
                    .input("{}")
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();

    common::replace(
        &manifest,
        &format!("{base}  rule b {{\"source\": [\"b\"]}}\n  target b fn:bus/h\n"),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sandbox.bus("default").unwrap()["rules"]
        .as_array()
        .map(Vec::len)
        != Some(3)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload: {}",
            sandbox.output()
        );
        std::thread::yield_now();
    }
    let a = rt
        .block_on(eb.list_targets_by_rule().rule("a").send())
        .unwrap();
    let ids: Vec<_> = a.targets().iter().map(|t| t.id()).collect();
    assert_eq!(ids, vec!["1", "extra"]);
    rt.block_on(
        eb.put_events()
            .entries(entry("sdk-bus", "sdk", "{}"))
            .entries(entry("default", "sdk", "{}"))
            .entries(entry("default", "a", "{}"))
            .send(),
    )
    .unwrap();
    sandbox.drain(DRAIN).unwrap();
    // sdk-bus's rule, default's SDK rule, and rule a's two targets.
    assert_eq!(first_lines(&sandbox, "bus/h").len(), 4);
}

#[test]
fn a_schedule_rule_sends_the_scheduled_event_at_every_tick_of_the_sandbox_clock() {
    let Setup { sandbox, rt, eb } = start();
    rt.block_on(
        eb.put_rule()
            .name("hourly")
            .schedule_expression("rate(1 hour)")
            .send(),
    )
    .unwrap();
    rt.block_on(
        eb.put_targets()
            .rule("hourly")
            .targets(target("q", SHOP_EVENTS_ARN).build().unwrap())
            .targets(target("fn", &lambda("bus-first")).build().unwrap())
            .send(),
    )
    .unwrap();
    sandbox.advance("59m").unwrap();
    sandbox.drain(DRAIN).unwrap();
    assert!(sandbox.peek("shop-events").unwrap().is_empty());
    sandbox.advance("61m").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let bodies: Vec<Value> = sandbox
        .peek("shop-events")
        .unwrap()
        .iter()
        .map(|m| serde_json::from_str(m["body"].as_str().unwrap()).unwrap())
        .collect();
    let times: Vec<_> = bodies.iter().map(|e| e["time"].clone()).collect();
    assert_eq!(
        times,
        vec![json!("2030-01-01T01:00:00Z"), json!("2030-01-01T02:00:00Z")]
    );
    assert_eq!(bodies[0]["detail-type"], "Scheduled Event");
    assert_eq!(
        bodies[0]["resources"],
        json!(["arn:aws:events:us-east-1:123456789012:rule/hourly"])
    );
    let got = events(&sandbox, "bus/first");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["source"], "aws.events");
}
