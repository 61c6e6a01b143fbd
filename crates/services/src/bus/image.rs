//! The buses' durable image (`--state`): what the API made (buses, rules, targets,
//! archives), every bus's replays, and each archive's events, so a restart or a
//! `kill -9` loses neither the archive nor what was configured through EventBridge's API.
//!
//! As everywhere else the state machine writes nothing. The catalog ([`Buses::catalog`]:
//! every bus with its rules, targets, archives' settings and replays) is small and is
//! written whole when it differs from the last one written; archived events are many, so
//! the buses journal them ([`Buses::start_journal`]): each archived event is one row keyed
//! `(bus, archive, sequence)`, and retention's trim is one key-range delete below a
//! sequence. At start [`Buses::restore`] rebuilds the stored buses and then reconciles
//! them with the manifest through [`Buses::replace_configs`], the call a reload makes: the
//! API's things stay, the manifest's are rebuilt from it, archives keep their events by
//! name. A replay sends everything when it starts (its deliveries are the async retries'
//! rows), so one in progress continues with those deliveries; one whose deliveries are
//! all gone is reported completed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Archive, ArchiveConfig, Archived, BusConfig, BusTarget, Buses, ConfigError, Event, Origin,
    Replay, ReplayInfo, ReplayState, RuleConfig, RuleTargetConfig, Tag, TargetInput,
};
use crate::async_retry::RetryPolicy;
use crate::pattern::EventPattern;

/// One bus as stored in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBus {
    pub description: Option<String>,
    pub origin: Origin,
    pub created_at: Option<DateTime<Utc>>,
    pub rules: Vec<StoredRule>,
    pub archives: Vec<StoredArchive>,
    pub replays: Vec<StoredReplay>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRule {
    pub name: String,
    pub pattern: Option<String>,
    pub schedule: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub origin: Origin,
    pub targets: Vec<StoredTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTarget {
    pub id: String,
    pub target: BusTarget,
    pub input: Option<String>,
    pub input_path: Option<String>,
    pub input_transformer: Option<(BTreeMap<String, String>, String)>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredArchive {
    pub name: String,
    pub pattern: Option<String>,
    pub description: Option<String>,
    pub retention_days: Option<u32>,
    pub origin: Origin,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReplay {
    pub info: ReplayInfo,
    /// Function deliveries not handed out for the first time yet.
    pub awaiting: u64,
}

/// One archived event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredArchived {
    pub bus: String,
    pub archive: String,
    pub seq: u64,
    pub event_id: String,
    pub time: DateTime<Utc>,
    /// The envelope as delivered.
    pub text: String,
    pub archived_at: DateTime<Utc>,
}

/// One journaled change of an archive's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveChange {
    Added(StoredArchived),
    /// Events below this sequence are gone (retention).
    Trimmed {
        bus: String,
        archive: String,
        below: u64,
    },
}

impl ArchiveChange {
    /// The event `archive` just archived (its last).
    pub(super) fn added(bus: &str, archive: &Archive, now: DateTime<Utc>) -> ArchiveChange {
        let event = archive.events.back().map(|a| &a.event);
        ArchiveChange::Added(StoredArchived {
            bus: bus.to_string(),
            archive: archive.config.name.clone(),
            seq: archive.appended.saturating_sub(1),
            event_id: event.map(|e| e.id.clone()).unwrap_or_default(),
            time: event.map_or(now, |e| e.time),
            text: event.map(|e| e.text.clone()).unwrap_or_default(),
            archived_at: now,
        })
    }

    pub(super) fn trimmed(bus: &str, archive: &Archive) -> ArchiveChange {
        ArchiveChange::Trimmed {
            bus: bus.to_string(),
            archive: archive.config.name.clone(),
            below: archive.appended - archive.events.len() as u64,
        }
    }
}

fn pattern(text: &Option<String>, what: &str) -> Result<Option<EventPattern>, String> {
    let Some(text) = text else {
        return Ok(None);
    };
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("stored {what}: pattern: {e}"))?;
    EventPattern::compile(&value)
        .map(Some)
        .map_err(|e| format!("stored {what}: pattern: {e}"))
}

fn config(name: &str, stored: &StoredBus) -> Result<BusConfig, String> {
    let mut rules = Vec::new();
    for r in &stored.rules {
        let what = format!("rule {name}/{}", r.name);
        let mut targets = Vec::new();
        for t in &r.targets {
            let written = TargetInput {
                input: t.input.clone(),
                input_path: t.input_path.clone(),
                input_transformer: t.input_transformer.clone(),
            };
            let mut target = RuleTargetConfig::compile(t.id.clone(), t.target.clone(), written)
                .map_err(|e| format!("stored {what}: target {}: {e}", t.id))?;
            target.origin = t.origin;
            targets.push(target);
        }
        rules.push(RuleConfig {
            name: r.name.clone(),
            pattern: pattern(&r.pattern, &what)?,
            pattern_text: r.pattern.clone(),
            schedule: r.schedule.clone(),
            description: r.description.clone(),
            enabled: r.enabled,
            targets,
            origin: r.origin,
        });
    }
    let mut archives = Vec::new();
    for a in &stored.archives {
        archives.push(ArchiveConfig {
            name: a.name.clone(),
            pattern: pattern(&a.pattern, &format!("archive {}", a.name))?,
            pattern_text: a.pattern.clone(),
            description: a.description.clone(),
            retention_days: a.retention_days,
            origin: a.origin,
        });
    }
    Ok(BusConfig {
        name: name.to_string(),
        description: stored.description.clone(),
        rules,
        archives,
        origin: stored.origin,
    })
}

