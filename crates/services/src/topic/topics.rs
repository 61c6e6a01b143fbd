//! Every SNS topic of an app: publishing, filtering, fan-out and function retries.
//!
//! `publish` validates like SNS `Publish`, deduplicates on FIFO topics (5 minutes, like SQS
//! FIFO), and makes one delivery per subscription whose filter policy accepts the message;
//! the others are counted as filtered. Queue subscriptions come back at once as
//! [`QueueSend`]s for the caller to push through the queue broker, in publish order, which is
//! what keeps a FIFO group's order. Function subscriptions go into Lambda's async queue
//! ([`super::retry`]): the caller takes them from [`Topics::due_deliveries`], invokes, and
//! reports with [`Topics::complete`].
//!
//! Rules chosen where the sandbox has to pick (each is tested):
//! - A function subscriber that fails is invoked again after 1 and then 2 more minutes
//!   (Lambda's async retries, which is what really retries an SNS→Lambda failure). After the
//!   third failure the message goes to the subscription's dead-letter queue, as the SQS
//!   envelope (or the raw message with raw delivery), since that is what an SNS DLQ holds.
//!   On AWS the subscription DLQ only catches what SNS could not hand to Lambda and a
//!   failing handler's event would go to the *function's* DLQ; the manifest only has the
//!   subscription DLQ, so the sandbox uses it for both. Without one, the failure is kept in
//!   [`TopicStats::recent_failures`] and returned for the log, never dropped silently.
//! - Queue deliveries count as delivered when handed to the caller; a queue that refuses
//!   them is the caller's error to report.
//! - FIFO topics deliver only to FIFO queues and standard topics only to standard queues
//!   ([`Topics::check_queues`]), as SNS requires for subscriptions and their DLQs.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use super::envelope::{
    attributes_size, lambda_event, sqs_attributes, sqs_envelope, subscription_arn, topic_arn,
    validate_attribute, AttributeValue, Notification,
};
use super::patterns::{policy_matches, FilterPolicy};
use crate::async_retry::{CompleteError, FunctionDelivery, Invocations, RetryPolicy, Settled};
use crate::drain::{Pending, PendingWork};
use crate::queue::{MessageAttributes, SendRequest};

/// SNS's maximum message size: message plus attributes, 256 KiB.
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// SNS's longest `Subject`.
pub const MAX_SUBJECT_CHARS: usize = 100;
/// FIFO topics deduplicate within 5 minutes, like SQS FIFO queues.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(5 * 60);
/// How many permanent failures each topic keeps for the control API.
pub const RECENT_FAILURES: usize = 100;
/// First FIFO sequence number: 20 digits, like SNS's.
const FIRST_SEQUENCE: u64 = 10_000_000_000_000_000_000;

/// Where a subscription delivers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum SubTarget {
    Function(String),
    Queue(String),
}

/// One subscription, built from the manifest or made through the SNS API by the caller.
#[derive(Debug, Clone)]
pub struct SubscriptionConfig {
    /// The subscription's UUID: the last part of its ARN.
    pub id: String,
    pub target: SubTarget,
    pub raw_message_delivery: bool,
    pub filter_policy: Option<FilterPolicy>,
    /// Queue receiving messages a function subscriber failed on every attempt.
    pub dead_letter_queue: Option<String>,
    /// Made through the SNS API: kept when a reload rebuilds the manifest's subscriptions.
    pub from_api: bool,
    /// SNS attributes as they were set (`FilterPolicy` text, `FilterPolicyScope`, …), for
    /// `GetSubscriptionAttributes`; the typed fields above are what delivery uses.
    pub attributes: BTreeMap<String, String>,
}

impl SubscriptionConfig {
    /// A subscription with no filter, no raw delivery and no dead-letter queue.
    pub fn new(id: impl Into<String>, target: SubTarget) -> SubscriptionConfig {
        SubscriptionConfig {
            id: id.into(),
            target,
            raw_message_delivery: false,
            filter_policy: None,
            dead_letter_queue: None,
            from_api: false,
            attributes: BTreeMap::new(),
        }
    }
}

/// One topic, built from the manifest or created through the SNS API by the caller.
#[derive(Debug, Clone)]
pub struct TopicConfig {
    pub name: String,
    pub fifo: bool,
    pub content_based_deduplication: bool,
    pub subscriptions: Vec<SubscriptionConfig>,
    /// Created through the SNS API: kept across reloads unless the manifest declares it.
    pub from_api: bool,
    /// SNS attributes set through the API (`DisplayName`, `Policy`, …), kept across
    /// reloads; the sandbox stores them and does not act on them.
    pub attributes: BTreeMap<String, String>,
    /// Tags set through the API, kept across reloads.
    pub tags: BTreeMap<String, String>,
}

