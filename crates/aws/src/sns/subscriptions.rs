//! SNS subscriptions: Subscribe (protocols `sqs` and `lambda`, idempotent for the same
//! endpoint), Unsubscribe (idempotent, also reached by a notification's `UnsubscribeURL`),
//! ListSubscriptions(ByTopic) and Get/SetSubscriptionAttributes.
//!
//! An `sqs` endpoint is the ARN of one of the sandbox's queues (declared in the manifest
//! or made through SQS's API) and a `lambda` endpoint the ARN of one of the app's
//! functions (`arn:aws:lambda:us-east-1:123456789012:function:events-orders` for
//! `events/orders`): the sandbox has nowhere else to deliver, so other protocols and
//! unknown endpoints are refused at subscribe time rather than failing every delivery.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use sandbox_ops::aws::{
    function_arn, function_name, queue_arn, subscription_arn, topic_arn, ACCOUNT, REGION,
};
use sandbox_services::topic::{FilterPolicy, Scope, SubTarget, SubscriptionConfig};

use super::{
    existing_topic, invalid, not_found, page, string, subscription_parts, topic_name,
    topic_not_found,
};
use crate::protocol::Call;
use crate::{Aws, AwsError};

/// Protocols SNS has that the sandbox cannot deliver to.
const OTHER_PROTOCOLS: [&str; 7] = [
    "http",
    "https",
    "email",
    "email-json",
    "sms",
    "application",
    "firehose",
];

/// What a subscription's attributes are checked against: the sandbox's queues (name →
/// FIFO) and whether the topic is FIFO.
struct World {
    queues: BTreeMap<String, bool>,
    fifo_topic: bool,
}

impl World {
    fn read(aws: &Aws, fifo_topic: bool) -> World {
        let queues = aws.triggers().queues().read_queues(|q, _| {
            q.names()
                .into_iter()
                .filter_map(|name| {
                    let fifo = q.get(&name).ok()?.config().fifo;
                    Some((name, fifo))
                })
                .collect()
        });
        World { queues, fifo_topic }
    }

    /// The queue an SQS ARN names, checked to exist and to match the topic's kind.
    fn queue(&self, arn: &str, role: &str) -> Result<String, AwsError> {
        let name = match arn.split(':').collect::<Vec<_>>().as_slice() {
            ["arn", "aws", "sqs", _, _, name] if !name.is_empty() => name.to_string(),
            _ => {
                return Err(invalid(format!(
                    "Invalid parameter: {role} Reason: `{arn}` is not an SQS queue ARN (arn:aws:sqs:{REGION}:{ACCOUNT}:NAME)"
                )))
            }
        };
        let Some(&fifo) = self.queues.get(&name) else {
            let known: Vec<&str> = self.queues.keys().map(String::as_str).collect();
            return Err(invalid(format!(
                "Invalid parameter: {role} Reason: there is no queue named `{name}` in the sandbox (queues: {})",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )));
        };
        if fifo != self.fifo_topic {
            let why = if self.fifo_topic {
                "a FIFO topic delivers only to FIFO queues"
            } else {
                "FIFO SQS Queues can not be subscribed to standard SNS topics"
            };
            return Err(invalid(format!("Invalid parameter: {role} Reason: {why}")));
        }
        Ok(name)
    }
}

/// The app function a Lambda ARN names (`…:function:NAME` or `…:function:NAME:QUALIFIER`).
fn function(aws: &Aws, arn: &str) -> Result<String, AwsError> {
    let name = match arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", "aws", "lambda", _, _, "function", name] => name.to_string(),
        ["arn", "aws", "lambda", _, _, "function", name, _] => name.to_string(),
        _ => {
            return Err(invalid(format!(
                "Invalid parameter: Lambda endpoint ARN Reason: `{arn}` is not a function ARN (arn:aws:lambda:{REGION}:{ACCOUNT}:function:NAME)"
            )))
        }
    };
    let app = aws.triggers().app_cell().load();
    let functions = &app.manifest().functions;
    functions
        .keys()
        .find(|f| function_name(f) == name)
        .cloned()
        .ok_or_else(|| {
            let known: Vec<String> = functions.keys().map(|f| function_name(f)).collect();
            invalid(format!(
                "Invalid parameter: Lambda endpoint ARN Reason: the app has no function named `{name}` (functions: {})",
                known.join(", ")
            ))
        })
}

