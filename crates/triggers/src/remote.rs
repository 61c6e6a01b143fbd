//! The extension point for resources that live outside the sandbox: manifest entries
//! that say `remote <URL or ARN>` (see `sandbox-remote`, which implements [`Remote`]
//! over the AWS SDK and registers it with [`crate::Triggers::set_remote`]).
//!
//! The front ends ask it first: a handler's `sandbox.call` or a control-API send,
//! publish or put naming a remote resource goes to AWS instead of the local service of
//! the same name. Reload and drain ask it too: a reload hands it the new manifest (its
//! consumers of changed `remote` lines are restarted), and drain counts the batches it
//! has taken from AWS and not yet settled. Kept to one trait so this crate never depends
//! on the AWS SDK.

use std::sync::{Arc, OnceLock};

use sandbox_manifest::Manifest;
use sandbox_services::PendingWork;
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

    /// A hot reload's new manifest: stops the consumers of removed or changed `remote`
    /// entries (after their batch in flight) and starts those of new or changed ones.
    /// The lines the reload logs. Never blocks on AWS: connecting happens afterwards.
    fn reconfigure(&self, manifest: &Manifest) -> Vec<String> {
        let _ = manifest;
        Vec::new()
    }

    /// Batches taken from remote resources and not yet settled (received and not yet
    /// deleted or left to come back; a stream batch still being retried): how many now,
    /// and how many ever finished, for drain's idle check. Messages still waiting in a
    /// real queue or stream are not the sandbox's and are not counted.
    fn activity(&self) -> RemoteActivity {
        RemoteActivity::default()
    }

    /// The same batches per remote resource, for drain's report.
    fn pending(&self) -> Vec<PendingWork> {
        Vec::new()
    }

    /// `GET /_sandbox/remote`: every remote entry, connected or connecting (with why),
    /// and what it has in flight.
    fn overview(&self) -> Value {
        serde_json::json!({ "remote": [], "readOnly": false })
    }
}

/// What [`Remote::activity`] counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteActivity {
    /// Batches taken and not yet settled.
    pub busy: u64,
    /// Batches settled since start.
    pub ended: u64,
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
