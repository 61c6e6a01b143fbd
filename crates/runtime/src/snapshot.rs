//! A module's linear memory after one of its exports ran, for pre-initialising modules
//! (a Wizer-style snapshot, made by the caller from these bytes): the JavaScript runner
//! starts QuickJS and evaluates its own JavaScript once here, so that invocations start
//! from the result instead of redoing it.
//!
//! The instance gets no stdio, environment or arguments, fixed clocks and fixed
//! randomness, so the same module gives the same memory on every run (the snapshot's
//! bytes, and with them the compile cache's key, stay the same across restarts).

use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime_wasi::{Deterministic, HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use crate::engine::Shared;
use crate::host::HostState;
use crate::limits::{self, MemoryLimiter};
use crate::Handler;

/// Time and memory an initialisation may take.
const TIMEOUT: Duration = Duration::from_secs(30);
const MEMORY: usize = 256 << 20;

struct Fixed;

impl HostWallClock for Fixed {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(1_700_000_000)
    }
}

impl HostMonotonicClock for Fixed {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        0
    }
}

pub(crate) async fn memory_after(
    shared: &Shared,
    handler: &Handler,
    export: &str,
) -> Result<Vec<u8>, String> {
    let mut wasi = WasiCtxBuilder::new();
    // Randomness too: a Rust `HashMap` made during initialisation keeps its keys.
    wasi.wall_clock(Fixed)
        .monotonic_clock(Fixed)
        .secure_random(Deterministic::new(vec![7, 1, 3, 5]))
        .insecure_random(Deterministic::new(vec![2, 4, 6, 8]))
        .insecure_random_seed(9);
    let state = HostState {
        wasi: wasi.build_p1(),
        function: "snapshot".into(),
        host: None,
        pending_answer: None,
        limiter: MemoryLimiter::new(MEMORY),
        deadline: Instant::now() + TIMEOUT,
    };
    let _slot = shared.slots.acquire().await;
    let _ticking = shared.ticker.enter();
    let mut store = Store::new(&shared.engine, state);
    store.limiter(|state| &mut state.limiter);
    store.epoch_deadline_callback(limits::on_epoch);
    store.set_epoch_deadline(1);
    let instance = handler
        .inner
        .pre
        .instantiate_async(&mut store)
        .await
        .map_err(|e| format!("cannot instantiate: {e:#}"))?;
    let init = instance
        .get_typed_func::<(), ()>(&mut store, export)
        .map_err(|e| format!("no export `{export}` of type () -> (): {e:#}"))?;
    init.call_async(&mut store, ())
        .await
        .map_err(|e| format!("`{export}` failed: {e:#}"))?;
    let memory = instance
        .get_memory(&mut store, "memory")
        .ok_or("the module exports no `memory`")?;
    Ok(memory.data(&store).to_vec())
}
