//! What the front ends reach for a remote resource: [`Front`] implements the triggers'
//! [`Remote`] extension point, so a handler's `sandbox.call` and the control API's send,
//! publish and put naming a remote entry go to AWS through the SDK, and the control
//! API's purge, peek and redrive of a remote queue are refused (the sandbox never
//! empties or reads around a real queue behind its consumer's back).
//!
//! It also answers `GET /_sandbox/remote` (every remote entry: connected, or connecting
//! and why) and, for reload and drain, hands the triggers' questions to `crate::units`
//! (the running entries) and `crate::in_flight` (their batches in flight).

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use sandbox_app::AppCell;
use sandbox_manifest::Manifest;
use sandbox_ops::aws::resource_name;
use sandbox_ops::bus::PutEvents;
use sandbox_ops::control::{decode, decode_value, ControlError};
use sandbox_ops::queues::SendMessage;
use sandbox_ops::streams::{is_put_records, PutRecord, PutRecords, PutRecordsEntry};
use sandbox_ops::topics::Publish;
use sandbox_services::PendingWork;
use sandbox_triggers::remote::{Remote, RemoteActivity};
use sandbox_triggers::Triggers;
use serde_json::{json, Map, Value};
use tokio::runtime::{Handle, RuntimeFlavor};

use crate::in_flight::InFlight;
use crate::publish::{self, Client};
use crate::streams::Streams;
use crate::units::Units;

/// The kinds of remote entries, as the control API's paths name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Kind {
    Queue,
    Topic,
    Bus,
    Stream,
}

impl Kind {
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Kind::Queue => "queue",
            Kind::Topic => "topic",
            Kind::Bus => "bus",
            Kind::Stream => "stream",
        }
    }
}

/// One remote entry: its client once connected, or why it has none yet.
pub(crate) struct Entry {
    /// `remote queue orders`, for messages.
    pub what: String,
    pub link: Mutex<Link>,
}

/// Where an entry stands with AWS.
#[derive(Clone)]
pub(crate) enum Link {
    Connected(Client),
    /// Not connected yet: the last attempt's error (`None` before the first attempt
    /// ends). Retried with backoff in the background.
    Connecting(Option<String>),
}

impl Entry {
    pub(crate) fn new(what: String) -> Entry {
        Entry {
            what,
            link: Mutex::new(Link::Connecting(None)),
        }
    }

