//! The `sandbox` command: a thin binary over the library crates.
//!
//! `sandbox start [DIR]` loads the manifest, builds and compiles every handler, and
//! serves the app; `sandbox invoke FUNCTION` runs one handler once. Everything
//! substantive lives in the libraries (manifest, runtime, app, services, server);
//! this crate only wires them together and talks to the terminal.

mod control;
mod invoke;
mod logging;
mod project;
mod start;
mod summary;
mod watch;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "sandbox",
    version,
    about = "Run a serverless app (Architect .arc) locally, every handler in WebAssembly"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app in DIR (default: the current directory).
    Start(StartArgs),
    /// Run one handler once and print its result.
    Invoke(InvokeArgs),
}

#[derive(clap::Args)]
struct StartArgs {
    /// Project directory holding app.arc, .arc or sandbox.json.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Port to listen on (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 3333, env = "SANDBOX_PORT")]
    port: u16,
    /// Address to bind. Loopback by default: the sandbox is for this machine only.
    #[arg(long, default_value = "127.0.0.1", env = "SANDBOX_HOST")]
    host: IpAddr,
    /// `system` follows real time; `manual` freezes time until moved through the control API.
    #[arg(long, value_enum, default_value_t = ClockKind::System)]
    clock: ClockKind,
    /// Where a manual clock starts (RFC 3339, e.g. 2030-01-01T00:00:00Z). Default: now.
    #[arg(long, requires = "clock")]
    clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// Do not watch the project for changes (hot reload is on by default).
    #[arg(long)]
    no_watch: bool,
    /// A host name (beyond localhost and loopback addresses) whose requests may reach
    /// the control API, e.g. when the sandbox is reached by a LAN name. Repeatable; `*`
    /// allows any (this turns off the DNS-rebinding protection).
    #[arg(long = "allow-host", value_name = "NAME")]
    allow_hosts: Vec<String>,
    /// An origin (`https://tool.example`) whose pages may change the sandbox through the
    /// control API. Repeatable.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Open connections beyond this are answered 503 and closed.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// How long a client may take to send its request headers (also how long an idle
    /// keep-alive connection is kept), e.g. `30s`.
    #[arg(long, default_value = "30s", value_parser = parse_std_duration)]
    header_timeout: std::time::Duration,
    /// Keep state in DIR across restarts and crashes: queues' messages (with receive
    /// counts, visibility, delays, FIFO dedup), stream records and consumers'
    /// checkpoints, schedules' last fires, and queues and streams made through the AWS
    /// APIs. An acknowledged send or put is on disk before it is answered. Without it,
    /// nothing is written.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Remote queues (`remote` entries in the manifest) are received and invoked but
    /// never deleted from (messages return after their visibility timeout), and nothing
    /// is sent, published or put to a remote resource.
    #[arg(long)]
    remote_read_only: bool,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(clap::Args)]
struct InvokeArgs {
    /// Function name: full (`http/get-index`, `scheduled/daily`) or short (`get-index`, `daily`).
    function: String,
    /// Event JSON file, or `-` for stdin. Default: the trigger's sample event
    /// (a scheduled event for scheduled functions, `{}` otherwise).
    #[arg(long)]
    event: Option<PathBuf>,
    /// Project directory.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(clap::Args, Clone)]
struct LoadArgs {
    /// Where compiled modules are cached (default: DIR/.sandbox/cache).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Do not build Rust crates or run build commands; use existing output.
    #[arg(long)]
    no_build: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClockKind {
    System,
    Manual,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Start(args) => start::run(args).await,
            Command::Invoke(args) => invoke::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A duration argument in the sandbox's one syntax (`30s`, `1m30s`).
fn parse_std_duration(text: &str) -> Result<std::time::Duration, String> {
    sandbox_services::parse_duration(text)
        .map_err(|e| e.to_string())?
        .to_std()
        .map_err(|_| format!("`{text}` must not be negative"))
}
