//! The in-process sandbox the service benchmarks drive: the real libraries (manifest →
//! app → triggers → runtime) without the HTTP front door, so they measure the service
//! and its consumer rather than the control API.

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use arc_swap::ArcSwap;
use sandbox_app::{App, BuildOptions};
use sandbox_runtime::{Runtime, RuntimeConfig};
use sandbox_services::Clock;
use sandbox_triggers::Triggers;

/// Loads the app in `dir`, checks that every function in `required` is ready, and
/// starts its triggers on `clock`.
pub async fn start(dir: &Path, required: &[String], clock: Clock) -> anyhow::Result<Arc<Triggers>> {
    let root = dir
        .canonicalize()
        .with_context(|| format!("no app at {}", dir.display()))?;
    let manifest = sandbox_manifest::load(&root).map_err(|e| anyhow!("{e}"))?;
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(root.join(".sandbox").join("cache")),
        ..RuntimeConfig::default()
    })?;
    let app = App::load(manifest, runtime, &BuildOptions::for_project(&root)).await;
    for function in required {
        if app
            .functions()
            .get(function)
            .is_none_or(|f| f.state.reason().is_some())
        {
            return Err(anyhow!(
                "{} has no ready `{function}` handler",
                root.display()
            ));
        }
    }
    let cell = Arc::new(ArcSwap::from_pointee(app));
    Triggers::start(cell, clock).map_err(|e| anyhow!("{e}"))
}
