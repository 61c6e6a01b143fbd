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

use chrono::{DateTime, Utc};
use sandbox_app::Trigger;
use sandbox_manifest::{Manifest, Target};
use sandbox_services::bus::{
    AdminError, ArchiveConfig, ArchiveInfo, BusConfig, BusStats, BusTarget, Buses, DeliveryOutcome,
    Origin, PutEntry, PutEventsError, PutEventsResult, ReplayError, ReplayInfo, ReplayRequest,
    Routed, RuleConfig, RuleTargetConfig, TargetDelivery, TargetInput, UnknownBus,
};
use sandbox_services::pattern::EventPattern;
use sandbox_services::queue::SendRequest;
use sandbox_services::rfc3339_seconds;
use sandbox_services::topic::PublishRequest;
use sandbox_services::{Pending, PendingWork};
use serde_json::Value;

use crate::driver::{Context, Driver, Drivers, Round};
use crate::lambda_async::{self, AsyncTargets, Settled, Source};
use crate::lock::Lock;
use crate::{ControlError, QueueService, TopicService};
use durable::BusStore;
use sandbox_state::Ticket;

mod durable;
pub use durable::BusesRestored;

#[derive(Clone)]
pub struct BusService {
    inner: Arc<Inner>,
}

struct Inner {
    cx: Context,
    queues: QueueService,
    /// Where schedule rules' topic targets publish.
    topics: TopicService,
    buses: Lock<Buses>,
    /// With `--state`: where the catalog, archived events and pending function
    /// deliveries go (`durable`).
    store: Option<BusStore>,
}

impl BusService {
    /// Starts the manifest's buses; with a `state` store (`--state DIR`), pending
    /// function deliveries of rule targets that still exist come back. Says how many.
    pub(crate) fn start(
        cx: &Context,
        drivers: &mut Drivers,
        queues: &QueueService,
        topics: &TopicService,
        state: Option<(&sandbox_state::Store, Arc<sandbox_state::Committer>)>,
    ) -> Result<(BusService, BusesRestored), String> {
        let configs = configs(cx.app.load().manifest())?;
        let (store, buses, restored) = match state {
            Some((store, committer)) => {
                let (store, buses, restored) =
                    BusStore::open(store, committer, configs, cx.clock.now())?;
                (Some(store), buses, restored)
            }
            None => (
                None,
                Buses::new(configs).map_err(|e| e.to_string())?,
                BusesRestored::default(),
            ),
        };
        let inner = drivers.add(Arc::new(Inner {
            cx: cx.clone(),
            queues: queues.clone(),
            topics: topics.clone(),
            buses: Lock::new(buses),
            store,
        }));
        Ok((BusService { inner }, restored))
    }

    /// `PutEvents`: archives and routes each accepted entry. Queue and topic targets
    /// receive their input before this returns (topics through `topics`); function
    /// targets are invoked by the driver. Per-entry errors are in the result, as
    /// EventBridge reports them.
    pub fn put_events(
        &self,
        topics: &TopicService,
        entries: Vec<PutEntry>,
    ) -> Result<PutEventsResult, ControlError> {
        let now = self.inner.clock.now();
        let (outcome, ticket) = {
            let mut buses = self.inner.buses();
            let outcome = buses
                .put_events(entries, now)
                .map_err(|e: PutEventsError| ControlError::bad_request(e.to_string()))?;
            (outcome, self.inner.record(&mut buses, false))
        };
        // Queued function deliveries are on disk before the events are acknowledged.
        self.inner.durable(ticket)?;
        for entry in &outcome.result.entries {
            if let (Some(code), Some(message)) = (&entry.error_code, &entry.error_message) {
                tracing::warn!("bus: PutEvents entry refused: {code}: {message}");
            }
        }
        self.inner.dispatch(topics, outcome.routed);
        Ok(outcome.result)
    }

