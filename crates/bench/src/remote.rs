//! The `remote` benchmark: a local handler consuming a remote SQS queue, against the
//! same handler consuming a local queue, in one run.
//!
//! A second sandbox stands in for AWS (its SQS API), as in the remote tests. Each run
//! sends the same number of messages with `SendMessageBatch` from several clients while
//! the consumer runs, and times from the first send until the queue is empty (every
//! message invoked and deleted): to the consuming sandbox's own queue for the local
//! baseline, to the stand-in's queue for the remote one, which the consuming sandbox
//! long-polls and deletes from as Lambda's event source mapping does. Runs interleave
//! and medians are reported, with the remote rate as a ratio of the local one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::process::{free_port, sandbox_command, ChildGuard};
use crate::report::Machine;
use crate::sqs::{client, fill};
use crate::stats::median;

/// Options of `sandbox-bench remote`.
#[derive(Debug, Clone, clap::Args)]
pub struct RemoteArgs {
    /// Messages per run.
    #[arg(long, default_value_t = 3000)]
    pub messages: usize,
    /// Concurrent senders.
    #[arg(long, default_value_t = 4)]
    pub senders: usize,
    /// Messages per batch the consumer asks for (the queue's `batchSize`).
    #[arg(long, default_value_t = 10)]
    pub batch_size: usize,
    /// Runs of each (local, remote); the median is reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// The `sandbox` binary under test.
    #[arg(long, default_value = "target/release/sandbox")]
    pub sandbox_bin: PathBuf,
}

