//! One invocation: a fresh store and WASI context around the handler's pre-linked
//! instance, the event on stdin, then the outcome classified into a result or a
//! [`Failure`].
//!
//! Isolation comes from what the WASI context does *not* get: no preopened directories,
//! no inherited stdio, environment or arguments (only the function name as `argv[0]`),
//! and preview 1 has no way to open sockets.

use std::time::{Duration, Instant};

use bytes::Bytes;
use wasmtime::{Extern, Store, Trap, WasmBacktrace};
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

use crate::clock::SandboxWallClock;
use crate::engine::Shared;
use crate::host::HostState;
use crate::limits::{self, DeadlineExceeded, MemoryLimiter};
use crate::output::{CappedOutput, Overflow};
use crate::{logs, Failure, Handler, Limits, Request, Response};

/// Extra time the tokio-side safety net allows beyond the epoch deadline. It only fires
/// when the guest is stuck in a host call (where epochs are not checked).
const SAFETY_NET_GRACE: Duration = Duration::from_millis(100);

/// Wasm frames kept in a trap message: enough to locate the fault, short enough to log.
const BACKTRACE_FRAMES: usize = 8;

/// How a run ended, before looking at the captured output.
enum Ended {
    Returned,
    Errored(wasmtime::Error),
    /// The safety net fired.
    TimedOut,
}

pub(crate) async fn invoke(shared: &Shared, handler: &Handler, request: Request) -> Response {
    let started = Instant::now();
    let Request {
        function,
        request_id,
        event,
        limits,
        env,
        host,
    } = request;
    let max_output = shared.config.max_output_bytes;
    let stdout = CappedOutput::new(max_output, Overflow::Trap);
    let stderr = CappedOutput::new(max_output, Overflow::Truncate);

    let mut wasi = WasiCtxBuilder::new();
    wasi.stdin(MemoryInputPipe::new(Bytes::from(event)))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .envs(&env)
        .arg(&function);
    if let Some(clock) = shared.wall_clock.get() {
        wasi.wall_clock(SandboxWallClock(clock.clone()));
    }
    let (ended, memory_denied) = {
        // The semaphore is never closed, so this only waits, it never fails.
        let _slot = shared.slots.acquire().await;
        // The timeout counts from here: waiting for a free instance slot under load is
        // the sandbox's time, not the handler's.
        let state = HostState {
            wasi: wasi.build_p1(),
            function: function.clone(),
            host,
            pending_answer: None,
            limiter: MemoryLimiter::new(limits.memory_bytes),
            deadline: deadline(Instant::now(), limits.timeout),
        };
        let _ticking = shared.ticker.enter();
        let safety_net = limits.timeout.saturating_add(SAFETY_NET_GRACE);
        match tokio::time::timeout(safety_net, run(shared, handler, state)).await {
            Ok(ran) => ran,
            Err(_elapsed) => (Ended::TimedOut, false),
        }
    };

    let (output, output_overflowed) = stdout.take();
    let (log_bytes, logs_truncated) = stderr.take();
    let result = classify(
        ended,
        output,
        output_overflowed,
        memory_denied,
        limits,
        max_output,
    );
    let logs = logs::collect(&log_bytes, logs_truncated, &function, &request_id);
    Response {
        result,
        logs,
        duration: started.elapsed(),
    }
}

/// Instantiates and runs `_start`; also reports whether memory growth was refused.
async fn run(shared: &Shared, handler: &Handler, state: HostState) -> (Ended, bool) {
    let mut store = Store::new(&shared.engine, state);
    store.limiter(|state| &mut state.limiter);
    store.epoch_deadline_callback(limits::on_epoch);
    store.set_epoch_deadline(1);

    let ended = match call_start(&mut store, handler).await {
        Ok(()) => Ended::Returned,
        Err(error) => Ended::Errored(error),
    };
    (ended, store.data().limiter.denied())
}

async fn call_start(store: &mut Store<HostState>, handler: &Handler) -> wasmtime::Result<()> {
    let compiled = &handler.inner;
    let instance = compiled.pre.instantiate_async(&mut *store).await?;
    // `compile` checked the export exists and has this type.
    let start = instance
        .get_module_export(&mut *store, &compiled.entry)
        .and_then(Extern::into_func)
        .ok_or_else(|| wasmtime::Error::msg("`_start` is missing from the instance"))?
        .typed::<(), ()>(&*store)?;
    start.call_async(&mut *store, ()).await
}