impl TopicConfig {
    /// A standard topic without subscriptions.
    pub fn new(name: impl Into<String>) -> TopicConfig {
        TopicConfig {
            name: name.into(),
            fifo: false,
            content_based_deduplication: false,
            subscriptions: Vec::new(),
            from_api: false,
            attributes: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }
}

/// What a publisher hands to [`Topics::publish`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishRequest {
    pub message: String,
    pub subject: Option<String>,
    pub attributes: BTreeMap<String, AttributeValue>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    /// `MessageStructure=json`: the message for a protocol (`sqs`, `lambda`) when it
    /// differs from `message` (the `default`).
    pub per_protocol: BTreeMap<String, String>,
    /// Invocations that led to this publish (`crate::recursion`); 0 from outside.
    pub hops: u32,
}

impl PublishRequest {
    pub fn new(message: impl Into<String>) -> Self {
        PublishRequest {
            message: message.into(),
            ..PublishRequest::default()
        }
    }
}

/// A message for the queue broker: SNS delivering to an SQS subscriber or a DLQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSend {
    pub queue: String,
    pub body: String,
    pub attributes: MessageAttributes,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    /// `SenderId` for the queue: the topic's ARN.
    pub sender_id: String,
    /// Invocations that led to this message (`crate::recursion`).
    pub hops: u32,
}

impl QueueSend {
    /// The queue name and the `SendMessage` request for the queue broker.
    pub fn into_request(self) -> (String, SendRequest) {
        let request = SendRequest {
            body: self.body,
            delay: None,
            group_id: self.group_id,
            dedup_id: self.dedup_id,
            attributes: self.attributes,
            sender_id: self.sender_id,
            hops: self.hops,
        };
        (self.queue, request)
    }
}

/// What [`Topics::publish`] answers, plus the queue deliveries to make now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishReceipt {
    pub message_id: String,
    /// FIFO topics only.
    pub sequence_number: Option<String>,
    /// True when the deduplication id was seen in the last 5 minutes: accepted, nothing
    /// delivered, and the ids are the original's.
    pub duplicate: bool,
    /// Deliveries to queue subscribers, in subscription order.
    pub queue_sends: Vec<QueueSend>,
    /// Ids of the function deliveries queued (due now).
    pub function_deliveries: Vec<u64>,
    /// Subscriptions whose filter policy rejected the message.
    pub filtered: Vec<String>,
}

/// Why a publish was refused; nothing was delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("there is no topic named `{name}` (topics: {})", list(known))]
    UnknownTopic { name: String, known: Vec<String> },
    #[error("message to topic `{topic}` is empty; SNS requires a non-empty message")]
    EmptyMessage { topic: String },
    #[error("message to topic `{topic}` is {size} bytes (message {message} + attributes {attributes}), over SNS's limit of {MAX_MESSAGE_BYTES} bytes")]
    TooLarge {
        topic: String,
        size: usize,
        message: usize,
        attributes: usize,
    },
    #[error("invalid subject for topic `{topic}`: {problem}")]
    InvalidSubject { topic: String, problem: String },
    #[error("message to topic `{topic}`: {problem}")]
    Attribute { topic: String, problem: String },
    #[error("`{topic}` is a FIFO topic: every message needs a message group id")]
    MissingGroupId { topic: String },
    #[error("`{topic}` is a FIFO topic without content-based deduplication: every message needs a deduplication id (or turn on contentBasedDeduplication)")]
    MissingDedupId { topic: String },
    #[error("`{topic}` is a standard topic: a deduplication id is only allowed on FIFO topics")]
    DedupIdOnStandard { topic: String },
    #[error(
        "invalid {what} `{value}`: up to 128 characters, letters, digits and punctuation only"
    )]
    InvalidId { what: &'static str, value: String },
}

/// Why a set of topic configurations was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("topic `{0}` is defined twice")]
    DuplicateTopic(String),
    #[error("topic `{topic}` has two subscriptions with id `{id}`")]
    DuplicateSubscription { topic: String, id: String },
    #[error("a topic name cannot be empty")]
    EmptyName,
    #[error("there is no topic named `{0}`")]
    UnknownTopic(String),
}

/// Why [`Topics::complete`] refused.
pub type DeliveryError = CompleteError;

/// A function delivery that failed every attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryFailure {
    pub topic: String,
    pub subscription: String,
    pub function: String,
    pub message_id: String,
    pub attempts: u32,
    pub failed_at: DateTime<Utc>,
    /// Where the message went, if the subscription has a dead-letter queue.
    pub dead_letter_queue: Option<String>,
}

