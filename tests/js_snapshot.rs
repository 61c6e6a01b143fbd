//! End to end: per-bundle snapshots of JavaScript handlers. A function invoked often
//! enough starts from a snapshot with its module loaded: its module scope ran once
//! (values it computed are the same in every invocation), while each invocation still
//! draws fresh randomness. An edit is served at once, and the new code gets its own
//! snapshot later.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::replace;
use sandbox_testing::Sandbox;
use serde_json::Value;

const HANDLER: &str = "const loaded = Math.random()\nexports.handler = async () => ({ version: VERSION, loaded, now: Math.random() })\n";

fn handler(version: u32) -> String {
    HANDLER.replace("VERSION", &version.to_string())
}

fn get(sandbox: &Sandbox) -> Value {
    let response = sandbox.get("/").unwrap();
    assert_eq!(
        response.status,
        200,
        "{}\n{}",
        response.text(),
        sandbox.output()
    );
    response.json().unwrap()
}

/// Invokes `/` until `version` answers from a snapshot: two answers in a row with the
/// same module-scope value (without one, every invocation runs the module scope with
/// fresh randomness). A condition polled, not a sleep; the deadline covers a debug
/// build compiling the runner.
fn await_snapshot(sandbox: &Sandbox, version: u32) -> (Value, Value) {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut previous = get(sandbox);
    loop {
        let next = get(sandbox);
        if next["version"] == version
            && previous["version"] == version
            && next["loaded"] == previous["loaded"]
        {
            return (previous, next);
        }
        assert!(
            Instant::now() < deadline,
            "version {version} never answered from a snapshot; last: {next}\n{}",
            sandbox.output()
        );
        previous = next;
    }
}

#[test]
fn module_scope_runs_once_per_load_and_edits_get_their_own_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("app.arc"), "@app\nsnapshots\n@http\nget /\n").unwrap();
    let file = root.join("src/http/get-index/index.js");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, handler(1)).unwrap();
    let sandbox = start(root);

    let (a, b) = await_snapshot(&sandbox, 1);
    assert_ne!(
        a["now"], b["now"],
        "Math.random is re-seeded per invocation"
    );

    replace(&file, &handler(2));
    // The new code is served at once (from bytecode), never the old snapshot.
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(&sandbox)["version"] != 2 {
        assert!(Instant::now() < deadline, "{}", sandbox.output());
    }
    let (c, _) = await_snapshot(&sandbox, 2);
    assert_ne!(
        c["loaded"], a["loaded"],
        "a new load runs its module scope again"
    );
}

fn start(root: &Path) -> Sandbox {
    Sandbox::builder(root)
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        // One compile cache for these throwaway projects: the JS runner is compiled once.
        .arg("--cache-dir")
        .arg(common::shared_cache())
        .start()
        .unwrap()
}
