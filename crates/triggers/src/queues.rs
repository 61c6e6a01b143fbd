//! `@queues`: the SQS state machines of every queue, and the consumer that plays
//! Lambda's event source mapping for each queue with a handler.
//!
//! The consumer receives batches of up to `batchSize` visible messages (waiting up to
//! the batching window for a full one), invokes the handler with the SQS event, and
//! settles the outcome: success deletes, failure leaves the messages to reappear after
//! the visibility timeout with a higher receive count, and `batchItemFailures` retries
//! only the listed ones. Redrive to the dead-letter queue happens inside the state
//! machine on receive. Everything runs on the sandbox clock.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

use chrono::{DateTime, Utc};
use sandbox_app::Trigger;
use sandbox_manifest::{Manifest, Queue as QueueDef};
use sandbox_ops::queues::{
    DeadLetterSummary, MessageList, MessageView, Purged, QueueList, QueueSummary, Redriven,
};
use sandbox_services::queue::MessageState;
use sandbox_services::queue::{
    batch_outcome, batch_outcome_fifo, by_group, queue_arn, sqs_event, Delivery, QueueConfig,
    Queues, ReloadReport, SendReceipt, SendRequest,
};
use sandbox_services::{recursion, PendingWork};

use crate::driver::{Context, Driver, Drivers, Round};
use crate::invoke::invoke_in_chain;
use crate::lock::Lock;
use crate::queue_store::{QueueStore, Restored};
use crate::ControlError;
use sandbox_ops::aws::{ACCOUNT, REGION};
use sandbox_state::{Store, Ticket};

/// Lambda starts five pollers per SQS event source mapping; without a `maxConcurrency`
/// this many batches of one queue run at once.
pub const DEFAULT_CONCURRENCY: u32 = 5;

#[derive(Clone)]
pub struct QueueService {
    inner: Arc<Inner>,
}

struct Inner {
    cx: Context,
    broker: Lock<Queues>,
    /// Batches running per queue, against its concurrency limit.
    running: Lock<HashMap<String, u32>>,
    /// Wakes only this driver (a message arrived, a batch finished); clock moves wake
    /// every driver through the shared activity.
    work: tokio::sync::Notify,
    /// Wakes long-polling receivers (the AWS API's `WaitTimeSeconds`) on every change.
    changed: tokio::sync::Notify,
    /// With `--state`: where every change goes (`queue_store`).
    store: Option<QueueStore>,
}

impl QueueService {
    /// Starts the queues from the manifest or, with a `state` store (`--state DIR`), from
    /// what it holds, reconciled with the manifest as a reload would.
    pub(crate) fn start(
        cx: &Context,
        drivers: &mut Drivers,
        state: Option<(Arc<Store>, std::path::PathBuf)>,
    ) -> Result<(QueueService, Option<Restored>), String> {
        let configs = cx.app.load().manifest().queues.iter().map(config).collect();
        let (broker, store, restored) = match state {
            None => {
                let mut broker = Queues::new(configs).map_err(|e| e.to_string())?;
                broker.stamp(cx.clock.now());
                (broker, None, None)
            }
            Some((store, dir)) => {
                let (broker, store, restored) =
                    QueueStore::open(store, dir, configs, cx.clock.now())?;
                for line in reload_lines(&restored.report) {
                    tracing::info!("restored state: {line}");
                }
                (broker, Some(store), Some(restored))
            }
        };
        let inner = drivers.add(Arc::new(Inner {
            cx: cx.clone(),
            broker: Lock::new(broker),
            running: Lock::new(HashMap::new()),
            work: tokio::sync::Notify::new(),
            changed: tokio::sync::Notify::new(),
            store,
        }));
        Ok((QueueService { inner }, restored))
    }

