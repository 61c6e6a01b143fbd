//! The `soak` program: the no-loss soak. Sends `--messages` messages through a standard
//! and a FIFO queue (each with a dead-letter queue), a topic (a queue subscriber and a
//! function subscriber) and a stream, to handlers that fail at random — whole batches by
//! timeout or by throwing, single records by partial batch responses — and then accounts
//! for every one: delivered (the handler reported it to the `done` queue), in a
//! dead-letter queue, reported by a stream's on-failure destination, or expired or given
//! up as the services report it. Zero may be unaccounted.
//!
//! In-process on the real libraries, on a manual clock: drain runs everything due, then
//! the clock moves on past the visibility timeout (and, for topics, Lambda's async retry
//! delays), until nothing is left anywhere. The handlers (`fixtures/apps/soak`, JavaScript)
//! draw their failures from `Math.random`, so runs differ; the accounting must not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use serde_json::Value;

use sandbox_services::queue::SendRequest;
use sandbox_services::stream::PutEntry;
use sandbox_services::topic::PublishRequest;
use sandbox_services::Clock;
use sandbox_triggers::Triggers;

use crate::report::Machine;

#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// The soak app (queues `std`, `jobs.fifo`, `fanq`; topic `fan`; stream `flow`).
    #[arg(long, default_value = "fixtures/apps/soak")]
    app: PathBuf,
    /// Messages sent in all, spread over the queues, the topic and the stream.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
}

/// FIFO message groups the FIFO share is spread over.
const GROUPS: usize = 500;
/// One clock step between drains: past the queues' 10 s visibility timeout.
const STEP: &str = "11s";
/// Messages sent between two drains. Lambda invokes a topic's function subscribers
/// without a concurrency limit, so an unpaced burst would run thousands of handlers at
/// once on two cores and turn the load itself into timeouts; the soak is about failures
/// the handlers choose.
const CHUNK: usize = 500;
/// Clock steps before the soak gives up waiting (Lambda's async retries need 3 minutes).
const MAX_STEPS: usize = 1000;

/// What became of every message, per delivery path.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub sent: usize,
    /// Finished by the handler (counted once however often it ran).
    pub delivered: usize,
    /// Reported more than once (at-least-once delivery).
    pub repeated: usize,
    pub dead_lettered: usize,
    /// A stream's given-up records, reported to its on-failure destination.
    pub reported: usize,
    pub unaccounted: Vec<String>,
}

/// The soak's result.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Per path: `std`, `jobs.fifo`, `fanq` (the topic's queue subscriber), `fan` (its
    /// function subscriber), `flow`.
    pub paths: BTreeMap<String, Tally>,
    /// Messages the queues dropped at the end of retention, and topic deliveries given
    /// up without a dead-letter queue (both reported by the services, both 0 here).
    pub expired: u64,
    pub given_up: u64,
    /// Invocations by outcome (`success`, `timeout`, `exit`, …).
    pub invocations: BTreeMap<String, u64>,
    pub elapsed: Duration,
    pub clock_steps: usize,
}

impl Outcome {
    pub fn unaccounted(&self) -> usize {
        let missing: usize = self.paths.values().map(|t| t.unaccounted.len()).sum();
        // What the services reported expired or given up is accounted for, by count.
        missing.saturating_sub((self.expired + self.given_up) as usize)
    }
}

pub fn run(args: SoakArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(soak(&args.app, args.messages))?;
    // Nothing is left running; do not wait for the runtime's idle blocking threads.
    runtime.shutdown_background();
    print_report(&args, &outcome);
    match outcome.unaccounted() {
        0 => Ok(()),
        n => Err(anyhow!("{n} message(s) unaccounted for")),
    }
}

/// Runs the soak with `messages` messages on the app in `app`.
pub async fn soak(app: &Path, messages: usize) -> anyhow::Result<Outcome> {
    let required: Vec<String> = [
        "queues/std",
        "queues/jobs.fifo",
        "queues/fanq",
        "events/fan",
        "streams/flow/work",
    ]
    .map(String::from)
    .to_vec();
    let loading = Instant::now();
    let triggers = crate::inproc::start(app, &required, Clock::manual(chrono::Utc::now())).await?;
    eprintln!("soak: app loaded in {:.1?}", loading.elapsed());
    let started = Instant::now();
    let sent = send_all(&triggers, messages).await?;
    eprintln!(
        "soak: {messages} messages sent in {:.1?}",
        started.elapsed()
    );
    let clock_steps = settle(&triggers).await?;
    let elapsed = started.elapsed();
    eprintln!("soak: settled in {elapsed:.1?} ({clock_steps} clock steps)");
    let mut outcome = account(&triggers, &sent)?;
    outcome.elapsed = elapsed;
    outcome.clock_steps = clock_steps;
    Ok(outcome)
}