fn deadline(started: Instant, timeout: Duration) -> Instant {
    // An absurd timeout (Duration::MAX) must not overflow: cap it at a year.
    const FAR: Duration = Duration::from_secs(365 * 24 * 3600);
    started
        .checked_add(timeout.min(FAR))
        .unwrap_or(started + FAR)
}

fn classify(
    ended: Ended,
    output: Vec<u8>,
    output_overflowed: bool,
    memory_denied: bool,
    limits: Limits,
    max_output: usize,
) -> Result<Vec<u8>, Failure> {
    // Checked first: the overflow itself made the guest trap.
    if output_overflowed {
        return Err(Failure::OutputTooLarge {
            limit_bytes: max_output,
        });
    }
    let out_of_memory = Failure::OutOfMemory {
        limit_bytes: limits.memory_bytes,
    };
    let error = match ended {
        Ended::Returned => return Ok(output),
        Ended::TimedOut => return Err(Failure::Timeout(limits.timeout)),
        Ended::Errored(error) => error,
    };
    if let Some(I32Exit(code)) = error.downcast_ref::<I32Exit>() {
        return match (*code, memory_denied) {
            (0, _) => Ok(output),
            // Allocators abort with a nonzero exit when memory runs out.
            (_, true) => Err(out_of_memory),
            (code, false) => Err(Failure::Exit(code)),
        };
    }
    if error.is::<DeadlineExceeded>() || error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return Err(Failure::Timeout(limits.timeout));
    }
    if memory_denied {
        return Err(out_of_memory);
    }
    Err(Failure::Trap(describe_trap(&error)))
}

/// The trap's own message, then the first few wasm frames.
fn describe_trap(error: &wasmtime::Error) -> String {
    let mut message = match error.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    };
    if let Some(backtrace) = error.downcast_ref::<WasmBacktrace>() {
        let rendered = backtrace.to_string();
        // The first line is a header ("error while executing at wasm backtrace:").
        let mut frames = rendered.lines().skip(1).filter(|l| !l.trim().is_empty());
        let shown: Vec<&str> = frames.by_ref().take(BACKTRACE_FRAMES).collect();
        if !shown.is_empty() {
            message.push_str("\nwasm backtrace:");
            for frame in shown {
                message.push('\n');
                message.push_str(frame);
            }
            let more = frames.count();
            if more > 0 {
                message.push_str(&format!("\n  ... {more} more"));
            }
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            timeout: Duration::from_secs(1),
            memory_bytes: 1 << 20,
        }
    }

    fn classify_error(error: wasmtime::Error, denied: bool) -> Result<Vec<u8>, Failure> {
        classify(
            Ended::Errored(error),
            b"out".to_vec(),
            false,
            denied,
            limits(),
            10,
        )
    }

    #[test]
    fn returning_is_success_with_output() {
        let result = classify(Ended::Returned, b"out".to_vec(), false, false, limits(), 10);
        assert_eq!(result, Ok(b"out".to_vec()));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(
            classify_error(wasmtime::Error::new(I32Exit(0)), false),
            Ok(b"out".to_vec())
        );
        assert_eq!(
            classify_error(wasmtime::Error::new(I32Exit(3)), false),
            Err(Failure::Exit(3))
        );
        assert_eq!(
            classify_error(wasmtime::Error::new(I32Exit(1)), true),
            Err(Failure::OutOfMemory {
                limit_bytes: 1 << 20
            })
        );
    }

    #[test]
    fn overflow_wins_over_everything() {
        let result = classify(Ended::TimedOut, Vec::new(), true, true, limits(), 10);
        assert_eq!(result, Err(Failure::OutputTooLarge { limit_bytes: 10 }));
    }

    #[test]
    fn deadline_and_safety_net_are_timeouts() {
        assert_eq!(
            classify_error(wasmtime::Error::new(DeadlineExceeded), false),
            Err(Failure::Timeout(Duration::from_secs(1)))
        );
        let result = classify(Ended::TimedOut, Vec::new(), false, false, limits(), 10);
        assert_eq!(result, Err(Failure::Timeout(Duration::from_secs(1))));
    }

    #[test]
    fn other_errors_are_traps_unless_memory_was_denied() {
        assert!(matches!(
            classify_error(wasmtime::Error::msg("boom"), false),
            Err(Failure::Trap(message)) if message == "boom"
        ));
        assert!(matches!(
            classify_error(wasmtime::Error::msg("boom"), true),
            Err(Failure::OutOfMemory { .. })
        ));
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let now = Instant::now();
        assert!(deadline(now, Duration::MAX) > now);
    }
}
