//! `GET /_sandbox/metrics` end to end: the text parses as Prometheus's exposition format
//! (with `prometheus-parse`, as a scraper would), and its numbers match activity the
//! test caused on the manual clock: invocations by outcome, queue depths and ages,
//! dead-letter depth, stream consumer lag and iterator age, alarm states. Every metric
//! family the sandbox writes is documented in README.md.

use crate::common;

use std::time::Duration;

use prometheus_parse::{Scrape, Value};
use sandbox_testing::Sandbox;
use serde_json::json;

const DRAIN: Duration = Duration::from_secs(10);

fn scrape(sandbox: &Sandbox) -> (Scrape, String) {
    let response = sandbox.get("/_sandbox/metrics").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let text = response.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    (scrape, text)
}

/// The value of the one sample named `name` whose labels include `labels`.
fn value(scrape: &Scrape, text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .filter_map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(v),
            _ => None,
        })
        .collect();
    match found.as_slice() {
        [one] => *one,
        _ => panic!("{} samples of {name} {labels:?}:\n{text}", found.len()),
    }
}

#[test]
fn metrics_match_known_activity() {
    let sandbox = common::manual("alarms");
    // Two records for a consumer that waits 10 s to fill its batch: they lag.
    for data in ["b25l", "dHdv"] {
        sandbox
            .post_json(
                "/_sandbox/streams/clicks/records",
                &json!({"partitionKey": "k", "data": data}),
            )
            .unwrap();
    }
    // Three messages handled one batch each; two that trap and are dead-lettered;
    // one that nobody consumes.
    for n in 0..3 {
        sandbox.send("ok", &format!("m{n}")).unwrap();
        sandbox.drain(DRAIN).unwrap();
    }
    for n in 0..2 {
        sandbox.send("poison", &format!("p{n}")).unwrap();
        sandbox.drain(DRAIN).unwrap();
    }
    sandbox.send("backlog", "waits").unwrap();
    sandbox.advance("5s").unwrap();
    sandbox.drain(DRAIN).unwrap();

    let (s, text) = scrape(&sandbox);
    let v = |name: &str, labels: &[(&str, &str)]| value(&s, &text, name, labels);
    let ok = [("function", "queues/ok")];
    assert_eq!(
        v(
            "sandbox_invocations_total",
            &[
                ("function", "queues/ok"),
                ("trigger", "queue"),
                ("outcome", "success")
            ]
        ),
        3.0
    );
    assert_eq!(v("sandbox_invocation_duration_seconds_count", &ok), 3.0);
    assert_eq!(
        v(
            "sandbox_invocations_total",
            &[("function", "queues/poison"), ("outcome", "trap")]
        ),
        2.0
    );
    let invocations = sandbox.invocations(None, 100).unwrap().len() as f64;
    let counted: f64 = s
        .samples
        .iter()
        .filter(|x| x.metric == "sandbox_invocations_total")
        .map(|x| match x.value {
            Value::Counter(v) | Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum();
    assert_eq!(counted, invocations, "every logged invocation is counted");
    let backlog = |state| {
        v(
            "sandbox_queue_messages",
            &[("queue", "backlog"), ("state", state)],
        )
    };
    assert_eq!((backlog("visible"), backlog("in_flight")), (1.0, 0.0));
    assert_eq!(
        v(
            "sandbox_queue_messages",
            &[("queue", "poison"), ("state", "in_flight")]
        ),
        2.0,
        "both poison messages wait out their visibility timeout"
    );
    assert_eq!(
        v(
            "sandbox_queue_oldest_message_age_seconds",
            &[("queue", "backlog")]
        ),
        5.0
    );
    let lag = [("stream", "clicks"), ("consumer", "slow")];
    assert_eq!(v("sandbox_stream_consumer_lag_records", &lag), 2.0);
    assert_eq!(
        v("sandbox_stream_consumer_iterator_age_milliseconds", &lag),
        5000.0
    );
    assert_eq!(
        v("sandbox_queue_dead_letter_depth", &[("queue", "poison")]),
        0.0
    );

    // Past the visibility timeout and the batching window: the poison messages move to
    // the dead-letter queue and the stream consumer catches up.
    sandbox.advance("6s").unwrap();
    sandbox.drain(DRAIN).unwrap();
    let (s, text) = scrape(&sandbox);
    let v = |name: &str, labels: &[(&str, &str)]| value(&s, &text, name, labels);
    assert_eq!(
        v(
            "sandbox_queue_dead_letter_depth",
            &[("queue", "poison"), ("dead_letter_queue", "poison-dlq")]
        ),
        2.0
    );
    assert_eq!(
        v("sandbox_queue_dead_lettered_total", &[("queue", "poison")]),
        2.0
    );
    assert_eq!(
        v(
            "sandbox_queue_messages",
            &[("queue", "poison-dlq"), ("state", "visible")]
        ),
        2.0
    );
    assert_eq!(v("sandbox_stream_consumer_lag_records", &lag), 0.0);
    assert_eq!(
        v("sandbox_stream_consumer_iterator_age_milliseconds", &lag),
        0.0
    );
    assert_eq!(
        v(
            "sandbox_invocations_total",
            &[
                ("function", "streams/clicks/slow"),
                ("trigger", "stream"),
                ("outcome", "success")
            ]
        ),
        1.0,
        "one batch of both records"
    );
    assert_eq!(
        v(
            "sandbox_alarm_active",
            &[("alarm", "deadLetters"), ("resource", "queue/poison")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "sandbox_alarm_active",
            &[("alarm", "oldestAge"), ("resource", "queue/backlog")]
        ),
        0.0
    );
}

#[test]
fn every_metric_family_is_documented_in_the_readme() {
    let sandbox = common::manual("alarms");
    let (_, text) = scrape(&sandbox);
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .unwrap();
    let families: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert!(families.len() >= 10, "{text}");
    for family in families {
        assert!(
            readme.contains(&format!("`{family}")),
            "README.md does not document {family}"
        );
    }
}

/// Waits (bounded) until the scrape's `name` sample reaches `want`: a reload happens on
/// the watcher's schedule, not the test's.
fn await_value(sandbox: &Sandbox, name: &str, want: f64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (s, text) = scrape(sandbox);
        if value(&s, &text, name, &[]) == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} never reached {want}:\n{text}\n{}",
            sandbox.output()
        );
        std::thread::yield_now();
    }
}

#[test]
fn reloads_and_reload_errors_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("app.arc");
    std::fs::write(&manifest, "@app\nreloading\n@queues\njobs\n").unwrap();
    let sandbox = Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .manual_clock()
        .start()
        .unwrap();
    let (s, text) = scrape(&sandbox);
    assert_eq!(value(&s, &text, "sandbox_reloads_total", &[]), 0.0);
    assert_eq!(value(&s, &text, "sandbox_reload_errors_total", &[]), 0.0);

    common::replace(
        &manifest,
        "@app\nreloading\n@queues\njobs\n  alarm oldAge 300\n",
    );
    await_value(&sandbox, "sandbox_reload_errors_total", 1.0);
    common::replace(
        &manifest,
        "@app\nreloading\n@queues\njobs\n  alarm oldestAge 300\n",
    );
    await_value(&sandbox, "sandbox_reloads_total", 1.0);
    let listed = sandbox.get("/_sandbox/alarms").unwrap().ok_json().unwrap();
    assert_eq!(listed["alarms"][0]["name"], "queue/jobs oldestAge");
}