    pub(crate) fn link(&self) -> Link {
        self.link.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set(&self, link: Link) {
        *self.link.lock().unwrap_or_else(|e| e.into_inner()) = link;
    }

    /// The client, or why there is none (a line for a 503 or an on-failure error).
    pub(crate) fn client(&self) -> Result<Client, String> {
        match self.link() {
            Link::Connected(client) => Ok(client),
            Link::Connecting(None) => {
                Err(format!("{} is not connected yet (connecting)", self.what))
            }
            Link::Connecting(Some(why)) => Err(format!(
                "{} is not connected (retrying in the background): {why}",
                self.what
            )),
        }
    }
}

pub(crate) struct Front {
    /// Every remote entry under its manifest name and its AWS name.
    pub entries: RwLock<HashMap<(Kind, String), Arc<Entry>>>,
    /// `--remote-read-only`: nothing is written to a remote resource.
    pub read_only: bool,
    pub handle: Handle,
    /// Remote streams' consumers and checkpoints: made (and with `--state`, its file
    /// opened) when the first remote stream consumer starts, never otherwise.
    pub streams: OnceLock<Arc<Streams>>,
    /// `--state DIR`, for the checkpoints.
    pub state_dir: Option<PathBuf>,
    pub app: AppCell,
    pub triggers: Weak<Triggers>,
    /// Batches taken from AWS and not yet settled, for drain.
    pub in_flight: Arc<InFlight>,
    /// The running remote entries by kind and manifest name (see `crate::units`).
    pub units: Mutex<Units>,
    /// Itself, for the tasks it starts.
    pub me: Weak<Front>,
}

impl Front {
    /// The remote entry `name` (the manifest's name, or the AWS name in an ARN or URL).
    pub(crate) fn entry(&self, kind: Kind, name: &str) -> Option<Arc<Entry>> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(kind, resource_name(name).to_string()))
            .cloned()
    }

    /// Whether the app has no remote entry.
    fn is_empty(&self) -> bool {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Runs an SDK call to its end from synchronous code (host calls, control rows):
    /// on the runtime, so its futures live on tokio's stacks, while this thread waits
    /// without holding up the runtime's other work.
    fn block<F>(&self, call: F) -> Result<Value, ControlError>
    where
        F: Future<Output = Result<Value, ControlError>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(call.await);
        });
        let wait = move || {
            rx.recv().unwrap_or_else(|_| {
                Err(ControlError {
                    status: 502,
                    message: "the call to AWS was dropped".into(),
                })
            })
        };
        match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
    }

    /// A write to a remote resource, unless `--remote-read-only` or it has no client.
    fn write(
        &self,
        entry: &Entry,
        call: impl FnOnce(String, Client) -> Result<Value, ControlError>,
    ) -> Result<Value, ControlError> {
        if self.read_only {
            return Err(ControlError {
                status: 403,
                message: format!(
                    "{}: refused, the sandbox runs with --remote-read-only (nothing is written to AWS)",
                    entry.what
                ),
            });
        }
        match entry.client() {
            Ok(client) => call(entry.what.clone(), client),
            Err(message) => Err(ControlError {
                status: 503,
                message,
            }),
        }
    }

    fn send(&self, entry: &Entry, op: SendMessage) -> Result<Value, ControlError> {
        self.write(entry, |what, client| match client {
            Client::Queue { client, url } => {
                self.block(async move { publish::send(&what, &client, &url, op).await })
            }
            _ => unreachable_kind(),
        })
    }

    fn publish(&self, entry: &Entry, op: Publish) -> Result<Value, ControlError> {
        self.write(entry, |what, client| match client {
            Client::Topic { client, arn } => {
                self.block(async move { publish::publish(&what, &client, &arn, op).await })
            }
            _ => unreachable_kind(),
        })
    }

    fn put_events(&self, entry: &Entry, op: PutEvents) -> Result<Value, ControlError> {
        self.write(entry, |what, client| match client {
            Client::Bus { client, arn } => {
                self.block(async move { publish::put_events(&what, &client, &arn, op).await })
            }
            _ => unreachable_kind(),
        })
    }

    fn put(
        &self,
        entry: &Entry,
        records: Result<PutRecordsEntry, Vec<PutRecordsEntry>>,
    ) -> Result<Value, ControlError> {
        self.write(entry, |what, client| match client {
            Client::Stream { client, name } => self.block(async move {
                match records {
                    Ok(one) => publish::put_record(&what, &client, &name, one).await,
                    Err(many) => publish::put_records(&what, &client, &name, many).await,
                }
            }),
            _ => unreachable_kind(),
        })
    }
}

fn unreachable_kind() -> Result<Value, ControlError> {
    Err(ControlError::bad_request("a remote entry of another kind"))
}

fn one(record: PutRecord) -> PutRecordsEntry {
    PutRecordsEntry {
        partition_key: record.partition_key,
        data: record.data,
        explicit_hash_key: record.explicit_hash_key,
    }
}

impl Remote for Front {
    /// `GET /_sandbox/remote`: every remote entry, connected or connecting (and why),
    /// with its batches in flight.
    fn overview(&self) -> Value {
        let in_flight = self.in_flight.pending();
        let units = self.units.lock().unwrap_or_else(|e| e.into_inner());
        let entries: Vec<Value> = units
            .iter()
            .map(|((kind, name), unit)| {
                let (state, error) = match unit.entry.link() {
                    Link::Connected(_) => ("connected", None),
                    Link::Connecting(why) => ("connecting", why),
                };
                let messages: u64 = in_flight
                    .iter()
                    .filter(|w| w.resource == *name && w.service.ends_with(kind.noun()))
                    .map(|w| w.due_now)
                    .sum();
                json!({
                    "kind": kind.noun(),
                    "name": name,
                    "resource": unit.resource,
                    "state": state,
                    "error": error,
                    "inFlight": messages,
                })
            })
            .collect();
        json!({ "remote": entries, "readOnly": self.read_only })
    }

