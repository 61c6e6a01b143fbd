//! One SQS queue (standard or FIFO) as a pure state machine.
//!
//! Every method that depends on time takes `now` (ARCHITECTURE.md: time is passed in): the queue never
//! reads a clock, sleeps or spawns, so a 30 s visibility timeout or a 4-day retention is
//! tested by passing a later `now`. A driver asks [`Queue::next_change`] when to look again.
//!
//! A message is in one of four states, all derived from `visible_at` and `now`:
//! *delayed* (sent with a delay that has not passed), *visible*, *in flight* (delivered and
//! its visibility timeout not over), or *expired* (older than the retention period, waiting
//! for [`Queue::expire`] to remove and report it; it is never delivered).
//!
//! Rules chosen where AWS leaves room (each is tested):
//! - Receipt handles: every delivery issues a new handle and retires the previous one. The
//!   latest handle stays valid until the message is delivered again, even after its
//!   visibility timeout ran out (AWS: "you must provide the most recently received receipt
//!   handle"). A retired handle is refused with [`DeleteError::Stale`] rather than AWS's
//!   silent success, so the caller can log why nothing was deleted.
//! - Dead letters: a message whose receive count already reached `maxReceiveCount` is not
//!   delivered on the next attempt but handed back in [`Received::dead_lettered`] (AWS: "when
//!   the ReceiveCount for a message exceeds the maxReceiveCount, SQS moves the message to
//!   the dead-letter queue" — with 3, it is delivered 3 times and moved on the 4th receive).
//!   It keeps its receive count, body, attributes and sent timestamp.
//! - Standard queues hand out the message that became visible earliest first (new
//!   messages roughly in send order, timed-out ones when their timeout ends).
//! - FIFO: messages of one group come out in send order and a group is locked while any of
//!   its messages is in flight. A batch may hold several messages of one group (in order)
//!   and several groups. The deduplication window is 5 minutes, per queue.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rustc_hash::FxBuildHasher;
use sha2::{Digest, Sha256};

use super::message::{
    attributes_size, validate_attributes, AttributeError, Message, MessageAttributes,
};

/// SQS's deduplication interval for FIFO queues.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Largest `DelaySeconds`, per queue or per message.
pub const MAX_DELAY: Duration = Duration::from_secs(900);
/// Largest visibility timeout SQS accepts (12 hours).
pub const MAX_VISIBILITY: Duration = Duration::from_secs(43_200);
/// First FIFO sequence number: 20 digits, like the ones SQS hands out.
const FIRST_SEQUENCE: u64 = 18_000_000_000_000_000_000;

/// How one queue behaves; built from the manifest by the caller.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueConfig {
    pub name: String,
    pub fifo: bool,
    pub content_based_deduplication: bool,
    pub visibility_timeout: Duration,
    /// Queue-level `DelaySeconds` for every new message.
    pub delay: Duration,
    pub retention: Duration,
    /// Limit on body plus message attribute bytes.
    pub max_message_size: usize,
    /// Dead-letter queue name and `maxReceiveCount`.
    pub dead_letter: Option<(String, u32)>,
}

