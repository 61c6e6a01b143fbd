//! The store's table for SNS topics: the catalog (every topic with its settings,
//! attributes, tags and subscriptions), one row per topic, written whole when it changes.

use std::collections::BTreeMap;

use redb::{ReadableDatabase, WriteTransaction};
use sandbox_services::topic::image::StoredTopic;

use crate::store::StoreError;
use crate::table::JsonTable;

/// Topic name → the topic as the catalog stores it.
const CATALOG: JsonTable<&str> = JsonTable::new("topic_catalog", "topic");

pub(crate) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    CATALOG.create(tx)
}

pub(crate) fn load(db: &redb::Database) -> Result<BTreeMap<String, StoredTopic>, StoreError> {
    CATALOG.read(&db.begin_read()?)?.by_name()
}

pub(crate) fn write(tx: &WriteTransaction, deltas: &[crate::Delta]) -> Result<(), StoreError> {
    if deltas.iter().all(|d| d.topics.is_none()) {
        return Ok(());
    }
    let mut catalog = CATALOG.write(tx)?;
    for next in deltas.iter().filter_map(|d| d.topics.as_ref()) {
        catalog.replace(next)?;
    }
    Ok(())
}
