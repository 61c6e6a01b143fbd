//! The per-invocation state every [`wasmtime::Store`] carries: the guest's WASI context,
//! its resource limits and its deadline.
//!
//! # Adding host services
//!
//! Publishing to queues, topics, streams and the event bus will be an import module
//! named `sandbox` (the guest SDK wraps it). Its per-invocation context (which function
//! is calling, the request id, a handle to the service state) goes in [`HostState`] next
//! to `wasi`, and its functions are registered once on the shared linker in
//! [`crate::engine::Shared::new`] with `linker.func_wrap_async("sandbox", ...)`, reading
//! that context through `caller.data_mut()`. Because the linker is shared and handlers
//! are resolved against it at compile time, a module importing `sandbox` functions that
//! do not exist yet is rejected by `compile` with the import's name.

use std::time::Instant;

use wasmtime_wasi::p1::WasiP1Ctx;

use crate::limits::MemoryLimiter;

/// The `T` of `Store<T>` for one invocation.
pub(crate) struct HostState {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) limiter: MemoryLimiter,
    /// When the epoch callback stops the guest (see [`crate::limits::on_epoch`]).
    pub(crate) deadline: Instant,
}