/// What [`Topics::complete`] did with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; handed out again at `at`.
    Retrying {
        attempts: u32,
        at: DateTime<Utc>,
    },
    /// Failed for the last time; send this to the dead-letter queue.
    DeadLettered {
        send: QueueSend,
        failure: DeliveryFailure,
    },
    /// Failed for the last time and there is no dead-letter queue: log it.
    Failed(DeliveryFailure),
}

/// One subscription as the control API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionStats {
    pub id: String,
    pub arn: String,
    pub target: SubTarget,
    pub raw_message_delivery: bool,
    pub filtered_by_policy: bool,
    pub dead_letter_queue: Option<String>,
    pub delivered: u64,
    pub filtered: u64,
    /// Function deliveries that failed every attempt (dead-lettered or not).
    pub failed: u64,
    pub dead_lettered: u64,
    /// Function deliveries waiting for a retry.
    pub retrying: u64,
    /// Function deliveries handed out and not completed yet.
    pub in_flight: u64,
}

/// One topic as the control API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicStats {
    pub name: String,
    pub arn: String,
    pub fifo: bool,
    pub content_based_deduplication: bool,
    pub published: u64,
    pub duplicates: u64,
    pub subscriptions: Vec<SubscriptionStats>,
    /// The latest permanent failures, oldest first (at most [`RECENT_FAILURES`]).
    pub recent_failures: Vec<DeliveryFailure>,
}

#[derive(Debug, Clone, Default)]
struct Counts {
    delivered: u64,
    filtered: u64,
    failed: u64,
    dead_lettered: u64,
}

#[derive(Debug, Clone)]
struct Topic {
    config: TopicConfig,
    counts: BTreeMap<String, Counts>,
    published: u64,
    duplicates: u64,
    next_sequence: u64,
    dedup: BTreeMap<String, (String, Option<String>)>,
    dedup_order: VecDeque<(DateTime<Utc>, String)>,
    failures: VecDeque<DeliveryFailure>,
    /// Subscriptions removed with `Unsubscribe` (`SubscriptionsDeleted`).
    unsubscribed: u64,
}

impl Topic {
    fn new(config: TopicConfig) -> Topic {
        Topic {
            counts: config
                .subscriptions
                .iter()
                .map(|s| (s.id.clone(), Counts::default()))
                .collect(),
            config,
            published: 0,
            duplicates: 0,
            next_sequence: FIRST_SEQUENCE,
            dedup: BTreeMap::new(),
            dedup_order: VecDeque::new(),
            failures: VecDeque::new(),
            unsubscribed: 0,
        }
    }

    fn prune_dedup(&mut self, now: DateTime<Utc>) {
        let window = TimeDelta::from_std(DEDUP_WINDOW).unwrap_or(TimeDelta::MAX);
        while let Some((at, _)) = self.dedup_order.front() {
            if *at + window > now {
                break;
            }
            if let Some((_, id)) = self.dedup_order.pop_front() {
                self.dedup.remove(&id);
            }
        }
    }

    fn subscription(&self, id: &str) -> Option<&SubscriptionConfig> {
        self.config.subscriptions.iter().find(|s| s.id == id)
    }

    fn record_failure(&mut self, failure: DeliveryFailure) {
        if self.failures.len() == RECENT_FAILURES {
            self.failures.pop_front();
        }
        self.failures.push_back(failure);
    }
}

/// Identifies a function delivery's subscription and carries the message for a DLQ.
/// Stored (`--state`) as [`StoredTag`], the notification by value.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "StoredTag", from = "StoredTag")]
struct Tag {
    topic: String,
    subscription: String,
    notification: Arc<Notification>,
    group_id: Option<String>,
    dedup_id: Option<String>,
    /// Invocations that led to the publish (`crate::recursion`).
    hops: u32,
}

/// A [`Tag`] as the store keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredTag {
    topic: String,
    subscription: String,
    notification: Notification,
    group_id: Option<String>,
    dedup_id: Option<String>,
    #[serde(default)]
    hops: u32,
}

impl From<Tag> for StoredTag {
    fn from(t: Tag) -> StoredTag {
        StoredTag {
            topic: t.topic,
            subscription: t.subscription,
            notification: Notification::clone(&t.notification),
            group_id: t.group_id,
            dedup_id: t.dedup_id,
            hops: t.hops,
        }
    }
}

impl From<StoredTag> for Tag {
    fn from(t: StoredTag) -> Tag {
        Tag {
            topic: t.topic,
            subscription: t.subscription,
            notification: Arc::new(t.notification),
            group_id: t.group_id,
            dedup_id: t.dedup_id,
            hops: t.hops,
        }
    }
}

