//! The thread that advances the engine's epoch, which is how timeouts and cooperative
//! yields happen while guest code runs.
//!
//! It ticks only while at least one invocation is in flight, so an idle daemon does not
//! wake a thousand times a second for nothing. After the last invocation it stays awake
//! (without ticking) for a short grace period before parking: under a stream of short
//! invocations, waking a parked thread for each one would cost a syscall and a context
//! switch per invocation.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::Thread;
use std::time::Duration;

use anyhow::anyhow;
use wasmtime::{Engine, EngineWeak};

/// How often the epoch advances: the granularity of timeouts and of the yields that
/// keep a busy guest from starving other tasks on its worker thread.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Idle ticks (about 100 ms) before the thread parks.
const IDLE_GRACE_TICKS: u32 = 100;

pub(crate) struct Ticker {
    state: Arc<State>,
    thread: Thread,
}

struct State {
    /// Invocations in flight.
    active: AtomicUsize,
    stopped: AtomicBool,
    /// Set by the thread just before it parks; `enter` unparks only then.
    parked: AtomicBool,
    /// Epochs advanced by this ticker (wasmtime does not expose the epoch).
    ticks: AtomicU64,
}

/// Keeps the ticker running while held; one per invocation.
pub(crate) struct Active<'a>(&'a Ticker);

impl Ticker {
    pub(crate) fn start(engine: &Engine) -> anyhow::Result<Ticker> {
        let state = Arc::new(State {
            active: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            ticks: AtomicU64::new(0),
        });
        let engine = engine.weak();
        let thread_state = Arc::clone(&state);
        let handle = std::thread::Builder::new()
            .name("sandbox-epoch".into())
            .spawn(move || tick(&engine, &thread_state))
            .map_err(|e| anyhow!("starting the epoch ticker thread: {e}"))?;
        Ok(Ticker {
            state,
            thread: handle.thread().clone(),
        })
    }

    /// Marks an invocation in flight until the returned guard is dropped (also when the
    /// invocation's future is cancelled).
    pub(crate) fn enter(&self) -> Active<'_> {
        self.state.active.fetch_add(1, Ordering::SeqCst);
        if self.state.parked.swap(false, Ordering::SeqCst) {
            self.thread.unpark();
        }
        Active(self)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.state.active.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

fn tick(engine: &EngineWeak, state: &State) {
    let mut idle = 0;
    loop {
        if state.stopped.load(Ordering::Acquire) {
            return;
        }
        if state.active.load(Ordering::SeqCst) == 0 {
            idle += 1;
            if idle > IDLE_GRACE_TICKS {
                // Announce, then look again: an `enter` between the two either sees
                // the flag (and unparks, so `park` returns at once) or is seen here.
                state.parked.store(true, Ordering::SeqCst);
                if state.active.load(Ordering::SeqCst) == 0
                    && !state.stopped.load(Ordering::Acquire)
                {
                    std::thread::park();
                }
                state.parked.store(false, Ordering::SeqCst);
                idle = 0;
            } else {
                std::thread::sleep(EPOCH_TICK);
            }
            continue;
        }
        idle = 0;
        std::thread::sleep(EPOCH_TICK);
        match engine.upgrade() {
            Some(engine) => {
                engine.increment_epoch();
                state.ticks.fetch_add(1, Ordering::Relaxed);
            }
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_only_while_active() {
        let engine = Engine::default();
        let ticker = Ticker::start(&engine).unwrap();
        let ticks = || ticker.state.ticks.load(Ordering::Relaxed);

        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(ticks(), 0, "ticked while idle");

        let guard = ticker.enter();
        std::thread::sleep(Duration::from_millis(60));
        assert!(ticks() >= 10, "only {} ticks in 60 ms", ticks());
        drop(guard);

        std::thread::sleep(Duration::from_millis(10));
        let parked_at = ticks();
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            ticks() <= parked_at + 1,
            "kept ticking after the last invocation"
        );
    }
}
