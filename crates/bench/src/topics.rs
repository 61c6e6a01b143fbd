//! The `topics` benchmark: SNS fan-out latency (publish → the last of ten subscribed
//! handlers starting) beside the same fan-out over tokio channels, and EventBridge pattern
//! matching throughput on 100 rules (the workload `sandbox_services::pattern::workload`
//! shares with the `pattern_bench` example).
//!
//! Runs in-process on the real libraries (manifest → app → triggers → runtime), so it
//! measures the topic and its deliveries, not HTTP: publishing goes through the same
//! `TopicService::publish` a handler's `topics::publish` reaches.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use sandbox_services::pattern::workload;
use sandbox_services::topic::PublishRequest;
use sandbox_services::Clock;
use sandbox_triggers::Triggers;

use crate::report::Machine;
use crate::stats::{median, LatencySummary};

#[derive(Debug, clap::Args)]
pub struct TopicArgs {
    /// The app with the `fanout` topic (ten trivial function subscribers).
    #[arg(long, default_value = "fixtures/apps/bench-topics")]
    app: PathBuf,
    /// Sequential publish → last-handler-start samples per run.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Events per pattern-matching run (each tested against all 100 rules).
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Interleaved runs of each measurement; medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

const TOPIC: &str = "fanout";
const SUBSCRIBERS: usize = 10;

fn functions() -> Vec<String> {
    std::iter::once("events/fanout".to_string())
        .chain((1..SUBSCRIBERS).map(|n| format!("events/s{n}")))
        .collect()
}

pub fn run(args: TopicArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (sandbox, channel) = runtime.block_on(async {
        let triggers = start(&args.app).await?;
        let mut sandbox = Vec::new();
        let mut channel = Vec::new();
        for run in 0..args.runs {
            eprintln!("fan-out run {}/{}", run + 1, args.runs);
            channel.push(channel_fan_out_run(args.samples).await);
            sandbox.push(sandbox_fan_out_run(&triggers, args.samples).await?);
        }
        anyhow::Ok((sandbox, channel))
    })?;
    // Pattern matching is synchronous and single-threaded: one core, as the target says.
    let rules = workload::rules();
    let events = workload::events(args.events);
    let mut rates = Vec::new();
    for run in 0..args.runs {
        eprintln!("pattern run {}/{}", run + 1, args.runs);
        let started = Instant::now();
        std::hint::black_box(workload::evaluate(&rules, &events));
        rates.push((events.len() * rules.len()) as f64 / started.elapsed().as_secs_f64());
    }
    print_report(&args, &sandbox, &channel, &rates, rules.len());
    Ok(())
}

async fn start(app: &Path) -> anyhow::Result<Arc<Triggers>> {
    crate::inproc::start(app, &functions(), Clock::system()).await
}

/// One message at a time: publish, wait until every subscriber has run, and take the
/// latest invocation start among the ten.
async fn sandbox_fan_out_run(
    triggers: &Triggers,
    samples: usize,
) -> anyhow::Result<LatencySummary> {
    let functions = functions();
    let mut nanos = Vec::with_capacity(samples);
    for n in 0..samples {
        let published = chrono::Utc::now();
        triggers
            .topics()
            .publish(TOPIC, PublishRequest::new(format!("m{n}")))
            .map_err(|e| anyhow!("{e}"))?;
        nanos.push(crate::inproc::start_latency(triggers, &functions, published).await?);
    }
    Ok(LatencySummary::from_nanos(&mut nanos))
}

/// The floor: one item sent to ten waiting tasks over ten channels; the time until the
/// last of them has it.
async fn channel_fan_out_run(samples: usize) -> LatencySummary {
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Duration>();
    let mut senders = Vec::with_capacity(SUBSCRIBERS);
    let mut tasks = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
        let done = done_tx.clone();
        senders.push(tx);
        tasks.push(tokio::spawn(async move {
            while let Some(sent) = rx.recv().await {
                let _ = done.send(sent.elapsed());
            }
        }));
    }
    let mut nanos = Vec::with_capacity(samples);
    for _ in 0..samples {
        let sent = Instant::now();
        for tx in &senders {
            let _ = tx.send(sent);
        }
        let mut last = Duration::ZERO;
        for _ in 0..SUBSCRIBERS {
            if let Some(latency) = done_rx.recv().await {
                last = last.max(latency);
            }
        }
        nanos.push(last.as_nanos() as u64);
    }
    drop(senders);
    for task in tasks {
        let _ = task.await;
    }
    LatencySummary::from_nanos(&mut nanos)
}

fn print_report(
    args: &TopicArgs,
    sandbox: &[LatencySummary],
    channel: &[LatencySummary],
    rates: &[f64],
    rules: usize,
) {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let p = |runs: &[LatencySummary], f: fn(&LatencySummary) -> Duration| {
        median(&runs.iter().map(|s| us(f(s))).collect::<Vec<_>>())
    };
    let (s50, s99) = (p(sandbox, |s| s.p50), p(sandbox, |s| s.p99));
    let (c50, c99) = (p(channel, |s| s.p50), p(channel, |s| s.p99));
    let rate = median(rates);
    let machine = Machine::detect();
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    println!();
    println!(
        "### Topics and patterns — {} (UTC)",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    println!();
    println!(
        "Machine: {} cores, {}. Medians of {} interleaved runs; {} fan-out samples per run to {SUBSCRIBERS} trivial `handler.wat` subscribers; {} events × {rules} rules per pattern run, one core.",
        machine.cpus, machine.cpu_model, args.runs, args.samples, args.events
    );
    println!();
    println!("| measurement | sandbox topic | tokio channels (baseline) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| publish → last of {SUBSCRIBERS} handlers starts, p50 | {s50:.1} µs | {c50:.1} µs | {:.0}× |",
        s50 / c50.max(0.001)
    );
    println!(
        "| publish → last of {SUBSCRIBERS} handlers starts, p99 | {s99:.1} µs | {c99:.1} µs | {:.0}× |",
        s99 / c99.max(0.001)
    );
    println!("| pattern matching, {rules} rules | {rate:.0} events×rules/s | | |");
    println!();
    println!("| target | measured | |");
    println!("|---|---|---|");
    println!(
        "| fan-out p50 < 1 ms | {s50:.1} µs | {} |",
        met(s50 < 1000.0)
    );
    println!(
        "| ≥ 1M events×rules/s per core | {:.1}M/s | {} |",
        rate / 1e6,
        met(rate >= 1e6)
    );
}
