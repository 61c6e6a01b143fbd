//! `@events`: SNS topics fanning out to handlers and queues (filter policies, raw
//! delivery, Lambda's async retries, dead-letter queues).
//!
//! The state machine is [`sandbox_services::topic::Topics`]; this driver feeds it
//! publishes (control API, handlers, bus targets), pushes its queue deliveries through the
//! [`QueueService`] in publish order (which keeps a FIFO group's order), and plays Lambda's
//! async invocation for function subscribers: take what is due on the sandbox clock,
//! invoke with the SNS event, report the outcome. A delivery that fails every attempt goes
//! to the subscription's dead-letter queue when it has one and is always logged.

use std::ops::Deref;
use std::sync::{Arc, MutexGuard};

use chrono::{DateTime, Utc};
use sandbox_app::Trigger;
use sandbox_manifest::{FilterPolicyScope, Manifest, Target};
use sandbox_services::topic::{
    DeliveryOutcome, FilterPolicy, PublishError, PublishReceipt, PublishRequest, QueueSend, Scope,
    SubTarget, SubscriptionConfig, TopicConfig, TopicStats, Topics,
};
use sandbox_services::{Pending, PendingWork};

use crate::driver::{Context, Driver, Drivers, Round};
use crate::lambda_async::{self, AsyncTargets, Settled, Source, Stopped};
use crate::lock::Lock;
use crate::{ControlError, QueueService};
use durable::TopicStore;
use sandbox_state::Ticket;

mod durable;
pub use durable::TopicsRestored;

#[derive(Clone)]
pub struct TopicService {
    inner: Arc<Inner>,
}

struct Inner {
    cx: Context,
    queues: QueueService,
    topics: Lock<Topics>,
    /// With `--state`: where the catalog and pending function deliveries go (`durable`).
    store: Option<TopicStore>,
}

impl TopicService {
    /// Starts the manifest's topics; with a `state` store (`--state DIR`), pending
    /// function deliveries (first attempts and retries) come back for subscriptions that
    /// still exist. Says how many came back.
    pub(crate) fn start(
        cx: &Context,
        drivers: &mut Drivers,
        queues: &QueueService,
        state: Option<(&sandbox_state::Store, Arc<sandbox_state::Committer>)>,
    ) -> Result<(TopicService, TopicsRestored), String> {
        let configs = configs(cx.app.load().manifest())?;
        let (store, topics, restored) = match state {
            Some((store, committer)) => {
                let (store, topics, restored) = TopicStore::open(store, committer, configs)?;
                (Some(store), topics, restored)
            }
            None => (
                None,
                Topics::new(configs).map_err(|e| e.to_string())?,
                TopicsRestored::default(),
            ),
        };
        let inner = drivers.add(Arc::new(Inner {
            cx: cx.clone(),
            queues: queues.clone(),
            topics: Lock::new(topics),
            store,
        }));
        Ok((TopicService { inner }, restored))
    }

    /// `Publish`: fans the message out now. Queue subscribers receive it before this
    /// returns; function subscribers are invoked by the driver.
    pub fn publish(
        &self,
        topic: &str,
        request: PublishRequest,
    ) -> Result<PublishReceipt, ControlError> {
        let now = self.inner.clock.now();
        let (receipt, ticket) = {
            let mut topics = self.inner.topics();
            let receipt = topics.publish(topic, request, now).map_err(publish_error)?;
            (receipt, self.inner.record(&mut topics, false))
        };
        // Queued function deliveries are on disk before the publish is acknowledged.
        self.inner.durable(ticket)?;
        if receipt.duplicate {
            tracing::info!(
                "topic {topic}: message {} is a duplicate within the deduplication window; accepted, not delivered again",
                receipt.message_id
            );
        }
        for subscription in &receipt.filtered {
            tracing::info!(
                "topic {topic}: message {} → subscription {subscription} filtered out by its filter policy",
                receipt.message_id
            );
        }
        for send in receipt.queue_sends.clone() {
            self.inner
                .send_to_queue(topic, &receipt.message_id, send, "subscriber");
        }
        if !receipt.function_deliveries.is_empty() {
            self.inner.activity.clock_moved();
        }
        Ok(receipt)
    }