    /// Sends one message (from the control API or a handler) and wakes the consumer.
    /// With `--state`, answers once the message is on disk.
    pub fn send(&self, queue: &str, request: SendRequest) -> Result<SendReceipt, ControlError> {
        let now = self.inner.clock.now();
        let (receipt, ticket) = {
            let mut broker = self.inner.broker();
            let receipt = broker.send(queue, request, now).map_err(queue_error)?;
            (receipt, self.inner.record(&mut broker, false))
        };
        // Only the consumer and long-polling receivers care: wake them, not every driver.
        self.inner.work.notify_one();
        self.inner.changed.notify_waiters();
        self.inner.durable(ticket)?;
        Ok(receipt)
    }

    /// Reads the queues' state machine under its lock at the sandbox's `now`: no
    /// journal, no commit wait, no wake-ups (for front ends that only look).
    pub fn read_queues<R>(&self, f: impl FnOnce(&Queues, DateTime<Utc>) -> R) -> R {
        let now = self.inner.clock.now();
        f(&self.inner.broker(), now)
    }

    /// Runs `f` on the queues' state machine, under its lock, at the sandbox's `now`, then
    /// wakes the consumer (for front ends that change queues, like the AWS APIs). With
    /// `--state`, returns once what `f` changed is on disk; if it could not be written,
    /// the error (503) says so and the caller must not acknowledge the change.
    pub fn with_queues<R>(
        &self,
        f: impl FnOnce(&mut Queues, DateTime<Utc>) -> R,
    ) -> Result<R, ControlError> {
        let now = self.inner.clock.now();
        let (result, ticket) = {
            let mut broker = self.inner.broker();
            let result = f(&mut broker, now);
            (result, self.inner.record(&mut broker, true))
        };
        self.inner.work.notify_one();
        self.inner.changed.notify_waiters();
        self.inner.durable(ticket)?;
        Ok(result)
    }

