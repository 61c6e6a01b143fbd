//! Queues made, changed and removed at run time: SQS's CreateQueue, SetQueueAttributes,
//! DeleteQueue, tags, and the attribute view GetQueueAttributes answers.
//!
//! Queues from the manifest and queues made through an API are the same [`Queue`]s in the
//! same [`Queues`]; what only the API knows about a queue (when it was made and last
//! changed, its tags, attributes the sandbox stores but does not act on such as `Policy`)
//! sits beside it in a [`QueueMeta`]. A queue the API created is kept across hot reloads
//! (the manifest does not know it), unless the manifest comes to declare the same name.
//!
//! Attributes are SQS's names and string values; translating them here, next to the
//! configuration they set, keeps one meaning for each (the AWS front end only carries them).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sandbox_ops::aws::{resource_name, ACCOUNT, REGION};

use super::broker::{Error, Queues};
use super::queue::{ConfigError, Queue, QueueConfig, MAX_DELAY, MAX_VISIBILITY};

/// What the sandbox knows of a queue beyond its configuration and messages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueMeta {
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub tags: BTreeMap<String, String>,
    /// Attributes stored and reported but not acted on (`Policy`, `KmsMasterKeyId`, …),
    /// and `ReceiveMessageWaitTimeSeconds`, which receivers read.
    pub stored: BTreeMap<String, String>,
    /// Made through an API rather than declared in the manifest.
    pub from_api: bool,
}

/// Why an administrative call changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Queue(#[from] Error),
    #[error(
        "A queue already exists with the same name and a different value for attribute {attribute}"
    )]
    NameExists { attribute: String },
    #[error("{0}")]
    InvalidName(String),
    #[error("Unknown Attribute {0}.")]
    InvalidAttributeName(String),
    #[error("Invalid value for the parameter {name}. Reason: {problem}")]
    InvalidAttributeValue { name: String, problem: String },
    #[error("{0}")]
    Config(#[from] ConfigError),
}

/// Attributes SQS accepts and the sandbox keeps as given, without acting on them.
const STORED: [&str; 8] = [
    "Policy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "ReceiveMessageWaitTimeSeconds",
];

/// Longest time `ReceiveMessage` may wait for a message.
pub const MAX_WAIT: Duration = Duration::from_secs(20);

impl Queues {
    /// What the API knows of a queue beyond its configuration.
    pub fn meta(&self, name: &str) -> Option<&QueueMeta> {
        self.meta.get(name)
    }

    /// Gives every queue that has none a [`QueueMeta`] made at `now` (after start and
    /// after a reload added queues), and forgets the meta of queues that are gone.
    pub fn stamp(&mut self, now: DateTime<Utc>) {
        let names = self.names();
        self.meta.retain(|name, _| names.contains(name));
        for name in names {
            self.meta.entry(name).or_insert_with(|| QueueMeta {
                created: now,
                modified: now,
                tags: BTreeMap::new(),
                stored: BTreeMap::new(),
                from_api: false,
            });
        }
    }

