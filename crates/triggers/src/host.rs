//! What handlers reach through `sandbox.call`: the app's services, addressed by
//! `{"service": "queues", "action": "send", ...}`. Holds the triggers weakly, so the
//! app (which holds this host) and the triggers (which hold the app) do not keep each
//! other alive.

use std::sync::{Arc, Weak};

use sandbox_runtime::Host;
use serde_json::{json, Value};

use crate::{ControlError, Triggers};

pub(crate) struct ServiceHost(pub(crate) Weak<Triggers>);

impl Host for ServiceHost {
    fn call(&self, function: &str, request: &[u8]) -> Vec<u8> {
        let answer = match self.0.upgrade() {
            Some(triggers) => handle(&triggers, function, request),
            None => Err(ControlError::bad_request("the sandbox is shutting down")),
        };
        let body = match answer {
            Ok(ok) => json!({ "ok": ok }),
            Err(e) => json!({ "error": e.message }),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

fn handle(triggers: &Arc<Triggers>, function: &str, request: &[u8]) -> Result<Value, ControlError> {
    let mut request: Value = serde_json::from_slice(request)
        .map_err(|e| ControlError::bad_request(format!("request is not JSON: {e}")))?;
    let object = request
        .as_object_mut()
        .ok_or_else(|| ControlError::bad_request("request must be a JSON object"))?;
    let service = object
        .remove("service")
        .and_then(|v| v.as_str().map(str::to_string));
    let action = object
        .remove("action")
        .and_then(|v| v.as_str().map(str::to_string));
    match (service.as_deref(), action.as_deref()) {
        (Some("queues"), Some("send")) => {
            let queue = object
                .remove("queue")
                .and_then(|v| v.as_str().map(str::to_string))
                .ok_or_else(|| ControlError::bad_request("`queue` is required"))?;
            // An IAM role session, as SQS reports a Lambda function's sends.
            let sender = format!("AROASANDBOXROLE:{}", function.replace('/', "-"));
            let message = crate::queues::parse_send(&request, &sender)?;
            let receipt = triggers.queues().send(&queue, message)?;
            Ok(crate::queues::receipt_json(&receipt))
        }
        (Some("topics"), Some(action)) => {
            crate::topics::host_call(triggers, function, action, request)
        }
        (Some("bus"), Some(action)) => crate::buses::host_call(triggers, function, action, request),
        (Some("streams"), Some(action)) => {
            crate::streams::host_call(triggers, function, action, request)
        }
        (service, action) => Err(ControlError::bad_request(format!(
            "unknown call {}.{}; services: queues, topics, bus, streams",
            service.unwrap_or("?"),
            action.unwrap_or("?")
        ))),
    }
}
