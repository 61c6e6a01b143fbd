//! The typed application model every other crate reads.
//!
//! Both manifest formats (`.arc` and `sandbox.json`) produce exactly this model, so
//! nothing downstream knows which format the user wrote. Defaults follow AWS (and
//! Architect, where Architect documents one); they are applied at parse time so a
//! consumer never has to guess.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A location in the manifest file, 1-based, for error messages and the status API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Span {
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Manifest {
    /// The project directory (the manifest's folder).
    pub root: PathBuf,
    /// The manifest file that was read.
    pub file: PathBuf,
    pub app: String,
    pub routes: Vec<Route>,
    pub topics: Vec<Topic>,
    pub queues: Vec<Queue>,
    pub schedules: Vec<Schedule>,
    pub streams: Vec<Stream>,
    pub buses: Vec<Bus>,
    /// Every handler the app names, keyed by its function name (see [`Function::name`]).
    pub functions: BTreeMap<String, Function>,
    /// Folder served for requests no route matches (`public/` by default, `@static folder X`).
    pub static_dir: Option<PathBuf>,
    /// Every alarm, declared (`alarm …` lines) or by default (dead-letter queues).
    pub alarms: Vec<Alarm>,
}

/// One alarm: what it watches and its threshold, where it was declared (a default
/// dead-letter alarm points at its queue's `deadLetterQueue`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Alarm {
    pub watch: sandbox_services::alarm::Watch,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    /// Architect's `any`: matches every method.
    Any,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Any => "ANY",
        }
    }
}

/// One `@http` line, e.g. `get /users/:id`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Route {
    pub method: Method,
    /// The path as written: `/`, `/users/:id`, `/files/*`.
    pub path: String,
    /// Name of the function in [`Manifest::functions`].
    pub function: String,
    pub span: Span,
}

/// Where a function's code comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HandlerSource {
    /// A prebuilt `handler.wasm`.
    Wasm { path: PathBuf },
    /// WebAssembly text, `handler.wat`.
    Wat { path: PathBuf },
    /// A Rust crate (`Cargo.toml` in the function directory) the sandbox builds for
    /// `wasm32-wasip1`; `output` is where the built module lands.
    Cargo { manifest: PathBuf, output: PathBuf },
    /// A build command from the manifest (`build "make"`), run in the function
    /// directory, producing `output`.
    Command { command: String, output: PathBuf },
    /// A JavaScript handler (`index.js`, `.mjs`, `.cjs`, or `handler.*`), run by the
    /// JavaScript runner the sandbox ships.
    JavaScript { entry: PathBuf },
    /// A TypeScript handler (`index.ts`, `.mts`, or `handler.*`): types stripped on the
    /// host, then run as JavaScript.
    TypeScript { entry: PathBuf },
    /// Nothing found: `looked_in` is the directory that was searched.
    Missing { looked_in: PathBuf },
}

/// One handler. Names follow Architect's directory convention, relative to `src/`:
/// `http/get-index`, `http/get-users-000id`, `http/any-catchall`, `queues/orders`,
/// `events/yolo`, `scheduled/daily`, `streams/clicks/analytics`, `bus/<rule-target>`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Function {
    pub name: String,
    /// Absolute function directory, e.g. `<root>/src/http/get-index`.
    pub dir: PathBuf,
    pub handler: HandlerSource,
    /// Architect's `timeout` (seconds). Default 5 s, Architect's default.
    pub timeout: Duration,
    /// Architect's `memory` (MiB). Default 256.
    pub memory_mib: u32,
    /// Explicit environment; handlers see nothing else of the host's.
    pub env: BTreeMap<String, String>,
    pub span: Span,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_MEMORY_MIB: u32 = 256;

/// `@queues` entry: SQS queue plus its Lambda event source mapping.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Queue {
    pub name: String,
    /// `name.fifo` or `fifo true`.
    pub fifo: bool,
    pub content_based_deduplication: bool,
    pub visibility_timeout: Duration,
    pub delay: Duration,
    pub retention: Duration,
    pub max_message_size: usize,
    pub batch_size: u32,
    pub batching_window: Duration,
    pub max_concurrency: Option<u32>,
    pub report_batch_item_failures: bool,
    /// Name of the dead-letter queue (another `@queues` entry) and the receive count
    /// that moves a message there.
    pub dead_letter: Option<DeadLetter>,
    /// Consumer function (`queues/<name>`), if its directory exists or is declared.
    pub function: Option<String>,
    /// A real SQS queue this entry stands for (`remote …`); `None` for a local queue.
    pub remote: Option<Remote>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeadLetter {
    pub queue: String,
    pub max_receive_count: u32,
}

