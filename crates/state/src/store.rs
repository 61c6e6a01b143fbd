//! The store: one redb database file (`DIR/sandbox.redb`) with a table per kind of record.
//!
//! Records are JSON (the services' own serde forms): readable with any redb tool and
//! tolerant of fields added later. Keys carry the queue's name, so a queue's messages
//! are one key range, read and removed in one sweep. redb gives the rest: ACID
//! transactions, a commit is durable when it returns (fsync), a crash mid-write leaves
//! the last commit, and a second sandbox on the same DIR is refused (the file is locked).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use redb::{Database, ReadableDatabase, TableDefinition};
use sandbox_services::async_retry::image::{InvocationChanges, StoredInvocation};
use sandbox_services::queue::{CatalogEntry, QueueChanges, QueueHead, StoredDedup, StoredMessage};
use sandbox_services::schedule::StoredSchedule;

use crate::streams::{LoadedStream, StreamsDelta};
use crate::table::{past, JsonTable, Writer};

/// Queue name → its configuration and API facts.
const CATALOG: JsonTable<&str> = JsonTable::new("queue_catalog", "queue");
/// Queue name → its counters.
const HEADS: JsonTable<&str> = JsonTable::new("queue_heads", "queue head");
/// (queue, arrival key) → message with its visibility and receipt.
const MESSAGES: JsonTable<(&str, u64)> = JsonTable::new("queue_messages", "message");
/// (queue, deduplication id) → the FIFO dedup record.
const DEDUP: JsonTable<(&str, &str)> = JsonTable::new("queue_dedup", "deduplication id");
/// Facts of the whole sandbox by name: `clock` → the manual clock's position (RFC 3339).
const SANDBOX: TableDefinition<&str, &str> = TableDefinition::new("sandbox");

/// The file inside the state directory.
pub const FILE: &str = "sandbox.redb";

/// Why the state could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {file}: {source}{}", open_help(source))]
    Open {
        file: PathBuf,
        source: redb::DatabaseError,
    },
    /// The file is truncated, overwritten or not a store this sandbox can read: said
    /// with what to do, since only the user can decide to give its contents up.
    #[error(
        "state file {file} cannot be read ({detail}); it is damaged or was written by an incompatible version: move it aside to start with empty state (`mv {} {}.damaged`), or put back a good copy",
        file.display(),
        file.display()
    )]
    Unreadable { file: PathBuf, detail: String },
    #[error("state store: {0}")]
    Db(#[from] redb::Error),
    #[error("state store: a stored {what} does not read back: {source}")]
    Decode {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("state not saved: {0}")]
    Failed(String),
}

impl StoreError {
    /// Whether the file itself is at fault (truncated, overwritten, not redb's, a row
    /// that does not decode), not the directory, the disk or another sandbox.
    fn file_at_fault(&self) -> bool {
        let short = |e: &std::io::Error| {
            matches!(
                e.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            )
        };
        match self {
            StoreError::Decode { .. } | StoreError::Db(redb::Error::Corrupted(_)) => true,
            StoreError::Db(redb::Error::Io(e)) => short(e),
            StoreError::Open { source, .. } => match source {
                redb::DatabaseError::Storage(redb::StorageError::Corrupted(_)) => true,
                redb::DatabaseError::Storage(redb::StorageError::Io(e)) => short(e),
                _ => false,
            },
            _ => false,
        }
    }
}

/// An error the file is at fault for, said as [`StoreError::Unreadable`]: naming the file
/// and what to do.
fn unreadable<T>(file: &Path, result: Result<T, StoreError>) -> Result<T, StoreError> {
    result.map_err(|e| {
        if !e.file_at_fault() {
            return e;
        }
        let detail = match e {
            StoreError::Decode { what, source } => {
                format!("a stored {what} does not read back: {source}")
            }
            StoreError::Open { source, .. } => source.to_string(),
            StoreError::Db(e) => e.to_string(),
            other => other.to_string(),
        };
        StoreError::Unreadable {
            file: file.to_path_buf(),
            detail,
        }
    })
}

