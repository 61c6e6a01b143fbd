//! The `sandbox` import module: `call` reaches the host once per request, and an
//! answer larger than the guest's buffer is fetched with `answer`, never by calling again.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sandbox_runtime::{Host, HostHandle};

struct Big {
    calls: AtomicUsize,
}

impl Host for Big {
    fn call(&self, function: &str, request: &[u8]) -> Vec<u8> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(function, "test-fn");
        assert_eq!(request, b"ping");
        vec![b'x'; 100_000]
    }
}

/// Calls with a 16-byte buffer; on a negative answer fetches it into a 200 KB buffer
/// and writes whatever it got to stdout.
const GUEST: &str = r#"(module
  (import "sandbox" "call" (func $call (param i32 i32 i32 i32) (result i32)))
  (import "sandbox" "answer" (func $answer (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 1024) "ping")
  (func (export "_start")
    (local $n i32)
    (local.set $n (call $call (i32.const 1024) (i32.const 4) (i32.const 4096) (i32.const 16)))
    (if (i32.lt_s (local.get $n) (i32.const 0))
      (then (local.set $n (call $answer (i32.const 4096) (i32.const 200000)))))
    (i32.store (i32.const 0) (i32.const 4096))
    (i32.store (i32.const 4) (local.get $n))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

#[tokio::test]
async fn a_large_answer_is_fetched_without_calling_the_host_twice() {
    let host = Arc::new(Big {
        calls: AtomicUsize::new(0),
    });
    let handler = common::compile(GUEST);
    let mut request = common::request(b"{}");
    request.host = Some(HostHandle(host.clone()));
    let response = common::invoke(&handler, request).await;
    let output = response.result.expect("the guest succeeds");
    assert_eq!(output.len(), 100_000);
    assert_eq!(host.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn without_a_host_the_guest_gets_an_error_answer() {
    let handler = common::compile(&GUEST.replace("(i32.const 16)", "(i32.const 1000)"));
    let response = common::invoke(&handler, common::request(b"{}")).await;
    let output = String::from_utf8(response.result.unwrap()).unwrap();
    assert!(output.contains("error"), "{output}");
}
