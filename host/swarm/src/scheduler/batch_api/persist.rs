//! Submitted batches, one record per batch id, written in the scheduler's batch
//! transaction (with the tasks they hold), so a restarted host, even after a kill, polls
//! the batch it submitted instead of submitting its tasks again.

use super::book::{Change, StoredBatch};
use hypernet_store::{Store, StoreResult};
use redb::{ReadableTable, TableDefinition};

pub(crate) const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("batch_api");

/// Creates this domain's tables when the store opens (a [`hypernet_store::CreateTables`]).
pub fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(TABLE)?;
    Ok(())
}

/// Writes the changes inside a batch transaction.
pub(crate) fn write(txn: &redb::WriteTransaction, changes: &[Change]) -> Result<(), redb::Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut table = txn.open_table(TABLE)?;
    for change in changes {
        match change {
            Change::Put(batch) => {
                let bytes = serde_json::to_vec(batch).expect("records always serialize");
                table.insert(batch.id.as_str(), bytes.as_slice())?;
            }
            Change::Remove(id) => {
                table.remove(id.as_str())?;
            }
        }
    }
    Ok(())
}

/// The submitted batches, on the store.
pub trait BatchApiTable {
    /// Every stored batch (those not ended when the host stopped).
    fn batches(&self) -> StoreResult<Vec<StoredBatch>>;
}

impl BatchApiTable for Store {
    fn batches(&self) -> StoreResult<Vec<StoredBatch>> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (key, value) = row?;
                let batch = serde_json::from_slice(value.value()).map_err(|e| {
                    redb::Error::Corrupted(format!(
                        "batch record `{}` does not decode: {e}",
                        key.value()
                    ))
                })?;
                out.push(batch);
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::batch_api::book::StoredEntry;
    use hypernet_model::tasks::TaskId;

    #[test]
    fn a_batch_is_kept_until_removed_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.redb");
        let batch = StoredBatch {
            id: "msgbatch_01".into(),
            provider: "provider-anthropic".into(),
            model: "anthropic/claude-haiku-4-5".into(),
            submitted_ms: 7,
            entries: vec![StoredEntry {
                task: TaskId(3),
                attempt: 1,
                custom_id: "T-3-1".into(),
                reserved_micros: 500,
            }],
        };
        {
            let store = crate::persist::open_store(&path).unwrap();
            assert_eq!(store.batches().unwrap(), []);
            store
                .write(|txn| write(txn, &[Change::Put(batch.clone())]))
                .unwrap();
        }
        let store = crate::persist::open_store(&path).unwrap();
        assert_eq!(store.batches().unwrap(), [batch]);
        store
            .write(|txn| write(txn, &[Change::Remove("msgbatch_01".into())]))
            .unwrap();
        assert_eq!(store.batches().unwrap(), []);
    }
}
