//! The store's tables for EventBridge buses: the catalog (every bus with its rules,
//! targets, archives' settings and replays), written whole when it changes, and each
//! archive's events keyed `(bus, archive, sequence)`, so retention's trim is one
//! key-range delete and a removed archive one sweep.

use std::collections::{BTreeMap, BTreeSet};

use redb::{ReadableDatabase, WriteTransaction};
use sandbox_services::bus::image::{ArchiveChange, StoredArchived, StoredBus};

use crate::store::StoreError;
use crate::table::JsonTable;

/// Bus name → the bus as the catalog stores it.
const CATALOG: JsonTable<&str> = JsonTable::new("bus_catalog", "bus");
/// (bus, archive, sequence) → the archived event.
const ARCHIVED: JsonTable<(&str, &str, u64)> = JsonTable::new("bus_archived", "archived event");

/// The buses' part of a [`Delta`](crate::Delta).
#[derive(Debug, Clone, Default)]
pub struct BusesDelta {
    /// The whole catalog, when it changed; archives missing from it lose their events.
    pub catalog: Option<BTreeMap<String, StoredBus>>,
    pub archived: Vec<ArchiveChange>,
}

impl BusesDelta {
    pub fn is_empty(&self) -> bool {
        self.catalog.is_none() && self.archived.is_empty()
    }
}

pub(crate) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    CATALOG.create(tx)?;
    ARCHIVED.create(tx)
}

/// The stored catalog and every archived event, archive by archive in order.
#[allow(clippy::type_complexity)]
pub(crate) fn load(
    db: &redb::Database,
) -> Result<(BTreeMap<String, StoredBus>, Vec<StoredArchived>), StoreError> {
    let tx = db.begin_read()?;
    Ok((CATALOG.read(&tx)?.by_name()?, ARCHIVED.read(&tx)?.all()?))
}

fn archives(catalog: &BTreeMap<String, StoredBus>) -> BTreeSet<(String, String)> {
    catalog
        .iter()
        .flat_map(|(bus, b)| b.archives.iter().map(|a| (bus.clone(), a.name.clone())))
        .collect()
}

pub(crate) fn write(tx: &WriteTransaction, deltas: &[crate::Delta]) -> Result<(), StoreError> {
    if deltas.iter().all(|d| d.buses.is_empty()) {
        return Ok(());
    }
    let mut catalog = CATALOG.write(tx)?;
    let mut archived = ARCHIVED.write(tx)?;
    for delta in deltas {
        let delta = &delta.buses;
        for change in &delta.archived {
            match change {
                ArchiveChange::Added(e) => {
                    archived.put((e.bus.as_str(), e.archive.as_str(), e.seq), e)?;
                }
                ArchiveChange::Trimmed {
                    bus,
                    archive,
                    below,
                } => {
                    let (bus, archive) = (bus.as_str(), archive.as_str());
                    archived.remove_range((bus, archive, 0)..(bus, archive, *below))?;
                }
            }
        }
        if let Some(next) = &delta.catalog {
            let before: BTreeMap<String, StoredBus> = catalog.by_name()?;
            let kept = archives(next);
            for (bus, archive) in archives(&before).difference(&kept) {
                let (bus, archive) = (bus.as_str(), archive.as_str());
                archived.remove_range((bus, archive, 0)..=(bus, archive, u64::MAX))?;
            }
            catalog.replace(next)?;
        }
    }
    Ok(())
}
