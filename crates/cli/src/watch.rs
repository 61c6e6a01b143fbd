//! Hot reload: watch the project and swap changed code in while the sandbox runs.
//!
//! - the manifest changed → re-parse; a bad manifest keeps the running app (and prints
//!   the located error); otherwise unchanged functions keep their compiled code, the rest
//!   load, services are reconfigured, and the new app is swapped in;
//! - a `handler.wasm`/`handler.wat` changed → recompile that function only;
//! - a source file of a function the sandbox builds changed → rebuild that function only;
//! - a JavaScript/TypeScript file changed → reload every JS function whose modules
//!   include it (or whose directory holds it).
//!
//! Nothing restarts: the listener keeps its connections, invocations already running
//! finish on the code they started with, and a change that fails to build or compile
//! leaves the old code serving (the error shows in `GET /_sandbox/status`).

use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};
use sandbox_app::BuildOptions;
use sandbox_manifest::{Function, HandlerSource, MANIFEST_FILES, SCRIPT_ENTRIES};
use sandbox_triggers::Triggers;
use tokio::sync::mpsc;

/// Editors write a file in several steps; changes closer together than this are one edit.
const QUIET: Duration = Duration::from_millis(15);

/// Starts watching `root`; the watcher lives as long as the returned guard.
pub fn start(
    root: PathBuf,
    triggers: Arc<Triggers>,
    options: BuildOptions,
) -> anyhow::Result<notify::RecommendedWatcher> {
    let (tx, rx) = mpsc::unbounded_channel::<PathBuf>();
    let ignored_root = root.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            if !ignored(&ignored_root, &path) {
                let _ = tx.send(path);
            }
        }
    })?;
    watcher.watch(&root, RecursiveMode::Recursive)?;
    tokio::spawn(run(root, triggers, options, rx));
    Ok(watcher)
}

/// Build output, caches, version control and editor scratch files never trigger a reload.
fn ignored(root: &Path, path: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(root) else {
        return true;
    };
    let in_output = relative.components().any(|c| {
        matches!(
            c.as_os_str().to_str(),
            Some(".sandbox" | "target" | ".git" | "node_modules")
        )
    });
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    in_output
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name.starts_with(".#")
        || name == "4913"
}

async fn run(
    root: PathBuf,
    triggers: Arc<Triggers>,
    options: BuildOptions,
    mut rx: mpsc::UnboundedReceiver<PathBuf>,
) {
    let mut built = Fingerprints::default();
    built.record_all(&triggers);
    while let Some(first) = rx.recv().await {
        let mut changed = BTreeSet::from([first]);
        while let Ok(Some(path)) = tokio::time::timeout(QUIET, rx.recv()).await {
            changed.insert(path);
        }
        let started = Instant::now();
        let (manifests, files): (BTreeSet<PathBuf>, BTreeSet<PathBuf>) =
            changed.into_iter().partition(|p| is_manifest(&root, p));
        // The manifest first (it decides which functions exist), then the files edited
        // in the same moment, which an unchanged function definition would not notice.
        // A handler appearing where there was none changes what the manifest resolves
        // to (`Missing` → a source), so it takes the manifest path too.
        if !manifests.is_empty() || handler_appeared(&triggers, &files) {
            reload_manifest(&root, &triggers, &options, started).await;
            // Only functions new to the watcher: an existing one keeps the fingerprint
            // of its last build, so a source edit saved with the manifest still counts.
            built.record_new(&triggers);
        }
        if !files.is_empty() {
            reload_functions(&triggers, &options, &files, &mut built, started).await;
        }
    }
}

fn is_manifest(root: &Path, path: &Path) -> bool {
    path.parent() == Some(root)
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| MANIFEST_FILES.contains(&n))
}

