//! The sandbox's time and its service state machines.
//!
//! Services here are plain structs whose methods take `now` (ARCHITECTURE.md: time is passed in): no
//! threads, no sleeping, no async. A driver elsewhere reads the [`Clock`] and calls them,
//! which is what lets a test move a manual clock a day forward and see a day of schedule
//! fires at once.

pub mod alarm;
pub mod async_retry;
pub mod bus;
pub mod clock;
pub mod drain;
pub mod pattern;
pub mod queue;
pub mod recursion;
pub mod schedule;
pub mod stream;
pub mod topic;

pub use clock::{parse_duration, rfc3339_auto, rfc3339_millis, rfc3339_seconds, Clock, ClockError};
pub use drain::{Pending, PendingWork};
pub use schedule::{
    scheduled_event, scheduled_event_json, CatchUp, Due, Fire, ScheduleError, ScheduleExpr,
    ScheduleSpec, Scheduler, Skipped,
};
