//! The one shape of the store's tables: a key (a name, or a name followed by positions, so
//! a name's rows are one key range) and a JSON value in the services' own serde form.
//!
//! [`JsonTable`] names a table and what its rows hold (the word a decoding error uses);
//! [`Rows`] is that table opened in a transaction: rows read by key, by key range or all,
//! written and removed by key or key range, and a catalog replaced whole. The modules
//! for each service (`store`, `streams`, `buses`, `topics`, `retries`) say only which
//! tables they have and which rows a change touches.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::ops::RangeBounds;

use redb::{
    Key, ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition, WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::store::StoreError;

type Json = &'static [u8];

/// A table of JSON rows keyed by `K`.
pub(crate) struct JsonTable<K: Key + 'static> {
    def: TableDefinition<'static, K, Json>,
    /// What one row is, for errors ("queue head", "stream record").
    what: &'static str,
}

impl<K: Key + 'static> JsonTable<K> {
    pub(crate) const fn new(name: &'static str, what: &'static str) -> Self {
        JsonTable {
            def: TableDefinition::new(name),
            what,
        }
    }

    /// Makes the table if the file has none yet (the store makes every table at open, so
    /// reads never meet a missing one).
    pub(crate) fn create(&self, tx: &WriteTransaction) -> Result<(), StoreError> {
        tx.open_table(self.def)?;
        Ok(())
    }

    pub(crate) fn read(
        &self,
        tx: &ReadTransaction,
    ) -> Result<Rows<K, ReadOnlyTable<K, Json>>, StoreError> {
        Ok(Rows {
            table: tx.open_table(self.def)?,
            what: self.what,
            key: PhantomData,
        })
    }

    pub(crate) fn write<'tx>(
        &self,
        tx: &'tx WriteTransaction,
    ) -> Result<Writer<'tx, K>, StoreError> {
        Ok(Rows {
            table: tx.open_table(self.def)?,
            what: self.what,
            key: PhantomData,
        })
    }
}

/// A [`JsonTable`] opened for writing.
pub(crate) type Writer<'tx, K> = Rows<K, Table<'tx, K, Json>>;

/// A [`JsonTable`] opened in a transaction (`T`: redb's table, read-only or writable).
pub(crate) struct Rows<K: Key + 'static, T> {
    table: T,
    what: &'static str,
    key: PhantomData<K>,
}

impl<K: Key + 'static, T: ReadableTable<K, Json>> Rows<K, T> {
    pub(crate) fn get<'k, V: DeserializeOwned>(
        &self,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<V>, StoreError> {
        match self.table.get(key)? {
            Some(v) => Ok(Some(decode(self.what, v.value())?)),
            None => Ok(None),
        }
    }

    /// The rows in `range`, in key order.
    pub(crate) fn range<'a, KR, V: DeserializeOwned>(
        &self,
        range: impl RangeBounds<KR> + 'a,
    ) -> Result<Vec<V>, StoreError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        let mut out = Vec::new();
        for row in self.table.range(range)? {
            let (_, v) = row?;
            out.push(decode(self.what, v.value())?);
        }
        Ok(out)
    }

    /// Every row, in key order.
    pub(crate) fn all<V: DeserializeOwned>(&self) -> Result<Vec<V>, StoreError> {
        let mut out = Vec::new();
        for row in self.table.iter()? {
            let (_, v) = row?;
            out.push(decode(self.what, v.value())?);
        }
        Ok(out)
    }
}

impl<T: ReadableTable<&'static str, Json>> Rows<&'static str, T> {
    /// Every row by its name.
    pub(crate) fn by_name<V: DeserializeOwned>(&self) -> Result<BTreeMap<String, V>, StoreError> {
        let mut out = BTreeMap::new();
        for row in self.table.iter()? {
            let (name, v) = row?;
            out.insert(name.value().to_string(), decode(self.what, v.value())?);
        }
        Ok(out)
    }
}

