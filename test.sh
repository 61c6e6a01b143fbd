#!/usr/bin/env bash
# The project's test command (see README). rust-toolchain.toml pins the toolchain and the
# wasm32-wasip1 target, which rustup installs here if missing; fixture handlers are built
# by the sandbox itself when the end-to-end tests start it.
set -uo pipefail
cd "$(dirname "$0")"
rustup toolchain install >/dev/null || exit 1

# tests/aws_query.rs drives SQS's Query protocol with boto3 from a virtual environment it
# makes under target/ (from PyPI); Debian splits venv support out of python3.
if ! python3 -c 'import venv, ensurepip' 2>/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 python3-venv) >/dev/null \
        || echo "warning: could not install python3-venv; the Query protocol test will say what is missing"
fi

# tests/dashboard.rs drives the dashboard in Debian's headless Chromium through its
# ChromeDriver.
if { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; } && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver) >/dev/null \
        || echo "warning: could not install chromium and chromium-driver; the dashboard tests will say what is missing"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# The host workspace (unit, integration and end-to-end tests), then the guest SDK, which
# is its own workspace because handlers build for wasm32-wasip1.
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee -a "$log" || status=1
cargo test --manifest-path crates/sdk/Cargo.toml --no-fail-fast 2>&1 | tee -a "$log" || status=1

# One closing line over every test binary (cargo's own last line is often a doc-test
# binary with nothing in it).
passed=$(grep -aE '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed;.*/\1/' | awk '{s+=$1} END {print s+0}')
failed=$(grep -aE '^test result:' "$log" | sed -E 's/.* ([0-9]+) failed;.*/\1/' | awk '{s+=$1} END {print s+0}')
echo
echo "summary: $passed passed, $failed failed"
exit $status