/// Where a `Subscribe` delivers.
fn target(aws: &Aws, world: &World, protocol: &str, endpoint: &str) -> Result<SubTarget, AwsError> {
    match protocol {
        "sqs" => Ok(SubTarget::Queue(world.queue(endpoint, "SQS endpoint ARN")?)),
        "lambda" => Ok(SubTarget::Function(function(aws, endpoint)?)),
        other if OTHER_PROTOCOLS.contains(&other) => Err(invalid(format!(
            "Invalid parameter: Protocol Reason: the sandbox delivers only to `sqs` (the ARN of one of its queues) and `lambda` (the ARN of one of the app's functions); `{other}` is not supported"
        ))),
        other => Err(invalid(format!(
            "Invalid parameter: Amazon SNS does not support this protocol string: {other}"
        ))),
    }
}

fn protocol_and_endpoint(target: &SubTarget) -> (&'static str, String) {
    match target {
        SubTarget::Queue(q) => ("sqs", queue_arn(q, REGION, ACCOUNT)),
        SubTarget::Function(f) => ("lambda", function_arn(f)),
    }
}

fn attribute_error(name: &str, why: impl std::fmt::Display) -> AwsError {
    invalid(format!(
        "Invalid parameter: Attributes Reason: {name}: {why}"
    ))
}

fn scope(text: &str) -> Result<Scope, AwsError> {
    match text {
        "MessageAttributes" => Ok(Scope::MessageAttributes),
        "MessageBody" => Ok(Scope::MessageBody),
        other => Err(attribute_error(
            "FilterPolicyScope",
            format!("Invalid value [{other}]. Please use either MessageBody or MessageAttributes"),
        )),
    }
}

/// Recompiles the filter policy from the stored text and scope.
fn compile_policy(sub: &mut SubscriptionConfig) -> Result<(), AwsError> {
    let scope = scope(
        sub.attributes
            .get("FilterPolicyScope")
            .map_or("MessageAttributes", String::as_str),
    )?;
    sub.filter_policy = match sub.attributes.get("FilterPolicy") {
        None => None,
        Some(text) => {
            let value: Value = serde_json::from_str(text).map_err(|e| {
                attribute_error("FilterPolicy", format!("failed to parse JSON: {e}"))
            })?;
            Some(
                FilterPolicy::compile(&value, scope)
                    .map_err(|e| attribute_error("FilterPolicy", e))?,
            )
        }
    };
    Ok(())
}

/// Sets one subscription attribute, as Subscribe's `Attributes` and
/// SetSubscriptionAttributes do.
fn apply(
    sub: &mut SubscriptionConfig,
    world: &World,
    name: &str,
    value: &str,
) -> Result<(), AwsError> {
    match name {
        "RawMessageDelivery" => {
            let raw = match value.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(attribute_error(
                        name,
                        format!("Invalid value [{value}]. Must be true or false."),
                    ))
                }
            };
            if raw && matches!(sub.target, SubTarget::Function(_)) {
                return Err(attribute_error(
                    name,
                    "Delivery protocol [lambda] does not support raw message delivery.",
                ));
            }
            sub.raw_message_delivery = raw;
        }
        "FilterPolicy" | "FilterPolicyScope" => {
            if value.is_empty() {
                sub.attributes.remove(name);
            } else {
                sub.attributes.insert(name.to_string(), value.to_string());
            }
            compile_policy(sub)?;
        }
        "RedrivePolicy" if value.is_empty() => {
            sub.attributes.remove(name);
            sub.dead_letter_queue = None;
        }
        "RedrivePolicy" => {
            let policy: Value = serde_json::from_str(value)
                .map_err(|e| attribute_error(name, format!("failed to parse JSON: {e}")))?;
            let arn = policy["deadLetterTargetArn"]
                .as_str()
                .ok_or_else(|| attribute_error(name, "deadLetterTargetArn is missing"))?;
            sub.dead_letter_queue = Some(world.queue(arn, "RedrivePolicy: deadLetterTargetArn")?);
            sub.attributes.insert(name.to_string(), value.to_string());
        }
        "DeliveryPolicy" | "SubscriptionRoleArn" => {
            if name == "DeliveryPolicy" && serde_json::from_str::<Value>(value).is_err() {
                return Err(attribute_error(name, "the value is not valid JSON"));
            }
            sub.attributes.insert(name.to_string(), value.to_string());
        }
        _ => return Err(invalid("Invalid parameter: AttributeName")),
    }
    Ok(())
}

