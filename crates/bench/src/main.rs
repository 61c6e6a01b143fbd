//! `sandbox-bench`: measures the sandbox against baselines taken in the same run.
//!
//! The machine is shared and noisy, so absolute numbers mean little; every benchmark
//! therefore runs a baseline next to the sandbox, interleaves their runs and reports
//! medians and ratios. Each subcommand prints a Markdown block for BENCHMARKS.md.
//!
//! ```text
//! cargo build --release -p sandbox-cli
//! cargo run --release -p sandbox-bench -- http [--duration 10s] [--sandbox-bin target/release/sandbox]
//! ```
//!
//! Also `queues`, `topics` and `streams` (publish → handler-start latency and
//! throughput, in-process, against tokio channels), `reload` (file write → first
//! response from the new code, against a restart) and `js` (a JavaScript handler beside
//! the same route in Rust), and `sqs` (the SQS API through the official Rust SDK, against
//! a bare hyper server's canned answer), and `remote` (a local handler consuming a remote
//! queue that a second sandbox serves, against the same handler on a local queue).

mod bare;
mod durable;
mod duration;
mod http;
mod inproc;
mod js;
mod load;
mod process;
mod queues;
mod reload;
mod remote;
mod report;
mod soak;
mod sqs;
mod stats;
mod streams;
mod topics;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "sandbox-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Benchmark,
}

#[derive(Debug, Subcommand)]
enum Benchmark {
    /// HTTP throughput, latency, start-to-first-response and idle memory of
    /// `sandbox start`, against a bare hyper server.
    Http(http::HttpArgs),
    /// Queue publish → handler-start latency and throughput (batch 10), against a
    /// tokio channel.
    Queues(queues::QueueArgs),
    /// Topic fan-out to 10 handlers (publish → last handler start) and event-pattern
    /// matching throughput on 100 rules, against tokio channels.
    Topics(topics::TopicArgs),
    /// Stream put → consumer-start latency and put-and-consumed throughput (batch 100),
    /// against a tokio channel.
    Streams(streams::StreamArgs),
    /// File write → first response from the new code, against a restart.
    Reload(reload::ReloadArgs),
    /// A JavaScript HTTP handler beside the same route in Rust, a 500 KB bundle, and
    /// JS edit → new code served.
    Js(js::JsArgs),
    /// SQS SendMessage and Receive+Delete round trips through the official Rust SDK,
    /// against the same client and a bare hyper server's canned answer.
    Sqs(sqs::SqsArgs),
    /// Queue send throughput with and without `--state DIR` (group commit to disk), and
    /// start-up restoring 100k stored messages.
    Durable(durable::DurableArgs),
    /// A local handler consuming a remote SQS queue (a second sandbox standing in for
    /// AWS), against the same handler on a local queue.
    Remote(remote::RemoteArgs),
    /// The no-loss soak: messages through queues (standard, FIFO, dead-letter queues),
    /// a topic and a stream to handlers failing at random, every one accounted for.
    Soak(soak::SoakArgs),
    /// The bare hyper baseline server (started by `http` as a child process).
    #[command(hide = true)]
    BareServer {
        /// Port on 127.0.0.1; 0 picks a free one (printed on stdout).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Benchmark::Http(args) => http::run(args),
        Benchmark::Queues(args) => queues::run(args),
        Benchmark::Durable(args) => durable::run(args),
        Benchmark::Topics(args) => topics::run(args),
        Benchmark::Streams(args) => streams::run(args),
        Benchmark::Reload(args) => reload::run(args),
        Benchmark::Js(args) => js::run(args),
        Benchmark::Sqs(args) => sqs::run(args),
        Benchmark::Remote(args) => remote::run(args),
        Benchmark::Soak(args) => soak::run(args),
        Benchmark::BareServer { port } => bare::run(port),
    };
    // Child processes are already stopped here: their guards lived inside `run`.
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn http_args_parse() {
        let cli = Cli::try_parse_from([
            "sandbox-bench",
            "http",
            "--duration",
            "10s",
            "--connections",
            "1,8,64",
        ])
        .unwrap();
        let Benchmark::Http(args) = cli.command else {
            panic!("expected http");
        };
        assert_eq!(args.duration, std::time::Duration::from_secs(10));
        assert_eq!(args.connections, vec![1, 8, 64]);
        assert_eq!(args.repeats, 3);
        assert!(Cli::try_parse_from(["sandbox-bench", "http", "--duration", "soon"]).is_err());
    }
}
