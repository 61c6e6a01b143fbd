//! Putting events on the app's EventBridge buses from a handler, through `sandbox.call`
//! (see `host`), as `PutEvents` takes them:
//!
//! ```no_run
//! # fn main() -> Result<(), sandbox_sdk::Error> {
//! use sandbox_sdk::bus::{self, Entry};
//!
//! let detail = sandbox_sdk::serde_json::json!({"orderId": 7});
//! let result = bus::put_events(&[Entry::new("shop", "OrderPlaced", &detail).bus("orders")])?;
//! assert_eq!(result.failed_entry_count, 0);
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::Error;

/// One `PutEvents` entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Entry {
    source: String,
    detail_type: String,
    /// JSON text of an object.
    detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<String>,
    /// RFC 3339; the time of the call when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    /// `default` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    event_bus_name: Option<String>,
}

impl Entry {
    /// An entry with a JSON `detail` (serialized for you).
    pub fn new(
        source: impl Into<String>,
        detail_type: impl Into<String>,
        detail: &serde_json::Value,
    ) -> Self {
        Entry::with_detail_text(source, detail_type, detail.to_string())
    }

    /// An entry whose `Detail` is already JSON text.
    pub fn with_detail_text(
        source: impl Into<String>,
        detail_type: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Entry {
            source: source.into(),
            detail_type: detail_type.into(),
            detail: detail.into(),
            resources: Vec::new(),
            time: None,
            event_bus_name: None,
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
        self.time = Some(time.into());
        self
    }
}

/// One result entry: an `event_id`, or an error code and message.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultEntry {
    pub event_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// What `PutEvents` answers: one entry per request entry, in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventsResult {
    pub failed_entry_count: u32,
    pub entries: Vec<ResultEntry>,
}

/// `PutEvents`: up to 10 entries; refused entries are reported per entry, not as an error.
pub fn put_events(entries: &[Entry]) -> Result<PutEventsResult, Error> {
    #[derive(Serialize)]
    struct PutEvents<'a> {
        entries: &'a [Entry],
    }
    crate::host::call("bus", "put_events", &PutEvents { entries })
}
