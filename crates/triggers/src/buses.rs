//! `@bus`: EventBridge buses — rules with event patterns, targets, archives and replays.
//!
//! The state machine is [`sandbox_services::bus::Buses`] (patterns and input shaping
//! compiled once at start). This driver feeds it `PutEvents` (control API and handlers),
//! makes the queue and topic target deliveries at once (through the [`QueueService`] and
//! the [`TopicService`]), and plays Lambda's async invocation for function targets on the
//! sandbox clock: take what is due, invoke with the (shaped) event, report the outcome.
//! Every delivery is logged, and every permanent failure gets a clear line.

use std::ops::Deref;
use std::sync::{Arc, MutexGuard};

use chrono::{DateTime, TimeZone, Utc};
use sandbox_app::Trigger;
use sandbox_manifest::{Manifest, Target};
use sandbox_services::bus::{
    ArchiveConfig, BusConfig, BusTarget, Buses, DeliveryOutcome, PutEntry, PutEventsError,
    ReplayError, ReplayRequest, Routed, RuleConfig, RuleTargetConfig, TargetDelivery, UnknownBus,
};
use sandbox_services::pattern::{EventPattern, InputShape};
use sandbox_services::queue::SendRequest;
use sandbox_services::topic::PublishRequest;
use sandbox_services::{Pending, PendingWork};
use serde_json::{json, Value};

use crate::driver::{Context, Driver, Drivers, Round};
use crate::lambda_async::{self, AsyncTargets, Settled, Source};
use crate::lock::Lock;
use crate::topics::{camel_case, not_allowed};
use crate::{ControlError, QueueService, TopicService, Triggers};

#[derive(Clone)]
pub struct BusService {
    inner: Arc<Inner>,
}

struct Inner {
    cx: Context,
    queues: QueueService,
    buses: Lock<Buses>,
}

impl BusService {
    pub(crate) fn start(
        cx: &Context,
        drivers: &mut Drivers,
        queues: &QueueService,
    ) -> Result<BusService, String> {
        let buses = {
            let loaded = cx.app.load();
            Buses::new(configs(loaded.manifest())?).map_err(|e| e.to_string())?
        };
        let inner = drivers.add(Arc::new(Inner {
            cx: cx.clone(),
            queues: queues.clone(),
            buses: Lock::new(buses),
        }));
        Ok(BusService { inner })
    }

    /// `PutEvents`: archives and routes each accepted entry. Queue and topic targets
    /// receive their input before this returns (topics through `topics`); function
    /// targets are invoked by the driver. Per-entry errors are in the result, as
    /// EventBridge reports them.
    pub fn put_events(
        &self,
        topics: &TopicService,
        entries: Vec<PutEntry>,
    ) -> Result<Value, ControlError> {
        let now = self.inner.clock.now();
        let outcome = self
            .inner
            .buses()
            .put_events(entries, now)
            .map_err(|e: PutEventsError| ControlError::bad_request(e.to_string()))?;
        for entry in &outcome.result.entries {
            if let (Some(code), Some(message)) = (&entry.error_code, &entry.error_message) {
                tracing::warn!("bus: PutEvents entry refused: {code}: {message}");
            }
        }
        self.inner.dispatch(topics, outcome.routed);
        Ok(json!(outcome.result))
    }

    /// `StartReplay`: re-sends the archived events whose time is in `[from, to)` to the
    /// bus's rules, each marked with `replay-name`.
    pub fn replay(
        &self,
        topics: &TopicService,
        bus: &str,
        request: ReplayRequest,
    ) -> Result<Value, ControlError> {
        let now = self.inner.clock.now();
        let (info, routed) =
            self.inner
                .buses()
                .start_replay(bus, request, now)
                .map_err(|e| match e {
                    ReplayError::UnknownBus { .. } | ReplayError::UnknownArchive { .. } => {
                        ControlError::not_found(e.to_string())
                    }
                    ReplayError::DuplicateName { .. } => ControlError {
                        status: 409,
                        message: e.to_string(),
                    },
                    other => ControlError::bad_request(other.to_string()),
                })?;
        tracing::info!(
            "bus {bus}: replay {} of archive {} started: {} event(s) from {} to {}, {} delivery(ies)",
            info.name,
            info.archive,
            info.events_replayed,
            info.from.format("%Y-%m-%dT%H:%M:%SZ"),
            info.to.format("%Y-%m-%dT%H:%M:%SZ"),
            info.deliveries
        );
        self.inner.dispatch(topics, routed);
        Ok(camel_case(json!(info)))
    }

