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
    AttributeValue, DeliveryOutcome, FilterPolicy, PublishError, PublishReceipt, PublishRequest,
    QueueSend, Scope, SubTarget, SubscriptionConfig, TopicConfig, Topics,
};
use sandbox_services::{Pending, PendingWork};
use serde_json::{json, Map, Value};

use crate::driver::{Context, Driver, Drivers, Round};
use crate::lambda_async::{self, AsyncTargets, Settled, Source};
use crate::lock::Lock;
use crate::{ControlError, QueueService, Triggers};

#[derive(Clone)]
pub struct TopicService {
    inner: Arc<Inner>,
}

struct Inner {
    cx: Context,
    queues: QueueService,
    topics: Lock<Topics>,
}

impl TopicService {
    pub(crate) fn start(
        cx: &Context,
        drivers: &mut Drivers,
        queues: &QueueService,
    ) -> Result<TopicService, String> {
        let topics = {
            let loaded = cx.app.load();
            Topics::new(configs(loaded.manifest())?).map_err(|e| e.to_string())?
        };
        let inner = drivers.add(Arc::new(Inner {
            cx: cx.clone(),
            queues: queues.clone(),
            topics: Lock::new(topics),
        }));
        Ok(TopicService { inner })
    }

    /// `Publish`: fans the message out now. Queue subscribers receive it before this
    /// returns; function subscribers are invoked by the driver.
    pub fn publish(
        &self,
        topic: &str,
        request: PublishRequest,
    ) -> Result<PublishReceipt, ControlError> {
        let now = self.inner.clock.now();
        let receipt = self
            .inner
            .topics()
            .publish(topic, request, now)
            .map_err(publish_error)?;
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

    /// `GET /_sandbox/topics`: every topic with its subscriptions, counts and recent
    /// permanent failures.
    pub fn list(&self) -> Value {
        let topics: Vec<Value> = self
            .inner
            .topics()
            .describe()
            .iter()
            .map(|stats| camel_case(json!(stats)))
            .collect();
        json!({ "topics": topics })
    }

    /// One topic, as [`TopicService::list`] shows it.
    pub fn get(&self, name: &str) -> Result<Value, ControlError> {
        let stats = self.inner.topics().stats(name).map_err(publish_error)?;
        Ok(camel_case(json!(stats)))
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
        let dropped = self
            .topics()
            .replace_configs(configs)
            .map_err(|e| e.to_string())?;
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
        if dropped > 0 {
            let line = format!(
                "topics: {dropped} pending handler delivery(ies) of removed subscriptions dropped"
            );
            tracing::warn!("{line}");
            lines.push(line);
        }
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
        let outcome = self
            .topics()
            .complete(id, ok, now)
            .map_err(|e| e.to_string())?;
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
            subscriptions.push(SubscriptionConfig {
                id: subscription_id(&topic.name, index),
                target,
                raw_message_delivery: sub.raw_message_delivery,
                filter_policy,
                dead_letter_queue: sub.dead_letter_queue.clone(),
            });
        }
        configs.push(TopicConfig {
            name: topic.name.clone(),
            fifo: topic.fifo,
            content_based_deduplication: topic.content_based_deduplication,
            subscriptions,
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
    // FNV-1a, twice with different offsets: 128 stable bits without a hashing crate.
    let hash = |seed: u64| {
        let mut h = seed;
        for b in topic.bytes().chain([0]).chain(index.to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    let (a, b) = (hash(0xcbf2_9ce4_8422_2325), hash(0x6c62_272e_07bb_0142));
    // Version 8 (custom) and the RFC 4122 variant, so it reads as a valid UUID.
    let a = (a & !0xf000) | 0x8000;
    let b = (b & !(0xc000_0000_0000_0000)) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

fn publish_error(e: PublishError) -> ControlError {
    match e {
        PublishError::UnknownTopic { .. } => ControlError::not_found(e.to_string()),
        other => ControlError::bad_request(other.to_string()),
    }
}

/// Reads a publish request in the shape the control API and the SDK use:
/// `{"message": "...", "subject"?, "groupId"?, "deduplicationId"?,
///   "attributes"?: {"name": "text" | 12 | ["a", "b"] | {"DataType", "StringValue" | "BinaryValue"}}}`.
pub fn parse_publish(value: &Value) -> Result<PublishRequest, ControlError> {
    const KNOWN: &[&str] = &[
        "message",
        "subject",
        "attributes",
        "groupId",
        "deduplicationId",
    ];
    let bad = |field: &str, what: &str| ControlError::bad_request(format!("`{field}` {what}"));
    let object = value
        .as_object()
        .ok_or_else(|| ControlError::bad_request("the request must be a JSON object"))?;
    if let Some(key) = object.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(
            key,
            &format!("is not a known field; known: {}", KNOWN.join(", ")),
        ));
    }
    let message = match object.get("message") {
        Some(Value::String(message)) => message.clone(),
        Some(Value::Null) | None => return Err(bad("message", "is required")),
        // SNS messages are text; a JSON value is sent as its JSON text.
        Some(other) => other.to_string(),
    };
    let text = |field: &str| -> Result<Option<String>, ControlError> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(field, "must be a string")),
        }
    };
    let mut request = PublishRequest::new(message);
    request.subject = text("subject")?;
    request.group_id = text("groupId")?;
    request.dedup_id = text("deduplicationId")?;
    if let Some(attributes) = object.get("attributes").filter(|a| !a.is_null()) {
        let attributes = attributes.as_object().ok_or_else(|| {
            ControlError::bad_request("`attributes` must be an object of name → value")
        })?;
        for (name, value) in attributes {
            request
                .attributes
                .insert(name.clone(), parse_attribute(name, value)?);
        }
    }
    Ok(request)
}

fn parse_attribute(name: &str, value: &Value) -> Result<AttributeValue, ControlError> {
    let bad = |what: &str| ControlError::bad_request(format!("attribute `{name}` {what}"));
    Ok(match value {
        Value::String(s) => AttributeValue::string(s.clone()),
        Value::Number(n) => AttributeValue::new("Number", n.to_string()),
        Value::Array(_) => AttributeValue::new("String.Array", value.to_string()),
        Value::Object(fields) => {
            let field = |names: &[&str]| names.iter().find_map(|n| fields.get(*n));
            let data_type = field(&["DataType", "dataType", "Type"])
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    bad("needs a `DataType` (String, String.Array, Number or Binary)")
                })?;
            let value = field(&[
                "StringValue",
                "stringValue",
                "BinaryValue",
                "binaryValue",
                "Value",
                "value",
            ])
            .ok_or_else(|| bad("needs a `StringValue` (or a base64 `BinaryValue`)"))?;
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(_) => value.to_string(),
                _ => return Err(bad("has a value that is not a string, number or array")),
            };
            AttributeValue::new(data_type, value)
        }
        _ => {
            return Err(bad(
                "must be a string, a number, an array, or {DataType, StringValue | BinaryValue}",
            ))
        }
    })
}

