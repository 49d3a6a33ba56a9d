//! The budget's persisted spend (today's and the totals by model and worker), one record
//! written in the scheduler's batch transaction, so a settled call and its charge are
//! durable together.

use super::{Store, StoreResult};
use crate::budget::Persisted;
use redb::TableDefinition;

pub(super) const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("budget");

const KEY: &str = "ledger";

/// Writes the record inside a batch transaction.
pub(super) fn write(txn: &redb::WriteTransaction, budget: &Persisted) -> Result<(), redb::Error> {
    super::write_record(txn, TABLE, KEY, budget)
}

impl Store {
    /// The stored spend, if any was ever recorded.
    pub fn budget(&self) -> StoreResult<Option<Persisted>> {
        self.read_record(TABLE, KEY, "budget")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tasks::Batch;

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
            let store = Store::open(&path).unwrap();
            assert_eq!(store.budget().unwrap(), None);
            store
                .save_batch(&Batch {
                    budget: Some(&state),
                    ..Batch::default()
                })
                .unwrap();
        }
        assert_eq!(Store::open(&path).unwrap().budget().unwrap(), Some(state));
    }
}
