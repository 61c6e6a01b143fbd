//! The JavaScript runner module shipped with the sandbox: `crates/js-runner` built for
//! wasm32-wasip1 and committed (`crates/js-runner/js-runner.wasm`, rebuilt from source
//! by `crates/js-runner/build.sh`), so a machine without clang still runs JS handlers.
//!
//! Once per app lineage the runner is compiled, run once to start QuickJS and evaluate
//! its own JavaScript, and snapshotted ([`super::snapshot`]); the snapshot is what every
//! invocation instantiates (both modules go through the on-disk compile cache, and the
//! snapshot's bytes are the same on every run, so a restart compiles nothing). Each
//! bundle is compiled to QuickJS bytecode once, when it loads, by the runner itself
//! (compile mode), so invocations read bytecode instead of parsing source.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sandbox_runtime::{Handler, Limits, Preinit, Request, Runtime};

use super::preload::Preload;
use super::Script;

/// The runner module's bytes.
pub const WASM: &[u8] = include_bytes!("../../../js-runner/js-runner.wasm");

/// The runner's export that starts QuickJS and evaluates its JavaScript layer.
const INIT: &str = "sandbox_init";

/// The compiled runner, shared by an app and the apps reloaded from it.
#[derive(Clone, Default)]
pub struct RunnerCell {
    runner: Arc<Mutex<Option<Handler>>>,
    /// Serialises per-bundle snapshot builds (see [`super::preload`]).
    builds: Arc<Mutex<()>>,
}

impl RunnerCell {
    /// The compiled (snapshotted) runner, made on first use (CPU-bound: call off the
    /// async threads).
    pub fn get(&self, runtime: &Runtime) -> Result<Handler, String> {
        let mut slot = self
            .runner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(handler) = slot.as_ref() {
            return Ok(handler.clone());
        }
        let plain = runtime
            .compile(WASM)
            .map_err(|e| format!("the JavaScript runner does not compile: {e}"))?;
        // Without a snapshot the runner still works, starting QuickJS in every instance.
        let handler = match snapshot(runtime, &plain) {
            Ok(handler) => handler,
            Err(e) => {
                tracing::warn!(error = %e, "cannot snapshot the JavaScript runner; JavaScript invocations will be slower");
                plain
            }
        };
        *slot = Some(handler.clone());
        Ok(handler)
    }

    /// The runner and `script` with its modules compiled to bytecode (the source stays
    /// for any module QuickJS would not compile: running it reports the error as before),
    /// ready to build its per-bundle snapshot on first use.
    pub fn prepare(&self, runtime: &Runtime, script: Script) -> Result<(Handler, Script), String> {
        let handler = self.get(runtime)?;
        let stdin = script.compile_stdin();
        let response = block_on(runtime.invoke(
            &handler,
            Request {
                function: "compile".into(),
                request_id: "compile".into(),
                event: stdin,
                limits: Limits {
                    timeout: Duration::from_secs(60),
                    memory_bytes: 1 << 30,
                },
                env: Vec::new(),
                host: None,
            },
        ));
        let mut script = match response.result {
            Ok(bytecode) => script.with_bytecode(&bytecode),
            Err(e) => {
                tracing::warn!(error = %e, "cannot compile a JavaScript bundle to bytecode; it runs from source");
                script
            }
        };
        script.preload = Some(Arc::new(Preload::new(
            runtime.clone(),
            handler.clone(),
            self.builds.clone(),
            &script.modules[0].0["id"],
            script.prefix.clone(),
        )));
        Ok((handler, script))
    }
}

fn snapshot(runtime: &Runtime, plain: &Handler) -> Result<Handler, String> {
    let after = block_on(runtime.memory_after(plain, INIT, Preinit::Fixed))?;
    let wasm = super::snapshot::rewrite(WASM, &after.memory)?;
    runtime.compile(&wasm).map_err(|e| e.to_string())
}

/// Runs `future` from a blocking thread: on the app's tokio runtime when there is one
/// (the timeout's safety net needs its timer), else on a small one of its own.
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.block_on(future),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(future),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sandbox_runtime::RuntimeConfig;

    async fn run(runtime: &Runtime, handler: &Handler, script: &Script, event: &[u8]) -> String {
        let response = runtime
            .invoke(
                handler,
                Request {
                    function: "f".into(),
                    request_id: "r".into(),
                    event: script.stdin("r", Duration::from_secs(5), event),
                    limits: Limits {
                        timeout: Duration::from_secs(5),
                        memory_bytes: 256 << 20,
                    },
                    env: vec![("GREETING".into(), "hi".into())],
                    host: None,
                },
            )
            .await;
        match response.result {
            Ok(out) => String::from_utf8(out).unwrap(),
            Err(e) => panic!("{e}: {:?}", response.logs),
        }
    }

    /// One test (compiling the runner is the slow part): the snapshot is deterministic,
    /// and a snapshotted runner with a bytecode bundle runs handlers with this
    /// invocation's environment and randomness.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn snapshot_and_bytecode_run_handlers() {
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        let plain = runtime.compile(WASM).unwrap();
        let first = runtime
            .memory_after(&plain, INIT, Preinit::Fixed)
            .await
            .unwrap();
        let second = runtime
            .memory_after(&plain, INIT, Preinit::Fixed)
            .await
            .unwrap();
        assert!(
            first.memory == second.memory,
            "the snapshot differs between runs"
        );

        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        std::fs::write(
            root.join("index.js"),
            "const lib = require('./lib.mjs')\nconst r = Math.random()\nexports.handler = async (e) => ({ got: e.n, env: process.env.GREETING, twice: lib.twice(e.n), r, same: r === Math.random() })\n",
        )
        .unwrap();
        std::fs::write(root.join("lib.mjs"), "export const twice = (n) => n * 2\n").unwrap();
        let script = super::super::load(&root, &root.join("index.js")).unwrap();
        let cell = RunnerCell::default();
        let (handler, script, compiled) = tokio::task::spawn_blocking({
            let runtime = runtime.clone();
            move || {
                let (handler, compiled) = cell.prepare(&runtime, script).unwrap();
                (handler, compiled.modules.clone(), compiled)
            }
        })
        .await
        .unwrap();
        assert!(
            script.iter().all(|(entry, _)| entry["bytecode"] == true),
            "{script:?}"
        );
        let a: serde_json::Value =
            serde_json::from_str(&run(&runtime, &handler, &compiled, b"{\"n\":21}").await).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(&run(&runtime, &handler, &compiled, b"{\"n\":1}").await).unwrap();
        assert_eq!(a["got"], 21);
        assert_eq!(a["twice"], 42);
        assert_eq!(a["env"], "hi");
        assert_eq!(a["same"], false);
        assert_ne!(a["r"], b["r"], "Math.random is re-seeded per invocation");
    }
}
