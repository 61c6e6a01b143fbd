//! The `http` benchmark: the sandbox against a bare hyper server, in one run.
//!
//! Both servers run as separate processes on this machine and face the same load
//! client, and their runs are interleaved (bare, sandbox, bare, sandbox, …) so that
//! drift in the shared machine's load hits both alike; medians of the repeats are
//! reported. The sandbox's start-to-first-response time and idle memory are measured
//! in the same run, and everything ends in a Markdown summary for BENCHMARKS.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::duration::parse_duration;
use crate::load::{self, LoadConfig};
use crate::process::{free_port, ChildGuard};
use crate::report::{HttpReport, Machine, Measurement, MemoryUse, Settings, Startup, Target};
use crate::stats::{fmt_duration, median_duration};

/// Options of `sandbox-bench http`.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// Measured time of each run, after its warm-up (e.g. 10s, 500ms).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Unrecorded warm-up before each run.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Concurrent keep-alive connections to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    pub connections: Vec<usize>,
    /// Runs per (target, connections); the median is reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Warm-cache starts to time for start-to-first-response (0 skips startup timing).
    #[arg(long, default_value_t = 5)]
    pub starts: usize,
    /// The `sandbox` binary under test.
    #[arg(long, default_value = "target/release/sandbox")]
    pub sandbox_bin: PathBuf,
    /// The app the sandbox serves; it must answer 200 on `GET /`.
    #[arg(long, default_value = "fixtures/apps/bench")]
    pub app: PathBuf,
    /// Compile cache removed before the cold start [default: <app>/.sandbox/cache].
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Worker threads of the load client's runtime.
    #[arg(long, default_value_t = 2)]
    pub client_threads: usize,
    /// How long a server may take to become ready.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub ready_timeout: Duration,
}

