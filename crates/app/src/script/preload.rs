//! Per-bundle snapshots: the JavaScript runner with one handler's bundle loaded and its
//! module scope run, captured once per load so every invocation starts there (as
//! Wizer would pre-initialise it, and as Lambda's init phase or SnapStart does).
//!
//! A load serves at once from the snapshotted runner plus bytecode (every invocation
//! reads the bundle and runs the module scope); the [`BUILD_AFTER`]th invocation starts
//! building this snapshot in the background (instantiate the runner, run its `sandbox_preload`
//! export with the bundle and the function's environment, rewrite the module around the
//! memory with [`super::snapshot::rewrite`], compile), and invocations switch to it once
//! it is ready. A reload makes a new [`super::Script`], so new code never waits for a
//! snapshot and an old snapshot never serves new code.
//!
//! What the module scope computed is frozen for the whole load: values it drew from
//! `Math.random` or `crypto` and times it read stay those of the snapshot, while each
//! invocation still gets fresh randomness, a live `Date` and the current environment.
//! A bundle whose module scope throws, logs, calls the sandbox services, leaves timers
//! pending or awaits something unsettled is not snapshotted (the runner says why) and
//! keeps loading per invocation, so its behaviour is exactly as without snapshots. The
//! snapshot is taken with one environment; invocations with another (a manifest reload
//! changed it) use the bytecode path and build a snapshot for theirs.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use sandbox_runtime::{Handler, Preinit, Runtime};

/// The runner's export that loads a bundle for a snapshot (see its `main.rs`).
const PRELOAD: &str = "sandbox_preload";

/// Invocations of one load before its snapshot is built: compiling one costs a core for
/// a second or more (the first after start compiles the whole runner), which a function
/// called a few times — most functions while developing, every end-to-end test — would
/// never win back.
const BUILD_AFTER: u32 = 16;

/// An environment as handlers receive it.
type Env = Vec<(String, String)>;

/// One bundle's snapshot, built on first use.
pub struct Preload {
    runtime: Runtime,
    /// The snapshotted runner the bundle is loaded into.
    runner: Handler,
    /// The runner's stdin for `sandbox_preload`: the bundle (bytecode), an empty
    /// context, no event.
    stdin: Vec<u8>,
    /// The header line an invocation from the snapshot is sent instead of the bundle.
    header: Vec<u8>,
    /// One build at a time across the app lineage: they share the compiler's cache
    /// of the runner's unchanged functions, so the first build fills it for the rest.
    builds: Arc<Mutex<()>>,
    ready: ArcSwapOption<Ready>,
    /// The environment last built (or being built) for, so each is tried once.
    tried: Mutex<Option<Env>>,
    /// Invocations without a snapshot so far (counted up to [`BUILD_AFTER`]).
    invocations: AtomicU32,
}

struct Ready {
    env: Env,
    handler: Handler,
}

impl Preload {
    pub fn new(
        runtime: Runtime,
        runner: Handler,
        builds: Arc<Mutex<()>>,
        entry: &serde_json::Value,
        bundle: Vec<u8>,
    ) -> Preload {
        let mut stdin = bundle;
        stdin.extend_from_slice(b"{}\n");
        let header = serde_json::json!({ "entry": entry, "preloaded": true, "modules": [] });
        let mut header = header.to_string().into_bytes();
        header.push(b'\n');
        Preload {
            runtime,
            runner,
            stdin,
            header,
            builds,
            ready: ArcSwapOption::empty(),
            tried: Mutex::new(None),
            invocations: AtomicU32::new(0),
        }
    }

    /// The snapshot's handler and the header line to send it, when one is ready for
    /// `env`; otherwise answers `None`, and once the load has been invoked often enough
    /// starts building one (once per environment).
    pub fn handler(self: &Arc<Self>, env: &[(String, String)]) -> Option<(Handler, &[u8])> {
        if let Some(ready) = self.ready.load().as_ref() {
            if ready.env == env {
                return Some((ready.handler.clone(), &self.header));
            }
        }
        let seen = self.invocations.load(Ordering::Relaxed);
        if seen < BUILD_AFTER {
            self.invocations.store(seen + 1, Ordering::Relaxed);
        } else {
            self.start(env);
        }
        None
    }

