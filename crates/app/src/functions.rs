//! Turning each manifest function into something runnable: find or build its module,
//! compile it, and remember why when that is impossible. JavaScript and TypeScript
//! functions load their modules into a [`Script`] and run on the shared JS runner.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sandbox_manifest::{Function, HandlerSource, Manifest};
use sandbox_runtime::{Handler, Runtime};

use crate::build::{self, BuildOptions};
use crate::script::runner::RunnerCell;
use crate::script::{self, Script};

/// Whether a function can run, and if not, why not.
#[derive(Clone)]
pub enum LoadState {
    Ready(Handler),
    /// No handler in the function directory; carries the help text.
    Missing(String),
    BuildFailed(String),
    CompileFailed(String),
}

impl LoadState {
    pub fn name(&self) -> &'static str {
        match self {
            LoadState::Ready(_) => "ready",
            LoadState::Missing(_) => "missing",
            LoadState::BuildFailed(_) => "build_failed",
            LoadState::CompileFailed(_) => "compile_failed",
        }
    }

    pub fn reason(&self) -> Option<String> {
        match self {
            LoadState::Ready(_) => None,
            LoadState::Missing(m) | LoadState::BuildFailed(m) | LoadState::CompileFailed(m) => {
                Some(m.clone())
            }
        }
    }
}

/// A function as the app runs it.
#[derive(Clone)]
pub struct FunctionSlot {
    pub function: Function,
    /// The complete environment the handler sees (nothing else of the host's).
    pub env: Vec<(String, String)>,
    pub state: LoadState,
    /// Why the latest reload of this function failed while its previous code kept
    /// serving; cleared by the next good reload.
    pub reload_error: Option<String>,
    /// For JavaScript and TypeScript functions: the bundle the runner (the `Ready`
    /// handler) reads before the event.
    pub script: Option<Arc<Script>>,
}

/// What a function's code is once found or built, before compiling.
enum Prepared {
    Wasm(Vec<u8>),
    Script(Script),
}

/// Compiles prepared code (CPU-bound: runs on a blocking thread).
fn compile(
    prepared: Prepared,
    runtime: &Runtime,
    runner: &RunnerCell,
) -> (LoadState, Option<Arc<Script>>) {
    match prepared {
        Prepared::Wasm(bytes) => match runtime.compile(&bytes) {
            Ok(handler) => (LoadState::Ready(handler), None),
            Err(e) => (LoadState::CompileFailed(e.to_string()), None),
        },
        Prepared::Script(script) => match runner.prepare(runtime, script) {
            Ok((handler, script)) => (LoadState::Ready(handler), Some(Arc::new(script))),
            Err(e) => (LoadState::CompileFailed(e), None),
        },
    }
}

pub async fn load_all(
    manifest: &Manifest,
    runtime: &Runtime,
    runner: &RunnerCell,
    options: &BuildOptions,
) -> BTreeMap<String, FunctionSlot> {
    // Builds first, one at a time; then compile everything in parallel.
    let mut prepared = Vec::new();
    for function in manifest.functions.values() {
        let module = prepare(&manifest.root, function, options).await;
        prepared.push((function.clone(), module));
    }
    let mut tasks = Vec::new();
    for (function, module) in prepared {
        let runtime = runtime.clone();
        let runner = runner.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            let (state, script) = match module {
                Ok(prepared) => compile(prepared, &runtime, &runner),
                Err(state) => (state, None),
            };
            (function, state, script)
        }));
    }
    let mut functions = BTreeMap::new();
    for task in tasks {
        let (function, state, script) = match task.await {
            Ok(done) => done,
            Err(e) => {
                tracing::error!("compiling a function panicked: {e}");
                continue;
            }
        };
        let env = environment(manifest, &function, options.endpoint.as_deref());
        functions.insert(
            function.name.clone(),
            FunctionSlot {
                function,
                env,
                state,
                reload_error: None,
                script,
            },
        );
    }
    functions
}