    /// Runs `f` on the topics under their lock at the sandbox clock's `now` (the SNS API's
    /// way in), then wakes the driver for any function delivery `f` queued.
    pub fn with_topics<R>(&self, f: impl FnOnce(&mut Topics, DateTime<Utc>) -> R) -> R {
        let mut result = None;
        if let Err(e) = self.change_topics(|t, now| result = Some(f(t, now))) {
            tracing::error!("topics: {}", e.message);
        }
        result.expect("change_topics runs its closure")
    }

    /// [`TopicService::with_topics`] for a change the caller acknowledges (the SNS API's
    /// management calls): with `--state` it returns once the change is on disk, and a
    /// failed write is the error (503), so nothing unsaved is acknowledged.
    pub fn change_topics<R>(
        &self,
        f: impl FnOnce(&mut Topics, DateTime<Utc>) -> R,
    ) -> Result<R, ControlError> {
        let now = self.inner.clock.now();
        let (result, ticket) = {
            let mut topics = self.inner.topics();
            let result = f(&mut topics, now);
            (result, self.inner.record(&mut topics, true))
        };
        let saved = self.inner.durable(ticket);
        self.inner.activity.clock_moved();
        saved.map(|()| result)
    }

    /// The topic the current manifest declares by this name, with its subscriptions: what
    /// `CreateTopic` re-creates after a manifest topic was deleted through the API, so its
    /// handler and queues are attached again.
    pub fn declared(&self, name: &str) -> Option<TopicConfig> {
        let app = self.inner.app.load();
        configs(app.manifest())
            .ok()?
            .into_iter()
            .find(|c| c.name == name)
    }

    /// Where notifications' `UnsubscribeURL` points: the sandbox's own address.
    pub fn set_endpoint(&self, endpoint: &str) {
        self.inner.topics().set_endpoint(endpoint);
    }

    /// Every topic with its subscriptions, counts and recent permanent failures.
    pub fn list(&self) -> Vec<TopicStats> {
        self.inner.topics().describe()
    }

    /// One topic, as [`TopicService::list`] shows it.
    pub fn get(&self, name: &str) -> Result<TopicStats, ControlError> {
        self.inner.topics().stats(name).map_err(publish_error)
    }

    /// Names of the app's topics.
    pub fn names(&self) -> Vec<String> {
        self.inner.topics().names()
    }
}

impl Deref for Inner {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.cx
    }
}

impl Inner {
    fn topics(&self) -> MutexGuard<'_, Topics> {
        self.topics.lock()
    }

    /// With `--state`: submits what changed (call under the topics' lock).
    /// With `catalog`, also the catalog if it changed (see `durable`).
    fn record(&self, topics: &mut Topics, catalog: bool) -> Option<Ticket> {
        self.store.as_ref()?.record(topics, catalog)
    }

    /// With `--state`: waits until `ticket` is on disk (call without the lock).
    fn durable(&self, ticket: Option<Ticket>) -> Result<(), ControlError> {
        match &self.store {
            Some(store) => store.wait(ticket),
            None => Ok(()),
        }
    }

    /// One SNS → SQS delivery (a subscriber or a dead-letter queue), logged either way.
    fn send_to_queue(&self, topic: &str, message_id: &str, send: QueueSend, role: &str) {
        let (queue, request) = send.into_request();
        match self.queues.send(&queue, request) {
            Ok(receipt) if receipt.duplicate => tracing::info!(
                "topic {topic}: message {message_id} → queue:{queue} ({role}) deduplicated by the FIFO queue"
            ),
            Ok(_) => {
                tracing::info!("topic {topic}: message {message_id} → queue:{queue} ({role}) ok")
            }
            Err(e) => tracing::error!(
                "topic {topic}: message {message_id} → queue:{queue} ({role}) FAILED: {}; the message is lost for this queue",
                e.message
            ),
        }
    }
}