    /// Long polling: runs `take` (under the lock, at `now`) until it finds something or
    /// `wait` has passed, looking again whenever a message is sent, the queues change or
    /// the clock moves (and at least every 100 ms, for delays ending on the system clock).
    pub async fn poll<R>(
        &self,
        wait: std::time::Duration,
        mut take: impl FnMut(&mut Queues, DateTime<Utc>) -> Option<R>,
    ) -> Option<R> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let changed = self.inner.changed.notified();
            let clock = self.inner.activity.wake.notified();
            tokio::pin!(changed, clock);
            changed.as_mut().enable();
            clock.as_mut().enable();
            let now = self.inner.clock.now();
            let (found, ticket) = {
                let mut broker = self.inner.broker();
                let found = take(&mut broker, now);
                (found, self.inner.record(&mut broker, false))
            };
            if found.is_some() {
                self.inner.work.notify_one();
                if let Err(e) = self.inner.durable(ticket) {
                    tracing::error!("queues: {e}");
                }
                return found;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            let nap = left.min(std::time::Duration::from_millis(100));
            tokio::select! {
                () = changed => {}
                () = clock => {}
                () = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// Every queue with its counts (`GET /_sandbox/queues`): the manifest's and those
    /// made through the AWS API alike.
    pub fn list(&self) -> QueueList {
        let now = self.inner.clock.now();
        let app = self.inner.app.load();
        let broker = self.inner.broker();
        let queues = broker
            .names()
            .into_iter()
            .filter_map(|name| {
                let queue = broker.get(&name).ok()?;
                let stats = queue.stats(now);
                let def = app.manifest().queues.iter().find(|d| d.name == name);
                let dead_letter_queue =
                    queue
                        .config()
                        .dead_letter
                        .as_ref()
                        .map(|(dlq, max)| DeadLetterSummary {
                            name: dlq.clone(),
                            max_receive_count: *max,
                            depth: broker
                                .stats(dlq, now)
                                .map(|s| s.visible + s.in_flight + s.delayed)
                                .unwrap_or(0),
                        });
                Some(QueueSummary {
                    name: name.clone(),
                    fifo: queue.config().fifo,
                    consumer: def.and_then(|d| d.function.clone()),
                    visible: stats.visible,
                    in_flight: stats.in_flight,
                    delayed: stats.delayed,
                    oldest_age_seconds: stats.oldest_age_seconds,
                    expired_total: stats.expired_total,
                    dead_lettered_total: stats.dead_lettered_total,
                    dead_letter_queue,
                })
            })
            .collect();
        QueueList { queues }
    }

    /// Every message of a queue and its state, changing nothing.
    pub fn peek(&self, queue: &str) -> Result<MessageList, ControlError> {
        let now = self.inner.clock.now();
        let views = self.inner.broker().peek(queue, now).map_err(queue_error)?;
        let messages = views
            .iter()
            .map(|view| {
                let m = &view.message;
                let (state, until) = match view.state {
                    MessageState::Visible => ("visible", None),
                    MessageState::Delayed { until } => ("delayed", Some(until)),
                    MessageState::InFlight { until } => ("inFlight", Some(until)),
                    MessageState::Expired => ("expired", None),
                };
                MessageView {
                    message_id: m.id.clone(),
                    body: m.body.clone(),
                    receive_count: m.receive_count,
                    sent_at: sandbox_services::rfc3339_auto(m.sent_at),
                    first_received_at: m.first_received_at.map(sandbox_services::rfc3339_auto),
                    sender_id: m.sender_id.clone(),
                    group_id: m.group_id.clone(),
                    deduplication_id: m.dedup_id.clone(),
                    sequence_number: m.sequence_number.clone(),
                    dead_letter_source: m.dead_letter_source.clone(),
                    md5_of_body: m.md5_of_body.clone(),
                    md5_of_message_attributes: m.md5_of_message_attributes.clone(),
                    attributes: serde_json::to_value(&m.attributes).unwrap_or_default(),
                    state: state.to_string(),
                    until: until.map(sandbox_services::rfc3339_auto),
                }
            })
            .collect();
        Ok(MessageList { messages })
    }

    pub fn purge(&self, queue: &str) -> Result<Purged, ControlError> {
        let (purged, ticket) = {
            let mut broker = self.inner.broker();
            let purged = broker.purge(queue).map_err(queue_error)?;
            (purged, self.inner.record(&mut broker, false))
        };
        self.inner.durable(ticket)?;
        tracing::info!("queue {queue}: purged {purged} message(s)");
        Ok(Purged { purged })
    }

    /// Moves a dead-letter queue's messages back to the queues they came from.
    pub fn redrive(&self, dlq: &str) -> Result<Redriven, ControlError> {
        let now = self.inner.clock.now();
        let (moved, ticket) = {
            let mut broker = self.inner.broker();
            let moved = broker.redrive(dlq, now).map_err(queue_error)?;
            (moved, self.inner.record(&mut broker, false))
        };
        self.inner.durable(ticket)?;
        tracing::info!("queue {dlq}: redrove {moved} message(s) to their source queues");
        self.inner.work.notify_one();
        Ok(Redriven { moved })
    }
}

impl Deref for Inner {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.cx
    }
}

impl Inner {
    fn broker(&self) -> MutexGuard<'_, Queues> {
        self.broker.lock()
    }

    fn running(&self) -> MutexGuard<'_, HashMap<String, u32>> {
        self.running.lock()
    }

    /// With `--state`: submits what changed to the store (call under the broker lock).
    fn record(&self, broker: &mut Queues, catalog: bool) -> Option<Ticket> {
        self.store.as_ref()?.record(broker, catalog)
    }

    /// With `--state`: waits until `ticket` is on disk (call without the broker lock).
    fn durable(&self, ticket: Option<Ticket>) -> Result<(), ControlError> {
        match &self.store {
            Some(store) => store.wait(ticket),
            None => Ok(()),
        }
    }
}

impl Driver for Inner {
    /// New queues start, changed settings apply to new deliveries, and a removed queue's
    /// messages are reported, never dropped silently.
    fn reconfigure(&self, manifest: &Manifest) -> Result<Vec<String>, String> {
        let configs = manifest.queues.iter().map(config).collect();
        let (report, ticket) = {
            let mut broker = self.broker();
            let report = broker.replace_configs(configs).map_err(|e| e.to_string())?;
            broker.stamp(self.clock.now());
            (report, self.record(&mut broker, true))
        };
        self.durable(ticket).map_err(|e| e.to_string())?;
        Ok(reload_lines(&report))
    }

