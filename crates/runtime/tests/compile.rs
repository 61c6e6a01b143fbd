//! `Runtime::compile`: readable errors for modules we cannot run, and the disk cache.

mod common;

use common::{echo, module, request};
use sandbox_runtime::{Runtime, RuntimeConfig};

#[test]
fn module_without_start_is_rejected() {
    let err = common::runtime()
        .compile(br#"(module (func (export "main")))"#)
        .unwrap_err();
    assert!(err.message.contains("_start"), "{err}");
    assert!(err.to_string().contains("WASI command"), "{err}");
}

#[test]
fn start_with_wrong_type_is_rejected() {
    let err = common::runtime()
        .compile(br#"(module (func (export "_start") (param i32)))"#)
        .unwrap_err();
    assert!(err.message.contains("_start"), "{err}");
}

#[test]
fn invalid_wat_reports_line_and_column() {
    let err = common::runtime()
        .compile(b"(module\n  (func (export \"_start\")\n    (bogus.instruction)))")
        .unwrap_err();
    assert!(err.message.contains(":3:"), "no line number in: {err}");
}

#[test]
fn invalid_binary_is_rejected() {
    let err = common::runtime()
        .compile(b"\0asm\x01\0\0\0garbage")
        .unwrap_err();
    assert!(err.message.contains("invalid WebAssembly module"), "{err}");
}

#[test]
fn unknown_import_is_named() {
    let err = common::runtime()
        .compile(
            br#"(module
  (import "sandbox" "publish" (func (param i32 i32)))
  (func (export "_start")))"#,
        )
        .unwrap_err();
    assert!(err.message.contains("sandbox"), "{err}");
    assert!(err.message.contains("publish"), "{err}");
}

#[test]
fn wrongly_typed_wasi_import_is_rejected() {
    let err = common::runtime()
        .compile(
            br#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i64)))
  (func (export "_start")))"#,
        )
        .unwrap_err();
    assert!(err.message.contains("proc_exit"), "{err}");
}

#[test]
fn binary_modules_compile_too() {
    // Smallest valid command: (module (func (export "_start"))).
    let wasm = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x03\x02\x01\0\x07\x0a\x01\x06_start\0\0\x0a\x04\x01\x02\0\x0b";
    assert!(common::runtime().compile(wasm).is_ok());
}

fn cached_runtime(dir: &std::path::Path) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.to_path_buf()),
        ..RuntimeConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn disk_cache_is_hit_by_a_second_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let wat = echo();

    let first = cached_runtime(dir.path());
    let handler = first.compile(wat.as_bytes()).unwrap();
    assert!(!handler.cache_hit());
    drop((first, handler));

    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].ends_with(".cwasm"), "{entries:?}");

    let second = cached_runtime(dir.path());
    let handler = second.compile(wat.as_bytes()).unwrap();
    assert!(handler.cache_hit());
    let response = second.invoke(&handler, request(b"from cache")).await;
    assert_eq!(response.result, Ok(b"from cache".to_vec()));
}

#[tokio::test]
async fn corrupt_cache_entry_is_recompiled_and_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let wat = echo();
    let runtime = cached_runtime(dir.path());
    assert!(!runtime.compile(wat.as_bytes()).unwrap().cache_hit());

    for entry in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"definitely not machine code").unwrap();
    }
    let handler = runtime.compile(wat.as_bytes()).unwrap();
    assert!(!handler.cache_hit());
    let response = runtime.invoke(&handler, request(b"recovered")).await;
    assert_eq!(response.result, Ok(b"recovered".to_vec()));

    // The bad entry was replaced by a good one.
    assert!(runtime.compile(wat.as_bytes()).unwrap().cache_hit());
}

#[test]
fn rejected_modules_are_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = cached_runtime(dir.path());
    assert!(runtime
        .compile(br#"(module (func (export "main")))"#)
        .is_err());
    assert_eq!(
        std::fs::read_dir(dir.path())
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

#[test]
fn unwritable_cache_dir_still_compiles() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let runtime = cached_runtime(&file);
    let handler = runtime.compile(module("", "").as_bytes()).unwrap();
    assert!(!handler.cache_hit());
}