impl Driver for Inner {
    /// Topics that stay keep their counts, deduplication window and pending retries;
    /// retries for removed subscriptions are dropped and reported. On error nothing
    /// changes.
    fn reconfigure(&self, manifest: &Manifest) -> Result<Vec<String>, String> {
        let configs = configs(manifest)?;
        let old = self.app.load();
        let (dropped, ticket) = {
            let mut topics = self.topics();
            let dropped = topics.replace_configs(configs).map_err(|e| e.to_string())?;
            (dropped, self.record(&mut topics, true))
        };
        // A reload's catalog is on disk before the reload is reported done.
        self.durable(ticket).map_err(|e| e.message)?;
        let shape = |t: &sandbox_manifest::Topic| {
            let subs: Vec<_> = t
                .subscriptions
                .iter()
                .map(|s| {
                    (
                        s.target.clone(),
                        s.raw_message_delivery,
                        s.filter_policy.clone(),
                        s.filter_policy_scope,
                        s.dead_letter_queue.clone(),
                    )
                })
                .collect();
            (t.fifo, t.content_based_deduplication, subs)
        };
        let mut lines = crate::reload::reload_changes(
            "topic",
            "subscriptions changed",
            &old.manifest().topics,
            &manifest.topics,
            |x| x.name.as_str(),
            shape,
        );
        crate::reload::dropped_deliveries(&mut lines, "topics", "subscriptions", dropped);
        Ok(lines)
    }

    /// Function deliveries due now (first attempts and retries) and later (retries).
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        self.topics().pending(now)
    }

    fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.topics().has_due(now)
    }

    /// Hands out due function deliveries; the next change is a retry coming due.
    fn round(self: Arc<Self>, now: DateTime<Utc>) -> Round {
        let (due, next) = {
            let mut topics = self.topics();
            let due = topics.due_deliveries(now);
            if !due.is_empty() {
                self.activity.begin(due.len() as u64);
            }
            // Not waited for: lost in a crash, the delivery is handed out again.
            self.record(&mut topics, false);
            (due, topics.next_change(now))
        };
        lambda_async::hand_out(&self, due);
        Round::Wait(next)
    }
}

impl AsyncTargets for Inner {
    const TRIGGER: Trigger = Trigger::Topic;

    fn source(&self, id: u64) -> Source {
        let (topic, subscription) = self
            .topics()
            .delivery_source(id)
            .unwrap_or_else(|| ("?".to_string(), "?".to_string()));
        Source {
            kind: "topic",
            name: topic,
            from: format!("subscription {subscription}"),
            note: String::new(),
        }
    }

    fn complete(&self, id: u64, ok: bool, now: DateTime<Utc>) -> Result<Settled, String> {
        let outcome = {
            let mut topics = self.topics();
            let outcome = topics.complete(id, ok, now).map_err(|e| e.to_string());
            self.record(&mut topics, false);
            outcome?
        };
        Ok(match outcome {
            DeliveryOutcome::Delivered => Settled::Delivered,
            DeliveryOutcome::Retrying { at, .. } => Settled::Retrying { at },
            DeliveryOutcome::DeadLettered { send, failure: f } => Settled::GaveUp {
                attempts: f.attempts,
                fate: format!(
                    "message {} moved to dead-letter queue {}",
                    f.message_id, send.queue
                ),
                lost: false,
                dead_letter: Some((f.message_id, send)),
            },
            DeliveryOutcome::Failed(f) => Settled::GaveUp {
                attempts: f.attempts,
                fate: format!(
                    "message {} is NOT delivered (no dead-letter queue; listed in GET /_sandbox/topics)",
                    f.message_id
                ),
                lost: true,
                dead_letter: None,
            },
        })
    }

    fn dead_letter(&self, source: &Source, message_id: &str, send: QueueSend) {
        self.send_to_queue(&source.name, message_id, send, "dead-letter queue");
    }

    fn hops(&self, id: u64) -> u32 {
        self.topics().delivery_hops(id)
    }