/// Everything `GetSubscriptionAttributes` answers.
fn attributes(topic: &str, sub: &SubscriptionConfig) -> BTreeMap<String, String> {
    let mut out = sub.attributes.clone();
    let (protocol, endpoint) = protocol_and_endpoint(&sub.target);
    out.insert("SubscriptionArn".into(), subscription_arn(topic, &sub.id));
    out.insert("TopicArn".into(), topic_arn(topic));
    out.insert("Owner".into(), ACCOUNT.into());
    out.insert("Protocol".into(), protocol.into());
    out.insert("Endpoint".into(), endpoint);
    out.insert("ConfirmationWasAuthenticated".into(), "true".into());
    out.insert("PendingConfirmation".into(), "false".into());
    out.insert(
        "RawMessageDelivery".into(),
        sub.raw_message_delivery.to_string(),
    );
    if let Some(dlq) = &sub.dead_letter_queue {
        out.entry("RedrivePolicy".into()).or_insert_with(|| {
            json!({ "deadLetterTargetArn": queue_arn(dlq, REGION, ACCOUNT) }).to_string()
        });
    }
    if sub.filter_policy.is_some() {
        out.entry("FilterPolicyScope".into())
            .or_insert_with(|| "MessageAttributes".into());
    }
    out
}

/// The requested attributes, `FilterPolicyScope` first so the policy compiles in its scope.
fn requested(call: &Call) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = call.input["Attributes"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort_by_key(|(k, _)| k != "FilterPolicyScope");
    pairs
}

pub(super) fn subscribe(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let topic = topic_name(string(call, "TopicArn")?)?.to_string();
    let protocol = string(call, "Protocol")?.to_ascii_lowercase();
    let endpoint = string(call, "Endpoint")?;
    let fifo = aws
        .triggers()
        .topics()
        .with_topics(|t, _| t.config(&topic).map(|c| c.fifo))
        .ok_or_else(topic_not_found)?;
    let world = World::read(aws, fifo);
    let target = target(aws, &world, &protocol, endpoint)?;
    let mut sub = SubscriptionConfig::new(uuid::Uuid::new_v4().to_string(), target.clone());
    sub.from_api = true;
    let wanted = requested(call);
    for (name, value) in &wanted {
        apply(&mut sub, &world, name, value)?;
    }
    let id = aws.triggers().topics().change_topics(|topics, _| {
        let config = topics.config(&topic).ok_or_else(topic_not_found)?;
        if let Some(existing) = config.subscriptions.iter().find(|s| s.target == target) {
            let current = attributes(&topic, existing);
            let same = wanted.iter().all(|(k, v)| {
                current
                    .get(k)
                    .is_some_and(|c| c == v || (k == "RawMessageDelivery" && c.eq_ignore_ascii_case(v)))
            });
            return if same {
                Ok(existing.id.clone())
            } else {
                Err(invalid(
                    "Invalid parameter: Attributes Reason: Subscription already exists with different attributes",
                ))
            };
        }
        let id = sub.id.clone();
        topics
            .subscribe(&topic, sub)
            .map_err(|e| invalid(format!("Invalid parameter: {e}")))?;
        Ok(id)
    })
        .map_err(AwsError::not_saved)??;
    tracing::info!(
        "topic {topic}: subscription {id} ({protocol} {endpoint}) made through the SNS API"
    );
    Ok(json!({ "SubscriptionArn": subscription_arn(&topic, &id) }))
}