/// Where notifications' `UnsubscribeURL` points until [`Topics::set_endpoint`].
pub const DEFAULT_ENDPOINT: &str = "https://sns.us-east-1.amazonaws.com";

/// Every topic of an app.
#[derive(Debug, Clone)]
pub struct Topics {
    topics: BTreeMap<String, Topic>,
    invocations: Invocations<Tag>,
    /// The SNS endpoint notifications' `UnsubscribeURL` names.
    endpoint: String,
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic())
}

impl Topics {
    /// Topics with Lambda's default async retry policy.
    pub fn new(configs: Vec<TopicConfig>) -> Result<Topics, ConfigError> {
        Topics::with_retry_policy(configs, RetryPolicy::default())
    }

    pub fn with_retry_policy(
        configs: Vec<TopicConfig>,
        policy: RetryPolicy,
    ) -> Result<Topics, ConfigError> {
        Ok(Topics {
            topics: build(configs)?,
            invocations: Invocations::new(policy),
            endpoint: DEFAULT_ENDPOINT.to_string(),
        })
    }

    /// The SNS endpoint (`http://127.0.0.1:3333`) that notifications' `UnsubscribeURL`
    /// names, so following it unsubscribes from this sandbox.
    pub fn set_endpoint(&mut self, endpoint: impl Into<String>) {
        self.endpoint = endpoint.into();
    }

    /// One topic's configuration.
    pub fn config(&self, name: &str) -> Option<&TopicConfig> {
        self.topics.get(name).map(|t| &t.config)
    }

    /// One topic's configuration, to change its settings and attributes; subscriptions
    /// change through [`Topics::subscribe`] and [`Topics::unsubscribe`].
    pub fn config_mut(&mut self, name: &str) -> Option<&mut TopicConfig> {
        self.topics.get_mut(name).map(|t| &mut t.config)
    }

    /// `CreateTopic`: adds a topic; an existing name is [`ConfigError::DuplicateTopic`].
    pub fn create(&mut self, config: TopicConfig) -> Result<(), ConfigError> {
        let mut fresh = build(vec![config])?;
        let (name, topic) = fresh.pop_first().ok_or(ConfigError::EmptyName)?;
        if self.topics.contains_key(&name) {
            return Err(ConfigError::DuplicateTopic(name));
        }
        self.topics.insert(name, topic);
        Ok(())
    }

    /// `DeleteTopic`: the topic and its subscriptions are gone, with their outstanding
    /// function deliveries. Answers the removed configuration.
    pub fn delete(&mut self, name: &str) -> Option<TopicConfig> {
        let topic = self.topics.remove(name)?;
        self.invocations.retain(|tag| tag.topic != name);
        Some(topic.config)
    }

    /// `Subscribe`: adds a subscription to a topic.
    pub fn subscribe(&mut self, topic: &str, sub: SubscriptionConfig) -> Result<(), ConfigError> {
        let t = self
            .topics
            .get_mut(topic)
            .ok_or_else(|| ConfigError::UnknownTopic(topic.to_string()))?;
        if t.subscription(&sub.id).is_some() {
            return Err(ConfigError::DuplicateSubscription {
                topic: topic.to_string(),
                id: sub.id,
            });
        }
        t.counts.insert(sub.id.clone(), Counts::default());
        t.config.subscriptions.push(sub);
        Ok(())
    }

    /// `Unsubscribe`: removes a subscription and its outstanding function deliveries.
    pub fn unsubscribe(&mut self, topic: &str, id: &str) -> Option<SubscriptionConfig> {
        let t = self.topics.get_mut(topic)?;
        let at = t.config.subscriptions.iter().position(|s| s.id == id)?;
        let sub = t.config.subscriptions.remove(at);
        t.counts.remove(id);
        t.unsubscribed += 1;
        self.invocations
            .retain(|tag| !(tag.topic == topic && tag.subscription == id));
        Some(sub)
    }

    /// One subscription, to change its attributes.
    pub fn subscription_mut(&mut self, topic: &str, id: &str) -> Option<&mut SubscriptionConfig> {
        self.topics
            .get_mut(topic)?
            .config
            .subscriptions
            .iter_mut()
            .find(|s| s.id == id)
    }

    /// How many subscriptions of a topic were removed with [`Topics::unsubscribe`].
    pub fn unsubscribed(&self, topic: &str) -> u64 {
        self.topics.get(topic).map_or(0, |t| t.unsubscribed)
    }

    pub fn names(&self) -> Vec<String> {
        self.topics.keys().cloned().collect()
    }

