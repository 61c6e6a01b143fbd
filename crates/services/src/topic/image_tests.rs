//! Unit tests for the topics' durable catalog: a stored catalog rebuilds the API's
//! topics and subscriptions (filter policies compiled again) and is reconciled with the
//! manifest as a reload is.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};

use super::super::{
    AttributeValue, PublishRequest, RetryPolicy, SubTarget, SubscriptionConfig, TopicConfig, Topics,
};
use super::restore;

fn api_sub(id: &str, queue: &str) -> SubscriptionConfig {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "FilterPolicy".to_string(),
        r#"{"kind": ["keep"]}"#.to_string(),
    );
    SubscriptionConfig {
        from_api: true,
        attributes,
        ..SubscriptionConfig::new(id, SubTarget::Queue(queue.into()))
    }
}

fn manifest() -> Vec<TopicConfig> {
    vec![TopicConfig {
        subscriptions: vec![SubscriptionConfig::new("m", SubTarget::Queue("m".into()))],
        ..TopicConfig::new("declared")
    }]
}

#[test]
fn api_topics_and_subscriptions_come_back_reconciled_with_the_manifest() {
    let mut before = Topics::new(manifest()).unwrap();
    before
        .create(TopicConfig {
            from_api: true,
            ..TopicConfig::new("api")
        })
        .unwrap();
    before.subscribe("api", api_sub("a", "qa")).unwrap();
    before.subscribe("declared", api_sub("b", "qb")).unwrap();
    let catalog = before.catalog();

    let mut after = restore(&catalog, manifest(), RetryPolicy::default()).unwrap();
    assert_eq!(after.catalog(), catalog, "nothing lost or added");
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut keep = PublishRequest::new("x");
    keep.attributes
        .insert("kind".into(), AttributeValue::string("keep"));
    let sent = after.publish("api", keep, now).unwrap();
    assert_eq!(sent.queue_sends.len(), 1);
    let dropped = after.publish("api", PublishRequest::new("y"), now).unwrap();
    assert_eq!(
        dropped.filtered,
        ["a"],
        "the filter policy was compiled again"
    );

    // The manifest no longer declares `declared`: it goes with its API subscription.
    let after = restore(&catalog, Vec::new(), RetryPolicy::default()).unwrap();
    assert_eq!(after.names(), ["api"]);
}
