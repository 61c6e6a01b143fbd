//! The running remote entries: one [`Unit`] per `remote` line of the manifest, started
//! at start and by a reload, stopped by a reload that removes or changes its line.
//!
//! A unit registers its entry at once (so the front ends know it is remote, connecting
//! or not), then a task connects it, retrying with backoff (1 s doubling to 30 s) while
//! the endpoint is down or the resource missing: one log line when the reason changes,
//! one when it connects. Once connected it runs the entry's consumers: a remote queue's
//! `maxConcurrency` pollers, a remote stream's readers. Stopping lets a consumer finish
//! the batch it holds (see [`until_stopped`]): what was received is settled, never
//! dropped halfway. A queue batch still filling its window runs at once with what it
//! has; a stream batch being retried ends at its next attempt without a checkpoint, so
//! the consumer that follows reads it again (a batch failing forever never holds a
//! reload up).

use std::collections::hash_map::Entry as MapEntry;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::task::Poll;
use std::time::Duration;

use sandbox_manifest::{Bus, Consume, Manifest, Queue, Remote, Stream, Target, Topic};
use sandbox_triggers::queues::DEFAULT_CONCURRENCY;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::front::{Entry, Front, Kind, Link};
use crate::in_flight::Tracker;
use crate::publish::Client;
use crate::queue_consumer::QueueConsumer;
use crate::sdk::sdk_error;
use crate::streams::{self, StreamReader, Streams};
use crate::{block, checkpoints, connect, connect_queue, Connected};

const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// One running remote entry.
pub(crate) struct Unit {
    pub entry: Arc<Entry>,
    /// The URL or ARN, as written.
    pub resource: String,
    /// What counts as a change at a reload: the manifest entry without positions.
    shape: Value,
    /// Sent `true` to stop its connecting and its consumers.
    stop: watch::Sender<bool>,
    /// Closed when its task has ended (its consumers stopped).
    done: watch::Receiver<()>,
}

/// A `remote` entry of the manifest.
#[derive(Clone)]
pub(crate) enum Spec {
    Queue(Queue),
    Topic(Topic),
    Bus(Bus),
    Stream(Stream),
}

impl Spec {
    fn kind(&self) -> Kind {
        match self {
            Spec::Queue(_) => Kind::Queue,
            Spec::Topic(_) => Kind::Topic,
            Spec::Bus(_) => Kind::Bus,
            Spec::Stream(_) => Kind::Stream,
        }
    }

    fn name(&self) -> &str {
        match self {
            Spec::Queue(q) => &q.name,
            Spec::Topic(t) => &t.name,
            Spec::Bus(b) => &b.name,
            Spec::Stream(s) => &s.name,
        }
    }

    fn remote(&self) -> &Remote {
        let remote = match self {
            Spec::Queue(q) => &q.remote,
            Spec::Topic(t) => &t.remote,
            Spec::Bus(b) => &b.remote,
            Spec::Stream(s) => &s.remote,
        };
        remote
            .as_ref()
            .expect("a spec is made only for a remote entry")
    }

    fn shape(&self) -> Value {
        let mut value = match self {
            Spec::Queue(q) => serde_json::to_value(q),
            Spec::Topic(t) => serde_json::to_value(t),
            Spec::Bus(b) => serde_json::to_value(b),
            Spec::Stream(s) => serde_json::to_value(s),
        }
        .unwrap_or_default();
        strip_spans(&mut value);
        value
    }

    /// `remote queue orders`.
    fn what(&self) -> String {
        format!("remote {} {}", self.kind().noun(), self.name())
    }
}

