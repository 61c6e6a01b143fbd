//! Every EventBridge bus of an app: `PutEvents`, rules and their targets, archives and
//! replays.
//!
//! An accepted event is archived by each archive of its bus whose pattern matches (or that
//! has none), then matched against every enabled rule; each target of a matching rule gets
//! one delivery with the target's input shaping applied. Queue and topic targets come back
//! at once for the caller to send; function targets go into Lambda's async queue
//! ([`crate::async_retry`]) and are taken with [`Buses::due_deliveries`] and settled with
//! [`Buses::complete`].
//!
//! Rules chosen where the sandbox has to pick (each is tested):
//! - Function targets are retried like any async invocation: after 1 and then 2 more
//!   minutes, 3 attempts in all. EventBridge's own retry policy (24 hours, 185 attempts)
//!   covers failing to *hand* the event to Lambda, which cannot happen here; a handler
//!   error is Lambda's to retry. A delivery that fails every attempt, or whose input
//!   transformation fails, is kept in [`BusStats::recent_failures`] and returned for the
//!   log (the manifest has no per-target DLQ).
//! - Archive retention counts from when the event was archived; trimmed events stop
//!   counting at once and are removed by [`Buses::tick`] or the next `PutEvents`.
//! - A replay picks the archived events whose `time` is in `[from, to)` (AWS: "based on
//!   the time in the event"), oldest first, sends them only to the bus's enabled rules (or
//!   the named ones) with `"replay-name"` added, and never archives them again. It is
//!   `RUNNING` until its last function delivery has been handed out, then `COMPLETED`
//!   (AWS replays in one-minute slices; the sandbox sends everything at once).

use std::collections::{BTreeMap, VecDeque};

use super::event::{Event, PutEntry, MAX_ENTRIES, MAX_REQUEST_BYTES};
use crate::drain::{Pending, PendingWork};
use crate::pattern::{EventPattern, InputError, InputShape, RuleContext};
pub use sandbox_ops::aws::{bus_arn, rule_arn};

use crate::async_retry::{CompleteError, FunctionDelivery, Invocations, RetryPolicy, Settled};
use crate::topic::envelope::iso_millis;
use chrono::{DateTime, TimeDelta, Utc};

/// How many permanent failures each bus keeps for the control API.
pub const RECENT_FAILURES: usize = 100;

/// Where a rule sends matching events.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum BusTarget {
    Function(String),
    Queue(String),
    Topic(String),
}

/// Who made a bus, rule, target or archive. A hot reload rebuilds the manifest's from the
/// manifest and keeps the API's (unless the manifest now declares the same name: then the
/// manifest's settings win).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    #[default]
    Manifest,
    Api,
}

/// A target's input settings as written (`Input`, `InputPath`, `InputTransformer`), kept
/// to answer `ListTargetsByRule`; [`RuleTargetConfig::input`] is their compiled form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetInput {
    pub input: Option<String>,
    pub input_path: Option<String>,
    /// Paths map and template.
    pub input_transformer: Option<(BTreeMap<String, String>, String)>,
}

#[derive(Debug, Clone)]
pub struct RuleTargetConfig {
    /// The target's `Id`, unique within its rule.
    pub id: String,
    pub target: BusTarget,
    pub input: InputShape,
    pub written: TargetInput,
    pub origin: Origin,
}

impl RuleTargetConfig {
    /// A target with its input settings compiled.
    pub fn compile(
        id: impl Into<String>,
        target: BusTarget,
        written: TargetInput,
    ) -> Result<Self, InputError> {
        let input = InputShape::compile(
            written.input.as_deref(),
            written.input_path.as_deref(),
            written
                .input_transformer
                .as_ref()
                .map(|(paths, template)| (paths, template.as_str())),
        )?;
        Ok(RuleTargetConfig {
            id: id.into(),
            target,
            input,
            written,
            origin: Origin::Manifest,
        })
    }
}

#[derive(Debug, Clone)]
pub struct RuleConfig {
    pub name: String,
    /// `None` for a rule with only a schedule: it matches no event.
    pub pattern: Option<EventPattern>,
    /// The pattern as written, for `DescribeRule`.
    pub pattern_text: Option<String>,
    /// `ScheduleExpression`: the rule sends the scheduled event at every tick (`timers`).
    pub schedule: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub targets: Vec<RuleTargetConfig>,
    pub origin: Origin,
}

impl RuleConfig {
    /// An enabled manifest rule with `pattern` and no targets.
    pub fn new(name: impl Into<String>, pattern: EventPattern, text: String) -> Self {
        RuleConfig {
            name: name.into(),
            pattern: Some(pattern),
            pattern_text: Some(text),
            schedule: None,
            description: None,
            enabled: true,
            targets: Vec::new(),
            origin: Origin::Manifest,
        }
    }

