//! A remote queue consumed as Lambda's SQS event source mapping consumes it: long
//! polling, the batch size and window, the exact SQS event (built by the services' own
//! [`sqs_event`] with the real queue's ARN), visibility extended while a batch runs longer
//! than half the queue's visibility timeout, DeleteMessageBatch for what succeeded
//! (partial batch responses leave the failed items), and failures left to the real
//! queue's redrive policy: a failed message is simply not deleted, so it comes back after
//! its visibility timeout and, past `maxReceiveCount`, AWS moves it to the dead-letter
//! queue. In peek mode (`consume peek`, `--remote-read-only`) nothing is ever deleted.
//!
//! `maxConcurrency` pollers (five by default, as Lambda starts) each receive and run
//! their own batch, so up to that many batches are in flight at once. Each batch is
//! counted in flight ([`Tracker`]) from its first received message until it is settled,
//! for drain and so a reload stops a poller only between batches.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageSystemAttributeName,
};
use chrono::{DateTime, TimeZone, Utc};
use sandbox_app::{AppCell, Trigger};
use sandbox_services::queue::{
    batch_outcome, batch_outcome_fifo, sqs_event, Delivery, Message as Local, MessageAttribute,
};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::in_flight::{Batch, Tracker};
use crate::sdk::sdk_error;

/// One remote queue's consumer.
pub(crate) struct QueueConsumer {
    /// The manifest's name for it (what the log says).
    pub name: String,
    pub function: String,
    pub arn: String,
    pub region: String,
    pub url: String,
    pub client: aws_sdk_sqs::Client,
    pub batch_size: u32,
    pub window: Duration,
    pub report_batch_item_failures: bool,
    pub fifo: bool,
    /// `consume delete` and not `--remote-read-only`.
    pub delete: bool,
    /// The real queue's visibility timeout (read at start).
    pub visibility: Duration,
    pub app: AppCell,
    /// The receive error the pollers last logged: logged once, not once per poller or
    /// per retry.
    pub failing: Mutex<Option<String>>,
}