/// Builds (if needed) and compiles one function, off the async threads.
pub async fn load_one(
    manifest: &Manifest,
    function: &Function,
    runtime: &Runtime,
    runner: &RunnerCell,
    options: &BuildOptions,
) -> FunctionSlot {
    let (state, script) = match prepare(&manifest.root, function, options).await {
        Ok(prepared) => {
            let runtime = runtime.clone();
            let runner = runner.clone();
            match tokio::task::spawn_blocking(move || compile(prepared, &runtime, &runner)).await {
                Ok(done) => done,
                Err(e) => (
                    LoadState::CompileFailed(format!("compilation panicked: {e}")),
                    None,
                ),
            }
        }
        Err(state) => (state, None),
    };
    FunctionSlot {
        function: function.clone(),
        env: environment(manifest, function, options.endpoint.as_deref()),
        state,
        reload_error: None,
        script,
    }
}

/// The environment of a function under a (possibly new) manifest.
pub fn environment_for(
    manifest: &Manifest,
    function: &Function,
    endpoint: Option<&str>,
) -> Vec<(String, String)> {
    environment(manifest, function, endpoint)
}

/// Produces the module bytes for a function, building it first when needed, or loads
/// its JavaScript modules.
async fn prepare(
    root: &Path,
    function: &Function,
    options: &BuildOptions,
) -> Result<Prepared, LoadState> {
    let path = match &function.handler {
        HandlerSource::JavaScript { entry } | HandlerSource::TypeScript { entry } => {
            let (root, entry) = (root.to_path_buf(), entry.clone());
            return match tokio::task::spawn_blocking(move || script::load(&root, &entry)).await {
                Ok(Ok(script)) => Ok(Prepared::Script(script)),
                Ok(Err(e)) => Err(LoadState::CompileFailed(e)),
                Err(e) => Err(LoadState::CompileFailed(format!("loading panicked: {e}"))),
            };
        }
        HandlerSource::Wasm { path } | HandlerSource::Wat { path } => path.clone(),
        HandlerSource::Cargo { manifest, output } => {
            if !options.skip {
                build::cargo(function, manifest, options)
                    .await
                    .map_err(LoadState::BuildFailed)?;
            }
            output.clone()
        }
        HandlerSource::Command { command, output } => {
            if !options.skip {
                build::command(function, command)
                    .await
                    .map_err(LoadState::BuildFailed)?;
            }
            output.clone()
        }
        HandlerSource::Missing { .. } => {
            return Err(LoadState::Missing(sandbox_manifest::missing_handler_help(
                function,
            )))
        }
    };
    read(&path).await.map(Prepared::Wasm)
}

async fn read(path: &Path) -> Result<Vec<u8>, LoadState> {
    tokio::fs::read(path)
        .await
        .map_err(|e| LoadState::BuildFailed(format!("cannot read {}: {e}", path.display())))
}

/// What a handler may see: the manifest's variables plus the few Lambda and Architect
/// set for every function. No host variables, and never credentials.
fn environment(
    manifest: &Manifest,
    function: &Function,
    endpoint: Option<&str>,
) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("AWS_REGION".into(), sandbox_ops::aws::REGION.into());
    env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), function.name.clone());
    env.insert(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
        function.memory_mib.to_string(),
    );
    env.insert("ARC_APP_NAME".into(), manifest.app.clone());
    env.insert("ARC_ENV".into(), "testing".into());
    env.insert("ARC_SANDBOX".into(), "true".into());
    // The resources a handler can reach, as SST's `bind` exposes them.
    let lists: [(&str, Vec<&str>); 4] = [
        (
            "SANDBOX_QUEUES",
            manifest.queues.iter().map(|q| q.name.as_str()).collect(),
        ),
        (
            "SANDBOX_TOPICS",
            manifest.topics.iter().map(|t| t.name.as_str()).collect(),
        ),
        (
            "SANDBOX_STREAMS",
            manifest.streams.iter().map(|s| s.name.as_str()).collect(),
        ),
        (
            "SANDBOX_BUSES",
            manifest.buses.iter().map(|b| b.name.as_str()).collect(),
        ),
    ];
    for (key, names) in lists {
        if !names.is_empty() {
            env.insert(key.into(), names.join(","));
        }
    }
    env.extend(resource_variables(manifest, endpoint));
    for (key, value) in &function.env {
        env.insert(key.clone(), value.clone());
    }
    env.into_iter().collect()
}

