//! Remote resources: manifest entries that say `remote <queue URL or ARN>` stand for a
//! real SQS queue, Kinesis stream, SNS topic or EventBridge bus, reached through the
//! official AWS SDK for Rust with the standard credential chain.
//!
//! - `queue_consumer`: a remote queue consumed as Lambda's event source mapping does
//!   (only when the manifest says `consume delete` or `consume peek`).
//! - `streams`: a remote stream read per shard, checkpoints kept locally.
//! - `publish` and `front`: handlers' `sandbox.call` and the control API's send,
//!   publish and put to a remote entry, registered with the triggers through their
//!   one extension point (`sandbox_triggers::remote::Remote`).
//! - `sdk`: the SDK's configuration per resource; errors name the resource and never
//!   print a credential.
//!
//! Nothing here runs unless the manifest has a `remote` entry: a local app never loads
//! AWS configuration or makes a call.

mod checkpoints;
mod front;
mod publish;
mod queue_consumer;
mod sdk;
mod streams;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, TimeZone, Utc};
use sandbox_manifest::{Consume, Remote};
use sandbox_ops::control::ControlError;
use sandbox_ops::text::TimeInput;
use sandbox_triggers::Triggers;

use front::{Entry, Front, Kind};
use publish::Client;
use queue_consumer::QueueConsumer;
use sdk::sdk_error;

/// How remote resources are used.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--remote-read-only`: remote queues are received and invoked but never deleted
    /// from, and nothing is sent, published or put to a remote resource.
    pub read_only: bool,
    /// `--state DIR`: where remote streams' checkpoints are kept across restarts.
    pub state_dir: Option<PathBuf>,
}

/// One line per remote entry for the start-up summary: connected, or why not.
pub type Summary = Vec<String>;