    /// `CreateQueue`: makes the queue, or, when it exists with the same attributes,
    /// changes nothing (SQS's idempotence). Returns whether it was made.
    pub fn create(
        &mut self,
        name: &str,
        attributes: &BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<bool, AdminError> {
        check_name(name, attributes)?;
        if let Ok(existing) = self.get(name) {
            let current = self.attributes(name, now)?;
            for (key, value) in attributes {
                let same = current.get(key).is_some_and(|v| same_value(key, v, value))
                    || (!current.contains_key(key) && is_default(key, value));
                if !same {
                    return Err(AdminError::NameExists {
                        attribute: key.clone(),
                    });
                }
            }
            let _ = existing;
            return Ok(false);
        }
        let mut config = QueueConfig::new(name);
        config.fifo = name.ends_with(".fifo");
        let mut stored = BTreeMap::new();
        self.apply(&mut config, &mut stored, attributes, true)?;
        let queue = Queue::new(config)?;
        self.insert(queue);
        self.meta.insert(
            name.to_string(),
            QueueMeta {
                created: now,
                modified: now,
                tags,
                stored,
                from_api: true,
            },
        );
        Ok(true)
    }

    /// `DeleteQueue`: the queue and its messages are gone. Returns how many it held.
    pub fn delete_queue(&mut self, name: &str) -> Result<usize, Error> {
        let held = self.get(name)?.len();
        self.remove(name);
        self.meta.remove(name);
        Ok(held)
    }

    /// `SetQueueAttributes`: every attribute is checked before any applies.
    pub fn set_attributes(
        &mut self,
        name: &str,
        attributes: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<(), AdminError> {
        let mut config = self.get(name)?.config().clone();
        let mut stored = self
            .meta
            .get(name)
            .map(|m| m.stored.clone())
            .unwrap_or_default();
        self.apply(&mut config, &mut stored, attributes, false)?;
        self.reconfigure_one(name, config)?;
        let meta = self.meta_mut(name, now);
        meta.stored = stored;
        meta.modified = now;
        Ok(())
    }

    /// Every attribute GetQueueAttributes reports, by SQS's names.
    pub fn attributes(
        &self,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<String, String>, Error> {
        let queue = self.get(name)?;
        let config = queue.config();
        let stats = queue.stats(now);
        let meta = self.meta.get(name);
        let mut out = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            out.insert(k.to_string(), v);
        };
        put(
            "QueueArn",
            sandbox_ops::aws::queue_arn(name, REGION, ACCOUNT),
        );
        put("ApproximateNumberOfMessages", stats.visible.to_string());
        put(
            "ApproximateNumberOfMessagesNotVisible",
            stats.in_flight.to_string(),
        );
        put(
            "ApproximateNumberOfMessagesDelayed",
            stats.delayed.to_string(),
        );
        let created = meta.map_or(now, |m| m.created).timestamp();
        let modified = meta.map_or(now, |m| m.modified).timestamp();
        put("CreatedTimestamp", created.to_string());
        put("LastModifiedTimestamp", modified.to_string());
        put(
            "VisibilityTimeout",
            config.visibility_timeout.as_secs().to_string(),
        );
        put("MaximumMessageSize", config.max_message_size.to_string());
        put(
            "MessageRetentionPeriod",
            config.retention.as_secs().to_string(),
        );
        put("DelaySeconds", config.delay.as_secs().to_string());
        put("ReceiveMessageWaitTimeSeconds", "0".into());
        put("SqsManagedSseEnabled", "true".into());
        if let Some((dlq, max)) = &config.dead_letter {
            let arn = sandbox_ops::aws::queue_arn(dlq, REGION, ACCOUNT);
            put(
                "RedrivePolicy",
                serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max}).to_string(),
            );
        }
        if config.fifo {
            put("FifoQueue", "true".into());
            put(
                "ContentBasedDeduplication",
                config.content_based_deduplication.to_string(),
            );
            put("DeduplicationScope", "queue".into());
            put("FifoThroughputLimit", "perQueue".into());
        }
        for (k, v) in meta.map(|m| &m.stored).into_iter().flatten() {
            out.insert(k.clone(), v.clone());
        }
        Ok(out)
    }

    /// How long `ReceiveMessage` waits by default (`ReceiveMessageWaitTimeSeconds`).
    pub fn receive_wait(&self, name: &str) -> Duration {
        self.meta
            .get(name)
            .and_then(|m| m.stored.get("ReceiveMessageWaitTimeSeconds"))
            .and_then(|v| v.parse().ok())
            .map_or(Duration::ZERO, Duration::from_secs)
    }

    pub fn tag(
        &mut self,
        name: &str,
        tags: BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.get(name)?;
        self.meta_mut(name, now).tags.extend(tags);
        Ok(())
    }

    pub fn untag(&mut self, name: &str, keys: &[String], now: DateTime<Utc>) -> Result<(), Error> {
        self.get(name)?;
        let meta = self.meta_mut(name, now);
        for key in keys {
            meta.tags.remove(key);
        }
        Ok(())
    }

    /// Queues whose redrive policy names `dlq` (`ListDeadLetterSourceQueues`).
    pub fn dead_letter_sources(&self, dlq: &str) -> Result<Vec<String>, Error> {
        self.get(dlq)?;
        Ok(self
            .names()
            .into_iter()
            .filter(|name| {
                self.get(name).is_ok_and(|q| {
                    q.config()
                        .dead_letter
                        .as_ref()
                        .is_some_and(|(d, _)| d == dlq)
                })
            })
            .collect())
    }

    fn meta_mut(&mut self, name: &str, now: DateTime<Utc>) -> &mut QueueMeta {
        self.meta
            .entry(name.to_string())
            .or_insert_with(|| QueueMeta {
                created: now,
                modified: now,
                tags: BTreeMap::new(),
                stored: BTreeMap::new(),
                from_api: false,
            })
    }