    /// `DescribeReplay`.
    pub fn replay_info(&self, bus: &str, name: &str) -> Result<Value, ControlError> {
        let buses = self.inner.buses();
        let stats = buses
            .stats(bus, self.inner.clock.now())
            .map_err(unknown_bus)?;
        match buses.replay(bus, name) {
            Some(info) => Ok(camel_case(json!(info))),
            None => Err(ControlError::not_found(format!(
                "bus `{bus}` has no replay named `{name}` (replays: {})",
                list(stats.replays.iter().map(|r| r.name.clone()).collect())
            ))),
        }
    }

    /// `GET /_sandbox/buses`: rules with counts, archives, replays and recent failures.
    pub fn list(&self) -> Value {
        let now = self.inner.clock.now();
        let buses: Vec<Value> = self
            .inner
            .buses()
            .describe(now)
            .iter()
            .map(|stats| camel_case(json!(stats)))
            .collect();
        json!({ "buses": buses })
    }

    /// One bus, as [`BusService::list`] shows it.
    pub fn get(&self, bus: &str) -> Result<Value, ControlError> {
        let now = self.inner.clock.now();
        let stats = self.inner.buses().stats(bus, now).map_err(unknown_bus)?;
        Ok(camel_case(json!(stats)))
    }

    /// `GET /_sandbox/buses/{name}/archives`: each archive's event count and size.
    pub fn archives(&self, bus: &str) -> Result<Value, ControlError> {
        let now = self.inner.clock.now();
        let archives = self.inner.buses().archives(bus, now).map_err(unknown_bus)?;
        Ok(json!({ "archives": camel_case(json!(archives)) }))
    }

    /// The events one archive holds, oldest first, exactly as they were delivered.
    pub fn archived_events(&self, bus: &str, archive: &str) -> Result<Value, ControlError> {
        let now = self.inner.clock.now();
        let buses = self.inner.buses();
        let archives = buses.archives(bus, now).map_err(unknown_bus)?;
        if !archives.iter().any(|a| a.name == archive) {
            return Err(ControlError::not_found(format!(
                "bus `{bus}` has no archive named `{archive}` (archives: {})",
                list(archives.iter().map(|a| a.name.clone()).collect())
            )));
        }
        let events: Vec<Value> = buses
            .archived_events(bus, archive, now)
            .map_err(unknown_bus)?
            .iter()
            .filter_map(|text| serde_json::from_str(text).ok())
            .collect();
        Ok(json!({ "events": events }))
    }

    /// Whether the app has a bus of this name; the 404 names the known ones.
    pub fn check_bus(&self, bus: &str) -> Result<(), ControlError> {
        let now = self.inner.clock.now();
        self.inner
            .buses()
            .stats(bus, now)
            .map(|_| ())
            .map_err(unknown_bus)
    }
}

impl Deref for Inner {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.cx
    }
}

impl Inner {
    fn buses(&self) -> MutexGuard<'_, Buses> {
        self.buses.lock()
    }

    /// Makes what a `PutEvents` or a replay routed: queue and topic sends now, wakes the
    /// driver for function targets, logs refused input transformations.
    fn dispatch(&self, topics: &TopicService, routed: Routed) {
        for failure in &routed.failures {
            tracing::error!(
                "bus {}: rule {} → {} FAILED for event {}: {}; nothing delivered to this target",
                failure.bus,
                failure.rule,
                target_label(&failure.target),
                failure.event_id,
                failure.reason
            );
        }
        for send in routed.sends {
            self.send(topics, send);
        }
        if !routed.function_deliveries.is_empty() {
            self.activity.clock_moved();
        }
    }

    fn send(&self, topics: &TopicService, send: TargetDelivery) {
        let replay = send
            .replay
            .as_deref()
            .map(|r| format!(" (replay {r})"))
            .unwrap_or_default();
        let label = target_label(&send.target);
        // FIFO queues and topics need a group: one per rule keeps a rule's events in
        // order, and the event id deduplicates (EventBridge's SQS FIFO default).
        let result = match &send.target {
            BusTarget::Queue(queue) => {
                let mut request = SendRequest::new(send.input);
                request.sender_id = sandbox_services::bus::rule_arn(&send.bus, &send.rule);
                if queue.ends_with(".fifo") || self.queue_is_fifo(queue) {
                    request.group_id = Some(send.rule.clone());
                    request.dedup_id = Some(send.event_id.clone());
                }
                self.queues.send(queue, request).map(|_| ())
            }
            BusTarget::Topic(topic) => {
                let mut request = PublishRequest::new(send.input);
                if topic.ends_with(".fifo") || self.topic_is_fifo(topic) {
                    request.group_id = Some(send.rule.clone());
                    request.dedup_id = Some(send.event_id.clone());
                }
                topics.publish(topic, request).map(|_| ())
            }
            BusTarget::Function(_) => Ok(()),
        };
        match result {
            Ok(()) => tracing::info!(
                "bus {}: rule {} → {label} ok (event {}){replay}",
                send.bus,
                send.rule,
                send.event_id
            ),
            Err(e) => tracing::error!(
                "bus {}: rule {} → {label} FAILED (event {}){replay}: {}; not delivered to this target",
                send.bus,
                send.rule,
                send.event_id,
                e.message
            ),
        }
    }

    fn topic_is_fifo(&self, topic: &str) -> bool {
        self.app
            .load()
            .manifest()
            .topics
            .iter()
            .any(|t| t.name == topic && t.fifo)
    }

    fn queue_is_fifo(&self, queue: &str) -> bool {
        self.app
            .load()
            .manifest()
            .queues
            .iter()
            .any(|q| q.name == queue && q.fifo)
    }
}