    fn start(self: &Arc<Self>, env: &[(String, String)]) {
        {
            let mut tried = self.tried.lock().unwrap_or_else(|e| e.into_inner());
            if tried.as_deref() == Some(env) {
                return;
            }
            *tried = Some(env.to_vec());
        }
        let preload = self.clone();
        let env = env.to_vec();
        let build = move || preload.build(env);
        // Off the async threads: compiling takes a core for a while.
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(build)),
            Err(_) => drop(std::thread::spawn(build)),
        }
    }

    fn build(&self, env: Env) {
        let _one_at_a_time = self.builds.lock().unwrap_or_else(|e| e.into_inner());
        let started = std::time::Instant::now();
        match self.snapshot(&env) {
            Ok(handler) => {
                tracing::debug!(took = ?started.elapsed(), "JavaScript bundle snapshotted");
                self.ready.store(Some(Arc::new(Ready { env, handler })));
            }
            // Not an error for the user: the bundle keeps loading per invocation.
            Err(why) => tracing::debug!(%why, "JavaScript bundle not snapshotted"),
        }
    }

    fn snapshot(&self, env: &[(String, String)]) -> Result<Handler, String> {
        let input = Preinit::Live {
            stdin: self.stdin.clone(),
            env: env.to_vec(),
        };
        // `memory_after` bounds the run's time and memory.
        let after =
            super::runner::block_on(self.runtime.memory_after(&self.runner, PRELOAD, input))?;
        if after.stdout != b"ok" {
            return Err(String::from_utf8_lossy(&after.stdout).into_owned());
        }
        if !after.stderr.is_empty() {
            return Err("its module scope writes logs".into());
        }
        let wasm = super::snapshot::rewrite(super::runner::WASM, &after.memory)?;
        self.runtime
            .compile_uncached(&wasm)
            .map_err(|e| e.to_string())
    }
}

impl std::fmt::Debug for Preload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preload")
            .field("ready", &self.ready.load().is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use sandbox_runtime::{Limits, Request, RuntimeConfig};

    use crate::script::runner::RunnerCell;

    fn env() -> Env {
        vec![("GREETING".into(), "hi".into())]
    }

    /// A bundle of `index.js` (`source`), prepared, with its snapshot built for `env()`
    /// if it can be.
    async fn built(
        runtime: &Runtime,
        runner: &RunnerCell,
        source: &str,
    ) -> (Handler, crate::Script) {
        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        std::fs::write(root.join("index.js"), source).unwrap();
        let script = crate::script::load(&root, &root.join("index.js")).unwrap();
        let (runtime, runner) = (runtime.clone(), runner.clone());
        tokio::task::spawn_blocking(move || {
            let (handler, script) = runner.prepare(&runtime, script).unwrap();
            script.preload.as_ref().unwrap().build(env());
            (handler, script)
        })
        .await
        .unwrap()
    }

    async fn invoke(runtime: &Runtime, handler: &Handler, script: &crate::Script) -> String {
        let (handler, stdin) =
            script.invocation(handler, &env(), "r", Duration::from_secs(5), b"{}");
        let response = runtime
            .invoke(
                &handler,
                Request {
                    function: "f".into(),
                    request_id: "r".into(),
                    event: stdin,
                    limits: Limits {
                        timeout: Duration::from_secs(5),
                        memory_bytes: 256 << 20,
                    },
                    env: env(),
                    host: None,
                },
            )
            .await;
        match response.result {
            Ok(out) => String::from_utf8(out).unwrap(),
            Err(e) => panic!("{e}: {:?}", response.logs),
        }
    }

    /// One test (compiling the runner is the slow part). Module scope runs once, in the
    /// snapshot: its values are frozen, its environment is the function's, and each
    /// invocation still draws fresh randomness and reads the clock live. A module scope
    /// that logs, leaves a timer or calls the services keeps loading per invocation.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn invocations_start_with_the_module_loaded() {
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        let runner = RunnerCell::default();
        let source = "let calls = 0\nconst loaded = Math.random()\nconst greeting = process.env.GREETING\nexports.handler = async () => ({ calls: ++calls, loaded, greeting, now: Math.random(), env: process.env.GREETING, t: Date.now() })\n";
        let (handler, script) = built(&runtime, &runner, source).await;
        let preload = script.preload.as_ref().unwrap();
        assert!(preload.handler(&env()).is_some());
        let a: serde_json::Value =
            serde_json::from_str(&invoke(&runtime, &handler, &script).await).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(&invoke(&runtime, &handler, &script).await).unwrap();
        assert_eq!(a["calls"], 1, "every invocation is a fresh instance: {a}");
        assert_eq!(b["calls"], 1, "{b}");
        assert_eq!(
            a["loaded"], b["loaded"],
            "module scope ran once, in the snapshot"
        );
        assert_ne!(
            a["now"], b["now"],
            "Math.random is re-seeded per invocation"
        );
        assert_eq!(a["greeting"], "hi");
        assert_eq!(a["env"], "hi");
        assert!(b["t"].as_f64() >= a["t"].as_f64());
        let other = vec![("GREETING".to_string(), "hello".to_string())];
        assert!(
            preload.handler(&other).is_none(),
            "another environment does not use this snapshot"
        );

        for source in [
            "console.log('loading')\nexports.handler = async () => 1\n",
            "setTimeout(() => {}, 1000)\nexports.handler = async () => 1\n",
            "try { __sandbox_call('{}') } catch {}\nexports.handler = async () => 1\n",
            "await new Promise(() => {})\nexport const handler = async () => 1\n",
        ] {
            let (handler, script) = built(&runtime, &runner, source).await;
            let preload = script.preload.as_ref().unwrap();
            assert!(preload.handler(&env()).is_none(), "{source}");
            if !source.starts_with("await") {
                assert_eq!(invoke(&runtime, &handler, &script).await, "1", "{source}");
            }
        }
    }
}
