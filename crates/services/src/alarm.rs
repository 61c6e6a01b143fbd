//! Alarms: rules over the services' numbers, evaluated on the sandbox clock.
//!
//! Pure like every service here: [`Alarms::evaluate`] takes the numbers the services
//! showed a moment ago ([`Facts`]) and `now`, moves each alarm between `ok` and `alarm`,
//! and returns the transitions for the caller to log. The function error log
//! ([`Alarms::record_error`]) keeps error times on the sandbox clock, so "5 errors in 5
//! minutes" means sandbox minutes, and a manual clock moved 5 minutes on clears it.
//! The manifest declares the rules ([`Watch`]); a driver in `sandbox-triggers` gathers
//! the facts and calls in.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What one alarm watches, and its threshold (reached means `alarm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "watch", rename_all = "camelCase")]
pub enum Watch {
    /// A queue's oldest message is at least `seconds` old.
    #[serde(rename_all = "camelCase")]
    OldestAge { queue: String, seconds: u64 },
    /// A queue's dead-letter queue holds at least `count` messages.
    #[serde(rename_all = "camelCase")]
    DeadLetters {
        queue: String,
        dead_letter_queue: String,
        count: usize,
    },
    /// A stream consumer is at least `records` records behind.
    #[serde(rename_all = "camelCase")]
    ConsumerLag {
        stream: String,
        consumer: String,
        records: usize,
    },
    /// A stream consumer's oldest unprocessed record is at least `seconds` old.
    #[serde(rename_all = "camelCase")]
    IteratorAge {
        stream: String,
        consumer: String,
        seconds: u64,
    },
    /// A function failed at least `count` times within the last `period`.
    #[serde(rename_all = "camelCase")]
    Errors {
        function: String,
        count: u64,
        #[serde(serialize_with = "seconds")]
        period: Duration,
    },
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

impl Watch {
    /// The alarm's kind as the manifest spells it (`oldestAge`, `deadLetters`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Watch::OldestAge { .. } => "oldestAge",
            Watch::DeadLetters { .. } => "deadLetters",
            Watch::ConsumerLag { .. } => "lag",
            Watch::IteratorAge { .. } => "iteratorAge",
            Watch::Errors { .. } => "errors",
        }
    }

    /// What it watches: `queue/orders`, `stream/clicks/audit`, `function/queues/orders`.
    pub fn resource(&self) -> String {
        match self {
            Watch::OldestAge { queue, .. } | Watch::DeadLetters { queue, .. } => {
                format!("queue/{queue}")
            }
            Watch::ConsumerLag {
                stream, consumer, ..
            }
            | Watch::IteratorAge {
                stream, consumer, ..
            } => format!("stream/{stream}/{consumer}"),
            Watch::Errors { function, .. } => format!("function/{function}"),
        }
    }

    /// One alarm's name: resource and kind (`queue/orders oldestAge`).
    pub fn id(&self) -> String {
        format!("{} {}", self.resource(), self.kind())
    }

    /// The watched number now, and the sentence saying how it compares.
    fn measure(&self, facts: &Facts, errors: &ErrorLog, now: DateTime<Utc>) -> (bool, String) {
        match self {
            Watch::OldestAge { queue, seconds } => {
                match facts.queues.get(queue).and_then(|q| q.oldest_age_seconds) {
                    Some(age) => (
                        age >= *seconds,
                        format!("oldest message is {age}s old (threshold {seconds}s)"),
                    ),
                    None => (false, format!("queue is empty (threshold {seconds}s)")),
                }
            }
            Watch::DeadLetters {
                dead_letter_queue,
                count,
                ..
            } => {
                let depth = facts.queues.get(dead_letter_queue).map_or(0, |q| q.depth);
                (
                    depth >= *count,
                    format!("dead-letter queue {dead_letter_queue} holds {depth} message(s) (threshold {count})"),
                )
            }
            Watch::ConsumerLag {
                stream,
                consumer,
                records,
            } => {
                let lag = facts
                    .consumers
                    .get(&(stream.clone(), consumer.clone()))
                    .map_or(0, |c| c.lag);
                (
                    lag >= *records,
                    format!("{lag} record(s) behind (threshold {records})"),
                )
            }
            Watch::IteratorAge {
                stream,
                consumer,
                seconds,
            } => {
                let age = facts
                    .consumers
                    .get(&(stream.clone(), consumer.clone()))
                    .and_then(|c| c.iterator_age_ms)
                    .map_or(0, |ms| ms / 1000);
                (
                    age >= *seconds,
                    format!("oldest unprocessed record is {age}s old (threshold {seconds}s)"),
                )
            }
            Watch::Errors {
                function,
                count,
                period,
            } => {
                let n = errors.count_since(function, now - chrono_delta(*period));
                (
                    n >= *count,
                    format!(
                        "{n} error(s) in the last {}s (threshold {count})",
                        period.as_secs()
                    ),
                )
            }
        }
    }
}