pub fn run(args: RemoteArgs) -> Result<()> {
    if args.messages == 0 || args.senders == 0 || args.repeats == 0 {
        bail!("--messages, --senders and --repeats must be at least 1");
    }
    if !(1..=10).contains(&args.batch_size) {
        bail!("--batch-size must be 1 to 10 (SQS's ReceiveMessage maximum)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("building the client's runtime")?;
    let report = runtime.block_on(measure(&args))?;
    println!("{report}");
    Ok(())
}

/// The stand-in's account (the sandbox's fixed one) and the queue both apps consume.
const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:orders";

/// Writes an app with one queue, `orders`, consumed by a trivial JavaScript handler:
/// local, or the stand-in's queue of the same name.
fn write_app(dir: &Path, remote: bool, batch_size: usize) -> Result<()> {
    let queue = if remote {
        format!("orders\n  remote {QUEUE_ARN}\n  consume delete\n  batchSize {batch_size}\n")
    } else {
        format!("orders\n  batchSize {batch_size}\n")
    };
    std::fs::create_dir_all(dir.join("src/queues/orders"))?;
    std::fs::write(
        dir.join("app.arc"),
        format!("@app\nbench-remote\n\n@queues\n{queue}"),
    )?;
    std::fs::write(
        dir.join("src/queues/orders/index.js"),
        "exports.handler = async (event) => ({ batchItemFailures: [] });\n",
    )?;
    Ok(())
}

fn start(
    name: &str,
    bin: &Path,
    app: &Path,
    endpoint: Option<SocketAddr>,
    logs: &Path,
) -> Result<(ChildGuard, SocketAddr)> {
    let port = free_port()?;
    let mut command = sandbox_command(bin, app, port);
    command.arg("--no-watch");
    if let Some(endpoint) = endpoint {
        command
            .env("AWS_ENDPOINT_URL", format!("http://{endpoint}"))
            .env("AWS_ACCESS_KEY_ID", "bench")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .env("AWS_REGION", "us-east-1");
    }
    let child = ChildGuard::spawn(name, command, &logs.join(format!("{name}.log")))?;
    Ok((child, SocketAddr::from(([127, 0, 0, 1], port))))
}

async fn measure(args: &RemoteArgs) -> Result<String> {
    let dir = tempfile::tempdir()?;
    let (aws_app, local_app, remote_app) = (
        dir.path().join("aws"),
        dir.path().join("local"),
        dir.path().join("remote"),
    );
    std::fs::create_dir_all(&aws_app)?;
    std::fs::write(aws_app.join("app.arc"), "@app\naws\n")?;
    write_app(&local_app, false, args.batch_size)?;
    write_app(&remote_app, true, args.batch_size)?;

    let (mut aws, aws_addr) = start("aws", &args.sandbox_bin, &aws_app, None, dir.path())?;
    aws.wait_for_200(aws_addr, "/_sandbox/status", Duration::from_secs(60))
        .await?;
    let aws_sqs = client(aws_addr);
    let remote_url = aws_sqs
        .create_queue()
        .queue_name("orders")
        .send()
        .await?
        .queue_url
        .context("CreateQueue answered no URL")?;

    let (mut local, local_addr) = start("local", &args.sandbox_bin, &local_app, None, dir.path())?;
    local
        .wait_for_200(local_addr, "/_sandbox/status", Duration::from_secs(60))
        .await?;
    let local_sqs = client(local_addr);
    let local_url = local_sqs
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await?
        .queue_url
        .context("GetQueueUrl answered no URL")?;

    let (mut remote, remote_addr) = start(
        "remote",
        &args.sandbox_bin,
        &remote_app,
        Some(aws_addr),
        dir.path(),
    )?;
    remote
        .wait_for_200(remote_addr, "/_sandbox/status", Duration::from_secs(60))
        .await?;

    let (mut locals, mut remotes) = (Vec::new(), Vec::new());
    for _ in 0..args.repeats {
        local.ensure_running()?;
        locals.push(through(&local_sqs, &local_url, args).await?);
        remote.ensure_running()?;
        aws.ensure_running()?;
        remotes.push(through(&aws_sqs, &remote_url, args).await?);
    }
    let (l, r) = (median(&locals), median(&remotes));

    let machine = Machine::detect();
    let mut out = format!(
        "### Remote queue consumption ({}, {} CPUs, {})\n\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        machine.cpus,
        machine.cpu_model
    );
    out.push_str("| consumer | messages/s (median) | runs | ratio |\n|---|---|---|---|\n");
    out.push_str(&format!(
        "| local queue (baseline) | {l:.0}/s | {} | 1.00 |\n",
        rates(&locals)
    ));
    out.push_str(&format!(
        "| remote queue (a second sandbox's SQS API) | {r:.0}/s | {} | {:.2} |\n",
        rates(&remotes),
        r / l
    ));
    out.push_str(&format!(
        "\n{} messages per run from {} senders (SendMessageBatch), batch size {}, a trivial \
         JavaScript handler; timed from the first send until the queue is empty. Medians of \
         {} interleaved runs.\n",
        args.messages, args.senders, args.batch_size, args.repeats
    ));
    remote.stop();
    local.stop();
    aws.stop();
    Ok(out)
}

fn rates(runs: &[f64]) -> String {
    runs.iter()
        .map(|r| format!("{r:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Messages per second through `url`'s consumer: `args.messages` sent by
/// `args.senders` clients, timed until the queue holds nothing visible or in flight.
async fn through(sqs: &aws_sdk_sqs::Client, url: &str, args: &RemoteArgs) -> Result<f64> {
    let started = Instant::now();
    let share = args.messages.div_ceil(args.senders);
    let mut senders = Vec::new();
    for sender in 0..args.senders {
        let count = share.min(args.messages.saturating_sub(sender * share));
        let (sqs, url) = (sqs.clone(), url.to_string());
        senders.push(tokio::spawn(async move { fill(&sqs, &url, count).await }));
    }
    for sender in senders {
        sender.await??;
    }
    let deadline = started + Duration::from_secs(300);
    loop {
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await?
            .attributes
            .unwrap_or_default();
        let count = |name| {
            attributes
                .get(&name)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(u64::MAX)
        };
        if count(QueueAttributeName::ApproximateNumberOfMessages) == 0
            && count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible) == 0
        {
            return Ok(args.messages as f64 / started.elapsed().as_secs_f64());
        }
        if Instant::now() > deadline {
            bail!("the consumer left messages in {url} after 300 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
