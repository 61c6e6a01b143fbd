//! The `streams` benchmark: put → consumer-start latency and put-and-consumed throughput
//! of a Kinesis stream read by a trivial WebAssembly consumer in batches of 100, beside
//! the same two measurements over an in-process tokio channel (the floor any stream adds
//! to).
//!
//! Runs in-process on the real libraries (manifest → app → triggers → runtime), so it
//! measures the stream and its consumer, not HTTP: records go through the same
//! `StreamService::put` and `put_records` that the control API and a handler's
//! `streams::put` reach. Throughput puts with PutRecords (500 records per request, the
//! Kinesis maximum), partition keys spread over both shards.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use sandbox_services::stream::PutEntry;
use sandbox_services::Clock;
use sandbox_triggers::Triggers;

use crate::report::Machine;
use crate::stats::{median, LatencySummary};

#[derive(Debug, clap::Args)]
pub struct StreamArgs {
    /// The app with the `work` stream (2 shards) and its `sink` consumer (batch 100).
    #[arg(long, default_value = "fixtures/apps/bench-streams")]
    app: PathBuf,
    /// Sequential put → consumer-start samples per run.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Records per throughput run.
    #[arg(long, default_value_t = 200_000)]
    records: usize,
    /// Interleaved runs of each measurement; medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

const STREAM: &str = "work";
const FUNCTION: &str = "streams/work/sink";
const BATCH: usize = 100;
/// Records per PutRecords call (Kinesis's maximum).
const PUT_RECORDS: usize = 500;

pub fn run(args: StreamArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let triggers = start(&args.app).await?;
        let mut sandbox_latency = Vec::new();
        let mut channel_latency = Vec::new();
        let mut sandbox_rate = Vec::new();
        let mut channel_rate = Vec::new();
        for run in 0..args.runs {
            eprintln!("run {}/{}", run + 1, args.runs);
            channel_latency.push(crate::inproc::channel_latency(args.samples).await);
            sandbox_latency.push(sandbox_latency_run(&triggers, args.samples).await?);
            channel_rate.push(channel_throughput_run(args.records).await);
            sandbox_rate.push(sandbox_throughput_run(&triggers, args.records).await?);
        }
        print_report(
            &args,
            &sandbox_latency,
            &channel_latency,
            &sandbox_rate,
            &channel_rate,
        );
        Ok(())
    })
}

async fn start(app: &Path) -> anyhow::Result<Arc<Triggers>> {
    crate::inproc::start(app, &[FUNCTION.to_string()], Clock::system()).await
}

/// One record at a time: put, wait until the consumer has run, read when the handler's
/// invocation started.
async fn sandbox_latency_run(
    triggers: &Triggers,
    samples: usize,
) -> anyhow::Result<LatencySummary> {
    let mut nanos = Vec::with_capacity(samples);
    for n in 0..samples {
        let put = chrono::Utc::now();
        triggers
            .streams()
            .put(
                STREAM,
                &format!("k{}", n % 64),
                format!("r{n}").into_bytes(),
                None,
            )
            .map_err(|e| anyhow!("{e}"))?;
        nanos.push(crate::inproc::start_latency(triggers, &[FUNCTION.to_string()], put).await?);
    }
    Ok(LatencySummary::from_nanos(&mut nanos))
}

/// Put everything with PutRecords while the consumer runs, then wait for it to finish:
/// records per second, put and consumed.
async fn sandbox_throughput_run(triggers: &Triggers, records: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut n = 0;
    while n < records {
        let chunk = PUT_RECORDS.min(records - n);
        let entries = (n..n + chunk)
            .map(|i| PutEntry {
                partition_key: format!("k{}", i % 64),
                data: format!("r{i}").into_bytes(),
                explicit_hash_key: None,
            })
            .collect();
        let results = triggers
            .streams()
            .put_records(STREAM, entries)
            .map_err(|e| anyhow!("{e}"))?;
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            return Err(anyhow!("a record was refused: {e}"));
        }
        n += chunk;
        // Let the consumer run alongside the producer, as a real one would.
        tokio::task::yield_now().await;
    }
    let report = triggers.drain(Duration::from_secs(300)).await;
    if !report.drained {
        return Err(anyhow!("the consumer did not settle: {report:?}"));
    }
    Ok(records as f64 / started.elapsed().as_secs_f64())
}

/// The floor: the same number of items through a channel, consumed 100 at a time.
async fn channel_throughput_run(records: usize) -> f64 {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let started = Instant::now();
    let consumer = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        let mut bytes = 0usize;
        while rx.recv_many(&mut batch, BATCH).await > 0 {
            bytes += batch.drain(..).map(|m| m.len()).sum::<usize>();
        }
        bytes
    });
    for n in 0..records {
        let _ = tx.send(format!("r{n}").into_bytes());
    }
    drop(tx);
    let _ = consumer.await;
    records as f64 / started.elapsed().as_secs_f64()
}

fn print_report(
    args: &StreamArgs,
    sandbox_latency: &[LatencySummary],
    channel_latency: &[LatencySummary],
    sandbox_rate: &[f64],
    channel_rate: &[f64],
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
        "### Streams — {} (UTC)",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    println!();
    println!(
        "Machine: {} cores, {}. Medians of {} interleaved runs; {} latency samples and {} records per run; 2 shards, batch size 100, PutRecords of {PUT_RECORDS}, trivial `handler.wat` consumer.",
        machine.cpus, machine.cpu_model, args.runs, args.samples, args.records
    );
    println!();
    println!("| measurement | sandbox stream | tokio channel (baseline) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| put → consumer start, p50 | {s50:.1} µs | {c50:.1} µs | {:.0}× |",
        s50 / c50.max(0.001)
    );
    println!(
        "| put → consumer start, p99 | {s99:.1} µs | {c99:.1} µs | {:.0}× |",
        s99 / c99.max(0.001)
    );
    println!(
        "| throughput, put and consumed (batch 100) | {s_rate:.0} records/s | {c_rate:.0} records/s | {:.3} |",
        s_rate / c_rate.max(1.0)
    );
    println!();
    println!("| target | measured | |");
    println!("|---|---|---|");
    println!("| p50 < 1 ms | {s50:.1} µs | {} |", met(s50 < 1000.0));
    println!(
        "| ≥ 300k records/s | {s_rate:.0} records/s | {} |",
        met(s_rate >= 300_000.0)
    );
}
