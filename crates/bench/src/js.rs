//! The `js` benchmark: a trivial JavaScript HTTP handler beside the same route as a Rust
//! handler, served by one `sandbox start` in one run (interleaved, medians of the
//! repeats), at each connection count; a handler with a 500 KB bundle; and the time from
//! editing a JavaScript file to the new code being served.
//!
//! ```text
//! cargo build --release -p sandbox-cli
//! cargo run --release -p sandbox-bench -- js [--duration 5s] [--repeats 3]
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::duration::parse_duration;
use crate::load::{self, LoadConfig, LoadResult};
use crate::process::{free_port, sandbox_command, ChildGuard};
use crate::stats::{fmt_duration, median, median_duration};

/// The size the bundle benchmark's generated module is padded to.
const BIG_BUNDLE_BYTES: usize = 500 * 1024;

/// Options of `sandbox-bench js`.
#[derive(Debug, Clone, clap::Args)]
pub struct JsArgs {
    /// Measured time of each run, after its warm-up.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Unrecorded warm-up before each run.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Concurrent keep-alive connections to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    pub connections: Vec<usize>,
    /// Runs per (route, connections); the median is reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Edits timed for edit → new code served; the median is reported.
    #[arg(long, default_value_t = 10)]
    pub edits: usize,
    /// The `sandbox` binary under test.
    #[arg(long, default_value = "target/release/sandbox")]
    pub sandbox_bin: PathBuf,
    /// The app (copied to a temporary directory, where the 500 KB module is generated).
    #[arg(long, default_value = "fixtures/apps/bench-js")]
    pub app: PathBuf,
    /// Worker threads of the load client's runtime.
    #[arg(long, default_value_t = 2)]
    pub client_threads: usize,
    /// How long the sandbox may take to become ready (the first start builds the Rust
    /// handler).
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub ready_timeout: Duration,
}