    fn matches(&self, event: &Event) -> bool {
        self.pattern
            .as_ref()
            .is_some_and(|p| p.matches(&event.value))
    }
}

#[derive(Debug, Clone)]
pub struct ArchiveConfig {
    pub name: String,
    /// `None` archives every event of the bus.
    pub pattern: Option<EventPattern>,
    /// The pattern as written, for `DescribeArchive`.
    pub pattern_text: Option<String>,
    pub description: Option<String>,
    /// `None` keeps events forever.
    pub retention_days: Option<u32>,
    pub origin: Origin,
}

impl ArchiveConfig {
    /// A manifest archive of every event, kept forever.
    pub fn new(name: impl Into<String>) -> Self {
        ArchiveConfig {
            name: name.into(),
            pattern: None,
            pattern_text: None,
            description: None,
            retention_days: None,
            origin: Origin::Manifest,
        }
    }
}

/// One bus, built from the manifest by the caller.
#[derive(Debug, Clone)]
pub struct BusConfig {
    pub name: String,
    pub description: Option<String>,
    pub rules: Vec<RuleConfig>,
    pub archives: Vec<ArchiveConfig>,
    pub origin: Origin,
}

impl BusConfig {
    pub fn new(name: impl Into<String>) -> Self {
        BusConfig {
            name: name.into(),
            description: None,
            rules: Vec::new(),
            archives: Vec::new(),
            origin: Origin::Manifest,
        }
    }
}

/// Why a set of bus configurations was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("bus `{0}` is defined twice")]
    DuplicateBus(String),
    #[error("bus `{bus}` has two rules named `{rule}`")]
    DuplicateRule { bus: String, rule: String },
    #[error("bus `{bus}` has two archives named `{archive}`")]
    DuplicateArchive { bus: String, archive: String },
    #[error("a bus name cannot be empty")]
    EmptyName,
}

/// A whole `PutEvents` call refused (EventBridge's `ValidationException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutEventsError {
    #[error("PutEvents needs at least one entry")]
    NoEntries,
    #[error("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to {MAX_ENTRIES} (got {count} entries)")]
    TooManyEntries { count: usize },
    #[error("Total size of the entries in the request is over the limit: {size} bytes, the maximum is {MAX_REQUEST_BYTES}")]
    TooLarge { size: usize },
}

/// What `PutEvents` answers: the one model in `sandbox-ops`.
pub use sandbox_ops::bus::{PutEventsResult, PutEventsResultEntry};

/// One event for one rule target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetDelivery {
    pub bus: String,
    pub rule: String,
    pub target: BusTarget,
    pub event_id: String,
    /// What the target receives, after input shaping (for a topic: the message; for a
    /// queue: the body; for a function: the event).
    pub input: String,
    /// The replay that sent it, if any.
    pub replay: Option<String>,
}

/// A delivery that could not be made or failed every attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetFailure {
    pub bus: String,
    pub rule: String,
    pub target: BusTarget,
    pub event_id: String,
    pub attempts: u32,
    pub failed_at: DateTime<Utc>,
    pub reason: String,
}

/// What one `PutEvents` call (or a replay) produced besides the response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routed {
    /// Queue and topic target deliveries to make now, in event then rule then target order.
    pub sends: Vec<TargetDelivery>,
    /// Ids of function deliveries queued (due now).
    pub function_deliveries: Vec<u64>,
    /// Targets whose input transformation failed (nothing was delivered to them).
    pub failures: Vec<TargetFailure>,
}

/// [`Buses::put_events`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutEventsOutcome {
    pub result: PutEventsResult,
    pub routed: Routed,
}

/// What [`Buses::complete`] did with a function delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    Retrying {
        attempts: u32,
        at: DateTime<Utc>,
    },
    /// Failed for the last time: log it.
    Failed(TargetFailure),
}

/// One archive as `ListArchives` would describe it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveInfo {
    pub name: String,
    pub bus: String,
    pub event_count: u64,
    pub size_bytes: u64,
    pub retention_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReplayState {
    Starting,
    Running,
    Completed,
    Cancelled,
}

/// What `StartReplay` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayRequest {
    pub name: String,
    pub archive: String,
    /// Inclusive.
    pub from: DateTime<Utc>,
    /// Exclusive.
    pub to: DateTime<Utc>,
    /// Only these rules (`FilterArns`); every enabled rule when `None`.
    pub rules: Option<Vec<String>>,
}

