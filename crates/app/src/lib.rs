//! A loaded app: the manifest, every function compiled (or the reason it is not), and
//! the single [`App::invoke`] that every trigger calls.
//!
//! This is the one way in: the HTTP router and the schedule, queue, topic, stream and bus
//! drivers all turn their input into AWS-shaped event JSON and call `invoke`. Nothing
//! outside this crate and `sandbox-runtime` touches wasmtime, and this crate knows
//! nothing about HTTP or queues. The app being served sits in an [`AppCell`], swapped
//! whole on reload.

mod build;
mod functions;
mod invocations;
mod lineage;
mod script;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sandbox_manifest::Manifest;
use sandbox_runtime::{Failure, Limits, Request, Runtime};

pub use build::BuildOptions;

/// The app being served; swapped whole on reload. Requests and drivers load it per
/// delivery, so new code takes over at once while running invocations finish on the old.
pub type AppCell = Arc<arc_swap::ArcSwap<App>>;
pub use functions::{FunctionSlot, LoadState};
pub use invocations::{InvocationLog, InvocationRecord, Observer, Outcome};
pub use lineage::{Caller, Services};
pub use script::Script;

/// What caused an invocation; recorded with it and shown by the control API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Http,
    Queue,
    Topic,
    Schedule,
    Stream,
    Bus,
    /// `sandbox invoke` or a control-API call.
    Manual,
}

/// Why `invoke` could not even start the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// No function of that name; carries the known names for the message.
    Unknown { name: String, known: Vec<String> },
    /// The function exists but has no runnable code (missing, build or compile error).
    NotLoaded { name: String, reason: String },
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::Unknown { name, known } => {
                write!(
                    f,
                    "no function named `{name}`; known functions: {}",
                    known.join(", ")
                )
            }
            InvokeError::NotLoaded { name, reason } => {
                write!(f, "function `{name}` is not loaded: {reason}")
            }
        }
    }
}

impl std::error::Error for InvokeError {}

/// The result of one invocation.
#[derive(Debug, Clone)]
pub struct Invoked {
    pub request_id: String,
    pub output: Result<Vec<u8>, Failure>,
    pub duration: Duration,
}

/// The running application. Cheap to share (`Arc<App>`); immutable once loaded, so a
/// reload builds a new `App` and swaps it in.
pub struct App {
    manifest: Manifest,
    functions: BTreeMap<String, FunctionSlot>,
    runtime: Runtime,
    invocations: Arc<InvocationLog>,
    in_flight: Arc<Activity>,
    /// The services handlers publish to; connected once the triggers exist.
    host: OnceLock<Arc<dyn Services>>,
    /// The JavaScript runner, compiled once and shared with reloaded apps.
    runner: script::runner::RunnerCell,
}

impl App {
    /// Builds (where the function is a Rust crate or has a build command) and compiles
    /// every function. Never fails as a whole: a function that cannot be loaded is
    /// recorded with its reason, and the rest of the app runs.
    pub async fn load(manifest: Manifest, runtime: Runtime, options: &BuildOptions) -> App {
        let runner = script::runner::RunnerCell::default();
        let functions = functions::load_all(&manifest, &runtime, &runner, options).await;
        App {
            runner,
            manifest,
            functions,
            runtime,
            invocations: Arc::new(InvocationLog::new(1000)),
            in_flight: Arc::new(Activity::default()),
            host: OnceLock::new(),
        }
    }

