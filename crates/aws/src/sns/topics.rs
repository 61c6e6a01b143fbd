//! SNS topics: CreateTopic (idempotent; FIFO name and attribute rules), DeleteTopic
//! (idempotent), ListTopics (pages of 100) and Get/SetTopicAttributes.
//!
//! Attributes the sandbox does not act on (`DisplayName`, `Policy`, `DeliveryPolicy`,
//! delivery-status logging, KMS, tracing, …) are validated lightly, stored and answered
//! back, so infrastructure code that sets them works unchanged.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use sandbox_ops::aws::{topic_arn, ACCOUNT};
use sandbox_services::topic::{ConfigError, TopicConfig};

use super::{default_policy, existing_topic, invalid, page, string, topic_name, topic_not_found};
use crate::protocol::Call;
use crate::{Aws, AwsError};

/// SNS's delivery policy when none is set (`EffectiveDeliveryPolicy`).
const DEFAULT_DELIVERY_POLICY: &str = r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}"#;

/// Attributes stored as given, beside `FifoTopic` and `ContentBasedDeduplication`.
const STORED: [&str; 9] = [
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "TracingConfig",
    "KmsMasterKeyId",
    "SignatureVersion",
    "ArchivePolicy",
    "FifoThroughputScope",
    "DataProtectionPolicy",
];

/// Whether SNS knows a settable topic attribute of this name.
fn stored(name: &str) -> bool {
    STORED.contains(&name)
        || name.ends_with("FeedbackRoleArn")
        || name.ends_with("FeedbackSampleRate")
}

fn boolean(name: &str, value: &str) -> Result<bool, AwsError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(format!(
            "Invalid parameter: Attributes Reason: {name}: Invalid value [{value}]. Must be true or false."
        ))),
    }
}

/// Checks one stored attribute's value.
fn check_stored(name: &str, value: &str) -> Result<(), AwsError> {
    let json_valued = matches!(
        name,
        "Policy" | "DeliveryPolicy" | "ArchivePolicy" | "DataProtectionPolicy"
    );
    if json_valued && !value.is_empty() && serde_json::from_str::<Value>(value).is_err() {
        return Err(invalid(format!(
            "Invalid parameter: Attributes Reason: {name}: the value is not valid JSON"
        )));
    }
    if name == "TracingConfig" && !matches!(value, "PassThrough" | "Active") {
        return Err(invalid(format!(
            "Invalid parameter: Attributes Reason: TracingConfig: Invalid value [{value}]. Must be PassThrough or Active."
        )));
    }
    if name == "SignatureVersion" && !matches!(value, "1" | "2") {
        return Err(invalid(format!(
            "Invalid parameter: Attributes Reason: SignatureVersion: Invalid value [{value}]. Must be 1 or 2."
        )));
    }
    Ok(())
}

