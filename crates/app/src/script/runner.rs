//! The JavaScript runner module shipped with the sandbox: `crates/js-runner` built for
//! wasm32-wasip1 and committed (`crates/js-runner/js-runner.wasm`, rebuilt from source
//! by `crates/js-runner/build.sh`), so a machine without clang still runs JS handlers.
//! Compiled once per app lineage (and cached on disk like every module).

use std::sync::{Arc, Mutex};

use sandbox_runtime::{Handler, Runtime};

/// The runner module's bytes.
pub const WASM: &[u8] = include_bytes!("../../../js-runner/js-runner.wasm");

/// The compiled runner, shared by an app and the apps reloaded from it.
#[derive(Clone, Default)]
pub struct RunnerCell(Arc<Mutex<Option<Handler>>>);

impl RunnerCell {
    /// The compiled runner, compiling it on first use (CPU-bound: call off the async
    /// threads).
    pub fn get(&self, runtime: &Runtime) -> Result<Handler, String> {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(handler) = slot.as_ref() {
            return Ok(handler.clone());
        }
        let handler = runtime
            .compile(WASM)
            .map_err(|e| format!("the JavaScript runner does not compile: {e}"))?;
        *slot = Some(handler.clone());
        Ok(handler)
    }
}
