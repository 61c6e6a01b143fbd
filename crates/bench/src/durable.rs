//! The `durable` benchmark: what `--state DIR` costs. Queue send and stream put
//! throughput from many concurrent senders with and without a state directory, in the
//! same run (interleaved), and how long start-up takes to restore a store holding many
//! messages.
//!
//! In-process, on the real libraries: sends go through `QueueService::send`, the path the
//! control API and handlers' host calls take, each answered only once its message is on
//! disk (group commit). The queue has no consumer, so only sending is measured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use arc_swap::ArcSwap;
use sandbox_app::AppCell;
use sandbox_services::queue::SendRequest;
use sandbox_services::Clock;
use sandbox_triggers::Triggers;

use crate::report::Machine;
use crate::stats::median;

#[derive(Debug, clap::Args)]
pub struct DurableArgs {
    /// Any app: the benchmark makes its own queue through the API.
    #[arg(long, default_value = "fixtures/apps/bench")]
    app: PathBuf,
    /// Messages per throughput run.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Concurrent senders (tokio tasks, like concurrent HTTP requests).
    #[arg(long, default_value_t = 64)]
    senders: usize,
    /// Messages in the store whose restore is timed.
    #[arg(long, default_value_t = 100_000)]
    stored: usize,
    /// Interleaved runs of each measurement; medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Also measure sends through the control API (HTTP) of the `sandbox` binary, with
    /// this many client threads (0: skip).
    #[arg(long, default_value_t = 16)]
    http_clients: usize,
    /// Messages per HTTP run.
    #[arg(long, default_value_t = 10_000)]
    http_messages: usize,
}

const QUEUE: &str = "bench-durable";

pub fn run(args: DurableArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let cell = load(&args.app).await?;
        let mut memory = Vec::new();
        let mut durable = Vec::new();
        let (mut stream_memory, mut stream_durable) = (Vec::new(), Vec::new());
        for run in 0..args.runs {
            eprintln!("run {}/{}", run + 1, args.runs);
            let triggers = Triggers::start(cell.clone(), clock()).map_err(|e| anyhow!("{e}"))?;
            memory.push(send_rate(&triggers, args.messages, args.senders).await?);
            stream_memory.push(put_rate(&triggers, args.messages, args.senders).await?);
            let dir = tempfile::tempdir()?;
            let (triggers, _) = Triggers::start_durable(cell.clone(), clock(), dir.path())
                .map_err(|e| anyhow!("{e}"))?;
            durable.push(send_rate(&triggers, args.messages, args.senders).await?);
            stream_durable.push(put_rate(&triggers, args.messages, args.senders).await?);
        }
        eprintln!("storing {} messages", args.stored);
        let stored = tempfile::tempdir()?;
        let (triggers, _) = Triggers::start_durable(cell.clone(), clock(), stored.path())
            .map_err(|e| anyhow!("{e}"))?;
        send_rate(&triggers, args.stored, args.senders).await?;
        let file = stored.path().join(sandbox_state_file());
        let mut starts = Vec::new();
        for _ in 0..args.runs {
            // A copy: the first sandbox still holds the original (redb locks it).
            let copy = tempfile::tempdir()?;
            std::fs::copy(&file, copy.path().join(sandbox_state_file()))
                .with_context(|| format!("copying {}", file.display()))?;
            let started = Instant::now();
            let (_, restored) = Triggers::start_durable(cell.clone(), clock(), copy.path())
                .map_err(|e| anyhow!("{e}"))?;
            starts.push(started.elapsed().as_secs_f64());
            // Every sender sends the same number: the total rounds up to a multiple.
            let sent = args.stored.div_ceil(args.senders) * args.senders;
            if restored.messages != sent {
                return Err(anyhow!(
                    "restored {} messages, stored {sent}",
                    restored.messages
                ));
            }
        }
        let (mut http_memory, mut http_durable) = (Vec::new(), Vec::new());
        for run in 0..if args.http_clients > 0 { args.runs } else { 0 } {
            eprintln!("http run {}/{}", run + 1, args.runs);
            http_memory.push(http_rate(&args, None)?);
            let dir = tempfile::tempdir()?;
            http_durable.push(http_rate(&args, Some(dir.path()))?);
        }
        print_report(&args, &memory, &durable, &starts);
        let (m, d) = (median(&stream_memory), median(&stream_durable));
        println!(
            "| stream PutRecord/s (in-process, {} senders) | {m:.0} | {d:.0} | {:.0} % |",
            args.senders,
            100.0 * d / m.max(1e-9)
        );
        if !http_memory.is_empty() {
            let (m, d) = (median(&http_memory), median(&http_durable));
            println!(
                "| queue sends/s through the control API, {} HTTP clients | {m:.0} | {d:.0} | {:.0} % |",
                args.http_clients,
                100.0 * d / m.max(1e-9)
            );
        }
        Ok(())
    })
}