impl QueueConfig {
    /// A standard queue with SQS's defaults (30 s visibility, no delay, 4 days, 1 MiB).
    pub fn new(name: impl Into<String>) -> Self {
        QueueConfig {
            name: name.into(),
            fifo: false,
            content_based_deduplication: false,
            visibility_timeout: Duration::from_secs(30),
            delay: Duration::ZERO,
            retention: Duration::from_secs(345_600),
            max_message_size: 1_048_576,
            dead_letter: None,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |problem: String| {
            Err(ConfigError::Invalid {
                queue: self.name.clone(),
                problem,
            })
        };
        if self.name.is_empty() {
            return bad("the queue name is empty".into());
        }
        if self.visibility_timeout > MAX_VISIBILITY {
            return bad(format!(
                "visibility timeout {} s is over the maximum of 43200 s (12 hours)",
                self.visibility_timeout.as_secs()
            ));
        }
        if self.delay > MAX_DELAY {
            return bad(format!(
                "delay {} s is over the maximum of 900 s",
                self.delay.as_secs()
            ));
        }
        if self.retention.is_zero() {
            return bad("the retention period is zero".into());
        }
        if self.max_message_size == 0 {
            return bad("the maximum message size is zero".into());
        }
        if let Some((dlq, max)) = &self.dead_letter {
            if *max == 0 {
                return bad(format!(
                    "maxReceiveCount for dead-letter queue `{dlq}` must be at least 1"
                ));
            }
            if dlq == &self.name {
                return bad("a queue cannot be its own dead-letter queue".into());
            }
        }
        Ok(())
    }
}

/// A queue configuration (or set of them) that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("queue `{queue}`: {problem}")]
    Invalid { queue: String, problem: String },
    #[error("queue `{0}` is declared twice")]
    Duplicate(String),
    #[error("queue `{queue}` names dead-letter queue `{dlq}`, which does not exist (queues: {})", known.join(", "))]
    UnknownDeadLetterQueue {
        queue: String,
        dlq: String,
        known: Vec<String>,
    },
    #[error("queue `{queue}` is {} but its dead-letter queue `{dlq}` is not; a FIFO queue needs a FIFO dead-letter queue and a standard queue a standard one", if *.queue_fifo { "FIFO" } else { "standard" })]
    FifoMismatch {
        queue: String,
        dlq: String,
        queue_fifo: bool,
    },
}

/// What a producer hands to [`Queue::send`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendRequest {
    pub body: String,
    /// Per-message `DelaySeconds` (standard queues only); overrides the queue's delay.
    pub delay: Option<Duration>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub attributes: MessageAttributes,
    /// Reported as `SenderId`.
    pub sender_id: String,
    /// Invocations that led to this send (`crate::recursion`); 0 from outside.
    pub hops: u32,
}

impl SendRequest {
    pub fn new(body: impl Into<String>) -> Self {
        SendRequest {
            body: body.into(),
            sender_id: "sandbox".to_string(),
            ..SendRequest::default()
        }
    }
}

/// What [`Queue::send`] answers, as `SendMessage` would.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SendReceipt {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_message_attributes: Option<String>,
    pub sequence_number: Option<String>,
    /// True when a FIFO deduplication id was seen in the last 5 minutes: the message was
    /// accepted but not enqueued, and `message_id` is the original's.
    pub duplicate: bool,
}

/// Why a message was refused; nothing was enqueued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("message to `{queue}` is {size} bytes (body {body} + attributes {attributes}), over the queue's maximum message size of {max} bytes")]
    TooLarge {
        queue: String,
        size: usize,
        body: usize,
        attributes: usize,
        max: usize,
    },
    #[error("message to `{queue}` has an empty body; SQS requires at least one character")]
    EmptyBody { queue: String },
    #[error("message to `{queue}` contains character U+{code:04X}, which SQS does not allow (allowed: tab, newline, carriage return, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF)")]
    InvalidCharacter { queue: String, code: u32 },
    #[error("message to `{queue}`: {source}")]
    Attribute {
        queue: String,
        source: AttributeError,
    },
    #[error("`{queue}` is a FIFO queue: every message needs a message group id")]
    MissingGroupId { queue: String },
    #[error("`{queue}` is a FIFO queue without content-based deduplication: every message needs a deduplication id (or turn on contentBasedDeduplication)")]
    MissingDedupId { queue: String },
    #[error("`{queue}` is a standard queue: a deduplication id is only allowed on FIFO queues")]
    DedupIdOnStandard { queue: String },
    #[error("`{queue}` is a FIFO queue: a per-message delay is not allowed, only the queue's delay applies")]
    DelayOnFifo { queue: String },
    #[error("message delay {seconds} s is over the maximum of 900 s")]
    DelayTooLong { seconds: u64 },
    #[error(
        "invalid {what} `{value}`: up to 128 characters, letters, digits and punctuation only"
    )]
    InvalidId { what: &'static str, value: String },
}