    /// Applies SQS attributes to a configuration; `creating` allows `FifoQueue`.
    fn apply(
        &self,
        config: &mut QueueConfig,
        stored: &mut BTreeMap<String, String>,
        attributes: &BTreeMap<String, String>,
        creating: bool,
    ) -> Result<(), AdminError> {
        for (key, value) in attributes {
            let invalid = |problem: &str| AdminError::InvalidAttributeValue {
                name: key.clone(),
                problem: problem.to_string(),
            };
            let seconds = |max: u64, min: u64| -> Result<Duration, AdminError> {
                value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .map(Duration::from_secs)
                    .ok_or_else(|| invalid(&format!("must be a whole number from {min} to {max}")))
            };
            match key.as_str() {
                "DelaySeconds" => config.delay = seconds(MAX_DELAY.as_secs(), 0)?,
                "VisibilityTimeout" => {
                    config.visibility_timeout = seconds(MAX_VISIBILITY.as_secs(), 0)?
                }
                "MessageRetentionPeriod" => config.retention = seconds(1_209_600, 60)?,
                "MaximumMessageSize" => {
                    config.max_message_size = seconds(1_048_576, 1024)?.as_secs() as usize
                }
                "ReceiveMessageWaitTimeSeconds" => {
                    seconds(MAX_WAIT.as_secs(), 0)?;
                    stored.insert(key.clone(), value.trim().to_string());
                }
                "RedrivePolicy" if value.trim().is_empty() => config.dead_letter = None,
                "RedrivePolicy" => config.dead_letter = Some(self.redrive_policy(value, config)?),
                "FifoQueue" => {
                    let fifo = value.eq_ignore_ascii_case("true");
                    if !creating && fifo != config.fifo {
                        return Err(invalid("a queue cannot change between standard and FIFO"));
                    }
                    if fifo != config.fifo {
                        return Err(AdminError::InvalidName(
                            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.".into(),
                        ));
                    }
                }
                "ContentBasedDeduplication" => {
                    if !config.fifo {
                        return Err(AdminError::InvalidAttributeName(key.clone()));
                    }
                    config.content_based_deduplication = value.eq_ignore_ascii_case("true");
                }
                k if STORED.contains(&k) => {
                    stored.insert(key.clone(), value.clone());
                }
                _ => return Err(AdminError::InvalidAttributeName(key.clone())),
            }
        }
        Ok(())
    }

    /// `{"deadLetterTargetArn": "arn:…:dlq", "maxReceiveCount": 5}` (the count may be a
    /// string, as the console writes it).
    fn redrive_policy(
        &self,
        value: &str,
        config: &QueueConfig,
    ) -> Result<(String, u32), AdminError> {
        let invalid = |problem: &str| AdminError::InvalidAttributeValue {
            name: "RedrivePolicy".into(),
            problem: problem.to_string(),
        };
        let policy: serde_json::Value =
            serde_json::from_str(value).map_err(|_| invalid("the policy is not JSON"))?;
        let arn = policy["deadLetterTargetArn"]
            .as_str()
            .ok_or_else(|| invalid("deadLetterTargetArn is missing"))?;
        let max = match &policy["maxReceiveCount"] {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| invalid("maxReceiveCount must be a whole number from 1 to 1000"))?;
        let dlq = resource_name(arn).to_string();
        let target = self
            .get(&dlq)
            .map_err(|_| invalid("Dead letter target does not exist."))?;
        if target.config().fifo != config.fifo {
            return Err(invalid(
                "a FIFO queue needs a FIFO dead-letter queue and a standard queue a standard one",
            ));
        }
        Ok((dlq, max as u32))
    }
}

/// SQS's queue name rules: 1–80 letters, digits, `-` and `_`, and `.fifo` exactly for
/// FIFO queues.
fn check_name(name: &str, attributes: &BTreeMap<String, String>) -> Result<(), AdminError> {
    let fifo_asked = attributes
        .get("FifoQueue")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    let valid = !stem.is_empty()
        && name.len() <= 80
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid || fifo_asked != name.ends_with(".fifo") {
        let what = if fifo_asked || name.ends_with(".fifo") {
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
        } else {
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        };
        return Err(AdminError::InvalidName(what.into()));
    }
    Ok(())
}

/// Two spellings of one attribute value (`true`/`True`, a re-serialised policy).
fn same_value(key: &str, current: &str, given: &str) -> bool {
    if current == given
        || current.eq_ignore_ascii_case(given)
            && matches!(given, "true" | "false" | "True" | "False")
    {
        return true;
    }
    if key == "RedrivePolicy" {
        let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
        let (a, b) = (parse(current), parse(given));
        return a.is_some()
            && b.is_some()
            && a.as_ref().map(|a| a["deadLetterTargetArn"].clone())
                == b.as_ref().map(|b| b["deadLetterTargetArn"].clone())
            && a.map(|a| {
                a["maxReceiveCount"]
                    .to_string()
                    .trim_matches('"')
                    .to_string()
            }) == b.map(|b| {
                b["maxReceiveCount"]
                    .to_string()
                    .trim_matches('"')
                    .to_string()
            });
    }
    false
}

/// An attribute given at its default is the same as not given.
fn is_default(key: &str, value: &str) -> bool {
    matches!(
        (key, value),
        ("ReceiveMessageWaitTimeSeconds", "0") | ("ContentBasedDeduplication", "false")
    )
}

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;
