//! The recent-invocations log behind `GET /_sandbox/invocations`.
//!
//! A bounded ring buffer: a developer wants to see what just ran, and a long-running
//! sandbox must not grow without bound.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use sandbox_runtime::Failure;

use crate::Trigger;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Trap,
    Exit,
    Timeout,
    OutOfMemory,
    OutputTooLarge,
    MalformedOutput,
}

impl Outcome {
    pub fn from_result(result: &Result<Vec<u8>, Failure>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(Failure::Trap(_)) => Outcome::Trap,
            Err(Failure::Exit(_)) => Outcome::Exit,
            Err(Failure::Timeout(_)) => Outcome::Timeout,
            Err(Failure::OutOfMemory { .. }) => Outcome::OutOfMemory,
            Err(Failure::OutputTooLarge { .. }) => Outcome::OutputTooLarge,
            Err(Failure::MalformedOutput(_)) => Outcome::MalformedOutput,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationRecord {
    pub function: String,
    pub trigger: Trigger,
    pub request_id: String,
    pub outcome: Outcome,
    /// The failure's message, when the invocation failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: f64,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub logs: Vec<String>,
    /// The event the handler was given, as text ([`excerpt`]); the dashboard shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// What the handler answered, as text ([`excerpt`]), when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

/// The most of an event or response a record keeps: enough to read one, while a log of a
/// thousand records per function stays a few megabytes at worst.
pub const EXCERPT_BYTES: usize = 16 * 1024;

/// `bytes` as text for a record: UTF-8 (invalid sequences replaced), cut after
/// [`EXCERPT_BYTES`] with a note saying how much there was.
pub fn excerpt(bytes: &[u8]) -> String {
    if bytes.len() <= EXCERPT_BYTES {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut text = String::from_utf8_lossy(&bytes[..EXCERPT_BYTES]).into_owned();
    // A character cut in two reads as one replacement character at the end.
    if text.ends_with('\u{FFFD}') {
        text.pop();
    }
    text.push_str(&format!("… ({} bytes in all)", bytes.len()));
    text
}

/// Bounded per function, so a chatty schedule cannot push a rare function's last
/// invocations out of sight.
pub struct InvocationLog {
    capacity: usize,
    inner: Mutex<Records>,
    observers: RwLock<Vec<Observer>>,
}

/// Told of every invocation as it is recorded (metrics, alarms): the log keeps only the
/// newest, so whoever counts must count as they happen.
pub type Observer = Arc<dyn Fn(&InvocationRecord) + Send + Sync>;

#[derive(Default)]
struct Records {
    /// Sequence number of the next record; orders records across functions.
    next: u64,
    by_function: HashMap<String, VecDeque<(u64, InvocationRecord)>>,
}

impl InvocationLog {
    /// Keeps the newest `capacity` records of each function.
    pub fn new(capacity: usize) -> Self {
        InvocationLog {
            capacity,
            inner: Mutex::new(Records::default()),
            observers: RwLock::new(Vec::new()),
        }
    }

    /// Calls `observer` with every record pushed from now on.
    pub fn observe(&self, observer: Observer) {
        self.observers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(observer);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Records> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an invocation and tells the observers, except an HTTP invocation's: that one
    /// is final only once the server has mapped its output to a response (API Gateway's rules
    /// may find a clean exit's output unusable, see [`InvocationLog::amend`]), so the server
    /// tells them with [`InvocationLog::settle`].
    pub fn push(&self, record: InvocationRecord) {
        if record.trigger != Trigger::Http {
            self.notify(&record);
        }
        let mut inner = self.lock();
        let seq = inner.next;
        inner.next += 1;
        let records = inner
            .by_function
            .entry(record.function.clone())
            .or_default();
        if records.len() == self.capacity {
            records.pop_front();
        }
        records.push_back((seq, record));
    }

    fn notify(&self, record: &InvocationRecord) {
        for observer in self
            .observers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            observer(record);
        }
    }

    /// Tells the observers of an HTTP invocation, now final (amended or not). Its record is
    /// among the newest of its function's, so the search from the back is short.
    pub fn settle(&self, function: &str, request_id: &str) {
        let record = self.lock().by_function.get(function).and_then(|records| {
            records
                .iter()
                .rev()
                .find(|(_, r)| r.request_id == request_id)
                .map(|(_, r)| r.clone())
        });
        if let Some(record) = record {
            self.notify(&record);
        }
    }

    /// Marks an invocation failed after the fact: a trigger found its output unusable
    /// (for example not an API Gateway response) although the handler exited cleanly.
    pub fn amend(&self, request_id: &str, failure: &Failure) {
        let mut inner = self.lock();
        let found = inner.by_function.values_mut().find_map(|records| {
            records
                .iter_mut()
                .rev()
                .find(|(_, r)| r.request_id == request_id)
        });
        if let Some((_, record)) = found {
            record.outcome = Outcome::from_result(&Err(failure.clone()));
            record.error = Some(failure.to_string());
        }
    }

    /// Newest first, optionally only one function's.
    pub fn recent(&self, function: Option<&str>, limit: usize) -> Vec<InvocationRecord> {
        let inner = self.lock();
        match function {
            Some(function) => inner
                .by_function
                .get(function)
                .map(|records| {
                    records
                        .iter()
                        .rev()
                        .take(limit)
                        .map(|(_, r)| r.clone())
                        .collect()
                })
                .unwrap_or_default(),
            None => {
                let mut all: Vec<&(u64, InvocationRecord)> =
                    inner.by_function.values().flatten().collect();
                all.sort_unstable_by_key(|(seq, _)| std::cmp::Reverse(*seq));
                all.into_iter()
                    .take(limit)
                    .map(|(_, r)| r.clone())
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(function: &str, n: usize) -> InvocationRecord {
        InvocationRecord {
            function: function.into(),
            trigger: Trigger::Manual,
            request_id: n.to_string(),
            outcome: Outcome::Success,
            error: None,
            duration_ms: 1.0,
            started_at: chrono::Utc::now(),
            logs: vec![],
            event: None,
            response: None,
        }
    }

    #[test]
    fn http_invocations_are_told_once_settled_as_amended() {
        let log = InvocationLog::new(10);
        let told = Arc::new(Mutex::new(Vec::new()));
        let seen = told.clone();
        log.observe(Arc::new(move |r: &InvocationRecord| {
            seen.lock()
                .unwrap()
                .push((r.request_id.clone(), r.outcome.clone()))
        }));
        log.push(record("a", 1));
        let mut http = record("a", 2);
        http.trigger = Trigger::Http;
        log.push(http);
        assert_eq!(told.lock().unwrap().len(), 1, "not final yet");
        log.amend("2", &Failure::MalformedOutput("not a response".into()));
        log.settle("a", "2");
        assert_eq!(
            *told.lock().unwrap(),
            [
                ("1".to_string(), Outcome::Success),
                ("2".to_string(), Outcome::MalformedOutput)
            ]
        );
    }

    #[test]
    fn long_events_are_cut_with_a_note() {
        assert_eq!(excerpt(b"{\"a\":1}"), "{\"a\":1}");
        // `a` first: the cut falls inside an `é`.
        let long = format!("a{}", "é".repeat(EXCERPT_BYTES));
        let cut = excerpt(long.as_bytes());
        assert!(cut.ends_with(&format!("é… ({} bytes in all)", long.len())));
        assert!(!cut.contains('\u{FFFD}'));
        assert!(cut.len() < EXCERPT_BYTES + 40);
    }

    #[test]
    fn keeps_the_newest_first_and_bounded() {
        let log = InvocationLog::new(2);
        for n in 0..5 {
            log.push(record(if n % 2 == 0 { "a" } else { "b" }, n));
        }
        let ids: Vec<_> = log
            .recent(None, 10)
            .into_iter()
            .map(|r| r.request_id)
            .collect();
        assert_eq!(
            ids,
            ["4", "3", "2", "1"],
            "two per function, newest first across functions"
        );
        let a: Vec<_> = log
            .recent(Some("a"), 10)
            .into_iter()
            .map(|r| r.request_id)
            .collect();
        assert_eq!(a, ["4", "2"]);
        assert_eq!(log.recent(None, 1).len(), 1);
    }
}
