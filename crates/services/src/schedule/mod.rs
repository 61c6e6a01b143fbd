//! EventBridge-style schedules: parsing `rate(...)` and `cron(...)` expressions, the
//! [`Scheduler`] state machine that says which are due, and the event they send.

mod aws_cron;
mod days;
mod error;
mod event;
mod expr;
mod field;
mod scheduler;

pub use aws_cron::AwsCron;
pub use error::ScheduleError;
pub use event::{scheduled_event, scheduled_event_json, ScheduledEvent};
pub use expr::ScheduleExpr;
pub use scheduler::image::StoredSchedule;
pub use scheduler::{
    CatchUp, Due, Fire, ScheduleSpec, Scheduler, Skipped, DEFAULT_TICK_LIMIT, SERVICE,
};
