//! EventBridge buses as a pure state machine: `PutEvents`, rules with event patterns and
//! targets, input shaping, archives with retention, and replays.
//!
//! - [`event`]: one `PutEvents` entry, its validation, and the event envelope it becomes.
//! - [`buses`]: every bus of an app; routing, function retries, archives, replays, stats;
//!   the management calls of EventBridge's API (buses, rules, targets and archives made at
//!   run time, kept across reloads) and schedule rules' timers; `image` is their durable
//!   form for `--state`.
//!
//! Patterns and input shaping are compiled by [`crate::pattern`]; function targets use
//! Lambda's async retry queue from [`crate::async_retry`]. Nothing here reads a clock or
//! sleeps: every time-dependent call takes `now`, and a driver sleeps until
//! [`Buses::next_change`] (ARCHITECTURE.md: time is passed in).

pub mod buses;
pub mod event;

/// The buses' durable image (`--state`): catalog and archived events.
pub use buses::image;
pub use buses::{
    bus_arn, rule_arn, AdminError, ArchiveConfig, ArchiveDetail, ArchiveInfo, ArchiveUpdate,
    BusConfig, BusInfo, BusStats, BusTarget, Buses, ConfigError, DeliveryOutcome, Origin,
    PutEventsError, PutEventsOutcome, PutEventsResult, PutEventsResultEntry, ReplayError,
    ReplayInfo, ReplayRequest, ReplayState, Routed, RuleConfig, RuleStats, RuleTargetConfig,
    TargetDelivery, TargetFailure, TargetInput, TargetStats, UnknownBus, MAX_TARGETS,
};
pub use event::{Event, PutEntry, MAX_ENTRIES, MAX_REQUEST_BYTES};
