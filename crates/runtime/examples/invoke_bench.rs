//! Micro-benchmark of one invocation: fresh store, WASI context and instance, a small
//! write to stdout, teardown. Sequential on one current-thread tokio runtime, so the
//! number is per-invocation latency, not throughput.
//!
//! `cargo run --release -p sandbox-runtime --example invoke_bench [invocations] [runs]`

use std::time::{Duration, Instant};

use sandbox_runtime::{Limits, Request, Runtime, RuntimeConfig};

/// Writes `{"statusCode":200}` to stdout, like the smallest HTTP handler.
const TRIVIAL: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{\"statusCode\":200}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 18))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

/// Spins 2000M iterations: measures what the epoch ticks (deadline checks and yields
/// to tokio every tick) cost a CPU-bound guest.
const SPIN: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 2000000000))))))"#;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let invocations: u32 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    let runs: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);

    let runtime = Runtime::new(RuntimeConfig::default())?;
    let handler = runtime.compile(TRIVIAL.as_bytes())?;
    let limits = Limits {
        timeout: Duration::from_secs(5),
        memory_bytes: 128 << 20,
    };
    let request = || Request {
        function: "bench".into(),
        request_id: "bench-request".into(),
        event: br#"{"rawPath":"/"}"#.to_vec(),
        limits,
        env: vec![("STAGE".into(), "bench".into())],
        host: None,
    };

    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut per_call = tokio.block_on(async {
        // Warm up: first use of a pool slot maps memory, first call fills caches.
        for _ in 0..1000 {
            let response = runtime.invoke(&handler, request()).await;
            assert_eq!(
                response.result.as_deref(),
                Ok(&br#"{"statusCode":200}"#[..])
            );
        }
        let mut per_call = Vec::with_capacity(runs);
        for run in 1..=runs {
            let started = Instant::now();
            for _ in 0..invocations {
                let response = runtime.invoke(&handler, request()).await;
                debug_assert!(response.result.is_ok());
            }
            let micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(invocations);
            println!("run {run}: {micros:.2} µs/invocation");
            per_call.push(micros);
        }
        let spin = runtime.compile(SPIN.as_bytes()).expect("spin module");
        let mut spin_request = request();
        spin_request.limits.timeout = Duration::from_secs(60);
        let started = Instant::now();
        let response = runtime.invoke(&spin, spin_request).await;
        assert!(response.result.is_ok(), "{:?}", response.result);
        println!(
            "cpu-bound guest (2000M loop iterations): {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        per_call
    });
    per_call.sort_by(f64::total_cmp);
    let median = per_call[per_call.len() / 2];
    println!("median of {runs} runs x {invocations} invocations: {median:.2} µs/invocation");
    Ok(())
}