/// Why a receipt handle did not delete (or change) anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeleteError {
    #[error("receipt handle for message {message_id} is stale: the message was delivered again since, and only the latest receipt handle is valid")]
    Stale { message_id: String },
    #[error("message {message_id} is no longer in the queue (deleted, expired, purged or moved to a dead-letter queue)")]
    Gone { message_id: String },
    #[error("`{handle}` is not a receipt handle issued by this queue")]
    Invalid { handle: String },
}

/// Why [`Queue::change_visibility`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisibilityError {
    #[error(transparent)]
    Handle(#[from] DeleteError),
    #[error("message {message_id} is not in flight (its visibility timeout is already over)")]
    NotInFlight { message_id: String },
    #[error("visibility timeout {seconds} s is over the maximum of 43200 s (12 hours)")]
    TooLong { seconds: u64 },
}

/// One message handed to a consumer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// The message as of this delivery (receive count already incremented).
    pub message: Message,
    pub receipt_handle: String,
}

/// The result of one [`Queue::receive`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    pub messages: Vec<Delivery>,
    /// Messages past `maxReceiveCount`, removed from this queue: the caller must put them
    /// into the dead-letter queue ([`super::Queues`] does).
    pub dead_lettered: Vec<Message>,
}

/// Where a message stands at some `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum MessageState {
    Visible,
    Delayed {
        until: DateTime<Utc>,
    },
    InFlight {
        until: DateTime<Utc>,
    },
    /// Past retention; removed at the next [`Queue::expire`].
    Expired,
}

/// A read-only look at one message ([`Queue::peek`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MessageView {
    pub message: Message,
    #[serde(flatten)]
    pub state: MessageState,
}

/// Counts for the control API and `ApproximateNumberOfMessages*`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueStats {
    pub visible: usize,
    pub in_flight: usize,
    pub delayed: usize,
    /// Age of the oldest unexpired message, by its sent timestamp.
    pub oldest_age_seconds: Option<u64>,
    /// Messages removed by retention since the queue was created.
    pub expired_total: u64,
    /// Messages handed out as dead letters since the queue was created.
    pub dead_lettered_total: u64,
}

/// Work still waiting in a queue, for "drain" (wait until the app is idle).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PendingCounts {
    /// Visible messages never delivered: a poller should take them now.
    pub due_now: usize,
    /// Delayed and in-flight messages, which come (back) later.
    pub scheduled_later: usize,
    /// When the earliest of all of them is (or was) due: for a message that is visible
    /// now this is in the past, for a delayed or in-flight one when it becomes visible.
    pub next_due: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct Entry {
    message: Message,
    /// Not deliverable before this: the end of a delay or of a visibility timeout.
    visible_at: DateTime<Utc>,
    /// The random part of the current receipt handle (`<message id>#<nonce in hex>`);
    /// `None` until the first delivery (and after a move).
    receipt: Option<u128>,
    expires_at: DateTime<Utc>,
}