/// The receipt as the control API and the SDK answer it (SNS's Publish result plus what
/// the sandbox did with it).
pub fn receipt_json(receipt: &PublishReceipt) -> Value {
    json!({
        "messageId": receipt.message_id,
        "sequenceNumber": receipt.sequence_number,
        "duplicate": receipt.duplicate,
        "queues": receipt.queue_sends.iter().map(|s| s.queue.clone()).collect::<Vec<_>>(),
        "functionDeliveries": receipt.function_deliveries.len(),
        "filtered": receipt.filtered,
    })
}

/// The services' stats use Rust's snake_case field names; the control API speaks
/// camelCase like the rest of it. Only keys are renamed, never values.
pub(crate) fn camel_case(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (camel_key(&k), camel_case(v)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_case).collect()),
        other => other,
    }
}

fn camel_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The endpoints [`route`] answers, for the control API's 404 listing.
pub const ENDPOINTS: &[&str] = &[
    "GET /_sandbox/topics",
    "GET /_sandbox/topics/{name}",
    "POST /_sandbox/topics/{name}/messages {\"message\":\"...\",\"subject\"?,\"attributes\"?,\"groupId\"?,\"deduplicationId\"?}",
];

/// Control routes under `/_sandbox/topics`; `None` when the path is not ours.
pub(crate) async fn route(
    triggers: &Triggers,
    method: &str,
    path: &str,
    _query: Option<&str>,
    body: &[u8],
) -> Option<Result<Value, ControlError>> {
    let service = triggers.topics();
    let rest = path.strip_prefix("/_sandbox/topics")?;
    if rest.is_empty() {
        return Some(match method {
            "GET" => Ok(service.list()),
            _ => Err(not_allowed(method, path, "GET")),
        });
    }
    let rest = rest.strip_prefix('/')?;
    Some(match rest.split_once('/') {
        None => match method {
            "GET" => service.get(rest),
            _ => Err(not_allowed(method, path, "GET")),
        },
        Some((name, "messages")) => match method {
            "POST" => serde_json::from_slice::<Value>(body)
                .map_err(|e| {
                    ControlError::bad_request(format!(
                        "body is not JSON ({e}); send {{\"message\": \"...\"}}"
                    ))
                })
                .and_then(|request| parse_publish(&request))
                .and_then(|request| service.publish(name, request))
                .map(|receipt| receipt_json(&receipt)),
            _ => Err(not_allowed(method, path, "POST")),
        },
        Some(_) => return None,
    })
}

