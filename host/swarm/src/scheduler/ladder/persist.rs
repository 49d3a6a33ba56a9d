//! The failure ladder's state (suspended workers, the circuit breaker), one record written
//! in the scheduler's batch transaction, so a suspension is durable with the failure that
//! caused it and survives a restart.

use crate::scheduler::ladder::Persisted;
use hypernet_store::{Store, StoreResult};
use redb::TableDefinition;

pub(crate) const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("ladder");

/// Creates this domain's tables when the store opens (a [`hypernet_store::CreateTables`]).
pub fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(TABLE)?;
    Ok(())
}

const KEY: &str = "state";

/// Writes the record inside a batch transaction.
pub(crate) fn write(txn: &redb::WriteTransaction, state: &Persisted) -> Result<(), redb::Error> {
    hypernet_store::write_record(txn, TABLE, KEY, state)
}

/// The failure ladder's record, on the store.
pub trait LadderTable {
    /// The stored ladder state, if any was ever recorded.
    fn ladder(&self) -> StoreResult<Option<Persisted>>;
}

impl LadderTable for Store {
    fn ladder(&self) -> StoreResult<Option<Persisted>> {
        self.read_record(TABLE, KEY, "ladder")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::ladder::{Failure, Ladder, LadderConfig};
    use crate::scheduler::persist::{Batch, TaskTables};

    #[test]
    fn suspensions_and_the_breaker_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.redb");
        let mut ladder = Ladder::new(LadderConfig::default());
        ladder.failure("A", "openai/x", false, Failure::RateLimited, 1);
        for i in 0..4 {
            ladder.failure("B", "openai/x", false, Failure::Other, i);
        }
        {
            let store = crate::persist::open_store(&path).unwrap();
            assert_eq!(store.ladder().unwrap(), None);
            store
                .save_batch(&Batch {
                    ladder: Some(ladder.persisted()),
                    ..Batch::default()
                })
                .unwrap();
        }
        let back = crate::persist::open_store(&path)
            .unwrap()
            .ladder()
            .unwrap()
            .unwrap();
        assert_eq!(&back, ladder.persisted());
        let mut restored = Ladder::new(LadderConfig::default());
        restored.restore(back);
        assert!(restored.is_suspended("A") && restored.breaker_open());
    }
}
