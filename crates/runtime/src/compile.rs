//! Turning module bytes into a [`Handler`]: compile (or load from the disk cache),
//! check it is a WASI command we can run, and resolve its imports once into an
//! [`InstancePre`] so each invocation only has to instantiate.

use std::fmt;
use std::sync::Arc;

use wasmtime::{Engine, ExternType, InstancePre, Module, ModuleExport};

use crate::cache::{self, DiskCache};
use crate::engine::Shared;
use crate::host::HostState;

/// Linear memories a handler may define (the pool reserves one per slot).
pub(crate) const MAX_MEMORIES: u32 = 1;
/// Tables a handler may define (the pool's per-module table slots).
pub(crate) const MAX_TABLES: u32 = 4;

/// The entry point of a WASI command.
const ENTRY: &str = "_start";

/// Why a module cannot be used as a handler, readable as-is (wasmtime's error chain,
/// including line and column for `.wat` syntax errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub message: String,
}

impl CompileError {
    fn new(message: impl Into<String>) -> CompileError {
        CompileError {
            message: message.into(),
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CompileError {}

/// A compiled, link-checked handler. Cheap to clone; shareable across threads.
#[derive(Clone)]
pub struct Handler {
    pub(crate) inner: Arc<Compiled>,
}

pub(crate) struct Compiled {
    pub(crate) pre: InstancePre<HostState>,
    /// `_start`, resolved once so invocations skip the by-name lookup.
    pub(crate) entry: ModuleExport,
    cache_hit: bool,
}

impl Handler {
    /// Whether the machine code came from the disk cache rather than the compiler.
    pub fn cache_hit(&self) -> bool {
        self.inner.cache_hit
    }
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handler")
            .field("cache_hit", &self.inner.cache_hit)
            .finish_non_exhaustive()
    }
}

pub(crate) fn compile(
    shared: &Shared,
    bytes: &[u8],
    use_disk_cache: bool,
) -> Result<Handler, CompileError> {
    let engine = &shared.engine;
    let cache = match use_disk_cache {
        true => shared.config.cache_dir.as_deref().map(DiskCache::new),
        false => None,
    };
    let key = cache.as_ref().map(|_| cache::key(engine, bytes));

    let cached = match (&cache, &key) {
        (Some(cache), Some(key)) => cache.load(engine, key),
        _ => None,
    };
    let cache_hit = cached.is_some();
    let module = match cached {
        Some(module) => module,
        None => build(engine, bytes)?,
    };

    // Check before caching, so only usable handlers are stored.
    let entry = check_entry(&module)?;
    check_resources(&module)?;
    let pre = shared
        .linker
        .instantiate_pre(&module)
        .map_err(|e| CompileError::new(format!("cannot link the module: {e:#}")))?;

    if let (false, Some(cache), Some(key)) = (cache_hit, &cache, &key) {
        cache.store(key, &module);
    }
    Ok(Handler {
        inner: Arc::new(Compiled {
            pre,
            entry,
            cache_hit,
        }),
    })
}

/// Compiles `.wasm` bytes, or `.wat` text when the `\0asm` magic is missing.
fn build(engine: &Engine, bytes: &[u8]) -> Result<Module, CompileError> {
    if bytes.starts_with(b"\0asm") {
        Module::from_binary(engine, bytes)
            .map_err(|e| CompileError::new(format!("invalid WebAssembly module: {e:#}")))
    } else {
        Module::new(engine, bytes)
            .map_err(|e| CompileError::new(format!("invalid WebAssembly text: {e:#}")))
    }
}

fn check_entry(module: &Module) -> Result<ModuleExport, CompileError> {
    let not_a_command = || {
        CompileError::new(format!(
            "the module does not export a `{ENTRY}` function: a handler must be a WASI \
             command (for Rust, a binary crate built with `--target wasm32-wasip1`)"
        ))
    };
    match module.get_export(ENTRY) {
        Some(ExternType::Func(ty)) if ty.params().len() == 0 && ty.results().len() == 0 => {}
        Some(ExternType::Func(ty)) => {
            return Err(CompileError::new(format!(
                "`{ENTRY}` must take no parameters and return nothing, but its type is {ty}"
            )))
        }
        Some(_) => {
            return Err(CompileError::new(format!(
                "the module exports `{ENTRY}` but it is not a function"
            )))
        }
        None => return Err(not_a_command()),
    }
    module.get_export_index(ENTRY).ok_or_else(not_a_command)
}

fn check_resources(module: &Module) -> Result<(), CompileError> {
    let needs = module.resources_required();
    if needs.num_memories > MAX_MEMORIES {
        return Err(CompileError::new(format!(
            "the module defines {} linear memories; a handler may define at most {MAX_MEMORIES}",
            needs.num_memories
        )));
    }
    if needs.num_tables > MAX_TABLES {
        return Err(CompileError::new(format!(
            "the module defines {} tables; a handler may define at most {MAX_TABLES}",
            needs.num_tables
        )));
    }
    Ok(())
}