/// Every message sent, by kind: its id, and for the stream where the record landed.
struct Sent {
    ids: BTreeMap<&'static str, Vec<String>>,
    /// `(shard, sequence number)` → id.
    records: BTreeMap<(String, String), String>,
}

async fn send_all(triggers: &Triggers, messages: usize) -> anyhow::Result<Sent> {
    let mut sent = Sent {
        ids: BTreeMap::new(),
        records: BTreeMap::new(),
    };
    let mut stream_batch: Vec<(String, PutEntry)> = Vec::new();
    for n in 0..messages {
        if n > 0 && n % CHUNK == 0 {
            put_records(triggers, &mut stream_batch, &mut sent.records)?;
            triggers.drain(Duration::from_secs(600)).await;
        }
        // 30 % standard queue, 20 % FIFO queue, 25 % topic, 25 % stream.
        let kind = match n % 20 {
            0..=5 => "std",
            6..=9 => "jobs.fifo",
            10..=14 => "fan",
            _ => "flow",
        };
        let id = format!("{kind}-{n}");
        let body = format!(r#"{{"id":"{id}"}}"#);
        match kind {
            "std" => {
                triggers
                    .queues()
                    .send("std", SendRequest::new(body))
                    .map_err(|e| anyhow!("sending to std: {e}"))?;
            }
            "jobs.fifo" => {
                let request = SendRequest {
                    group_id: Some(format!("g{}", n % GROUPS)),
                    dedup_id: Some(id.clone()),
                    ..SendRequest::new(body)
                };
                triggers
                    .queues()
                    .send("jobs.fifo", request)
                    .map_err(|e| anyhow!("sending to jobs.fifo: {e}"))?;
            }
            "fan" => {
                triggers
                    .topics()
                    .publish("fan", PublishRequest::new(body))
                    .map_err(|e| anyhow!("publishing to fan: {e}"))?;
            }
            _ => {
                let entry = PutEntry {
                    partition_key: format!("k{}", n % 64),
                    data: body.into_bytes(),
                    explicit_hash_key: None,
                };
                stream_batch.push((id.clone(), entry));
                if stream_batch.len() == 500 {
                    put_records(triggers, &mut stream_batch, &mut sent.records)?;
                }
            }
        }
        sent.ids.entry(kind).or_default().push(id);
    }
    put_records(triggers, &mut stream_batch, &mut sent.records)?;
    Ok(sent)
}

fn put_records(
    triggers: &Triggers,
    batch: &mut Vec<(String, PutEntry)>,
    records: &mut BTreeMap<(String, String), String>,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let (ids, entries): (Vec<String>, Vec<PutEntry>) = std::mem::take(batch).into_iter().unzip();
    let results = triggers
        .streams()
        .put_records("flow", entries)
        .map_err(|e| anyhow!("putting records on flow: {e}"))?;
    for (id, result) in ids.into_iter().zip(results) {
        let put = result.map_err(|e| anyhow!("putting {id} on flow: {e:?}"))?;
        records.insert((put.shard_id, put.sequence_number), id);
    }
    Ok(())
}

/// The consumers and the resources whose outstanding work holds the soak open.
const WATCHED: [&str; 5] = ["std", "jobs.fifo", "fanq", "fan", "flow"];

/// Drains, moves the clock one step, and again, until no watched resource holds work.
async fn settle(triggers: &Triggers) -> anyhow::Result<usize> {
    for step in 0..MAX_STEPS {
        let report = triggers.drain(Duration::from_secs(600)).await;
        if !report.drained {
            return Err(anyhow!("the sandbox did not settle: {:?}", report.pending));
        }
        // Streams report `<stream>/<consumer>`.
        let watched = |resource: &str| {
            WATCHED
                .iter()
                .any(|w| resource == *w || resource.starts_with(&format!("{w}/")))
        };
        let waiting = report
            .later
            .iter()
            .any(|w| watched(&w.resource) && w.scheduled_later > 0);
        if !waiting {
            return Ok(step);
        }
        if step + 1 == MAX_STEPS {
            let left: Vec<String> = report
                .later
                .iter()
                .filter(|w| watched(&w.resource) && w.scheduled_later > 0)
                .map(|w| {
                    format!(
                        "{} {}: {} waiting",
                        w.service, w.resource, w.scheduled_later
                    )
                })
                .collect();
            return Err(anyhow!(
                "work was still outstanding after {MAX_STEPS} clock steps of {STEP}: {}",
                left.join("; ")
            ));
        }
        triggers.advance(STEP).map_err(|e| anyhow!("{e}"))?;
    }
    Err(anyhow!(
        "work was still outstanding after {MAX_STEPS} clock steps of {STEP}"
    ))
}

/// Bodies of every message a queue holds.
fn bodies(triggers: &Triggers, queue: &str) -> anyhow::Result<Vec<String>> {
    Ok(triggers
        .queues()
        .peek(queue)
        .map_err(|e| anyhow!("reading {queue}: {e}"))?
        .messages
        .into_iter()
        .map(|m| m.body)
        .collect())
}

/// The id in a message body: `{"id"}`, or an SNS envelope whose `Message` is that.
fn id_of(body: &str) -> anyhow::Result<String> {
    let value: Value = serde_json::from_str(body).with_context(|| format!("body {body}"))?;
    if let Some(message) = value.get("Message").and_then(Value::as_str) {
        return id_of(message);
    }
    value["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no id in {body}"))
}

