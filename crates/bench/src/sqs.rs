//! The `sqs` benchmark: the official Rust SDK for SQS against the sandbox's SQS API,
//! and the same client against the bare hyper server answering a canned `SendMessage`
//! (the cost of the SDK, HTTP and loopback alone), in one run.
//!
//! Round trips per second for `SendMessage`, and for `ReceiveMessage` + `DeleteMessage`
//! pairs, at 1 and 16 concurrent clients; runs interleave (baseline, send, receive)
//! and medians of the repeats are reported, with each rate as a ratio of the baseline's.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::duration::parse_duration;
use crate::process::{free_port, sandbox_command, ChildGuard};
use crate::report::Machine;
use crate::stats::median;

/// Options of `sandbox-bench sqs`.
#[derive(Debug, Clone, clap::Args)]
pub struct SqsArgs {
    /// Measured time of each run (e.g. 3s).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Concurrent SDK clients to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    pub clients: Vec<usize>,
    /// Runs per (target, clients); the median is reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// The `sandbox` binary under test.
    #[arg(long, default_value = "target/release/sandbox")]
    pub sandbox_bin: PathBuf,
    /// The app the sandbox serves (its queues do not matter: the benchmark makes its own).
    #[arg(long, default_value = "fixtures/apps/bench")]
    pub app: PathBuf,
    /// Worker threads of the client's runtime.
    #[arg(long, default_value_t = 2)]
    pub client_threads: usize,
}

pub fn run(args: SqsArgs) -> Result<()> {
    if args.clients.is_empty() || args.clients.contains(&0) || args.repeats == 0 {
        bail!("--clients needs positive counts and --repeats at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .enable_all()
        .build()
        .context("building the client's runtime")?;
    let report = runtime.block_on(measure(&args))?;
    println!("{report}");
    Ok(())
}

pub(crate) fn client(addr: SocketAddr) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(format!("http://{addr}"))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

async fn measure(args: &SqsArgs) -> Result<String> {
    let logs = tempfile::tempdir()?;
    let bench_exe = std::env::current_exe()?;
    let bare_port = free_port()?;
    let bare_addr = SocketAddr::from(([127, 0, 0, 1], bare_port));
    let mut command = Command::new(&bench_exe);
    command
        .arg("bare-server")
        .arg("--port")
        .arg(bare_port.to_string());
    let mut bare = ChildGuard::spawn("bare-server", command, &logs.path().join("bare.log"))?;
    bare.wait_for_200(bare_addr, "/", Duration::from_secs(30))
        .await?;

    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut command = sandbox_command(&args.sandbox_bin, &args.app, port);
    command.arg("--no-watch");
    let mut sandbox = ChildGuard::spawn("sandbox", command, &logs.path().join("sandbox.log"))?;
    sandbox
        .wait_for_200(addr, "/_sandbox/status", Duration::from_secs(60))
        .await?;

    let sqs = client(addr);
    let queue = sqs
        .create_queue()
        .queue_name("bench")
        .send()
        .await?
        .queue_url
        .context("CreateQueue answered no URL")?;
    let baseline_url = format!("http://{bare_addr}/123456789012/bench");
    let baseline = client(bare_addr);

    let mut out = String::new();
    out.push_str(&format!(
        "### SQS API through the official Rust SDK ({}, {})\n\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        {
            let machine = Machine::detect();
            format!("{} CPUs, {}", machine.cpus, machine.cpu_model)
        }
    ));
    out.push_str("| clients | canned SendMessage (bare hyper) | SendMessage | ratio | Receive+Delete pairs | ratio |\n|---|---|---|---|---|---|\n");
    for &clients in &args.clients {
        let (mut base, mut send, mut pairs) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.repeats {
            base.push(sends(&baseline, &baseline_url, clients, args.duration).await?);
            sandbox.ensure_running()?;
            let rate = sends(&sqs, &queue, clients, args.duration).await?;
            send.push(rate);
            // Enough messages that receivers never find the queue empty.
            fill(
                &sqs,
                &queue,
                (rate * args.duration.as_secs_f64() * 1.5) as usize + 1000,
            )
            .await?;
            pairs.push(receive_deletes(&sqs, &queue, clients, args.duration).await?);
            sqs.purge_queue().queue_url(&queue).send().await?;
        }
        let (b, s, p) = (median(&base), median(&send), median(&pairs));
        out.push_str(&format!(
            "| {clients} | {b:.0}/s | {s:.0}/s | {:.2} | {p:.0}/s | {:.2} |\n",
            s / b,
            p / b
        ));
    }
    out.push_str(&format!(
        "\nMedians of {} runs of {:?} each, interleaved; one round trip per SendMessage, two per Receive+Delete pair.\n",
        args.repeats, args.duration
    ));
    sandbox.stop();
    bare.stop();
    Ok(out)
}

/// SendMessage round trips per second from `clients` concurrent loops.
async fn sends(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    clients: usize,
    duration: Duration,
) -> Result<f64> {
    let (sqs, url) = (sqs.clone(), url.to_string());
    per_second(clients, duration, move || {
        let (sqs, url) = (sqs.clone(), url.clone());
        async move {
            sqs.send_message()
                .queue_url(&url)
                .message_body("bench")
                .send()
                .await?;
            Ok(())
        }
    })
    .await
}

/// Receive+Delete pairs per second from `clients` concurrent loops.
async fn receive_deletes(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    clients: usize,
    duration: Duration,
) -> Result<f64> {
    let (sqs, url) = (sqs.clone(), url.to_string());
    per_second(clients, duration, move || {
        let (sqs, url) = (sqs.clone(), url.clone());
        async move {
            let got = sqs.receive_message().queue_url(&url).send().await?;
            let Some(message) = got.messages.and_then(|m| m.into_iter().next()) else {
                bail!("the queue ran dry: the benchmark under-filled it");
            };
            let handle = message.receipt_handle.unwrap_or_default();
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(handle)
                .send()
                .await?;
            Ok(())
        }
    })
    .await
}

/// How many times per second `clients` concurrent loops complete `one` within `duration`.
async fn per_second<F, Fut>(clients: usize, duration: Duration, one: F) -> Result<f64>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (one, done) = (one.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                one().await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / duration.as_secs_f64())
}

/// Puts `count` messages in the queue, ten per call.
pub(crate) async fn fill(sqs: &aws_sdk_sqs::Client, url: &str, count: usize) -> Result<()> {
    for start in (0..count).step_by(10) {
        let entries = (start..(start + 10).min(count))
            .map(|i| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .message_body("bench")
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        sqs.send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await?;
    }
    Ok(())
}
