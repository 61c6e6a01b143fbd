//! Shared helpers for the runtime's integration tests: one runtime per test binary and
//! small WASI preview 1 modules written as `.wat`.

#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use sandbox_runtime::{Handler, Limits, Request, Response, Runtime, RuntimeConfig};

/// One runtime for the whole test binary: each one reserves a large address-space pool.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(RuntimeConfig::default()).expect("runtime"))
}

pub fn compile(wat: &str) -> Handler {
    runtime()
        .compile(wat.as_bytes())
        .unwrap_or_else(|e| panic!("compile failed: {e}"))
}

pub fn request(event: &[u8]) -> Request {
    Request {
        function: "test-fn".into(),
        request_id: "req-1".into(),
        event: event.to_vec(),
        limits: Limits {
            timeout: Duration::from_secs(5),
            memory_bytes: 64 << 20,
        },
        env: Vec::new(),
        host: None,
    }
}

pub async fn invoke(handler: &Handler, request: Request) -> Response {
    runtime().invoke(handler, request).await
}

/// The WASI imports the test modules use.
pub const IMPORTS: &str = r#"
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
"#;

/// Builds a module: the WASI imports, one page of exported memory, `body` (extra
/// definitions) and `_start` running `start`.
pub fn module(body: &str, start: &str) -> String {
    format!(
        r#"(module
  {IMPORTS}
  (memory (export "memory") 1)
  {body}
  (func (export "_start") {start}))"#
    )
}

/// A `$write` helper: writes `len` bytes at `ptr` to `fd` (iovec at offset 0).
pub const WRITE_HELPER: &str = r#"
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
"#;

/// Copies stdin to stdout, 4 KiB at a time.
pub fn echo() -> String {
    module(
        WRITE_HELPER,
        r#"(local $n i32)
    (loop $again
      (i32.store (i32.const 16) (i32.const 1024))
      (i32.store (i32.const 20) (i32.const 4096))
      (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
      (local.set $n (i32.load (i32.const 24)))
      (if (i32.gt_u (local.get $n) (i32.const 0))
        (then
          (call $write (i32.const 1) (i32.const 1024) (local.get $n))
          (br $again))))"#,
    )
}