/// Positions in the file are not part of what an entry is.
fn strip_spans(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("span");
            map.values_mut().for_each(strip_spans);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

/// Every `remote` entry of `manifest`, in the manifest's order of kinds.
pub(crate) fn specs(manifest: &Manifest) -> Vec<Spec> {
    let queues = manifest.queues.iter().filter(|q| q.remote.is_some());
    let topics = manifest.topics.iter().filter(|t| t.remote.is_some());
    let buses = manifest.buses.iter().filter(|b| b.remote.is_some());
    let streams = manifest.streams.iter().filter(|s| s.remote.is_some());
    queues
        .cloned()
        .map(Spec::Queue)
        .chain(topics.cloned().map(Spec::Topic))
        .chain(buses.cloned().map(Spec::Bus))
        .chain(streams.cloned().map(Spec::Stream))
        .collect()
}

/// What connecting an entry gives.
pub(crate) enum Conn {
    Queue(Connected),
    Topic(aws_sdk_sns::Client),
    Bus(aws_sdk_eventbridge::Client),
    Stream(aws_sdk_kinesis::Client, String),
}

impl Conn {
    fn client(&self, remote: &Remote) -> Client {
        match self {
            Conn::Queue(c) => Client::Queue {
                client: c.client.clone(),
                url: c.url.clone(),
            },
            Conn::Topic(client) => Client::Topic {
                client: client.clone(),
                arn: remote.resource.clone(),
            },
            Conn::Bus(client) => Client::Bus {
                client: client.clone(),
                arn: remote.resource.clone(),
            },
            Conn::Stream(client, _) => Client::Stream {
                client: client.clone(),
                name: remote.name.clone(),
            },
        }
    }
}

/// One attempt to connect: configuration, credentials and (for a queue) the queue.
/// The error names the resource, never a credential.
pub(crate) async fn attempt(spec: &Spec) -> Result<Conn, String> {
    let remote = spec.remote();
    let what = format!("{} ({})", spec.what(), remote.resource);
    Ok(match spec {
        Spec::Queue(_) => Conn::Queue(connect_queue(remote, &what).await?),
        Spec::Topic(_) => Conn::Topic(aws_sdk_sns::Client::new(&connect(remote, &what).await?.0)),
        Spec::Bus(_) => Conn::Bus(aws_sdk_eventbridge::Client::new(
            &connect(remote, &what).await?.0,
        )),
        Spec::Stream(_) => {
            let (config, region) = connect(remote, &what).await?;
            Conn::Stream(aws_sdk_kinesis::Client::new(&config), region)
        }
    })
}

/// The summary's (or a reload's log's) line for an entry after an attempt.
pub(crate) fn entry_line<T>(spec: &Spec, attempt: &Result<T, String>) -> String {
    let remote = &spec.remote().resource;
    match attempt {
        Ok(_) => format!("{} → {remote}", spec.what()),
        Err(why) => {
            // The reason names the entry for the log; the line has named it already.
            let what = spec.what();
            let why = why
                .strip_prefix(&format!("{what} ({remote}): "))
                .unwrap_or(why);
            format!("{what} → {remote} NOT CONNECTED, connecting in the background: {why}")
        }
    }
}

/// What a connected entry's consumers do, one line each.
pub(crate) fn consumer_lines(front: &Front, spec: &Spec) -> Vec<String> {
    match spec {
        Spec::Queue(queue) => {
            let (Some(function), Some(consume)) = (&queue.function, spec.remote().consume) else {
                return Vec::new();
            };
            let delete = consume == Consume::Delete && !front.read_only;
            vec![format!(
                "  consumed by {function}, batches of {}, up to {} at once; {}",
                queue.batch_size,
                queue.max_concurrency.unwrap_or(DEFAULT_CONCURRENCY),
                if delete {
                    "processed messages are DELETED from the real queue"
                } else {
                    "read-only: nothing is deleted, messages return after their visibility timeout"
                }
            )]
        }
        Spec::Stream(stream) => stream
            .consumers
            .iter()
            .map(|consumer| {
                format!(
                    "  consumer {} → {}, from {:?}; checkpoints kept {}",
                    consumer.name,
                    consumer.function,
                    consumer.starting_position,
                    if front.state_dir.is_some() {
                        "in --state"
                    } else {
                        "in memory"
                    }
                )
            })
            .collect(),
        Spec::Topic(_) | Spec::Bus(_) => Vec::new(),
    }
}

/// The running units by kind and manifest name.
pub(crate) type Units = BTreeMap<(Kind, String), Unit>;

/// Registers `spec`'s entry (under its manifest name and its AWS name) and starts the
/// task that connects it and runs its consumers. `first` is an attempt already made
/// (at start, for the summary).
pub(crate) fn start_unit(front: &Front, spec: Spec, first: Option<Result<Conn, String>>) {
    let mut units = front.units.lock().unwrap_or_else(|e| e.into_inner());
    start_in(front, &mut units, spec, first, None);
}

/// [`start_unit`] under the units' lock. `replacing` is the unit of the same entry
/// before a reload changed it: its names pass to the new entry at once (never local in
/// between), then it is stopped; a changed stream's new readers wait for the old ones
/// to end, so they start where the old ones' last batch left the checkpoints.
fn start_in(
    front: &Front,
    units: &mut Units,
    spec: Spec,
    first: Option<Result<Conn, String>>,
    replacing: Option<Unit>,
) {
    let kind = spec.kind();
    let entry = Arc::new(Entry::new(spec.what()));
    {
        let old = replacing.as_ref().map(|u| &u.entry);
        let mut entries = front.entries.write().unwrap_or_else(|e| e.into_inner());
        for name in [spec.name(), spec.remote().name.as_str()] {
            match entries.entry((kind, name.to_string())) {
                MapEntry::Vacant(v) => {
                    v.insert(entry.clone());
                }
                MapEntry::Occupied(mut o) if old.is_some_and(|old| Arc::ptr_eq(old, o.get())) => {
                    o.insert(entry.clone());
                }
                // Another entry's manifest name: it keeps it.
                MapEntry::Occupied(_) => {}
            }
        }
    }
    let before = match (&spec, &replacing) {
        (Spec::Stream(_), Some(old)) => Some(old.done.clone()),
        // Queues need no wait: SQS hides a message from all but one poller.
        _ => None,
    };
    if let Some(old) = replacing {
        stop_unit(front, old);
    }
    let (stop, stopped) = watch::channel(false);
    let (ended, done) = watch::channel(());
    let unit = Unit {
        entry: entry.clone(),
        resource: spec.remote().resource.clone(),
        shape: spec.shape(),
        stop,
        done,
    };
    units.insert((kind, spec.name().to_string()), unit);
    if let Some(front) = front.me.upgrade() {
        let handle = front.handle.clone();
        handle.spawn(async move {
            supervise(front, spec, entry, first, stopped, before).await;
            drop(ended);
        });
    }
}

/// Stops a unit: its consumers finish the batch they hold, and its names are no
/// longer remote.
fn stop_unit(front: &Front, unit: Unit) {
    let _ = unit.stop.send(true);
    front
        .entries
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|_, entry| !Arc::ptr_eq(entry, &unit.entry));
}

