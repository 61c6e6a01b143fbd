//! The on-disk cache of compiled handlers: `<cache_dir>/<key>.cwasm`, where the key is
//! the SHA-256 of the module bytes and of the engine's compatibility hash (wasmtime
//! version, target, compiler settings), so a changed module or engine never loads a
//! stale artifact.
//!
//! The cache only ever makes things faster: a missing, unreadable or corrupt entry means
//! "compile again and overwrite", never an error.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

pub(crate) struct DiskCache<'a> {
    dir: &'a Path,
}

/// Feeds `Hash` output into SHA-256, giving a key stable across processes (unlike
/// `DefaultHasher`, whose algorithm may change between Rust releases).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Never used: the digest is read with `finalize`.
        0
    }
}

/// The cache key of `bytes` compiled by `engine`, as lowercase hex.
pub(crate) fn key(engine: &Engine, bytes: &[u8]) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    hasher.0.update(bytes);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let digest = hasher.0.finalize();
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl<'a> DiskCache<'a> {
    pub(crate) fn new(dir: &'a Path) -> DiskCache<'a> {
        DiskCache { dir }
    }

    pub(crate) fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.cwasm"))
    }

    /// The cached module, or `None` when there is none or it cannot be used.
    pub(crate) fn load(&self, engine: &Engine, key: &str) -> Option<Module> {
        let path = self.path(key);
        if !path.is_file() {
            return None;
        }
        // SAFETY: `deserialize_file` trusts the file to be wasmtime's own output, since
        // it maps it and runs the machine code inside. That holds here: only `store`
        // below writes into this directory, and only `Module::serialize` output, under a
        // name derived from the module's hash and the engine's compatibility hash, via
        // temp file + rename so a reader never sees a partial file. wasmtime also checks
        // the header (version, target, engine flags) and rejects a mismatch, which we
        // treat as a miss. The cache directory is the user's own; someone able to write
        // there can already replace the sandbox binary itself.
        match unsafe { Module::deserialize_file(engine, &path) } {
            Ok(module) => Some(module),
            Err(error) => {
                tracing::warn!(
                    path = %path.display(),
                    error = %format!("{error:#}"),
                    "ignoring unusable compile cache entry; recompiling"
                );
                None
            }
        }
    }

    /// Writes `module` under `key`, atomically. Failures are logged, not returned: the
    /// handler works without the cache.
    pub(crate) fn store(&self, key: &str, module: &Module) {
        if let Err(error) = self.try_store(key, module) {
            tracing::warn!(
                dir = %self.dir.display(),
                error = %error,
                "could not write the compile cache"
            );
        }
    }

    fn try_store(&self, key: &str, module: &Module) -> anyhow::Result<()> {
        let bytes = module
            .serialize()
            .map_err(|e| anyhow::anyhow!("serializing module: {e:#}"))?;
        std::fs::create_dir_all(self.dir)?;
        // Unique per process and call, so concurrent writers never share a temp file.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let tmp = self.dir.join(format!(
            ".{key}.{}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            // Rename replaces any old entry without disturbing a process that has the
            // old file mapped (it keeps the old inode).
            std::fs::rename(&tmp, self.path(key))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_bytes_and_is_hex() {
        let engine = Engine::default();
        let a = key(&engine, b"(module)");
        let b = key(&engine, b"(module) ");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(a, key(&engine, b"(module)"));
    }

    #[test]
    fn missing_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        assert!(DiskCache::new(dir.path()).load(&engine, "nope").is_none());
    }

    #[test]
    fn stored_entry_round_trips_and_garbage_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = DiskCache::new(dir.path());
        let module = Module::new(&engine, "(module (func (export \"f\")))").unwrap();
        cache.store("k", &module);
        assert!(cache.load(&engine, "k").is_some());
        std::fs::write(cache.path("k"), b"not a module").unwrap();
        assert!(cache.load(&engine, "k").is_none());
    }
}
