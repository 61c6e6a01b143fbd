//! Where remote streams' consumers keep their place: in memory, and with `--state DIR`
//! also in `DIR/remote.redb` (its own file and table, beside the sandbox's own store,
//! so local durable state and remote checkpoints never share a transaction or a lock).
//! Keyed by `stream/consumer/shard`; a value is the last processed sequence number and
//! whether the shard was read to its end (closed by resharding).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("remote_stream_checkpoints");
const FILE: &str = "remote.redb";

/// One shard's place.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Checkpoint {
    /// The last sequence number processed (or given up on); reading resumes after it.
    pub sequence_number: Option<String>,
    /// Read to its end: a closed parent shard whose children may now be read.
    pub finished: bool,
}

pub(crate) struct Checkpoints {
    db: Option<Database>,
    memory: Mutex<BTreeMap<String, Checkpoint>>,
}

pub(crate) fn key(stream: &str, consumer: &str, shard: &str) -> String {
    format!("{stream}/{consumer}/{shard}")
}

impl Checkpoints {
    pub(crate) fn in_memory() -> Checkpoints {
        Checkpoints {
            db: None,
            memory: Mutex::new(BTreeMap::new()),
        }
    }

    /// Opens (creating) `dir/remote.redb` and reads every stored checkpoint.
    pub(crate) fn open(dir: &Path) -> Result<Checkpoints, String> {
        let file = dir.join(FILE);
        let fail =
            |e: &dyn std::fmt::Display| format!("remote checkpoints in {}: {e}", file.display());
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        let db = Database::create(&file).map_err(|e| fail(&e))?;
        let tx = db.begin_write().map_err(|e| fail(&e))?;
        tx.open_table(TABLE).map_err(|e| fail(&e))?;
        tx.commit().map_err(|e| fail(&e))?;
        let mut memory = BTreeMap::new();
        {
            let tx = db.begin_read().map_err(|e| fail(&e))?;
            let table = tx.open_table(TABLE).map_err(|e| fail(&e))?;
            for row in table.iter().map_err(|e| fail(&e))? {
                let (k, v) = row.map_err(|e| fail(&e))?;
                if let Ok(checkpoint) = serde_json::from_slice(v.value()) {
                    memory.insert(k.value().to_string(), checkpoint);
                }
            }
        }
        Ok(Checkpoints {
            db: Some(db),
            memory: Mutex::new(memory),
        })
    }

    pub(crate) fn get(&self, key: &str) -> Checkpoint {
        self.lock().get(key).cloned().unwrap_or_default()
    }

    /// Every checkpoint whose key starts with `prefix` (`stream/consumer/`).
    pub(crate) fn under(&self, prefix: &str) -> Vec<(String, Checkpoint)> {
        self.lock()
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
            .collect()
    }

    /// Records a shard's place (durably, with `--state`, before returning).
    pub(crate) fn set(&self, key: &str, checkpoint: Checkpoint) -> Result<(), String> {
        // On disk first: a checkpoint anyone can see has been committed.
        let bytes = serde_json::to_vec(&checkpoint).unwrap_or_default();
        self.write(|table| table.insert(key, bytes.as_slice()).map(|_| ()))?;
        self.lock().insert(key.to_string(), checkpoint);
        Ok(())
    }

    /// Forgets every checkpoint under `prefix` (a consumer moved to a new position).
    pub(crate) fn clear(&self, prefix: &str) -> Result<(), String> {
        let keys: Vec<String> = self
            .under(prefix)
            .into_iter()
            .map(|(k, _)| format!("{prefix}{k}"))
            .collect();
        let mut memory = self.lock();
        for k in &keys {
            memory.remove(k);
        }
        drop(memory);
        self.write(|table| {
            for k in &keys {
                table.remove(k.as_str())?;
            }
            Ok(())
        })
    }

    fn write(
        &self,
        change: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> Result<(), redb::StorageError>,
    ) -> Result<(), String> {
        let Some(db) = &self.db else { return Ok(()) };
        let tx = db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut table = tx.open_table(TABLE).map_err(|e| e.to_string())?;
            change(&mut table).map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Checkpoint>> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_survive_a_reopen_and_clear_by_consumer() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Checkpoints::open(dir.path()).unwrap();
            let at = Checkpoint {
                sequence_number: Some("49".into()),
                finished: false,
            };
            store
                .set(&key("clicks", "log", "shardId-0"), at.clone())
                .unwrap();
            store.set(&key("clicks", "other", "shardId-0"), at).unwrap();
        }
        let store = Checkpoints::open(dir.path()).unwrap();
        assert_eq!(
            store
                .get(&key("clicks", "log", "shardId-0"))
                .sequence_number
                .as_deref(),
            Some("49")
        );
        store.clear("clicks/log/").unwrap();
        assert_eq!(store.under("clicks/log/"), vec![]);
        assert_eq!(store.under("clicks/other/").len(), 1);
        drop(store);
        let store = Checkpoints::open(dir.path()).unwrap();
        assert_eq!(store.under("clicks/log/"), vec![]);
    }
}
