//! Typed calls for `/_sandbox/buses`: put events, read rules and counts, archives and
//! replays.

use serde_json::{json, Value};

use crate::Sandbox;

impl Sandbox {
    /// `POST /_sandbox/buses/{bus}/events` with `PutEvents` entries (`Source`,
    /// `DetailType`, `Detail`, ...); answers `{"FailedEntryCount", "Entries"}`.
    pub fn put_events(&self, bus: &str, entries: &[Value]) -> anyhow::Result<Value> {
        self.post_json(
            &format!("/_sandbox/buses/{bus}/events"),
            &json!({ "entries": entries }),
        )?
        .ok_json()
    }

    /// Puts one event with `source`, `detail-type` and a JSON `detail`; answers its id.
    pub fn put_event(
        &self,
        bus: &str,
        source: &str,
        detail_type: &str,
        detail: &Value,
    ) -> anyhow::Result<String> {
        let result = self.put_events(
            bus,
            &[json!({"Source": source, "DetailType": detail_type, "Detail": detail.to_string()})],
        )?;
        match result["Entries"][0]["EventId"].as_str() {
            Some(id) => Ok(id.to_string()),
            None => anyhow::bail!("the event was refused: {result}"),
        }
    }

    /// `GET /_sandbox/buses`: every bus with its rules, archives, replays and failures.
    pub fn buses(&self) -> anyhow::Result<Vec<Value>> {
        let body = self.get("/_sandbox/buses")?.ok_json()?;
        Ok(body["buses"].as_array().cloned().unwrap_or_default())
    }

    /// One bus, as [`Sandbox::buses`] shows it.
    pub fn bus(&self, name: &str) -> anyhow::Result<Value> {
        self.get(&format!("/_sandbox/buses/{name}"))?.ok_json()
    }

    /// `GET /_sandbox/buses/{bus}/archives`: name, event count and size of each archive.
    pub fn archives(&self, bus: &str) -> anyhow::Result<Vec<Value>> {
        let body = self
            .get(&format!("/_sandbox/buses/{bus}/archives"))?
            .ok_json()?;
        Ok(body["archives"].as_array().cloned().unwrap_or_default())
    }

    /// The events an archive holds, oldest first.
    pub fn archived_events(&self, bus: &str, archive: &str) -> anyhow::Result<Vec<Value>> {
        let body = self
            .get(&format!("/_sandbox/buses/{bus}/archives/{archive}/events"))?
            .ok_json()?;
        Ok(body["events"].as_array().cloned().unwrap_or_default())
    }

    /// `POST /_sandbox/buses/{bus}/replays`: re-sends the archived events with a `time`
    /// in `[from, to)` to the bus's rules (or only `rules`); answers the replay.
    pub fn replay(
        &self,
        bus: &str,
        name: &str,
        archive: &str,
        from: &str,
        to: &str,
        rules: Option<&[&str]>,
    ) -> anyhow::Result<Value> {
        let mut body = json!({"name": name, "archive": archive, "from": from, "to": to});
        if let Some(rules) = rules {
            body["rules"] = json!(rules);
        }
        self.post_json(&format!("/_sandbox/buses/{bus}/replays"), &body)?
            .ok_json()
    }
}
