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
//! - `units`: the running entries: connected (retried with backoff while they cannot
//!   be), their consumers started, and restarted or stopped by a hot reload.
//! - `in_flight`: batches taken from AWS and not yet settled, which drain waits for.
//!
//! Nothing here runs unless the manifest has a `remote` entry: a local app never loads
//! AWS configuration or makes a call, and `--state` gets no `remote.redb` until a remote
//! stream consumer starts.

mod checkpoints;
mod front;
mod in_flight;
mod publish;
mod queue_consumer;
mod sdk;
mod streams;
mod units;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, TimeZone, Utc};
use sandbox_manifest::Remote;
use sandbox_ops::control::ControlError;
use sandbox_ops::text::TimeInput;
use sandbox_triggers::Triggers;

use front::Front;
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

/// Connects every remote entry of the app being served (one attempt each, for the
/// summary), starts the consumers of remote queues and streams, and registers the front
/// ends' way to them, which later reloads reconfigure. An entry that cannot connect (no
/// credentials, endpoint down, no such queue) is reported and retried in the background
/// with backoff; the rest of the app runs. Loads no AWS configuration without remote
/// entries.
pub async fn start(triggers: &Arc<Triggers>, options: Options) -> Summary {
    let app = triggers.app_cell().load_full();
    let front = Arc::new_cyclic(|me| Front {
        entries: RwLock::new(HashMap::new()),
        read_only: options.read_only,
        handle: tokio::runtime::Handle::current(),
        streams: OnceLock::new(),
        state_dir: options.state_dir.clone(),
        app: triggers.app_cell().clone(),
        triggers: Arc::downgrade(triggers),
        in_flight: Default::default(),
        units: Mutex::new(BTreeMap::new()),
        me: me.clone(),
    });
    let mut summary = Vec::new();
    for spec in units::specs(app.manifest()) {
        let first = units::attempt(&spec).await;
        summary.push(units::entry_line(&spec, &first));
        if first.is_ok() {
            summary.extend(units::consumer_lines(&front, &spec));
        }
        units::start_unit(&front, spec, Some(first));
    }
    // Registered even without remote entries: a reload may add some.
    if let Err(e) = triggers.set_remote(front) {
        tracing::error!("{e}");
    }
    summary
}

/// Remote streams' checkpoints: in `--state DIR` when given (falling back to memory,
/// with an error, when that file cannot be opened).
fn checkpoints(state_dir: Option<&Path>) -> checkpoints::Checkpoints {
    match state_dir {
        None => checkpoints::Checkpoints::in_memory(),
        Some(dir) => checkpoints::Checkpoints::open(dir).unwrap_or_else(|e| {
            tracing::error!("{e}; remote streams' checkpoints are kept in memory only");
            checkpoints::Checkpoints::in_memory()
        }),
    }
}

/// Runs an SDK call from synchronous code inside the runtime (see `Front::block`).
pub(crate) fn block<T: Send + 'static>(
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
pub(crate) async fn connect(
    remote: &Remote,
    what: &str,
) -> Result<(aws_config::SdkConfig, String), String> {
    let config = sdk::config(remote).await;
    let region = sdk::check(&config, what).await?;
    Ok((config, region))
}

/// A remote queue, found: its URL, ARN and visibility timeout.
pub(crate) struct Connected {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
    pub arn: String,
    pub region: String,
    pub visibility: Duration,
}

pub(crate) async fn connect_queue(remote: &Remote, what: &str) -> Result<Connected, String> {
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