fn account(triggers: &Triggers, sent: &Sent) -> anyhow::Result<Outcome> {
    // "<path> <id>" per finished record; a repeat is an at-least-once redelivery.
    let mut done: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for body in bodies(triggers, "done")? {
        let (path, id) = body
            .split_once(' ')
            .ok_or_else(|| anyhow!("unexpected report {body:?}"))?;
        *done
            .entry(path.to_string())
            .or_default()
            .entry(id.to_string())
            .or_default() += 1;
    }
    let dead = |queue: &str| -> anyhow::Result<BTreeSet<String>> {
        bodies(triggers, queue)?.iter().map(|b| id_of(b)).collect()
    };
    let reported = stream_failures(triggers, &sent.records)?;

    let mut outcome = Outcome::default();
    // (path, ids sent on it, its dead-letter queue)
    let paths = [
        ("std", "std", Some("std-dead")),
        ("jobs.fifo", "jobs.fifo", Some("jobs-dead.fifo")),
        ("fanq", "fan", Some("fanq-dead")),
        ("fan", "fan", Some("fan-dead")),
        ("flow", "flow", None),
    ];
    for (path, kind, dlq) in paths {
        let ids = sent.ids.get(kind).map(Vec::as_slice).unwrap_or_default();
        let finished = done.remove(path).unwrap_or_default();
        let dead = match dlq {
            Some(queue) => dead(queue)?,
            None => BTreeSet::new(),
        };
        let mut tally = Tally {
            sent: ids.len(),
            ..Tally::default()
        };
        for id in ids {
            match finished.get(id) {
                Some(times) => {
                    tally.delivered += 1;
                    tally.repeated += times - 1;
                }
                None if dead.contains(id) => tally.dead_lettered += 1,
                None if path == "flow" && reported.contains(id) => tally.reported += 1,
                None => tally.unaccounted.push(id.clone()),
            }
        }
        outcome.paths.insert(path.to_string(), tally);
    }
    if let Some(path) = done.keys().next() {
        return Err(anyhow!("a handler reported on an unknown path {path}"));
    }

    outcome.expired = triggers.queues().read_queues(|queues, _| {
        ["std", "jobs.fifo", "fanq"]
            .iter()
            .filter_map(|q| queues.get(q).ok())
            .map(|q| q.stats(chrono::Utc::now()).expired_total)
            .sum()
    });
    let fan = triggers.topics().get("fan").map_err(|e| anyhow!("{e}"))?;
    outcome.given_up = fan
        .recent_failures
        .iter()
        .filter(|f| f.dead_letter_queue.is_none())
        .count() as u64;
    outcome.invocations = invocation_outcomes(triggers);
    Ok(outcome)
}

