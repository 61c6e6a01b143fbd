//! The sandbox clock: `POST /_sandbox/clock` and its answer.

use serde::{Deserialize, Serialize};

/// `{"advance": "1h"}` or `{"set": "2030-01-01T00:00:00Z"}`.
/// Other fields are ignored, as they always were.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveClock {
    /// A duration such as `1h`, `1d12h` or `500ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance: Option<String>,
    /// An RFC 3339 time, never earlier than now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
}

/// What the clock reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockView {
    /// RFC 3339.
    pub now: String,
    /// `manual` or `system`.
    pub mode: String,
}
