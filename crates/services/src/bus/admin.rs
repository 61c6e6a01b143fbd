//! The management half of EventBridge's API on [`Buses`]: buses, rules, targets and
//! archives created, changed and deleted at run time (the AWS front end), beside the
//! manifest's. What the API makes is marked [`Origin::Api`] so a hot reload keeps it
//! (see [`Buses::replace_configs`]).
//!
//! Names are global where AWS's are: archives and replays are looked up across buses
//! (AWS names them per account and region), rules per bus.
//!
//! Idempotent where AWS is: deleting an unknown bus, or an unknown rule of a known bus,
//! succeeds. Deleting a bus takes its rules and archives with it (the sandbox does not
//! make the caller empty it first); deleting a rule still refuses while it has targets.

use super::*;

/// Most targets one rule may have (EventBridge's quota).
pub const MAX_TARGETS: usize = 5;

/// Why a management call was refused; the AWS front end maps each to its error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error("Event bus {0} does not exist.")]
    UnknownBus(String),
    #[error("Event bus {0} already exists.")]
    BusExists(String),
    #[error("Cannot delete event bus default.")]
    DefaultBus,
    #[error("Rule {rule} does not exist on EventBus {bus}.")]
    UnknownRule { bus: String, rule: String },
    #[error("Rule can't be deleted since it has targets.")]
    RuleHasTargets,
    #[error("The requested resource exceeds the maximum number allowed: a rule has at most {MAX_TARGETS} targets.")]
    TooManyTargets,
    #[error("Archive {0} does not exist.")]
    UnknownArchive(String),
    #[error("Archive {0} already exists.")]
    ArchiveExists(String),
    #[error("Replay {0} does not exist.")]
    UnknownReplay(String),
    #[error("Replay {0} cannot be cancelled: it is not running.")]
    NotRunning(String),
}

/// A bus as `DescribeEventBus` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusInfo {
    pub name: String,
    pub description: Option<String>,
    pub origin: Origin,
    /// When the API created it (`None` for the manifest's).
    pub created_at: Option<DateTime<Utc>>,
}

/// An archive as `DescribeArchive` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveDetail {
    pub info: ArchiveInfo,
    pub pattern_text: Option<String>,
    pub description: Option<String>,
    pub origin: Origin,
    pub created_at: Option<DateTime<Utc>>,
}

/// What `UpdateArchive` changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct ArchiveUpdate {
    pub pattern: Option<(EventPattern, String)>,
    pub description: Option<String>,
    /// `Some(None)` keeps events forever.
    pub retention_days: Option<Option<u32>>,
}

impl Buses {
    fn bus(&self, name: &str) -> Result<&Bus, AdminError> {
        self.buses
            .get(name)
            .ok_or_else(|| AdminError::UnknownBus(name.to_string()))
    }

    fn bus_mut(&mut self, name: &str) -> Result<&mut Bus, AdminError> {
        self.buses
            .get_mut(name)
            .ok_or_else(|| AdminError::UnknownBus(name.to_string()))
    }

    fn rule_mut(&mut self, bus: &str, rule: &str) -> Result<&mut RuleConfig, AdminError> {
        self.bus_mut(bus)?
            .rules
            .iter_mut()
            .find(|r| r.name == rule)
            .ok_or_else(|| AdminError::UnknownRule {
                bus: bus.to_string(),
                rule: rule.to_string(),
            })
    }

    /// `CreateEventBus` with `config`: a bus the API declares ([`Origin::Api`]), or the
    /// manifest's own bus re-created after a `DeleteEventBus` (its rules reconnected).
    pub fn create_bus(&mut self, config: BusConfig, now: DateTime<Utc>) -> Result<(), AdminError> {
        let name = config.name.clone();
        if self.buses.contains_key(&name) {
            return Err(AdminError::BusExists(name));
        }
        let mut built = build(vec![config]).map_err(|_| AdminError::UnknownBus(name.clone()))?;
        if let Some(mut bus) = built.remove(&name) {
            bus.created_at = Some(now);
            self.buses.insert(name, bus);
        }
        Ok(())
    }

    /// `DeleteEventBus`: the bus is gone with its rules, archives and pending deliveries.
    /// Returns whether it existed.
    pub fn delete_bus(&mut self, name: &str) -> Result<bool, AdminError> {
        if name == "default" {
            return Err(AdminError::DefaultBus);
        }
        let existed = self.buses.remove(name).is_some();
        self.invocations.retain(|tag| tag.bus != name);
        Ok(existed)
    }