pub fn run(args: JsArgs) -> Result<()> {
    if !args.sandbox_bin.is_file() {
        bail!(
            "sandbox binary not found at {}: build it first with `cargo build --release -p sandbox-cli`",
            args.sandbox_bin.display()
        );
    }
    if args.repeats == 0 || args.connections.is_empty() || args.connections.contains(&0) {
        bail!("--repeats and --connections must be positive");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .enable_all()
        .build()
        .context("building the load client's runtime")?;
    let report = runtime.block_on(measure(&args))?;
    println!("{report}");
    Ok(())
}

async fn measure(args: &JsArgs) -> Result<String> {
    let work = tempfile::Builder::new()
        .prefix("sandbox-bench-js-")
        .tempdir()
        .context("creating the app copy")?;
    let app = work.path().join("app");
    copy_dir(&args.app, &app)?;
    let big = generate_big_module(&app.join("src/http/get-big/big.js"))?;

    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let command = sandbox_command(&args.sandbox_bin, &app, port);
    let mut sandbox = ChildGuard::spawn("sandbox", command, &work.path().join("sandbox.log"))?;
    eprintln!("[js] starting the sandbox (the first start builds the Rust handler)");
    for path in ["/js", "/rust", "/big"] {
        sandbox.wait_for_200(addr, path, args.ready_timeout).await?;
    }

    let mut rows = Vec::new();
    for &connections in &args.connections {
        let mut runs: [(&str, Vec<LoadResult>); 3] = [
            ("/js", Vec::new()),
            ("/rust", Vec::new()),
            ("/big", Vec::new()),
        ];
        for repeat in 1..=args.repeats {
            for (path, results) in runs.iter_mut() {
                sandbox.ensure_running()?;
                let result = load::run(&LoadConfig {
                    addr,
                    path: path.to_string(),
                    connections,
                    warmup: args.warmup,
                    duration: args.duration,
                })
                .await?;
                eprintln!(
                    "[js] {connections:>3} conn, run {repeat}/{}: {path:<6} {:>8.0} req/s  p50 {:>9}  p99 {:>9}  errors {}",
                    args.repeats,
                    result.requests_per_sec(),
                    fmt_duration(result.latency.p50),
                    fmt_duration(result.latency.p99),
                    result.errors
                );
                results.push(result);
            }
        }
        for (path, results) in runs {
            rows.push(Row::new(path, connections, &results));
        }
    }

    let edits = measure_edits(args, &app.join("src/http/get-js/index.js"), addr).await?;
    sandbox.stop();
    Ok(markdown(args, &rows, &edits, big))
}

/// Edit → the first response carrying the new body, polled as fast as one connection can.
async fn measure_edits(args: &JsArgs, file: &Path, addr: SocketAddr) -> Result<Vec<Duration>> {
    // A blocking client is fine here: nothing else runs while an edit is timed.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("http://{addr}/js");
    let mut times = Vec::new();
    for edit in 1..=args.edits {
        let body = format!("edit {edit}");
        let source =
            format!("exports.handler = async () => ({{ statusCode: 200, body: '{body}' }})\n");
        let temporary = file.with_extension("tmp");
        std::fs::write(&temporary, source)?;
        let started = Instant::now();
        std::fs::rename(&temporary, file)?;
        loop {
            let served = agent
                .get(&url)
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok());
            if served.as_deref() == Some(body.as_str()) {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("edit {edit} was never served");
            }
        }
        let elapsed = started.elapsed();
        eprintln!(
            "[js] edit {edit}/{}: new code served after {}",
            args.edits,
            fmt_duration(elapsed)
        );
        times.push(elapsed);
        // Let the watcher settle so edits do not merge into one.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(times)
}

struct Row {
    path: &'static str,
    connections: usize,
    requests_per_sec: f64,
    p50: Duration,
    p99: Duration,
    errors: u64,
}

impl Row {
    fn new(path: &'static str, connections: usize, results: &[LoadResult]) -> Row {
        Row {
            path,
            connections,
            requests_per_sec: median(
                &results
                    .iter()
                    .map(LoadResult::requests_per_sec)
                    .collect::<Vec<_>>(),
            ),
            p50: median_duration(&results.iter().map(|r| r.latency.p50).collect::<Vec<_>>()),
            p99: median_duration(&results.iter().map(|r| r.latency.p99).collect::<Vec<_>>()),
            errors: results.iter().map(|r| r.errors).sum(),
        }
    }
}

fn markdown(args: &JsArgs, rows: &[Row], edits: &[Duration], big: usize) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "### JavaScript handlers ({})\n\n`sandbox-bench js`: one `sandbox start` serving `get /js` (JavaScript), `get /rust` (the same answer from Rust) and `get /big` (JavaScript, {} KB bundle); {} runs of {:?} (after {:?} warm-up) per route and connection count, interleaved; medians.\n\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        big / 1024,
        args.repeats,
        args.duration,
        args.warmup
    ));
    out.push_str(
        "| route | connections | req/s | p50 | p99 | errors |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| `{}` | {} | {:.0} | {} | {} | {} |\n",
            row.path,
            row.connections,
            row.requests_per_sec,
            fmt_duration(row.p50),
            fmt_duration(row.p99),
            row.errors
        ));
    }
    let find = |path: &str, connections: usize| {
        rows.iter()
            .find(|r| r.path == path && r.connections == connections)
    };
    let edit = median_duration(edits);
    out.push_str(&format!(
        "\nJS file edit → new code served: median {} over {} edits (min {}, max {}).\n\n",
        fmt_duration(edit),
        edits.len(),
        fmt_duration(edits.iter().min().copied().unwrap_or_default()),
        fmt_duration(edits.iter().max().copied().unwrap_or_default()),
    ));
    out.push_str("| target | measured | met |\n|---|---|---|\n");
    let verdict = |ok: bool| if ok { "yes" } else { "**no**" };
    if let Some(js) = find("/js", 1) {
        out.push_str(&format!(
            "| JS p50 < 2 ms at 1 connection | {} | {} |\n",
            fmt_duration(js.p50),
            verdict(js.p50 < Duration::from_millis(2))
        ));
    }
    let most = args.connections.iter().copied().max().unwrap_or(1);
    if let (Some(js), Some(rust)) = (find("/js", most), find("/rust", most)) {
        let ratio = js.requests_per_sec / rust.requests_per_sec.max(1.0);
        out.push_str(&format!(
            "| JS ≥ 25% of Rust req/s at {most} connections | {:.0}% | {} |\n",
            ratio * 100.0,
            verdict(ratio >= 0.25)
        ));
    }
    if let Some(big) = find("/big", 1) {
        out.push_str(&format!(
            "| 500 KB bundle p50 < 10 ms (1 connection) | {} | {} |\n",
            fmt_duration(big.p50),
            verdict(big.p50 < Duration::from_millis(10))
        ));
    }
    out.push_str(&format!(
        "| JS edit → new code < 100 ms | {} | {} |\n",
        fmt_duration(edit),
        verdict(edit < Duration::from_millis(100))
    ));
    out
}

/// A CommonJS module of about [`BIG_BUNDLE_BYTES`]: many small functions and a data
/// table, the shape of a bundled dependency. Returns its size.
fn generate_big_module(path: &Path) -> Result<usize> {
    let mut source = String::from(
        "// Generated by sandbox-bench js: about 500 KB of code.\nconst table = [];\n",
    );
    let mut i = 0;
    while source.len() < BIG_BUNDLE_BYTES {
        source.push_str(&format!(
            "function helper{i}(x) {{ return x * {i} + table.length; }}\ntable.push({{ id: {i}, name: 'entry number {i}', f: helper{i} }});\n"
        ));
        i += 1;
    }
    source.push_str("module.exports = table;\n");
    std::fs::write(path, &source).with_context(|| format!("writing {}", path.display()))?;
    Ok(source.len())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".sandbox" || name == "target" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
