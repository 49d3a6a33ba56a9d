//! Per-plugin key-value namespaces: keys are `(plugin, key)`, values JSON bytes.

use super::{Store, StoreResult};
use redb::TableDefinition;

pub(super) const TABLE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("plugin_kv");

impl Store {
    /// The value at `key` in `namespace`.
    pub fn kv_get(&self, namespace: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            Ok(table.get((namespace, key))?.map(|v| v.value().to_vec()))
        })
    }

    /// Writes `value` at `key`, durably.
    pub fn kv_put(&self, namespace: &str, key: &str, value: &[u8]) -> StoreResult<()> {
        self.write(|txn| {
            txn.open_table(TABLE)?.insert((namespace, key), value)?;
            Ok(())
        })
    }

    /// Writes every `(key, value)` pair in one transaction: all of them or none.
    pub fn kv_put_all(&self, namespace: &str, pairs: &[(String, Vec<u8>)]) -> StoreResult<()> {
        self.write(|txn| {
            let mut table = txn.open_table(TABLE)?;
            for (key, value) in pairs {
                table.insert((namespace, key.as_str()), value.as_slice())?;
            }
            Ok(())
        })
    }

    /// Deletes `key`; returns whether it existed.
    pub fn kv_delete(&self, namespace: &str, key: &str) -> StoreResult<bool> {
        self.write(|txn| Ok(txn.open_table(TABLE)?.remove((namespace, key))?.is_some()))
    }

    /// Keys of `namespace` starting with `prefix`, in order.
    pub fn kv_list(&self, namespace: &str, prefix: &str) -> StoreResult<Vec<String>> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            let mut keys = Vec::new();
            for entry in table.range((namespace, prefix)..)? {
                let (k, _) = entry?;
                let (ns, key) = k.value();
                if ns != namespace || !key.starts_with(prefix) {
                    break;
                }
                keys.push(key.to_owned());
            }
            Ok(keys)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_separate_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.redb");
        {
            let store = Store::open(&path, &[]).unwrap();
            store.kv_put("a", "x/1", b"1").unwrap();
            store.kv_put("a", "x/2", b"2").unwrap();
            store.kv_put("a", "y", b"3").unwrap();
            store.kv_put("ab", "x/3", b"4").unwrap();
            assert!(store.kv_delete("a", "y").unwrap());
            assert!(!store.kv_delete("a", "y").unwrap());
            let pairs = [
                ("z/1".to_owned(), b"5".to_vec()),
                ("z/2".to_owned(), b"6".to_vec()),
            ];
            store.kv_put_all("c", &pairs).unwrap();
        }
        let store = Store::open(&path, &[]).unwrap();
        assert_eq!(store.kv_list("a", "x/").unwrap(), vec!["x/1", "x/2"]);
        assert_eq!(store.kv_list("a", "").unwrap(), vec!["x/1", "x/2"]);
        assert_eq!(
            store.kv_get("ab", "x/3").unwrap().as_deref(),
            Some(&b"4"[..])
        );
        assert_eq!(store.kv_get("b", "x/3").unwrap(), None);
        assert_eq!(store.kv_list("c", "z/").unwrap(), vec!["z/1", "z/2"]);
    }
}
