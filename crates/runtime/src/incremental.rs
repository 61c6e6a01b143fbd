//! Cranelift's incremental compilation cache, kept in memory: a function whose code was
//! compiled before (by any module) is not compiled again. Modules made at run time that
//! differ from one another only in their data — the JavaScript runner snapshotted with
//! each handler bundle loaded — then cost a fraction of a full compile after the first.
//!
//! Bounded, because every distinct function a handler edit brings stays otherwise:
//! once full, new entries are dropped (the runner's functions, compiled first, stay).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;

use wasmtime::CacheStore;

/// Bytes of compiled functions kept (the JavaScript runner's take about a tenth).
const CAPACITY: usize = 256 << 20;

#[derive(Debug, Default)]
pub(crate) struct MemoryCache {
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<Vec<u8>, Vec<u8>>,
    bytes: usize,
}

impl CacheStore for MemoryCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.map.get(key).map(|value| Cow::Owned(value.clone()))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let size = key.len() + value.len();
        if entries.bytes + size > CAPACITY {
            return false;
        }
        entries.bytes += size;
        entries.map.insert(key.to_vec(), value);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_entries_until_full() {
        let cache = MemoryCache::default();
        assert!(cache.insert(b"a", vec![1, 2]));
        assert_eq!(cache.get(b"a").as_deref(), Some([1u8, 2].as_slice()));
        assert!(cache.get(b"b").is_none());
        assert!(!cache.insert(b"big", vec![0; CAPACITY]));
    }
}