    fn host_call(
        &self,
        _function: &str,
        service: &str,
        action: &str,
        operation: &Map<String, Value>,
    ) -> Option<Result<Value, ControlError>> {
        // Registered for every app (a reload may add remote entries): a local app's
        // calls pay one look, not a decode.
        if self.is_empty() {
            return None;
        }
        let value = Value::Object(operation.clone());
        // A body that does not decode is left to the local answer, which says why.
        match (service, action) {
            ("queues", "SendMessage") => {
                let op: SendMessage = decode_value(value, "").ok()?;
                let entry = self.entry(Kind::Queue, op.queue_url.as_deref()?)?;
                Some(self.send(&entry, op))
            }
            ("topics", "Publish") => {
                let op: Publish = decode_value(value, "").ok()?;
                let entry = self.entry(Kind::Topic, op.topic_arn.as_deref()?)?;
                Some(self.publish(&entry, op))
            }
            ("bus", "PutEvents") => {
                let op: PutEvents = decode_value(value, "").ok()?;
                let buses: Vec<&str> = op
                    .entries
                    .iter()
                    .map(|e| e.event_bus_name.as_deref().unwrap_or("default"))
                    .collect();
                let remote = buses.iter().find(|b| self.entry(Kind::Bus, b).is_some())?;
                if buses
                    .iter()
                    .any(|b| resource_name(b) != resource_name(remote))
                {
                    return Some(Err(ControlError::bad_request(format!(
                        "bus `{remote}` is remote: put its events in a call of their own, not with other buses' events"
                    ))));
                }
                let entry = self.entry(Kind::Bus, remote)?;
                Some(self.put_events(&entry, op))
            }
            ("streams", "PutRecord") => {
                let op: PutRecord = decode_value(value, "").ok()?;
                let entry = self.entry(Kind::Stream, op.stream_name.as_deref()?)?;
                Some(self.put(&entry, Ok(one(op))))
            }
            ("streams", "PutRecords") => {
                let op: PutRecords = decode_value(value, "").ok()?;
                let entry = self.entry(Kind::Stream, op.stream_name.as_deref()?)?;
                Some(self.put(&entry, Err(op.records)))
            }
            _ => None,
        }
    }

    fn control(&self, method: &str, path: &str, body: &[u8]) -> Option<(u16, Value)> {
        if self.is_empty() {
            return None;
        }
        let parts: Vec<&str> = path
            .strip_prefix("/_sandbox/")?
            .trim_end_matches('/')
            .split('/')
            .collect();
        let kind = match *parts.first()? {
            "queues" => Kind::Queue,
            "topics" => Kind::Topic,
            "buses" => Kind::Bus,
            "streams" => Kind::Stream,
            _ => return None,
        };
        let entry = self.entry(kind, parts.get(1)?)?;
        let entry = entry.as_ref();
        let answer = match (kind, method, &parts[2..]) {
            (Kind::Queue, "POST", ["messages"]) => decode::<SendMessage>(body, "")
                .and_then(|op| self.send(entry, op)),
            (Kind::Queue, _, ["messages"] | ["redrive"]) => Err(ControlError::bad_request(format!(
                "{} lives in AWS: the sandbox only sends to it and consumes it; look at it, purge or redrive it with the AWS console or CLI",
                entry.what
            ))),
            (Kind::Topic, "POST", ["messages"]) => {
                decode::<Publish>(body, "").and_then(|op| self.publish(entry, op))
            }
            (Kind::Bus, "POST", ["events"]) => {
                decode::<PutEvents>(body, "").and_then(|op| self.put_events(entry, op))
            }
            (Kind::Stream, "POST", ["records"]) => {
                let value: Value = match serde_json::from_slice(body) {
                    Ok(value) => value,
                    Err(e) => return Some((400, ControlError::bad_request(format!("the body is not JSON: {e}")).body())),
                };
                if is_put_records(&value) {
                    decode_value::<PutRecords>(value, "")
                        .and_then(|op| self.put(entry, Err(op.records)))
                } else {
                    decode_value::<PutRecord>(value, "").and_then(|op| self.put(entry, Ok(one(op))))
                }
            }
            (Kind::Stream, _, ["consumers", consumer, rest @ ..]) => match self.streams.get() {
                Some(streams) => streams.control(parts[1], consumer, method, rest, body)?,
                None => Err(ControlError::not_found(format!(
                    "remote stream {} has no running consumer `{consumer}`",
                    parts[1]
                ))),
            },
            _ => return None,
        };
        Some(match answer {
            Ok(value) => (200, value),
            Err(e) => (e.status, e.body()),
        })
    }

    fn reconfigure(&self, manifest: &Manifest) -> Vec<String> {
        crate::units::reconfigure(self, manifest)
    }

    fn activity(&self) -> RemoteActivity {
        self.in_flight.activity()
    }

    fn pending(&self) -> Vec<PendingWork> {
        self.in_flight.pending()
    }
}
