//! The store's tables for streams and schedules, beside the queues' in `store`.
//!
//! A stream's records are keyed `(stream, shard, sequence counter)`, so one shard's
//! records are one key range: retention removes a prefix of it, a deleted stream one
//! sweep. The consumers' cursors of a stream are one row (a few numbers per shard,
//! rewritten whole when they move), its counters another, and the catalog (settings and
//! Kinesis API facts) is written whole when it changes, like the queues'. Schedules are a
//! handful of rows: each one's anchor and the tick it last fired for.

use std::collections::BTreeMap;

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use sandbox_services::schedule::StoredSchedule;
use sandbox_services::stream::{
    StoredConsumer, StoredRecord, StreamChanges, StreamEntry, StreamHead,
};

use crate::store::{decode, json, StoreError};

/// Stream name → its settings and API facts.
const CATALOG: TableDefinition<&str, &[u8]> = TableDefinition::new("stream_catalog");
/// Stream name → its counters.
const HEADS: TableDefinition<&str, &[u8]> = TableDefinition::new("stream_heads");
/// (stream, shard index, sequence counter) → the record.
const RECORDS: TableDefinition<(&str, u32, u64), &[u8]> = TableDefinition::new("stream_records");
/// Stream name → every consumer's cursors.
const CONSUMERS: TableDefinition<&str, &[u8]> = TableDefinition::new("stream_consumers");
/// Schedule name → its anchor and last fire.
const SCHEDULES: TableDefinition<&str, &[u8]> = TableDefinition::new("schedules");

/// The streams' part of a [`Delta`](crate::Delta).
#[derive(Debug, Clone, Default)]
pub struct StreamsDelta {
    /// The whole stream catalog, when it changed; streams missing from it are removed
    /// with their records and cursors.
    pub catalog: Option<BTreeMap<String, StreamEntry>>,
    pub streams: Vec<(String, StreamChanges)>,
}

impl StreamsDelta {
    pub fn is_empty(&self) -> bool {
        self.catalog.is_none() && self.streams.is_empty()
    }
}

/// One stream as read back at start.
#[derive(Debug, Clone)]
pub struct LoadedStream {
    pub entry: StreamEntry,
    pub head: StreamHead,
    /// Shard by shard, in sequence order.
    pub records: Vec<StoredRecord>,
    pub consumers: Vec<StoredConsumer>,
}

pub(crate) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(CATALOG)?;
    tx.open_table(HEADS)?;
    tx.open_table(RECORDS)?;
    tx.open_table(CONSUMERS)?;
    tx.open_table(SCHEDULES)?;
    Ok(())
}

pub(crate) fn load_streams(db: &redb::Database) -> Result<Vec<LoadedStream>, StoreError> {
    use redb::ReadableDatabase;
    let tx = db.begin_read()?;
    let catalog = tx.open_table(CATALOG)?;
    let heads = tx.open_table(HEADS)?;
    let records = tx.open_table(RECORDS)?;
    let consumers = tx.open_table(CONSUMERS)?;
    let mut out = Vec::new();
    for row in catalog.iter()? {
        let (name, value) = row?;
        let name = name.value();
        let entry: StreamEntry = decode("stream", value.value())?;
        let head = match heads.get(name)? {
            Some(v) => decode("stream head", v.value())?,
            None => StreamHead::default(),
        };
        let cursors = match consumers.get(name)? {
            Some(v) => decode("stream consumers", v.value())?,
            None => Vec::new(),
        };
        let mut loaded = LoadedStream {
            entry,
            head,
            records: Vec::new(),
            consumers: cursors,
        };
        for row in records.range((name, 0, 0)..=(name, u32::MAX, u64::MAX))? {
            let (_, v) = row?;
            loaded.records.push(decode("stream record", v.value())?);
        }
        out.push(loaded);
    }
    Ok(out)
}

pub(crate) fn load_schedules(
    db: &redb::Database,
) -> Result<BTreeMap<String, StoredSchedule>, StoreError> {
    use redb::ReadableDatabase;
    let tx = db.begin_read()?;
    let table = tx.open_table(SCHEDULES)?;
    let mut out = BTreeMap::new();
    for row in table.iter()? {
        let (name, value) = row?;
        out.insert(name.value().to_string(), decode("schedule", value.value())?);
    }
    Ok(out)
}

/// Writes the streams' and schedules' parts of `deltas`, in order, inside `tx`.
pub(crate) fn write(tx: &WriteTransaction, deltas: &[crate::Delta]) -> Result<(), StoreError> {
    if deltas
        .iter()
        .all(|d| d.streams.is_empty() && d.schedules.is_none())
    {
        return Ok(());
    }
    let mut catalog = tx.open_table(CATALOG)?;
    let mut heads = tx.open_table(HEADS)?;
    let mut records = tx.open_table(RECORDS)?;
    let mut consumers = tx.open_table(CONSUMERS)?;
    let mut schedules = tx.open_table(SCHEDULES)?;
    for delta in deltas {
        if let Some(next) = &delta.schedules {
            schedules.retain(|_, _| false)?;
            for (name, stored) in next {
                schedules.insert(name.as_str(), json(stored).as_slice())?;
            }
        }
        let delta = &delta.streams;
        if let Some(next) = &delta.catalog {
            let stored: Vec<String> = catalog
                .iter()?
                .map(|row| row.map(|(k, _)| k.value().to_string()))
                .collect::<Result<_, _>>()?;
            for gone in stored.iter().filter(|n| !next.contains_key(*n)) {
                catalog.remove(gone.as_str())?;
                heads.remove(gone.as_str())?;
                consumers.remove(gone.as_str())?;
                clear(&mut records, gone)?;
            }
            for (name, entry) in next {
                catalog.insert(name.as_str(), json(entry).as_slice())?;
            }
        }
        for (name, changes) in &delta.streams {
            let name = name.as_str();
            if changes.whole {
                clear(&mut records, name)?;
            }
            if changes.trimmed {
                for (shard, through) in changes.head.trimmed_through.iter().enumerate() {
                    let shard = shard as u32;
                    records.retain_in((name, shard, 0)..=(name, shard, *through), |_, _| false)?;
                }
            }
            heads.insert(name, json(&changes.head).as_slice())?;
            for r in &changes.records {
                records.insert((name, r.shard, r.seq), json(r).as_slice())?;
            }
            if let Some(cursors) = &changes.consumers {
                consumers.insert(name, json(cursors).as_slice())?;
            }
        }
    }
    Ok(())
}

fn clear(records: &mut redb::Table<(&str, u32, u64), &[u8]>, name: &str) -> Result<(), StoreError> {
    records.retain_in((name, 0, 0)..=(name, u32::MAX, u64::MAX), |_, _| false)?;
    Ok(())
}