fn target_label(target: &BusTarget) -> String {
    match target {
        BusTarget::Function(f) => format!("fn:{f}"),
        BusTarget::Queue(q) => format!("queue:{q}"),
        BusTarget::Topic(t) => format!("topic:{t}"),
    }
}

fn list(names: Vec<String>) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn unknown_bus(e: UnknownBus) -> ControlError {
    ControlError::not_found(e.to_string())
}

impl Driver for Inner {
    /// Buses that stay keep their archived events (per archive name), replays and
    /// counts; retries for removed rule targets are dropped and reported. On error
    /// nothing changes.
    fn reconfigure(&self, manifest: &Manifest) -> Result<Vec<String>, String> {
        let configs = configs(manifest)?;
        let old = self.app.load();
        let dropped = self
            .buses()
            .replace_configs(configs)
            .map_err(|e| e.to_string())?;
        let shape = |b: &sandbox_manifest::Bus| {
            let rules: Vec<_> = b
                .rules
                .iter()
                .map(|r| {
                    (
                        r.name.clone(),
                        r.event_pattern.clone(),
                        r.enabled,
                        r.targets.clone(),
                    )
                })
                .collect();
            (rules, b.archives.clone())
        };
        let mut lines = crate::reload::reload_changes(
            "bus",
            "rules changed",
            &old.manifest().buses,
            &manifest.buses,
            |x| x.name.as_str(),
            shape,
        );
        if dropped > 0 {
            let line = format!(
                "buses: {dropped} pending handler delivery(ies) of removed rule targets dropped"
            );
            tracing::warn!("{line}");
            lines.push(line);
        }
        Ok(lines)
    }

    /// Function deliveries due now (first attempts and retries) and later (retries).
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        self.buses().pending(now)
    }

    fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.buses().has_due(now)
    }

    /// Trims archives and hands out due function deliveries; the next change is a retry
    /// coming due or an archived event expiring.
    fn round(self: Arc<Self>, now: DateTime<Utc>) -> Round {
        let (due, next) = {
            let mut buses = self.buses();
            buses.tick(now);
            let due = buses.due_deliveries(now);
            if !due.is_empty() {
                self.activity.begin(due.len() as u64);
            }
            (due, buses.next_change(now))
        };
        lambda_async::hand_out(&self, due);
        Round::Wait(next)
    }
}

impl AsyncTargets for Inner {
    const TRIGGER: Trigger = Trigger::Bus;

    fn source(&self, id: u64) -> Source {
        let (bus, rule, replay) = self
            .buses()
            .delivery_source(id)
            .unwrap_or_else(|| ("?".to_string(), "?".to_string(), None));
        Source {
            kind: "bus",
            name: bus,
            from: format!("rule {rule}"),
            note: replay.map(|r| format!(" (replay {r})")).unwrap_or_default(),
        }
    }

    fn complete(&self, id: u64, ok: bool, now: DateTime<Utc>) -> Result<Settled, String> {
        let outcome = self
            .buses()
            .complete(id, ok, now)
            .map_err(|e| e.to_string())?;
        Ok(match outcome {
            DeliveryOutcome::Delivered => Settled::Delivered,
            DeliveryOutcome::Retrying { at, .. } => Settled::Retrying { at },
            DeliveryOutcome::Failed(f) => Settled::GaveUp {
                attempts: f.attempts,
                fate: format!(
                    "event {} is NOT delivered (listed in GET /_sandbox/buses)",
                    f.event_id
                ),
                lost: true,
                dead_letter: None,
            },
        })
    }
}

