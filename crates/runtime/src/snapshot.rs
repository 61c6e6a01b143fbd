//! A module's linear memory after one of its exports ran, for pre-initialising modules
//! (a Wizer-style snapshot, made by the caller from these bytes): the JavaScript runner
//! starts QuickJS and evaluates its own JavaScript once here, so that invocations start
//! from the result instead of redoing it.
//!
//! A [`Preinit::Fixed`] run gets no stdio, environment or arguments, fixed clocks and
//! fixed randomness, so the same module gives the same memory on every run (the
//! snapshot's bytes, and with them the compile cache's key, stay the same across
//! restarts). A [`Preinit::Live`] run (the JavaScript runner loading one handler's
//! bundle) gets stdin, an environment, the handlers' wall clock and real randomness,
//! as its code would see in an invocation, and its output is returned.

use std::time::{Duration, Instant};

use bytes::Bytes;
use wasmtime::Store;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{Deterministic, HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use crate::clock::SandboxWallClock;
use crate::engine::Shared;
use crate::host::HostState;
use crate::limits::{self, MemoryLimiter};
use crate::output::{CappedOutput, Overflow};
use crate::Handler;

/// What a pre-initialisation run sees.
#[derive(Debug, Clone)]
pub enum Preinit {
    /// Nothing, and fixed clocks and randomness: the same memory on every run.
    Fixed,
    /// `stdin` and `env`, the handlers' wall clock, real randomness.
    Live {
        stdin: Vec<u8>,
        env: Vec<(String, String)>,
    },
}

/// A pre-initialisation run's memory and output.
#[derive(Debug, Clone)]
pub struct Preinitialized {
    pub memory: Vec<u8>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Output a pre-initialisation may write (it is read as a status, not a result).
const MAX_OUTPUT: usize = 64 << 10;

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
    input: Preinit,
) -> Result<Preinitialized, String> {
    let mut wasi = WasiCtxBuilder::new();
    let stdout = CappedOutput::new(MAX_OUTPUT, Overflow::Truncate);
    let stderr = CappedOutput::new(MAX_OUTPUT, Overflow::Truncate);
    match input {
        Preinit::Fixed => {
            // Randomness too: a Rust `HashMap` made during initialisation keeps its keys.
            wasi.wall_clock(Fixed)
                .monotonic_clock(Fixed)
                .secure_random(Deterministic::new(vec![7, 1, 3, 5]))
                .insecure_random(Deterministic::new(vec![2, 4, 6, 8]))
                .insecure_random_seed(9);
        }
        Preinit::Live { stdin, env } => {
            wasi.stdin(MemoryInputPipe::new(Bytes::from(stdin)))
                .stdout(stdout.clone())
                .stderr(stderr.clone())
                .envs(&env);
            if let Some(clock) = shared.wall_clock.get() {
                wasi.wall_clock(SandboxWallClock(clock.clone()));
            }
        }
    }
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
    Ok(Preinitialized {
        memory: memory.data(&store).to_vec(),
        stdout: stdout.take().0,
        stderr: stderr.take().0,
    })
}
