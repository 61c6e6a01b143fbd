//! End-to-end behaviour of `Runtime::invoke` with small `.wat` handlers: results,
//! logs, and every kind of contained failure.

mod common;

use std::time::{Duration, Instant};

use common::{compile, echo, invoke, module, request, WRITE_HELPER};
use sandbox_runtime::{Failure, Limits};

#[tokio::test]
async fn echoes_stdin_to_stdout() {
    let handler = compile(&echo());
    let event = br#"{"rawPath":"/hello","body":"x"}"#;
    let response = invoke(&handler, request(event)).await;
    assert_eq!(response.result, Ok(event.to_vec()));
    assert!(response.logs.is_empty());
    assert!(response.duration > Duration::ZERO);
}

#[tokio::test]
async fn echoes_a_large_event() {
    let handler = compile(&echo());
    let event: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let response = invoke(&handler, request(&event)).await;
    assert_eq!(response.result, Ok(event));
}

#[tokio::test]
async fn stderr_lines_become_logs() {
    let wat = module(
        &format!(
            r#"{WRITE_HELPER}
  (data (i32.const 256) "hello\nworld\n")
  (data (i32.const 512) "{{\"ok\":true}}")"#
        ),
        r#"(call $write (i32.const 2) (i32.const 256) (i32.const 12))
    (call $write (i32.const 1) (i32.const 512) (i32.const 11))"#,
    );
    let response = invoke(&compile(&wat), request(b"")).await;
    assert_eq!(response.result, Ok(br#"{"ok":true}"#.to_vec()));
    assert_eq!(response.logs, ["hello", "world"]);
}

#[tokio::test]
async fn unreachable_is_a_trap_with_backtrace() {
    let wat = module("(func $deep unreachable)", "(call $deep)");
    let response = invoke(&compile(&wat), request(b"")).await;
    match response.result {
        Err(Failure::Trap(message)) => {
            assert!(message.contains("unreachable"), "{message}");
            assert!(message.contains("wasm backtrace"), "{message}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[tokio::test]
async fn proc_exit_zero_is_success_and_nonzero_is_exit() {
    let wat = module(
        &format!(r#"{WRITE_HELPER} (data (i32.const 256) "done")"#),
        "(call $write (i32.const 1) (i32.const 256) (i32.const 4)) (call $proc_exit (i32.const 0))",
    );
    let response = invoke(&compile(&wat), request(b"")).await;
    assert_eq!(response.result, Ok(b"done".to_vec()));

    let wat = module("", "(call $proc_exit (i32.const 3))");
    let response = invoke(&compile(&wat), request(b"")).await;
    assert_eq!(response.result, Err(Failure::Exit(3)));
}

/// A current-thread runtime has a single worker: if the spinning guest blocked it, the
/// second invocation could not finish before the first one's timeout.
#[tokio::test(flavor = "current_thread")]
async fn endless_loop_times_out_without_blocking_the_worker() {
    let spin = compile(&module("", "(loop $forever (br $forever))"));
    let quick = compile(&echo());
    let mut spin_request = request(b"");
    spin_request.limits.timeout = Duration::from_millis(200);

    let started = Instant::now();
    let looping = async {
        let response = invoke(&spin, spin_request).await;
        (response, started.elapsed())
    };
    let concurrent = async {
        // Let the loop start first.
        tokio::task::yield_now().await;
        let response = invoke(&quick, request(b"ping")).await;
        (response, started.elapsed())
    };
    let ((spun, spun_after), (quick_response, quick_after)) = tokio::join!(looping, concurrent);

    assert_eq!(
        spun.result,
        Err(Failure::Timeout(Duration::from_millis(200)))
    );
    assert!(spun_after >= Duration::from_millis(200), "{spun_after:?}");
    assert!(spun_after < Duration::from_secs(1), "{spun_after:?}");
    assert_eq!(quick_response.result, Ok(b"ping".to_vec()));
    assert!(
        quick_after < Duration::from_millis(200),
        "second invocation waited for the loop: {quick_after:?}"
    );
}

/// Epochs only advance deadlines while wasm runs; a guest parked in a host call (here a
/// 10 s `poll_oneoff` sleep) is stopped by the tokio-side safety net instead.
#[tokio::test(flavor = "current_thread")]
async fn sleeping_in_a_host_call_times_out_too() {
    // One clock subscription at 64: userdata u64, tag u8 = 0 (clock) at +8, clock id
    // u32 = 1 (monotonic) at +16, timeout u64 ns at +24, precision at +32, flags at +40.
    let wat = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store8 (i32.const 72) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (i64.const 10000000000))
    (drop (call $poll (i32.const 64) (i32.const 256) (i32.const 1) (i32.const 512)))))"#;
    let mut req = request(b"");
    req.limits.timeout = Duration::from_millis(200);
    let started = Instant::now();
    let response = invoke(&compile(wat), req).await;
    assert_eq!(
        response.result,
        Err(Failure::Timeout(Duration::from_millis(200)))
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn memory_bomb_is_out_of_memory() {
    let wat = module(
        "",
        r#"(loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable"#,
    );
    let mut req = request(b"");
    req.limits.memory_bytes = 16 << 20;
    let response = invoke(&compile(&wat), req).await;
    assert_eq!(
        response.result,
        Err(Failure::OutOfMemory {
            limit_bytes: 16 << 20
        })
    );
}

#[tokio::test]
async fn initial_memory_above_the_limit_is_out_of_memory() {
    let wat = r#"(module
  (memory (export "memory") 100)
  (func (export "_start")))"#;
    let mut req = request(b"");
    req.limits.memory_bytes = 1 << 20;
    let response = invoke(&compile(wat), req).await;
    assert_eq!(
        response.result,
        Err(Failure::OutOfMemory {
            limit_bytes: 1 << 20
        })
    );
}

#[tokio::test]
async fn huge_output_is_output_too_large() {
    // 160 writes of 64 KiB = 10 MiB, more than the default 6 MiB cap.
    let wat = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (i32.const 65536))
    (loop $more
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 160))))))"#;
    let response = invoke(&compile(wat), request(b"")).await;
    assert_eq!(
        response.result,
        Err(Failure::OutputTooLarge {
            limit_bytes: 6 * 1024 * 1024
        })
    );
}

