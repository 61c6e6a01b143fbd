//! `--state DIR` for streams: restores the streams at start (records with their sequence
//! numbers, every consumer's checkpoints and pending retries, streams made through the
//! Kinesis API) and hands every change of the state machine to the store.
//!
//! As for queues (`queue_store`): a change is taken from the state machine's journal
//! under the service lock and submitted to group commit while the lock is held, so
//! deltas reach the disk in the order the changes happened. What a front end
//! acknowledges (PutRecord(s), CreateStream, DeleteStream, tags, retention, a consumer
//! moved) waits for its commit; the consumers' own progress (checkpoints after a batch,
//! retries, retention) does not: lost in a crash, a batch is invoked once more
//! (at-least-once, as Lambda's event source mapping is), never skipped.
//!
//! At start the stored streams are reconciled with the manifest as a reload would: a
//! stream whose settings are unchanged comes back as it was; one the Kinesis API made
//! and the manifest now declares adopts the manifest's consumers, records kept; one
//! whose settings changed is recreated empty; one the manifest no longer declares goes
//! (the API's stay).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sandbox_manifest::Stream as StreamDef;
use sandbox_services::stream::{Stream, StreamEntry, Streams};
use sandbox_state::{Committer, Delta, LoadedStream, Store, StreamsDelta, Ticket};

use super::{adopt, config, State};
use crate::queue_store::Durable;
use crate::ControlError;

/// What came back, for the start-up summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamsRestored {
    pub records: usize,
    /// Streams holding at least one of them.
    pub streams: usize,
    /// Consumers whose checkpoints came back.
    pub consumers: usize,
    /// How reconciling with the manifest changed the stored streams.
    pub lines: Vec<String>,
}

pub(crate) struct StreamStore {
    /// The catalog changes when a stream is made, removed, retagged or reconfigured.
    durable: Durable<BTreeMap<String, StreamEntry>>,
}

impl StreamStore {
    /// Reads the stored streams, reconciles them with the manifest's `defs` the way a
    /// reload does, and writes the result before anything else can change it.
    pub(crate) fn open(
        store: &Store,
        committer: Arc<Committer>,
        defs: &[StreamDef],
        now: DateTime<Utc>,
    ) -> Result<(Streams, StreamStore, StreamsRestored), String> {
        let loaded = store.load_streams().map_err(|e| e.to_string())?;
        let stored_catalog: BTreeMap<String, StreamEntry> = loaded
            .iter()
            .map(|l| (l.entry.config.name.clone(), l.entry.clone()))
            .collect();
        let mut restored = StreamsRestored::default();
        let mut kept = Vec::new();
        // The manifest's streams to build fresh (new, or settings changed), and API
        // streams the manifest now declares (they adopt its consumers).
        let mut fresh: Vec<&StreamDef> = Vec::new();
        let mut adopting: Vec<&StreamDef> = Vec::new();
        for def in defs {
            if !loaded.iter().any(|l| l.entry.config.name == def.name) {
                fresh.push(def);
            }
        }
        for l in loaded {
            let name = l.entry.config.name.clone();
            let held = l.records.len();
            let def = defs.iter().find(|d| d.name == name);
            match def {
                None if l.entry.declared => {
                    restored.lines.push(format!(
                        "stream {name} is no longer in the manifest; it held {held} record(s), which are gone with it"
                    ));
                    continue;
                }
                Some(def) if config(def).ok().as_ref() != Some(&l.entry.config) => {
                    let api_made = !l.entry.declared;
                    if api_made
                        && l.entry.config.consumers.is_empty()
                        && l.entry.config.shards == def.shards
                    {
                        restored.lines.push(format!(
                            "stream {name} (created through the AWS API) is now declared by the manifest; its records are kept"
                        ));
                        adopting.push(def);
                    } else {
                        restored.lines.push(format!(
                            "stream {name} settings changed; it was recreated empty, dropping {held} stored record(s) and its consumers' checkpoints"
                        ));
                        fresh.push(def);
                        continue;
                    }
                }
                _ => {}
            }
            restored.records += held;
            restored.streams += usize::from(held > 0);
            restored.consumers += l.consumers.len();
            kept.push(restore(l)?);
        }
        let mut streams = Streams::new(Vec::new()).map_err(|e| e.to_string())?;
        for stream in kept {
            streams.insert(stream);
        }
        // The store holds exactly these; from here on only changes are written (streams
        // built below come whole).
        streams.start_journal();
        let mut state = State {
            streams,
            totals: BTreeMap::new(),
            generations: BTreeMap::new(),
        };
        for def in adopting {
            let built = Stream::new(config(def)?).map_err(|e| e.to_string())?;
            adopt(&mut state, def, built);
        }
        for def in fresh {
            let stream = Stream::new(config(def)?)
                .map_err(|e| e.to_string())?
                .created_at(now);
            state.streams.insert(stream);
        }
        let this = StreamStore {
            durable: Durable::new(committer, stored_catalog),
        };
        let declared = |name: &str| defs.iter().any(|d| d.name == name);
        let ticket = this.record(&mut state.streams, Some(&declared));
        this.wait(ticket).map_err(|e| e.message)?;
        Ok((state.streams, this, restored))
    }

    /// Submits what changed since the last call; call it under the service lock. With
    /// `declared` (which names the manifest declares), also looks for streams made,
    /// removed or reconfigured (the API's and a reload's changes; a put cannot make any).
    pub(crate) fn record(
        &self,
        streams: &mut Streams,
        declared: Option<&dyn Fn(&str) -> bool>,
    ) -> Option<Ticket> {
        let catalog = declared.map(|declared| streams.catalog(declared));
        self.durable.submit(Delta {
            streams: StreamsDelta {
                catalog: self.durable.changed(catalog),
                streams: streams.take_changes(),
            },
            ..Delta::default()
        })
    }

    /// Waits (outside the service lock) until `ticket`'s commit is on disk.
    pub(crate) fn wait(&self, ticket: Option<Ticket>) -> Result<(), ControlError> {
        self.durable.wait(ticket)
    }
}

fn restore(l: LoadedStream) -> Result<Stream, String> {
    let name = l.entry.config.name.clone();
    Stream::restore(l.entry.config, l.entry.meta, l.head, l.records, l.consumers)
        .map_err(|e| format!("stored stream {name}: {e}"))
}