/// How to fix the one open error a user causes: a second sandbox on the same directory.
fn open_help(error: &redb::DatabaseError) -> &'static str {
    match error {
        redb::DatabaseError::DatabaseAlreadyOpen => {
            "; another sandbox is using this --state directory: stop it, or give this one another directory"
        }
        _ => "",
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// One batch of changes, in the order they happened: written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    /// The whole queue catalog, when it changed (queues made, removed or reconfigured);
    /// queues missing from it are removed with their messages.
    pub catalog: Option<BTreeMap<String, CatalogEntry>>,
    pub queues: Vec<(String, QueueChanges)>,
    /// Streams' records, cursors and catalog (`streams`).
    pub streams: StreamsDelta,
    /// Every schedule's anchor and last fire, when one changed (written whole: few).
    pub schedules: Option<BTreeMap<String, StoredSchedule>>,
    /// Topics' and buses' outstanding async invocations, by service (`retries`).
    pub invocations: Vec<(String, InvocationChanges)>,
    /// Buses' catalog and archived events (`buses`).
    pub buses: crate::buses::BusesDelta,
    /// The whole topic catalog, when it changed (`topics`).
    pub topics: Option<BTreeMap<String, sandbox_services::topic::image::StoredTopic>>,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.catalog.is_none()
            && self.queues.is_empty()
            && self.streams.is_empty()
            && self.schedules.is_none()
            && self.invocations.is_empty()
            && self.buses.is_empty()
            && self.topics.is_none()
    }
}

/// One queue as read back at start.
#[derive(Debug, Clone)]
pub struct LoadedQueue {
    pub entry: CatalogEntry,
    pub head: QueueHead,
    pub messages: Vec<StoredMessage>,
    pub dedup: Vec<StoredDedup>,
}

pub struct Store {
    db: Database,
    file: PathBuf,
}

