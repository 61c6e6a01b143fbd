//! The WebAssembly runtime: one wasmtime [`Engine`](wasmtime::Engine), handlers compiled
//! once (and cached on disk), and a fresh, isolated instance for every invocation.
//!
//! This crate knows nothing about HTTP, queues or manifests: it takes bytes in (the
//! event JSON, written to the guest's stdin) and gives bytes out (the guest's stdout),
//! or a typed [`Failure`].
//!
//! ```no_run
//! # async fn demo(wasm: &[u8]) -> anyhow::Result<()> {
//! use sandbox_runtime::{Limits, Request, Runtime, RuntimeConfig};
//! let runtime = Runtime::new(RuntimeConfig::default())?;
//! let handler = runtime.compile(wasm)?;
//! let response = runtime
//!     .invoke(
//!         &handler,
//!         Request {
//!             function: "get-index".into(),
//!             request_id: "req-1".into(),
//!             event: br#"{"rawPath":"/"}"#.to_vec(),
//!             limits: Limits { timeout: std::time::Duration::from_secs(5), memory_bytes: 256 << 20 },
//!             env: vec![("TABLE".into(), "notes".into())],
//!             host: None,
//!         },
//!     )
//!     .await;
//! println!("{:?} in {:?}", response.result, response.duration);
//! # Ok(())
//! # }
//! ```

mod cache;
mod clock;
mod compile;
mod engine;
mod host;
mod incremental;
mod invoke;
mod limits;
mod logs;
mod output;
mod snapshot;
mod ticker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use clock::WallClock;
pub use compile::{CompileError, Handler};
pub use snapshot::{Preinit, Preinitialized};

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled artifacts are cached; `None` disables the disk cache.
    pub cache_dir: Option<PathBuf>,
    /// Upper bound for any function's memory limit (sizes the pooling allocator's slots).
    pub max_memory_mib: u32,
    /// Largest stdout a handler may produce (API Gateway/Lambda: 6 MB).
    pub max_output_bytes: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            max_memory_mib: 1024,
            max_output_bytes: 6 * 1024 * 1024,
        }
    }
}

/// Per-invocation limits, from the function's manifest entry.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub memory_bytes: usize,
}

/// Why an invocation failed. Every variant is contained: the daemon keeps serving.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    #[error("trap: {0}")]
    Trap(String),
    #[error("exited with status {0}")]
    Exit(i32),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("out of memory (limit {limit_bytes} bytes)")]
    OutOfMemory { limit_bytes: usize },
    #[error("output larger than {limit_bytes} bytes")]
    OutputTooLarge { limit_bytes: usize },
    #[error("malformed output: {0}")]
    MalformedOutput(String),
}

impl Failure {
    /// Short stable name for logs and the control API: `trap`, `exit`, `timeout`,
    /// `out_of_memory`, `output_too_large`, `malformed_output`.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Trap(_) => "trap",
            Failure::Exit(_) => "exit",
            Failure::Timeout(_) => "timeout",
            Failure::OutOfMemory { .. } => "out_of_memory",
            Failure::OutputTooLarge { .. } => "output_too_large",
            Failure::MalformedOutput(_) => "malformed_output",
        }
    }
}

/// The app's services as a handler reaches them, through the `sandbox` import module's
/// one function, `call`: a JSON request in, a JSON answer (`{"ok": …}` or
/// `{"error": "…"}`) out. One generic call keeps the guest/host boundary stable while
/// services are added; the host decides what each request may do.
pub trait Host: Send + Sync {
    /// Handles one request from the handler named `function`. Runs on the invoking
    /// thread while the guest waits, so it must not block for long.
    fn call(&self, function: &str, request: &[u8]) -> Vec<u8>;
}

/// A shared [`Host`], cheap to clone into every request.
#[derive(Clone)]
pub struct HostHandle(pub std::sync::Arc<dyn Host>);

impl std::fmt::Debug for HostHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostHandle")
    }
}