    /// `UpdateEventBus`: the description (the only setting the sandbox keeps).
    pub fn set_bus_description(
        &mut self,
        name: &str,
        description: Option<String>,
    ) -> Result<(), AdminError> {
        self.bus_mut(name)?.description = description;
        Ok(())
    }

    /// `DescribeEventBus`.
    pub fn bus_info(&self, name: &str) -> Result<BusInfo, AdminError> {
        let bus = self.bus(name)?;
        Ok(BusInfo {
            name: name.to_string(),
            description: bus.description.clone(),
            origin: bus.origin,
            created_at: bus.created_at,
        })
    }

    /// `PutRule`: creates the rule or replaces its settings, keeping its targets.
    pub fn put_rule(
        &mut self,
        bus: &str,
        rule: RuleConfig,
        now: DateTime<Utc>,
    ) -> Result<(), AdminError> {
        let (name, schedule) = (rule.name.clone(), rule.schedule.clone());
        let b = self.bus_mut(bus)?;
        match b.rules.iter_mut().find(|r| r.name == rule.name) {
            Some(existing) => {
                existing.pattern = rule.pattern;
                existing.pattern_text = rule.pattern_text;
                existing.schedule = rule.schedule;
                existing.description = rule.description;
                existing.enabled = rule.enabled;
            }
            None => b.rules.push(RuleConfig {
                targets: Vec::new(),
                origin: Origin::Api,
                ..rule
            }),
        }
        self.set_timer(bus, &name, schedule.as_deref(), now);
        Ok(())
    }

    /// `DescribeRule`.
    pub fn rule(&self, bus: &str, name: &str) -> Result<RuleConfig, AdminError> {
        self.bus(bus)?
            .rules
            .iter()
            .find(|r| r.name == name)
            .cloned()
            .ok_or_else(|| AdminError::UnknownRule {
                bus: bus.to_string(),
                rule: name.to_string(),
            })
    }

    /// `ListRules`: every rule of a bus, in name order.
    pub fn rules(&self, bus: &str) -> Result<Vec<RuleConfig>, AdminError> {
        let mut rules = self.bus(bus)?.rules.clone();
        rules.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(rules)
    }

    /// `DeleteRule`: refused while the rule has targets; an unknown rule is not an error.
    pub fn delete_rule(&mut self, bus: &str, name: &str) -> Result<(), AdminError> {
        let b = self.bus_mut(bus)?;
        let Some(index) = b.rules.iter().position(|r| r.name == name) else {
            return Ok(());
        };
        if !b.rules[index].targets.is_empty() {
            return Err(AdminError::RuleHasTargets);
        }
        b.rules.remove(index);
        b.matched.remove(name);
        b.timers.remove(name);
        Ok(())
    }

    /// `EnableRule` / `DisableRule`.
    pub fn set_rule_enabled(
        &mut self,
        bus: &str,
        name: &str,
        enabled: bool,
    ) -> Result<(), AdminError> {
        self.rule_mut(bus, name)?.enabled = enabled;
        Ok(())
    }

    /// `PutTargets`: adds targets or replaces those with the same id. Refused as a whole
    /// when the rule would have more than [`MAX_TARGETS`].
    pub fn put_targets(
        &mut self,
        bus: &str,
        rule: &str,
        targets: Vec<RuleTargetConfig>,
    ) -> Result<(), AdminError> {
        let r = self.rule_mut(bus, rule)?;
        let added = targets
            .iter()
            .filter(|t| !r.targets.iter().any(|x| x.id == t.id))
            .count();
        if r.targets.len() + added > MAX_TARGETS {
            return Err(AdminError::TooManyTargets);
        }
        for target in targets {
            match r.targets.iter_mut().find(|x| x.id == target.id) {
                Some(existing) => *existing = target,
                None => r.targets.push(target),
            }
        }
        Ok(())
    }

    /// `RemoveTargets`: ids the rule does not have are ignored. Pending deliveries to the
    /// removed targets are dropped; returns how many.
    pub fn remove_targets(
        &mut self,
        bus: &str,
        rule: &str,
        ids: &[String],
    ) -> Result<usize, AdminError> {
        self.rule_mut(bus, rule)?
            .targets
            .retain(|t| !ids.contains(&t.id));
        if let Some(b) = self.buses.get_mut(bus) {
            b.counts.retain(|(r, id), _| r != rule || !ids.contains(id));
        }
        Ok(self
            .invocations
            .retain(|tag| tag.bus != bus || tag.rule != rule || !ids.contains(&tag.target)))
    }