    /// Messages a consumer could take now count as due; delayed and in-flight ones,
    /// and anything in a queue nobody consumes (a DLQ), only as later.
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        // Every queue, the API's too: messages in a queue nobody consumes are reported
        // as waiting, never as due.
        let app = self.app.load();
        let broker = self.broker();
        broker
            .names()
            .into_iter()
            .filter_map(|name| {
                let stats = broker.stats(&name, now).ok()?;
                let consumed = app
                    .manifest()
                    .queues
                    .iter()
                    .any(|def| def.name == name && def.function.is_some());
                let due = if consumed { stats.visible } else { 0 };
                Some(PendingWork {
                    service: "queue".into(),
                    resource: name,
                    due_now: due as u64,
                    scheduled_later: (stats.visible - due + stats.delayed + stats.in_flight) as u64,
                    next_due: None,
                })
            })
            .collect()
    }

    /// Whether a consumer could take a message now (the full [`Driver::pending`] report
    /// walks every message).
    fn has_due(&self, now: DateTime<Utc>) -> bool {
        let app = self.app.load();
        let broker = self.broker();
        app.manifest().queues.iter().any(|def| {
            def.function.is_some()
                && window_elapsed(&broker, def, now)
                && broker
                    .visible_window(&def.name, now, 1)
                    .is_ok_and(|(visible, _)| visible > 0)
        })
    }

    /// Expires, then hands out batches while there is concurrency to spare; the next
    /// change is a delay or visibility timeout ending (a message arriving or a batch
    /// finishing rings [`Driver::own_wake`]).
    fn round(self: Arc<Self>, now: DateTime<Utc>) -> Round {
        let app = self.app.load_full();
        let mut broker = self.broker();
        for (queue, id) in broker.tick(now).expired {
            tracing::warn!(
                "queue {queue}: message {id} expired after the retention period and was removed"
            );
        }
        for def in &app.manifest().queues {
            if let Some(function) = &def.function {
                start_batches(&self, &mut broker, def, function, now);
            }
        }
        // Receives and expiry are not waited for: lost in a crash, a message is
        // delivered once more (at-least-once), never lost.
        self.record(&mut broker, false);
        Round::Wait(broker.next_change(now))
    }

    fn own_wake(&self) -> Option<&tokio::sync::Notify> {
        Some(&self.work)
    }
}

/// What a reload (or reconciling stored state with the manifest) did, as log lines.
fn reload_lines(report: &ReloadReport) -> Vec<String> {
    let mut lines: Vec<String> = report
        .added
        .iter()
        .map(|q| format!("queue {q} added"))
        .collect();
    lines.extend(
        report
            .changed
            .iter()
            .map(|q| format!("queue {q} settings changed")),
    );
    for (queue, held) in &report.dropped {
        let line = match held {
            0 => format!("queue {queue} removed"),
            // Only a switch between standard and FIFO drops messages.
            n => format!("queue {queue} changed between standard and FIFO; the {n} message(s) it held are gone"),
        };
        if *held > 0 {
            tracing::warn!("{line}");
        }
        lines.push(line);
    }
    for (queue, held) in &report.retired {
        let line = format!(
            "queue {queue} removed from the manifest with {held} message(s) still in it; they are kept (no consumer): \
             GET /_sandbox/queues/{queue}/messages to read them, DELETE to purge, or redrive"
        );
        tracing::warn!("{line}");
        lines.push(line);
    }
    lines
}

fn config(def: &QueueDef) -> QueueConfig {
    QueueConfig {
        name: def.name.clone(),
        fifo: def.fifo,
        content_based_deduplication: def.content_based_deduplication,
        visibility_timeout: def.visibility_timeout,
        delay: def.delay,
        retention: def.retention,
        max_message_size: def.max_message_size,
        dead_letter: def
            .dead_letter
            .as_ref()
            .map(|d| (d.queue.clone(), d.max_receive_count)),
    }
}