/// Ids of stream records inside a range the consumer reported to `flow-failed`.
fn stream_failures(
    triggers: &Triggers,
    records: &BTreeMap<(String, String), String>,
) -> anyhow::Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    for body in bodies(triggers, "flow-failed")? {
        let failure: Value = serde_json::from_str(&body)?;
        let info = &failure["KinesisBatchInfo"];
        let field = |name: &str| {
            info[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("no {name} in {body}"))
        };
        let (shard, first, last) = (
            field("shardId")?,
            field("startSequenceNumber")?,
            field("endSequenceNumber")?,
        );
        // Sequence numbers of one shard have one length, so text order is number order.
        let range = (shard.clone(), first)..=(shard, last);
        ids.extend(records.range(range).map(|(_, id)| id.clone()));
    }
    Ok(ids)
}

/// `sandbox_invocations_total` summed per outcome, from the metrics text.
fn invocation_outcomes(triggers: &Triggers) -> BTreeMap<String, u64> {
    let mut outcomes = BTreeMap::new();
    for line in sandbox_triggers::metrics::scrape(triggers).lines() {
        let Some(rest) = line.strip_prefix("sandbox_invocations_total{") else {
            continue;
        };
        let Some((labels, count)) = rest.rsplit_once("} ") else {
            continue;
        };
        let outcome = labels
            .split(',')
            .find_map(|l| l.strip_prefix("outcome=\""))
            .map(|o| o.trim_end_matches('"').to_string());
        if let (Some(outcome), Ok(count)) = (outcome, count.trim().parse::<f64>()) {
            *outcomes.entry(outcome).or_default() += count as u64;
        }
    }
    outcomes
}

fn print_report(args: &SoakArgs, outcome: &Outcome) {
    let machine = Machine::detect();
    println!();
    println!(
        "### No-loss soak — {} (UTC)",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    println!();
    println!(
        "Machine: {} cores, {}. {} messages; JavaScript handlers failing at random (per invocation: 0.3 % wait out the 2 s timeout, 3 % throw; per record: 8 % reported as a batch item failure); sent {CHUNK} at a time with a drain between; then the manual clock moved {STEP} at a time, {} steps; {:.1} s wall time.",
        machine.cpus, machine.cpu_model, args.messages, outcome.clock_steps, outcome.elapsed.as_secs_f64()
    );
    println!();
    println!(
        "| path | sent | delivered | redelivered | dead-lettered | reported failed | unaccounted |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (path, t) in &outcome.paths {
        println!(
            "| {path} | {} | {} | {} | {} | {} | {} |",
            t.sent,
            t.delivered,
            t.repeated,
            t.dead_lettered,
            t.reported,
            t.unaccounted.len()
        );
    }
    println!();
    println!(
        "Expired: {}; topic deliveries given up without a dead-letter queue: {}. Unaccounted: **{}**.",
        outcome.expired,
        outcome.given_up,
        outcome.unaccounted()
    );
    let invocations: Vec<String> = outcome
        .invocations
        .iter()
        .map(|(o, n)| format!("{o} {n}"))
        .collect();
    println!("Invocations: {}.", invocations.join(", "));
    for (path, t) in &outcome.paths {
        if let Some(first) = t.unaccounted.first() {
            println!(
                "UNACCOUNTED on {path}: {first} and {} more",
                t.unaccounted.len() - 1
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_soak_accounts_for_every_message() {
        let app = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/apps/soak");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let outcome = runtime.block_on(soak(&app, 3000)).unwrap();
        runtime.shutdown_background();
        eprintln!("{outcome:?}");
        for (path, tally) in &outcome.paths {
            assert!(tally.sent > 0, "{path}: {tally:?}");
            assert!(tally.unaccounted.is_empty(), "{path}: {tally:?}");
            assert_eq!(
                tally.delivered + tally.dead_lettered + tally.reported,
                tally.sent,
                "{path}: {tally:?}"
            );
        }
        assert_eq!(outcome.unaccounted(), 0);
        let failed: u64 = outcome
            .invocations
            .iter()
            .filter(|(o, _)| o.as_str() != "success")
            .map(|(_, n)| n)
            .sum();
        assert!(
            failed > 0,
            "handlers failed along the way: {:?}",
            outcome.invocations
        );
    }

    #[test]
    fn ids_are_read_from_plain_bodies_and_sns_envelopes() {
        assert_eq!(id_of(r#"{"id":"std-1"}"#).unwrap(), "std-1");
        let envelope = serde_json::json!({"Type": "Notification", "Message": r#"{"id":"fan-3"}"#});
        assert_eq!(id_of(&envelope.to_string()).unwrap(), "fan-3");
        assert!(id_of("{}").is_err());
    }
}
