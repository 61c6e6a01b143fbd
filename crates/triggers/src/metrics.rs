//! `GET /_sandbox/metrics`: the sandbox's numbers for Prometheus, through the official
//! client (`prometheus-client`).
//!
//! Two kinds of numbers, kept apart on purpose:
//! - **counted where things happen** ([`Metrics`], one per sandbox, in every driver's
//!   `Context`): invocations (told by the app's invocation log, which every invocation
//!   passes through), their durations, Lambda async retries, schedule fires, reloads;
//! - **read at scrape time** from the services ([`scrape`]): queue depths and ages,
//!   dead-letter depths, the services' own delivery counters, stream lag, alarm states.
//!   They cost a few map walks per scrape and cannot drift from what the control API shows.
//!
//! Every name and label is listed in README.md ("Metrics").

use std::fmt::Write as _;
use std::sync::Mutex;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use sandbox_app::{InvocationRecord, Outcome};
use sandbox_services::bus::BusTarget;
use sandbox_services::topic::SubTarget;

use crate::Triggers;

/// The content type of [`Metrics::render`]'s text (OpenMetrics 1.0, which Prometheus
/// asks for first and parses as such).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;

/// Invocation duration buckets, in seconds: 1 ms to 60 s.
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0, 60.0,
];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// The counters kept as things happen.
pub struct Metrics {
    registry: Registry,
    invocations: Family<Labels, Counter>,
    durations: Family<Labels, Histogram, fn() -> Histogram>,
    retries: Family<Labels, Counter>,
    loops_stopped: Family<Labels, Counter>,
    schedule_fires: Family<Labels, Counter>,
    reloads: Counter,
    reload_errors: Counter,
    /// One scrape at a time: the text is built from a consistent set of counters.
    scraping: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        let invocations = Family::<Labels, Counter>::default();
        let durations = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram,
        );
        let retries = Family::<Labels, Counter>::default();
        let loops_stopped = Family::<Labels, Counter>::default();
        let schedule_fires = Family::<Labels, Counter>::default();
        let reloads = Counter::default();
        let reload_errors = Counter::default();
        let mut registry = Registry::default();
        registry.register(
            "sandbox_invocations",
            "Invocations by function, trigger and outcome",
            invocations.clone(),
        );
        registry.register(
            "sandbox_invocation_duration_seconds",
            "How long handlers ran, by function",
            durations.clone(),
        );
        registry.register(
            "sandbox_async_retries",
            "Lambda asynchronous invocation retries scheduled (topic and bus targets)",
            retries.clone(),
        );
        registry.register(
            "sandbox_recursive_loops_stopped",
            "Invocations stopped by recursive loop detection (a chain of events past 16 invocations)",
            loops_stopped.clone(),
        );
        registry.register(
            "sandbox_schedule_fires",
            "Schedule fires, by schedule",
            schedule_fires.clone(),
        );
        registry.register("sandbox_reloads", "Hot reloads swapped in", reloads.clone());
        registry.register(
            "sandbox_reload_errors",
            "Hot reloads that failed (the previous code kept serving)",
            reload_errors.clone(),
        );
        Metrics {
            registry,
            invocations,
            durations,
            retries,
            loops_stopped,
            schedule_fires,
            reloads,
            reload_errors,
            scraping: Mutex::new(()),
        }
    }
}

