#!/usr/bin/env bash
# Rebuilds the committed JavaScript runner (js-runner.wasm, beside this script) from the
# sources in this directory: QuickJS-ng (vendored by the rquickjs-sys crate, pinned in
# Cargo.lock) compiled with Debian's clang-19 against Debian's wasi-libc, and the Rust
# runner around it, for wasm32-wasip1.
#
#   apt-get install -y clang-19 llvm-19 lld-19 wasi-libc   # once
#   crates/js-runner/build.sh
#
# The environment below stops rquickjs-sys from downloading a wasi-sdk: it uses the
# system compiler and the Debian wasi-libc headers instead.
set -euo pipefail
cd "$(dirname "$0")"
export RQUICKJS_SYS_NO_WASI_SDK=1
export CC_wasm32_wasip1="${CC_wasm32_wasip1:-clang-19}"
export AR_wasm32_wasip1="${AR_wasm32_wasip1:-llvm-ar-19}"
export CFLAGS_wasm32_wasip1="${CFLAGS_wasm32_wasip1:--isystem /usr/include/wasm32-wasi}"
# An explicit target dir: a CARGO_TARGET_DIR set for the host workspace must not move the output.
cargo build --locked --release --target wasm32-wasip1 --target-dir target
cp target/wasm32-wasip1/release/js-runner.wasm js-runner.wasm
sha256sum js-runner.wasm