/// Whether `name` is a valid topic name (`fifo`: with its `.fifo` suffix).
fn valid_name(name: &str, fifo: bool) -> bool {
    let base = if fifo {
        match name.strip_suffix(".fifo") {
            Some(base) => base,
            None => return false,
        }
    } else {
        name
    };
    !base.is_empty()
        && name.len() <= 256
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The topic a `CreateTopic` asks for, checked.
fn requested(name: &str, attributes: &Map<String, Value>) -> Result<TopicConfig, AwsError> {
    let mut config = TopicConfig::new(name);
    config.from_api = true;
    for (key, value) in attributes {
        let value = value.as_str().unwrap_or_default();
        match key.as_str() {
            "FifoTopic" => config.fifo = boolean(key, value)?,
            "ContentBasedDeduplication" => {
                config.content_based_deduplication = boolean(key, value)?
            }
            other if stored(other) => {
                check_stored(other, value)?;
                config
                    .attributes
                    .insert(other.to_string(), value.to_string());
            }
            other => {
                return Err(invalid(format!(
                    "Invalid parameter: Attributes Reason: Unknown attribute: {other}"
                )))
            }
        }
    }
    if config.fifo && !valid_name(name, true) {
        return Err(invalid(
            "Invalid parameter: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
        ));
    }
    if !config.fifo && !valid_name(name, false) {
        let why = if name.ends_with(".fifo") {
            " (a name ending in .fifo needs the attribute FifoTopic=true)"
        } else {
            ": Topic names must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long."
        };
        return Err(invalid(format!("Invalid parameter: Topic Name{why}")));
    }
    if config.content_based_deduplication && !config.fifo {
        return Err(invalid(
            "Invalid parameter: Attributes Reason: ContentBasedDeduplication can only be set for FIFO topics",
        ));
    }
    Ok(config)
}

/// Whether an existing topic already has every attribute a repeated `CreateTopic` names.
fn same_attributes(existing: &TopicConfig, attributes: &Map<String, Value>) -> bool {
    attributes.iter().all(|(key, value)| {
        let value = value.as_str().unwrap_or_default();
        match key.as_str() {
            "FifoTopic" => value.eq_ignore_ascii_case(&existing.fifo.to_string()),
            "ContentBasedDeduplication" => {
                value.eq_ignore_ascii_case(&existing.content_based_deduplication.to_string())
            }
            other => existing.attributes.get(other).map(String::as_str) == Some(value),
        }
    })
}

pub(super) fn create(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = string(call, "Name")?;
    let attributes = call.input["Attributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut config = requested(name, &attributes)?;
    config.tags = super::tags::for_create(call)?;
    // A manifest topic deleted through the API comes back with the manifest's
    // subscriptions (its handler, its queues), as the manifest's own topic.
    if let Some(declared) = aws.triggers().topics().declared(name) {
        config.subscriptions = declared.subscriptions;
        config.from_api = false;
    }
    aws.triggers().topics().change_topics(|topics, _| {
        if let Some(existing) = topics.config(name) {
            if !same_attributes(existing, &attributes) {
                return Err(invalid(
                    "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
                ));
            }
            if !config.tags.is_empty() && config.tags != existing.tags {
                return Err(invalid(
                    "Invalid parameter: Tags Reason: Topic already exists with different tags",
                ));
            }
            return Ok(());
        }
        topics.create(config).map_err(|e| match e {
            ConfigError::DuplicateTopic(_) => invalid("Invalid parameter: Topic already exists"),
            other => invalid(format!("Invalid parameter: {other}")),
        })
    })
        .map_err(AwsError::not_saved)??;
    Ok(json!({ "TopicArn": topic_arn(name) }))
}

/// Idempotent, as on AWS: deleting a topic that does not exist is not an error.
pub(super) fn delete(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = topic_name(string(call, "TopicArn")?)?.to_string();
    let removed = aws
        .triggers()
        .topics()
        .change_topics(|topics, _| topics.delete(&name))
        .map_err(AwsError::not_saved)?;
    if let Some(config) = removed {
        tracing::info!(
            "topic {name} deleted through the SNS API, with {} subscription(s)",
            config.subscriptions.len()
        );
    }
    Ok(json!({}))
}

pub(super) fn list(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let names = aws
        .triggers()
        .topics()
        .with_topics(|topics, _| topics.names());
    let (names, next) = page(names, Clone::clone, call.input["NextToken"].as_str())?;
    let topics: Vec<Value> = names
        .iter()
        .map(|n| json!({ "TopicArn": topic_arn(n) }))
        .collect();
    let mut out = json!({ "Topics": topics });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

pub(super) fn get_attributes(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = topic_name(string(call, "TopicArn")?)?.to_string();
    let attributes = aws.triggers().topics().with_topics(|topics, _| {
        let config = topics.config(&name)?;
        Some(attributes(config, topics.unsubscribed(&name)))
    });
    let attributes = attributes.ok_or_else(topic_not_found)?;
    Ok(json!({ "Attributes": attributes }))
}

/// Everything `GetTopicAttributes` answers for a topic.
fn attributes(config: &TopicConfig, unsubscribed: u64) -> BTreeMap<String, String> {
    let mut out = config.attributes.clone();
    let name = &config.name;
    out.insert("TopicArn".into(), topic_arn(name));
    out.insert("Owner".into(), ACCOUNT.into());
    out.entry("Policy".into())
        .or_insert_with(|| default_policy(name));
    out.entry("DisplayName".into()).or_default();
    out.insert(
        "SubscriptionsConfirmed".into(),
        config.subscriptions.len().to_string(),
    );
    out.insert("SubscriptionsPending".into(), "0".into());
    out.insert("SubscriptionsDeleted".into(), unsubscribed.to_string());
    let effective = config
        .attributes
        .get("DeliveryPolicy")
        .filter(|p| !p.is_empty())
        .cloned()
        .unwrap_or_else(|| DEFAULT_DELIVERY_POLICY.to_string());
    out.insert("EffectiveDeliveryPolicy".into(), effective);
    if config.fifo {
        out.insert("FifoTopic".into(), "true".into());
        out.insert(
            "ContentBasedDeduplication".into(),
            config.content_based_deduplication.to_string(),
        );
    }
    out
}

pub(super) fn set_attributes(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = existing_topic(aws, call)?;
    let key = string(call, "AttributeName")?.to_string();
    let value = call.input["AttributeValue"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    aws.triggers().topics().change_topics(|topics, _| {
        let config = topics.config_mut(&name).ok_or_else(topic_not_found)?;
        match key.as_str() {
            "ContentBasedDeduplication" if config.fifo => {
                config.content_based_deduplication = boolean(&key, &value)?;
            }
            "ContentBasedDeduplication" => {
                return Err(invalid(
                    "Invalid parameter: ContentBasedDeduplication can only be set for FIFO topics",
                ))
            }
            "FifoTopic" => {
                return Err(invalid(
                    "Invalid parameter: AttributeName Reason: FifoTopic cannot be changed after the topic is created",
                ))
            }
            other if stored(other) => {
                check_stored(other, &value)?;
                config.attributes.insert(key.clone(), value.clone());
            }
            _ => return Err(invalid("Invalid parameter: AttributeName")),
        }
        Ok(())
    })
        .map_err(AwsError::not_saved)??;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_sns_rules() {
        assert!(valid_name("orders", false));
        assert!(valid_name("a-b_C9", false));
        assert!(!valid_name("", false));
        assert!(!valid_name("has space", false));
        assert!(!valid_name("jobs.fifo", false));
        assert!(valid_name("jobs.fifo", true));
        assert!(!valid_name("jobs", true));
        assert!(!valid_name(".fifo", true));
        assert!(!valid_name(&"a".repeat(257), false));
    }

    #[test]
    fn create_checks_fifo_attributes() {
        let attrs = |pairs: &[(&str, &str)]| -> Map<String, Value> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect()
        };
        let fifo = requested("j.fifo", &attrs(&[("FifoTopic", "true")])).unwrap();
        assert!(fifo.fifo && fifo.from_api);
        assert!(requested("j", &attrs(&[("FifoTopic", "true")])).is_err());
        assert!(requested("j.fifo", &attrs(&[])).is_err());
        assert!(requested("j", &attrs(&[("ContentBasedDeduplication", "true")])).is_err());
        assert!(requested("j", &attrs(&[("Nope", "1")])).is_err());
        assert!(requested("j", &attrs(&[("Policy", "{")])).is_err());
        let named = requested("j", &attrs(&[("DisplayName", "Jobs")])).unwrap();
        assert!(same_attributes(&named, &attrs(&[("DisplayName", "Jobs")])));
        assert!(!same_attributes(
            &named,
            &attrs(&[("DisplayName", "Other")])
        ));
        assert!(!same_attributes(&named, &attrs(&[("FifoTopic", "true")])));
    }
}