    fn find_archive(&self, name: &str) -> Option<(&str, &Archive)> {
        self.buses.iter().find_map(|(bus, b)| {
            b.archives
                .iter()
                .find(|a| a.config.name == name)
                .map(|a| (bus.as_str(), a))
        })
    }

    /// `CreateArchive` on `bus`; archive names are unique across buses.
    pub fn create_archive(
        &mut self,
        bus: &str,
        config: ArchiveConfig,
        now: DateTime<Utc>,
    ) -> Result<(), AdminError> {
        if self.find_archive(&config.name).is_some() {
            return Err(AdminError::ArchiveExists(config.name));
        }
        self.bus_mut(bus)?.archives.push(Archive {
            config: ArchiveConfig {
                origin: Origin::Api,
                ..config
            },
            events: VecDeque::new(),
            created_at: Some(now),
            appended: 0,
        });
        Ok(())
    }

    /// `DescribeArchive`.
    pub fn archive_detail(
        &self,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<ArchiveDetail, AdminError> {
        let (bus, archive) = self
            .find_archive(name)
            .ok_or_else(|| AdminError::UnknownArchive(name.to_string()))?;
        Ok(detail(bus, archive, now))
    }

    /// `ListArchives`: every archive of every bus.
    pub fn archive_details(&self, now: DateTime<Utc>) -> Vec<ArchiveDetail> {
        self.buses
            .iter()
            .flat_map(|(bus, b)| b.archives.iter().map(move |a| detail(bus, a, now)))
            .collect()
    }

    /// `UpdateArchive`: changes the settings given; events already archived stay.
    pub fn update_archive(&mut self, name: &str, update: ArchiveUpdate) -> Result<(), AdminError> {
        let archive = self
            .buses
            .values_mut()
            .flat_map(|b| b.archives.iter_mut())
            .find(|a| a.config.name == name)
            .ok_or_else(|| AdminError::UnknownArchive(name.to_string()))?;
        if let Some((pattern, text)) = update.pattern {
            archive.config.pattern = Some(pattern);
            archive.config.pattern_text = Some(text);
        }
        if let Some(description) = update.description {
            archive.config.description = Some(description);
        }
        if let Some(days) = update.retention_days {
            archive.config.retention_days = days;
        }
        Ok(())
    }

    /// `DeleteArchive`: the archive and its events are gone.
    pub fn delete_archive(&mut self, name: &str) -> Result<(), AdminError> {
        for bus in self.buses.values_mut() {
            if let Some(index) = bus.archives.iter().position(|a| a.config.name == name) {
                bus.archives.remove(index);
                return Ok(());
            }
        }
        Err(AdminError::UnknownArchive(name.to_string()))
    }

    /// `DescribeReplay` by name alone (AWS's replay names are unique per region).
    pub fn find_replay(&self, name: &str) -> Option<ReplayInfo> {
        self.buses
            .values()
            .flat_map(|b| b.replays.iter())
            .find(|r| r.info.name == name)
            .map(|r| r.info.clone())
    }

    /// `ListReplays`: every replay of every bus, oldest first.
    pub fn all_replays(&self) -> Vec<ReplayInfo> {
        let mut all: Vec<ReplayInfo> = self
            .buses
            .values()
            .flat_map(|b| b.replays.iter().map(|r| r.info.clone()))
            .collect();
        all.sort_by_key(|r| r.started_at);
        all
    }

    /// `CancelReplay`: a running replay's deliveries not yet made are dropped and it ends
    /// `CANCELLED`; a finished one cannot be cancelled.
    pub fn cancel_replay(&mut self, name: &str, now: DateTime<Utc>) -> Result<(), AdminError> {
        let replay = self
            .buses
            .values_mut()
            .flat_map(|b| b.replays.iter_mut())
            .find(|r| r.info.name == name)
            .ok_or_else(|| AdminError::UnknownReplay(name.to_string()))?;
        if replay.info.state != ReplayState::Running {
            return Err(AdminError::NotRunning(name.to_string()));
        }
        replay.info.state = ReplayState::Cancelled;
        replay.info.ended_at = Some(now);
        replay.awaiting = 0;
        self.invocations
            .retain(|tag| tag.replay.as_deref() != Some(name));
        Ok(())
    }
}

fn detail(bus: &str, archive: &Archive, now: DateTime<Utc>) -> ArchiveDetail {
    ArchiveDetail {
        info: archive.info(bus, now),
        pattern_text: archive.config.pattern_text.clone(),
        description: archive.config.description.clone(),
        origin: archive.config.origin,
        created_at: archive.created_at,
    }
}