/// Runs the whole benchmark and prints the summary on stdout (progress on stderr).
pub fn run(args: HttpArgs) -> Result<()> {
    validate(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .enable_all()
        .build()
        .context("building the load client's runtime")?;
    // `block_on` keeps the top-level future on the main thread, which is what the
    // children's parent-death signal needs (see process.rs).
    let report = runtime.block_on(measure(&args))?;
    println!("{}", report.markdown());
    Ok(())
}

fn validate(args: &HttpArgs) -> Result<()> {
    if args.connections.is_empty() || args.connections.contains(&0) {
        bail!("--connections needs positive counts, e.g. --connections 1,64");
    }
    if args.repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    if args.client_threads == 0 {
        bail!("--client-threads must be at least 1");
    }
    if args.duration.is_zero() {
        bail!("--duration must be positive");
    }
    if !args.sandbox_bin.is_file() {
        bail!(
            "sandbox binary not found at {}: build it first with \
             `cargo build --release -p sandbox-cli` (or pass --sandbox-bin)",
            args.sandbox_bin.display()
        );
    }
    let manifest = args.app.join("app.arc");
    if !manifest.is_file() {
        bail!(
            "benchmark app not found: {} does not exist (run from the repository root \
             or pass --app)",
            manifest.display()
        );
    }
    Ok(())
}

async fn measure(args: &HttpArgs) -> Result<HttpReport> {
    let logs = tempfile::Builder::new()
        .prefix("sandbox-bench-")
        .tempdir()
        .context("creating a directory for server logs")?;
    let bench_exe = std::env::current_exe().context("locating the bench binary")?;

    let startup = if args.starts > 0 {
        measure_startup(args, logs.path()).await?
    } else {
        Startup::default()
    };

    eprintln!("[load] starting bare hyper server and sandbox");
    let (mut bare, bare_addr) = start_bare(&bench_exe, args, logs.path()).await?;
    let (mut sandbox, sandbox_addr) = start_sandbox(args, logs.path()).await?;
    // Let startup work (allocator, lazy statics) settle before calling memory idle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sandbox_after_startup = sandbox.memory()?;
    eprintln!(
        "[memory] sandbox idle RSS after startup: {:.1} MiB",
        sandbox_after_startup.rss_mib
    );

    let mut measurements = Vec::new();
    for &connections in &args.connections {
        let mut runs_bare = Vec::new();
        let mut runs_sandbox = Vec::new();
        for repeat in 1..=args.repeats {
            for (target, addr, guard, runs) in [
                (Target::Bare, bare_addr, &mut bare, &mut runs_bare),
                (
                    Target::Sandbox,
                    sandbox_addr,
                    &mut sandbox,
                    &mut runs_sandbox,
                ),
            ] {
                guard.ensure_running()?;
                let config = LoadConfig {
                    addr,
                    path: "/".to_string(),
                    connections,
                    warmup: args.warmup,
                    duration: args.duration,
                };
                let result = load::run(&config).await?;
                eprintln!(
                    "[load] {connections:>3} conn, run {repeat}/{}: {:<10} {:>8.0} req/s  \
                     p50 {:>9}  p99 {:>9}  errors {}",
                    args.repeats,
                    target.label(),
                    result.requests_per_sec(),
                    fmt_duration(result.latency.p50),
                    fmt_duration(result.latency.p99),
                    result.errors
                );
                runs.push(result);
            }
        }
        measurements.push(Measurement {
            target: Target::Bare,
            connections,
            runs: runs_bare,
        });
        measurements.push(Measurement {
            target: Target::Sandbox,
            connections,
            runs: runs_sandbox,
        });
    }

    // Idle means after in-flight work and its allocations have wound down.
    tokio::time::sleep(Duration::from_secs(1)).await;
    sandbox.ensure_running()?;
    let memory = MemoryUse {
        sandbox_after_startup,
        sandbox_after_load: sandbox.memory()?,
        bare_after_load: bare.memory()?,
    };
    eprintln!(
        "[memory] sandbox idle RSS after load: {:.1} MiB (peak {:.1} MiB)",
        memory.sandbox_after_load.rss_mib, memory.sandbox_after_load.peak_mib
    );
    sandbox.stop();
    bare.stop();

    Ok(HttpReport {
        date: chrono::Utc::now(),
        machine: Machine::detect(),
        settings: Settings {
            duration: args.duration,
            warmup: args.warmup,
            repeats: args.repeats,
            client_threads: args.client_threads,
        },
        measurements,
        startup,
        memory: Some(memory),
    })
}

/// One cold start (after removing the compile cache), then `args.starts` warm ones.
async fn measure_startup(args: &HttpArgs, logs: &Path) -> Result<Startup> {
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| args.app.join(".sandbox").join("cache"));
    let mut notes = Vec::new();
    if cache_dir.exists() {
        std::fs::remove_dir_all(&cache_dir)
            .with_context(|| format!("removing the compile cache {}", cache_dir.display()))?;
    }
    let cold = time_first_response(args, logs).await?;
    eprintln!(
        "[startup] cold cache: first response after {}",
        fmt_duration(cold)
    );
    if !cache_dir.exists() {
        notes.push(format!(
            "the cold start did not create `{}`; if the sandbox caches elsewhere, the \
             cold start was not cold (pass --cache-dir)",
            cache_dir.display()
        ));
    }
    let mut warm = Vec::new();
    for start in 1..=args.starts {
        let elapsed = time_first_response(args, logs).await?;
        eprintln!(
            "[startup] warm cache {start}/{}: first response after {}",
            args.starts,
            fmt_duration(elapsed)
        );
        warm.push(elapsed);
    }
    eprintln!(
        "[startup] warm cache median: {}",
        fmt_duration(median_duration(&warm))
    );
    Ok(Startup {
        cold: Some(cold),
        warm,
        notes,
    })
}

/// Time from spawning `sandbox start` to its first 200 on `GET /`.
async fn time_first_response(args: &HttpArgs, logs: &Path) -> Result<Duration> {
    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut sandbox = ChildGuard::spawn(
        "sandbox",
        sandbox_command(args, port),
        &logs.join("sandbox-startup.log"),
    )?;
    let first_200 = sandbox.wait_for_200(addr, "/", args.ready_timeout).await?;
    let elapsed = first_200 - sandbox.spawned_at();
    sandbox.stop();
    Ok(elapsed)
}

fn sandbox_command(args: &HttpArgs, port: u16) -> Command {
    crate::process::sandbox_command(&args.sandbox_bin, &args.app, port)
}

async fn start_sandbox(args: &HttpArgs, logs: &Path) -> Result<(ChildGuard, SocketAddr)> {
    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut sandbox = ChildGuard::spawn(
        "sandbox",
        sandbox_command(args, port),
        &logs.join("sandbox.log"),
    )?;
    sandbox
        .wait_for_200(addr, "/_sandbox/status", args.ready_timeout)
        .await?;
    Ok((sandbox, addr))
}

async fn start_bare(
    bench_exe: &Path,
    args: &HttpArgs,
    logs: &Path,
) -> Result<(ChildGuard, SocketAddr)> {
    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut command = Command::new(bench_exe);
    command
        .arg("bare-server")
        .arg("--port")
        .arg(port.to_string());
    let mut bare = ChildGuard::spawn("bare-server", command, &logs.join("bare.log"))?;
    bare.wait_for_200(addr, "/", args.ready_timeout).await?;
    Ok((bare, addr))
}
