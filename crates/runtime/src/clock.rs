//! The wall clock handlers see. WASI's realtime clock (Rust's `SystemTime::now`, C's
//! `time`, JavaScript's `Date.now`) reads the sandbox clock when one is set, so a test
//! that advances the manual clock by a day sees handlers' dates move by that day. The
//! monotonic clock stays real: it measures durations and drives sleeps and timers.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime_wasi::HostWallClock;

/// What "now" is for handlers; set once per runtime with
/// [`crate::Runtime::set_wall_clock`].
pub type WallClock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// A [`WallClock`] as WASI's clock.
pub(crate) struct SandboxWallClock(pub(crate) WallClock);

impl HostWallClock for SandboxWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        // Before 1970 cannot be represented by WASI's clock; the sandbox clock never is.
        (self.0)().duration_since(UNIX_EPOCH).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_given_time() {
        let at = UNIX_EPOCH + Duration::from_secs(86_400);
        let clock = SandboxWallClock(Arc::new(move || at));
        assert_eq!(clock.now(), Duration::from_secs(86_400));
    }
}
