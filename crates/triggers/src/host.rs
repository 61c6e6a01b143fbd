//! What handlers reach through `sandbox.call`: the app's services, addressed by
//! `{"service": "queues", "action": "SendMessage", ...}` (names in `sandbox_ops::call`,
//! older spellings accepted). One table maps each action to its answer in
//! [`crate::api`], which is told the calling function and how many invocations led to
//! this one ([`Caller`]: what it sends carries one hop more, for Lambda's recursive loop
//! detection). Holds the triggers weakly, so the app (which holds this host) and the
//! triggers (which hold the app) do not keep each other alive.

use std::sync::{Arc, Weak};

use sandbox_app::{Caller, Services};
use serde_json::{json, Value};

use crate::api::{buses, queues, streams, topics};
use crate::{ControlError, Triggers};

type Action = fn(&Triggers, &Caller<'_>, Value) -> Result<Value, ControlError>;

/// Every `(service, action)` of `sandbox_ops::call::ACTIONS`, and what answers it.
const ACTIONS: &[(&str, &str, Action)] = &[
    ("queues", "SendMessage", queues::host_send),
    ("topics", "Publish", topics::host_publish),
    ("bus", "PutEvents", buses::host_put_events),
    ("streams", "PutRecord", streams::host_put_record),
    ("streams", "PutRecords", streams::host_put_records),
];

pub(crate) struct ServiceHost(pub(crate) Weak<Triggers>);

impl Services for ServiceHost {
    fn call(&self, caller: &Caller<'_>, request: &[u8]) -> Vec<u8> {
        let answer = match self.0.upgrade() {
            Some(triggers) => handle(&triggers, caller, request),
            None => Err(ControlError::bad_request("the sandbox is shutting down")),
        };
        let body = match answer {
            Ok(ok) => json!({ "ok": ok }),
            Err(e) => json!({ "error": e.message }),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// `{"service", "action", ...the operation's fields}`.
#[derive(serde::Deserialize)]
struct Envelope {
    service: String,
    action: String,
    #[serde(flatten)]
    operation: serde_json::Map<String, Value>,
}

fn handle(
    triggers: &Arc<Triggers>,
    caller: &Caller<'_>,
    request: &[u8],
) -> Result<Value, ControlError> {
    let function = caller.function;
    let envelope: Envelope = serde_json::from_slice(request).map_err(|e| {
        ControlError::bad_request(format!(
            "a call is {{\"service\", \"action\", ...}} ({e}); calls: {}",
            sandbox_ops::call::known()
        ))
    })?;
    let unknown = || {
        ControlError::bad_request(format!(
            "unknown call {}.{}; calls: {}",
            envelope.service,
            envelope.action,
            sandbox_ops::call::known()
        ))
    };
    let (service, action) =
        sandbox_ops::call::canonical(&envelope.service, &envelope.action).ok_or_else(unknown)?;
    // A resource that lives in AWS (`remote` in the manifest) is answered there.
    if let Some(answer) = triggers
        .remote()
        .and_then(|r| r.host_call(function, service, action, &envelope.operation))
    {
        return answer;
    }
    let answer = ACTIONS
        .iter()
        .find(|(s, a, _)| *s == service && *a == action)
        .map(|(_, _, answer)| answer)
        .ok_or_else(unknown)?;
    answer(triggers, caller, Value::Object(envelope.operation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_action_has_an_answer() {
        for (service, action, _) in sandbox_ops::call::ACTIONS {
            assert!(
                ACTIONS.iter().any(|(s, a, _)| s == service && a == action),
                "{service}.{action}"
            );
        }
        assert_eq!(ACTIONS.len(), sandbox_ops::call::ACTIONS.len());
    }
}
