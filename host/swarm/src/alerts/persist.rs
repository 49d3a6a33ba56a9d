//! What the briefs remember across restarts, in the store's key-value namespace
//! `host:alerts` (no plugin can be named like this): for each brief the occurrence last
//! handled and when one was last sent, and when the last reminder went out.

use hypernet_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

const NAMESPACE: &str = "host:alerts";

/// One brief's record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BriefRecord {
    /// The occurrence last handled (sent, or skipped as missed), ms since the epoch.
    pub due_ms: u64,
    /// When this brief was last sent.
    #[serde(default)]
    pub sent_ms: Option<u64>,
}

/// Why a record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record does not decode.
    #[error("alerts record `{key}`: {source}")]
    Record {
        /// Its key.
        key: String,
        /// Why.
        source: serde_json::Error,
    },
}

fn read<T: serde::de::DeserializeOwned>(
    store: &Store,
    key: &str,
) -> Result<Option<T>, PersistError> {
    let Some(bytes) = store.kv_get(NAMESPACE, key)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| PersistError::Record {
            key: key.to_owned(),
            source,
        })
}

fn write<T: Serialize>(store: &Store, key: &str, value: &T) -> Result<(), PersistError> {
    let bytes = serde_json::to_vec(value).expect("records always serialize");
    Ok(store.kv_put(NAMESPACE, key, &bytes)?)
}

/// The record of the brief `name` (`morning`, `evening`).
pub fn brief(store: &Store, name: &str) -> Result<Option<BriefRecord>, PersistError> {
    read(store, &format!("brief/{name}"))
}

/// Writes the record of the brief `name`, durably.
pub fn set_brief(store: &Store, name: &str, record: BriefRecord) -> Result<(), PersistError> {
    write(store, &format!("brief/{name}"), &record)
}

/// When the last reminder was sent.
pub fn reminder(store: &Store) -> Result<Option<u64>, PersistError> {
    read(store, "reminder")
}

/// Records a reminder sent at `at_ms`, durably.
pub fn set_reminder(store: &Store, at_ms: u64) -> Result<(), PersistError> {
    write(store, "reminder", &at_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.redb");
        {
            let store = crate::persist::open_store(&path).unwrap();
            assert_eq!(brief(&store, "morning").unwrap(), None);
            let record = BriefRecord {
                due_ms: 5,
                sent_ms: Some(7),
            };
            set_brief(&store, "morning", record).unwrap();
            set_reminder(&store, 9).unwrap();
        }
        let store = crate::persist::open_store(&path).unwrap();
        assert_eq!(
            brief(&store, "morning").unwrap(),
            Some(BriefRecord {
                due_ms: 5,
                sent_ms: Some(7)
            })
        );
        assert_eq!(brief(&store, "evening").unwrap(), None);
        assert_eq!(reminder(&store).unwrap(), Some(9));
        store.kv_put(NAMESPACE, "brief/evening", b"{").unwrap();
        let err = brief(&store, "evening").unwrap_err().to_string();
        assert!(err.starts_with("alerts record `brief/evening`"), "{err}");
    }
}