impl Buses {
    /// Starts journaling for `--state`: function deliveries (`take_changes`) and archived
    /// events (`take_archive_changes`).
    pub fn start_journal(&mut self) {
        self.invocations.set_journal(true);
        self.archive_journal = Some(Vec::new());
    }

    /// Archived events added and trimmed since the last call, in order.
    pub fn take_archive_changes(&mut self) -> Vec<ArchiveChange> {
        self.archive_journal
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Every bus as the catalog stores it.
    pub fn catalog(&self) -> BTreeMap<String, StoredBus> {
        self.buses
            .iter()
            .map(|(name, bus)| {
                let rules = bus.rules.iter().map(stored_rule).collect();
                let archives = bus
                    .archives
                    .iter()
                    .map(|a| StoredArchive {
                        name: a.config.name.clone(),
                        pattern: a.config.pattern_text.clone(),
                        description: a.config.description.clone(),
                        retention_days: a.config.retention_days,
                        origin: a.config.origin,
                        created_at: a.created_at,
                    })
                    .collect();
                let replays = bus
                    .replays
                    .iter()
                    .map(|r| StoredReplay {
                        info: r.info.clone(),
                        awaiting: r.awaiting,
                    })
                    .collect();
                let stored = StoredBus {
                    description: bus.description.clone(),
                    origin: bus.origin,
                    created_at: bus.created_at,
                    rules,
                    archives,
                    replays,
                };
                (name.clone(), stored)
            })
            .collect()
    }

    /// Buses as `catalog` and `events` left them, reconciled with the manifest's
    /// `configs` as a reload would. Events of archives that no longer exist are ignored.
    pub fn restore(
        catalog: &BTreeMap<String, StoredBus>,
        events: Vec<StoredArchived>,
        configs: Vec<BusConfig>,
        policy: RetryPolicy,
        now: DateTime<Utc>,
    ) -> Result<Buses, String> {
        let stored: Vec<BusConfig> = catalog
            .iter()
            .map(|(name, bus)| config(name, bus))
            .collect::<Result<_, _>>()?;
        let mut buses = Buses::with_retry_policy(stored, policy).map_err(|e| e.to_string())?;
        for (name, s) in catalog {
            let Some(bus) = buses.buses.get_mut(name) else {
                continue;
            };
            bus.created_at = s.created_at;
            for a in &s.archives {
                if let Some(archive) = bus.archives.iter_mut().find(|x| x.config.name == a.name) {
                    archive.created_at = a.created_at;
                }
            }
            bus.replays = s
                .replays
                .iter()
                .map(|r| Replay {
                    info: r.info.clone(),
                    awaiting: r.awaiting,
                })
                .collect();
        }
        for e in events {
            let Some(bus) = buses.buses.get_mut(&e.bus) else {
                continue;
            };
            let bus_made = bus.created_at;
            let Some(archive) = bus.archives.iter_mut().find(|a| a.config.name == e.archive) else {
                continue;
            };
            // Rows of an archive (or bus) deleted and made again under the same name
            // before the catalog was written are older than the one that exists now.
            if [archive.created_at, bus_made]
                .into_iter()
                .flatten()
                .any(|made| e.archived_at < made)
            {
                continue;
            }
            let Ok(value) = serde_json::from_str(&e.text) else {
                continue;
            };
            archive.appended = archive.appended.max(e.seq + 1);
            archive.events.push_back(Archived {
                event: Event {
                    id: e.event_id,
                    time: e.time,
                    text: e.text,
                    value,
                },
                archived_at: e.archived_at,
            });
        }
        let scheduled: Vec<(String, String, String)> = catalog
            .iter()
            .flat_map(|(bus, s)| {
                s.rules
                    .iter()
                    .filter(|r| r.origin == Origin::Api)
                    .filter_map(|r| Some((bus.clone(), r.name.clone(), r.schedule.clone()?)))
            })
            .collect();
        for (bus, rule, schedule) in scheduled {
            buses.set_timer(&bus, &rule, Some(&schedule), now);
        }
        buses
            .replace_configs(configs)
            .map_err(|e: ConfigError| e.to_string())?;
        Ok(buses)
    }

    /// After [`Buses::restore_deliveries`]: a running replay waits only for the first
    /// attempts still outstanding; one with none left is completed at `now`.
    pub fn settle_replays(&mut self, now: DateTime<Utc>) {
        let mut waiting: BTreeMap<(String, String), u64> = BTreeMap::new();
        for d in self.invocations.image().deliveries {
            if d.attempts > 0 {
                continue;
            }
            if let Ok(Tag {
                bus,
                replay: Some(replay),
                ..
            }) = serde_json::from_value::<Tag>(d.tag)
            {
                *waiting.entry((bus, replay)).or_default() += 1;
            }
        }
        for (name, bus) in &mut self.buses {
            for r in &mut bus.replays {
                if r.info.state != ReplayState::Running {
                    continue;
                }
                r.awaiting = waiting
                    .get(&(name.clone(), r.info.name.clone()))
                    .copied()
                    .unwrap_or(0);
                if r.awaiting == 0 {
                    r.info.state = ReplayState::Completed;
                    r.info.ended_at = Some(now);
                }
            }
        }
    }
}

fn stored_rule(r: &RuleConfig) -> StoredRule {
    StoredRule {
        name: r.name.clone(),
        pattern: r.pattern_text.clone(),
        schedule: r.schedule.clone(),
        description: r.description.clone(),
        enabled: r.enabled,
        origin: r.origin,
        targets: r
            .targets
            .iter()
            .map(|t| StoredTarget {
                id: t.id.clone(),
                target: t.target.clone(),
                input: t.written.input.clone(),
                input_path: t.written.input_path.clone(),
                input_transformer: t.written.input_transformer.clone(),
                origin: t.origin,
            })
            .collect(),
    }
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