/// Starts the `sandbox` binary (with `--state` when `state` is given), makes a queue
/// through the AWS API, and sends through the control API from `http_clients` threads
/// with keep-alive connections; answers sends per second.
fn http_rate(args: &DurableArgs, state: Option<&Path>) -> anyhow::Result<f64> {
    let mut builder = sandbox_testing::Sandbox::builder(&args.app).arg("--no-watch");
    if let Some(dir) = state {
        builder = builder.arg("--state").arg(dir.display().to_string());
    }
    let sandbox = builder.start()?;
    let base = sandbox.base_url().to_string();
    ureq::post(&base)
        .header("X-Amz-Target", "AmazonSQS.CreateQueue")
        .header("Content-Type", "application/x-amz-json-1.0")
        .send(format!("{{\"QueueName\":\"{QUEUE}\"}}"))?;
    let url = format!("{base}/_sandbox/queues/{QUEUE}/messages");
    let per = args.http_messages.div_ceil(args.http_clients);
    let started = Instant::now();
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..args.http_clients)
            .map(|c| {
                let url = &url;
                s.spawn(move || {
                    let agent = ureq::Agent::new_with_defaults();
                    for i in 0..per {
                        agent
                            .post(url)
                            .header("Content-Type", "application/json")
                            .send(format!("{{\"body\":\"c{c}-{i}\"}}"))?;
                    }
                    anyhow::Ok(())
                })
            })
            .collect();
        threads
            .into_iter()
            .try_for_each(|t| t.join().map_err(|_| anyhow!("a client panicked"))?)
    })?;
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    Ok((per * args.http_clients) as f64 / elapsed.as_secs_f64())
}

fn sandbox_state_file() -> &'static str {
    "sandbox.redb"
}

fn clock() -> Clock {
    Clock::manual(chrono::Utc::now())
}

async fn load(dir: &Path) -> anyhow::Result<AppCell> {
    let app = crate::inproc::load(dir).await?;
    Ok(Arc::new(ArcSwap::from_pointee(app)))
}

/// Makes the queue (no consumer), then sends `messages` from `senders` tasks at once;
/// answers messages per second.
async fn send_rate(
    triggers: &Arc<Triggers>,
    messages: usize,
    senders: usize,
) -> anyhow::Result<f64> {
    triggers
        .queues()
        .with_queues(|q, now| q.create(QUEUE, &BTreeMap::new(), BTreeMap::new(), now))
        .map_err(|e| anyhow!("{e}"))?
        .map_err(|e| anyhow!("{e}"))?;
    let per = messages.div_ceil(senders);
    let started = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|s| {
            let triggers = triggers.clone();
            tokio::spawn(async move {
                for i in 0..per {
                    let body = format!("{{\"sender\":{s},\"n\":{i}}}");
                    triggers
                        .queues()
                        .send(QUEUE, SendRequest::new(body))
                        .map_err(|e| anyhow!("{e}"))?;
                    // Let other senders in between, as separate requests would.
                    tokio::task::yield_now().await;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    Ok((per * senders) as f64 / elapsed.as_secs_f64())
}

/// Makes a stream (4 shards, no consumer) through the Kinesis API's path, then puts
/// `records` from `senders` tasks at once (`StreamService::put`, the path of the control
/// API and handlers' host calls); answers records per second.
async fn put_rate(triggers: &Arc<Triggers>, records: usize, senders: usize) -> anyhow::Result<f64> {
    triggers
        .streams()
        .create(QUEUE, 4, false)
        .map_err(|e| anyhow!("{e:?}"))?;
    let per = records.div_ceil(senders);
    let started = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|s| {
            let triggers = triggers.clone();
            tokio::spawn(async move {
                for i in 0..per {
                    let data = format!("{{\"sender\":{s},\"n\":{i}}}").into_bytes();
                    triggers
                        .streams()
                        .put(QUEUE, &format!("k{s}-{i}"), data, None)
                        .map_err(|e| anyhow!("{e}"))?;
                    tokio::task::yield_now().await;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    Ok((per * senders) as f64 / elapsed.as_secs_f64())
}

fn print_report(args: &DurableArgs, memory: &[f64], durable: &[f64], starts: &[f64]) {
    let (m, d) = (median(memory), median(durable));
    let machine = Machine::detect();
    println!(
        "### Durable state (`--state DIR`) — {}",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    println!();
    println!(
        "Machine: {} cores, {}. {} sends from {} concurrent senders per run, medians of {} interleaved runs; a restore timed on a copy of the store.",
        machine.cpus, machine.cpu_model, args.messages, args.senders, args.runs
    );
    println!();
    println!("| measurement | in memory | with --state | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| queue sends/s | {m:.0} | {d:.0} | {:.0} % |",
        100.0 * d / m.max(1e-9)
    );
    println!(
        "| start-up restoring {} stored messages | — | {:.0} ms | |",
        args.stored,
        median(starts) * 1000.0
    );
}