impl Store {
    /// Opens (creating if need be) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let file = dir.join(FILE);
        let db = Database::create(&file).map_err(|source| StoreError::Open {
            file: file.clone(),
            source,
        });
        let db = unreadable(&file, db)?;
        let store = Store { db, file };
        store.read(store.create_tables())?;
        Ok(store)
    }

    /// Every table exists from the start, so reads never meet a missing one.
    fn create_tables(&self) -> Result<(), StoreError> {
        let tx = self.db.begin_write()?;
        CATALOG.create(&tx)?;
        HEADS.create(&tx)?;
        MESSAGES.create(&tx)?;
        DEDUP.create(&tx)?;
        tx.open_table(SANDBOX)?;
        crate::streams::create_tables(&tx)?;
        crate::retries::create_tables(&tx)?;
        crate::buses::create_tables(&tx)?;
        crate::topics::create_tables(&tx)?;
        tx.commit()?;
        Ok(())
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// A read's result, its error [`unreadable`] when the file is at fault.
    fn read<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        unreadable(&self.file, result)
    }

    /// Where the manual clock stood when it last moved, if it ever did.
    pub fn clock(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(self.read_clock())
    }

    fn read_clock(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(SANDBOX)?;
        let Some(text) = table.get("clock")? else {
            return Ok(None);
        };
        let at = DateTime::parse_from_rfc3339(text.value())
            .map_err(|e| StoreError::Failed(format!("stored clock `{}`: {e}", text.value())))?;
        Ok(Some(at.with_timezone(&Utc)))
    }

    /// Records the manual clock's position (durably: a clock move is rare).
    pub fn save_clock(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        let tx = self.db.begin_write()?;
        tx.open_table(SANDBOX)?.insert(
            "clock",
            at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                .as_str(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every stored queue with its messages, in arrival order.
    pub fn load_queues(&self) -> Result<Vec<LoadedQueue>, StoreError> {
        self.read(self.read_queues())
    }

    fn read_queues(&self) -> Result<Vec<LoadedQueue>, StoreError> {
        let tx = self.db.begin_read()?;
        let heads = HEADS.read(&tx)?;
        let messages = MESSAGES.read(&tx)?;
        let dedup = DEDUP.read(&tx)?;
        let mut out = Vec::new();
        for (name, entry) in CATALOG.read(&tx)?.by_name::<CatalogEntry>()? {
            let name = name.as_str();
            out.push(LoadedQueue {
                entry,
                head: heads.get(name)?.unwrap_or_default(),
                messages: messages.range((name, 0)..=(name, u64::MAX))?,
                dedup: dedup.range((name, "")..(past(name).as_str(), ""))?,
            });
        }
        Ok(out)
    }

    /// Every stored stream with its records and cursors.
    pub fn load_streams(&self) -> Result<Vec<LoadedStream>, StoreError> {
        self.read(crate::streams::load_streams(&self.db))
    }

    /// Every stored schedule's anchor and last fire, by name.
    pub fn load_schedules(&self) -> Result<BTreeMap<String, StoredSchedule>, StoreError> {
        self.read(crate::streams::load_schedules(&self.db))
    }

    /// A service's (`topics`, `buses`) stored async deliveries and its next delivery id.
    pub fn load_invocations(
        &self,
        service: &str,
    ) -> Result<(u64, Vec<StoredInvocation>), StoreError> {
        self.read(crate::retries::load(&self.db, service))
    }

    /// The stored buses' catalog and every archived event (`buses`).
    #[allow(clippy::type_complexity)]
    pub fn load_buses(
        &self,
    ) -> Result<
        (
            BTreeMap<String, sandbox_services::bus::image::StoredBus>,
            Vec<sandbox_services::bus::image::StoredArchived>,
        ),
        StoreError,
    > {
        self.read(crate::buses::load(&self.db))
    }

    /// The stored topic catalog (`topics`).
    pub fn load_topics(
        &self,
    ) -> Result<BTreeMap<String, sandbox_services::topic::image::StoredTopic>, StoreError> {
        self.read(crate::topics::load(&self.db))
    }

    /// Writes a batch of deltas, in order, in one durable transaction.
    pub fn write(&self, deltas: &[Delta]) -> Result<(), StoreError> {
        let tx = self.db.begin_write()?;
        {
            let mut catalog = CATALOG.write(&tx)?;
            let mut heads = HEADS.write(&tx)?;
            let mut messages = MESSAGES.write(&tx)?;
            let mut dedup = DEDUP.write(&tx)?;
            for delta in deltas {
                if let Some(next) = &delta.catalog {
                    for gone in catalog.replace(next)? {
                        heads.remove(gone.as_str())?;
                        clear_queue(&mut messages, &mut dedup, &gone)?;
                    }
                }
                for (name, changes) in &delta.queues {
                    let name = name.as_str();
                    if changes.whole {
                        clear_queue(&mut messages, &mut dedup, name)?;
                    }
                    heads.put(name, &changes.head)?;
                    for m in &changes.messages {
                        messages.put((name, m.key), m)?;
                    }
                    for key in &changes.removed {
                        messages.remove((name, *key))?;
                    }
                    for d in &changes.dedup {
                        dedup.put((name, d.id.as_str()), d)?;
                    }
                    for id in &changes.dedup_removed {
                        dedup.remove((name, id.as_str()))?;
                    }
                }
            }
        }
        crate::streams::write(&tx, deltas)?;
        crate::retries::write(&tx, deltas)?;
        crate::buses::write(&tx, deltas)?;
        crate::topics::write(&tx, deltas)?;
        tx.commit()?;
        Ok(())
    }
}

fn clear_queue(
    messages: &mut Writer<(&'static str, u64)>,
    dedup: &mut Writer<(&'static str, &'static str)>,
    name: &str,
) -> Result<(), StoreError> {
    messages.remove_range((name, 0)..=(name, u64::MAX))?;
    dedup.remove_range((name, "")..(past(name).as_str(), ""))
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
