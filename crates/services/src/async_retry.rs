//! Lambda's asynchronous invocation, as SNS topics and EventBridge rules use it.
//!
//! Both services hand their event to Lambda with `InvocationType=Event`, so a failing handler
//! is retried by Lambda's async queue, not by the sender: "by default Lambda attempts to run
//! it two more times, with a one-minute wait between the first two attempts, and two minutes
//! between the second and third attempts" (Lambda developer guide, "How Lambda handles
//! errors and retries with asynchronous invocation"). [`RetryPolicy::default`] is exactly
//! that, on the sandbox clock, so a test moves the clock 3 minutes to see all three attempts.
//!
//! The queue is generic over a tag `T` the owning service uses to find its subscription or
//! rule target again when a delivery settles.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// How often and how long to wait before invoking a function again after it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// `retry_delays[i]` is the wait between attempt `i + 1` failing and attempt `i + 2`.
    /// Empty means no retries.
    pub retry_delays: Vec<Duration>,
}

impl Default for RetryPolicy {
    /// Lambda's async default: 3 attempts, retried after 1 minute and then 2 minutes.
    fn default() -> Self {
        RetryPolicy {
            retry_delays: vec![Duration::from_secs(60), Duration::from_secs(120)],
        }
    }
}

impl RetryPolicy {
    /// Attempts in total, the first one included.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.retry_delays.len())
            .unwrap_or(u32::MAX - 1)
            .saturating_add(1)
    }
}

/// One invocation the caller should make now (asynchronously, as Lambda would).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FunctionDelivery {
    /// Pass back to `complete` with the outcome.
    pub id: u64,
    pub function: String,
    /// The exact event JSON the handler receives.
    #[serde(skip)]
    pub event: Vec<u8>,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// Why `complete` refused an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompleteError {
    #[error("there is no outstanding function delivery {id} (it was already completed, or never existed)")]
    Unknown { id: u64 },
    #[error("function delivery {id} was not handed out by due_deliveries, so it cannot be completed yet")]
    NotInFlight { id: u64 },
}

/// What became of a delivery after `complete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled<T> {
    /// The handler succeeded; the delivery is done.
    Delivered { tag: T, attempts: u32 },
    /// It failed and will be handed out again at `at`.
    Retrying {
        tag: T,
        attempts: u32,
        at: DateTime<Utc>,
    },
    /// It failed its last attempt; the owner dead-letters or records it.
    Exhausted {
        tag: T,
        attempts: u32,
        event: Vec<u8>,
        function: String,
    },
}

#[derive(Debug, Clone)]
struct Entry<T> {
    function: String,
    event: Vec<u8>,
    tag: T,
    /// Attempts started so far.
    attempts: u32,
    due_at: DateTime<Utc>,
    in_flight: bool,
}

/// Outstanding async invocations: waiting for their first attempt, in flight, or waiting
/// for a retry.
#[derive(Debug, Clone)]
pub struct Invocations<T> {
    policy: RetryPolicy,
    next_id: u64,
    entries: BTreeMap<u64, Entry<T>>,
    /// Deliveries touched since a store last looked; only kept when a store asked
    /// (`--state`, see [`image`]).
    journal: Option<std::collections::BTreeSet<u64>>,
}

impl<T: Clone> Default for Invocations<T> {
    fn default() -> Self {
        Invocations::new(RetryPolicy::default())
    }
}

/// Counts for drain reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvocationCounts {
    pub due_now: u64,
    pub scheduled_later: u64,
    pub in_flight: u64,
    pub next_due: Option<DateTime<Utc>>,
}

