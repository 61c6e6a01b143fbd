//! The store's tables for EventBridge buses: the catalog (every bus with its rules,
//! targets, archives' settings and replays), written whole when it changes, and each
//! archive's events keyed `(bus, archive, sequence)`, so retention's trim is one
//! key-range delete and a removed archive one sweep.

use std::collections::{BTreeMap, BTreeSet};

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use sandbox_services::bus::image::{ArchiveChange, StoredArchived, StoredBus};

use crate::store::{decode, json, StoreError};

/// Bus name → the bus as the catalog stores it.
const CATALOG: TableDefinition<&str, &[u8]> = TableDefinition::new("bus_catalog");
/// (bus, archive, sequence) → the archived event.
const ARCHIVED: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("bus_archived");

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
    tx.open_table(CATALOG)?;
    tx.open_table(ARCHIVED)?;
    Ok(())
}

/// The stored catalog and every archived event, archive by archive in order.
#[allow(clippy::type_complexity)]
pub(crate) fn load(
    db: &redb::Database,
) -> Result<(BTreeMap<String, StoredBus>, Vec<StoredArchived>), StoreError> {
    use redb::ReadableDatabase;
    let tx = db.begin_read()?;
    let mut catalog = BTreeMap::new();
    for row in tx.open_table(CATALOG)?.iter()? {
        let (name, value) = row?;
        catalog.insert(name.value().to_string(), decode("bus", value.value())?);
    }
    let mut events = Vec::new();
    for row in tx.open_table(ARCHIVED)?.iter()? {
        let (_, value) = row?;
        events.push(decode("archived event", value.value())?);
    }
    Ok((catalog, events))
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
    let mut catalog = tx.open_table(CATALOG)?;
    let mut archived = tx.open_table(ARCHIVED)?;
    for delta in deltas {
        let delta = &delta.buses;
        for change in &delta.archived {
            match change {
                ArchiveChange::Added(e) => {
                    archived.insert(
                        (e.bus.as_str(), e.archive.as_str(), e.seq),
                        json(e).as_slice(),
                    )?;
                }
                ArchiveChange::Trimmed {
                    bus,
                    archive,
                    below,
                } => {
                    let (bus, archive) = (bus.as_str(), archive.as_str());
                    archived.retain_in((bus, archive, 0)..(bus, archive, *below), |_, _| false)?;
                }
            }
        }
        if let Some(next) = &delta.catalog {
            let mut before = BTreeMap::new();
            for row in catalog.iter()? {
                let (name, value) = row?;
                before.insert(name.value().to_string(), decode("bus", value.value())?);
            }
            let kept = archives(next);
            for (bus, archive) in archives(&before).difference(&kept) {
                let (bus, archive) = (bus.as_str(), archive.as_str());
                archived.retain_in((bus, archive, 0)..=(bus, archive, u64::MAX), |_, _| false)?;
            }
            for gone in before.keys().filter(|n| !next.contains_key(*n)) {
                catalog.remove(gone.as_str())?;
            }
            for (name, bus) in next {
                catalog.insert(name.as_str(), json(bus).as_slice())?;
            }
        }
    }
    Ok(())
}