    fn topic_mut(&mut self, name: &str) -> Result<&mut Topic, PublishError> {
        let known = self.names();
        self.topics
            .get_mut(name)
            .ok_or_else(|| PublishError::UnknownTopic {
                name: name.to_string(),
                known,
            })
    }

    /// Problems with the queues subscriptions name, given `fifo_of(queue)`: `None` for a
    /// queue that does not exist, else whether it is FIFO. Empty when all is well.
    pub fn check_queues(&self, fifo_of: impl Fn(&str) -> Option<bool>) -> Vec<String> {
        let mut problems = Vec::new();
        for topic in self.topics.values() {
            let kind = if topic.config.fifo {
                "FIFO"
            } else {
                "standard"
            };
            for sub in &topic.config.subscriptions {
                let mut check = |queue: &str, role: &str| {
                    match fifo_of(queue) {
                    None => problems.push(format!(
                        "topic `{}`: {role} `{queue}` is not a queue of this app",
                        topic.config.name
                    )),
                    Some(fifo) if fifo != topic.config.fifo => problems.push(format!(
                        "topic `{}` is a {kind} topic, so its {role} `{queue}` must be a {kind} queue (SNS delivers FIFO topics only to FIFO queues and standard topics only to standard queues)",
                        topic.config.name
                    )),
                    Some(_) => {}
                }
                };
                if let SubTarget::Queue(queue) = &sub.target {
                    check(queue, "subscribed queue");
                }
                if let Some(dlq) = &sub.dead_letter_queue {
                    check(dlq, "dead-letter queue");
                }
            }
        }
        problems
    }