impl Metrics {
    /// One invocation, as the app's invocation log records it.
    pub(crate) fn invoked(&self, record: &InvocationRecord) {
        let outcome = serde_json::to_value(&record.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{:?}", record.outcome));
        let trigger = serde_json::to_value(record.trigger)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.invocations
            .get_or_create(&vec![
                ("function", record.function.clone()),
                ("trigger", trigger),
                ("outcome", outcome),
            ])
            .inc();
        self.durations
            .get_or_create(&vec![("function", record.function.clone())])
            .observe(record.duration_ms / 1000.0);
    }

    /// A topic or bus delivery to `function` failed and will be retried.
    pub(crate) fn retried(&self, service: &str, resource: &str, function: &str) {
        self.retries
            .get_or_create(&vec![
                ("service", service.to_string()),
                ("resource", resource.to_string()),
                ("function", function.to_string()),
            ])
            .inc();
    }

    /// Recursive loop detection stopped an invocation of `function` by `service`'s
    /// `resource` (`crate::recursion`).
    pub(crate) fn loop_stopped(&self, service: &str, resource: &str, function: &str) {
        self.loops_stopped
            .get_or_create(&vec![
                ("service", service.to_string()),
                ("resource", resource.to_string()),
                ("function", function.to_string()),
            ])
            .inc();
    }

    pub(crate) fn schedule_fired(&self, schedule: &str) {
        self.schedule_fires
            .get_or_create(&vec![("schedule", schedule.to_string())])
            .inc();
    }

    /// A reload swapped in (`ok`) or failed.
    pub fn reloaded(&self, ok: bool) {
        if ok {
            self.reloads.inc();
        } else {
            self.reload_errors.inc();
        }
    }
}

/// Whether an invocation outcome is a failure (for the `errors` alarms).
pub(crate) fn failed(record: &InvocationRecord) -> bool {
    record.outcome != Outcome::Success
}

/// The whole exposition: the counters, then what the services show now, then `# EOF`.
pub fn scrape(triggers: &Triggers) -> String {
    let metrics = triggers.metrics();
    let _one = metrics.scraping.lock().unwrap_or_else(|e| e.into_inner());
    let mut text = String::new();
    let mut now = Registry::default();
    now.register_collector(Box::new(Snapshot::take(triggers)));
    let written = encode_registry(&mut text, &metrics.registry)
        .and_then(|()| encode_registry(&mut text, &now))
        .and_then(|()| encode_eof(&mut text));
    if let Err(e) = written {
        let _ = writeln!(text, "# encoding failed: {e}");
    }
    text
}

/// One family read at scrape time: name, help, type, and its samples.
#[derive(Debug)]
struct Read {
    name: &'static str,
    help: &'static str,
    counter: bool,
    samples: Vec<(Labels, f64)>,
}

/// What the services show at one scrape.
#[derive(Debug, Default)]
struct Snapshot(Vec<Read>);

impl Snapshot {
    fn family(&mut self, name: &'static str, help: &'static str, counter: bool) -> usize {
        self.0.push(Read {
            name,
            help,
            counter,
            samples: Vec::new(),
        });
        self.0.len() - 1
    }

    fn add(&mut self, family: usize, labels: Labels, value: f64) {
        self.0[family].samples.push((labels, value));
    }

