//! Buses: `/_sandbox/buses/...` and handlers' `bus.PutEvents`.

use sandbox_ops::bus::{PutEvents, PutEventsEntry, StartReplay};
use sandbox_ops::control::{decode, decode_value, ControlError};
use sandbox_services::bus::{PutEntry, ReplayRequest};
use serde_json::{json, Value};

use crate::api::time;
use crate::control::{ok, Answer, Call};
use crate::Triggers;

const PUT_USAGE: &str =
    r#"send {"entries": [{"Source": "shop", "DetailType": "OrderPlaced", "Detail": "{}"}]}"#;
const REPLAY_USAGE: &str = r#"send {"name": "r1", "archive": "all", "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z", "rules"?: ["rule1"]}"#;

pub(crate) fn list(triggers: &Triggers, _: &Call) -> Answer {
    ok(json!({ "buses": triggers.buses().list() }))
}

pub(crate) fn get(triggers: &Triggers, call: &Call) -> Answer {
    ok(triggers.buses().get(call.param(0))?)
}

/// `PutEvents` on the bus in the path (entries without `EventBusName` go there).
pub(crate) fn put_events(triggers: &Triggers, call: &Call) -> Answer {
    let bus = call.param(0);
    triggers.buses().check_bus(bus)?;
    let body = serde_json::from_slice(call.body)
        .map_err(|e| ControlError::bad_request(format!("body is not JSON ({e}); {PUT_USAGE}")))?;
    let entries = entries(decode_entries(body, PUT_USAGE)?, bus)?;
    ok(triggers.buses().put_events(triggers.topics(), entries)?)
}

pub(crate) fn archives(triggers: &Triggers, call: &Call) -> Answer {
    ok(json!({ "archives": triggers.buses().archives(call.param(0))? }))
}

pub(crate) fn archived_events(triggers: &Triggers, call: &Call) -> Answer {
    let events = triggers
        .buses()
        .archived_events(call.param(0), call.param(1))?;
    ok(json!({ "events": events }))
}

pub(crate) fn start_replay(triggers: &Triggers, call: &Call) -> Answer {
    let bus = call.param(0);
    triggers.buses().check_bus(bus)?;
    let op: StartReplay = decode(call.body, REPLAY_USAGE)?;
    ok(triggers
        .buses()
        .replay(triggers.topics(), bus, replay(op)?)?)
}

pub(crate) fn describe_replay(triggers: &Triggers, call: &Call) -> Answer {
    ok(triggers.buses().replay_info(call.param(0), call.param(1))?)
}

/// `bus.PutEvents` from a handler; entries without a bus go to `default`.
pub(crate) fn host_put_events(
    triggers: &Triggers,
    _caller: &sandbox_app::Caller<'_>,
    request: Value,
) -> Result<Value, ControlError> {
    let entries = entries(decode_entries(request, "")?, "default")?;
    let result = triggers.buses().put_events(triggers.topics(), entries)?;
    serde_json::to_value(result).map_err(|e| ControlError::bad_request(e.to_string()))
}

/// `{"Entries": [...]}`, or the bare list of entries.
pub(crate) fn decode_entries(
    body: Value,
    usage: &str,
) -> Result<Vec<PutEventsEntry>, ControlError> {
    if body.is_array() {
        decode_value(body, usage)
    } else {
        decode_value::<PutEvents>(body, usage).map(|p| p.entries)
    }
}

/// The state machine's entries; a bad `Time` refuses the request, naming the entry.
pub(crate) fn entries(
    given: Vec<PutEventsEntry>,
    default_bus: &str,
) -> Result<Vec<PutEntry>, ControlError> {
    given
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let time = entry
                .time
                .as_ref()
                .map(|t| time(t, &format!("entries[{index}]: `Time`")))
                .transpose()?;
            Ok(PutEntry {
                source: entry.source,
                detail_type: entry.detail_type,
                detail: entry.detail,
                resources: entry.resources,
                time,
                event_bus_name: Some(
                    entry
                        .event_bus_name
                        .unwrap_or_else(|| default_bus.to_string()),
                ),
            })
        })
        .collect()
}

pub(crate) fn replay(op: StartReplay) -> Result<ReplayRequest, ControlError> {
    let at = |text: String, what: &str| {
        time(&sandbox_ops::text::TimeInput::Text(text), what)
            .map_err(|e| ControlError::bad_request(format!("{}; {REPLAY_USAGE}", e.message)))
    };
    Ok(ReplayRequest {
        name: op.replay_name,
        archive: sandbox_ops::aws::resource_name(&op.archive).to_string(),
        from: at(op.event_start_time, "`from`")?,
        to: at(op.event_end_time, "`to`")?,
        // Rules may be named by ARN (`FilterArns`).
        rules: op.rules.map(|rules| {
            rules
                .iter()
                .map(|r| r.rsplit('/').next().unwrap_or(r).to_string())
                .collect()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_take_the_default_bus_and_either_time() {
        let body = decode_entries(
            json!({"entries": [
                {"Source": "shop", "Time": "2030-01-01T00:00:00Z"},
                {"source": "shop", "eventBusName": "orders", "time": 1893456000},
            ]}),
            "",
        )
        .unwrap();
        let read = entries(body, "default").unwrap();
        assert_eq!(read[0].bus_name(), "default");
        assert_eq!(read[1].bus_name(), "orders");
        assert_eq!(read[0].time, read[1].time);
        let bad = decode_entries(json!({"entries": [{"Time": "yesterday"}]}), "").unwrap();
        assert_eq!(entries(bad, "default").unwrap_err().status, 400);
        assert_eq!(decode_entries(json!([{}]), "").unwrap().len(), 1);
        let unknown = decode_entries(json!({"entries": [{"Sauce": "x"}]}), "").unwrap_err();
        assert!(unknown.message.contains("Sauce"), "{}", unknown.message);
    }

    #[test]
    fn reads_replay_requests() {
        let op: StartReplay = decode_value(json!({"name": "r", "archive": "a", "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z", "rules": ["arn:aws:events:us-east-1:123456789012:rule/x"]}), "").unwrap();
        assert_eq!(replay(op).unwrap().rules, Some(vec!["x".to_string()]));
        let op: StartReplay = decode_value(
            json!({"name": "r", "archive": "a", "from": "x", "to": "y"}),
            "",
        )
        .unwrap();
        assert!(replay(op).is_err());
    }
}