    /// `Publish`: validates, deduplicates (FIFO), filters and fans out.
    pub fn publish(
        &mut self,
        topic_name: &str,
        req: PublishRequest,
        now: DateTime<Utc>,
    ) -> Result<PublishReceipt, PublishError> {
        let endpoint = self.endpoint.clone();
        let topic = self.topic_mut(topic_name)?;
        let name = || topic_name.to_string();
        if req.message.is_empty() {
            return Err(PublishError::EmptyMessage { topic: name() });
        }
        if let Some(subject) = &req.subject {
            let problem = if subject.is_empty() {
                Some("it is empty".to_string())
            } else if subject.chars().count() > MAX_SUBJECT_CHARS {
                Some(format!(
                    "it is {} characters long, over {MAX_SUBJECT_CHARS}",
                    subject.chars().count()
                ))
            } else if subject.chars().any(char::is_control) {
                Some("it contains a line break or control character".to_string())
            } else if subject.starts_with(char::is_whitespace) {
                Some("it must start with a letter, number or punctuation mark".to_string())
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(PublishError::InvalidSubject {
                    topic: name(),
                    problem,
                });
            }
        }
        for (k, a) in &req.attributes {
            validate_attribute(k, a).map_err(|problem| PublishError::Attribute {
                topic: name(),
                problem,
            })?;
        }
        let attributes = attributes_size(&req.attributes);
        let size = req.message.len() + attributes;
        if size > MAX_MESSAGE_BYTES {
            return Err(PublishError::TooLarge {
                topic: name(),
                size,
                message: req.message.len(),
                attributes,
            });
        }
        if let Some(group) = &req.group_id {
            if !valid_id(group) {
                return Err(PublishError::InvalidId {
                    what: "message group id",
                    value: group.clone(),
                });
            }
        }

        let mut dedup_id = None;
        if topic.config.fifo {
            if req.group_id.is_none() {
                return Err(PublishError::MissingGroupId { topic: name() });
            }
            let id = match (&req.dedup_id, topic.config.content_based_deduplication) {
                (Some(id), _) if !valid_id(id) => {
                    return Err(PublishError::InvalidId {
                        what: "deduplication id",
                        value: id.clone(),
                    })
                }
                (Some(id), _) => id.clone(),
                (None, true) => Sha256::digest(req.message.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
                (None, false) => return Err(PublishError::MissingDedupId { topic: name() }),
            };
            topic.prune_dedup(now);
            if let Some((message_id, sequence_number)) = topic.dedup.get(&id) {
                topic.duplicates += 1;
                return Ok(PublishReceipt {
                    message_id: message_id.clone(),
                    sequence_number: sequence_number.clone(),
                    duplicate: true,
                    queue_sends: Vec::new(),
                    function_deliveries: Vec::new(),
                    filtered: Vec::new(),
                });
            }
            dedup_id = Some(id);
        } else if req.dedup_id.is_some() {
            return Err(PublishError::DedupIdOnStandard { topic: name() });
        }

        let sequence_number = topic.config.fifo.then(|| {
            let n = topic.next_sequence;
            topic.next_sequence += 1;
            format!("{n:020}")
        });
        let notification = Arc::new(Notification {
            topic: topic_name.to_string(),
            message_id: uuid::Uuid::new_v4().to_string(),
            sequence_number: sequence_number.clone(),
            subject: req.subject,
            message: req.message,
            timestamp: now,
            attributes: req.attributes,
            endpoint,
        });
        if let Some(id) = &dedup_id {
            topic.dedup.insert(
                id.clone(),
                (notification.message_id.clone(), sequence_number.clone()),
            );
            topic.dedup_order.push_back((now, id.clone()));
        }
        topic.published += 1;

        let mut receipt = PublishReceipt {
            message_id: notification.message_id.clone(),
            sequence_number,
            duplicate: false,
            queue_sends: Vec::new(),
            function_deliveries: Vec::new(),
            filtered: Vec::new(),
        };
        // `MessageStructure=json`: each protocol gets its own message, else the default.
        let for_protocol = |protocol: &str| match req.per_protocol.get(protocol) {
            Some(message) => Arc::new(Notification {
                message: message.clone(),
                ..(*notification).clone()
            }),
            None => Arc::clone(&notification),
        };
        let (to_queue, to_function) = (for_protocol("sqs"), for_protocol("lambda"));
        let mut functions = Vec::new();
        for sub in &topic.config.subscriptions {
            let counts = topic.counts.entry(sub.id.clone()).or_default();
            let wanted = sub.filter_policy.as_ref().is_none_or(|policy| {
                policy_matches(policy, &notification.attributes, &notification.message)
            });
            if !wanted {
                counts.filtered += 1;
                receipt.filtered.push(sub.id.clone());
                continue;
            }
            match &sub.target {
                SubTarget::Queue(queue) => {
                    counts.delivered += 1;
                    receipt.queue_sends.push(queue_send(
                        queue,
                        sub,
                        &to_queue,
                        (req.group_id.clone(), dedup_id.clone()),
                        req.hops,
                    ));
                }
                SubTarget::Function(function) => functions.push((function.clone(), sub.id.clone())),
            }
        }
        for (function, subscription) in functions {
            let event = lambda_event(&to_function, &subscription);
            let tag = Tag {
                topic: topic_name.to_string(),
                subscription,
                notification: Arc::clone(&to_function),
                group_id: req.group_id.clone(),
                dedup_id: dedup_id.clone(),
                hops: req.hops,
            };
            let id = self.invocations.push(function, event, tag, now);
            receipt.function_deliveries.push(id);
        }
        Ok(receipt)
    }

    /// Starts noting which function deliveries change, for [`Topics::take_changes`]
    /// (`--state`): the store holds them as they are now.
    pub fn start_journal(&mut self) {
        self.invocations.set_journal(true);
    }

    /// The function deliveries (pending first attempts and retries) that changed since
    /// the last call.
    pub fn take_changes(&mut self) -> Option<crate::async_retry::image::InvocationChanges> {
        self.invocations.take_changes()
    }

    /// Puts stored function deliveries back, keeping those whose topic and subscription
    /// still exist; returns how many came back.
    pub fn restore_deliveries(
        &mut self,
        next_id: u64,
        stored: Vec<crate::async_retry::image::StoredInvocation>,
    ) -> usize {
        let topics = &self.topics;
        self.invocations.restore(next_id, stored, |tag| {
            topics
                .get(&tag.topic)
                .is_some_and(|t| t.subscription(&tag.subscription).is_some())
        })
    }

    /// Function deliveries due at `now` (first attempts and retries); each is in flight
    /// until [`Topics::complete`].
    pub fn due_deliveries(&mut self, now: DateTime<Utc>) -> Vec<FunctionDelivery> {
        self.invocations
            .due(now)
            .into_iter()
            .map(|(d, _)| d)
            .collect()
    }

    /// The topic and subscription id of an outstanding function delivery.
    pub fn delivery_source(&self, id: u64) -> Option<(String, String)> {
        self.invocations
            .tag(id)
            .map(|t| (t.topic.clone(), t.subscription.clone()))
    }

    /// Records whether the handler succeeded for a delivery from
    /// [`Topics::due_deliveries`].
    pub fn complete(
        &mut self,
        id: u64,
        success: bool,
        now: DateTime<Utc>,
    ) -> Result<DeliveryOutcome, DeliveryError> {
        let settled = self.invocations.complete(id, success, now)?;
        let (tag, attempts, function) = match settled {
            Settled::Delivered { tag, .. } => {
                if let Some(c) = self.counts_mut(&tag) {
                    c.delivered += 1;
                }
                return Ok(DeliveryOutcome::Delivered);
            }
            Settled::Retrying { attempts, at, .. } => {
                return Ok(DeliveryOutcome::Retrying { attempts, at })
            }
            Settled::Exhausted {
                tag,
                attempts,
                function,
                ..
            } => (tag, attempts, function),
        };
        Ok(self.give_up(tag, attempts, function, now))
    }

    /// How many invocations led to an outstanding function delivery (0 when it is gone).
    pub fn delivery_hops(&self, id: u64) -> u32 {
        self.invocations.tag(id).map_or(0, |t| t.hops)
    }

    /// Stops a handed-out delivery without invoking it, because it would continue a
    /// recursive loop (`crate::recursion`): no retries; it goes to the subscription's
    /// dead-letter queue, or is recorded as a failure, as a delivery given up on does.
    pub fn stop_recursive(
        &mut self,
        id: u64,
        now: DateTime<Utc>,
    ) -> Result<DeliveryOutcome, DeliveryError> {
        match self.invocations.abandon(id)? {
            Settled::Exhausted {
                tag,
                attempts,
                function,
                ..
            } => Ok(self.give_up(tag, attempts, function, now)),
            _ => Err(CompleteError::Unknown { id }),
        }
    }

    /// A delivery that will not be attempted again: counted failed, recorded, and sent
    /// to the subscription's dead-letter queue when it has one.
    fn give_up(
        &mut self,
        tag: Tag,
        attempts: u32,
        function: String,
        now: DateTime<Utc>,
    ) -> DeliveryOutcome {
        // The topic may have been reloaded away meanwhile; the failure is still reported.
        let sub = self
            .topics
            .get(&tag.topic)
            .and_then(|t| t.subscription(&tag.subscription))
            .cloned();
        let dlq = sub.as_ref().and_then(|s| s.dead_letter_queue.clone());
        let failure = DeliveryFailure {
            topic: tag.topic.clone(),
            subscription: tag.subscription.clone(),
            function,
            message_id: tag.notification.message_id.clone(),
            attempts,
            failed_at: now,
            dead_letter_queue: dlq.clone(),
        };
        if let Some(c) = self.counts_mut(&tag) {
            c.failed += 1;
            if dlq.is_some() {
                c.dead_lettered += 1;
            }
        }
        if let Some(topic) = self.topics.get_mut(&tag.topic) {
            topic.record_failure(failure.clone());
        }
        match (dlq, sub) {
            (Some(queue), Some(sub)) => DeliveryOutcome::DeadLettered {
                send: queue_send(
                    &queue,
                    &sub,
                    &tag.notification,
                    (tag.group_id, tag.dedup_id),
                    tag.hops,
                ),
                failure,
            },
            _ => DeliveryOutcome::Failed(failure),
        }
    }

    fn counts_mut(&mut self, tag: &Tag) -> Option<&mut Counts> {
        self.topics
            .get_mut(&tag.topic)
            .and_then(|t| t.counts.get_mut(&tag.subscription))
    }

    /// One topic's subscriptions, counts and recent failures.
    pub fn stats(&self, name: &str) -> Result<TopicStats, PublishError> {
        let topic = self
            .topics
            .get(name)
            .ok_or_else(|| PublishError::UnknownTopic {
                name: name.to_string(),
                known: self.names(),
            })?;
        let subscriptions = topic
            .config
            .subscriptions
            .iter()
            .map(|sub| {
                let counts = topic.counts.get(&sub.id).cloned().unwrap_or_default();
                let (mut retrying, mut in_flight) = (0, 0);
                for (tag, _, flying) in self.invocations.outstanding() {
                    if tag.topic == name && tag.subscription == sub.id {
                        if flying {
                            in_flight += 1;
                        } else {
                            retrying += 1;
                        }
                    }
                }
                SubscriptionStats {
                    id: sub.id.clone(),
                    arn: subscription_arn(name, &sub.id),
                    target: sub.target.clone(),
                    raw_message_delivery: sub.raw_message_delivery,
                    filtered_by_policy: sub.filter_policy.is_some(),
                    dead_letter_queue: sub.dead_letter_queue.clone(),
                    delivered: counts.delivered,
                    filtered: counts.filtered,
                    failed: counts.failed,
                    dead_lettered: counts.dead_lettered,
                    retrying,
                    in_flight,
                }
            })
            .collect();
        Ok(TopicStats {
            name: name.to_string(),
            arn: topic_arn(name),
            fifo: topic.config.fifo,
            content_based_deduplication: topic.config.content_based_deduplication,
            published: topic.published,
            duplicates: topic.duplicates,
            subscriptions,
            recent_failures: topic.failures.iter().cloned().collect(),
        })
    }

    /// [`Topics::stats`] for every topic, by name (`GET /_sandbox/topics`).
    pub fn describe(&self) -> Vec<TopicStats> {
        self.topics
            .keys()
            .filter_map(|name| self.stats(name).ok())
            .collect()
    }

    /// When a retry becomes due (`now` if a delivery already is).
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.invocations.next_change(now)
    }