/// A reload: removed and changed entries stop, changed and new ones start. The
/// "added / changed / removed" lines of the reload's log.
pub(crate) fn reconfigure(front: &Front, manifest: &Manifest) -> Vec<String> {
    let specs = specs(manifest);
    let mut lines = Vec::new();
    let mut units = front.units.lock().unwrap_or_else(|e| e.into_inner());
    let running: Vec<(Kind, String)> = units.keys().cloned().collect();
    for key in running {
        let spec = specs
            .iter()
            .find(|s| s.kind() == key.0 && s.name() == key.1);
        match spec {
            Some(spec) if spec.shape() == units[&key].shape => continue,
            Some(spec) => {
                lines.push(format!("remote {} {} changed", key.0.noun(), key.1));
                let old = units.remove(&key);
                start_in(front, &mut units, spec.clone(), None, old);
            }
            None => {
                lines.push(format!("remote {} {} removed", key.0.noun(), key.1));
                if let Some(old) = units.remove(&key) {
                    stop_unit(front, old);
                }
            }
        }
    }
    for spec in &specs {
        if !units.contains_key(&(spec.kind(), spec.name().to_string())) {
            lines.push(format!("{} added", spec.what()));
            start_in(front, &mut units, spec.clone(), None, None);
        }
    }
    drop(units);
    for line in &lines {
        tracing::info!("reload: {line}");
    }
    lines
}

/// Connects (retrying with backoff until stopped), then runs the entry's consumers.
async fn supervise(
    front: Arc<Front>,
    spec: Spec,
    entry: Arc<Entry>,
    mut first: Option<Result<Conn, String>>,
    mut stopped: watch::Receiver<bool>,
    before: Option<watch::Receiver<()>>,
) {
    if let Some(mut before) = before {
        // Ends with an error when the replaced unit's task drops its sender.
        let _ = before.changed().await;
    }
    // Started by a reload: its connection is news for the log, as is a recovery.
    let mut announce = first.is_none();
    let mut failing: Option<String> = None;
    let mut backoff = FIRST_RETRY;
    loop {
        let result = match first.take() {
            Some(result) => result,
            None => tokio::select! {
                result = attempt(&spec) => result,
                _ = stopped.wait_for(|s| *s) => return,
            },
        };
        match result {
            Ok(conn) => {
                entry.set(Link::Connected(conn.client(spec.remote())));
                if announce {
                    tracing::info!("{}: connected", entry_line(&spec, &Ok(())));
                    for line in consumer_lines(&front, &spec) {
                        tracing::info!("{} {}", spec.what(), line.trim_start());
                    }
                }
                consume(&front, &spec, conn, stopped).await;
                return;
            }
            Err(why) => {
                if failing.as_deref() != Some(why.as_str()) {
                    tracing::error!(
                        "{why}; retrying in the background (every {} s, doubling to {} s)",
                        backoff.as_secs(),
                        MAX_RETRY.as_secs()
                    );
                }
                entry.set(Link::Connecting(Some(why.clone())));
                failing = Some(why);
                announce = true;
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stopped.wait_for(|s| *s) => return,
                }
                backoff = (backoff * 2).min(MAX_RETRY);
            }
        }
    }
}

