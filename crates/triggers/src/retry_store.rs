//! `--state DIR` for topics' and buses' pending retries: Lambda's asynchronous
//! invocations that are waiting for their first attempt or a retry
//! (`sandbox_services::async_retry`) are written as the journal says they change.
//!
//! A publish (or PutEvents) that queued a function delivery waits for its commit before
//! it is answered, so an acknowledged message reaches its handler after a crash too. The
//! driver's own changes (a delivery handed out, settled, retried later) are submitted
//! without waiting: a delivery whose outcome was lost in a crash is invoked again
//! (at-least-once, as Lambda's async queue is), never dropped.

use std::sync::Arc;

use sandbox_services::async_retry::image::{InvocationChanges, StoredInvocation};
use sandbox_state::{Committer, Delta, Store, Ticket};

use crate::ControlError;

pub(crate) struct RetryStore {
    committer: Arc<Committer>,
    /// Whose deliveries these are in the store (`topics`, `buses`).
    service: &'static str,
}

impl RetryStore {
    /// Opens the store for `service`; returns its stored deliveries and next id for the
    /// state machine to restore.
    pub(crate) fn open(
        store: &Store,
        committer: Arc<Committer>,
        service: &'static str,
    ) -> Result<(RetryStore, u64, Vec<StoredInvocation>), String> {
        let (next_id, stored) = store.load_invocations(service).map_err(|e| e.to_string())?;
        Ok((RetryStore { committer, service }, next_id, stored))
    }

    /// Submits `changes` (taken under the service's lock, so in order).
    pub(crate) fn record(&self, changes: Option<InvocationChanges>) -> Option<Ticket> {
        let changes = changes?;
        Some(self.committer.submit(Delta {
            invocations: vec![(self.service.to_string(), changes)],
            ..Delta::default()
        }))
    }

    pub(crate) fn wait(&self, ticket: Option<Ticket>) -> Result<(), ControlError> {
        crate::streams::wait(&self.committer, ticket)
    }
}