    /// Hot reload: topics that stay keep their counts, dedup window and sequence numbers;
    /// outstanding function deliveries of removed subscriptions are dropped. Returns how
    /// many were dropped. On error nothing changes.
    ///
    /// What the SNS API made outlives the manifest: topics it created stay (unless the
    /// manifest now declares them, whose settings then win), and its subscriptions and
    /// attributes stay on every topic that stays.
    pub fn replace_configs(&mut self, configs: Vec<TopicConfig>) -> Result<usize, ConfigError> {
        let mut fresh = build(configs)?;
        for (name, topic) in &self.topics {
            if topic.config.from_api && !fresh.contains_key(name) {
                fresh.insert(name.clone(), topic.clone());
            }
        }
        for (name, topic) in fresh.iter_mut() {
            if let Some(old) = self.topics.remove(name) {
                let mut config = std::mem::replace(&mut topic.config, old.config.clone());
                keep_api_settings(&mut config, &old.config);
                let counts = config
                    .subscriptions
                    .iter()
                    .map(|s| {
                        let c = old.counts.get(&s.id).cloned().unwrap_or_default();
                        (s.id.clone(), c)
                    })
                    .collect();
                *topic = Topic {
                    config,
                    counts,
                    ..old
                };
            }
        }
        self.topics = fresh;
        let topics = &self.topics;
        Ok(self.invocations.retain(|tag| {
            topics
                .get(&tag.topic)
                .is_some_and(|t| t.subscription(&tag.subscription).is_some())
        }))
    }
}

