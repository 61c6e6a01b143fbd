//! `sandbox start`: bind, load, print what was loaded, serve until Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sandbox_server::{Policy, Server, ServerConfig};
use sandbox_services::Clock;
use sandbox_triggers::Triggers;

use crate::control::{AwsApis, TriggersControl};
use crate::{project, summary, ClockKind, StartArgs};

pub async fn run(args: StartArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    raise_open_file_limit();
    // Bind first: a busy port should fail in milliseconds, not after every build.
    let (server, addr) = Server::bind(&ServerConfig {
        host: args.host,
        port: args.port,
    })
    .await?;
    let server = server.with_policy(Policy {
        header_timeout: args.header_timeout,
        max_connections: args.max_connections as usize,
        allowed_hosts: args.allow_hosts.clone(),
        allowed_origins: args.allow_origins.clone(),
        ..Policy::default()
    });
    let app = project::load(&args.dir, &args.load, Some(format!("http://{addr}"))).await?;
    summary::print(&app);
    let cell = sandbox_server::app_cell(app);
    let clock = match args.clock {
        ClockKind::System => Clock::system(),
        ClockKind::Manual => Clock::manual(args.clock_start.unwrap_or_else(whole_seconds_now)),
    };
    // Handlers' WASI wall clock is the sandbox clock (manual or offset alike).
    let handler_clock = clock.clone();
    cell.load()
        .runtime()
        .set_wall_clock(Arc::new(move || handler_clock.now().into()));
    let triggers = match &args.state {
        None => Triggers::start(cell.clone(), clock),
        Some(dir) => {
            Triggers::start_durable(cell.clone(), clock, dir).map(|(triggers, restored)| {
                summary::restored(&restored);
                triggers
            })
        }
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Remote entries (`remote` in the manifest) connect to AWS; nothing does otherwise.
    let remote = sandbox_remote::Options {
        read_only: args.remote_read_only,
        state_dir: args.state.clone(),
    };
    for line in sandbox_remote::start(&triggers, remote).await {
        println!("  {line}");
    }
    let _watcher = if args.no_watch {
        None
    } else {
        let root = cell.load().manifest().root.clone();
        let mut options = sandbox_app::BuildOptions::for_project(&root);
        options.skip = args.load.no_build;
        options.endpoint = Some(format!("http://{addr}"));
        match crate::watch::start(root, triggers.clone(), options) {
            Ok(watcher) => Some(watcher),
            Err(e) => {
                tracing::warn!("hot reload is off: cannot watch the project ({e})");
                None
            }
        }
    };
    let aws = sandbox_aws::Aws::new(triggers.clone(), format!("http://{addr}"));
    let server = server.with_aws(Arc::new(AwsApis(aws)));
    let control = Arc::new(TriggersControl(triggers));
    println!(
        "listening on http://{addr} (ready in {:.0?})",
        started.elapsed()
    );
    server.serve(cell, control, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// A manual clock starts at the current time, without the sub-second noise that makes
/// event timestamps awkward to assert on.
fn whole_seconds_now() -> DateTime<Utc> {
    let now = Utc::now();
    now - chrono::Duration::nanoseconds(now.timestamp_subsec_nanos() as i64)
}

/// Resolves on Ctrl-C or SIGTERM; the server then stops accepting and lets in-flight
/// requests finish.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: waiting for in-flight requests");
}

/// Lets the process hold as many connections as `--max-connections` allows: the soft
/// limit on open files is often far below the hard one (1024 or 256 by default).
fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit read and write only the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0
                && limit.rlim_cur < limit.rlim_max
            {
                let wanted = limit.rlim_max.min(65_536);
                if wanted > limit.rlim_cur {
                    limit.rlim_cur = wanted;
                    libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
                }
            }
        }
    }
}