fn queue_error(e: sandbox_services::queue::Error) -> ControlError {
    use sandbox_services::queue::Error;
    match e {
        Error::UnknownQueue { .. } => ControlError::not_found(e.to_string()),
        other => ControlError::bad_request(other.to_string()),
    }
}

fn start_batches(
    inner: &Arc<Inner>,
    broker: &mut Queues,
    def: &QueueDef,
    function: &str,
    now: DateTime<Utc>,
) {
    let limit = def.max_concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    loop {
        if inner.running().get(&def.name).copied().unwrap_or(0) >= limit {
            return;
        }
        let (batches, moved) = take(inner, broker, def, now);
        log_dead_letters(def, &moved);
        if batches.is_empty() {
            return;
        }
        for batch in batches {
            *inner.running().entry(def.name.clone()).or_default() += 1;
            tokio::spawn(deliver(
                inner.clone(),
                def.clone(),
                function.to_string(),
                batch,
            ));
        }
    }
}

/// Receives the next batch for `def` (one per message group on a FIFO queue), moving
/// dead letters on the way (returned for the log: `(message id, dead-letter queue)`),
/// and counts it busy while the broker is still locked.
fn take(
    inner: &Inner,
    broker: &mut Queues,
    def: &QueueDef,
    now: DateTime<Utc>,
) -> (Vec<Vec<Delivery>>, Vec<(String, String)>) {
    let mut moved_to_dlq = Vec::new();
    // Until a batch is found or nothing is left: a receive that held only messages
    // recursive loop detection stops says nothing about the messages behind them.
    loop {
        if !window_elapsed(broker, def, now) {
            return (Vec::new(), moved_to_dlq);
        }
        let received = match broker.receive(&def.name, def.batch_size as usize, now) {
            Ok(received) => received,
            Err(e) => {
                tracing::error!("queue {}: {e}", def.name);
                return (Vec::new(), moved_to_dlq);
            }
        };
        moved_to_dlq.extend(received.moved_to_dlq);
        let (stopped, messages): (Vec<Delivery>, Vec<Delivery>) = received
            .messages
            .into_iter()
            .partition(|d| recursion::stops(d.message.hops));
        let any_stopped = !stopped.is_empty();
        if any_stopped {
            stop_recursive(inner, broker, def, &stopped, now);
        }
        if messages.is_empty() {
            if any_stopped {
                continue;
            }
            return (Vec::new(), moved_to_dlq);
        }
        let batches = if def.fifo {
            by_group(messages)
        } else {
            vec![messages]
        };
        for batch in &batches {
            inner.activity.begin(batch.len() as u64);
        }
        return (batches, moved_to_dlq);
    }
}

/// Lambda's recursive loop detection: messages a chain of 16 invocations led to are not
/// delivered; they go to the queue's dead-letter queue, or are dropped without one.
fn stop_recursive(
    inner: &Inner,
    broker: &mut Queues,
    def: &QueueDef,
    stopped: &[Delivery],
    now: DateTime<Utc>,
) {
    let function = def.function.as_deref().unwrap_or("?");
    match broker.stop_recursive(&def.name, stopped, now) {
        Ok(fates) => {
            for (id, dlq) in fates {
                crate::recursion::stopped(
                    &inner.metrics,
                    ("queue", &def.name),
                    function,
                    &id,
                    dlq.as_deref(),
                );
            }
        }
        Err(e) => tracing::error!("queue {}: stopping a recursive loop: {e}", def.name),
    }
}

fn log_dead_letters(def: &QueueDef, moved: &[(String, String)]) {
    for (id, dlq) in moved {
        tracing::warn!(
            "queue {}: message {id} moved to dead-letter queue {dlq} after {} receives",
            def.name,
            def.dead_letter
                .as_ref()
                .map(|d| d.max_receive_count)
                .unwrap_or_default()
        );
    }
}