/// What the SNS API added to a topic the manifest (re)declares: its attributes and
/// subscriptions, after the manifest's own.
fn keep_api_settings(config: &mut TopicConfig, old: &TopicConfig) {
    if old.from_api && config.from_api {
        return;
    }
    for (key, value) in &old.attributes {
        config
            .attributes
            .entry(key.clone())
            .or_insert(value.clone());
    }
    for (key, value) in &old.tags {
        config.tags.entry(key.clone()).or_insert(value.clone());
    }
    for sub in old.subscriptions.iter().filter(|s| s.from_api) {
        if config.subscriptions.iter().all(|s| s.id != sub.id) {
            config.subscriptions.push(sub.clone());
        }
    }
}

fn build(configs: Vec<TopicConfig>) -> Result<BTreeMap<String, Topic>, ConfigError> {
    let mut topics = BTreeMap::new();
    for config in configs {
        if config.name.is_empty() {
            return Err(ConfigError::EmptyName);
        }
        let mut seen = std::collections::BTreeSet::new();
        for sub in &config.subscriptions {
            if !seen.insert(sub.id.as_str()) {
                return Err(ConfigError::DuplicateSubscription {
                    topic: config.name.clone(),
                    id: sub.id.clone(),
                });
            }
        }
        let name = config.name.clone();
        if topics.insert(name.clone(), Topic::new(config)).is_some() {
            return Err(ConfigError::DuplicateTopic(name));
        }
    }
    Ok(topics)
}

/// The SQS message SNS makes for a queue subscriber (or a DLQ): the envelope, or the raw
/// message with its attributes converted.
fn queue_send(
    queue: &str,
    sub: &SubscriptionConfig,
    n: &Notification,
    (group_id, dedup_id): (Option<String>, Option<String>),
    hops: u32,
) -> QueueSend {
    let (body, attributes) = if sub.raw_message_delivery {
        (n.message.clone(), sqs_attributes(&n.attributes))
    } else {
        (sqs_envelope(n, &sub.id), MessageAttributes::new())
    };
    QueueSend {
        queue: queue.to_string(),
        body,
        attributes,
        group_id,
        dedup_id,
        sender_id: topic_arn(&n.topic),
        hops,
    }
}

impl Pending for Topics {
    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        self.topics
            .keys()
            .map(|name| {
                let c = self.invocations.counts(now, |tag| &tag.topic == name);
                PendingWork {
                    service: "topic".to_string(),
                    resource: name.clone(),
                    due_now: c.due_now,
                    scheduled_later: c.scheduled_later,
                    next_due: c.next_due,
                }
            })
            .collect()
    }

    /// A delivery is due when the retry queue's next change is now.
    fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.invocations.next_change(now) == Some(now)
    }
}

#[cfg(test)]
#[path = "topics_tests.rs"]
mod tests;