/// The buses of a manifest as the state machine's configuration: patterns and input
/// shaping compiled once. Errors name the manifest line.
fn configs(manifest: &Manifest) -> Result<Vec<BusConfig>, String> {
    let file = manifest
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| manifest.file.display().to_string());
    let mut configs = Vec::new();
    for bus in &manifest.buses {
        let mut config = BusConfig::new(bus.name.clone());
        for rule in &bus.rules {
            let at = format!("{file}:{}:{}", rule.span.line, rule.span.column);
            let pattern = EventPattern::compile(&rule.event_pattern).map_err(|e| {
                format!(
                    "{at}: bus `{}`, rule `{}`: invalid event pattern: {e}",
                    bus.name, rule.name
                )
            })?;
            let mut targets = Vec::new();
            for target in &rule.targets {
                let input = InputShape::compile(
                    target.input.as_deref(),
                    target.input_path.as_deref(),
                    target
                        .input_transformer
                        .as_ref()
                        .map(|t| (&t.input_paths_map, t.input_template.as_str())),
                )
                .map_err(|e| {
                    format!(
                        "{at}: bus `{}`, rule `{}`: invalid target input: {e}",
                        bus.name, rule.name
                    )
                })?;
                let target = match &target.target {
                    Target::Function(f) => BusTarget::Function(f.clone()),
                    Target::Queue(q) => BusTarget::Queue(q.clone()),
                    Target::Topic(t) => BusTarget::Topic(t.clone()),
                };
                targets.push(RuleTargetConfig { target, input });
            }
            config.rules.push(RuleConfig {
                name: rule.name.clone(),
                pattern,
                enabled: rule.enabled,
                targets,
            });
        }
        for archive in &bus.archives {
            let pattern = archive
                .event_pattern
                .as_ref()
                .map(EventPattern::compile)
                .transpose()
                .map_err(|e| {
                    format!(
                        "{file}:{}:{}: bus `{}`, archive `{}`: invalid event pattern: {e}",
                        bus.span.line, bus.span.column, bus.name, archive.name
                    )
                })?;
            config.archives.push(ArchiveConfig {
                name: archive.name.clone(),
                pattern,
                retention_days: archive.retention_days,
            });
        }
        configs.push(config);
    }
    Ok(configs)
}

/// Reads `PutEvents` entries as the API takes them (`Source`, `DetailType`, `Detail`,
/// `Resources`, `Time`, `EventBusName`), also accepting camelCase and `detail-type`.
/// `Detail` may be a JSON object instead of its text. Entries without a bus go to
/// `default_bus`.
pub fn parse_entries(value: &Value, default_bus: &str) -> Result<Vec<PutEntry>, ControlError> {
    let entries = match value {
        Value::Array(entries) => entries,
        Value::Object(o) => match o.get("entries").or_else(|| o.get("Entries")) {
            Some(Value::Array(entries)) => entries,
            Some(_) => return Err(ControlError::bad_request("`entries` must be an array")),
            None => {
                return Err(ControlError::bad_request(
                    "`entries` is required: {\"entries\": [{\"Source\": \"shop\", \"DetailType\": \"OrderPlaced\", \"Detail\": \"{}\"}]}",
                ))
            }
        },
        _ => return Err(ControlError::bad_request("the request must be a JSON object")),
    };
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| parse_entry(i, entry, default_bus))
        .collect()
}

