//! Enforcing a function's limits inside the store: memory through a
//! [`ResourceLimiter`] that remembers denials (so a later trap can be reported as
//! out-of-memory), time through the epoch deadline callback.

use std::time::Instant;

use wasmtime::{ResourceLimiter, StoreContextMut, UpdateDeadline};

use crate::host::HostState;

/// Table elements any one table may grow to (`funcref` tables of real programs hold a
/// few thousand entries).
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Memory limit for one invocation, remembering whether the guest ever hit it.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    limit_bytes: usize,
    denied: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(limit_bytes: usize) -> MemoryLimiter {
        MemoryLimiter {
            limit_bytes,
            denied: false,
        }
    }

    /// Whether a memory grow (or the initial allocation) was refused.
    pub(crate) fn denied(&self) -> bool {
        self.denied
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit_bytes {
            self.denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    /// Growth we allowed can still fail (the pool slot or the module's own maximum is
    /// smaller); to the guest that is the same out-of-memory.
    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.denied = true;
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    // One module per store; small headroom in case the host side ever instantiates
    // helpers.
    fn instances(&self) -> usize {
        4
    }

    fn tables(&self) -> usize {
        4
    }

    fn memories(&self) -> usize {
        1
    }
}

/// The error the epoch callback raises once the deadline has passed; `invoke` turns it
/// into [`crate::Failure::Timeout`].
#[derive(Debug, thiserror::Error)]
#[error("deadline exceeded")]
pub(crate) struct DeadlineExceeded;

/// Runs every epoch tick while the guest executes wasm: stops it after its deadline,
/// otherwise yields to tokio so a guest spinning in a loop never monopolises a worker
/// thread (other tasks, including other invocations, run in between).
pub(crate) fn on_epoch(store: StoreContextMut<'_, HostState>) -> wasmtime::Result<UpdateDeadline> {
    if Instant::now() >= store.data().deadline {
        return Err(wasmtime::Error::new(DeadlineExceeded));
    }
    Ok(UpdateDeadline::YieldCustom(
        1,
        Box::pin(tokio::task::yield_now()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_within_limit_is_allowed_and_not_recorded() {
        let mut limiter = MemoryLimiter::new(2 << 20);
        assert!(limiter.memory_growing(0, 1 << 20, None).unwrap());
        assert!(limiter.memory_growing(1 << 20, 2 << 20, None).unwrap());
        assert!(!limiter.denied());
    }

    #[test]
    fn grow_beyond_limit_is_denied_and_recorded() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(!limiter
            .memory_growing(1 << 20, (1 << 20) + 65536, None)
            .unwrap());
        assert!(limiter.denied());
    }

    #[test]
    fn failed_grow_counts_as_denied() {
        let mut limiter = MemoryLimiter::new(1 << 30);
        limiter
            .memory_grow_failed(wasmtime::Error::msg("slot too small"))
            .unwrap();
        assert!(limiter.denied());
    }

    #[test]
    fn tables_are_capped() {
        let mut limiter = MemoryLimiter::new(0);
        assert!(limiter.table_growing(0, 10, None).unwrap());
        assert!(!limiter
            .table_growing(0, MAX_TABLE_ELEMENTS + 1, None)
            .unwrap());
    }
}