impl Entry {
    fn state(&self, now: DateTime<Utc>) -> MessageState {
        if self.expires_at <= now {
            MessageState::Expired
        } else if self.visible_at <= now {
            MessageState::Visible
        } else if self.receipt.is_some() {
            MessageState::InFlight {
                until: self.visible_at,
            }
        } else {
            MessageState::Delayed {
                until: self.visible_at,
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Dedup {
    message_id: String,
    sequence_number: Option<String>,
    /// When the id was first seen (its window ends 5 minutes later).
    at: DateTime<Utc>,
}

/// One queue: its messages in send order, receipt handles and FIFO bookkeeping.
#[derive(Debug, Clone)]
pub struct Queue {
    config: QueueConfig,
    /// Keyed by arrival order, so iteration is FIFO order.
    /// Boxed: an entry is a few hundred bytes, and a B-tree node shifts its values on
    /// every insert and remove (messages leave from the front), so it moves pointers.
    entries: BTreeMap<u64, Box<Entry>>,
    /// `(visible_at, key)` of every entry: visible messages without a scan, and the next
    /// delay or visibility timeout to end, in O(log n) for the driver's every wakeup.
    by_visible: BTreeSet<(DateTime<Utc>, u64)>,
    /// `(expires_at, key)` of every entry, for retention.
    by_expiry: BTreeSet<(DateTime<Utc>, u64)>,
    next_key: u64,
    // Hashed on every send, delivery and delete; a local sandbox has no hash-flooding
    // adversary, so FxHash (several times cheaper than SipHash on these keys) fits.
    by_id: HashMap<String, u64, FxBuildHasher>,
    /// Receipt-handle nonce → entry key: the handle text is built once, for the
    /// consumer, and never stored.
    by_handle: HashMap<u128, u64, FxBuildHasher>,
    dedup: HashMap<String, Dedup, FxBuildHasher>,
    /// Dedup ids by send time; time only moves forward, so the front is the oldest.
    dedup_order: VecDeque<(DateTime<Utc>, String)>,
    next_sequence: u64,
    expired_total: u64,
    dead_lettered_total: u64,
    /// What changed since the last [`Queue::take_changes`]; only kept when a store asked
    /// for it (`--state`), so the in-memory sandbox pays nothing.
    journal: Option<Box<image::Journal>>,
}

/// `now + d`, saturating instead of overflowing on absurd durations.
pub(crate) fn later(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `<message id>#<nonce>`, the nonce as 32 lower-case hex digits, in one allocation.
fn receipt_handle(message_id: &str, nonce: uuid::Uuid) -> String {
    let mut handle = String::with_capacity(message_id.len() + 1 + 32);
    handle.push_str(message_id);
    handle.push('#');
    handle.push_str(
        nonce
            .simple()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    );
    handle
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic())
}

impl Queue {
    pub fn new(config: QueueConfig) -> Result<Queue, ConfigError> {
        config.validate()?;
        Ok(Queue {
            config,
            entries: BTreeMap::new(),
            by_visible: BTreeSet::new(),
            by_expiry: BTreeSet::new(),
            next_key: 0,
            by_id: HashMap::default(),
            by_handle: HashMap::default(),
            dedup: HashMap::default(),
            dedup_order: VecDeque::new(),
            next_sequence: FIRST_SEQUENCE,
            expired_total: 0,
            dead_lettered_total: 0,
            journal: None,
        })
    }

    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Messages held, in any state.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Swaps in a new configuration, keeping the messages (used by hot reload). Timeouts
    /// already running keep their end time; retention is recomputed from the new period.
    pub(crate) fn reconfigure(&mut self, config: QueueConfig) -> Result<(), ConfigError> {
        config.validate()?;
        self.by_expiry.clear();
        for (key, entry) in &mut self.entries {
            entry.expires_at = later(entry.message.retained_since, config.retention);
            self.by_expiry.insert((entry.expires_at, *key));
        }
        self.config = config;
        Ok(())
    }

    /// `SendMessage`: validates, deduplicates (FIFO) and enqueues.
    pub fn send(&mut self, req: SendRequest, now: DateTime<Utc>) -> Result<SendReceipt, SendError> {
        let queue = || self.config.name.clone();
        if req.body.is_empty() {
            return Err(SendError::EmptyBody { queue: queue() });
        }
        if let Some(c) = req.body.chars().find(|&c| {
            !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        }) {
            return Err(SendError::InvalidCharacter {
                queue: queue(),
                code: c as u32,
            });
        }
        validate_attributes(&req.attributes).map_err(|source| SendError::Attribute {
            queue: queue(),
            source,
        })?;
        let attributes = attributes_size(&req.attributes);
        let size = req.body.len() + attributes;
        if size > self.config.max_message_size {
            return Err(SendError::TooLarge {
                queue: queue(),
                size,
                body: req.body.len(),
                attributes,
                max: self.config.max_message_size,
            });
        }
        if let Some(delay) = req.delay {
            if delay > MAX_DELAY {
                return Err(SendError::DelayTooLong {
                    seconds: delay.as_secs(),
                });
            }
            // SDKs may send an explicit 0; only a real per-message delay is refused.
            if self.config.fifo && !delay.is_zero() {
                return Err(SendError::DelayOnFifo { queue: queue() });
            }
        }
        if let Some(group) = &req.group_id {
            if !valid_id(group) {
                return Err(SendError::InvalidId {
                    what: "message group id",
                    value: group.clone(),
                });
            }
        }

        let mut dedup_id = None;
        if self.config.fifo {
            if req.group_id.is_none() {
                return Err(SendError::MissingGroupId { queue: queue() });
            }
            let id = match (&req.dedup_id, self.config.content_based_deduplication) {
                (Some(id), _) => {
                    if !valid_id(id) {
                        return Err(SendError::InvalidId {
                            what: "deduplication id",
                            value: id.clone(),
                        });
                    }
                    id.clone()
                }
                (None, true) => {
                    let digest = Sha256::digest(req.body.as_bytes());
                    digest.iter().map(|b| format!("{b:02x}")).collect()
                }
                (None, false) => return Err(SendError::MissingDedupId { queue: queue() }),
            };
            self.prune_dedup(now);
            if let Some(original) = self.dedup.get(&id) {
                return Ok(SendReceipt {
                    message_id: original.message_id.clone(),
                    md5_of_body: super::message::md5_of_body(&req.body),
                    md5_of_message_attributes: super::message::md5_of_message_attributes(
                        &req.attributes,
                    ),
                    sequence_number: original.sequence_number.clone(),
                    duplicate: true,
                });
            }
            dedup_id = Some(id);
        } else if req.dedup_id.is_some() {
            return Err(SendError::DedupIdOnStandard { queue: queue() });
        }

        let mut message = Message::new(req.body, req.attributes, req.sender_id, now);
        message.group_id = req.group_id;
        message.dedup_id = dedup_id.clone();
        message.hops = req.hops;
        if self.config.fifo {
            message.sequence_number = Some(self.take_sequence());
        }
        if let Some(id) = dedup_id {
            self.dedup.insert(
                id.clone(),
                Dedup {
                    message_id: message.id.clone(),
                    sequence_number: message.sequence_number.clone(),
                    at: now,
                },
            );
            self.touch_dedup(&id);
            self.dedup_order.push_back((now, id));
        }
        let receipt = SendReceipt {
            message_id: message.id.clone(),
            md5_of_body: message.md5_of_body.clone(),
            md5_of_message_attributes: message.md5_of_message_attributes.clone(),
            sequence_number: message.sequence_number.clone(),
            duplicate: false,
        };
        let delay = req.delay.unwrap_or(self.config.delay);
        self.insert(message, later(now, delay));
        Ok(receipt)
    }

    fn take_sequence(&mut self) -> String {
        let n = self.next_sequence;
        self.next_sequence = self.next_sequence.saturating_add(1);
        format!("{n:020}")
    }

    fn prune_dedup(&mut self, now: DateTime<Utc>) {
        while let Some((at, _)) = self.dedup_order.front() {
            if later(*at, DEDUP_WINDOW) > now {
                break;
            }
            if let Some((_, id)) = self.dedup_order.pop_front() {
                self.dedup.remove(&id);
                self.touch_dedup(&id);
            }
        }
    }

    fn insert(&mut self, message: Message, visible_at: DateTime<Utc>) {
        let key = self.next_key;
        self.next_key += 1;
        self.touch(key);
        self.by_id.insert(message.id.clone(), key);
        let expires_at = later(message.retained_since, self.config.retention);
        self.by_visible.insert((visible_at, key));
        self.by_expiry.insert((expires_at, key));
        self.entries.insert(
            key,
            Box::new(Entry {
                message,
                visible_at,
                receipt: None,
                expires_at,
            }),
        );
    }

    fn remove(&mut self, key: u64) -> Option<Message> {
        let entry = self.entries.remove(&key)?;
        self.touch(key);
        self.by_visible.remove(&(entry.visible_at, key));
        self.by_expiry.remove(&(entry.expires_at, key));
        self.by_id.remove(&entry.message.id);
        if let Some(nonce) = &entry.receipt {
            self.by_handle.remove(nonce);
        }
        Some(entry.message)
    }

    /// `ReceiveMessage`: up to `max` visible messages, each made invisible for `visibility`
    /// (the queue's timeout when `None`, at most 12 hours). Messages past their
    /// `maxReceiveCount` are removed into [`Received::dead_lettered`] instead.
    pub fn receive(
        &mut self,
        max: usize,
        visibility: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Received {
        let visibility = visibility
            .unwrap_or(self.config.visibility_timeout)
            .min(MAX_VISIBILITY);
        let max_receives = self.config.dead_letter.as_ref().map(|(_, n)| *n);
        let mut deliver = Vec::new();
        let mut dead = Vec::new();
        if max == 0 {
            return Received::default();
        }

        self.eligible(now, |key, receive_count| {
            match max_receives {
                Some(limit) if receive_count >= limit => dead.push(key),
                _ => deliver.push(key),
            }
            deliver.len() < max
        });

        let mut received = Received::default();
        for key in dead {
            if let Some(message) = self.remove(key) {
                self.dead_lettered_total += 1;
                received.dead_lettered.push(message);
            }
        }
        let until = later(now, visibility);
        for key in deliver {
            if let Some(journal) = &mut self.journal {
                journal.touch(key);
            }
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            let nonce = uuid::Uuid::new_v4();
            let handle = receipt_handle(&entry.message.id, nonce);
            if let Some(old) = entry.receipt.replace(nonce.as_u128()) {
                self.by_handle.remove(&old);
            }
            self.by_handle.insert(nonce.as_u128(), key);
            self.by_visible.remove(&(entry.visible_at, key));
            self.by_visible.insert((until, key));
            entry.visible_at = until;
            entry.message.receive_count += 1;
            entry.message.first_received_at.get_or_insert(now);
            received.messages.push(Delivery {
                message: entry.message.clone(),
                receipt_handle: handle,
            });
        }
        received
    }

    fn lookup(&self, handle: &str) -> Result<u64, DeleteError> {
        let Some((message_id, nonce)) = handle.split_once('#') else {
            return Err(DeleteError::Invalid {
                handle: handle.to_string(),
            });
        };
        // The handle must be the latest one issued, for this message.
        let issued = nonce.len() == 32
            && nonce
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let current = issued
            .then(|| u128::from_str_radix(nonce, 16).ok())
            .flatten()
            .and_then(|nonce| self.by_handle.get(&nonce))
            .filter(|key| {
                self.entries
                    .get(key)
                    .is_some_and(|e| e.message.id == message_id)
            });
        if let Some(key) = current {
            return Ok(*key);
        }
        let message_id = message_id.to_string();
        if self.by_id.contains_key(&message_id) {
            Err(DeleteError::Stale { message_id })
        } else {
            Err(DeleteError::Gone { message_id })
        }
    }

    /// `DeleteMessage` with the latest receipt handle of a message; returns its id.
    pub fn delete(&mut self, receipt_handle: &str) -> Result<String, DeleteError> {
        let key = self.lookup(receipt_handle)?;
        let message = self.remove(key).ok_or_else(|| DeleteError::Invalid {
            handle: receipt_handle.to_string(),
        })?;
        Ok(message.id)
    }

    /// `ChangeMessageVisibility`: the in-flight message becomes visible `timeout` from `now`
    /// (zero: at once).
    pub fn change_visibility(
        &mut self,
        receipt_handle: &str,
        timeout: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), VisibilityError> {
        if timeout > MAX_VISIBILITY {
            return Err(VisibilityError::TooLong {
                seconds: timeout.as_secs(),
            });
        }
        let key = self.lookup(receipt_handle)?;
        let entry = self
            .entries
            .get_mut(&key)
            .ok_or_else(|| DeleteError::Invalid {
                handle: receipt_handle.to_string(),
            })?;
        if !matches!(entry.state(now), MessageState::InFlight { .. }) {
            return Err(VisibilityError::NotInFlight {
                message_id: entry.message.id.clone(),
            });
        }
        let until = later(now, timeout);
        self.by_visible.remove(&(entry.visible_at, key));
        self.by_visible.insert((until, key));
        entry.visible_at = until;
        self.touch(key);
        Ok(())
    }

    /// `PurgeQueue`: removes every message (in flight too); returns how many.
    pub fn purge(&mut self) -> usize {
        let n = self.entries.len();
        if let Some(journal) = &mut self.journal {
            journal.whole = true;
        }
        self.entries.clear();
        self.by_visible.clear();
        self.by_expiry.clear();
        self.by_id.clear();
        self.by_handle.clear();
        n
    }

    /// Every message with its state, in queue order, changing nothing.
    pub fn peek(&self, now: DateTime<Utc>) -> Vec<MessageView> {
        self.entries
            .values()
            .map(|e| MessageView {
                message: e.message.clone(),
                state: e.state(now),
            })
            .collect()
    }

    pub fn stats(&self, now: DateTime<Utc>) -> QueueStats {
        let mut stats = QueueStats {
            expired_total: self.expired_total,
            dead_lettered_total: self.dead_lettered_total,
            ..QueueStats::default()
        };
        let mut oldest: Option<DateTime<Utc>> = None;
        for entry in self.entries.values() {
            match entry.state(now) {
                MessageState::Expired => continue,
                MessageState::Visible => stats.visible += 1,
                MessageState::InFlight { .. } => stats.in_flight += 1,
                MessageState::Delayed { .. } => stats.delayed += 1,
            }
            let sent = entry.message.sent_at;
            oldest = Some(oldest.map_or(sent, |o| o.min(sent)));
        }
        stats.oldest_age_seconds = oldest.map(|o| (now - o).num_seconds().max(0) as u64);
        stats
    }

    /// Removes and returns every message past the retention period, counting them in
    /// `expired_total`, so the caller can log each one.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Vec<Message> {
        let keys: Vec<u64> = self
            .by_expiry
            .range(..=(now, u64::MAX))
            .map(|(_, k)| *k)
            .collect();
        let expired: Vec<Message> = keys.into_iter().filter_map(|k| self.remove(k)).collect();
        self.expired_total += expired.len() as u64;
        expired
    }

    /// The earliest moment after `now` at which something changes by itself: a delay or
    /// visibility timeout ends, or a message expires (`now` if one already has).
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let expiry = self.by_expiry.first().map(|(t, _)| (*t).max(now));
        let wakeup = self
            .by_visible
            .range((now, u64::MAX)..)
            .find(|(t, _)| *t > now)
            .map(|(t, _)| *t);
        match (expiry, wakeup) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Work for drain: undelivered visible messages now, delayed and in-flight ones later.
    /// Walks the messages a receive at `now` may hand out, in delivery order, calling
    /// `visit(key, receive_count)` until it returns false. FIFO: a group with a message in
    /// flight is locked, and a group whose next message is still delayed is blocked
    /// behind it, so nothing later in the group jumps the queue. Standard: whatever is
    /// visible, earliest-visible first.
    fn eligible(&self, now: DateTime<Utc>, mut visit: impl FnMut(u64, u32) -> bool) {
        let mut blocked: HashSet<&str> = HashSet::new();
        if self.config.fifo {
            for (_, key) in self.by_visible.range((now, u64::MAX)..) {
                let Some(entry) = self.entries.get(key) else {
                    continue;
                };
                if let (MessageState::InFlight { .. }, Some(g)) =
                    (entry.state(now), &entry.message.group_id)
                {
                    blocked.insert(g.as_str());
                }
            }
        }
        let candidates: Box<dyn Iterator<Item = u64> + '_> = if self.config.fifo {
            Box::new(self.entries.keys().copied())
        } else {
            Box::new(
                self.by_visible
                    .range(..=(now, u64::MAX))
                    .map(|(_, key)| *key),
            )
        };
        for key in candidates {
            let Some(entry) = self.entries.get(&key) else {
                continue;
            };
            let state = entry.state(now);
            if state == MessageState::Expired {
                continue;
            }
            if self.config.fifo {
                let group = entry.message.group_id.as_deref().unwrap_or_default();
                if blocked.contains(group) {
                    continue;
                }
                if state != MessageState::Visible {
                    blocked.insert(group);
                    continue;
                }
            } else if state != MessageState::Visible {
                continue;
            }
            if !visit(key, entry.message.receive_count) {
                return;
            }
        }
    }

    /// Up to `want` messages visible at `now`, and when the earliest of them became
    /// visible: what a consumer needs to decide whether to receive, without walking the
    /// whole queue (this is on every driver wake-up and every drain check).
    pub fn visible_window(
        &self,
        now: DateTime<Utc>,
        want: usize,
    ) -> (usize, Option<DateTime<Utc>>) {
        let (mut count, mut first) = (0, None::<DateTime<Utc>>);
        self.eligible(now, |key, _| {
            count += 1;
            if let Some(entry) = self.entries.get(&key) {
                first = Some(first.map_or(entry.visible_at, |f| f.min(entry.visible_at)));
            }
            count < want.max(1)
        });
        (count, first)
    }

    pub fn pending_counts(&self, now: DateTime<Utc>) -> PendingCounts {
        let mut pending = PendingCounts::default();
        for entry in self.entries.values() {
            match entry.state(now) {
                MessageState::Expired => continue,
                // A visible message that was delivered before failed and waits for a retry;
                // it is still due work.
                MessageState::Visible => pending.due_now += 1,
                MessageState::InFlight { .. } | MessageState::Delayed { .. } => {
                    pending.scheduled_later += 1
                }
            }
            let due = entry.visible_at;
            pending.next_due = Some(pending.next_due.map_or(due, |n| n.min(due)));
        }
        pending
    }

    /// Takes in a message moved from another queue (dead-lettering or redrive). It is
    /// visible at once and keeps its id, body, attributes, sent timestamp and receive count
    /// (the caller resets the count for a redrive). Retention keeps counting from the
    /// original send on a standard queue; a FIFO queue restarts it now and assigns a new
    /// sequence number (AWS "Setting-up dead-letter queue retention").
    pub fn enqueue_moved(&mut self, mut message: Message, now: DateTime<Utc>) {
        if self.config.fifo {
            message.retained_since = now;
            message.sequence_number = Some(self.take_sequence());
        }
        self.insert(message, now);
    }

    /// Test support: every index agrees with the entries.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        assert_eq!(self.by_visible.len(), self.entries.len());
        assert_eq!(self.by_expiry.len(), self.entries.len());
        assert_eq!(self.by_id.len(), self.entries.len());
        for (key, e) in &self.entries {
            assert!(self.by_visible.contains(&(e.visible_at, *key)));
            assert!(self.by_expiry.contains(&(e.expires_at, *key)));
            assert_eq!(self.by_id.get(&e.message.id), Some(key));
            if let Some(nonce) = &e.receipt {
                assert_eq!(self.by_handle.get(nonce), Some(key));
            }
        }
        assert_eq!(
            self.by_handle.len(),
            self.entries
                .values()
                .filter(|e| e.receipt.is_some())
                .count()
        );
    }

    /// Removes every message (for redrive or hot reload), in queue order.
    pub(crate) fn take_all(&mut self) -> Vec<Message> {
        let keys: Vec<u64> = self.entries.keys().copied().collect();
        keys.into_iter().filter_map(|k| self.remove(k)).collect()
    }
}

#[path = "image.rs"]
pub mod image;

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