fn parse_entry(index: usize, value: &Value, default_bus: &str) -> Result<PutEntry, ControlError> {
    const KNOWN: &[(&str, &[&str])] = &[
        ("Source", &["Source", "source"]),
        ("DetailType", &["DetailType", "detailType", "detail-type"]),
        ("Detail", &["Detail", "detail"]),
        ("Resources", &["Resources", "resources"]),
        ("Time", &["Time", "time"]),
        ("EventBusName", &["EventBusName", "eventBusName"]),
        ("TraceHeader", &["TraceHeader", "traceHeader"]),
    ];
    let bad = |what: String| ControlError::bad_request(format!("entries[{index}]: {what}"));
    let object = value
        .as_object()
        .ok_or_else(|| bad("must be an object".to_string()))?;
    if let Some(key) = object
        .keys()
        .find(|k| !KNOWN.iter().any(|(_, names)| names.contains(&k.as_str())))
    {
        let known: Vec<&str> = KNOWN.iter().map(|(name, _)| *name).collect();
        return Err(bad(format!(
            "`{key}` is not a PutEvents entry field; known: {}",
            known.join(", ")
        )));
    }
    let field = |name: &str| {
        KNOWN
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, names)| names.iter().find_map(|n| object.get(*n)))
            .filter(|v| !v.is_null())
    };
    let text = |name: &str| -> Result<Option<String>, ControlError> {
        match field(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(format!("`{name}` must be a string"))),
        }
    };
    let detail = match field("Detail") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        // A convenience: an object is sent as its JSON text, as an SDK would.
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => {
            return Err(bad(
                "`Detail` must be a string of JSON (or a JSON object)".to_string()
            ))
        }
    };
    let resources = match field("Resources") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| {
                r.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("`Resources` must be an array of strings".to_string()))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("`Resources` must be an array of strings".to_string())),
    };
    let time = match field("Time") {
        None => None,
        Some(Value::String(s)) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|e| bad(format!("`Time` `{s}` is not an RFC 3339 time ({e})")))?
                .with_timezone(&Utc),
        ),
        Some(Value::Number(n)) => {
            let seconds = n
                .as_f64()
                .ok_or_else(|| bad("`Time` is not a number".to_string()))?;
            let millis = (seconds * 1000.0).round() as i64;
            Some(
                Utc.timestamp_millis_opt(millis)
                    .single()
                    .ok_or_else(|| bad(format!("`Time` {seconds} is out of range")))?,
            )
        }
        Some(_) => {
            return Err(bad(
                "`Time` must be an RFC 3339 string or epoch seconds".to_string()
            ))
        }
    };
    Ok(PutEntry {
        source: text("Source")?,
        detail_type: text("DetailType")?,
        detail,
        resources,
        time,
        event_bus_name: Some(text("EventBusName")?.unwrap_or_else(|| default_bus.to_string())),
    })
}

/// Reads `{"name", "archive", "from", "to", "rules"?}` (times RFC 3339).
pub fn parse_replay(value: &Value) -> Result<ReplayRequest, ControlError> {
    const KNOWN: &[&str] = &["name", "archive", "from", "to", "rules"];
    let usage = "send {\"name\": \"r1\", \"archive\": \"all\", \"from\": \"2030-01-01T00:00:00Z\", \"to\": \"2030-01-02T00:00:00Z\", \"rules\"?: [\"rule1\"]}";
    let object = value.as_object().ok_or_else(|| {
        ControlError::bad_request(format!("the request must be a JSON object; {usage}"))
    })?;
    if let Some(key) = object.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ControlError::bad_request(format!(
            "`{key}` is not a known field; known: {}",
            KNOWN.join(", ")
        )));
    }
    let text = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ControlError::bad_request(format!("`{name}` is required (a string); {usage}"))
            })
    };
    let time = |name: &str| -> Result<DateTime<Utc>, ControlError> {
        let s = text(name)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                ControlError::bad_request(format!("`{name}` `{s}` is not an RFC 3339 time ({e})"))
            })
    };
    let rules = match object.get("rules") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|r| {
                    r.as_str()
                        .map(|r| r.rsplit('/').next().unwrap_or(r).to_string())
                        .ok_or_else(|| {
                            ControlError::bad_request("`rules` must be an array of rule names")
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => {
            return Err(ControlError::bad_request(
                "`rules` must be an array of rule names",
            ))
        }
    };
    Ok(ReplayRequest {
        name: text("name")?,
        archive: text("archive")?,
        from: time("from")?,
        to: time("to")?,
        rules,
    })
}

/// The endpoints [`route`] answers, for the control API's 404 listing.
pub const ENDPOINTS: &[&str] = &[
    "GET /_sandbox/buses",
    "GET /_sandbox/buses/{name}",
    "POST /_sandbox/buses/{name}/events {\"entries\":[{\"Source\",\"DetailType\",\"Detail\"}]}",
    "GET /_sandbox/buses/{name}/archives",
    "GET /_sandbox/buses/{name}/archives/{archive}/events",
    "POST /_sandbox/buses/{name}/replays {\"name\",\"archive\",\"from\",\"to\",\"rules\"?}",
    "GET /_sandbox/buses/{name}/replays/{replay}",
];

/// Control routes under `/_sandbox/buses`; `None` when the path is not ours.
pub(crate) async fn route(
    triggers: &Triggers,
    method: &str,
    path: &str,
    _query: Option<&str>,
    body: &[u8],
) -> Option<Result<Value, ControlError>> {
    let service = triggers.buses();
    let rest = path.strip_prefix("/_sandbox/buses")?;
    if rest.is_empty() {
        return Some(match method {
            "GET" => Ok(service.list()),
            _ => Err(not_allowed(method, path, "GET")),
        });
    }
    let parts: Vec<&str> = rest.strip_prefix('/')?.split('/').collect();
    let json_body = || {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| ControlError::bad_request(format!("body is not JSON ({e})")))
    };
    Some(match (method, parts.as_slice()) {
        ("GET", [bus]) => service.get(bus),
        ("POST", [bus, "events"]) => service.check_bus(bus).and_then(|()| {
            let entries = parse_entries(&json_body()?, bus)?;
            service.put_events(triggers.topics(), entries)
        }),
        ("GET", [bus, "archives"]) => service.archives(bus),
        ("GET", [bus, "archives", archive, "events"]) => service.archived_events(bus, archive),
        ("POST", [bus, "replays"]) => service.check_bus(bus).and_then(|()| {
            let request = parse_replay(&json_body()?)?;
            service.replay(triggers.topics(), bus, request)
        }),
        ("GET", [bus, "replays", replay]) => service.replay_info(bus, replay),
        (_, [_])
        | (_, [_, "archives"])
        | (_, [_, "archives", _, "events"])
        | (_, [_, "replays", _]) => Err(not_allowed(method, path, "GET")),
        (_, [_, "events"]) | (_, [_, "replays"]) => Err(not_allowed(method, path, "POST")),
        _ => return None,
    })
}

