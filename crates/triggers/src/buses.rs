//! `@bus`: EventBridge buses — rules with event patterns, targets, archives and replays.
//!
//! Skeleton: the service's driver, control routes (`/_sandbox/buses...`) and host calls
//! plug in here.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sandbox_services::{Clock, PendingWork};
use serde_json::Value;

use crate::{Activity, AppCell, ControlError, QueueService, Triggers};

#[derive(Clone)]
pub struct BusService {
    #[allow(dead_code)]
    inner: Arc<Inner>,
}

#[allow(dead_code)]
struct Inner {
    app: AppCell,
    clock: Clock,
    activity: Arc<Activity>,
    queues: QueueService,
}

impl BusService {
    pub(crate) fn start(app: AppCell, clock: Clock, activity: Arc<Activity>, queues: QueueService) -> Result<BusService, String> {
        Ok(BusService {
            inner: Arc::new(Inner { app, clock, activity, queues }),
        })
    }

    /// Work due now and later, for drain.
    pub fn pending(&self, _now: DateTime<Utc>) -> Vec<PendingWork> {
        Vec::new()
    }
}

/// The endpoints [`route`] answers, for the control API's 404 listing.
pub const ENDPOINTS: &[&str] = &[];

/// Control routes under `/_sandbox/buses`; `None` when the path is not ours.
pub(crate) async fn route(
    _triggers: &Triggers,
    _method: &str,
    _path: &str,
    _query: Option<&str>,
    _body: &[u8],
) -> Option<Result<Value, ControlError>> {
    None
}

/// A handler's `sandbox.call` for this service (`action` and the rest of the request).
pub(crate) fn host_call(_triggers: &Triggers, _function: &str, action: &str, _request: Value) -> Result<Value, ControlError> {
    Err(ControlError::bad_request(format!("unknown action `{action}`")))
}