    /// Gives handlers the app's services (`sandbox.call`). The first connection wins.
    pub fn connect(&self, host: Arc<dyn Services>) {
        let _ = self.host.set(host);
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// A new app that differs only in `slot`, sharing this one's invocation log,
    /// in-flight count and services, so a swap loses nothing.
    pub fn with_slot(&self, slot: FunctionSlot) -> App {
        let mut functions = self.functions.clone();
        functions.insert(slot.function.name.clone(), slot);
        self.successor(self.manifest.clone(), functions)
    }

    /// Reloads one function (rebuild if it is built, recompile). When that fails and
    /// the function had working code, the old code keeps serving and the error is kept
    /// beside it; the returned flag says whether the new code is in.
    pub async fn reload_function(
        &self,
        name: &str,
        options: &BuildOptions,
    ) -> Option<(App, Result<(), String>)> {
        let old = self.functions.get(name)?;
        let mut slot = functions::load_one(
            &self.manifest,
            &old.function,
            &self.runtime,
            &self.runner,
            options,
        )
        .await;
        let outcome = match (&slot.state, &old.state) {
            (LoadState::Ready(_), _) => Ok(()),
            (failed, LoadState::Ready(_)) => {
                let reason = failed.reason().unwrap_or_default();
                slot = FunctionSlot {
                    reload_error: Some(reason.clone()),
                    ..old.clone()
                };
                Err(reason)
            }
            (failed, _) => Err(failed.reason().unwrap_or_default()),
        };
        Some((self.with_slot(slot), outcome))
    }

    /// A new app for a changed manifest: functions whose definition did not change keep
    /// their compiled code (no rebuild, no recompile); the others load afresh.
    pub async fn reload(&self, manifest: Manifest, options: &BuildOptions) -> App {
        let mut functions = BTreeMap::new();
        for function in manifest.functions.values() {
            let slot = match self.functions.get(&function.name) {
                Some(old)
                    if old.function == *function && matches!(old.state, LoadState::Ready(_)) =>
                {
                    FunctionSlot {
                        env: functions::environment_for(
                            &manifest,
                            function,
                            options.endpoint.as_deref(),
                        ),
                        ..old.clone()
                    }
                }
                _ => {
                    let fresh = functions::load_one(
                        &manifest,
                        function,
                        &self.runtime,
                        &self.runner,
                        options,
                    )
                    .await;
                    match self.functions.get(&function.name) {
                        // A failed build or compile never replaces working code.
                        Some(old)
                            if fresh.state.reason().is_some()
                                && matches!(old.state, LoadState::Ready(_)) =>
                        {
                            FunctionSlot {
                                function: function.clone(),
                                env: fresh.env,
                                state: old.state.clone(),
                                reload_error: fresh.state.reason(),
                                script: old.script.clone(),
                            }
                        }
                        _ => fresh,
                    }
                }
            };
            functions.insert(function.name.clone(), slot);
        }
        self.successor(manifest, functions)
    }

    fn successor(&self, manifest: Manifest, functions: BTreeMap<String, FunctionSlot>) -> App {
        let host = OnceLock::new();
        if let Some(connected) = self.host.get() {
            let _ = host.set(connected.clone());
        }
        App {
            manifest,
            functions,
            runtime: self.runtime.clone(),
            invocations: self.invocations.clone(),
            in_flight: self.in_flight.clone(),
            host,
            runner: self.runner.clone(),
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn functions(&self) -> &BTreeMap<String, FunctionSlot> {
        &self.functions
    }

    pub fn invocations(&self) -> &InvocationLog {
        &self.invocations
    }

    /// Invocations running right now (for drain).
    pub fn in_flight(&self) -> u64 {
        self.in_flight.running.load(Ordering::Acquire)
    }

    /// Invocations finished since the sandbox started (shared by reloaded apps).
    pub fn finished(&self) -> u64 {
        self.in_flight.finished.load(Ordering::Acquire)
    }

    /// Resolves a user-typed function name: the full name (`http/get-index`) or, when
    /// unambiguous, the part after the kind (`get-index`, `daily`).
    pub fn resolve(&self, name: &str) -> Option<&str> {
        if let Some((full, _)) = self.functions.get_key_value(name) {
            return Some(full);
        }
        let mut matches = self
            .functions
            .keys()
            .filter(|full| full.split_once('/').is_some_and(|(_, rest)| rest == name));
        match (matches.next(), matches.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }

    /// Runs `function` once on `event`. `request_id` is generated when `None`.
    pub async fn invoke(
        &self,
        function: &str,
        trigger: Trigger,
        request_id: Option<String>,
        event: Vec<u8>,
    ) -> Result<Invoked, InvokeError> {
        self.invoke_in_chain(function, trigger, request_id, event, 0)
            .await
    }

    /// Like [`App::invoke`] for an event that `hops` earlier invocations caused (a
    /// message a handler sent): the handler's own `sandbox.call`s are told, so what it
    /// sends carries `hops + 1` (see `lineage`).
    pub async fn invoke_in_chain(
        &self,
        function: &str,
        trigger: Trigger,
        request_id: Option<String>,
        event: Vec<u8>,
        hops: u32,
    ) -> Result<Invoked, InvokeError> {
        let Some(slot) = self.functions.get(function) else {
            return Err(InvokeError::Unknown {
                name: function.to_string(),
                known: self.functions.keys().cloned().collect(),
            });
        };
        let handler = match &slot.state {
            LoadState::Ready(handler) => handler,
            other => {
                return Err(InvokeError::NotLoaded {
                    name: function.to_string(),
                    reason: other.reason().unwrap_or_default(),
                })
            }
        };
        let request_id = request_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        // The event as the trigger built it (not a JavaScript runner's input), for the record.
        let shown_event = invocations::excerpt(&event);
        // A JavaScript handler's runner reads its modules (or starts from a snapshot
        // holding them loaded) and its context before the event.
        let (handler, event) = match &slot.script {
            Some(script) => {
                let timeout = slot.function.timeout;
                script.invocation(handler, &slot.env, &request_id, timeout, &event)
            }
            None => (handler.clone(), event),
        };
        let started_at = chrono::Utc::now();
        let _guard = InFlight::enter(&self.in_flight);
        let response = self
            .runtime
            .invoke(
                &handler,
                Request {
                    function: function.to_string(),
                    request_id: request_id.clone(),
                    event,
                    limits: Limits {
                        timeout: slot.function.timeout,
                        memory_bytes: slot.function.memory_mib as usize * 1024 * 1024,
                    },
                    env: slot.env.clone(),
                    host: self
                        .host
                        .get()
                        .map(|services| lineage::bind(services, hops)),
                },
            )
            .await;
        self.invocations.push(InvocationRecord {
            function: function.to_string(),
            trigger,
            request_id: request_id.clone(),
            outcome: Outcome::from_result(&response.result),
            error: response.result.as_ref().err().map(|e| e.to_string()),
            duration_ms: response.duration.as_secs_f64() * 1000.0,
            started_at,
            logs: response.logs,
            event: Some(shown_event),
            response: response.result.as_deref().ok().map(invocations::excerpt),
        });
        Ok(Invoked {
            request_id,
            output: response.result,
            duration: response.duration,
        })
    }

    /// The loaded app as JSON for `GET /_sandbox/status`.
    pub fn status(&self) -> serde_json::Value {
        let functions: Vec<_> = self
            .functions
            .values()
            .map(|slot| {
                serde_json::json!({
                    "name": slot.function.name,
                    "dir": slot.function.dir,
                    "handler": slot.function.handler,
                    "state": slot.state.name(),
                    "error": slot.state.reason(),
                    "reloadError": slot.reload_error,
                    "timeoutMs": slot.function.timeout.as_millis() as u64,
                    "memoryMiB": slot.function.memory_mib,
                })
            })
            .collect();
        let m = &self.manifest;
        serde_json::json!({
            "app": m.app,
            "manifest": m.file,
            "functions": functions,
            "routes": m.routes,
            "queues": m.queues,
            "topics": m.topics,
            "schedules": m.schedules,
            "streams": m.streams,
            "buses": m.buses,
            "static": m.static_dir,
        })
    }
}

/// Counts an invocation as running for as long as it lives, even if the future is
/// dropped half-way (a client that disconnects must not leave drain waiting forever).
struct InFlight<'a>(&'a Activity);

impl<'a> InFlight<'a> {
    fn enter(activity: &'a Activity) -> Self {
        activity.running.fetch_add(1, Ordering::AcqRel);
        InFlight(activity)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        // Finished before no longer running: drain reads them in the other order.
        self.0.finished.fetch_add(1, Ordering::AcqRel);
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Invocations running now, and how many have ever finished (so drain can tell that
/// something completed while it was looking).
#[derive(Default)]
struct Activity {
    running: AtomicU64,
    finished: AtomicU64,
}
