//! Typed calls for `/_sandbox/topics`: publish to a topic, read its subscriptions,
//! delivery counts and recent permanent failures.

use serde_json::Value;

use crate::Sandbox;

impl Sandbox {
    /// `POST /_sandbox/topics/{topic}/messages` with a plain message; answers the receipt
    /// (`messageId`, `sequenceNumber`, `duplicate`, `queues`, `functionDeliveries`, `filtered`).
    pub fn publish(&self, topic: &str, message: &str) -> anyhow::Result<Value> {
        self.publish_message(topic, &serde_json::json!({ "message": message }))
    }

    /// Publishes with every option: `{"message", "subject", "attributes", "groupId",
    /// "deduplicationId"}`.
    pub fn publish_message(&self, topic: &str, message: &Value) -> anyhow::Result<Value> {
        self.post_json(&format!("/_sandbox/topics/{topic}/messages"), message)?
            .ok_json()
    }

    /// `GET /_sandbox/topics`: every topic with its subscriptions and recent failures.
    pub fn topics(&self) -> anyhow::Result<Vec<Value>> {
        let body = self.get("/_sandbox/topics")?.ok_json()?;
        Ok(body["topics"].as_array().cloned().unwrap_or_default())
    }

    /// One topic's entry from [`Sandbox::topics`].
    pub fn topic(&self, name: &str) -> anyhow::Result<Value> {
        self.get(&format!("/_sandbox/topics/{name}"))?.ok_json()
    }
}
