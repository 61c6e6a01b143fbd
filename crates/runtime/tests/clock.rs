//! Handlers' WASI wall clock is the sandbox clock once one is set: a guest reading
//! `clock_time_get(realtime)` (what `SystemTime::now` and `Date.now` do) sees it.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{request, WRITE_HELPER};
use sandbox_runtime::{Runtime, RuntimeConfig};

/// Writes the realtime clock's nanoseconds (8 bytes, little-endian) to stdout.
fn clock_reader() -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  {imports}
  (memory (export "memory") 1)
  {WRITE_HELPER}
  (func (export "_start")
    (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 64)))
    (call $write (i32.const 1) (i32.const 64) (i32.const 8))))"#,
        imports = common::IMPORTS,
    )
}

fn read_nanos(output: &[u8]) -> u64 {
    u64::from_le_bytes(output.try_into().expect("8 bytes"))
}

#[tokio::test]
async fn the_realtime_clock_reads_the_sandbox_clock() {
    // Its own runtime: the wall clock is set once per runtime.
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let handler = runtime.compile(clock_reader().as_bytes()).unwrap();

    // Before a clock is set, handlers see the host's time.
    let output = runtime.invoke(&handler, request(b"")).await.result.unwrap();
    let host_now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let seen = Duration::from_nanos(read_nanos(&output));
    assert!(
        host_now.saturating_sub(seen) < Duration::from_secs(60),
        "{seen:?} vs {host_now:?}"
    );

    let sandbox_now = Arc::new(AtomicU64::new(1_893_456_000)); // 2030-01-01
    let clock = sandbox_now.clone();
    runtime.set_wall_clock(Arc::new(move || {
        UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::SeqCst))
    }));
    let output = runtime.invoke(&handler, request(b"")).await.result.unwrap();
    assert_eq!(read_nanos(&output), 1_893_456_000 * 1_000_000_000);

    // A day later on the sandbox clock is a day later for the handler.
    sandbox_now.fetch_add(86_400, Ordering::SeqCst);
    let output = runtime.invoke(&handler, request(b"")).await.result.unwrap();
    assert_eq!(
        read_nanos(&output),
        (1_893_456_000 + 86_400) * 1_000_000_000
    );
}
