//! The store's tables for Lambda's asynchronous invocations that topics and buses have
//! not finished: each delivery waiting for its first attempt or a retry is one row keyed
//! `(service, delivery id)`, upserted and deleted as the journal says.

use redb::{ReadableDatabase, TableDefinition, WriteTransaction};
use sandbox_services::async_retry::image::StoredInvocation;

use crate::store::StoreError;
use crate::table::JsonTable;

/// (service, delivery id) → the delivery.
const DELIVERIES: JsonTable<(&str, u64)> = JsonTable::new("async_deliveries", "async delivery");
/// Service → the next delivery id.
const NEXT_IDS: TableDefinition<&str, u64> = TableDefinition::new("async_next_ids");

pub(crate) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    DELIVERIES.create(tx)?;
    tx.open_table(NEXT_IDS)?;
    Ok(())
}

/// A service's stored deliveries and its next delivery id.
pub(crate) fn load(
    db: &redb::Database,
    service: &str,
) -> Result<(u64, Vec<StoredInvocation>), StoreError> {
    let tx = db.begin_read()?;
    let next = tx
        .open_table(NEXT_IDS)?
        .get(service)?
        .map_or(1, |v| v.value());
    let deliveries = DELIVERIES
        .read(&tx)?
        .range((service, 0)..=(service, u64::MAX))?;
    Ok((next, deliveries))
}

pub(crate) fn write(tx: &WriteTransaction, deltas: &[crate::Delta]) -> Result<(), StoreError> {
    if deltas.iter().all(|d| d.invocations.is_empty()) {
        return Ok(());
    }
    let mut deliveries = DELIVERIES.write(tx)?;
    let mut next_ids = tx.open_table(NEXT_IDS)?;
    for delta in deltas {
        for (service, changes) in &delta.invocations {
            let service = service.as_str();
            for d in &changes.deliveries {
                deliveries.put((service, d.id), d)?;
            }
            for id in &changes.removed {
                deliveries.remove((service, *id))?;
            }
            next_ids.insert(service, changes.next_id)?;
        }
    }
    Ok(())
}
