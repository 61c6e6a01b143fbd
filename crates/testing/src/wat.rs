//! Tiny handlers as WebAssembly text, for tests that write handlers on the fly (hot
//! reload, missing handlers) without building anything.

/// A WASI handler that answers `{"statusCode":200,"body":"<text>"}`. `text` must not need
/// JSON escaping.
pub fn responding(text: &str) -> String {
    let body = format!(r#"{{"statusCode":200,"body":"{text}"}}"#);
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{escaped}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const {len}))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        escaped = body.replace('"', "\\\""),
        len = body.len()
    )
}
