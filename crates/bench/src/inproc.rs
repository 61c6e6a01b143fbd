//! The in-process sandbox the service benchmarks drive: the real libraries (manifest →
//! app → triggers → runtime) without the HTTP front door, so they measure the service
//! and its consumer rather than the control API.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use anyhow::{anyhow, Context};
use arc_swap::ArcSwap;
use sandbox_app::{App, BuildOptions};
use sandbox_runtime::{Runtime, RuntimeConfig};
use sandbox_services::Clock;
use sandbox_triggers::Triggers;

use crate::stats::LatencySummary;

/// Loads the app in `dir` (its compile cache in `.sandbox/cache`, as `sandbox start` keeps it).
pub async fn load(dir: &Path) -> anyhow::Result<App> {
    let root = dir
        .canonicalize()
        .with_context(|| format!("no app at {}", dir.display()))?;
    let manifest = sandbox_manifest::load(&root).map_err(|e| anyhow!("{e}"))?;
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(root.join(".sandbox").join("cache")),
        ..RuntimeConfig::default()
    })?;
    Ok(App::load(manifest, runtime, &BuildOptions::for_project(&root)).await)
}

/// Loads the app in `dir`, checks that every function in `required` is ready, and
/// starts its triggers on `clock`.
pub async fn start(dir: &Path, required: &[String], clock: Clock) -> anyhow::Result<Arc<Triggers>> {
    let app = load(dir).await?;
    for function in required {
        if app
            .functions()
            .get(function)
            .is_none_or(|f| f.state.reason().is_some())
        {
            return Err(anyhow!(
                "{} has no ready `{function}` handler",
                dir.display()
            ));
        }
    }
    let cell = Arc::new(ArcSwap::from_pointee(app));
    Triggers::start(cell, clock).map_err(|e| anyhow!("{e}"))
}

/// Waits until the sandbox has settled after one publish at `since`, then answers how
/// long after `since` the last of `functions` started (nanoseconds): publish → handler
/// start, as the invocation log records it.
pub async fn start_latency(
    triggers: &Triggers,
    functions: &[String],
    since: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let report = triggers.drain(Duration::from_secs(10)).await;
    if !report.drained {
        return Err(anyhow!("the handlers did not settle: {report:?}"));
    }
    let app = triggers.app_cell().load_full();
    let mut last = since;
    for function in functions {
        let record = app
            .invocations()
            .recent(Some(function), 1)
            .pop()
            .ok_or_else(|| anyhow!("no invocation of {function} recorded"))?;
        if record.started_at < since {
            return Err(anyhow!("{function} was not invoked for the latest publish"));
        }
        last = last.max(record.started_at);
    }
    Ok((last - since).num_nanoseconds().unwrap_or(0).max(0) as u64)
}

/// The floor every latency is compared with: one item through a tokio channel to a
/// waiting task, and back.
pub async fn channel_latency(samples: usize) -> LatencySummary {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Duration>();
    let consumer = tokio::spawn(async move {
        while let Some(sent) = rx.recv().await {
            let _ = done_tx.send(sent.elapsed());
        }
    });
    let mut nanos = Vec::with_capacity(samples);
    for _ in 0..samples {
        let _ = tx.send(Instant::now());
        if let Some(latency) = done_rx.recv().await {
            nanos.push(latency.as_nanos() as u64);
        }
    }
    drop(tx);
    let _ = consumer.await;
    LatencySummary::from_nanos(&mut nanos)
}
