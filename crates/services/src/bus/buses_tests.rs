//! Unit tests for [`Buses`]: `PutEvents` validation, the envelope, rules and input
//! shaping, function retries, archives with retention, and replays.

use std::collections::BTreeMap;

use chrono::TimeZone;
use serde_json::{json, Value};

use super::*;
use crate::bus::event::MAX_ENTRIES;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + TimeDelta::seconds(seconds)
}

fn pattern(value: Value) -> EventPattern {
    EventPattern::compile(&value).expect("valid pattern")
}

fn target(t: BusTarget) -> RuleTargetConfig {
    RuleTargetConfig::compile(target_id(&t), t, TargetInput::default()).expect("no input")
}

fn target_id(t: &BusTarget) -> String {
    match t {
        BusTarget::Function(n) | BusTarget::Queue(n) | BusTarget::Topic(n) => n.clone(),
    }
}

fn queue(name: &str) -> BusTarget {
    BusTarget::Queue(name.to_string())
}

fn rule(name: &str, p: Value, targets: Vec<RuleTargetConfig>) -> RuleConfig {
    RuleConfig {
        targets,
        ..RuleConfig::new(name, pattern(p.clone()), p.to_string())
    }
}

fn buses(configs: Vec<BusConfig>) -> Buses {
    Buses::new(configs).expect("valid buses")
}

fn bus(name: &str, rules: Vec<RuleConfig>, archives: Vec<ArchiveConfig>) -> BusConfig {
    BusConfig {
        rules,
        archives,
        ..BusConfig::new(name)
    }
}

fn entry(source: &str, detail: &str) -> PutEntry {
    PutEntry::new(source, "Thing Happened", detail)
}

fn timed(source: &str, detail: &str, time: DateTime<Utc>) -> PutEntry {
    PutEntry {
        time: Some(time),
        ..entry(source, detail)
    }
}

fn put(b: &mut Buses, entries: Vec<PutEntry>, now: DateTime<Utc>) -> PutEventsOutcome {
    b.put_events(entries, now).expect("accepted call")
}

#[test]
fn put_events_reports_each_entry_like_eventbridge() {
    let mut b = buses(vec![bus("orders", vec![], vec![])]);
    let mut unknown_bus = entry("shop", "{}");
    unknown_bus.event_bus_name = Some("ordres".into());
    let mut no_source = entry("", "{}");
    no_source.source = None;
    let mut no_type = entry("shop", "{}");
    no_type.detail_type = Some(String::new());
    let mut no_detail = entry("shop", "{}");
    no_detail.detail = None;
    let outcome = put(
        &mut b,
        vec![
            entry("shop", r#"{"id":1}"#),
            no_source,
            no_type,
            no_detail,
            entry("shop", "{not json"),
            entry("shop", "[1,2]"),
            unknown_bus,
        ],
        at(0),
    );
    let r = &outcome.result;
    assert_eq!(r.failed_entry_count, 6);
    assert_eq!(r.entries.len(), 7);
    assert!(r.entries[0].event_id.is_some());
    let codes: Vec<Option<&str>> = r.entries.iter().map(|e| e.error_code.as_deref()).collect();
    assert_eq!(
        codes,
        [
            None,
            Some("InvalidArgument"),
            Some("InvalidArgument"),
            Some("InvalidArgument"),
            Some("MalformedDetail"),
            Some("MalformedDetail"),
            Some("ResourceNotFoundException")
        ]
    );
    assert_eq!(
        r.entries[1].error_message.as_deref(),
        Some("Parameter Source is not valid. Reason: Source is a required argument.")
    );
    assert_eq!(
        r.entries[6].error_message.as_deref(),
        Some("Event bus ordres does not exist. (buses: default, orders)")
    );
    let wire = serde_json::to_value(r).expect("serializes");
    assert_eq!(wire["FailedEntryCount"], 6);
    assert_eq!(wire["Entries"][0].as_object().map(|o| o.len()), Some(1));
    assert!(wire["Entries"][0]["EventId"].is_string());
    assert_eq!(wire["Entries"][1]["ErrorCode"], "InvalidArgument");
    assert!(wire["Entries"][1].get("EventId").is_none());
    assert_eq!(b.stats("default", at(0)).expect("known").events, 1);
}

#[test]
fn whole_call_limits() {
    let mut b = buses(vec![]);
    assert_eq!(b.put_events(vec![], at(0)), Err(PutEventsError::NoEntries));
    let many = vec![entry("s", "{}"); MAX_ENTRIES + 1];
    assert_eq!(
        b.put_events(many, at(0)),
        Err(PutEventsError::TooManyEntries { count: 11 })
    );
    let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(MAX_REQUEST_BYTES));
    assert!(matches!(
        b.put_events(vec![entry("s", &big)], at(0)),
        Err(PutEventsError::TooLarge { .. })
    ));
    assert!(b
        .put_events(vec![entry("s", "{}"); MAX_ENTRIES], at(0))
        .is_ok());
}

