//! Loading a project: manifest, runtime and compiled app, shared by `start` and `invoke`.

use anyhow::{anyhow, Context};
use sandbox_app::{App, BuildOptions};
use sandbox_runtime::{Runtime, RuntimeConfig};

use crate::LoadArgs;

/// `endpoint` is where the sandbox listens, when it does (handlers' queue URLs point there).
pub async fn load(
    dir: &std::path::Path,
    args: &LoadArgs,
    endpoint: Option<String>,
) -> anyhow::Result<App> {
    let root = dir
        .canonicalize()
        .with_context(|| format!("cannot open project directory {}", dir.display()))?;
    // The manifest error is already a complete, located message; print it as is.
    let manifest = sandbox_manifest::load(&root).map_err(|e| anyhow!("{e}"))?;
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| root.join(".sandbox").join("cache"));
    // Pool slots must hold the largest memory any function may use.
    let defaults = RuntimeConfig::default();
    let largest = manifest
        .functions
        .values()
        .map(|f| f.memory_mib)
        .max()
        .unwrap_or(0);
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache_dir),
        max_memory_mib: defaults.max_memory_mib.max(largest),
        ..defaults
    })?;
    let mut build = BuildOptions::for_project(&root);
    build.skip = args.no_build;
    build.endpoint = endpoint;
    Ok(App::load(manifest, runtime, &build).await)
}
