//! Building function sources into WebAssembly: `cargo build` for a Rust crate, or the
//! manifest's build command.
//!
//! Builds run before compilation, one at a time (cargo serialises on its target
//! directory anyway), with output captured so a failed build shows the compiler's
//! own message instead of a wall of progress lines.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use sandbox_manifest::Function;

#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Shared cargo target directory for every Rust function of the app, so common
    /// dependencies compile once.
    pub target_dir: PathBuf,
    /// Skip building entirely and use whatever output already exists.
    pub skip: bool,
    /// Where the sandbox listens (`http://127.0.0.1:3333`), so handlers' environment can
    /// carry their queues' URLs; `None` outside a running sandbox (`sandbox invoke`).
    pub endpoint: Option<String>,
}

impl BuildOptions {
    pub fn for_project(root: &Path) -> Self {
        BuildOptions {
            target_dir: root.join(".sandbox").join("target"),
            skip: false,
            endpoint: None,
        }
    }
}

/// Builds a Rust function crate for wasm32-wasip1.
pub async fn cargo(
    function: &Function,
    manifest: &Path,
    options: &BuildOptions,
) -> Result<(), String> {
    match run(
        function,
        cargo_command(function, manifest, options),
        "cargo build",
    )
    .await
    {
        Err(message) if target_missing(&message) => {
            // First run on a fresh machine: install the target once, then retry, so
            // `sandbox start` needs no set-up step of its own.
            tracing::info!("installing the wasm32-wasip1 target (rustup target add wasm32-wasip1)");
            let mut rustup = tokio::process::Command::new("rustup");
            rustup
                .args(["target", "add", "wasm32-wasip1"])
                .current_dir(&function.dir);
            run(function, rustup, "rustup target add wasm32-wasip1")
                .await
                .map_err(|e| format!("{message}\n{e}\nhelp: install the target with `rustup target add wasm32-wasip1`"))?;
            run(
                function,
                cargo_command(function, manifest, options),
                "cargo build",
            )
            .await
        }
        other => other,
    }
}

fn cargo_command(
    function: &Function,
    manifest: &Path,
    options: &BuildOptions,
) -> tokio::process::Command {
    let mut command =
        tokio::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .arg("build")
        .arg("--release")
        .arg("--quiet")
        .args(["--target", "wasm32-wasip1"])
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(&options.target_dir)
        .current_dir(&function.dir)
        // A parent `cargo run` exports settings meant for the host build.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    command
}

fn target_missing(message: &str) -> bool {
    message.contains("can't find crate for `std`")
        || message.contains("target may not be installed")
}

/// Runs the manifest's `build` command in the function directory.
pub async fn command(function: &Function, script: &str) -> Result<(), String> {
    let mut command = tokio::process::Command::new("sh");
    command.arg("-c").arg(script).current_dir(&function.dir);
    run(function, command, script).await
}

async fn run(
    function: &Function,
    mut command: tokio::process::Command,
    what: &str,
) -> Result<(), String> {
    let started = Instant::now();
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("could not run `{what}`: {e}"))?;
    if output.status.success() {
        tracing::debug!(function = %function.name, "built in {:.0?}", started.elapsed());
        return Ok(());
    }
    let mut message = format!("`{what}` failed ({})", output.status);
    for stream in [&output.stderr, &output.stdout] {
        let text = String::from_utf8_lossy(stream);
        let text = text.trim();
        if !text.is_empty() {
            message.push('\n');
            message.push_str(text);
        }
    }
    Err(message)
}