pub(crate) fn not_allowed(method: &str, path: &str, allowed: &str) -> ControlError {
    ControlError {
        status: 405,
        message: format!("{method} is not allowed on {path}; use {allowed}"),
    }
}

/// A handler's `sandbox.call` for this service: `{"action": "publish", "topic": "...",
/// "message": "...", ...}` (the rest as [`parse_publish`] reads it).
pub(crate) fn host_call(
    triggers: &Triggers,
    _function: &str,
    action: &str,
    mut request: Value,
) -> Result<Value, ControlError> {
    if action != "publish" {
        return Err(ControlError::bad_request(format!(
            "unknown topics action `{action}`; known: publish"
        )));
    }
    let topic = request
        .as_object_mut()
        .and_then(|o| o.remove("topic"))
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| ControlError::bad_request("`topic` is required"))?;
    let publish = parse_publish(&request)?;
    let receipt = triggers.topics().publish(&topic, publish)?;
    Ok(receipt_json(&receipt))
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
        assert_eq!(a.as_bytes()[14], b'8');
    }

    #[test]
    fn reads_publish_requests() {
        let request = parse_publish(&json!({
            "message": "hi",
            "subject": "s",
            "attributes": {"color": "red", "n": 3, "tags": ["a"], "b": {"DataType": "Binary", "BinaryValue": "aGk="}},
        }))
        .unwrap();
        assert_eq!(request.message, "hi");
        assert_eq!(request.subject.as_deref(), Some("s"));
        assert_eq!(request.attributes["color"], AttributeValue::string("red"));
        assert_eq!(request.attributes["n"], AttributeValue::new("Number", "3"));
        assert_eq!(
            request.attributes["tags"],
            AttributeValue::new("String.Array", "[\"a\"]")
        );
        assert_eq!(
            request.attributes["b"],
            AttributeValue::new("Binary", "aGk=")
        );
        // JSON messages are sent as their text.
        assert_eq!(
            parse_publish(&json!({"message": {"a": 1}}))
                .unwrap()
                .message,
            "{\"a\":1}"
        );
    }

    #[test]
    fn refuses_bad_publish_requests() {
        for bad in [
            json!("text"),
            json!({}),
            json!({"message": "m", "extra": 1}),
            json!({"message": "m", "subject": 1}),
            json!({"message": "m", "attributes": {"a": {"StringValue": "x"}}}),
            json!({"message": "m", "attributes": {"a": true}}),
        ] {
            let e = parse_publish(&bad).expect_err(&bad.to_string());
            assert_eq!(e.status, 400);
        }
    }

    #[test]
    fn camel_cases_keys_only() {
        assert_eq!(
            camel_case(json!({"recent_failures": [{"dead_letter_queue": "a_b"}]})),
            json!({"recentFailures": [{"deadLetterQueue": "a_b"}]})
        );
    }
}