/// The longest an SQS long poll waits.
const LONG_POLL_SECONDS: i32 = 20;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl QueueConsumer {
    /// One poller: receives and runs a batch at a time until `stopped` says so. An
    /// error (credentials, network, a deleted queue) is logged once, naming the queue,
    /// and polling backs off; the rest of the app runs on.
    ///
    /// A stop never cuts a long poll short: SQS may already have handed the dropped
    /// call a message, hidden for the visibility timeout. The poll ends by itself
    /// (within 20 s), and what it brought after the stop is made visible again at once
    /// (its receive count, as SQS counts it, one higher), for the consumer that follows.
    pub(crate) async fn run(&self, tracker: Tracker, mut stopped: watch::Receiver<bool>) {
        let mut backoff = Duration::from_secs(1);
        loop {
            match self.receive(&tracker, &stopped).await {
                Ok(None) => return,
                Ok(Some((batch, taken, after_stop))) if after_stop => {
                    self.release(&batch).await;
                    drop(taken);
                    return;
                }
                Ok(Some((batch, taken, _))) => {
                    let recovered = self
                        .failing
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .take()
                        .is_some();
                    if recovered {
                        tracing::info!("remote queue {}: receiving again", self.name);
                    }
                    backoff = Duration::from_secs(1);
                    self.deliver(batch).await;
                    drop(taken);
                }
                Err(e) => {
                    self.failed(e);
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stopped.wait_for(|s| *s) => return,
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Logs a receive error once (not once per poller or per retry).
    fn failed(&self, e: String) {
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        if failing.as_deref() != Some(e.as_str()) {
            tracing::error!("remote queue {}: cannot receive: {e}; retrying", self.name);
            *failing = Some(e);
        }
    }

    /// One batch: long-polls for the first message, then fills the batch for at most
    /// the batching window. In flight from its first message on.
    /// `None` once stopped with nothing received. A stop while the batch fills ends the
    /// filling: what was received before the stop is the consumer's and is run; a batch
    /// whose first message came after the stop (`true`) is only given back.
    async fn receive(
        &self,
        tracker: &Tracker,
        stopped: &watch::Receiver<bool>,
    ) -> Result<Option<(Vec<Message>, Batch, bool)>, String> {
        let mut batch: Vec<Message> = Vec::new();
        let mut taken: Option<Batch> = None;
        let mut after_stop = false;
        let mut deadline: Option<Instant> = None;
        loop {
            if batch.is_empty() && *stopped.borrow() {
                return Ok(None);
            }
            let want = (self.batch_size as usize - batch.len()).min(10) as i32;
            let wait = match deadline {
                None => LONG_POLL_SECONDS,
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left < Duration::from_secs(1) {
                        // Long polls wait whole seconds: sleep out the window's end, then
                        // take what arrived meanwhile without waiting.
                        tokio::time::sleep(left).await;
                        0
                    } else {
                        left.as_secs().min(LONG_POLL_SECONDS as u64) as i32
                    }
                }
            };
            let out = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(want)
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    // Part of a batch already received is delivered: it is ours now.
                    return match taken.take() {
                        Some(taken) => Ok(Some((batch, taken, after_stop))),
                        None => Err(sdk_error(&e)),
                    };
                }
            };
            let received = out.messages.unwrap_or_default();
            match &mut taken {
                None if !received.is_empty() => {
                    taken = Some(tracker.begin(received.len()));
                    after_stop = *stopped.borrow();
                }
                Some(taken) => taken.add(received.len()),
                None => {}
            }
            batch.extend(received);
            if batch.is_empty() {
                continue;
            }
            let at = *deadline.get_or_insert_with(|| Instant::now() + self.window);
            if batch.len() >= self.batch_size as usize || Instant::now() >= at || *stopped.borrow()
            {
                if let Some(taken) = taken.take() {
                    return Ok(Some((batch, taken, after_stop)));
                }
            }
        }
    }

    async fn deliver(&self, batch: Vec<Message>) {
        let deliveries: Vec<Delivery> = batch.iter().map(delivery).collect();
        let event = sqs_event(&deliveries, &self.arn, &self.region);
        let app = self.app.load_full();
        let invoke = app.invoke(&self.function, Trigger::Queue, None, event);
        tokio::pin!(invoke);
        // Keep the batch invisible while it runs: every half visibility timeout, set it
        // to the whole timeout again, so no other consumer receives it meanwhile.
        let every = (self.visibility / 2).max(Duration::from_millis(500));
        let mut heartbeat = tokio::time::interval_at(Instant::now() + every, every);
        let result = loop {
            tokio::select! {
                result = &mut invoke => break result,
                _ = heartbeat.tick() => self.extend(&deliveries).await,
            }
        };
        let output = match &result {
            Ok(invoked) => invoked.output.as_ref().ok().map(Vec::as_slice),
            Err(_) => None,
        };
        if let Err(e) = &result {
            tracing::error!("remote queue {}: {e}", self.name);
        } else if let Ok(Err(failure)) = result.as_ref().map(|i| &i.output) {
            tracing::warn!(
                "remote queue {}: {} failed: {failure}",
                self.name,
                self.function
            );
        }
        let outcome = if self.fifo {
            batch_outcome_fifo(output, &deliveries, self.report_batch_item_failures)
        } else {
            let ids: Vec<String> = deliveries.iter().map(|d| d.message.id.clone()).collect();
            batch_outcome(output, &ids, self.report_batch_item_failures)
        };
        if let Some(warning) = &outcome.warning {
            tracing::warn!("remote queue {}: {warning}", self.name);
        }
        if !self.delete {
            tracing::info!(
                "remote queue {}: {} message(s) processed, {} failed; read-only: none deleted, all return after the visibility timeout",
                self.name,
                outcome.delete.len(),
                outcome.retry.len()
            );
            return;
        }
        let receipts: HashMap<&str, &str> = deliveries
            .iter()
            .map(|d| (d.message.id.as_str(), d.receipt_handle.as_str()))
            .collect();
        let mut deleted = 0;
        for chunk in outcome.delete.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, id)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*receipts.get(id.as_str())?)
                        .build()
                        .ok()
                })
                .collect();
            match self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => {
                    deleted += out.successful.len();
                    for failed in out.failed {
                        tracing::warn!(
                            "remote queue {}: a processed message was not deleted ({}: {}); it will be delivered again",
                            self.name,
                            failed.code,
                            failed.message.unwrap_or_default()
                        );
                    }
                }
                Err(e) => tracing::error!(
                    "remote queue {}: cannot delete processed messages: {}; they will be delivered again",
                    self.name,
                    sdk_error(&e)
                ),
            }
        }
        tracing::info!(
            "remote queue {}: {deleted} message(s) processed and deleted, {} left for redelivery",
            self.name,
            outcome.retry.len()
        );
    }

    /// ChangeMessageVisibilityBatch: the whole timeout again for every message in flight.
    async fn extend(&self, deliveries: &[Delivery]) {
        let seconds = self.visibility.as_secs().max(1) as i32;
        let receipts: Vec<&str> = deliveries
            .iter()
            .map(|d| d.receipt_handle.as_str())
            .collect();
        match self.change_visibility(&receipts, seconds).await {
            Ok(n) => tracing::info!(
                "remote queue {}: batch still running; visibility of {n} message(s) extended by {seconds} s",
                self.name
            ),
            Err(e) => tracing::warn!("remote queue {}: cannot extend visibility: {e}", self.name),
        }
    }

    /// Messages received after the consumer was stopped: visible again at once.
    async fn release(&self, batch: &[Message]) {
        let receipts: Vec<&str> = batch.iter().filter_map(|m| m.receipt_handle()).collect();
        match self.change_visibility(&receipts, 0).await {
            Ok(n) => tracing::info!(
                "remote queue {}: {n} message(s) received as its consumer stopped, made visible again",
                self.name
            ),
            Err(e) => tracing::warn!(
                "remote queue {}: {} message(s) received as its consumer stopped return after their visibility timeout ({e})",
                self.name,
                receipts.len()
            ),
        }
    }

    /// Sets the visibility timeout of the messages with these receipts; how many.
    async fn change_visibility(&self, receipts: &[&str], seconds: i32) -> Result<usize, String> {
        let mut changed = 0;
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, receipt)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*receipt)
                        .visibility_timeout(seconds)
                        .build()
                        .ok()
                })
                .collect();
            let out = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sdk_error(&e))?;
            changed += out.successful.len();
        }
        Ok(changed)
    }
}