/// A replay as `DescribeReplay` would describe it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayInfo {
    pub name: String,
    pub bus: String,
    pub archive: String,
    pub state: ReplayState,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub rules: Option<Vec<String>>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub events_replayed: u64,
    pub deliveries: u64,
    /// `EventLastReplayedTime`.
    pub last_event_time: Option<DateTime<Utc>>,
}

/// Why `start_replay` refused; nothing was replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("there is no bus named `{name}` (buses: {})", list(known))]
    UnknownBus { name: String, known: Vec<String> },
    #[error(
        "bus `{bus}` has no archive named `{name}` (archives: {})",
        list(known)
    )]
    UnknownArchive {
        bus: String,
        name: String,
        known: Vec<String>,
    },
    #[error("bus `{bus}` has no rule named `{name}` (rules: {})", list(known))]
    UnknownRule {
        bus: String,
        name: String,
        known: Vec<String>,
    },
    #[error("a replay named `{name}` already exists on bus `{bus}`; replay names must be unique")]
    DuplicateName { bus: String, name: String },
    #[error(
        "invalid replay name `{0}`: 1 to 64 characters, letters, digits, `.`, `-` and `_` only"
    )]
    InvalidName(String),
    #[error("the replay range is empty: `from` ({from}) must be before `to` ({to})")]
    EmptyRange {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

/// An unknown bus for the read-only calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("there is no bus named `{name}` (buses: {})", list(known))]
pub struct UnknownBus {
    pub name: String,
    pub known: Vec<String>,
}

/// One rule target as the control API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetStats {
    pub id: String,
    pub origin: Origin,
    pub target: BusTarget,
    pub delivered: u64,
    pub failed: u64,
    pub retrying: u64,
    pub in_flight: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleStats {
    pub name: String,
    pub arn: String,
    pub origin: Origin,
    pub enabled: bool,
    /// A schedule rule's expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub matched: u64,
    pub targets: Vec<TargetStats>,
}

/// One bus as the control API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BusStats {
    pub name: String,
    pub arn: String,
    pub origin: Origin,
    pub events: u64,
    pub rules: Vec<RuleStats>,
    pub archives: Vec<ArchiveInfo>,
    pub replays: Vec<ReplayInfo>,
    pub recent_failures: Vec<TargetFailure>,
}

#[derive(Debug, Clone)]
struct Archived {
    event: Event,
    archived_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Archive {
    config: ArchiveConfig,
    events: VecDeque<Archived>,
    /// When the API created it (`None` for the manifest's).
    created_at: Option<DateTime<Utc>>,
    /// How many events it ever archived: the next one's sequence number (`image`).
    appended: u64,
}

impl Archive {
    fn expires(&self, archived_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.config
            .retention_days
            .map(|days| archived_at + TimeDelta::days(i64::from(days)))
    }

    fn live(&self, now: DateTime<Utc>) -> impl Iterator<Item = &Archived> {
        self.events
            .iter()
            .filter(move |a| self.expires(a.archived_at).is_none_or(|end| end > now))
    }

    fn trim(&mut self, now: DateTime<Utc>) {
        // Events are archived in clock order, so the expired ones are at the front.
        while let Some(first) = self.events.front() {
            if self
                .expires(first.archived_at)
                .is_some_and(|end| end <= now)
            {
                self.events.pop_front();
            } else {
                break;
            }
        }
    }