fn chrono_delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

/// One queue's numbers, as `QueueService::list` computes them.
#[derive(Debug, Clone, Default)]
pub struct QueueFacts {
    pub oldest_age_seconds: Option<u64>,
    /// Visible, in flight and delayed together.
    pub depth: usize,
}

/// One stream consumer's numbers.
#[derive(Debug, Clone, Default)]
pub struct ConsumerFacts {
    pub lag: usize,
    /// How old the oldest record it has not processed is, when it lags.
    pub iterator_age_ms: Option<u64>,
}

/// The services' numbers at one moment.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub queues: HashMap<String, QueueFacts>,
    /// By (stream, consumer).
    pub consumers: HashMap<(String, String), ConsumerFacts>,
}

/// Function error times on the sandbox clock, kept as long as the longest period asks.
#[derive(Debug, Default)]
pub struct ErrorLog {
    by_function: HashMap<String, VecDeque<DateTime<Utc>>>,
}

impl ErrorLog {
    fn record(&mut self, function: &str, at: DateTime<Utc>) {
        self.by_function
            .entry(function.to_string())
            .or_default()
            .push_back(at);
    }

    /// Errors after `since` (a period is `(now - period, now]`).
    fn count_since(&self, function: &str, since: DateTime<Utc>) -> u64 {
        self.by_function.get(function).map_or(0, |times| {
            times.iter().filter(|t| **t > since).count() as u64
        })
    }

    fn forget_before(&mut self, before: DateTime<Utc>) {
        self.by_function.retain(|_, times| {
            while times.front().is_some_and(|t| *t <= before) {
                times.pop_front();
            }
            !times.is_empty()
        });
    }
}

/// `ok` or `alarm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    Alarm,
}

/// One alarm as `GET /_sandbox/alarms` and the metrics show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmView {
    /// `queue/orders oldestAge`.
    pub name: String,
    pub alarm: &'static str,
    pub resource: String,
    pub state: State,
    /// Why it is in this state, with the number and the threshold.
    pub reason: String,
    /// When it entered this state (sandbox clock, RFC 3339).
    pub since: String,
    /// The rule, as declared.
    pub rule: Watch,
}

/// A transition, for one log line.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub name: String,
    pub state: State,
    pub reason: String,
    /// When (sandbox clock).
    pub at: DateTime<Utc>,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.state {
            State::Alarm => write!(f, "ALARM {}: {}", self.name, self.reason),
            State::Ok => write!(f, "alarm cleared {}: {}", self.name, self.reason),
        }?;
        write!(f, " (sandbox time {})", crate::rfc3339_auto(self.at))
    }
}

#[derive(Debug, Clone)]
struct Tracked {
    watch: Watch,
    state: State,
    reason: String,
    since: DateTime<Utc>,
}

/// Every alarm's state, and the error log the `errors` rules read.
#[derive(Debug, Default)]
pub struct Alarms {
    alarms: Vec<Tracked>,
    errors: ErrorLog,
}

