//! The extension point for resources that live outside the sandbox: manifest entries
//! that say `remote <URL or ARN>` (see `sandbox-remote`, which implements [`Remote`]
//! over the AWS SDK and registers it with [`crate::Triggers::set_remote`]).
//!
//! The front ends ask it first: a handler's `sandbox.call` or a control-API send,
//! publish or put naming a remote resource goes to AWS instead of the local service of
//! the same name. Kept to one trait so this crate never depends on the AWS SDK.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::ControlError;

/// What answers calls aimed at remote resources.
pub trait Remote: Send + Sync {
    /// A handler's call (`service` and `action` canonical, as in `sandbox_ops::call`),
    /// or `None` when the resource it names is local.
    fn host_call(
        &self,
        function: &str,
        service: &str,
        action: &str,
        operation: &serde_json::Map<String, Value>,
    ) -> Option<Result<Value, ControlError>>;

    /// A control request (`POST /_sandbox/queues/{name}/messages`, …) aimed at a remote
    /// resource, answered with its status and JSON body; `None` when it is not.
    fn control(&self, method: &str, path: &str, body: &[u8]) -> Option<(u16, Value)>;
}

/// Where the triggers keep the registered [`Remote`], set once at start.
#[derive(Default)]
pub(crate) struct Slot(OnceLock<Arc<dyn Remote>>);

impl Slot {
    pub(crate) fn set(&self, remote: Arc<dyn Remote>) -> Result<(), String> {
        self.0
            .set(remote)
            .map_err(|_| "remote resources are already registered".to_string())
    }

    pub(crate) fn get(&self) -> Option<&Arc<dyn Remote>> {
        self.0.get()
    }
}