#[tokio::test]
async fn env_is_exactly_the_requested_one() {
    // Writes the environ buffer (`K=V\0...`) to stdout.
    let wat = r#"(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $sizes (i32.const 100) (i32.const 104)))
    (drop (call $get (i32.const 200) (i32.const 1024)))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.load (i32.const 104)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
    let mut req = request(b"");
    req.env = vec![("A".into(), "1".into()), ("TABLE".into(), "notes".into())];
    let response = invoke(&compile(wat), req).await;
    assert_eq!(response.result, Ok(b"A=1\0TABLE=notes\0".to_vec()));
}

#[tokio::test]
async fn no_preopened_directories() {
    // fd 3 would be the first preopen; WASI answers EBADF (8) when there is none.
    let wat = r#"(module
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store8 (i32.const 100) (call $prestat (i32.const 3) (i32.const 200)))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
    let response = invoke(&compile(wat), request(b"")).await;
    assert_eq!(response.result, Ok(vec![8]));
}

#[tokio::test]
async fn failures_do_not_poison_the_handler() {
    let handler = compile(&module("", "unreachable"));
    for _ in 0..3 {
        let response = invoke(&handler, request(b"")).await;
        assert!(matches!(response.result, Err(Failure::Trap(_))));
    }
    let echo = compile(&echo());
    assert_eq!(
        invoke(&echo, request(b"still fine")).await.result,
        Ok(b"still fine".to_vec())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_invocations() {
    let handler = compile(&echo());
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let handler = handler.clone();
            tokio::spawn(async move {
                let event = format!("event-{i}").into_bytes();
                let response = common::runtime()
                    .invoke(&handler, common::request(&event))
                    .await;
                assert_eq!(response.result, Ok(event));
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn limits_are_per_invocation() {
    let wat = module(
        "",
        r#"(if (i32.eq (memory.grow (i32.const 32)) (i32.const -1)) (then unreachable))"#,
    );
    let handler = compile(&wat);
    let mut small = request(b"");
    small.limits = Limits {
        timeout: Duration::from_secs(5),
        memory_bytes: 1 << 20,
    };
    assert!(matches!(
        invoke(&handler, small).await.result,
        Err(Failure::OutOfMemory { .. })
    ));
    assert_eq!(invoke(&handler, request(b"")).await.result, Ok(Vec::new()));
}