impl<K: Key + 'static> Writer<'_, K> {
    pub(crate) fn put<'k>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: &impl Serialize,
    ) -> Result<(), StoreError> {
        self.table.insert(key, json(value).as_slice())?;
        Ok(())
    }

    pub(crate) fn remove<'k>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<(), StoreError> {
        self.table.remove(key)?;
        Ok(())
    }

    /// Removes every row in `range` (a name's rows, a prefix of a shard's).
    pub(crate) fn remove_range<'a, KR>(
        &mut self,
        range: impl RangeBounds<KR> + 'a,
    ) -> Result<(), StoreError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        self.table.retain_in(range, |_, _| false)?;
        Ok(())
    }
}

impl Writer<'_, &'static str> {
    /// Writes a catalog whole: a row for every name in `next`, none for any other.
    /// Returns the names it removed, so their other rows can go too.
    pub(crate) fn replace<V: Serialize>(
        &mut self,
        next: &BTreeMap<String, V>,
    ) -> Result<Vec<String>, StoreError> {
        let mut gone = Vec::new();
        for row in self.table.iter()? {
            let (name, _) = row?;
            if !next.contains_key(name.value()) {
                gone.push(name.value().to_string());
            }
        }
        for name in &gone {
            self.table.remove(name.as_str())?;
        }
        for (name, value) in next {
            self.put(name.as_str(), value)?;
        }
        Ok(gone)
    }
}

/// The least string above `name`: with keys `(name, text…)`, the range
/// `(name, "")..(past(name).as_str(), "")` holds exactly the rows of `name` (strings
/// order by their bytes, and `name` + NUL comes right after `name`).
pub(crate) fn past(name: &str) -> String {
    format!("{name}\0")
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // The services' types serialize to JSON without fail (string keys, no NaN).
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Decode { what, source })
}

#[cfg(test)]
mod tests {
    use redb::ReadableDatabase;

    use super::*;

    const PAIRS: JsonTable<(&str, &str)> = JsonTable::new("pairs", "pair");
    const NAMES: JsonTable<&str> = JsonTable::new("names", "name");

    #[test]
    fn a_names_rows_are_its_key_range_and_a_catalog_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("t.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut pairs = PAIRS.write(&tx).unwrap();
            // Names that share a prefix with `a`, and one just past it, are not `a`'s.
            for (name, id) in [
                ("a", ""),
                ("a", "x"),
                ("a", "y"),
                ("a\u{1}", ""),
                ("ab", "x"),
            ] {
                pairs.put((name, id), &format!("{name}/{id}")).unwrap();
            }
            let a = |pairs: &Writer<(&'static str, &'static str)>| {
                pairs
                    .range::<_, String>(("a", "")..(past("a").as_str(), ""))
                    .unwrap()
            };
            assert_eq!(a(&pairs), ["a/", "a/x", "a/y"]);
            pairs
                .remove_range(("a", "")..(past("a").as_str(), ""))
                .unwrap();
            assert!(a(&pairs).is_empty());
            assert_eq!(pairs.all::<String>().unwrap(), ["a\u{1}/", "ab/x"]);

            let mut names = NAMES.write(&tx).unwrap();
            let first = BTreeMap::from([("x".to_string(), 1), ("y".to_string(), 2)]);
            assert!(names.replace(&first).unwrap().is_empty());
            let next = BTreeMap::from([("y".to_string(), 3), ("z".to_string(), 4)]);
            assert_eq!(names.replace(&next).unwrap(), ["x"]);
            assert_eq!(names.by_name::<i32>().unwrap(), next);
            assert_eq!(names.get::<i32>("z").unwrap(), Some(4));
        }
        tx.commit().unwrap();
        let tx = db.begin_read().unwrap();
        let err = PAIRS.read(&tx).unwrap().all::<u64>().unwrap_err();
        assert!(
            err.to_string().contains("a stored pair does not read back"),
            "{err}"
        );
    }
}
