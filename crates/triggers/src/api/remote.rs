//! `GET /_sandbox/remote`: every `remote` entry of the manifest (queue, topic, bus,
//! stream), connected or still connecting with the last error, and the messages it has in
//! flight. The answer comes from the registered [`Remote`](crate::remote::Remote); a
//! sandbox without one has none.

use serde_json::json;

use crate::control::{ok, Answer, Call};
use crate::Triggers;

pub(crate) fn list(triggers: &Triggers, _: &Call) -> Answer {
    ok(triggers
        .remote()
        .map(|remote| remote.overview())
        .unwrap_or_else(|| json!({ "remote": [], "readOnly": false })))
}