/// One invocation of a handler.
#[derive(Debug, Clone)]
pub struct Request {
    /// Function name, for log lines and the guest's `argv[0]`.
    pub function: String,
    /// Tags every log line the handler writes.
    pub request_id: String,
    /// Written to the guest's stdin (moved, not copied).
    pub event: Vec<u8>,
    pub limits: Limits,
    /// The guest's complete environment; nothing is inherited from the host.
    pub env: Vec<(String, String)>,
    /// What `sandbox.call` reaches; `None` answers every call with an error.
    pub host: Option<HostHandle>,
}

/// What an invocation produced.
#[derive(Debug, Clone)]
pub struct Response {
    /// The guest's stdout on success.
    pub result: Result<Vec<u8>, Failure>,
    /// The guest's stderr, one entry per line (also emitted via `tracing`, target `handler`).
    pub logs: Vec<String>,
    /// Wall time of the whole invocation, instantiation included.
    pub duration: Duration,
}

/// The process-wide runtime: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<engine::Shared>,
}

impl Runtime {
    /// Builds the engine (pooling allocator when the machine allows it) and starts the
    /// epoch ticker that enforces timeouts.
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Runtime> {
        Ok(Runtime {
            inner: Arc::new(engine::Shared::new(config)?),
        })
    }

    /// Compiles a handler from `.wasm` bytes or `.wat` text (told apart by the `\0asm`
    /// magic), through the disk cache when one is configured.
    ///
    /// This is CPU-bound (milliseconds to seconds on a cache miss): call it from
    /// `spawn_blocking` or at startup, not on a latency-sensitive task.
    pub fn compile(&self, bytes: &[u8]) -> Result<Handler, CompileError> {
        compile::compile(&self.inner, bytes, true)
    }

    /// Like [`Runtime::compile`], never reading or writing the disk cache: for modules
    /// made at run time that will not be seen again (a snapshot holding one load's
    /// state), which would only fill the cache.
    pub fn compile_uncached(&self, bytes: &[u8]) -> Result<Handler, CompileError> {
        compile::compile(&self.inner, bytes, false)
    }

    /// Makes handlers' WASI wall clock read `clock` (the sandbox clock) from now on.
    /// Set once: later calls are ignored (reloaded apps share the runtime and its clock).
    pub fn set_wall_clock(&self, clock: WallClock) {
        let _ = self.inner.wall_clock.set(clock);
    }

    /// Runs `handler` once in a fresh instance. Never panics on guest behaviour: every
    /// problem is a [`Failure`] in [`Response::result`].
    ///
    /// Must run inside a tokio runtime with the time driver enabled (`enable_all`, as
    /// `#[tokio::main]` does): the timeout's safety net is a tokio timer. A guest
    /// computing in a loop yields every millisecond, so it never blocks the worker.
    pub async fn invoke(&self, handler: &Handler, request: Request) -> Response {
        invoke::invoke(&self.inner, handler, request).await
    }

    /// Instantiates `handler` with what `input` gives it (with [`Preinit::Fixed`]: no
    /// WASI stdio, environment or arguments, fixed clocks), calls its export `export`
    /// (`() -> ()`) and returns the exported `memory` afterwards, with the output: the
    /// raw material of a pre-initialised (snapshotted) module.
    pub async fn memory_after(
        &self,
        handler: &Handler,
        export: &str,
        input: Preinit,
    ) -> Result<Preinitialized, String> {
        snapshot::memory_after(&self.inner, handler, export, input).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_is_send_sync_and_handler_too() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Runtime>();
        assert_send_sync::<Handler>();
    }

    #[test]
    fn default_config_matches_lambda_limits() {
        let config = RuntimeConfig::default();
        assert_eq!(config.cache_dir, None);
        assert_eq!(config.max_memory_mib, 1024);
        assert_eq!(config.max_output_bytes, 6 * 1024 * 1024);
    }
}
