//! Alarms and metrics: `GET /_sandbox/alarms` (every alarm's state, reason and since
//! when) and `GET /_sandbox/metrics` (the Prometheus text).

use serde_json::json;

use crate::control::{ok, Answer, Call};
use crate::Triggers;

pub(crate) fn list(triggers: &Triggers, _: &Call) -> Answer {
    ok(json!({ "alarms": triggers.alarms().list() }))
}

pub(crate) fn metrics(triggers: &Triggers, _: &Call) -> (&'static str, String) {
    (
        crate::metrics::CONTENT_TYPE,
        crate::metrics::scrape(triggers),
    )
}