/// `@events` entry: an SNS topic.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Topic {
    pub name: String,
    pub fifo: bool,
    pub content_based_deduplication: bool,
    /// The topic's own handler (`events/<name>`) comes first, then listed subscribers.
    pub subscriptions: Vec<Subscription>,
    /// A real SNS topic this entry stands for (`remote …`); publishing only.
    pub remote: Option<Remote>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Target {
    Function(String),
    Queue(String),
    Topic(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FilterPolicyScope {
    MessageAttributes,
    MessageBody,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Subscription {
    pub target: Target,
    pub raw_message_delivery: bool,
    pub filter_policy: Option<serde_json::Value>,
    pub filter_policy_scope: FilterPolicyScope,
    /// Queue receiving deliveries that failed all retries.
    pub dead_letter_queue: Option<String>,
    pub span: Span,
}

/// `@scheduled` entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Schedule {
    pub name: String,
    /// As written: `rate(1 day)` or `cron(0 12 * * ? *)`.
    pub expression: String,
    /// IANA zone name; UTC when absent.
    pub timezone: Option<String>,
    pub function: String,
    pub span: Span,
}

/// `@streams` entry: a Kinesis data stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stream {
    pub name: String,
    pub shards: u32,
    pub retention_hours: u32,
    pub consumers: Vec<StreamConsumer>,
    /// A real Kinesis stream this entry stands for (`remote …`).
    pub remote: Option<Remote>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
    AtTimestamp,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StreamConsumer {
    pub name: String,
    /// `streams/<stream>/<consumer>`.
    pub function: String,
    pub batch_size: u32,
    pub batching_window: Duration,
    pub starting_position: StartingPosition,
    /// Epoch seconds, with `AT_TIMESTAMP`.
    pub starting_position_timestamp: Option<f64>,
    /// -1 = retry until the records expire.
    pub maximum_retry_attempts: i64,
    /// -1 = no age limit.
    pub maximum_record_age_seconds: i64,
    pub bisect_batch_on_function_error: bool,
    pub report_batch_item_failures: bool,
    /// Queue or topic receiving the invocation record of given-up batches.
    pub on_failure: Option<Target>,
    pub span: Span,
}

/// `@bus` entry: an EventBridge event bus (`default` or named).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Bus {
    pub name: String,
    pub rules: Vec<Rule>,
    pub archives: Vec<Archive>,
    /// A real EventBridge bus this entry stands for (`remote …`); putting events only.
    pub remote: Option<Remote>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rule {
    pub name: String,
    pub event_pattern: serde_json::Value,
    pub enabled: bool,
    pub targets: Vec<RuleTarget>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleTarget {
    pub target: Target,
    pub input_path: Option<String>,
    pub input: Option<String>,
    pub input_transformer: Option<InputTransformer>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InputTransformer {
    pub input_paths_map: BTreeMap<String, String>,
    pub input_template: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Archive {
    pub name: String,
    /// `None` archives every event.
    pub event_pattern: Option<serde_json::Value>,
    /// `None` keeps events forever.
    pub retention_days: Option<u32>,
}

/// A queue, stream, topic or bus in AWS (or another AWS-compatible endpoint) that a
/// manifest entry stands for: `remote <queue URL or ARN>`, optionally `endpoint <url>`.
/// Nothing touches AWS unless an entry says `remote`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Remote {
    /// As written: a queue URL or an ARN.
    pub resource: String,
    /// The resource's own name in AWS (the ARN's or URL's last part).
    pub name: String,
    /// From the ARN or the queue URL's host; `None` leaves it to the AWS configuration.
    pub region: Option<String>,
    /// From the ARN or queue URL.
    pub account: Option<String>,
    /// `endpoint <url>`, or the origin of a queue URL that is not AWS's: where the calls
    /// go instead of AWS (a test, an emulator).
    pub endpoint: Option<String>,
    /// Queues: what reading a message does. `None` when the app does not consume it.
    pub consume: Option<Consume>,
}

/// How a remote queue is read (`consume delete` / `consume peek`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Consume {
    /// As Lambda does: processed messages are deleted from the real queue.
    Delete,
    /// Received and invoked, never deleted: each message returns to the queue when its
    /// visibility timeout ends.
    Peek,
}
