//! One `PutEvents` entry: its per-entry validation and the EventBridge event it becomes.
//!
//! The event is kept twice: as JSON text with the keys in AWS's order (`version`, `id`,
//! `detail-type`, `source`, `account`, `time`, `region`, `resources`, `detail`) and the
//! user's `detail` exactly as written (minus insignificant whitespace), which is what a
//! target receiving the whole event gets; and as a parsed value for pattern matching and
//! input paths (`serde_json` here does not preserve key order, so the text is not rebuilt
//! from the value).
//!
//! Per-entry errors use the codes and messages EventBridge returns (`InvalidArgument`,
//! `MalformedDetail`). For an unknown bus the sandbox fails the entry with
//! `ResourceNotFoundException` and lists the buses, where AWS silently accepts and drops
//! the event (aws/aws-sdk#186, aws/aws-cli#9186): a sandbox that "succeeds" there hides a
//! typo.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use sandbox_ops::aws::{ACCOUNT, REGION};

/// Most entries one `PutEvents` call may carry.
pub const MAX_ENTRIES: usize = 10;
/// Largest total entry size of one `PutEvents` call, as EventBridge computes it.
pub const MAX_REQUEST_BYTES: usize = 262_144;

/// One entry of a `PutEvents` call. `None` and `""` both count as missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutEntry {
    pub source: Option<String>,
    pub detail_type: Option<String>,
    /// JSON text; must be an object.
    pub detail: Option<String>,
    pub resources: Vec<String>,
    /// The event's `time`; the time of the call when absent.
    pub time: Option<DateTime<Utc>>,
    /// Bus name or ARN; `default` when absent.
    pub event_bus_name: Option<String>,
}

impl PutEntry {
    pub fn new(source: &str, detail_type: &str, detail: &str) -> Self {
        PutEntry {
            source: Some(source.to_string()),
            detail_type: Some(detail_type.to_string()),
            detail: Some(detail.to_string()),
            ..PutEntry::default()
        }
    }

    /// The entry size EventBridge counts against the request limit: 14 bytes for `Time`
    /// when given, plus the UTF-8 bytes of `Source`, `DetailType`, `Detail` and each
    /// resource (EventBridge user guide, "Calculating PutEvents event entry size").
    pub fn size(&self) -> usize {
        let text = |s: &Option<String>| s.as_deref().map_or(0, str::len);
        self.time.map_or(0, |_| 14)
            + text(&self.source)
            + text(&self.detail_type)
            + text(&self.detail)
            + self.resources.iter().map(String::len).sum::<usize>()
    }

    /// The bus name this entry is for: the last part of an ARN, `default` when absent.
    pub fn bus_name(&self) -> &str {
        match self.event_bus_name.as_deref() {
            None | Some("") => "default",
            Some(name) => name.rsplit_once(":event-bus/").map_or(name, |(_, n)| n),
        }
    }
}

/// Why one entry was refused, with EventBridge's error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    pub code: &'static str,
    pub message: String,
}

fn required(field: &str) -> EntryError {
    EntryError {
        code: "InvalidArgument",
        message: format!("Parameter {field} is not valid. Reason: {field} is a required argument."),
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

/// An accepted event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub time: DateTime<Utc>,
    /// The envelope as delivered, keys in AWS order.
    pub text: String,
    /// The same envelope parsed, for matching and input paths.
    pub value: Value,
}

#[derive(Serialize)]
struct Head<'a> {
    version: &'static str,
    id: &'a str,
    #[serde(rename = "detail-type")]
    detail_type: &'a str,
    source: &'a str,
    account: &'static str,
    time: String,
    region: &'static str,
    resources: &'a [String],
}

/// `2026-01-01T00:00:00Z`: EventBridge event times have whole seconds.
pub fn event_time(t: DateTime<Utc>) -> String {
    crate::rfc3339_seconds(t)
}

impl Event {
    /// Validates `entry` (everything but the bus) and builds its event.
    pub fn from_entry(entry: &PutEntry, now: DateTime<Utc>) -> Result<Event, EntryError> {
        let source = present(&entry.source).ok_or_else(|| required("Source"))?;
        let detail_type = present(&entry.detail_type).ok_or_else(|| required("DetailType"))?;
        let detail_text = present(&entry.detail).ok_or_else(|| required("Detail"))?;
        let detail: Value = match serde_json::from_str(detail_text) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return Err(EntryError {
                    code: "MalformedDetail",
                    message: "Detail is malformed. (Detail must be a JSON object.)".into(),
                })
            }
            Err(e) => {
                return Err(EntryError {
                    code: "MalformedDetail",
                    message: format!("Detail is malformed. ({e})"),
                })
            }
        };
        let id = uuid::Uuid::new_v4().to_string();
        let time = entry.time.unwrap_or(now);
        let head = Head {
            version: "0",
            id: &id,
            detail_type,
            source,
            account: ACCOUNT,
            time: event_time(time),
            region: REGION,
            resources: &entry.resources,
        };
        let mut value = serde_json::to_value(&head).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("detail".to_string(), detail);
        }
        let head_text = serde_json::to_string(&head).unwrap_or_default();
        let text = format!(
            "{},\"detail\":{}}}",
            head_text.strip_suffix('}').unwrap_or(&head_text),
            compact_json(detail_text)
        );
        Ok(Event {
            id,
            time,
            text,
            value,
        })
    }

    /// The event as a replay delivers it: the same, plus `"replay-name"` at the end.
    pub fn replayed(&self, replay: &str) -> Event {
        let mut value = self.value.clone();
        if let Value::Object(map) = &mut value {
            map.insert("replay-name".to_string(), Value::String(replay.to_string()));
        }
        let name = serde_json::to_string(replay).unwrap_or_default();
        let text = format!(
            "{},\"replay-name\":{name}}}",
            self.text.strip_suffix('}').unwrap_or(&self.text)
        );
        Event {
            value,
            text,
            ..self.clone()
        }
    }
}

/// Removes whitespace outside string literals from valid JSON, keeping key order.
fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_keeps_order_and_strings() {
        assert_eq!(
            compact_json("{ \"b\" : 1,\n \"a\": \"x y \\\" z\" }"),
            r#"{"b":1,"a":"x y \" z"}"#
        );
    }

    #[test]
    fn bus_name_from_arn() {
        let mut e = PutEntry::new("s", "t", "{}");
        assert_eq!(e.bus_name(), "default");
        e.event_bus_name = Some("arn:aws:events:us-east-1:123456789012:event-bus/orders".into());
        assert_eq!(e.bus_name(), "orders");
    }

    #[test]
    fn size_counts_like_eventbridge() {
        let mut e = PutEntry::new("src", "type", "{}");
        e.resources = vec!["r1".into()];
        assert_eq!(e.size(), 3 + 4 + 2 + 2);
        e.time = Some(Utc::now());
        assert_eq!(e.size(), 25);
    }
}
