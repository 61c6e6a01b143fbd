//! Loading a project: manifest, runtime and compiled app, shared by `start` and `invoke`.

use anyhow::{anyhow, Context};
use sandbox_app::{App, BuildOptions};
use sandbox_runtime::{Runtime, RuntimeConfig};

use crate::LoadArgs;

pub async fn load(dir: &std::path::Path, args: &LoadArgs) -> anyhow::Result<App> {
    let root = dir
        .canonicalize()
        .with_context(|| format!("cannot open project directory {}", dir.display()))?;
    // The manifest error is already a complete, located message; print it as is.
    let manifest = sandbox_manifest::load(&root).map_err(|e| anyhow!("{e}"))?;
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| root.join(".sandbox").join("cache"));
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache_dir),
        ..RuntimeConfig::default()
    })?;
    let mut build = BuildOptions::for_project(&root);
    build.skip = args.no_build;
    Ok(App::load(manifest, runtime, &build).await)
}