impl Alarms {
    /// Alarms for `rules`, all `ok` since `now`.
    pub fn new(rules: Vec<Watch>, now: DateTime<Utc>) -> Alarms {
        let mut alarms = Alarms::default();
        alarms.set_rules(rules, now);
        alarms
    }

    /// Replaces the rules (a reload). An unchanged rule keeps its state and `since`; a
    /// new or changed one starts `ok` at `now`. Removed rules are forgotten silently.
    pub fn set_rules(&mut self, rules: Vec<Watch>, now: DateTime<Utc>) {
        let mut old = std::mem::take(&mut self.alarms);
        self.alarms = rules
            .into_iter()
            .map(|watch| match old.iter().position(|t| t.watch == watch) {
                Some(i) => old.swap_remove(i),
                None => Tracked {
                    watch,
                    state: State::Ok,
                    reason: "not evaluated yet".into(),
                    since: now,
                },
            })
            .collect();
    }

    /// Whether no alarm is declared (then nobody needs the services' numbers).
    pub fn is_empty(&self) -> bool {
        self.alarms.is_empty()
    }

    /// A function failed at `now` (sandbox clock).
    pub fn record_error(&mut self, function: &str, now: DateTime<Utc>) {
        if self
            .alarms
            .iter()
            .any(|t| matches!(&t.watch, Watch::Errors { function: f, .. } if f == function))
        {
            self.errors.record(function, now);
        }
    }

    /// Moves every alarm to the state `facts` and `now` put it in; the transitions.
    pub fn evaluate(&mut self, facts: &Facts, now: DateTime<Utc>) -> Vec<Change> {
        let longest = self
            .alarms
            .iter()
            .filter_map(|t| match t.watch {
                Watch::Errors { period, .. } => Some(period),
                _ => None,
            })
            .max()
            .unwrap_or_default();
        self.errors.forget_before(now - chrono_delta(longest));
        let mut changes = Vec::new();
        for tracked in &mut self.alarms {
            let (firing, reason) = tracked.watch.measure(facts, &self.errors, now);
            let state = if firing { State::Alarm } else { State::Ok };
            tracked.reason = reason;
            if state != tracked.state {
                tracked.state = state;
                tracked.since = now;
                changes.push(Change {
                    name: tracked.watch.id(),
                    state,
                    reason: tracked.reason.clone(),
                    at: now,
                });
            }
        }
        changes
    }