/// A received SQS message as the services' [`Delivery`], so the event is built by the
/// same code as a local queue's.
fn delivery(m: &Message) -> Delivery {
    let system = |name: MessageSystemAttributeName| {
        m.attributes.as_ref().and_then(|a| a.get(&name)).cloned()
    };
    let millis = |name| {
        system(name)
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
    };
    let sent_at: DateTime<Utc> =
        millis(MessageSystemAttributeName::SentTimestamp).unwrap_or_else(Utc::now);
    let attributes = m
        .message_attributes
        .iter()
        .flatten()
        .map(|(name, value)| {
            (
                name.clone(),
                MessageAttribute {
                    data_type: value.data_type.clone(),
                    string_value: value.string_value.clone(),
                    binary_value: value.binary_value.as_ref().map(|b| b.as_ref().to_vec()),
                },
            )
        })
        .collect();
    // Built fresh (so fields the services add later get their defaults), then given
    // what SQS said about the message.
    let mut message = Local::new(
        m.body.clone().unwrap_or_default(),
        attributes,
        system(MessageSystemAttributeName::SenderId).unwrap_or_default(),
        sent_at,
    );
    message.id = m.message_id.clone().unwrap_or_default();
    message.first_received_at =
        millis(MessageSystemAttributeName::ApproximateFirstReceiveTimestamp);
    message.receive_count = system(MessageSystemAttributeName::ApproximateReceiveCount)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    message.group_id = system(MessageSystemAttributeName::MessageGroupId);
    message.dedup_id = system(MessageSystemAttributeName::MessageDeduplicationId);
    message.sequence_number = system(MessageSystemAttributeName::SequenceNumber);
    // The event builder writes it back as an ARN in the queue's account and region.
    message.dead_letter_source = system(MessageSystemAttributeName::DeadLetterQueueSourceArn)
        .map(|arn| sandbox_ops::aws::resource_name(&arn).to_string());
    if let Some(md5) = &m.md5_of_body {
        message.md5_of_body = md5.clone();
    }
    message.md5_of_message_attributes = m.md5_of_message_attributes.clone();
    Delivery {
        message,
        receipt_handle: m.receipt_handle.clone().unwrap_or_default(),
    }
}
