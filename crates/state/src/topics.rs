//! The store's table for SNS topics: the catalog (every topic with its settings,
//! attributes, tags and subscriptions), one row per topic, written whole when it changes.

use std::collections::BTreeMap;

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use sandbox_services::topic::image::StoredTopic;

use crate::store::{decode, json, StoreError};

/// Topic name → the topic as the catalog stores it.
const CATALOG: TableDefinition<&str, &[u8]> = TableDefinition::new("topic_catalog");

pub(crate) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(CATALOG)?;
    Ok(())
}

pub(crate) fn load(db: &redb::Database) -> Result<BTreeMap<String, StoredTopic>, StoreError> {
    use redb::ReadableDatabase;
    let tx = db.begin_read()?;
    let mut out = BTreeMap::new();
    for row in tx.open_table(CATALOG)?.iter()? {
        let (name, value) = row?;
        out.insert(name.value().to_string(), decode("topic", value.value())?);
    }
    Ok(out)
}

pub(crate) fn write(tx: &WriteTransaction, deltas: &[crate::Delta]) -> Result<(), StoreError> {
    if deltas.iter().all(|d| d.topics.is_none()) {
        return Ok(());
    }
    let mut catalog = tx.open_table(CATALOG)?;
    for next in deltas.iter().filter_map(|d| d.topics.as_ref()) {
        catalog.retain(|_, _| false)?;
        for (name, topic) in next {
            catalog.insert(name.as_str(), json(topic).as_slice())?;
        }
    }
    Ok(())
}