/// Runs a connected entry's consumers until the unit is stopped.
async fn consume(front: &Arc<Front>, spec: &Spec, conn: Conn, stopped: watch::Receiver<bool>) {
    let mut tasks = JoinSet::new();
    match (spec, conn) {
        (Spec::Queue(queue), Conn::Queue(connected)) => {
            let (Some(function), Some(consume)) = (&queue.function, spec.remote().consume) else {
                return;
            };
            let consumer = Arc::new(QueueConsumer {
                name: queue.name.clone(),
                function: function.clone(),
                arn: connected.arn,
                region: connected.region,
                url: connected.url,
                client: connected.client,
                batch_size: queue.batch_size,
                window: queue.batching_window,
                report_batch_item_failures: queue.report_batch_item_failures,
                fifo: queue.fifo,
                delete: consume == Consume::Delete && !front.read_only,
                visibility: connected.visibility,
                app: front.app.clone(),
                failing: Mutex::new(None),
            });
            for _ in 0..queue.max_concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1) {
                // Pollers stop themselves between batches (`QueueConsumer::run`).
                let tracker = Tracker::new(&front.in_flight, "remote queue", &queue.name);
                let consumer = consumer.clone();
                let stopped = stopped.clone();
                tasks.spawn(async move { consumer.run(tracker, stopped).await });
            }
        }
        (Spec::Stream(stream), Conn::Stream(client, region)) => {
            let remote = spec.remote();
            let streams = front
                .streams
                .get_or_init(|| Arc::new(Streams::new(checkpoints(front.state_dir.as_deref()))))
                .clone();
            let on_failure: streams::OnFailure = Arc::new({
                let front = Arc::downgrade(front);
                move |target, record| on_failure(&front, target, record)
            });
            for consumer in &stream.consumers {
                let tracker = Tracker::new(&front.in_flight, "remote stream", &stream.name);
                let reader = StreamReader {
                    stream: stream.name.clone(),
                    arn: remote.resource.clone(),
                    region: region.clone(),
                    remote_name: remote.name.clone(),
                    client: client.clone(),
                    consumer: consumer.clone(),
                    app: front.app.clone(),
                    streams: streams.clone(),
                    on_failure: on_failure.clone(),
                    in_flight: tracker.clone(),
                    stopped: stopped.clone(),
                };
                tasks.spawn(until_stopped(reader.run(), tracker, stopped.clone()));
            }
        }
        _ => {}
    }
    while tasks.join_next().await.is_some() {}
}

/// Runs `work` (a stream reader) until it ends or, once `stopped` says so, until it
/// holds no batch (it is then dropped between batches: between polls, so it never
/// resumes halfway; a dropped GetRecords takes nothing from the stream).
async fn until_stopped(
    work: impl Future<Output = ()>,
    tracker: Tracker,
    mut stopped: watch::Receiver<bool>,
) {
    let told = async move {
        // A dropped sender (the unit is gone) stops it too.
        let _ = stopped.wait_for(|s| *s).await;
    };
    tokio::pin!(work);
    tokio::pin!(told);
    let mut stopping = false;
    std::future::poll_fn(|cx| {
        if work.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        if !stopping {
            stopping = told.as_mut().poll(cx).is_ready();
        }
        if stopping && tracker.busy() == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Sends a given-up stream batch's invocation record to its on-failure destination: a
/// remote queue or topic through the SDK (as it stands when the record is sent), or the
/// sandbox's own.
fn on_failure(front: &Weak<Front>, target: &Target, record: String) -> Result<(), String> {
    let front = front.upgrade().ok_or("the sandbox is shutting down")?;
    let remote = match target {
        Target::Queue(name) => front.entry(Kind::Queue, name),
        Target::Topic(name) => front.entry(Kind::Topic, name),
        Target::Function(_) => None,
    };
    if let Some(entry) = remote {
        if front.read_only {
            return Err("refused: --remote-read-only writes nothing to AWS".into());
        }
        return match entry.client()? {
            Client::Queue { client, url } => block(&front.handle, async move {
                client
                    .send_message()
                    .queue_url(url)
                    .message_body(record)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| sdk_error(&e))
            }),
            Client::Topic { client, arn } => block(&front.handle, async move {
                client
                    .publish()
                    .topic_arn(arn)
                    .message(record)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| sdk_error(&e))
            }),
            _ => Err(format!("{} is not a queue or topic", entry.what)),
        };
    }
    let triggers = front
        .triggers
        .upgrade()
        .ok_or("the sandbox is shutting down")?;
    match target {
        Target::Queue(name) => triggers
            .queues()
            .send(name, sandbox_services::queue::SendRequest::new(record))
            .map(|_| ())
            .map_err(|e| e.message),
        Target::Topic(name) => triggers
            .topics()
            .publish(name, sandbox_services::topic::PublishRequest::new(record))
            .map(|_| ())
            .map_err(|e| e.message),
        Target::Function(f) => Err(format!("fn:{f} is not an on-failure destination")),
    }
}
