//! Valid manifests parse into the expected model: Architect's own examples unchanged,
//! every pragma's options, and the JSON form producing the same model as `.arc`.

use std::path::Path;
use std::time::Duration;

use sandbox_manifest::*;

fn arc(root: &Path, text: &str) -> Manifest {
    parse_arc(root, Path::new("app.arc"), text).unwrap_or_else(|e| panic!("{e}"))
}

fn json(root: &Path, text: &str) -> Manifest {
    parse_json(root, Path::new("sandbox.json"), text).unwrap_or_else(|e| panic!("{e}"))
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// The Architect "Background tasks" guide's @events example, verbatim.
#[test]
fn architect_events_example() {
    let root = tmp();
    let m = arc(
        root.path(),
        "# .arc\n@app\narc-event-app\n\n@http\nget /\npost /yolo\n\n@events\nyolo\n",
    );
    assert_eq!(m.app, "arc-event-app");
    let routes: Vec<_> = m
        .routes
        .iter()
        .map(|r| (r.method, r.path.as_str(), r.function.as_str()))
        .collect();
    assert_eq!(
        routes,
        [
            (Method::Get, "/", "http/get-index"),
            (Method::Post, "/yolo", "http/post-yolo")
        ]
    );
    assert_eq!(m.routes[1].span, Span { line: 7, column: 1 });
    assert_eq!(m.topics.len(), 1);
    let topic = &m.topics[0];
    assert_eq!((topic.name.as_str(), topic.fifo), ("yolo", false));
    assert_eq!(topic.subscriptions.len(), 1);
    assert_eq!(
        topic.subscriptions[0].target,
        Target::Function("events/yolo".into())
    );
    assert_eq!(
        topic.subscriptions[0].filter_policy_scope,
        FilterPolicyScope::MessageAttributes
    );
    let names: Vec<_> = m.functions.keys().cloned().collect();
    assert_eq!(names, ["events/yolo", "http/get-index", "http/post-yolo"]);
    let f = &m.functions["http/get-index"];
    assert_eq!(f.dir, root.path().join("src/http/get-index"));
    assert_eq!(
        f.handler,
        HandlerSource::Missing {
            looked_in: f.dir.clone()
        }
    );
    assert_eq!(
        (f.timeout, f.memory_mib),
        (DEFAULT_TIMEOUT, DEFAULT_MEMORY_MIB)
    );
    assert!(missing_handler_help(f).contains("handler.wasm"));
    assert_eq!(m.static_dir, None);
}

/// The guide's @scheduled example, verbatim (note the trailing space after `@app`).
#[test]
fn architect_scheduled_example() {
    let root = tmp();
    let text = "# .arc\n\n# your project namespace\n@app \narc-scheduled-app\n\n# http functions and routes\n@http\nget /\n\n# scheduled functions listed by name and rate\n@scheduled\ndaily rate(1 day)\n";
    let m = arc(root.path(), text);
    assert_eq!(m.app, "arc-scheduled-app");
    assert_eq!(m.schedules.len(), 1);
    let s = &m.schedules[0];
    assert_eq!(
        (
            s.name.as_str(),
            s.expression.as_str(),
            s.timezone.as_deref()
        ),
        ("daily", "rate(1 day)", None)
    );
    assert_eq!(s.function, "scheduled/daily");
    assert_eq!(
        m.functions["scheduled/daily"].dir,
        root.path().join("src/scheduled/daily")
    );
}

/// The guide's @queues example, verbatim: AWS defaults everywhere.
#[test]
fn architect_queues_example() {
    let root = tmp();
    std::fs::create_dir_all(root.path().join("src/queues/account-signup")).expect("mkdir");
    let m = arc(
        root.path(),
        "# .arc\n@app\narc-queues-app\n\n@http\nget /\n\n@queues\naccount-signup\n",
    );
    assert_eq!(
        m.queues,
        [Queue {
            name: "account-signup".into(),
            fifo: false,
            content_based_deduplication: false,
            visibility_timeout: Duration::from_secs(30),
            delay: Duration::ZERO,
            retention: Duration::from_secs(345_600),
            max_message_size: 1_048_576,
            batch_size: 10,
            batching_window: Duration::ZERO,
            max_concurrency: None,
            report_batch_item_failures: false,
            dead_letter: None,
            function: Some("queues/account-signup".into()),
            remote: None,
            span: Span { line: 9, column: 1 },
        }]
    );
}

#[test]
fn queue_without_directory_has_no_consumer() {
    let root = tmp();
    let m = arc(root.path(), "@app\na\n@queues\nfailed\n");
    assert_eq!(m.queues[0].function, None);
    assert!(m.functions.is_empty());
}

const FULL_ARC: &str = r#"@app
shop   # trailing comment

@env
LOG_LEVEL debug
GREETING hello there

@http
get /
get /users/:id
  timeout 10
  memory 512
  env LOG_LEVEL=trace EXTRA=1
any /api/*
post /orders
  build "make handler"

@queues
orders.fifo
  visibilityTimeout 60
  batchSize 5
  deadLetterQueue orders-dlq.fifo
  maxReceiveCount 5
  reportBatchItemFailures true
  contentBasedDeduplication true
orders-dlq.fifo
mail
  delaySeconds 10
  messageRetentionPeriod 3600
  maximumMessageSize 2048
  batchSize 100
  batchWindow 2
  maxConcurrency 5
  timeout 20
  deadLetterQueue failed
failed

@events
placed
  subscribers queue:mail fn:events/audit
  rawMessageDelivery true
  filterPolicy {"kind": ["big"]}
  filterPolicyScope MessageBody
  deadLetterQueue failed
quiet

@scheduled
daily rate(1 day)
noon cron(0 12 * * ? *)
  timezone Europe/Paris
weekly
  rate 7 days

@streams
clicks
  shards 2
  retention 48
  consumers analytics archive
  batchSize 50
  startingPosition LATEST
  maximumRetryAttempts 2
  maximumRecordAgeInSeconds 3600
  bisectBatchOnFunctionError true
  reportBatchItemFailures true
  onFailure queue:failed

@bus
default
  rule big {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}
  target big fn:bus/big-orders
  target big queue:mail inputPath $.detail
  rule every {"source": [{"prefix": ""}]}
  target every topic:quiet input {"fixed": true}
  disable every
  archive all retentionDays 7
  archive shop-only pattern {"source": ["shop"]}

@static
folder site
"#;

#[test]
fn every_pragma() {
    let root = tmp();
    let events_dir = root.path().join("src/events/placed");
    std::fs::create_dir_all(&events_dir).expect("mkdir");
    std::fs::write(events_dir.join("handler.wat"), "(module)").expect("write");
    let m = arc(root.path(), FULL_ARC);
    assert_eq!(m.app, "shop");

    let user = &m.functions["http/get-users-000id"];
    assert_eq!(
        (user.timeout, user.memory_mib),
        (Duration::from_secs(10), 512)
    );
    let env: Vec<_> = user
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        env,
        [
            ("EXTRA", "1"),
            ("GREETING", "hello there"),
            ("LOG_LEVEL", "trace")
        ]
    );
    assert_eq!(m.functions["http/get-index"].env["LOG_LEVEL"], "debug");
    assert_eq!(m.routes[2].function, "http/any-api-catchall");
    assert_eq!(
        m.functions["http/post-orders"].handler,
        HandlerSource::Command {
            command: "make handler".into(),
            output: root.path().join("src/http/post-orders/handler.wasm")
        }
    );

    let orders = &m.queues[0];
    assert!(orders.fifo && orders.content_based_deduplication && orders.report_batch_item_failures);
    assert_eq!(orders.visibility_timeout, Duration::from_secs(60));
    assert_eq!(
        orders.dead_letter,
        Some(DeadLetter {
            queue: "orders-dlq.fifo".into(),
            max_receive_count: 5
        })
    );
    let mail = &m.queues[2];
    assert_eq!(mail.delay, Duration::from_secs(10));
    assert_eq!(mail.retention, Duration::from_secs(3600));
    assert_eq!(
        (mail.max_message_size, mail.batch_size, mail.max_concurrency),
        (2048, 100, Some(5))
    );
    assert_eq!(mail.batching_window, Duration::from_secs(2));
    assert_eq!(
        mail.dead_letter.as_ref().map(|d| d.max_receive_count),
        Some(3)
    );
    assert_eq!(mail.function.as_deref(), Some("queues/mail"));
    assert_eq!(m.functions["queues/mail"].timeout, Duration::from_secs(20));

    let placed = &m.topics[0];
    let targets: Vec<_> = placed
        .subscriptions
        .iter()
        .map(|s| (&s.target, s.raw_message_delivery))
        .collect();
    assert_eq!(
        targets,
        [
            (&Target::Function("events/placed".into()), false),
            (&Target::Queue("mail".into()), true),
            (&Target::Function("events/audit".into()), false),
        ]
    );
    assert_eq!(
        placed.subscriptions[0].filter_policy,
        Some(serde_json::json!({"kind": ["big"]}))
    );
    assert_eq!(
        placed.subscriptions[0].filter_policy_scope,
        FilterPolicyScope::MessageBody
    );
    assert!(placed
        .subscriptions
        .iter()
        .all(|s| s.dead_letter_queue.as_deref() == Some("failed")));
    assert!(matches!(
        m.functions["events/placed"].handler,
        HandlerSource::Wat { .. }
    ));
    assert_eq!(
        m.functions["events/audit"].dir,
        root.path().join("src/events/audit")
    );
    // A topic with no subscribers still lists its own (missing) handler.
    assert_eq!(
        m.topics[1].subscriptions[0].target,
        Target::Function("events/quiet".into())
    );

    let schedules: Vec<_> = m
        .schedules
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.expression.as_str(),
                s.timezone.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        schedules,
        [
            ("daily", "rate(1 day)", None),
            ("noon", "cron(0 12 * * ? *)", Some("Europe/Paris")),
            ("weekly", "rate(7 days)", None)
        ]
    );

    let clicks = &m.streams[0];
    assert_eq!((clicks.shards, clicks.retention_hours), (2, 48));
    let consumers: Vec<_> = clicks
        .consumers
        .iter()
        .map(|c| c.function.as_str())
        .collect();
    assert_eq!(
        consumers,
        ["streams/clicks/analytics", "streams/clicks/archive"]
    );
    let c = &clicks.consumers[1];
    assert_eq!(
        (
            c.batch_size,
            c.starting_position,
            c.maximum_retry_attempts,
            c.maximum_record_age_seconds
        ),
        (50, StartingPosition::Latest, 2, 3600)
    );
    assert!(c.bisect_batch_on_function_error && c.report_batch_item_failures);
    assert_eq!(c.on_failure, Some(Target::Queue("failed".into())));

    let bus = &m.buses[0];
    assert_eq!(bus.name, "default");
    assert_eq!(bus.rules.len(), 2);
    let big = &bus.rules[0];
    assert!(big.enabled);
    assert_eq!(big.event_pattern["detail"]["total"][0]["numeric"][1], 100);
    assert_eq!(
        big.targets[0].target,
        Target::Function("bus/big-orders".into())
    );
    assert_eq!(big.targets[1].input_path.as_deref(), Some("$.detail"));
    let every = &bus.rules[1];
    assert!(!every.enabled);
    assert_eq!(every.targets[0].target, Target::Topic("quiet".into()));
    assert_eq!(every.targets[0].input.as_deref(), Some(r#"{"fixed":true}"#));
    assert_eq!(
        bus.archives[0],
        Archive {
            name: "all".into(),
            event_pattern: None,
            retention_days: Some(7)
        }
    );
    assert_eq!(
        bus.archives[1].event_pattern,
        Some(serde_json::json!({"source": ["shop"]}))
    );
    assert!(m.functions.contains_key("bus/big-orders"));

    assert_eq!(m.static_dir, Some(root.path().join("site")));
}

/// The same app written as `sandbox.json` gives the same model (apart from spans and
/// the file name).
#[test]
fn json_matches_arc() {
    let root = tmp();
    let events_dir = root.path().join("src/events/placed");
    std::fs::create_dir_all(&events_dir).expect("mkdir");
    let from_arc = arc(root.path(), FULL_ARC);
    let from_json = json(
        root.path(),
        r#"{
  "app": "shop",
  "env": {"LOG_LEVEL": "debug", "GREETING": "hello there"},
  "http": [
    {"method": "get", "path": "/"},
    {"method": "get", "path": "/users/:id", "timeout": 10, "memory": 512, "env": {"LOG_LEVEL": "trace", "EXTRA": "1"}},
    {"method": "any", "path": "/api/*"},
    {"method": "post", "path": "/orders", "build": "make handler"}
  ],
  "queues": {
    "orders.fifo": {"visibilityTimeout": 60, "batchSize": 5, "deadLetterQueue": "orders-dlq.fifo", "maxReceiveCount": 5,
                    "reportBatchItemFailures": true, "contentBasedDeduplication": true},
    "orders-dlq.fifo": {},
    "mail": {"delaySeconds": 10, "messageRetentionPeriod": 3600, "maximumMessageSize": 2048, "batchSize": 100,
             "maximumBatchingWindowInSeconds": 2, "maxConcurrency": 5, "timeout": 20, "deadLetterQueue": "failed"},
    "failed": {}
  },
  "events": {
    "placed": {"subscribers": ["queue:mail", "fn:events/audit"], "rawMessageDelivery": true,
               "filterPolicy": {"kind": ["big"]}, "filterPolicyScope": "MessageBody", "deadLetterQueue": "failed"},
    "quiet": {}
  },
  "scheduled": {
    "daily": {"rate": "1 day"},
    "noon": {"expression": "cron(0 12 * * ? *)", "timezone": "Europe/Paris"},
    "weekly": {"expression": "rate(7 days)"}
  },
  "streams": {
    "clicks": {"shards": 2, "retention": 48, "consumers": ["analytics", "archive"], "batchSize": 50,
               "startingPosition": "LATEST", "maximumRetryAttempts": 2, "maximumRecordAgeInSeconds": 3600,
               "bisectBatchOnFunctionError": true, "reportBatchItemFailures": true, "onFailure": "queue:failed"}
  },
  "bus": {
    "default": {
      "rules": {
        "big": {"pattern": {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}},
                "targets": ["fn:bus/big-orders", {"target": "queue:mail", "inputPath": "$.detail"}]},
        "every": {"pattern": {"source": [{"prefix": ""}]}, "enabled": false,
                  "targets": [{"target": "topic:quiet", "input": {"fixed": true}}]}
      },
      "archives": {"all": {"retentionDays": 7}, "shop-only": {"pattern": {"source": ["shop"]}}}
    }
  },
  "static": "site"
}"#,
    );
    assert_eq!(strip(from_arc), strip(from_json));
}

/// Spans differ between formats; everything else must not.
fn strip(m: Manifest) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("span");
                map.remove("file");
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(&m).expect("serialize");
    walk(&mut v);
    v
}

#[test]
fn per_consumer_overrides_in_json() {
    let root = tmp();
    let m = json(
        root.path(),
        r#"{"app": "a", "streams": {"s": {"batchSize": 20, "consumers": {"one": {"batchSize": 5, "startingPosition": "AT_TIMESTAMP", "startingPositionTimestamp": 1700000000.5}, "two": {}}}}}"#,
    );
    let c = &m.streams[0].consumers;
    assert_eq!(
        (
            c[0].batch_size,
            c[0].starting_position,
            c[0].starting_position_timestamp
        ),
        (5, StartingPosition::AtTimestamp, Some(1_700_000_000.5))
    );
    assert_eq!(
        (c[1].batch_size, c[1].starting_position),
        (20, StartingPosition::TrimHorizon)
    );
    assert_eq!(
        (c[1].maximum_retry_attempts, c[1].maximum_record_age_seconds),
        (-1, -1)
    );
}

#[test]
fn architect_grouped_env_uses_testing() {
    let root = tmp();
    let m = arc(
        root.path(),
        "@app\na\n@env\ntesting\n  KEY local\nproduction\n  KEY prod\n@http\nget /\n",
    );
    assert_eq!(m.functions["http/get-index"].env["KEY"], "local");
}

#[test]
fn indented_entries_and_aws_pragma() {
    let root = tmp();
    let m = arc(
        root.path(),
        "@app\n  a\n@aws\nregion us-west-2\n@http\n  get /\n  post /x\n    timeout 3\n",
    );
    assert_eq!(m.routes.len(), 2);
    assert_eq!(m.functions["http/post-x"].timeout, Duration::from_secs(3));
}

#[test]
fn load_finds_manifests_in_order() {
    let root = tmp();
    let err = load(root.path()).expect_err("nothing there");
    assert!(
        err.to_string().contains("app.arc, .arc, sandbox.json"),
        "{err}"
    );
    std::fs::write(root.path().join("sandbox.json"), r#"{"app": "from-json"}"#).expect("write");
    assert_eq!(load(root.path()).expect("json").app, "from-json");
    std::fs::write(root.path().join(".arc"), "@app\nfrom-dot-arc\n").expect("write");
    assert_eq!(load(root.path()).expect("arc").app, "from-dot-arc");
    std::fs::write(root.path().join("app.arc"), "@app\nfrom-app-arc\n").expect("write");
    std::fs::create_dir(root.path().join("public")).expect("mkdir");
    let m = load(root.path()).expect("app.arc");
    assert_eq!(m.app, "from-app-arc");
    assert_eq!(m.file, root.path().join("app.arc"));
    assert_eq!(m.static_dir, Some(root.path().join("public")));
}

#[test]
fn cargo_handlers_build_into_the_sandbox_target_dir() {
    let root = tmp();
    let dir = root.path().join("src/http/get-index");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"my-index\"\nversion = \"0.1.0\"\n",
    )
    .expect("write");
    let m = arc(root.path(), "@app\na\n@http\nget /\n");
    assert_eq!(
        m.functions["http/get-index"].handler,
        HandlerSource::Cargo {
            manifest: dir.join("Cargo.toml"),
            output: root
                .path()
                .join(".sandbox/target/wasm32-wasip1/release/my-index.wasm"),
        }
    );
}

#[test]
fn architect_json_shapes_are_accepted() {
    let root = tmp();
    let m = json(root.path(), "\u{feff}{\"app\": \"a\", \"http\": [[\"get\", \"/\"], [\"post\", \"/x\"]], \"queues\": [\"jobs\"], \"events\": [\"yolo\"], \"streams\": [\"s\"]}");
    assert_eq!(m.routes[1].function, "http/post-x");
    assert_eq!(m.queues[0].name, "jobs");
    assert_eq!(m.topics[0].name, "yolo");
    assert_eq!(m.streams[0].name, "s");
}

#[test]
fn byte_order_mark_crlf_and_stray_tabs_are_harmless() {
    let root = tmp();
    let m = arc(
        root.path(),
        "\u{feff}@app\r\nshop\r\n\t\r\n@http\r\nget /   \t# comment\r\n",
    );
    assert_eq!(m.app, "shop");
    assert_eq!(m.routes[0].span, Span { line: 5, column: 1 });
}

#[test]
fn quoted_values_and_hashes_inside_quotes() {
    let root = tmp();
    let m = arc(
        root.path(),
        "@app\nshop\n@env\nGREETING \"hello # not a comment\"\nNAME=it's\n@events\nt\n  filterPolicy {\"tag\": [\"#1\"]}  # real comment\n",
    );
    let f = &m.functions["events/t"];
    assert_eq!(f.env["GREETING"], "hello # not a comment");
    assert_eq!(f.env["NAME"], "it's");
    assert_eq!(
        m.topics[0].subscriptions[0].filter_policy,
        Some(serde_json::json!({"tag": ["#1"]}))
    );
}

#[test]
fn errors_carry_position_and_help() {
    let root = tmp();
    let err =
        parse_arc(root.path(), Path::new("app.arc"), "@app\nshop\n@htp\n").expect_err("bad pragma");
    assert_eq!((err.line, err.column), (3, 1));
    assert_eq!(err.message, "unknown pragma `@htp`");
    assert_eq!(err.help.as_deref(), Some("did you mean `@http`?"));
    let err =
        parse_json(root.path(), Path::new("sandbox.json"), "{\"app\": 5}").expect_err("wrong type");
    assert_eq!((err.line, err.column), (1, 9));
    let missing = tmp();
    let err = load(missing.path()).expect_err("no manifest");
    assert_eq!((err.line, err.column), (0, 0));
    assert!(
        err.to_string().starts_with("error: no manifest found in "),
        "{err}"
    );
}

/// `alarm` lines under queues, routes and streams; the default dead-letter alarm and
/// `deadLetters off`; the JSON form gives the same model.
#[test]
fn alarms_and_their_defaults() {
    use sandbox_services::alarm::Watch;
    let root = tmp();
    let text = "@app\nshop\n@http\nget /\n  alarm errors 5 in 5m\n@queues\norders\n  deadLetterQueue failed\n  alarm oldestAge 300\nquiet\n  deadLetterQueue failed\n  alarm deadLetters off\nloud\n  deadLetterQueue failed\n  alarm deadLetters 3\nfailed\n@streams\nclicks\n  consumers audit\n  alarm lag 100\n  alarm iteratorAge 1m\n";
    let m = arc(root.path(), text);
    let watches: Vec<Watch> = m.alarms.iter().map(|a| a.watch.clone()).collect();
    let dl = |queue: &str, count| Watch::DeadLetters {
        queue: queue.into(),
        dead_letter_queue: "failed".into(),
        count,
    };
    assert_eq!(
        watches,
        [
            Watch::OldestAge {
                queue: "orders".into(),
                seconds: 300
            },
            dl("orders", 1),
            dl("loud", 3),
            Watch::Errors {
                function: "http/get-index".into(),
                count: 5,
                period: Duration::from_secs(300)
            },
            Watch::ConsumerLag {
                stream: "clicks".into(),
                consumer: "audit".into(),
                records: 100
            },
            Watch::IteratorAge {
                stream: "clicks".into(),
                consumer: "audit".into(),
                seconds: 60
            },
        ]
    );
    assert_eq!(m.alarms[0].span.line, 9);
    let j = json(
        root.path(),
        r#"{"app": "shop", "http": [{"method": "get", "path": "/", "alarm": "errors 5 in 5m"}],
            "queues": {"orders": {"deadLetterQueue": "failed", "alarm": ["oldestAge 300"]},
                       "quiet": {"deadLetterQueue": "failed", "alarm": ["deadLetters off"]},
                       "loud": {"deadLetterQueue": "failed", "alarm": ["deadLetters 3"]},
                       "failed": {}},
            "streams": {"clicks": {"consumers": ["audit"], "alarm": ["lag 100", "iteratorAge 60"]}}}"#,
    );
    let from_json: Vec<Watch> = j.alarms.iter().map(|a| a.watch.clone()).collect();
    assert_eq!(from_json, watches);
}

/// A topic's dead-letter queue gets the default alarm under its own name; the
/// dead-letter queue may change or silence it (`alarm deadLetters …` on itself).
#[test]
fn topic_dead_letter_queues_alarm_by_default() {
    use sandbox_services::alarm::Watch;
    let root = tmp();
    let dl = |queue: &str, count| Watch::DeadLetters {
        queue: queue.into(),
        dead_letter_queue: queue.into(),
        count,
    };
    let watches = |text: &str| -> Vec<Watch> {
        arc(root.path(), text)
            .alarms
            .into_iter()
            .map(|a| a.watch)
            .collect()
    };
    let base = "@app\nshop\n@events\npaid\n  deadLetterQueue paid-dlq\n@queues\n";
    assert_eq!(watches(&format!("{base}paid-dlq\n")), [dl("paid-dlq", 1)]);
    assert_eq!(
        watches(&format!("{base}paid-dlq\n  alarm deadLetters 4\n")),
        [dl("paid-dlq", 4)]
    );
    assert_eq!(
        watches(&format!("{base}paid-dlq\n  alarm deadLetters off\n")),
        []
    );
    // Already watched as a queue's dead-letter queue: one alarm, not two.
    assert_eq!(
        watches(&format!(
            "{base}paid-dlq\norders\n  deadLetterQueue paid-dlq\n"
        )),
        [Watch::DeadLetters {
            queue: "orders".into(),
            dead_letter_queue: "paid-dlq".into(),
            count: 1
        }]
    );
}
