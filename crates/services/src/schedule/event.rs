//! The event a scheduled rule sends its target: EventBridge's "Scheduled Event".
//!
//! Key order follows AWS's own sample. JSON objects are unordered, so a handler cannot
//! tell, but people compare invocation logs against the AWS docs, so the exact text
//! matters too. `serde_json` here does not preserve map order (and enabling its
//! `preserve_order` feature would change map order for every crate in the workspace,
//! since Cargo unifies features), so the event is a struct — structs serialize their
//! fields in declaration order — and [`scheduled_event_json`] gives the exact text.
//! [`scheduled_event`] returns the same content as a `Value` for callers that want one.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The EventBridge scheduled event, fields in AWS's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledEvent {
    pub version: &'static str,
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: &'static str,
    pub source: &'static str,
    pub account: String,
    /// Seconds precision, `Z` suffix: `2015-10-08T16:53:06Z`.
    pub time: String,
    pub region: String,
    pub resources: Vec<String>,
    pub detail: serde_json::Map<String, serde_json::Value>,
}

impl ScheduledEvent {
    pub fn new(
        schedule: &str,
        time: DateTime<Utc>,
        id: &str,
        region: &str,
        account: &str,
    ) -> ScheduledEvent {
        ScheduledEvent {
            version: "0",
            id: id.to_string(),
            detail_type: "Scheduled Event",
            source: "aws.events",
            account: account.to_string(),
            time: crate::rfc3339_seconds(time),
            region: region.to_string(),
            resources: vec![format!("arn:aws:events:{region}:{account}:rule/{schedule}")],
            detail: serde_json::Map::new(),
        }
    }
}

/// The scheduled event as a JSON value (key order is serde_json's, i.e. sorted).
pub fn scheduled_event(
    schedule: &str,
    time: DateTime<Utc>,
    id: &str,
    region: &str,
    account: &str,
) -> serde_json::Value {
    let event = ScheduledEvent::new(schedule, time, id, region, account);
    // Serializing plain strings into a Value cannot fail; Null keeps this total.
    serde_json::to_value(event).unwrap_or(serde_json::Value::Null)
}

/// The scheduled event as JSON text, keys in AWS's order.
pub fn scheduled_event_json(
    schedule: &str,
    time: DateTime<Utc>,
    id: &str,
    region: &str,
    account: &str,
) -> String {
    let event = ScheduledEvent::new(schedule, time, id, region, account);
    serde_json::to_string(&event).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn time() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 10, 8, 16, 53, 6).unwrap() + chrono::TimeDelta::milliseconds(789)
    }

    #[test]
    fn matches_the_aws_sample_text() {
        let json = scheduled_event_json(
            "my-scheduled-rule",
            time(),
            "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "us-east-1",
            "123456789012",
        );
        assert_eq!(
            json,
            r#"{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2015-10-08T16:53:06Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],"detail":{}}"#
        );
    }

    #[test]
    fn value_has_the_same_content() {
        let value = scheduled_event("nightly", time(), "id-1", "eu-west-1", "000000000000");
        assert_eq!(
            value,
            serde_json::json!({
                "version": "0",
                "id": "id-1",
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "000000000000",
                "time": "2015-10-08T16:53:06Z",
                "region": "eu-west-1",
                "resources": ["arn:aws:events:eu-west-1:000000000000:rule/nightly"],
                "detail": {}
            })
        );
        let text = scheduled_event_json("nightly", time(), "id-1", "eu-west-1", "000000000000");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }
}