    fn take(triggers: &Triggers) -> Snapshot {
        let mut s = Snapshot::default();
        let messages = s.family(
            "sandbox_queue_messages",
            "Messages in a queue by state (visible, in_flight, delayed).",
            false,
        );
        let oldest = s.family(
            "sandbox_queue_oldest_message_age_seconds",
            "Age of the oldest message in a queue (0 when empty).",
            false,
        );
        let dlq_depth = s.family(
            "sandbox_queue_dead_letter_depth",
            "Messages in a queue's dead-letter queue.",
            false,
        );
        let dead_lettered = s.family(
            "sandbox_queue_dead_lettered",
            "Messages moved from a queue to its dead-letter queue.",
            true,
        );
        let expired = s.family(
            "sandbox_queue_expired",
            "Messages dropped from a queue at the end of their retention period.",
            true,
        );
        for q in triggers.queues().list().queues {
            let queue = || vec![("queue", q.name.clone())];
            for (state, n) in [
                ("visible", q.visible),
                ("in_flight", q.in_flight),
                ("delayed", q.delayed),
            ] {
                let mut labels = queue();
                labels.push(("state", state.to_string()));
                s.add(messages, labels, n as f64);
            }
            s.add(oldest, queue(), q.oldest_age_seconds.unwrap_or(0) as f64);
            if let Some(dlq) = &q.dead_letter_queue {
                let mut labels = queue();
                labels.push(("dead_letter_queue", dlq.name.clone()));
                s.add(dlq_depth, labels, dlq.depth as f64);
            }
            s.add(dead_lettered, queue(), q.dead_lettered_total as f64);
            s.add(expired, queue(), q.expired_total as f64);
        }

        let published = s.family(
            "sandbox_topic_published",
            "Messages published to a topic.",
            true,
        );
        let topic_deliveries = s.family(
            "sandbox_topic_deliveries",
            "Topic deliveries by subscription target and result (delivered, filtered, failed, dead_lettered).",
            true,
        );
        let topic_retrying = s.family(
            "sandbox_topic_retrying",
            "Topic deliveries to functions waiting for a retry.",
            false,
        );
        for t in triggers.topics().list() {
            s.add(
                published,
                vec![("topic", t.name.clone())],
                t.published as f64,
            );
            for sub in &t.subscriptions {
                let target = match &sub.target {
                    SubTarget::Function(f) => format!("function/{f}"),
                    SubTarget::Queue(q) => format!("queue/{q}"),
                };
                let labels = || vec![("topic", t.name.clone()), ("target", target.clone())];
                for (result, n) in [
                    ("delivered", sub.delivered),
                    ("filtered", sub.filtered),
                    ("failed", sub.failed),
                    ("dead_lettered", sub.dead_lettered),
                ] {
                    let mut l = labels();
                    l.push(("result", result.to_string()));
                    s.add(topic_deliveries, l, n as f64);
                }
                s.add(topic_retrying, labels(), sub.retrying as f64);
            }
        }

        let bus_events = s.family("sandbox_bus_events", "Events put on a bus.", true);
        let matched = s.family(
            "sandbox_bus_rule_matches",
            "Events a bus rule matched.",
            true,
        );
        let bus_deliveries = s.family(
            "sandbox_bus_deliveries",
            "Bus rule target deliveries by result (delivered, failed).",
            true,
        );
        let bus_retrying = s.family(
            "sandbox_bus_retrying",
            "Bus deliveries to functions waiting for a retry.",
            false,
        );
        for b in triggers.buses().list() {
            s.add(bus_events, vec![("bus", b.name.clone())], b.events as f64);
            for rule in &b.rules {
                let rule_labels = || vec![("bus", b.name.clone()), ("rule", rule.name.clone())];
                s.add(matched, rule_labels(), rule.matched as f64);
                for t in &rule.targets {
                    let target = match &t.target {
                        BusTarget::Function(f) => format!("function/{f}"),
                        BusTarget::Queue(q) => format!("queue/{q}"),
                        BusTarget::Topic(q) => format!("topic/{q}"),
                    };
                    let labels = || {
                        let mut l = rule_labels();
                        l.push(("target", target.clone()));
                        l
                    };
                    for (result, n) in [("delivered", t.delivered), ("failed", t.failed)] {
                        let mut l = labels();
                        l.push(("result", result.to_string()));
                        s.add(bus_deliveries, l, n as f64);
                    }
                    s.add(bus_retrying, labels(), t.retrying as f64);
                }
            }
        }

        let lag = s.family(
            "sandbox_stream_consumer_lag_records",
            "Records a stream consumer has not finished, all shards.",
            false,
        );
        let age = s.family(
            "sandbox_stream_consumer_iterator_age_milliseconds",
            "How old the oldest record a stream consumer has not finished is (0 when caught up).",
            false,
        );
        for ((stream, consumer), facts) in triggers.streams().consumer_facts() {
            let labels = || vec![("stream", stream.clone()), ("consumer", consumer.clone())];
            s.add(lag, labels(), facts.lag as f64);
            s.add(age, labels(), facts.iterator_age_ms.unwrap_or(0) as f64);
        }

        let active = s.family(
            "sandbox_alarm_active",
            "1 while an alarm is in the alarm state, 0 while ok.",
            false,
        );
        for alarm in triggers.alarms().list() {
            s.add(
                active,
                vec![
                    ("alarm", alarm.alarm.to_string()),
                    ("resource", alarm.resource.clone()),
                ],
                if alarm.state == sandbox_services::alarm::State::Alarm {
                    1.0
                } else {
                    0.0
                },
            );
        }
        s
    }
}

impl prometheus_client::collector::Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            if family.samples.is_empty() {
                continue;
            }
            let kind = if family.counter {
                MetricType::Counter
            } else {
                MetricType::Gauge
            };
            let mut metric = encoder.encode_descriptor(family.name, family.help, None, kind)?;
            for (labels, value) in &family.samples {
                let sample = metric.encode_family(labels)?;
                if family.counter {
                    ConstCounter::new(*value).encode(sample)?;
                } else {
                    ConstGauge::new(*value).encode(sample)?;
                }
            }
        }
        Ok(())
    }
}
