#!/usr/bin/env bash
# The project's test command (see README). rust-toolchain.toml makes rustup install the
# pinned toolchain and the wasm32-wasip1 target on first use; fixture handlers are built
# by the sandbox itself when the end-to-end tests start it.
set -euo pipefail
cd "$(dirname "$0")"
rustup toolchain install >/dev/null   # the pinned toolchain and wasm32-wasip1, if missing
cargo test --workspace --no-fail-fast "$@"