impl<T: Clone> Invocations<T> {
    pub fn new(policy: RetryPolicy) -> Self {
        Invocations {
            policy,
            next_id: 1,
            entries: BTreeMap::new(),
            journal: None,
        }
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Queues a first attempt, due at `now`; returns the delivery id.
    pub fn push(&mut self, function: String, event: Vec<u8>, tag: T, now: DateTime<Utc>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.touch(id);
        self.entries.insert(
            id,
            Entry {
                function,
                event,
                tag,
                attempts: 0,
                due_at: now,
                in_flight: false,
            },
        );
        id
    }

    /// Hands out every delivery due at `now`, oldest due first (ties in push order), and
    /// marks them in flight until `complete`.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<(FunctionDelivery, T)> {
        let mut due: Vec<(DateTime<Utc>, u64)> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.in_flight && e.due_at <= now)
            .map(|(id, e)| (e.due_at, *id))
            .collect();
        due.sort();
        let mut out = Vec::with_capacity(due.len());
        for (_, id) in due {
            if let Some(journal) = &mut self.journal {
                journal.insert(id);
            }
            if let Some(e) = self.entries.get_mut(&id) {
                e.in_flight = true;
                e.attempts += 1;
                out.push((
                    FunctionDelivery {
                        id,
                        function: e.function.clone(),
                        event: e.event.clone(),
                        attempt: e.attempts,
                    },
                    e.tag.clone(),
                ));
            }
        }
        out
    }

    /// Records the outcome of a handed-out delivery.
    pub fn complete(
        &mut self,
        id: u64,
        success: bool,
        now: DateTime<Utc>,
    ) -> Result<Settled<T>, CompleteError> {
        self.touch(id);
        let entry = self
            .entries
            .get_mut(&id)
            .ok_or(CompleteError::Unknown { id })?;
        if !entry.in_flight {
            return Err(CompleteError::NotInFlight { id });
        }
        let attempts = entry.attempts;
        if !success && attempts < self.policy.max_attempts() {
            let wait = self
                .policy
                .retry_delays
                .get(attempts.saturating_sub(1) as usize)
                .copied()
                .unwrap_or_default();
            entry.in_flight = false;
            entry.due_at = now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX);
            return Ok(Settled::Retrying {
                tag: entry.tag.clone(),
                attempts,
                at: entry.due_at,
            });
        }
        let e = self
            .entries
            .remove(&id)
            .ok_or(CompleteError::Unknown { id })?;
        Ok(if success {
            Settled::Delivered {
                tag: e.tag,
                attempts,
            }
        } else {
            Settled::Exhausted {
                tag: e.tag,
                attempts,
                event: e.event,
                function: e.function,
            }
        })
    }

    /// Ends a handed-out delivery without retries, whatever its attempts (Lambda's
    /// recursive loop detection stops it): it comes back as [`Settled::Exhausted`].
    pub fn abandon(&mut self, id: u64) -> Result<Settled<T>, CompleteError> {
        match self.entries.get(&id) {
            None => return Err(CompleteError::Unknown { id }),
            Some(e) if !e.in_flight => return Err(CompleteError::NotInFlight { id }),
            Some(_) => {}
        }
        self.touch(id);
        let e = self
            .entries
            .remove(&id)
            .ok_or(CompleteError::Unknown { id })?;
        Ok(Settled::Exhausted {
            tag: e.tag,
            attempts: e.attempts,
            event: e.event,
            function: e.function,
        })
    }

    fn touch(&mut self, id: u64) {
        if let Some(journal) = &mut self.journal {
            journal.insert(id);
        }
    }

    /// The tag of an outstanding delivery (for the caller's log lines).
    pub fn tag(&self, id: u64) -> Option<&T> {
        self.entries.get(&id).map(|e| &e.tag)
    }

    /// Tags of outstanding deliveries, for per-target "retrying" counts: `(tag, attempts
    /// made, in flight)`.
    pub fn outstanding(&self) -> impl Iterator<Item = (&T, u32, bool)> {
        self.entries
            .values()
            .map(|e| (&e.tag, e.attempts, e.in_flight))
    }

    /// Drops every outstanding delivery whose tag fails `keep` (hot reload).
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) -> usize {
        let before = self.entries.len();
        let journal = &mut self.journal;
        self.entries.retain(|id, e| {
            let kept = keep(&e.tag);
            if let (false, Some(journal)) = (kept, journal.as_mut()) {
                journal.insert(*id);
            }
            kept
        });
        before - self.entries.len()
    }

    /// Counts for drain, restricted to the tags `select` accepts.
    pub fn counts(&self, now: DateTime<Utc>, select: impl Fn(&T) -> bool) -> InvocationCounts {
        let mut c = InvocationCounts::default();
        for e in self.entries.values().filter(|e| select(&e.tag)) {
            if e.in_flight {
                c.in_flight += 1;
                continue;
            }
            if e.due_at <= now {
                c.due_now += 1;
            } else {
                c.scheduled_later += 1;
            }
            c.next_due = Some(c.next_due.map_or(e.due_at, |n| n.min(e.due_at)));
        }
        c
    }

    /// When the next delivery becomes due (`now` if one already is); in-flight ones wait
    /// for `complete`, not for the clock.
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.entries
            .values()
            .filter(|e| !e.in_flight)
            .map(|e| e.due_at.max(now))
            .min()
    }
}

#[path = "async_retry/image.rs"]
pub mod image;