    fn stop_recursive(&self, id: u64, now: DateTime<Utc>) -> Result<Stopped, String> {
        let outcome = {
            let mut topics = self.topics();
            let outcome = topics.stop_recursive(id, now).map_err(|e| e.to_string());
            self.record(&mut topics, false);
            outcome?
        };
        Ok(match outcome {
            DeliveryOutcome::DeadLettered { send, failure } => Stopped {
                message_id: failure.message_id,
                dead_letter: Some(send),
            },
            DeliveryOutcome::Failed(failure) => Stopped {
                message_id: failure.message_id,
                dead_letter: None,
            },
            // A stopped delivery is never delivered or retried.
            DeliveryOutcome::Delivered | DeliveryOutcome::Retrying { .. } => {
                return Err(format!("delivery {id} was not stopped"))
            }
        })
    }
}

/// The topics of a manifest as the state machine's configuration, checked against the
/// app's queues. Errors name the manifest line.
fn configs(manifest: &Manifest) -> Result<Vec<TopicConfig>, String> {
    let file = manifest
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| manifest.file.display().to_string());
    let mut configs = Vec::new();
    for topic in &manifest.topics {
        let mut subscriptions = Vec::new();
        for (index, sub) in topic.subscriptions.iter().enumerate() {
            let at = format!("{file}:{}:{}", sub.span.line, sub.span.column);
            let target = match &sub.target {
                Target::Function(f) => SubTarget::Function(f.clone()),
                Target::Queue(q) => SubTarget::Queue(q.clone()),
                Target::Topic(t) => {
                    return Err(format!(
                        "{at}: topic `{}` cannot subscribe topic `{t}`; subscribe a queue or a function",
                        topic.name
                    ))
                }
            };
            let scope = match sub.filter_policy_scope {
                FilterPolicyScope::MessageAttributes => Scope::MessageAttributes,
                FilterPolicyScope::MessageBody => Scope::MessageBody,
            };
            let filter_policy = sub
                .filter_policy
                .as_ref()
                .map(|policy| FilterPolicy::compile(policy, scope))
                .transpose()
                .map_err(|e| format!("{at}: topic `{}`: invalid filter policy: {e}", topic.name))?;
            let mut config = SubscriptionConfig::new(subscription_id(&topic.name, index), target);
            config.raw_message_delivery = sub.raw_message_delivery;
            config.dead_letter_queue = sub.dead_letter_queue.clone();
            if let Some(policy) = &sub.filter_policy {
                config
                    .attributes
                    .insert("FilterPolicy".into(), policy.to_string());
                let scope = match scope {
                    Scope::MessageAttributes => "MessageAttributes",
                    Scope::MessageBody => "MessageBody",
                };
                config
                    .attributes
                    .insert("FilterPolicyScope".into(), scope.into());
            }
            config.filter_policy = filter_policy;
            subscriptions.push(config);
        }
        configs.push(TopicConfig {
            fifo: topic.fifo,
            content_based_deduplication: topic.content_based_deduplication,
            subscriptions,
            ..TopicConfig::new(topic.name.clone())
        });
    }
    let topics = Topics::new(configs.clone()).map_err(|e| e.to_string())?;
    let problems = topics.check_queues(|name| {
        manifest
            .queues
            .iter()
            .find(|q| q.name == name)
            .map(|q| q.fifo)
    });
    if !problems.is_empty() {
        return Err(format!("{file}: {}", problems.join("; ")));
    }
    Ok(configs)
}

/// A stable UUID-shaped subscription id (the last part of its ARN): the same topic and
/// position give the same id on every start, so ARNs in logs and tests do not churn.
pub fn subscription_id(topic: &str, index: usize) -> String {
    // A name-based (v5) UUID of the topic's ARN and the position.
    let name = format!("{}#{index}", sandbox_ops::aws::topic_arn(topic));
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()).to_string()
}

fn publish_error(e: PublishError) -> ControlError {
    match e {
        PublishError::UnknownTopic { .. } => ControlError::not_found(e.to_string()),
        other => ControlError::bad_request(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_ids_are_stable_and_distinct() {
        let a = subscription_id("orders", 0);
        assert_eq!(a, subscription_id("orders", 0));
        assert_ne!(a, subscription_id("orders", 1));
        assert_ne!(a, subscription_id("order", 0));
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'5', "a version 5 (name-based) UUID");
    }
}