#[test]
fn the_event_envelope_has_aws_key_order_and_keeps_detail_order() {
    let mut b = buses(vec![bus(
        "default",
        vec![rule(
            "all",
            json!({"source": ["shop"]}),
            vec![target(queue("q"))],
        )],
        vec![],
    )]);
    let mut e = timed(
        "shop",
        "{ \"zeta\": 1,\n  \"alpha\": {\"b\": 2, \"a\": 1} }",
        at(7),
    );
    e.resources = vec!["arn:aws:s3:::bucket".into()];
    let outcome = put(&mut b, vec![e], at(100));
    let id = outcome.result.entries[0]
        .event_id
        .clone()
        .unwrap_or_default();
    let expected = format!(
        concat!(
            r#"{{"version":"0","id":"{id}","detail-type":"Thing Happened","source":"shop","#,
            r#""account":"123456789012","time":"2026-01-01T00:00:07Z","region":"us-east-1","#,
            r#""resources":["arn:aws:s3:::bucket"],"detail":{{"zeta":1,"alpha":{{"b":2,"a":1}}}}}}"#
        ),
        id = id
    );
    assert_eq!(outcome.routed.sends.len(), 1);
    let send = &outcome.routed.sends[0];
    assert_eq!(send.input, expected);
    assert_eq!(send.target, queue("q"));
    assert_eq!(send.rule, "all");
    assert_eq!(send.bus, "default");
    assert_eq!(send.event_id, id);
    assert_eq!(send.replay, None);

    // Without a time the event gets the call's time.
    let outcome = put(&mut b, vec![entry("shop", "{}")], at(100));
    let event: Value = serde_json::from_str(&outcome.routed.sends[0].input).expect("json");
    assert_eq!(event["time"], "2026-01-01T00:01:40Z");
    assert_eq!(event["resources"], json!([]));
}

#[test]
fn only_enabled_matching_rules_deliver() {
    let mut off = rule(
        "off",
        json!({"source": ["shop"]}),
        vec![target(queue("off-q"))],
    );
    off.enabled = false;
    let mut b = buses(vec![bus(
        "default",
        vec![
            rule(
                "on",
                json!({"source": ["shop"]}),
                vec![target(queue("on-q"))],
            ),
            off,
            rule(
                "refunds",
                json!({"detail": {"kind": ["refund"]}}),
                vec![target(BusTarget::Topic("refunds".into()))],
            ),
        ],
        vec![],
    )]);
    let outcome = put(
        &mut b,
        vec![
            entry("shop", r#"{"kind":"order"}"#),
            entry("bank", r#"{"kind":"refund"}"#),
        ],
        at(0),
    );
    let sent: Vec<(&str, &BusTarget)> = outcome
        .routed
        .sends
        .iter()
        .map(|s| (s.rule.as_str(), &s.target))
        .collect();
    assert_eq!(
        sent,
        [
            ("on", &queue("on-q")),
            ("refunds", &BusTarget::Topic("refunds".into()))
        ]
    );
    let stats = b.stats("default", at(0)).expect("known");
    let matched: BTreeMap<&str, u64> = stats
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.matched))
        .collect();
    assert_eq!(matched["on"], 1);
    assert_eq!(matched["off"], 0);
    assert_eq!(matched["refunds"], 1);
    assert_eq!(stats.rules[0].targets[0].delivered, 1);
    assert_eq!(
        stats.rules[0].arn,
        "arn:aws:events:us-east-1:123456789012:rule/on"
    );
}