/// Lambda waits up to the batching window for a full batch.
fn window_elapsed(broker: &Queues, def: &QueueDef, now: DateTime<Utc>) -> bool {
    if def.batching_window.is_zero() {
        return true;
    }
    let Ok((visible, since)) = broker.visible_window(&def.name, now, def.batch_size as usize)
    else {
        return false;
    };
    let window = chrono::Duration::from_std(def.batching_window).unwrap_or_default();
    visible >= def.batch_size as usize || since.is_some_and(|since| now - since >= window)
}

/// One concurrency slot of the consumer: runs a batch, then, like Lambda's pollers,
/// keeps taking the next batch itself while the queue has messages (no round trip
/// through the driver per batch), and gives the slot back when the queue is empty.
async fn deliver(inner: Arc<Inner>, def: QueueDef, function: String, mut batch: Vec<Delivery>) {
    loop {
        let next = run_batch(&inner, &def, &function, &batch).await;
        inner.activity.end(batch.len() as u64);
        match next {
            Some(more) => batch = more,
            None => break,
        }
    }
    if let Some(count) = inner.running().get_mut(&def.name) {
        *count = count.saturating_sub(1);
    }
    // A slot is free (and messages may have been retried): look again.
    inner.work.notify_one();
}

/// Invokes the handler with one batch and settles the outcome; under the same lock, takes
/// the slot's next batch if it keeps going.
async fn run_batch(
    inner: &Inner,
    def: &QueueDef,
    function: &str,
    batch: &[Delivery],
) -> Option<Vec<Delivery>> {
    let started = Instant::now();
    let arn = queue_arn(&def.name, REGION, ACCOUNT);
    let event = sqs_event(batch, &arn, REGION);
    let app = inner.app.load_full();
    // A batch is as deep in its chain as its deepest message: what the handler sends
    // carries one hop more.
    let hops = batch.iter().map(|d| d.message.hops).max().unwrap_or(0);
    let ran = invoke_in_chain(&app, function, Trigger::Queue, event, hops).await;
    let (output, failure) = match ran.output {
        Ok(output) => (Some(output), None),
        Err(failed) => (None, Some(failed.message)),
    };
    let report = def.report_batch_item_failures;
    let outcome = if def.fifo {
        batch_outcome_fifo(output.as_deref(), batch, report)
    } else {
        let ids: Vec<String> = batch.iter().map(|d| d.message.id.clone()).collect();
        batch_outcome(output.as_deref(), &ids, report)
    };
    if let Some(warning) = &outcome.warning {
        tracing::warn!("queue {}: {warning}", def.name);
    }
    // FIFO batches are per group; the driver hands those out so groups interleave.
    // After a reload changed this queue (its consumer, batch size, settings), the slot
    // ends too and the driver starts new ones with the new definition.
    let more = !def.fifo && inner.app.load().manifest().queues.contains(def);
    let (settled, mut next, moved) = {
        let mut broker = inner.broker();
        let settled = broker.settle(&def.name, batch, &outcome);
        let (next, moved) = if more {
            take(inner, &mut broker, def, inner.clock.now())
        } else {
            (Vec::new(), Vec::new())
        };
        // Not waited for: a delete lost in a crash means one more delivery.
        inner.record(&mut broker, false);
        (settled, next, moved)
    };
    let elapsed = started.elapsed();
    match (&failure, settled) {
        (Some(failure), _) => tracing::warn!(
            "queue {}: batch of {} → {function} FAILED in {elapsed:.1?}: {failure}; retried after the visibility timeout ({}s)",
            def.name,
            batch.len(),
            def.visibility_timeout.as_secs()
        ),
        (None, Ok(settled)) if settled.retried.is_empty() => tracing::info!(
            "queue {}: batch of {} → {function} ok in {elapsed:.1?}",
            def.name,
            batch.len()
        ),
        (None, Ok(settled)) => tracing::info!(
            "queue {}: batch of {} → {function} partial in {elapsed:.1?}: {} deleted, {} retried after the visibility timeout",
            def.name,
            batch.len(),
            settled.deleted.len(),
            settled.retried.len()
        ),
        (None, Err(e)) => tracing::error!("queue {}: settling a batch: {e}", def.name),
    }
    log_dead_letters(def, &moved);
    next.pop()
}