/// A handler's `sandbox.call` for this service: `{"action": "put_events", "entries":
/// [...]}` (also `putEvents`); entries as [`parse_entries`] reads them, on `default`
/// unless they name a bus. Answers the `PutEvents` result.
pub(crate) fn host_call(
    triggers: &Triggers,
    _function: &str,
    action: &str,
    request: Value,
) -> Result<Value, ControlError> {
    match action {
        "put_events" | "putEvents" | "PutEvents" => {
            let entries = parse_entries(&request, "default")?;
            triggers.buses().put_events(triggers.topics(), entries)
        }
        other => Err(ControlError::bad_request(format!(
            "unknown bus action `{other}`; known: put_events"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_put_events_entries_in_either_case() {
        let entries = parse_entries(
            &json!({"entries": [
                {"Source": "shop", "DetailType": "Order", "Detail": "{\"a\":1}", "Resources": ["r"], "Time": "2030-01-01T00:00:00Z"},
                {"source": "shop", "detail-type": "Order", "detail": {"b": 2}, "eventBusName": "orders", "time": 1893456000},
            ]}),
            "default",
        )
        .unwrap();
        assert_eq!(entries[0].source.as_deref(), Some("shop"));
        assert_eq!(entries[0].detail.as_deref(), Some("{\"a\":1}"));
        assert_eq!(entries[0].resources, ["r"]);
        assert_eq!(entries[0].bus_name(), "default");
        assert_eq!(entries[1].detail.as_deref(), Some("{\"b\":2}"));
        assert_eq!(entries[1].bus_name(), "orders");
        assert_eq!(entries[0].time, entries[1].time);
    }

    #[test]
    fn refuses_malformed_entries() {
        for bad in [
            json!({}),
            json!({"entries": "x"}),
            json!({"entries": [1]}),
            json!({"entries": [{"Sauce": "x"}]}),
            json!({"entries": [{"Source": 1}]}),
            json!({"entries": [{"Time": "yesterday"}]}),
            json!({"entries": [{"Resources": "r"}]}),
        ] {
            assert_eq!(
                parse_entries(&bad, "default").unwrap_err().status,
                400,
                "{bad}"
            );
        }
        // Missing fields are PutEvents' per-entry errors, not a refused request.
        assert!(parse_entries(&json!({"entries": [{}]}), "default").is_ok());
    }

    #[test]
    fn reads_replay_requests() {
        let r = parse_replay(&json!({"name": "r", "archive": "a", "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z", "rules": ["arn:aws:events:us-east-1:123456789012:rule/x"]})).unwrap();
        assert_eq!(r.rules, Some(vec!["x".to_string()]));
        assert!(parse_replay(&json!({"name": "r"})).is_err());
        assert!(
            parse_replay(&json!({"name": "r", "archive": "a", "from": "x", "to": "y"})).is_err()
        );
    }
}
