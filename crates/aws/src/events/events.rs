//! `PutEvents` (through the bus driver, as the control API and handlers put events) and
//! `TestEventPattern` (the same compiled patterns rules use).

use serde_json::{json, Value};

use sandbox_services::bus::PutEntry;

use super::{pattern, read_time, string, validation};
use crate::protocol::Call;
use crate::{Aws, AwsError};

/// The fields `TestEventPattern` requires of its event, as EventBridge does.
const REQUIRED_EVENT_FIELDS: [&str; 7] = [
    "id",
    "account",
    "source",
    "time",
    "region",
    "resources",
    "detail-type",
];

fn entry(index: usize, value: &Value) -> Result<PutEntry, AwsError> {
    let text = |name: &str| value[name].as_str().map(str::to_string);
    let time = read_time(&value["Time"])
        .map_err(|_| validation(format!("Parameter Entries[{index}].Time is not valid.")))?;
    Ok(PutEntry {
        source: text("Source"),
        detail_type: text("DetailType"),
        detail: text("Detail"),
        resources: value["Resources"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        time,
        event_bus_name: text("EventBusName"),
    })
}

pub(super) fn put(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let entries = call.input["Entries"]
        .as_array()
        .map(|e| e.iter().enumerate().map(|(i, v)| entry(i, v)).collect())
        .transpose()?
        .unwrap_or_default();
    let triggers = aws.triggers();
    let result = triggers
        .buses()
        .put_events(triggers.topics(), entries)
        .map_err(|e| validation(e.message))?;
    serde_json::to_value(result).map_err(|e| AwsError::internal(e.to_string()))
}

pub(super) fn test_pattern(call: &Call) -> Result<Value, AwsError> {
    let compiled = pattern(string(call, "EventPattern")?)?;
    let event: Value = serde_json::from_str(string(call, "Event")?)
        .map_err(|e| validation(format!("Parameter Event is not valid. ({e})")))?;
    if let Some(missing) = REQUIRED_EVENT_FIELDS
        .iter()
        .find(|f| event.get(**f).is_none())
    {
        return Err(validation(format!(
            "Parameter Event is not valid. (The event has no `{missing}` field.)"
        )));
    }
    Ok(json!({ "Result": compiled.matches(&event) }))
}