/// Connects every remote entry of the app being served, starts the consumers of remote
/// queues and streams, and registers the front ends' way to them. An entry that cannot
/// connect (no credentials, no such queue) is reported and left out; the rest of the
/// app runs. Does nothing (and loads no AWS configuration) without remote entries.
pub async fn start(triggers: &Arc<Triggers>, options: Options) -> Summary {
    let app = triggers.app_cell().load_full();
    let manifest = app.manifest();
    let mut summary = Vec::new();
    let mut lines = Vec::new();
    let mut front = Front {
        entries: HashMap::new(),
        read_only: options.read_only,
        handle: tokio::runtime::Handle::current(),
        streams: Arc::new(streams::Streams::new(checkpoints(&options))),
    };
    for queue in &manifest.queues {
        let Some(remote) = &queue.remote else {
            continue;
        };
        let what = format!("remote queue {} ({})", queue.name, remote.resource);
        match connect_queue(remote, &what).await {
            Err(why) => insert(
                &mut front,
                &mut lines,
                Kind::Queue,
                &queue.name,
                remote,
                Err(why),
            ),
            Ok(connected) => {
                insert(
                    &mut front,
                    &mut lines,
                    Kind::Queue,
                    &queue.name,
                    remote,
                    Ok(Client::Queue {
                        client: connected.client.clone(),
                        url: connected.url.clone(),
                    }),
                );
                let (Some(function), Some(consume)) = (&queue.function, remote.consume) else {
                    continue;
                };
                let delete = consume == Consume::Delete && !options.read_only;
                lines.push(format!(
                    "  consumed by {function}, batches of {}; {}",
                    queue.batch_size,
                    if delete {
                        "processed messages are DELETED from the real queue"
                    } else {
                        "read-only: nothing is deleted, messages return after their visibility timeout"
                    }
                ));
                tokio::spawn(
                    QueueConsumer {
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
                        delete,
                        visibility: connected.visibility,
                        app: triggers.app_cell().clone(),
                    }
                    .run(),
                );
            }
        }
    }
    for topic in &manifest.topics {
        let Some(remote) = &topic.remote else {
            continue;
        };
        let what = format!("remote topic {} ({})", topic.name, remote.resource);
        let client = match connect(remote, &what).await {
            Ok((config, _)) => Ok(Client::Topic {
                client: aws_sdk_sns::Client::new(&config),
                arn: remote.resource.clone(),
            }),
            Err(why) => Err(why),
        };
        insert(
            &mut front,
            &mut lines,
            Kind::Topic,
            &topic.name,
            remote,
            client,
        );
    }
    for bus in &manifest.buses {
        let Some(remote) = &bus.remote else { continue };
        let what = format!("remote bus {} ({})", bus.name, remote.resource);
        let client = match connect(remote, &what).await {
            Ok((config, _)) => Ok(Client::Bus {
                client: aws_sdk_eventbridge::Client::new(&config),
                arn: remote.resource.clone(),
            }),
            Err(why) => Err(why),
        };
        insert(&mut front, &mut lines, Kind::Bus, &bus.name, remote, client);
    }
    let mut readers = Vec::new();
    for stream in &manifest.streams {
        let Some(remote) = &stream.remote else {
            continue;
        };
        let what = format!("remote stream {} ({})", stream.name, remote.resource);
        let connected = connect(remote, &what).await;
        let client = connected
            .as_ref()
            .map(|(config, region)| (aws_sdk_kinesis::Client::new(config), region.clone()));
        insert(
            &mut front,
            &mut lines,
            Kind::Stream,
            &stream.name,
            remote,
            client
                .as_ref()
                .map(|(client, _)| Client::Stream {
                    client: client.clone(),
                    name: remote.name.clone(),
                })
                .map_err(|e| e.to_string()),
        );
        let Ok((client, region)) = client else {
            continue;
        };
        for consumer in &stream.consumers {
            lines.push(format!(
                "  consumer {} → {}, from {:?}; checkpoints kept {}",
                consumer.name,
                consumer.function,
                consumer.starting_position,
                if options.state_dir.is_some() {
                    "in --state"
                } else {
                    "in memory"
                }
            ));
            readers.push(streams::StreamReader {
                stream: stream.name.clone(),
                arn: remote.resource.clone(),
                region: region.clone(),
                remote_name: remote.name.clone(),
                client: client.clone(),
                consumer: consumer.clone(),
                app: triggers.app_cell().clone(),
                streams: front.streams.clone(),
                on_failure: Arc::new(|_, _| Ok(())),
            });
        }
    }
    // On-failure records go where the manifest says: a remote queue or topic through
    // the SDK, or the sandbox's own.
    let targets: HashMap<(Kind, String), Client> = front
        .entries
        .iter()
        .filter_map(|(k, e)| Some((k.clone(), e.client.clone().ok()?)))
        .collect();
    let on_failure: streams::OnFailure = Arc::new({
        let triggers = Arc::downgrade(triggers);
        let handle = front.handle.clone();
        let read_only = options.read_only;
        move |target, record| on_failure(&triggers, &handle, &targets, read_only, target, record)
    });
    for mut reader in readers {
        reader.on_failure = on_failure.clone();
        tokio::spawn(reader.run());
    }
    summary.extend(lines);
    if !front.entries.is_empty() {
        if let Err(e) = triggers.set_remote(Arc::new(front)) {
            tracing::error!("{e}");
        }
    }
    summary
}

/// Registers one remote entry (under its manifest name and its AWS name) and its
/// summary line.
fn insert(
    front: &mut Front,
    lines: &mut Vec<String>,
    kind: Kind,
    local: &str,
    remote: &Remote,
    client: Result<Client, String>,
) {
    let what = format!("remote {} {local}", kind.noun());
    let line = match &client {
        Ok(_) => format!("{what} → {}", remote.resource),
        Err(why) => {
            tracing::error!("{why}");
            format!("{what} → {} NOT CONNECTED: {why}", remote.resource)
        }
    };
    lines.push(line);
    for name in [local, remote.name.as_str()] {
        front
            .entries
            .entry((kind, name.to_string()))
            .or_insert(Entry {
                what: what.clone(),
                client: client.clone(),
            });
    }
}

/// Remote streams' checkpoints: in `--state DIR` when given (falling back to memory,
/// with an error, when that file cannot be opened).
fn checkpoints(options: &Options) -> checkpoints::Checkpoints {
    match &options.state_dir {
        None => checkpoints::Checkpoints::in_memory(),
        Some(dir) => checkpoints::Checkpoints::open(dir).unwrap_or_else(|e| {
            tracing::error!("{e}; remote streams' checkpoints are kept in memory only");
            checkpoints::Checkpoints::in_memory()
        }),
    }
}