/// Idempotent: a subscription (or topic) already gone is not an error, so teardown code
/// that deletes a topic and then unsubscribes works.
pub(super) fn unsubscribe(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let (topic, id) = subscription_parts(string(call, "SubscriptionArn")?)?;
    let removed = aws
        .triggers()
        .topics()
        .change_topics(|topics, _| topics.unsubscribe(topic, id))
        .map_err(AwsError::not_saved)?;
    if removed.is_some() {
        tracing::info!("topic {topic}: subscription {id} removed through the SNS API");
    }
    Ok(json!({}))
}

/// One row of ListSubscriptions(ByTopic).
fn row(topic: &str, sub: &SubscriptionConfig) -> Value {
    let (protocol, endpoint) = protocol_and_endpoint(&sub.target);
    json!({
        "SubscriptionArn": subscription_arn(topic, &sub.id),
        "Owner": ACCOUNT,
        "Protocol": protocol,
        "Endpoint": endpoint,
        "TopicArn": topic_arn(topic),
    })
}

/// Rows of every subscription of `only` (or of every topic), paged.
fn listing(aws: &Aws, call: &Call, only: Option<&str>) -> Result<Value, AwsError> {
    let rows: Vec<Value> = aws.triggers().topics().with_topics(|topics, _| {
        topics
            .names()
            .iter()
            .filter(|name| only.is_none_or(|o| o == name.as_str()))
            .filter_map(|name| topics.config(name))
            .flat_map(|config| config.subscriptions.iter().map(|s| row(&config.name, s)))
            .collect()
    });
    let key = |row: &Value| {
        row["SubscriptionArn"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let (rows, next) = page(rows, key, call.input["NextToken"].as_str())?;
    let mut out = json!({ "Subscriptions": rows });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

pub(super) fn list(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    listing(aws, call, None)
}

pub(super) fn list_by_topic(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let topic = existing_topic(aws, call)?;
    listing(aws, call, Some(&topic))
}

fn subscription_not_found() -> AwsError {
    not_found("Subscription does not exist")
}

pub(super) fn get_attributes(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let (topic, id) = subscription_parts(string(call, "SubscriptionArn")?)?;
    let attributes = aws.triggers().topics().with_topics(|topics, _| {
        let sub = topics
            .config(topic)?
            .subscriptions
            .iter()
            .find(|s| s.id == id)?;
        Some(attributes(topic, sub))
    });
    Ok(json!({ "Attributes": attributes.ok_or_else(subscription_not_found)? }))
}

pub(super) fn set_attributes(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let (topic, id) = subscription_parts(string(call, "SubscriptionArn")?)?;
    let name = string(call, "AttributeName")?;
    let value = call.input["AttributeValue"].as_str().unwrap_or_default();
    let fifo = aws
        .triggers()
        .topics()
        .with_topics(|t, _| t.config(topic).map(|c| c.fifo))
        .ok_or_else(subscription_not_found)?;
    let world = World::read(aws, fifo);
    aws.triggers()
        .topics()
        .change_topics(|topics, _| {
            let sub = topics
                .subscription_mut(topic, id)
                .ok_or_else(subscription_not_found)?;
            // Changed on a copy, so a refused value leaves the subscription as it was.
            let mut changed = sub.clone();
            apply(&mut changed, &world, name, value)?;
            *sub = changed;
            Ok(json!({}))
        })
        .map_err(AwsError::not_saved)?
}
