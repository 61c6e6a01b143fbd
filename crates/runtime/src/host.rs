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
use crate::HostHandle;

/// The `T` of `Store<T>` for one invocation.
pub(crate) struct HostState {
    pub(crate) wasi: WasiP1Ctx,
    /// The calling function, for the host's authorisation and `SenderId`s.
    pub(crate) function: String,
    pub(crate) host: Option<HostHandle>,
    /// An answer too large for the guest's buffer, kept for `sandbox.answer`.
    pub(crate) pending_answer: Option<Vec<u8>>,
    pub(crate) limiter: MemoryLimiter,
    /// When the epoch callback stops the guest (see [`crate::limits::on_epoch`]).
    pub(crate) deadline: Instant,
}

/// Largest request a guest may pass to `sandbox.call` (a message is at most 1 MiB; the
/// JSON around it is small).
const MAX_REQUEST: usize = 2 * 1024 * 1024;

/// `sandbox.call(request_ptr, request_len, response_ptr, response_cap) -> i32`: reads the
/// request from guest memory, asks the [`crate::Host`] and writes the answer back,
/// returning its length. An answer larger than `response_cap` is kept instead and its
/// length returned negated: the guest allocates that much and fetches it with
/// `sandbox.answer` — never a second call, since the action already happened. A request
/// outside guest memory traps, like any bad pointer.
pub(crate) fn call(
    mut caller: wasmtime::Caller<'_, HostState>,
    request_ptr: i32,
    request_len: i32,
    response_ptr: i32,
    response_cap: i32,
) -> wasmtime::Result<i32> {
    let memory = memory(&mut caller)?;
    let (start, len) = (request_ptr as u32 as usize, request_len as u32 as usize);
    if len > MAX_REQUEST {
        return Err(wasmtime::Error::msg(format!(
            "sandbox.call: request of {len} bytes exceeds {MAX_REQUEST}"
        )));
    }
    let request = memory
        .data(&caller)
        .get(start..start.saturating_add(len))
        .ok_or_else(|| wasmtime::Error::msg("sandbox.call: request outside guest memory"))?
        .to_vec();
    let state = caller.data();
    let answer = match &state.host {
        Some(host) => host.0.call(&state.function, &request),
        None => br#"{"error":"no services are available to this invocation"}"#.to_vec(),
    };
    if answer.len() > response_cap as u32 as usize {
        let needed = i32::try_from(answer.len())
            .map_err(|_| wasmtime::Error::msg("sandbox.call: answer too large"))?;
        caller.data_mut().pending_answer = Some(answer);
        return Ok(-needed);
    }
    write(&mut caller, memory, response_ptr, &answer)
}

/// `sandbox.answer(response_ptr, response_cap) -> i32`: hands over the answer `call`
/// kept because it did not fit; -1 when there is none or it still does not fit.
pub(crate) fn answer(
    mut caller: wasmtime::Caller<'_, HostState>,
    response_ptr: i32,
    response_cap: i32,
) -> wasmtime::Result<i32> {
    let memory = memory(&mut caller)?;
    match caller.data_mut().pending_answer.take() {
        Some(answer) if answer.len() <= response_cap as u32 as usize => {
            write(&mut caller, memory, response_ptr, &answer)
        }
        Some(answer) => {
            caller.data_mut().pending_answer = Some(answer);
            Ok(-1)
        }
        None => Ok(-1),
    }
}

fn memory(caller: &mut wasmtime::Caller<'_, HostState>) -> wasmtime::Result<wasmtime::Memory> {
    match caller.get_export("memory") {
        Some(wasmtime::Extern::Memory(memory)) => Ok(memory),
        _ => Err(wasmtime::Error::msg(
            "sandbox.call: the module exports no memory",
        )),
    }
}

fn write(
    caller: &mut wasmtime::Caller<'_, HostState>,
    memory: wasmtime::Memory,
    at: i32,
    answer: &[u8],
) -> wasmtime::Result<i32> {
    memory
        .write(caller, at as u32 as usize, answer)
        .map_err(|_| wasmtime::Error::msg("sandbox.call: response buffer outside guest memory"))?;
    Ok(answer.len() as i32)
}