/// Sends a given-up stream batch's invocation record to its on-failure destination.
fn on_failure(
    triggers: &std::sync::Weak<Triggers>,
    handle: &tokio::runtime::Handle,
    targets: &HashMap<(Kind, String), Client>,
    read_only: bool,
    target: &sandbox_manifest::Target,
    record: String,
) -> Result<(), String> {
    use sandbox_manifest::Target;
    let remote = match target {
        Target::Queue(name) => targets.get(&(Kind::Queue, name.clone())),
        Target::Topic(name) => targets.get(&(Kind::Topic, name.clone())),
        Target::Function(_) => None,
    };
    if read_only && remote.is_some() {
        return Err("refused: --remote-read-only writes nothing to AWS".into());
    }
    let sent = match remote.cloned() {
        Some(Client::Queue { client, url }) => {
            let call = async move {
                client
                    .send_message()
                    .queue_url(url)
                    .message_body(record)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| sdk_error(&e))
            };
            block(handle, call)
        }
        Some(Client::Topic { client, arn }) => {
            let call = async move {
                client
                    .publish()
                    .topic_arn(arn)
                    .message(record)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| sdk_error(&e))
            };
            block(handle, call)
        }
        _ => {
            let triggers = triggers.upgrade().ok_or("the sandbox is shutting down")?;
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
    };
    sent
}

/// Runs an SDK call from synchronous code inside the runtime (see `Front::block`).
fn block<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    call: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(call.await);
    });
    let wait = move || {
        rx.recv()
            .unwrap_or_else(|_| Err("the call to AWS was dropped".into()))
    };
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}

/// The SDK configuration for `remote`, checked: a region and usable credentials.
async fn connect(remote: &Remote, what: &str) -> Result<(aws_config::SdkConfig, String), String> {
    let config = sdk::config(remote).await;
    let region = sdk::check(&config, what).await?;
    Ok((config, region))
}

/// A remote queue, found: its URL, ARN and visibility timeout.
struct Connected {
    client: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    region: String,
    visibility: Duration,
}

async fn connect_queue(remote: &Remote, what: &str) -> Result<Connected, String> {
    let (config, region) = connect(remote, what).await?;
    let client = aws_sdk_sqs::Client::new(&config);
    let url = if remote.resource.starts_with("arn:") {
        client
            .get_queue_url()
            .queue_name(&remote.name)
            .set_queue_owner_aws_account_id(remote.account.clone())
            .send()
            .await
            .map_err(|e| format!("{what}: {}", sdk_error(&e)))?
            .queue_url
            .unwrap_or_default()
    } else {
        remote.resource.clone()
    };
    let attributes = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("{what}: {}", sdk_error(&e)))?;
    let attribute = |name: QueueAttributeName| {
        attributes
            .attributes
            .as_ref()
            .and_then(|a| a.get(&name))
            .cloned()
    };
    let visibility = attribute(QueueAttributeName::VisibilityTimeout)
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(30), Duration::from_secs);
    let arn = attribute(QueueAttributeName::QueueArn).unwrap_or_else(|| {
        format!(
            "arn:aws:sqs:{region}:{}:{}",
            remote.account.as_deref().unwrap_or("000000000000"),
            remote.name
        )
    });
    Ok(Connected {
        client,
        url,
        arn,
        region,
        visibility,
    })
}

/// A time as clients send it (RFC 3339 or epoch seconds).
pub(crate) fn time(input: &TimeInput) -> Result<DateTime<Utc>, ControlError> {
    match input {
        TimeInput::Text(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                ControlError::bad_request(format!("`{text}` is not an RFC 3339 time ({e})"))
            }),
        TimeInput::EpochSeconds(s) => Utc
            .timestamp_millis_opt((s * 1000.0).round() as i64)
            .single()
            .ok_or_else(|| {
                ControlError::bad_request(format!("{s} is not a time in epoch seconds"))
            }),
    }
}
