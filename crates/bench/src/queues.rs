//! The `queues` benchmark: publish → handler-start latency and end-to-end throughput of
//! a queue consumed by a trivial WebAssembly handler in batches of 10, beside the same
//! two measurements over an in-process tokio channel (the floor any queue adds to).
//!
//! Runs in-process on the real libraries (manifest → app → triggers → runtime), so it
//! measures the queue and its consumer, not HTTP: publishing goes through the same
//! `QueueService::send` a handler's `queues::publish` reaches.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use sandbox_services::queue::SendRequest;
use sandbox_services::Clock;
use sandbox_triggers::Triggers;

use crate::report::Machine;
use crate::stats::{median, LatencySummary};

#[derive(Debug, clap::Args)]
pub struct QueueArgs {
    /// The app with the `work` queue (batch 10, trivial consumer).
    #[arg(long, default_value = "fixtures/apps/bench")]
    app: PathBuf,
    /// Sequential publish → handler-start samples per run.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Messages per throughput run.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// Interleaved runs of each measurement; medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

const QUEUE: &str = "work";
const FUNCTION: &str = "queues/work";

pub fn run(args: QueueArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let triggers = start(&args.app).await?;
        let mut sandbox_latency = Vec::new();
        let mut channel_latency = Vec::new();
        let mut sandbox_rate = Vec::new();
        let mut publish_rate = Vec::new();
        let mut channel_rate = Vec::new();
        for run in 0..args.runs {
            eprintln!("run {}/{}", run + 1, args.runs);
            channel_latency.push(crate::inproc::channel_latency(args.samples).await);
            sandbox_latency.push(sandbox_latency_run(&triggers, args.samples).await?);
            channel_rate.push(channel_throughput_run(args.messages).await);
            let (consumed, published) = sandbox_throughput_run(&triggers, args.messages).await?;
            sandbox_rate.push(consumed);
            publish_rate.push(published);
        }
        print_report(
            &args,
            &sandbox_latency,
            &channel_latency,
            &sandbox_rate,
            &channel_rate,
            median(&publish_rate),
        );
        Ok(())
    })
}

async fn start(app: &Path) -> anyhow::Result<Arc<Triggers>> {
    // A manual clock lets the throughput run hold messages back (a delay) until all are
    // published, then release them at once; undelayed messages flow as usual.
    crate::inproc::start(
        app,
        &[FUNCTION.to_string()],
        Clock::manual(chrono::Utc::now()),
    )
    .await
}

/// One message at a time: publish, wait until the consumer has run, read when the
/// handler's invocation started.
async fn sandbox_latency_run(
    triggers: &Triggers,
    samples: usize,
) -> anyhow::Result<LatencySummary> {
    let mut nanos = Vec::with_capacity(samples);
    for n in 0..samples {
        let published = chrono::Utc::now();
        triggers
            .queues()
            .send(QUEUE, SendRequest::new(format!("m{n}")))
            .map_err(|e| anyhow!("{e}"))?;
        nanos.push(
            crate::inproc::start_latency(triggers, &[FUNCTION.to_string()], published).await?,
        );
    }
    Ok(LatencySummary::from_nanos(&mut nanos))
}

/// Consumer throughput with full batches: publish everything with a 1 s delay, release
/// it by advancing the clock, and time until the consumer has deleted every message.
/// Also returns the publish rate.
async fn sandbox_throughput_run(
    triggers: &Triggers,
    messages: usize,
) -> anyhow::Result<(f64, f64)> {
    let started = Instant::now();
    for n in 0..messages {
        let mut request = SendRequest::new(format!("m{n}"));
        request.delay = Some(Duration::from_secs(1));
        triggers
            .queues()
            .send(QUEUE, request)
            .map_err(|e| anyhow!("{e}"))?;
    }
    let publish_rate = messages as f64 / started.elapsed().as_secs_f64();
    let released = Instant::now();
    triggers.advance("1s").map_err(|e| anyhow!("{e}"))?;
    let report = triggers.drain(Duration::from_secs(300)).await;
    if !report.drained {
        return Err(anyhow!("the consumer did not settle: {report:?}"));
    }
    Ok((
        messages as f64 / released.elapsed().as_secs_f64(),
        publish_rate,
    ))
}

/// The floor: the same number of items through a channel, consumed ten at a time.
async fn channel_throughput_run(messages: usize) -> f64 {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let started = Instant::now();
    let consumer = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(10);
        let mut bytes = 0usize;
        while rx.recv_many(&mut batch, 10).await > 0 {
            bytes += batch.drain(..).map(|m| m.len()).sum::<usize>();
        }
        bytes
    });
    for n in 0..messages {
        let _ = tx.send(format!("m{n}"));
    }
    drop(tx);
    let _ = consumer.await;
    messages as f64 / started.elapsed().as_secs_f64()
}

fn print_report(
    args: &QueueArgs,
    sandbox_latency: &[LatencySummary],
    channel_latency: &[LatencySummary],
    sandbox_rate: &[f64],
    channel_rate: &[f64],
    publish_rate: f64,
) {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let p = |runs: &[LatencySummary], f: fn(&LatencySummary) -> Duration| {
        median(&runs.iter().map(|s| us(f(s))).collect::<Vec<_>>())
    };
    let (s50, s99) = (p(sandbox_latency, |s| s.p50), p(sandbox_latency, |s| s.p99));
    let (c50, c99) = (p(channel_latency, |s| s.p50), p(channel_latency, |s| s.p99));
    let (s_rate, c_rate) = (median(sandbox_rate), median(channel_rate));
    let machine = Machine::detect();
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    println!();
    println!(
        "### Queues — {} (UTC)",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    println!();
    println!(
        "Machine: {} cores, {}. Medians of {} interleaved runs; {} latency samples and {} messages per run; batch size 10, trivial `handler.wat` consumer.",
        machine.cpus, machine.cpu_model, args.runs, args.samples, args.messages
    );
    println!();
    println!("| measurement | sandbox queue | tokio channel (baseline) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| publish → handler start, p50 | {s50:.1} µs | {c50:.1} µs | {:.0}× |",
        s50 / c50.max(0.001)
    );
    println!(
        "| publish → handler start, p99 | {s99:.1} µs | {c99:.1} µs | {:.0}× |",
        s99 / c99.max(0.001)
    );
    println!("| consumed through the handler (batch 10) | {s_rate:.0} msg/s | {c_rate:.0} msg/s | {:.3} |", s_rate / c_rate.max(1.0));
    println!("| published (one thread, in-process) | {publish_rate:.0} msg/s | | |");
    println!();
    println!("| target | measured | |");
    println!("|---|---|---|");
    println!("| p50 < 1 ms | {s50:.1} µs | {} |", met(s50 < 1000.0));
    println!(
        "| ≥ 300k messages/s | {s_rate:.0} msg/s | {} |",
        met(s_rate >= 300_000.0)
    );
}