    /// `StartReplay`: re-sends the archived events whose time is in `[from, to)` to the
    /// bus's rules, each marked with `replay-name`.
    pub fn replay(
        &self,
        topics: &TopicService,
        bus: &str,
        request: ReplayRequest,
    ) -> Result<ReplayInfo, ControlError> {
        let now = self.inner.clock.now();
        let (info, routed, ticket) = {
            let mut buses = self.inner.buses();
            let (info, routed) = buses.start_replay(bus, request, now).map_err(|e| match e {
                ReplayError::UnknownBus { .. } | ReplayError::UnknownArchive { .. } => {
                    ControlError::not_found(e.to_string())
                }
                ReplayError::DuplicateName { .. } => ControlError::conflict(e.to_string()),
                other => ControlError::bad_request(other.to_string()),
            })?;
            (info, routed, self.inner.record(&mut buses, true))
        };
        self.inner.durable(ticket)?;
        tracing::info!(
            "bus {bus}: replay {} of archive {} started: {} event(s) from {} to {}, {} delivery(ies)",
            info.name,
            info.archive,
            info.events_replayed,
            rfc3339_seconds(info.from),
            rfc3339_seconds(info.to),
            info.deliveries
        );
        self.inner.dispatch(topics, routed);
        Ok(info)
    }

    /// The state machine under its lock at the sandbox clock's `now`, for the AWS front
    /// end's management calls (buses, rules, targets, archives); wakes the driver
    /// afterwards, since a change may drop or make work.
    pub fn with_buses<R>(&self, f: impl FnOnce(&mut Buses, DateTime<Utc>) -> R) -> R {
        let mut result = None;
        if let Err(e) = self.change_buses(|b, now| result = Some(f(b, now))) {
            tracing::error!("buses: {}", e.message);
        }
        result.expect("change_buses runs its closure")
    }

    /// [`BusService::with_buses`] for a change the caller acknowledges (the AWS API's
    /// management calls): with `--state` it returns once the change is on disk, and a
    /// failed write is the error (503), so nothing unsaved is acknowledged.
    pub fn change_buses<R>(
        &self,
        f: impl FnOnce(&mut Buses, DateTime<Utc>) -> R,
    ) -> Result<R, ControlError> {
        let now = self.inner.clock.now();
        let (result, ticket) = {
            let mut buses = self.inner.buses();
            let result = f(&mut buses, now);
            (result, self.inner.record(&mut buses, true))
        };
        let saved = self.inner.durable(ticket);
        self.inner.activity.clock_moved();
        saved.map(|()| result)
    }

    /// `CreateEventBus`: a bus of the API's, or — when the manifest declares `name` — the
    /// manifest's bus re-created with its rules and archives (after a `DeleteEventBus`).
    /// The outer error is a failed write (`--state`).
    pub fn create_bus(
        &self,
        name: &str,
        description: Option<String>,
    ) -> Result<Result<(), AdminError>, ControlError> {
        let declared = configs(self.inner.app.load().manifest())
            .ok()
            .and_then(|c| c.into_iter().find(|b| b.name == name));
        let config = match declared {
            Some(config) => BusConfig {
                description,
                ..config
            },
            None => BusConfig {
                description,
                origin: Origin::Api,
                ..BusConfig::new(name)
            },
        };
        self.change_buses(|b, now| b.create_bus(config, now))
    }

    /// The app function whose Lambda name (`bus-first` for `bus/first`) is `name`.
    pub fn function_named(&self, name: &str) -> Option<String> {
        self.inner
            .app
            .load()
            .manifest()
            .functions
            .keys()
            .find(|f| sandbox_ops::aws::function_name(f) == name)
            .cloned()
    }

    /// `DescribeReplay`.
    pub fn replay_info(&self, bus: &str, name: &str) -> Result<ReplayInfo, ControlError> {
        let buses = self.inner.buses();
        let stats = buses
            .stats(bus, self.inner.clock.now())
            .map_err(unknown_bus)?;
        match buses.replay(bus, name) {
            Some(info) => Ok(info),
            None => Err(ControlError::not_found(format!(
                "bus `{bus}` has no replay named `{name}` (replays: {})",
                list(stats.replays.iter().map(|r| r.name.clone()).collect())
            ))),
        }
    }

    /// Every bus: rules with counts, archives, replays and recent failures.
    pub fn list(&self) -> Vec<BusStats> {
        let now = self.inner.clock.now();
        self.inner.buses().describe(now)
    }

    /// One bus, as [`BusService::list`] shows it.
    pub fn get(&self, bus: &str) -> Result<BusStats, ControlError> {
        let now = self.inner.clock.now();
        self.inner.buses().stats(bus, now).map_err(unknown_bus)
    }