/// Each resource's identifiers, as SST's `bind` gives them: `SANDBOX_QUEUE_<NAME>_URL`
/// (with the sandbox's real port) and `_ARN`, and `SANDBOX_TOPIC_<NAME>_ARN`,
/// `SANDBOX_STREAM_<NAME>_ARN`, `SANDBOX_BUS_<NAME>_ARN`. `<NAME>` is the name in upper
/// case with every other character than a letter or digit as `_` (`jobs.fifo` →
/// `JOBS_FIFO`).
fn resource_variables(manifest: &Manifest, endpoint: Option<&str>) -> Vec<(String, String)> {
    use sandbox_ops::aws::{bus_arn, queue_arn, stream_arn, topic_arn, ACCOUNT, REGION};
    let key = |kind: &str, name: &str, what: &str| {
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("SANDBOX_{kind}_{name}_{what}")
    };
    let mut vars = Vec::new();
    for q in &manifest.queues {
        vars.push((
            key("QUEUE", &q.name, "ARN"),
            queue_arn(&q.name, REGION, ACCOUNT),
        ));
        if let Some(endpoint) = endpoint {
            vars.push((
                key("QUEUE", &q.name, "URL"),
                format!("{endpoint}/{ACCOUNT}/{}", q.name),
            ));
        }
    }
    for t in &manifest.topics {
        vars.push((key("TOPIC", &t.name, "ARN"), topic_arn(&t.name)));
    }
    for s in &manifest.streams {
        vars.push((key("STREAM", &s.name, "ARN"), stream_arn(&s.name, REGION)));
    }
    for b in &manifest.buses {
        vars.push((key("BUS", &b.name, "ARN"), bus_arn(&b.name)));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handlers_see_only_the_manifest_environment_and_reachable_resources() {
        std::env::set_var("SANDBOX_TEST_HOST_SECRET", "leak");
        let root = std::env::temp_dir();
        let text =
            "@app\nenvs\n@env\nSTAGE dev\n@http\nget /\n@queues\njobs\nmail\n@events\nsignups\n";
        let manifest = sandbox_manifest::parse_arc(&root, &root.join("app.arc"), text).unwrap();
        let function = &manifest.functions["http/get-index"];
        let env: BTreeMap<String, String> =
            environment(&manifest, function, Some("http://127.0.0.1:3333"))
                .into_iter()
                .collect();
        assert_eq!(env["STAGE"], "dev");
        assert_eq!(env["SANDBOX_QUEUES"], "jobs,mail");
        assert_eq!(env["SANDBOX_TOPICS"], "signups");
        assert_eq!(
            env["SANDBOX_QUEUE_JOBS_URL"],
            "http://127.0.0.1:3333/123456789012/jobs"
        );
        assert_eq!(
            env["SANDBOX_QUEUE_MAIL_ARN"],
            "arn:aws:sqs:us-east-1:123456789012:mail"
        );
        assert_eq!(
            env["SANDBOX_TOPIC_SIGNUPS_ARN"],
            "arn:aws:sns:us-east-1:123456789012:signups"
        );
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "http/get-index");
        assert!(
            !env.contains_key("SANDBOX_STREAMS"),
            "no streams, no variable"
        );
        assert!(
            !env.contains_key("SANDBOX_TEST_HOST_SECRET"),
            "nothing of the host's environment"
        );
        assert!(!env
            .keys()
            .any(|k| k.starts_with("AWS_SECRET") || k == "PATH" || k == "HOME"));
    }
}