async fn reload_manifest(
    root: &Path,
    triggers: &Arc<Triggers>,
    options: &BuildOptions,
    started: Instant,
) {
    let manifest = match sandbox_manifest::load(root) {
        Ok(manifest) => manifest,
        Err(e) => {
            triggers.metrics().reloaded(false);
            tracing::error!(
                "reload: the manifest has an error; the running app keeps serving\n{e}"
            );
            return;
        }
    };
    let current = triggers.app_cell().load_full();
    let next = current.reload(manifest, options).await;
    let summary = describe_manifest_change(current.manifest(), next.manifest());
    let failed: Vec<String> = next
        .functions()
        .values()
        .filter_map(|slot| {
            slot.state
                .reason()
                .map(|r| format!("{}: {}", slot.function.name, first_line(&r)))
        })
        .collect();
    match triggers.swap(next) {
        Ok(services) => {
            let mut parts = summary;
            parts.extend(services);
            if parts.is_empty() {
                parts.push("no effective change".into());
            }
            tracing::info!(
                "reload: manifest: {} ({:.0?})",
                parts.join("; "),
                started.elapsed()
            );
            for failure in failed {
                tracing::warn!("reload: not runnable: {failure}");
            }
        }
        Err(e) => tracing::error!(
            "reload: cannot apply the new manifest ({e}); the running app keeps serving"
        ),
    }
}

async fn reload_functions(
    triggers: &Arc<Triggers>,
    options: &BuildOptions,
    changed: &BTreeSet<PathBuf>,
    built: &mut Fingerprints,
    started: Instant,
) {
    let current = triggers.app_cell().load_full();
    // The functions whose directory holds a changed file (the deepest match wins, so
    // `streams/s/c` is not mistaken for a parent directory's function).
    let mut affected = BTreeSet::new();
    for path in changed {
        // A JavaScript module may live outside its function's directory (`src/shared`).
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        for slot in current.functions().values() {
            if let Some(script) = &slot.script {
                if script.files.iter().any(|f| f == path || *f == canonical) {
                    affected.insert(slot.function.name.clone());
                }
            }
        }
        let owner = current
            .functions()
            .values()
            .filter(|slot| path.starts_with(&slot.function.dir))
            .max_by_key(|slot| slot.function.dir.as_os_str().len());
        if let Some(slot) = owner {
            if relevant(&slot.function.handler, &slot.function.dir, path)
                && built.changed(&slot.function)
            {
                affected.insert(slot.function.name.clone());
            }
        }
    }
    for name in affected {
        let current = triggers.app_cell().load_full();
        let Some((next, outcome)) = current.reload_function(&name, options).await else {
            continue;
        };
        if let Some(slot) = triggers.app_cell().load().functions().get(&name) {
            // Whatever the build itself wrote is now part of the recorded state.
            built.record(&slot.function);
        }
        let swapped = triggers.swap(next);
        match (outcome, swapped) {
            (Ok(()), Ok(_)) => tracing::info!("reload: {name} updated ({:.0?})", started.elapsed()),
            (Err(e), _) => {
                triggers.metrics().reloaded(false);
                tracing::error!("reload: {name} kept its previous code: {e}")
            }
            (_, Err(e)) => tracing::error!("reload: {name}: {e}"),
        }
    }
}

/// Whether a changed path is part of what the function is built from.
fn relevant(source: &HandlerSource, dir: &Path, path: &Path) -> bool {
    match source {
        HandlerSource::Wasm { path: handler } | HandlerSource::Wat { path: handler } => {
            path == handler
        }
        // Any source of a crate (its output lives under .sandbox/, which is ignored).
        HandlerSource::Cargo { .. } => path.starts_with(dir),
        // Any source of a scripted build, but not the output it writes itself: that
        // would rebuild forever.
        HandlerSource::Command { output, .. } => path != output.as_path(),
        // Any module in the function's directory, including one not imported yet (the
        // edit that imports it arrives too) or one whose last load failed.
        HandlerSource::JavaScript { .. } | HandlerSource::TypeScript { .. } => {
            path.starts_with(dir)
        }
        // Handled by `handler_appeared` (a manifest reload resolves the new source).
        HandlerSource::Missing { .. } => false,
    }
}

