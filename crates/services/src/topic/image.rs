//! The topics' durable catalog (`--state`): every topic with its settings, API
//! attributes, tags and subscriptions, so topics and subscriptions made through the SNS
//! API survive a restart or a `kill -9`.
//!
//! The catalog is small and is written whole when it differs from the last one written
//! (as the queues' is). At start [`restore`] rebuilds the stored topics and reconciles
//! them with the manifest through [`Topics::replace_configs`], the call a reload makes:
//! the API's topics and subscriptions stay, the manifest's are rebuilt from it. Filter
//! policies are stored as SNS's attributes hold them (text and scope) and compiled again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FilterPolicy, RetryPolicy, Scope, SubTarget, SubscriptionConfig, TopicConfig, Topics};

/// One topic as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTopic {
    pub fifo: bool,
    pub content_based_deduplication: bool,
    pub from_api: bool,
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub subscriptions: Vec<StoredSubscription>,
}

/// One subscription as stored; its filter policy is in `attributes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSubscription {
    pub id: String,
    pub target: SubTarget,
    pub raw_message_delivery: bool,
    pub dead_letter_queue: Option<String>,
    pub from_api: bool,
    pub attributes: BTreeMap<String, String>,
}

impl Topics {
    /// Every topic as the catalog stores it.
    pub fn catalog(&self) -> BTreeMap<String, StoredTopic> {
        self.names()
            .into_iter()
            .filter_map(|name| {
                let c = self.config(&name)?;
                let stored = StoredTopic {
                    fifo: c.fifo,
                    content_based_deduplication: c.content_based_deduplication,
                    from_api: c.from_api,
                    attributes: c.attributes.clone(),
                    tags: c.tags.clone(),
                    subscriptions: c
                        .subscriptions
                        .iter()
                        .map(|s| StoredSubscription {
                            id: s.id.clone(),
                            target: s.target.clone(),
                            raw_message_delivery: s.raw_message_delivery,
                            dead_letter_queue: s.dead_letter_queue.clone(),
                            from_api: s.from_api,
                            attributes: s.attributes.clone(),
                        })
                        .collect(),
                };
                Some((name, stored))
            })
            .collect()
    }
}

fn filter_policy(topic: &str, s: &StoredSubscription) -> Result<Option<FilterPolicy>, String> {
    let Some(text) = s.attributes.get("FilterPolicy") else {
        return Ok(None);
    };
    let scope = match s.attributes.get("FilterPolicyScope").map(String::as_str) {
        Some("MessageBody") => Scope::MessageBody,
        _ => Scope::MessageAttributes,
    };
    let located = |e: String| format!("stored subscription {topic}/{}: filter policy: {e}", s.id);
    let value: Value = serde_json::from_str(text).map_err(|e| located(e.to_string()))?;
    FilterPolicy::compile(&value, scope)
        .map(Some)
        .map_err(|e| located(e.to_string()))
}

/// Topics as `catalog` left them, reconciled with the manifest's `configs` as a reload
/// would.
pub fn restore(
    catalog: &BTreeMap<String, StoredTopic>,
    configs: Vec<TopicConfig>,
    policy: RetryPolicy,
) -> Result<Topics, String> {
    let mut stored = Vec::new();
    for (name, t) in catalog {
        let mut subscriptions = Vec::new();
        for s in &t.subscriptions {
            subscriptions.push(SubscriptionConfig {
                filter_policy: filter_policy(name, s)?,
                raw_message_delivery: s.raw_message_delivery,
                dead_letter_queue: s.dead_letter_queue.clone(),
                from_api: s.from_api,
                attributes: s.attributes.clone(),
                ..SubscriptionConfig::new(s.id.clone(), s.target.clone())
            });
        }
        stored.push(TopicConfig {
            fifo: t.fifo,
            content_based_deduplication: t.content_based_deduplication,
            subscriptions,
            from_api: t.from_api,
            attributes: t.attributes.clone(),
            tags: t.tags.clone(),
            ..TopicConfig::new(name.clone())
        });
    }
    let mut topics = Topics::with_retry_policy(stored, policy).map_err(|e| e.to_string())?;
    topics.replace_configs(configs).map_err(|e| e.to_string())?;
    Ok(topics)
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