    /// Every alarm, in declaration order.
    pub fn list(&self) -> Vec<AlarmView> {
        self.alarms
            .iter()
            .map(|t| AlarmView {
                name: t.watch.id(),
                alarm: t.watch.kind(),
                resource: t.watch.resource(),
                state: t.state,
                reason: t.reason.clone(),
                since: crate::rfc3339_auto(t.since),
                rule: t.watch.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_900_000_000 + s, 0).unwrap()
    }

    fn queue(age: Option<u64>, depth: usize) -> QueueFacts {
        QueueFacts {
            oldest_age_seconds: age,
            depth,
        }
    }

    fn facts(queues: &[(&str, QueueFacts)]) -> Facts {
        Facts {
            queues: queues
                .iter()
                .map(|(n, q)| (n.to_string(), q.clone()))
                .collect(),
            consumers: HashMap::new(),
        }
    }

    #[test]
    fn oldest_age_fires_at_the_threshold_and_clears_when_the_queue_empties() {
        let watch = Watch::OldestAge {
            queue: "jobs".into(),
            seconds: 300,
        };
        let mut alarms = Alarms::new(vec![watch], t(0));
        assert!(alarms
            .evaluate(&facts(&[("jobs", queue(Some(299), 1))]), t(299))
            .is_empty());
        let fired = alarms.evaluate(&facts(&[("jobs", queue(Some(300), 1))]), t(300));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].state, State::Alarm);
        assert_eq!(
            fired[0].to_string(),
            "ALARM queue/jobs oldestAge: oldest message is 300s old (threshold 300s) (sandbox time 2030-03-17T17:51:40Z)"
        );
        let view = &alarms.list()[0];
        assert_eq!(
            (view.state, view.since.as_str()),
            (State::Alarm, "2030-03-17T17:51:40Z")
        );
        // Still firing: no new line, `since` kept.
        assert!(alarms
            .evaluate(&facts(&[("jobs", queue(Some(900), 1))]), t(900))
            .is_empty());
        assert_eq!(alarms.list()[0].since, "2030-03-17T17:51:40Z");
        let cleared = alarms.evaluate(&facts(&[("jobs", queue(None, 0))]), t(901));
        assert_eq!(cleared[0].state, State::Ok);
        assert_eq!(
            cleared[0].to_string(),
            "alarm cleared queue/jobs oldestAge: queue is empty (threshold 300s) (sandbox time 2030-03-17T18:01:41Z)"
        );
    }

    #[test]
    fn dead_letters_watch_the_dead_letter_queue_depth() {
        let watch = Watch::DeadLetters {
            queue: "jobs".into(),
            dead_letter_queue: "jobs-dlq".into(),
            count: 2,
        };
        let mut alarms = Alarms::new(vec![watch], t(0));
        assert!(alarms
            .evaluate(&facts(&[("jobs-dlq", queue(Some(1), 1))]), t(1))
            .is_empty());
        let fired = alarms.evaluate(&facts(&[("jobs-dlq", queue(Some(1), 2))]), t(2));
        assert_eq!(fired[0].name, "queue/jobs deadLetters");
        assert!(fired[0].reason.contains("jobs-dlq holds 2"));
        // A queue that vanished (deleted through the API) counts as empty.
        assert_eq!(alarms.evaluate(&facts(&[]), t(3))[0].state, State::Ok);
    }

    #[test]
    fn errors_count_within_the_period_on_the_sandbox_clock() {
        let watch = Watch::Errors {
            function: "queues/jobs".into(),
            count: 2,
            period: Duration::from_secs(300),
        };
        let mut alarms = Alarms::new(vec![watch], t(0));
        alarms.record_error("queues/jobs", t(10));
        alarms.record_error("other", t(10));
        assert!(alarms.evaluate(&Facts::default(), t(10)).is_empty());
        alarms.record_error("queues/jobs", t(200));
        assert_eq!(
            alarms.evaluate(&Facts::default(), t(200))[0].state,
            State::Alarm
        );
        // At 310 the first error is 300 s old: out of the period.
        let cleared = alarms.evaluate(&Facts::default(), t(310));
        assert_eq!(cleared[0].state, State::Ok);
        assert_eq!(
            cleared[0].reason,
            "1 error(s) in the last 300s (threshold 2)"
        );
    }

    #[test]
    fn consumer_lag_and_iterator_age() {
        let lag = Watch::ConsumerLag {
            stream: "clicks".into(),
            consumer: "audit".into(),
            records: 3,
        };
        let age = Watch::IteratorAge {
            stream: "clicks".into(),
            consumer: "audit".into(),
            seconds: 60,
        };
        let mut alarms = Alarms::new(vec![lag, age], t(0));
        let mut facts = Facts::default();
        facts.consumers.insert(
            ("clicks".into(), "audit".into()),
            ConsumerFacts {
                lag: 3,
                iterator_age_ms: Some(59_999),
            },
        );
        let changes = alarms.evaluate(&facts, t(1));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].name, "stream/clicks/audit lag");
    }

    #[test]
    fn reload_keeps_unchanged_alarms_state() {
        let watch = Watch::OldestAge {
            queue: "jobs".into(),
            seconds: 1,
        };
        let mut alarms = Alarms::new(vec![watch.clone()], t(0));
        alarms.evaluate(&facts(&[("jobs", queue(Some(5), 1))]), t(5));
        let other = Watch::OldestAge {
            queue: "other".into(),
            seconds: 1,
        };
        alarms.set_rules(vec![other, watch], t(9));
        let list = alarms.list();
        assert_eq!((list[0].state, list[1].state), (State::Ok, State::Alarm));
        assert_eq!(list[1].since, crate::rfc3339_auto(t(5)));
    }
}
