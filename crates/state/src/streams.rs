//! The store's tables for streams and schedules, beside the queues' in `store`.
//!
//! A stream's records are keyed `(stream, shard, sequence counter)`, so one shard's
//! records are one key range: retention removes a prefix of it, a deleted stream one
//! sweep. The consumers' cursors of a stream are one row (a few numbers per shard,
//! rewritten whole when they move), its counters another, and the catalog (settings and
//! Kinesis API facts) is written whole when it changes, like the queues'. Schedules are a
//! handful of rows: each one's anchor and the tick it last fired for.

use std::collections::BTreeMap;

use redb::{ReadableDatabase, WriteTransaction};
use sandbox_services::schedule::StoredSchedule;
use sandbox_services::stream::{
    StoredConsumer, StoredRecord, StreamChanges, StreamEntry, StreamHead,
};

use crate::store::StoreError;
use crate::table::{JsonTable, Writer};

/// Stream name → its settings and API facts.
const CATALOG: JsonTable<&str> = JsonTable::new("stream_catalog", "stream");
/// Stream name → its counters.
const HEADS: JsonTable<&str> = JsonTable::new("stream_heads", "stream head");
/// (stream, shard index, sequence counter) → the record.
const RECORDS: JsonTable<(&str, u32, u64)> = JsonTable::new("stream_records", "stream record");
/// Stream name → every consumer's cursors.
const CONSUMERS: JsonTable<&str> = JsonTable::new("stream_consumers", "stream consumers");
/// Schedule name → its anchor and last fire.
const SCHEDULES: JsonTable<&str> = JsonTable::new("schedules", "schedule");

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
    CATALOG.create(tx)?;
    HEADS.create(tx)?;
    RECORDS.create(tx)?;
    CONSUMERS.create(tx)?;
    SCHEDULES.create(tx)
}

pub(crate) fn load_streams(db: &redb::Database) -> Result<Vec<LoadedStream>, StoreError> {
    let tx = db.begin_read()?;
    let heads = HEADS.read(&tx)?;
    let records = RECORDS.read(&tx)?;
    let consumers = CONSUMERS.read(&tx)?;
    let mut out = Vec::new();
    for (name, entry) in CATALOG.read(&tx)?.by_name::<StreamEntry>()? {
        let name = name.as_str();
        out.push(LoadedStream {
            entry,
            head: heads.get(name)?.unwrap_or_default(),
            records: records.range((name, 0, 0)..=(name, u32::MAX, u64::MAX))?,
            consumers: consumers.get(name)?.unwrap_or_default(),
        });
    }
    Ok(out)
}

pub(crate) fn load_schedules(
    db: &redb::Database,
) -> Result<BTreeMap<String, StoredSchedule>, StoreError> {
    SCHEDULES.read(&db.begin_read()?)?.by_name()
}

/// Writes the streams' and schedules' parts of `deltas`, in order, inside `tx`.
pub(crate) fn write(tx: &WriteTransaction, deltas: &[crate::Delta]) -> Result<(), StoreError> {
    if deltas
        .iter()
        .all(|d| d.streams.is_empty() && d.schedules.is_none())
    {
        return Ok(());
    }
    let mut catalog = CATALOG.write(tx)?;
    let mut heads = HEADS.write(tx)?;
    let mut records = RECORDS.write(tx)?;
    let mut consumers = CONSUMERS.write(tx)?;
    let mut schedules = SCHEDULES.write(tx)?;
    for delta in deltas {
        if let Some(next) = &delta.schedules {
            schedules.replace(next)?;
        }
        let delta = &delta.streams;
        if let Some(next) = &delta.catalog {
            for gone in catalog.replace(next)? {
                heads.remove(gone.as_str())?;
                consumers.remove(gone.as_str())?;
                clear(&mut records, &gone)?;
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
                    records.remove_range((name, shard, 0)..=(name, shard, *through))?;
                }
            }
            heads.put(name, &changes.head)?;
            for r in &changes.records {
                records.put((name, r.shard, r.seq), r)?;
            }
            if let Some(cursors) = &changes.consumers {
                consumers.put(name, cursors)?;
            }
        }
    }
    Ok(())
}

fn clear(records: &mut Writer<(&'static str, u32, u64)>, name: &str) -> Result<(), StoreError> {
    records.remove_range((name, 0, 0)..=(name, u32::MAX, u64::MAX))
}