    fn info(&self, bus: &str, now: DateTime<Utc>) -> ArchiveInfo {
        let (mut count, mut size) = (0, 0);
        for a in self.live(now) {
            count += 1;
            size += a.event.text.len() as u64;
        }
        ArchiveInfo {
            name: self.config.name.clone(),
            bus: bus.to_string(),
            event_count: count,
            size_bytes: size,
            retention_days: self.config.retention_days,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Counts {
    delivered: u64,
    failed: u64,
}

#[derive(Debug, Clone)]
struct Replay {
    info: ReplayInfo,
    /// Function deliveries not handed out for the first time yet.
    awaiting: u64,
}

#[derive(Debug, Clone)]
struct Bus {
    description: Option<String>,
    origin: Origin,
    /// When the API created it (`None` for the manifest's).
    created_at: Option<DateTime<Utc>>,
    rules: Vec<RuleConfig>,
    /// Schedule rules' timers, by rule name.
    timers: BTreeMap<String, timers::Timer>,
    matched: BTreeMap<String, u64>,
    /// By (rule, target id).
    counts: BTreeMap<(String, String), Counts>,
    archives: Vec<Archive>,
    replays: Vec<Replay>,
    events: u64,
    failures: VecDeque<TargetFailure>,
}

impl Bus {
    fn record_failure(&mut self, failure: TargetFailure) {
        if self.failures.len() == RECENT_FAILURES {
            self.failures.pop_front();
        }
        self.failures.push_back(failure);
    }
}

/// Identifies a function delivery's rule target (stored as JSON with `--state`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Tag {
    bus: String,
    rule: String,
    /// The target's id.
    target: String,
    event_id: String,
    replay: Option<String>,
}

/// Every bus of an app; `default` always exists.
#[derive(Debug, Clone)]
pub struct Buses {
    buses: BTreeMap<String, Bus>,
    invocations: Invocations<Tag>,
    /// With `--state`: archived events added and trimmed since the last take (`image`).
    archive_journal: Option<Vec<image::ArchiveChange>>,
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn valid_replay_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn build(configs: Vec<BusConfig>) -> Result<BTreeMap<String, Bus>, ConfigError> {
    let mut buses = BTreeMap::new();
    for config in configs {
        if config.name.is_empty() {
            return Err(ConfigError::EmptyName);
        }
        let mut rules = std::collections::BTreeSet::new();
        for rule in &config.rules {
            if !rules.insert(rule.name.as_str()) {
                return Err(ConfigError::DuplicateRule {
                    bus: config.name.clone(),
                    rule: rule.name.clone(),
                });
            }
        }
        let mut archives = std::collections::BTreeSet::new();
        for archive in &config.archives {
            if !archives.insert(archive.name.as_str()) {
                return Err(ConfigError::DuplicateArchive {
                    bus: config.name.clone(),
                    archive: archive.name.clone(),
                });
            }
        }
        let bus = Bus {
            description: config.description,
            origin: config.origin,
            created_at: None,
            rules: config.rules,
            timers: BTreeMap::new(),
            matched: BTreeMap::new(),
            counts: BTreeMap::new(),
            archives: config
                .archives
                .into_iter()
                .map(|config| Archive {
                    config,
                    events: VecDeque::new(),
                    created_at: None,
                    appended: 0,
                })
                .collect(),
            replays: Vec::new(),
            events: 0,
            failures: VecDeque::new(),
        };
        if buses.insert(config.name.clone(), bus).is_some() {
            return Err(ConfigError::DuplicateBus(config.name));
        }
    }
    if !buses.contains_key("default") {
        if let Ok(mut default) = build(vec![BusConfig::new("default")]) {
            buses.append(&mut default);
        }
    }
    Ok(buses)
}

/// The input a target receives for `event`. The whole event is the ordered text, not the
/// re-serialized value (see `event.rs`).
fn shape(
    input: &InputShape,
    event: &Event,
    bus: &str,
    rule: &str,
    now: DateTime<Utc>,
) -> Result<String, String> {
    if matches!(input, InputShape::Event) {
        return Ok(event.text.clone());
    }
    let arn = rule_arn(bus, rule);
    let ingestion = iso_millis(now);
    let context = RuleContext {
        rule_name: rule,
        rule_arn: &arn,
        ingestion_time: &ingestion,
    };
    input
        .apply(&event.value, &context)
        .map_err(|e| format!("input transformation failed: {e}"))
}

impl Buses {
    /// Buses with Lambda's default async retry policy for function targets.
    pub fn new(configs: Vec<BusConfig>) -> Result<Buses, ConfigError> {
        Buses::with_retry_policy(configs, RetryPolicy::default())
    }

    pub fn with_retry_policy(
        configs: Vec<BusConfig>,
        policy: RetryPolicy,
    ) -> Result<Buses, ConfigError> {
        Ok(Buses {
            buses: build(configs)?,
            invocations: Invocations::new(policy),
            archive_journal: None,
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.buses.keys().cloned().collect()
    }

    fn unknown_bus(&self, name: &str) -> UnknownBus {
        UnknownBus {
            name: name.to_string(),
            known: self.names(),
        }
    }

    /// `PutEvents`: validates each entry, archives and routes the accepted ones.
    pub fn put_events(
        &mut self,
        entries: Vec<PutEntry>,
        now: DateTime<Utc>,
    ) -> Result<PutEventsOutcome, PutEventsError> {
        if entries.is_empty() {
            return Err(PutEventsError::NoEntries);
        }
        if entries.len() > MAX_ENTRIES {
            return Err(PutEventsError::TooManyEntries {
                count: entries.len(),
            });
        }
        let size: usize = entries.iter().map(PutEntry::size).sum();
        if size > MAX_REQUEST_BYTES {
            return Err(PutEventsError::TooLarge { size });
        }
        self.tick(now);
        let mut result = PutEventsResult {
            failed_entry_count: 0,
            entries: Vec::with_capacity(entries.len()),
        };
        let mut routed = Routed::default();
        for entry in &entries {
            let accepted = Event::from_entry(entry, now).and_then(|event| {
                let bus = entry.bus_name();
                if self.buses.contains_key(bus) {
                    Ok((bus.to_string(), event))
                } else {
                    Err(super::event::EntryError {
                        code: "ResourceNotFoundException",
                        message: format!(
                            "Event bus {bus} does not exist. (buses: {})",
                            list(&self.names())
                        ),
                    })
                }
            });
            match accepted {
                Ok((bus, event)) => {
                    result.entries.push(PutEventsResultEntry {
                        event_id: Some(event.id.clone()),
                        error_code: None,
                        error_message: None,
                    });
                    self.archive(&bus, &event, now);
                    let matching = |r: &RuleConfig| r.matches(&event);
                    self.route(&bus, &event, &matching, None, now, &mut routed);
                }
                Err(e) => {
                    result.failed_entry_count += 1;
                    result.entries.push(PutEventsResultEntry {
                        event_id: None,
                        error_code: Some(e.code.to_string()),
                        error_message: Some(e.message),
                    });
                }
            }
        }
        Ok(PutEventsOutcome { result, routed })
    }

    fn archive(&mut self, bus: &str, event: &Event, now: DateTime<Utc>) {
        let bus_name = bus;
        let Some(bus) = self.buses.get_mut(bus) else {
            return;
        };
        bus.events += 1;
        for archive in &mut bus.archives {
            if archive
                .config
                .pattern
                .as_ref()
                .is_none_or(|p| p.matches(&event.value))
            {
                archive.events.push_back(Archived {
                    event: event.clone(),
                    archived_at: now,
                });
                archive.appended += 1;
                if let Some(journal) = &mut self.archive_journal {
                    journal.push(image::ArchiveChange::added(bus_name, archive, now));
                }
            }
        }
    }

    /// Sends `event` to the bus's enabled rules that `select` picks (those whose pattern
    /// matches, or a schedule's own rule) and makes the deliveries. Returns how many
    /// deliveries were made.
    fn route(
        &mut self,
        bus_name: &str,
        event: &Event,
        select: &dyn Fn(&RuleConfig) -> bool,
        replay: Option<&str>,
        now: DateTime<Utc>,
        routed: &mut Routed,
    ) -> u64 {
        let Some(bus) = self.buses.get_mut(bus_name) else {
            return 0;
        };
        let mut made = 0;
        let mut functions = Vec::new();
        for rule in &bus.rules {
            if !rule.enabled || !select(rule) {
                continue;
            }
            *bus.matched.entry(rule.name.clone()).or_default() += 1;
            for target in &rule.targets {
                let input = match shape(&target.input, event, bus_name, &rule.name, now) {
                    Ok(input) => input,
                    Err(reason) => {
                        let failure = TargetFailure {
                            bus: bus_name.to_string(),
                            rule: rule.name.clone(),
                            target: target.target.clone(),
                            event_id: event.id.clone(),
                            attempts: 0,
                            failed_at: now,
                            reason,
                        };
                        bus.counts
                            .entry((rule.name.clone(), target.id.clone()))
                            .or_default()
                            .failed += 1;
                        if bus.failures.len() == RECENT_FAILURES {
                            bus.failures.pop_front();
                        }
                        bus.failures.push_back(failure.clone());
                        routed.failures.push(failure);
                        continue;
                    }
                };
                made += 1;
                match &target.target {
                    BusTarget::Function(function) => functions.push((
                        function.clone(),
                        input,
                        Tag {
                            bus: bus_name.to_string(),
                            rule: rule.name.clone(),
                            target: target.id.clone(),
                            event_id: event.id.clone(),
                            replay: replay.map(str::to_string),
                        },
                    )),
                    other => {
                        bus.counts
                            .entry((rule.name.clone(), target.id.clone()))
                            .or_default()
                            .delivered += 1;
                        routed.sends.push(TargetDelivery {
                            bus: bus_name.to_string(),
                            rule: rule.name.clone(),
                            target: other.clone(),
                            event_id: event.id.clone(),
                            input,
                            replay: replay.map(str::to_string),
                        });
                    }
                }
            }
        }
        for (function, input, tag) in functions {
            let id = self
                .invocations
                .push(function, input.into_bytes(), tag, now);
            routed.function_deliveries.push(id);
        }
        made
    }

    /// The function deliveries (pending first attempts and retries) that changed since
    /// the last call.
    pub fn take_changes(&mut self) -> Option<crate::async_retry::image::InvocationChanges> {
        self.invocations.take_changes()
    }

    /// Puts stored function deliveries back, keeping those whose rule target still
    /// exists; returns how many came back.
    pub fn restore_deliveries(
        &mut self,
        next_id: u64,
        stored: Vec<crate::async_retry::image::StoredInvocation>,
    ) -> usize {
        let buses = &self.buses;
        self.invocations.restore(next_id, stored, |tag| {
            buses.get(&tag.bus).is_some_and(|b| {
                b.rules
                    .iter()
                    .any(|r| r.name == tag.rule && r.targets.iter().any(|t| t.id == tag.target))
            })
        })
    }

    /// Function deliveries due at `now`; each is in flight until [`Buses::complete`].
    pub fn due_deliveries(&mut self, now: DateTime<Utc>) -> Vec<FunctionDelivery> {
        let due = self.invocations.due(now);
        let mut out = Vec::with_capacity(due.len());
        for (delivery, tag) in due {
            if delivery.attempt == 1 {
                if let Some(replay) = tag.replay.as_deref().and_then(|name| {
                    self.buses
                        .get_mut(&tag.bus)?
                        .replays
                        .iter_mut()
                        .find(|r| r.info.name == name)
                }) {
                    replay.awaiting = replay.awaiting.saturating_sub(1);
                    if replay.awaiting == 0 && replay.info.state == ReplayState::Running {
                        replay.info.state = ReplayState::Completed;
                        replay.info.ended_at = Some(now);
                    }
                }
            }
            out.push(delivery);
        }
        out
    }

    /// The bus, rule and replay (if any) of an outstanding function delivery.
    pub fn delivery_source(&self, id: u64) -> Option<(String, String, Option<String>)> {
        self.invocations
            .tag(id)
            .map(|t| (t.bus.clone(), t.rule.clone(), t.replay.clone()))
    }

    /// Records whether the handler succeeded for a delivery from
    /// [`Buses::due_deliveries`].
    pub fn complete(
        &mut self,
        id: u64,
        success: bool,
        now: DateTime<Utc>,
    ) -> Result<DeliveryOutcome, CompleteError> {
        match self.invocations.complete(id, success, now)? {
            Settled::Delivered { tag, .. } => {
                if let Some(c) = self.counts_mut(&tag) {
                    c.delivered += 1;
                }
                Ok(DeliveryOutcome::Delivered)
            }
            Settled::Retrying { attempts, at, .. } => {
                Ok(DeliveryOutcome::Retrying { attempts, at })
            }
            Settled::Exhausted {
                tag,
                attempts,
                function,
                ..
            } => {
                let failure = TargetFailure {
                    bus: tag.bus.clone(),
                    rule: tag.rule.clone(),
                    target: BusTarget::Function(function),
                    event_id: tag.event_id.clone(),
                    attempts,
                    failed_at: now,
                    reason: format!("the handler failed all {attempts} attempts"),
                };
                if let Some(c) = self.counts_mut(&tag) {
                    c.failed += 1;
                }
                if let Some(bus) = self.buses.get_mut(&tag.bus) {
                    bus.record_failure(failure.clone());
                }
                Ok(DeliveryOutcome::Failed(failure))
            }
        }
    }

    fn counts_mut(&mut self, tag: &Tag) -> Option<&mut Counts> {
        let bus = self.buses.get_mut(&tag.bus)?;
        Some(
            bus.counts
                .entry((tag.rule.clone(), tag.target.clone()))
                .or_default(),
        )
    }

    /// The bus's archives as of `now` (expired events no longer count).
    pub fn archives(&self, bus: &str, now: DateTime<Utc>) -> Result<Vec<ArchiveInfo>, UnknownBus> {
        let b = self.buses.get(bus).ok_or_else(|| self.unknown_bus(bus))?;
        Ok(b.archives.iter().map(|a| a.info(bus, now)).collect())
    }

    /// The archived events of one archive, oldest first, as delivered (JSON text).
    pub fn archived_events(
        &self,
        bus: &str,
        archive: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, UnknownBus> {
        let b = self.buses.get(bus).ok_or_else(|| self.unknown_bus(bus))?;
        Ok(b.archives
            .iter()
            .filter(|a| a.config.name == archive)
            .flat_map(|a| a.live(now).map(|e| e.event.text.clone()))
            .collect())
    }

    /// `StartReplay`: re-sends the archived events in range to the bus's rules.
    pub fn start_replay(
        &mut self,
        bus_name: &str,
        req: ReplayRequest,
        now: DateTime<Utc>,
    ) -> Result<(ReplayInfo, Routed), ReplayError> {
        self.tick(now);
        let known = self.names();
        let bus = self
            .buses
            .get(bus_name)
            .ok_or_else(|| ReplayError::UnknownBus {
                name: bus_name.to_string(),
                known,
            })?;
        if !valid_replay_name(&req.name) {
            return Err(ReplayError::InvalidName(req.name));
        }
        if bus.replays.iter().any(|r| r.info.name == req.name) {
            return Err(ReplayError::DuplicateName {
                bus: bus_name.to_string(),
                name: req.name,
            });
        }
        if req.from >= req.to {
            return Err(ReplayError::EmptyRange {
                from: req.from,
                to: req.to,
            });
        }
        let archive = bus
            .archives
            .iter()
            .find(|a| a.config.name == req.archive)
            .ok_or_else(|| ReplayError::UnknownArchive {
                bus: bus_name.to_string(),
                name: req.archive.clone(),
                known: bus.archives.iter().map(|a| a.config.name.clone()).collect(),
            })?;
        if let Some(rules) = &req.rules {
            if let Some(missing) = rules
                .iter()
                .find(|r| !bus.rules.iter().any(|x| &x.name == *r))
            {
                return Err(ReplayError::UnknownRule {
                    bus: bus_name.to_string(),
                    name: missing.clone(),
                    known: bus.rules.iter().map(|r| r.name.clone()).collect(),
                });
            }
        }
        let mut events: Vec<Event> = archive
            .live(now)
            .filter(|a| a.event.time >= req.from && a.event.time < req.to)
            .map(|a| a.event.clone())
            .collect();
        // Stable: events with the same time keep archive order.
        events.sort_by_key(|e| e.time);

        let mut routed = Routed::default();
        let mut deliveries = 0;
        for event in &events {
            let replayed = event.replayed(&req.name);
            let only = req.rules.as_deref();
            let selected = |r: &RuleConfig| {
                only.is_none_or(|names| names.contains(&r.name)) && r.matches(&replayed)
            };
            deliveries += self.route(
                bus_name,
                &replayed,
                &selected,
                Some(&req.name),
                now,
                &mut routed,
            );
        }
        let awaiting = routed.function_deliveries.len() as u64;
        let info = ReplayInfo {
            name: req.name,
            bus: bus_name.to_string(),
            archive: req.archive,
            state: if awaiting == 0 {
                ReplayState::Completed
            } else {
                ReplayState::Running
            },
            from: req.from,
            to: req.to,
            rules: req.rules,
            started_at: now,
            ended_at: (awaiting == 0).then_some(now),
            events_replayed: events.len() as u64,
            deliveries,
            last_event_time: events.last().map(|e| e.time),
        };
        if let Some(bus) = self.buses.get_mut(bus_name) {
            bus.replays.push(Replay {
                info: info.clone(),
                awaiting,
            });
        }
        Ok((info, routed))
    }

    /// `DescribeReplay`.
    pub fn replay(&self, bus: &str, name: &str) -> Option<ReplayInfo> {
        self.buses
            .get(bus)?
            .replays
            .iter()
            .find(|r| r.info.name == name)
            .map(|r| r.info.clone())
    }

    /// Rules with counts, archives, replays and recent failures of one bus.
    pub fn stats(&self, name: &str, now: DateTime<Utc>) -> Result<BusStats, UnknownBus> {
        let bus = self.buses.get(name).ok_or_else(|| self.unknown_bus(name))?;
        let rules = bus
            .rules
            .iter()
            .map(|rule| RuleStats {
                name: rule.name.clone(),
                arn: rule_arn(name, &rule.name),
                origin: rule.origin,
                enabled: rule.enabled,
                schedule: rule.schedule.clone(),
                matched: bus.matched.get(&rule.name).copied().unwrap_or(0),
                targets: rule
                    .targets
                    .iter()
                    .map(|target| {
                        let counts = bus
                            .counts
                            .get(&(rule.name.clone(), target.id.clone()))
                            .cloned()
                            .unwrap_or_default();
                        let (mut retrying, mut in_flight) = (0, 0);
                        for (tag, _, flying) in self.invocations.outstanding() {
                            if tag.bus == name && tag.rule == rule.name && tag.target == target.id {
                                if flying {
                                    in_flight += 1;
                                } else {
                                    retrying += 1;
                                }
                            }
                        }
                        TargetStats {
                            id: target.id.clone(),
                            origin: target.origin,
                            target: target.target.clone(),
                            delivered: counts.delivered,
                            failed: counts.failed,
                            retrying,
                            in_flight,
                        }
                    })
                    .collect(),
            })
            .collect();
        Ok(BusStats {
            name: name.to_string(),
            arn: bus_arn(name),
            origin: bus.origin,
            events: bus.events,
            rules,
            archives: bus.archives.iter().map(|a| a.info(name, now)).collect(),
            replays: bus.replays.iter().map(|r| r.info.clone()).collect(),
            recent_failures: bus.failures.iter().cloned().collect(),
        })
    }

    /// [`Buses::stats`] for every bus.
    pub fn describe(&self, now: DateTime<Utc>) -> Vec<BusStats> {
        self.buses
            .keys()
            .filter_map(|name| self.stats(name, now).ok())
            .collect()
    }

    /// Removes archived events past their retention.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        for (name, bus) in &mut self.buses {
            for archive in &mut bus.archives {
                let before = archive.events.len();
                archive.trim(now);
                if let (Some(journal), true) =
                    (&mut self.archive_journal, archive.events.len() < before)
                {
                    journal.push(image::ArchiveChange::trimmed(name, archive));
                }
            }
        }
    }

    /// The next moment something changes by itself: a retry becomes due, an archived
    /// event expires or a schedule rule ticks (`now` if one already has).
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let expiry = self
            .buses
            .values()
            .flat_map(|b| b.archives.iter())
            .filter_map(|a| a.events.front().and_then(|e| a.expires(e.archived_at)))
            .map(|t| t.max(now))
            .min();
        let tick = self.next_tick().map(|t| t.max(now));
        [expiry, self.invocations.next_change(now), tick]
            .into_iter()
            .flatten()
            .min()
    }

    /// Hot reload: the manifest's buses, rules, targets and archives are rebuilt from
    /// `configs`; the API's are kept unless the manifest now declares the same name (then
    /// the manifest's settings win). Buses that stay keep their archived events (per
    /// archive name), replays and counts; outstanding function deliveries of removed
    /// rule targets are dropped. Returns how many were dropped. On error nothing changes.
    pub fn replace_configs(&mut self, configs: Vec<BusConfig>) -> Result<usize, ConfigError> {
        let mut fresh = build(configs)?;
        for (name, old) in std::mem::take(&mut self.buses) {
            match fresh.get_mut(&name) {
                Some(bus) => bus.adopt(old),
                None if old.origin == Origin::Api => {
                    fresh.insert(name, old);
                }
                None => {}
            }
        }
        self.buses = fresh;
        let buses = &self.buses;
        Ok(self.invocations.retain(|tag| {
            buses.get(&tag.bus).is_some_and(|b| {
                b.rules
                    .iter()
                    .any(|r| r.name == tag.rule && r.targets.iter().any(|t| t.id == tag.target))
            })
        }))
    }
}

impl Bus {
    /// Takes over what `old` (the same bus before a reload) holds: events of archives
    /// that stay, the API's rules, targets and archives, counts and replays.
    fn adopt(&mut self, mut old: Bus) {
        for archive in &mut self.archives {
            if let Some(previous) = old
                .archives
                .iter_mut()
                .find(|a| a.config.name == archive.config.name)
            {
                archive.events = std::mem::take(&mut previous.events);
                archive.created_at = previous.created_at;
                archive.appended = previous.appended;
            }
        }
        for archive in old.archives {
            let declared = self
                .archives
                .iter()
                .any(|a| a.config.name == archive.config.name);
            if archive.config.origin == Origin::Api && !declared {
                self.archives.push(archive);
            }
        }
        for rule in old.rules {
            match self.rules.iter_mut().find(|r| r.name == rule.name) {
                Some(fresh) => {
                    for target in rule.targets {
                        let declared = fresh.targets.iter().any(|t| t.id == target.id);
                        if target.origin == Origin::Api && !declared {
                            fresh.targets.push(target);
                        }
                    }
                }
                None if rule.origin == Origin::Api => self.rules.push(rule),
                None => {}
            }
        }
        self.created_at = old.created_at;
        self.timers = timers::kept_timers(old.timers, &self.rules);
        self.matched = old.matched;
        self.counts = old.counts;
        self.replays = old.replays;
        self.events = old.events;
        self.failures = old.failures;
    }
}

impl Pending for Buses {
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        self.buses
            .keys()
            .map(|name| {
                let c = self.invocations.counts(now, |tag| &tag.bus == name);
                PendingWork {
                    service: "bus".to_string(),
                    resource: name.clone(),
                    due_now: c.due_now + self.ticks_due(name, now),
                    scheduled_later: c.scheduled_later,
                    next_due: c.next_due,
                }
            })
            .collect()
    }

    /// A delivery is due when the retry queue's next change is now, or a schedule rule's
    /// tick has come (archive expiry is not work drain waits for).
    fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.invocations.next_change(now) == Some(now) || self.next_tick().is_some_and(|t| t <= now)
    }
}

#[path = "admin.rs"]
mod admin;
#[path = "image.rs"]
pub mod image;
#[path = "timers.rs"]
mod timers;
pub use admin::{AdminError, ArchiveDetail, ArchiveUpdate, BusInfo, MAX_TARGETS};

#[cfg(test)]
#[path = "buses_tests.rs"]
mod tests;
