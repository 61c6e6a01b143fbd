//! The one lock every driver keeps its state machine behind.
//!
//! State machines change only inside their own methods, each of which leaves them
//! consistent, so a panic while the lock was held (a bug, logged by tokio) leaves nothing
//! half-done: every driver recovers the guard from a poisoned lock rather than taking the
//! whole service down with it.

use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) struct Lock<T>(Mutex<T>);

impl<T> Lock<T> {
    pub(crate) fn new(value: T) -> Self {
        Lock(Mutex::new(value))
    }

    /// The guard, poisoned or not.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