/// Whether a function that had no handler has one now. Looks at the disk rather than
/// at the event's file name: a directory created with its files in one go (`mkdir -p` then
/// a copy) may report only the directory, before the watcher has seen inside it.
fn handler_appeared(triggers: &Triggers, changed: &BTreeSet<PathBuf>) -> bool {
    let app = triggers.app_cell().load_full();
    app.functions().values().any(|slot| {
        let dir = &slot.function.dir;
        matches!(slot.function.handler, HandlerSource::Missing { .. })
            && changed
                .iter()
                .any(|path| path.starts_with(dir) || dir.starts_with(path))
            && ["handler.wasm", "handler.wat", "Cargo.toml"]
                .iter()
                .chain(SCRIPT_ENTRIES)
                .any(|file| dir.join(file).is_file())
    })
}

/// The state of each built function's sources after its last build. A change event
/// whose files still match it was caused by the build itself (a lock file, a log, the
/// output), and must not start another build.
#[derive(Default)]
struct Fingerprints(HashMap<String, u64>);

impl Fingerprints {
    fn record_all(&mut self, triggers: &Triggers) {
        let app = triggers.app_cell().load_full();
        for slot in app.functions().values() {
            self.record(&slot.function);
        }
    }

    fn record_new(&mut self, triggers: &Triggers) {
        let app = triggers.app_cell().load_full();
        for slot in app.functions().values() {
            if !self.0.contains_key(&slot.function.name) {
                self.record(&slot.function);
            }
        }
    }

    fn record(&mut self, function: &Function) {
        if built_from_source(&function.handler) {
            self.0
                .insert(function.name.clone(), fingerprint(&function.dir));
        }
    }

    /// True for functions not built from source: their handler file is the change.
    fn changed(&self, function: &Function) -> bool {
        !built_from_source(&function.handler)
            || self.0.get(&function.name) != Some(&fingerprint(&function.dir))
    }
}

fn built_from_source(source: &HandlerSource) -> bool {
    matches!(
        source,
        HandlerSource::Cargo { .. } | HandlerSource::Command { .. }
    )
}

/// Names, sizes and modification times of every file under `dir` (build output and
/// caches excluded).
fn fingerprint(dir: &Path) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut entries = Vec::new();
    while let Some(current) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                if !matches!(
                    entry.file_name().to_str(),
                    Some("target" | ".sandbox" | ".git")
                ) {
                    stack.push(path);
                }
            } else {
                entries.push((path, meta.len(), meta.modified().ok()));
            }
        }
    }
    entries.sort();
    entries.hash(&mut hasher);
    hasher.finish()
}

fn describe_manifest_change(
    old: &sandbox_manifest::Manifest,
    new: &sandbox_manifest::Manifest,
) -> Vec<String> {
    let routes = |m: &sandbox_manifest::Manifest| -> BTreeSet<String> {
        m.routes
            .iter()
            .map(|r| format!("{} {}", r.method.as_str(), r.path))
            .collect()
    };
    let (before, after) = (routes(old), routes(new));
    let mut parts: Vec<String> = after
        .difference(&before)
        .map(|r| format!("route {r} added"))
        .collect();
    parts.extend(
        before
            .difference(&after)
            .map(|r| format!("route {r} removed")),
    );
    let schedules = |m: &sandbox_manifest::Manifest| -> BTreeSet<String> {
        m.schedules
            .iter()
            .map(|s| format!("{} {}", s.name, s.expression))
            .collect()
    };
    let (before, after) = (schedules(old), schedules(new));
    parts.extend(
        after
            .difference(&before)
            .map(|s| format!("schedule {s} added")),
    );
    parts.extend(
        before
            .difference(&after)
            .map(|s| format!("schedule {s} removed")),
    );
    parts
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
