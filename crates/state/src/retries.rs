//! The store's tables for Lambda's asynchronous invocations that topics and buses have
//! not finished: each delivery waiting for its first attempt or a retry is one row keyed
//! `(service, delivery id)`, upserted and deleted as the journal says.

use redb::{TableDefinition, WriteTransaction};
use sandbox_services::async_retry::image::{InvocationChanges, StoredInvocation};

use crate::store::{decode, json, StoreError};

/// (service, delivery id) → the delivery.
const DELIVERIES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("async_deliveries");
/// Service → the next delivery id.
const NEXT_IDS: TableDefinition<&str, u64> = TableDefinition::new("async_next_ids");

pub(crate) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(DELIVERIES)?;
    tx.open_table(NEXT_IDS)?;
    Ok(())
}

/// A service's stored deliveries and its next delivery id.
pub(crate) fn load(
    db: &redb::Database,
    service: &str,
) -> Result<(u64, Vec<StoredInvocation>), StoreError> {
    use redb::ReadableDatabase;
    let tx = db.begin_read()?;
    let next = tx
        .open_table(NEXT_IDS)?
        .get(service)?
        .map_or(1, |v| v.value());
    let table = tx.open_table(DELIVERIES)?;
    let mut out = Vec::new();
    for row in table.range((service, 0)..=(service, u64::MAX))? {
        let (_, v) = row?;
        out.push(decode("async delivery", v.value())?);
    }
    Ok((next, out))
}

pub(crate) fn write(tx: &WriteTransaction, deltas: &[crate::Delta]) -> Result<(), StoreError> {
    if deltas.iter().all(|d| d.invocations.is_empty()) {
        return Ok(());
    }
    let mut deliveries = tx.open_table(DELIVERIES)?;
    let mut next_ids = tx.open_table(NEXT_IDS)?;
    for delta in deltas {
        for (service, changes) in &delta.invocations {
            let service = service.as_str();
            write_one(&mut deliveries, service, changes)?;
            next_ids.insert(service, changes.next_id)?;
        }
    }
    Ok(())
}

fn write_one(
    deliveries: &mut redb::Table<(&str, u64), &[u8]>,
    service: &str,
    changes: &InvocationChanges,
) -> Result<(), StoreError> {
    for d in &changes.deliveries {
        deliveries.insert((service, d.id), json(d).as_slice())?;
    }
    for id in &changes.removed {
        deliveries.remove((service, *id))?;
    }
    Ok(())
}