#[test]
fn input_shaping_is_applied_per_target() {
    let paths: BTreeMap<String, String> = [("id".to_string(), "$.detail.id".to_string())]
        .into_iter()
        .collect();
    let shaped = |input: Result<InputShape, _>, name: &str| RuleTargetConfig {
        input: input.expect("valid input"),
        ..target(queue(name))
    };
    let mut b = buses(vec![bus(
        "shop",
        vec![rule(
            "orders",
            json!({"detail-type": ["Thing Happened"]}),
            vec![
                target(queue("whole")),
                shaped(
                    InputShape::compile(Some(r#"{"fixed":true}"#), None, None),
                    "constant",
                ),
                shaped(InputShape::compile(None, Some("$.detail"), None), "path"),
                shaped(
                    InputShape::compile(None, None, Some((&paths, r#"{"order":<id>}"#))),
                    "template",
                ),
            ],
        )],
        vec![],
    )]);
    let mut e = entry("shop", r#"{"id":42}"#);
    e.event_bus_name = Some("shop".into());
    let outcome = put(&mut b, vec![e], at(0));
    let inputs: BTreeMap<String, String> = outcome
        .routed
        .sends
        .iter()
        .map(|s| match &s.target {
            BusTarget::Queue(q) => (q.clone(), s.input.clone()),
            other => (format!("{other:?}"), s.input.clone()),
        })
        .collect();
    assert!(inputs["whole"].starts_with(r#"{"version":"0","#));
    assert_eq!(inputs["constant"], r#"{"fixed":true}"#);
    assert_eq!(inputs["path"], r#"{"id":42}"#);
    let template: Value = serde_json::from_str(&inputs["template"]).expect("json");
    assert_eq!(template, json!({"order": 42}));
}

#[test]
fn function_targets_retry_like_async_lambda_then_fail_visibly() {
    let mut b = buses(vec![bus(
        "default",
        vec![rule(
            "r",
            json!({"source": ["shop"]}),
            vec![target(BusTarget::Function("handler".into()))],
        )],
        vec![],
    )]);
    let outcome = put(&mut b, vec![entry("shop", "{}")], at(0));
    assert!(outcome.routed.sends.is_empty());
    assert_eq!(outcome.routed.function_deliveries.len(), 1);
    let pending = |b: &Buses, now| {
        let p = b.pending(now);
        let d = p.iter().find(|p| p.resource == "default").cloned();
        d.map(|d| (d.due_now, d.scheduled_later))
    };
    assert_eq!(pending(&b, at(0)), Some((1, 0)));

    let first = b.due_deliveries(at(0));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].function, "handler");
    let event: Value = serde_json::from_slice(&first[0].event).expect("json");
    assert_eq!(event["source"], "shop");
    assert_eq!(
        b.complete(first[0].id, false, at(1)),
        Ok(DeliveryOutcome::Retrying {
            attempts: 1,
            at: at(61)
        })
    );
    assert_eq!(pending(&b, at(1)), Some((0, 1)));
    assert_eq!(b.next_change(at(1)), Some(at(61)));
    assert!(b.due_deliveries(at(60)).is_empty());
    let second = b.due_deliveries(at(61));
    assert_eq!(second[0].attempt, 2);
    assert_eq!(
        b.complete(second[0].id, false, at(61)),
        Ok(DeliveryOutcome::Retrying {
            attempts: 2,
            at: at(181)
        })
    );
    let third = b.due_deliveries(at(181));
    assert_eq!(third[0].attempt, 3);
    let outcome = b.complete(third[0].id, false, at(182)).expect("known");
    let DeliveryOutcome::Failed(failure) = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert_eq!(failure.attempts, 3);
    assert_eq!(failure.target, BusTarget::Function("handler".into()));
    let stats = b.stats("default", at(182)).expect("known");
    assert_eq!(stats.rules[0].targets[0].failed, 1);
    assert_eq!(stats.recent_failures, vec![failure]);
    assert_eq!(pending(&b, at(182)), Some((0, 0)));
    assert_eq!(b.next_change(at(182)), None);

    // A success settles it.
    put(&mut b, vec![entry("shop", "{}")], at(200));
    let d = b.due_deliveries(at(200));
    assert_eq!(
        b.complete(d[0].id, true, at(200)),
        Ok(DeliveryOutcome::Delivered)
    );
    let stats = b.stats("default", at(200)).expect("known");
    assert_eq!(stats.rules[0].targets[0].delivered, 1);
}

#[test]
fn archives_with_and_without_a_pattern() {
    let mut b = buses(vec![bus(
        "default",
        vec![],
        vec![
            ArchiveConfig {
                name: "everything".into(),
                pattern: None,
                retention_days: None,
                ..ArchiveConfig::new("")
            },
            ArchiveConfig {
                name: "shop-only".into(),
                pattern: Some(pattern(json!({"source": ["shop"]}))),
                retention_days: Some(3),
                ..ArchiveConfig::new("")
            },
        ],
    )]);
    let outcome = put(
        &mut b,
        vec![entry("shop", r#"{"a":1}"#), entry("bank", r#"{"b":2}"#)],
        at(0),
    );
    assert_eq!(outcome.result.failed_entry_count, 0);
    let infos = b.archives("default", at(0)).expect("known");
    let texts = b
        .archived_events("default", "everything", at(0))
        .expect("known");
    assert_eq!(infos[0].name, "everything");
    assert_eq!(infos[0].event_count, 2);
    assert_eq!(
        infos[0].size_bytes,
        texts.iter().map(|t| t.len() as u64).sum::<u64>()
    );
    assert_eq!(infos[0].retention_days, None);
    assert_eq!(infos[1].name, "shop-only");
    assert_eq!(infos[1].event_count, 1);
    assert_eq!(infos[1].retention_days, Some(3));
    assert!(b.archives("nope", at(0)).is_err());
}

#[test]
fn retention_trims_on_the_clock() {
    let mut b = buses(vec![bus(
        "default",
        vec![],
        vec![ArchiveConfig {
            name: "day".into(),
            pattern: None,
            retention_days: Some(1),
            ..ArchiveConfig::new("")
        }],
    )]);
    put(&mut b, vec![entry("s", "{}")], at(0));
    put(&mut b, vec![entry("s", "{}")], at(3600));
    let day = 86_400;
    assert_eq!(b.next_change(at(10)), Some(at(day)));
    let count = |b: &Buses, now| b.archives("default", now).expect("known")[0].event_count;
    assert_eq!(count(&b, at(day - 1)), 2);
    assert_eq!(count(&b, at(day)), 1);
    b.tick(at(day));
    assert_eq!(b.next_change(at(day)), Some(at(day + 3600)));
    assert_eq!(count(&b, at(day)), 1);
    b.tick(at(day + 3600));
    assert_eq!(count(&b, at(day + 3600)), 0);
    assert_eq!(b.next_change(at(day + 3600)), None);
}

fn replay_bus() -> Buses {
    buses(vec![bus(
        "default",
        vec![
            rule(
                "to-queue",
                json!({"source": ["shop"]}),
                vec![target(queue("q"))],
            ),
            rule(
                "to-function",
                json!({"source": ["shop"]}),
                vec![target(BusTarget::Function("f".into()))],
            ),
        ],
        vec![ArchiveConfig {
            name: "all".into(),
            pattern: None,
            retention_days: None,
            ..ArchiveConfig::new("")
        }],
    )])
}

#[test]
fn replay_delivers_exactly_the_archived_events_in_range() {
    let mut b = replay_bus();
    // Put out of time order: the replay goes by event time.
    put(
        &mut b,
        vec![
            timed("shop", r#"{"n":3}"#, at(300)),
            timed("shop", r#"{"n":1}"#, at(100)),
            timed("shop", r#"{"n":2}"#, at(200)),
            timed("shop", r#"{"n":4}"#, at(400)),
            timed("other", r#"{"n":0}"#, at(250)),
        ],
        at(500),
    );
    let _ = b.due_deliveries(at(500));
    let archived_before = b.archives("default", at(600)).expect("known")[0].event_count;
    assert_eq!(archived_before, 5);

    let (info, routed) = b
        .start_replay(
            "default",
            ReplayRequest {
                name: "again".into(),
                archive: "all".into(),
                from: at(100),
                to: at(300),
                rules: Some(vec!["to-queue".into()]),
            },
            at(600),
        )
        .expect("started");
    // n=1 and n=2 are in [100, 300); n=3 at 300 is not; `other` matches no rule.
    assert_eq!(info.events_replayed, 3);
    assert_eq!(info.deliveries, 2);
    assert_eq!(info.state, ReplayState::Completed);
    assert_eq!(info.last_event_time, Some(at(250)));
    let details: Vec<Value> = routed
        .sends
        .iter()
        .map(|s| {
            let v: Value = serde_json::from_str(&s.input).expect("json");
            assert_eq!(v["replay-name"], "again");
            assert!(s.input.ends_with(r#","replay-name":"again"}"#));
            assert_eq!(s.replay.as_deref(), Some("again"));
            assert_eq!(s.rule, "to-queue");
            v["detail"].clone()
        })
        .collect();
    assert_eq!(details, [json!({"n": 1}), json!({"n": 2})]);
    assert!(routed.function_deliveries.is_empty());
    // Not archived again.
    assert_eq!(
        b.archives("default", at(600)).expect("known")[0].event_count,
        5
    );

    assert!(matches!(
        b.start_replay(
            "default",
            ReplayRequest {
                name: "again".into(),
                archive: "all".into(),
                from: at(0),
                to: at(1000),
                rules: None,
            },
            at(700),
        ),
        Err(ReplayError::DuplicateName { .. })
    ));
}

#[test]
fn replay_runs_until_its_function_deliveries_are_handed_out() {
    let mut b = replay_bus();
    put(&mut b, vec![timed("shop", "{}", at(10))], at(10));
    let _ = b.due_deliveries(at(10));
    let (info, routed) = b
        .start_replay(
            "default",
            ReplayRequest {
                name: "r1".into(),
                archive: "all".into(),
                from: at(0),
                to: at(20),
                rules: None,
            },
            at(30),
        )
        .expect("started");
    assert_eq!(info.state, ReplayState::Running);
    assert_eq!(routed.sends.len(), 1);
    assert_eq!(routed.function_deliveries.len(), 1);
    assert_eq!(
        b.replay("default", "r1").map(|r| r.state),
        Some(ReplayState::Running)
    );
    let due = b.due_deliveries(at(31));
    assert_eq!(due.len(), 1);
    let event: Value = serde_json::from_slice(&due[0].event).expect("json");
    assert_eq!(event["replay-name"], "r1");
    let done = b.replay("default", "r1").expect("exists");
    assert_eq!(done.state, ReplayState::Completed);
    assert_eq!(done.ended_at, Some(at(31)));
}

#[test]
fn replay_errors_name_what_exists() {
    let mut b = replay_bus();
    let req = |name: &str, archive: &str, rules: Option<Vec<String>>| ReplayRequest {
        name: name.into(),
        archive: archive.into(),
        from: at(0),
        to: at(10),
        rules,
    };
    let err = b
        .start_replay("nope", req("r", "all", None), at(0))
        .expect_err("unknown bus");
    assert_eq!(
        err.to_string(),
        "there is no bus named `nope` (buses: default)"
    );
    let err = b
        .start_replay("default", req("r", "missing", None), at(0))
        .expect_err("unknown archive");
    assert_eq!(
        err.to_string(),
        "bus `default` has no archive named `missing` (archives: all)"
    );
    let err = b
        .start_replay("default", req("r", "all", Some(vec!["x".into()])), at(0))
        .expect_err("unknown rule");
    assert!(err.to_string().contains("(rules: to-queue, to-function)"));
    assert!(matches!(
        b.start_replay("default", req("bad name", "all", None), at(0)),
        Err(ReplayError::InvalidName(_))
    ));
    let mut empty = req("r", "all", None);
    empty.to = empty.from;
    assert!(matches!(
        b.start_replay("default", empty, at(0)),
        Err(ReplayError::EmptyRange { .. })
    ));
    assert!(b.stats("nope", at(0)).is_err());
}

#[test]
fn config_errors_and_reload_keep_archives() {
    assert!(matches!(
        Buses::new(vec![bus("a", vec![], vec![]), bus("a", vec![], vec![])]),
        Err(ConfigError::DuplicateBus(_))
    ));
    let mut b = replay_bus();
    put(&mut b, vec![entry("shop", "{}")], at(0));
    let dropped = b
        .replace_configs(vec![bus(
            "default",
            vec![rule(
                "to-queue",
                json!({"source": ["shop"]}),
                vec![target(queue("q"))],
            )],
            vec![ArchiveConfig {
                name: "all".into(),
                pattern: None,
                retention_days: None,
                ..ArchiveConfig::new("")
            }],
        )])
        .expect("valid");
    assert_eq!(dropped, 1);
    assert_eq!(
        b.archives("default", at(0)).expect("known")[0].event_count,
        1
    );
    assert!(b.due_deliveries(at(0)).is_empty());
    assert_eq!(b.names(), ["default"]);
}

#[test]
fn has_due_agrees_with_the_drain_report() {
    let mut b = buses(vec![bus(
        "default",
        vec![rule(
            "r",
            json!({"source": ["shop"]}),
            vec![target(BusTarget::Function("handler".into()))],
        )],
        vec![],
    )]);
    let agrees = |b: &Buses, now| {
        let report = b.pending(now).iter().any(|p| p.due_now > 0);
        assert_eq!(b.has_due(now), report, "at {now}");
        report
    };
    assert!(!agrees(&b, at(0)));
    put(&mut b, vec![entry("shop", "{}")], at(0));
    assert!(agrees(&b, at(0)));
    let first = b.due_deliveries(at(0));
    assert!(!agrees(&b, at(0)));
    b.complete(first[0].id, false, at(1)).expect("settled");
    assert!(!agrees(&b, at(60)));
    assert!(agrees(&b, at(61)));
}

fn api_target(id: &str, t: BusTarget) -> RuleTargetConfig {
    RuleTargetConfig {
        origin: Origin::Api,
        ..RuleTargetConfig::compile(id, t, TargetInput::default()).expect("no input")
    }
}

#[test]
fn api_buses_rules_and_targets_survive_a_reload_and_the_manifest_wins_on_names() {
    let manifest = || {
        vec![bus(
            "shop",
            vec![rule(
                "m",
                json!({"source": ["shop"]}),
                vec![target(queue("mq"))],
            )],
            vec![],
        )]
    };
    let mut b = buses(manifest());
    let extra = BusConfig {
        description: Some("made by the API".into()),
        origin: Origin::Api,
        ..BusConfig::new("extra")
    };
    b.create_bus(extra, at(0)).unwrap();
    let api_rule = |name: &str| rule(name, json!({"source": ["api"]}), vec![]);
    b.put_rule("extra", api_rule("r"), at(0)).unwrap();
    b.put_targets("extra", "r", vec![api_target("t", queue("xq"))])
        .unwrap();
    b.put_rule("shop", api_rule("added"), at(0)).unwrap();
    b.put_targets("shop", "m", vec![api_target("extra", queue("aq"))])
        .unwrap();
    b.create_archive("shop", ArchiveConfig::new("api-archive"), at(0))
        .unwrap();
    // Re-declaring `m` with the API does not make it the API's.
    b.put_rule("shop", api_rule("m"), at(0)).unwrap();

    b.replace_configs(manifest()).unwrap();

    assert_eq!(b.names(), vec!["default", "extra", "shop"]);
    assert_eq!(b.rule("extra", "r").unwrap().targets[0].id, "t");
    assert_eq!(b.bus_info("extra").unwrap().origin, Origin::Api);
    let m = b.rule("shop", "m").unwrap();
    assert_eq!(m.pattern_text.as_deref(), Some(r#"{"source":["shop"]}"#));
    let ids: Vec<_> = m.targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, vec!["mq", "extra"]);
    assert!(b.rule("shop", "added").is_ok());
    assert_eq!(
        b.archive_detail("api-archive", at(0)).unwrap().info.bus,
        "shop"
    );
    let mut e = entry("shop", "{}");
    e.event_bus_name = Some("shop".into());
    let out = put(&mut b, vec![e], at(1));
    let queues: Vec<_> = out.routed.sends.iter().map(|s| s.target.clone()).collect();
    assert_eq!(queues, vec![queue("mq"), queue("aq")]);
}

#[test]
fn rules_with_targets_and_the_default_bus_cannot_be_deleted() {
    let mut b = buses(vec![]);
    assert_eq!(b.delete_bus("default"), Err(AdminError::DefaultBus));
    assert_eq!(b.delete_bus("nope"), Ok(false));
    b.put_rule(
        "default",
        rule("r", json!({"source": ["x"]}), vec![]),
        at(0),
    )
    .unwrap();
    b.put_targets("default", "r", vec![api_target("1", queue("q"))])
        .unwrap();
    assert_eq!(
        b.delete_rule("default", "r"),
        Err(AdminError::RuleHasTargets)
    );
    b.remove_targets("default", "r", &["1".to_string()])
        .unwrap();
    assert_eq!(b.delete_rule("default", "r"), Ok(()));
    assert_eq!(b.delete_rule("default", "r"), Ok(()), "idempotent");
    assert!(matches!(
        b.delete_rule("nope", "r"),
        Err(AdminError::UnknownBus(_))
    ));
    let six: Vec<_> = (0..6)
        .map(|i| api_target(&i.to_string(), queue("q")))
        .collect();
    b.put_rule(
        "default",
        rule("r", json!({"source": ["x"]}), vec![]),
        at(0),
    )
    .unwrap();
    assert_eq!(
        b.put_targets("default", "r", six),
        Err(AdminError::TooManyTargets)
    );
}

#[test]
fn removing_a_function_target_drops_its_pending_deliveries() {
    let mut b = buses(vec![]);
    b.put_rule(
        "default",
        rule("r", json!({"source": ["x"]}), vec![]),
        at(0),
    )
    .unwrap();
    b.put_targets(
        "default",
        "r",
        vec![api_target("f", BusTarget::Function("handler".into()))],
    )
    .unwrap();
    let out = put(&mut b, vec![entry("x", "{}")], at(0));
    assert_eq!(out.routed.function_deliveries.len(), 1);
    assert_eq!(b.remove_targets("default", "r", &["f".to_string()]), Ok(1));
    assert!(b.due_deliveries(at(0)).is_empty());
}

#[test]
fn schedule_rules_fire_scheduled_events_at_every_tick() {
    let mut b = buses(vec![]);
    let nightly = RuleConfig {
        pattern: None,
        pattern_text: None,
        schedule: Some("rate(1 hour)".into()),
        ..rule("hourly", json!({"source": ["x"]}), vec![])
    };
    b.put_rule("default", nightly.clone(), at(0)).unwrap();
    b.put_targets("default", "hourly", vec![api_target("q", queue("q"))])
        .unwrap();
    assert_eq!(b.next_change(at(0)), Some(at(3600)));
    assert!(b.fire_schedules(at(3599), true).sends.is_empty());
    // Re-putting the same expression keeps the timer's anchor.
    b.put_rule("default", nightly, at(1800)).unwrap();
    assert!(b.has_due(at(3600)));
    let fired = b.fire_schedules(at(3 * 3600), true);
    assert_eq!(fired.sends.len(), 3);
    let event: Value = serde_json::from_str(&fired.sends[0].input).unwrap();
    assert_eq!(event["source"], "aws.events");
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(event["time"], "2026-01-01T01:00:00Z");
    assert_eq!(
        event["resources"],
        json!(["arn:aws:events:us-east-1:123456789012:rule/hourly"])
    );
    // Coalesced (system clock): only the latest missed tick.
    assert_eq!(b.fire_schedules(at(6 * 3600), false).sends.len(), 1);
    b.set_rule_enabled("default", "hourly", false).unwrap();
    assert!(b.fire_schedules(at(7 * 3600), true).sends.is_empty());
    assert!(!b.has_due(at(7 * 3600)));
}
