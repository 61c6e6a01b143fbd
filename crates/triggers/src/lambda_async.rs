//! Lambda's asynchronous invocation of a function target: the driver half SNS
//! subscriptions and EventBridge rule targets share.
//!
//! Both state machines keep Lambda's async retry queue; a driver hands out what is due,
//! invokes each delivery on its own task, reports success or failure back, and logs what
//! became of it in one set of words: `<owner>: <from> → fn:<name> ok | FAILED …; retried
//! at … | giving up after N attempts, <fate>`. The services differ only in where a
//! delivery came from, how it is settled and what happens to a message given up on.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sandbox_app::Trigger;
use sandbox_services::topic::{FunctionDelivery, QueueSend};

use crate::driver::Driver;
use crate::invoke::invoke_in_chain;

/// Where a delivery came from, as its log lines name it.
pub(crate) struct Source {
    /// `topic`, `bus`.
    pub kind: &'static str,
    /// The topic's or bus's name.
    pub name: String,
    /// `subscription <id>`, `rule <name>`.
    pub from: String,
    /// Appended after the attempt number, e.g. ` (replay r1)`; usually empty.
    pub note: String,
}

/// What the state machine did with a finished delivery.
pub(crate) enum Settled {
    Delivered,
    /// Failed; handed out again at `at`.
    Retrying {
        at: DateTime<Utc>,
    },
    /// The last attempt failed. `fate` ends the log line (which message, and where it
    /// went); `lost` makes the line an error rather than a warning; a dead-letter send
    /// (message id and what to send) happens after the line is logged.
    GaveUp {
        attempts: u32,
        fate: String,
        lost: bool,
        dead_letter: Option<(String, QueueSend)>,
    },
}

/// A delivery recursive loop detection stopped (`sandbox_services::recursion`).
pub(crate) struct Stopped {
    pub message_id: String,
    /// Where it goes instead: the dead-letter queue's send; `None` drops it.
    pub dead_letter: Option<QueueSend>,
}

/// A service with asynchronously invoked function targets.
pub(crate) trait AsyncTargets: Driver + Sized {
    /// How the invocation log records these invocations.
    const TRIGGER: Trigger;

    /// The source of an outstanding delivery (`?` when it is gone).
    fn source(&self, id: u64) -> Source;

    /// Reports the outcome to the state machine.
    fn complete(&self, id: u64, ok: bool, now: DateTime<Utc>) -> Result<Settled, String>;

    /// Sends a message given up on to its dead-letter queue (only services that have
    /// them return a dead letter from [`AsyncTargets::complete`]).
    fn dead_letter(&self, _source: &Source, _message_id: &str, _send: QueueSend) {}

    /// How many invocations led to an outstanding delivery; services that do not track
    /// chains (EventBridge, which Lambda's loop detection does not cover either) say 0.
    fn hops(&self, _id: u64) -> u32 {
        0
    }

    /// Ends a delivery without invoking it, because it would continue a recursive loop.
    /// Only called when [`AsyncTargets::hops`] says it is too deep.
    fn stop_recursive(&self, id: u64, _now: DateTime<Utc>) -> Result<Stopped, String> {
        Err(format!("delivery {id} cannot be stopped"))
    }
}

/// Starts every delivery a round took (already counted busy), each on its own task, as
/// Lambda invokes asynchronously.
pub(crate) fn hand_out<T: AsyncTargets>(inner: &Arc<T>, due: Vec<FunctionDelivery>) {
    for delivery in due {
        tokio::spawn(deliver(inner.clone(), delivery));
    }
}

async fn deliver<T: AsyncTargets>(inner: Arc<T>, delivery: FunctionDelivery) {
    let started = Instant::now();
    let source = inner.source(delivery.id);
    let FunctionDelivery {
        id,
        function,
        event,
        attempt,
    } = delivery;
    let hops = inner.hops(id);
    if sandbox_services::recursion::stops(hops) {
        stop(&inner, &source, id, &function);
        return;
    }
    let app = inner.app.load_full();
    let failure = invoke_in_chain(&app, &function, T::TRIGGER, event, hops)
        .await
        .output
        .err();
    let elapsed = started.elapsed();
    let now = inner.clock.now();
    let why = failure.as_ref().map_or("?", |f| f.message.as_str());
    let Source {
        kind,
        name,
        from,
        note,
    } = &source;
    let owner = format!("{kind} {name}");
    match inner.complete(id, failure.is_none(), now) {
        Ok(Settled::Delivered) => tracing::info!(
            "{owner}: {from} → fn:{function} ok in {elapsed:.1?} (attempt {attempt}){note}"
        ),
        Ok(Settled::Retrying { at }) => {
            inner.metrics.retried(kind, name, &function);
            tracing::warn!(
                "{owner}: {from} → fn:{function} FAILED in {elapsed:.1?} (attempt {attempt}){note}: {why}; retried at {}",
                sandbox_services::rfc3339_seconds(at)
            )
        }
        Ok(Settled::GaveUp {
            attempts,
            fate,
            lost,
            dead_letter,
        }) => {
            let line = format!(
                "{owner}: {from} → fn:{function} FAILED (attempt {attempt}){note}: {why}; giving up after {attempts} attempts, {fate}"
            );
            if lost {
                tracing::error!("{line}");
            } else {
                tracing::warn!("{line}");
            }
            if let Some((message_id, send)) = dead_letter {
                inner.dead_letter(&source, &message_id, send);
            }
        }
        Err(e) => tracing::error!("{owner}: settling a delivery to {function}: {e}"),
    }
    inner.activity.end(1);
    // A retry may now be scheduled: let the driver compute its next wake-up.
    inner.activity.clock_moved();
}

/// Lambda's recursive loop detection: the delivery is not invoked; its message goes to the
/// dead-letter queue when there is one, and the loop is logged and counted.
fn stop<T: AsyncTargets>(inner: &Arc<T>, source: &Source, id: u64, function: &str) {
    match inner.stop_recursive(id, inner.clock.now()) {
        Ok(Stopped {
            message_id,
            dead_letter,
        }) => {
            let dlq = dead_letter.as_ref().map(|send| send.queue.clone());
            crate::recursion::stopped(
                &inner.metrics,
                (source.kind, &source.name),
                function,
                &message_id,
                dlq.as_deref(),
            );
            if let Some(send) = dead_letter {
                inner.dead_letter(source, &message_id, send);
            }
        }
        Err(e) => tracing::error!(
            "{} {}: stopping a recursive loop to {function}: {e}",
            source.kind,
            source.name
        ),
    }
    inner.activity.end(1);
    inner.activity.clock_moved();
}
