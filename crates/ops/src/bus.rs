//! Bus operations: `PutEvents`, `StartReplay`, and their answers.

use serde::{Deserialize, Serialize};

use crate::text::{opt_text_or_object, TimeInput};

/// `PutEvents`: `{"Entries": [...]}` (the control API also takes `entries`, or the bare
/// list of entries).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEvents {
    #[serde(alias = "entries")]
    pub entries: Vec<PutEventsEntry>,
}

/// One `PutEventsRequestEntry`. Missing fields are `PutEvents`' per-entry errors, not a
/// refused request, so every field is optional here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PutEventsEntry {
    #[serde(default, alias = "source", skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(
        default,
        alias = "detailType",
        alias = "detail-type",
        skip_serializing_if = "Option::is_none"
    )]
    pub detail_type: Option<String>,
    /// JSON text of an object (an object is taken as its text).
    #[serde(
        default,
        alias = "detail",
        deserialize_with = "opt_text_or_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub detail: Option<String>,
    #[serde(
        default,
        alias = "resources",
        deserialize_with = "crate::text::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<String>,
    /// RFC 3339 or epoch seconds; the time of the call when absent.
    #[serde(default, alias = "time", skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeInput>,
    /// A bus name or ARN; `default` (or the bus in the control API's path) when absent.
    #[serde(
        default,
        alias = "eventBusName",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_bus_name: Option<String>,
    #[serde(
        default,
        alias = "traceHeader",
        skip_serializing_if = "Option::is_none"
    )]
    pub trace_header: Option<String>,
}

impl PutEventsEntry {
    /// An entry with a JSON `detail` (serialized for you).
    pub fn new(
        source: impl Into<String>,
        detail_type: impl Into<String>,
        detail: &serde_json::Value,
    ) -> Self {
        PutEventsEntry::with_detail_text(source, detail_type, detail.to_string())
    }

    /// An entry whose `Detail` is already JSON text.
    pub fn with_detail_text(
        source: impl Into<String>,
        detail_type: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        PutEventsEntry {
            source: Some(source.into()),
            detail_type: Some(detail_type.into()),
            detail: Some(detail.into()),
            ..PutEventsEntry::default()
        }
    }

    /// The bus (name or ARN); `default` otherwise.
    pub fn bus(mut self, name: impl Into<String>) -> Self {
        self.event_bus_name = Some(name.into());
        self
    }

    /// `Resources` (ARNs the event concerns).
    pub fn resource(mut self, arn: impl Into<String>) -> Self {
        self.resources.push(arn.into());
        self
    }

    /// `Time`, RFC 3339.
    pub fn time(mut self, time: impl Into<String>) -> Self {
        self.time = Some(TimeInput::Text(time.into()));
        self
    }
}

/// What `PutEvents` answers: one entry per request entry, in order (AWS's casing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventsResult {
    pub failed_entry_count: u32,
    pub entries: Vec<PutEventsResultEntry>,
}

/// One result entry: an `EventId`, or an error code and message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventsResultEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// `StartReplay`: re-send an archive's events whose time is in `[EventStartTime,
/// EventEndTime)` to the bus's rules (all enabled ones, or `Rules`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StartReplay {
    #[serde(alias = "name")]
    pub replay_name: String,
    /// The archive's name (or ARN).
    #[serde(alias = "archive", alias = "EventSourceArn")]
    pub archive: String,
    /// RFC 3339, inclusive.
    #[serde(alias = "from")]
    pub event_start_time: String,
    /// RFC 3339, exclusive.
    #[serde(alias = "to")]
    pub event_end_time: String,
    /// Rule names or ARNs (`Destination.FilterArns`).
    #[serde(default, alias = "rules", skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_put_events_entries_in_either_case() {
        let body: PutEvents = serde_json::from_value(json!({"entries": [
            {"Source": "shop", "DetailType": "Order", "Detail": "{\"a\":1}", "Resources": ["r"], "Time": "2030-01-01T00:00:00Z"},
            {"source": "shop", "detail-type": "Order", "detail": {"b": 2}, "eventBusName": "orders", "time": 1893456000},
        ]}))
        .unwrap();
        let entries = body.entries;
        assert_eq!(entries[0].source.as_deref(), Some("shop"));
        assert_eq!(entries[0].detail.as_deref(), Some("{\"a\":1}"));
        assert_eq!(entries[1].detail.as_deref(), Some("{\"b\":2}"));
        assert_eq!(entries[1].event_bus_name.as_deref(), Some("orders"));
        assert_eq!(entries[1].time, Some(TimeInput::EpochSeconds(1893456000.0)));
    }

    #[test]
    fn refuses_malformed_entries() {
        for bad in [
            json!({}),
            json!({"entries": "x"}),
            json!({"entries": [1]}),
            json!({"entries": [{"Sauce": "x"}]}),
            json!({"entries": [{"Source": 1}]}),
            json!({"entries": [{"Resources": "r"}]}),
        ] {
            assert!(
                serde_json::from_value::<PutEvents>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_replay_requests() {
        let r: StartReplay = serde_json::from_value(json!({"name": "r", "archive": "a", "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z", "rules": ["x"]})).unwrap();
        assert_eq!(r.rules, Some(vec!["x".to_string()]));
        assert!(serde_json::from_value::<StartReplay>(json!({"name": "r"})).is_err());
    }
}
