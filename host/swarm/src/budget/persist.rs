//! The budget's persisted spend (today's and the totals by model and worker), one record
//! written in the scheduler's batch transaction, so a settled call and its charge are
//! durable together.

use crate::budget::Persisted;
use hypernet_store::{Store, StoreResult};
use redb::TableDefinition;

pub(crate) const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("budget");

/// Creates this domain's tables when the store opens (a [`hypernet_store::CreateTables`]).
pub fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(TABLE)?;
    Ok(())
}

const KEY: &str = "ledger";

/// Writes the record inside a batch transaction.
pub(crate) fn write(txn: &redb::WriteTransaction, budget: &Persisted) -> Result<(), redb::Error> {
    hypernet_store::write_record(txn, TABLE, KEY, budget)
}

/// The budget's record, on the store.
pub trait BudgetTable {
    /// The stored spend, if any was ever recorded.
    fn budget(&self) -> StoreResult<Option<Persisted>>;
}

impl BudgetTable for Store {
    fn budget(&self) -> StoreResult<Option<Persisted>> {
        self.read_record(TABLE, KEY, "budget")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::persist::{Batch, TaskTables};

    #[test]
    fn the_ledger_is_written_with_the_batch_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.redb");
        let state = Persisted {
            day: 3,
            daily_spent_micros: 42,
            ..Persisted::default()
        };
        {
            let store = crate::persist::open_store(&path).unwrap();
            assert_eq!(store.budget().unwrap(), None);
            store
                .save_batch(&Batch {
                    budget: Some(&state),
                    ..Batch::default()
                })
                .unwrap();
        }
        assert_eq!(
            crate::persist::open_store(&path).unwrap().budget().unwrap(),
            Some(state)
        );
    }
}