    /// Each archive of a bus with its event count and size.
    pub fn archives(&self, bus: &str) -> Result<Vec<ArchiveInfo>, ControlError> {
        let now = self.inner.clock.now();
        self.inner.buses().archives(bus, now).map_err(unknown_bus)
    }

    /// The events one archive holds, oldest first, exactly as they were delivered.
    pub fn archived_events(&self, bus: &str, archive: &str) -> Result<Vec<Value>, ControlError> {
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
        Ok(events)
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

    /// With `--state`: submits what changed (call under the buses' lock).
    /// With `catalog`, also the catalog if it changed (see `durable`).
    fn record(&self, buses: &mut Buses, catalog: bool) -> Option<Ticket> {
        self.store.as_ref()?.record(buses, catalog)
    }

    /// With `--state`: waits until `ticket` is on disk (call without the lock).
    fn durable(&self, ticket: Option<Ticket>) -> Result<(), ControlError> {
        match &self.store {
            Some(store) => store.wait(ticket),
            None => Ok(()),
        }
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
        let (dropped, ticket) = {
            let mut buses = self.buses();
            let dropped = buses.replace_configs(configs).map_err(|e| e.to_string())?;
            (dropped, self.record(&mut buses, true))
        };
        // A reload's catalog is on disk before the reload is reported done.
        self.durable(ticket).map_err(|e| e.message)?;
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
        crate::reload::dropped_deliveries(&mut lines, "buses", "rule targets", dropped);
        Ok(lines)
    }

    /// Function deliveries due now (first attempts and retries) and later (retries).
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        self.buses().pending(now)
    }

    fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.buses().has_due(now)
    }

    /// Trims archives, fires schedule rules' ticks and hands out due function
    /// deliveries; the next change is a retry coming due, an archived event expiring or
    /// a schedule rule's tick.
    fn round(self: Arc<Self>, now: DateTime<Utc>) -> Round {
        let (fired, due, next) = {
            let mut buses = self.buses();
            buses.tick(now);
            let fired = buses.fire_schedules(now, self.clock.is_manual());
            // Busy until the queue and topic sends below are made, so drain sees no gap.
            if !fired.sends.is_empty() {
                self.activity.begin(1);
            }
            let due = buses.due_deliveries(now);
            if !due.is_empty() {
                self.activity.begin(due.len() as u64);
            }
            // Not waited for: lost in a crash, the delivery is handed out again.
            self.record(&mut buses, false);
            (fired, due, buses.next_change(now))
        };
        let sending = !fired.sends.is_empty();
        self.dispatch(&self.topics, fired);
        if sending {
            self.activity.end(1);
        }
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
        let outcome = {
            let mut buses = self.buses();
            let outcome = buses.complete(id, ok, now).map_err(|e| e.to_string());
            self.record(&mut buses, false);
            outcome?
        };
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
            for (index, target) in rule.targets.iter().enumerate() {
                let written = TargetInput {
                    input: target.input.clone(),
                    input_path: target.input_path.clone(),
                    input_transformer: target
                        .input_transformer
                        .as_ref()
                        .map(|t| (t.input_paths_map.clone(), t.input_template.clone())),
                };
                let kind = match &target.target {
                    Target::Function(f) => BusTarget::Function(f.clone()),
                    Target::Queue(q) => BusTarget::Queue(q.clone()),
                    Target::Topic(t) => BusTarget::Topic(t.clone()),
                };
                // The manifest names no ids: targets are numbered in order, from 1.
                let config = RuleTargetConfig::compile((index + 1).to_string(), kind, written)
                    .map_err(|e| {
                        format!(
                            "{at}: bus `{}`, rule `{}`: invalid target input: {e}",
                            bus.name, rule.name
                        )
                    })?;
                targets.push(config);
            }
            config.rules.push(RuleConfig {
                enabled: rule.enabled,
                targets,
                ..RuleConfig::new(rule.name.clone(), pattern, rule.event_pattern.to_string())
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
                pattern,
                pattern_text: archive.event_pattern.as_ref().map(|p| p.to_string()),
                retention_days: archive.retention_days,
                ..ArchiveConfig::new(archive.name.clone())
            });
        }
        configs.push(config);
    }
    Ok(configs)
}
