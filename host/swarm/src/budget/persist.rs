//! The budget's persisted spend: one record of today's spend and the totals by model and
//! worker, and one record per budget day (by model, worker and category, with its
//! savings), both written in the scheduler's batch transaction, so a settled call and its
//! charge are durable together.

use crate::budget::{DaySpend, Persisted};
use hypernet_store::{Store, StoreResult};
use redb::TableDefinition;

pub(crate) const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("budget");
/// Budget day → its [`DaySpend`] (JSON).
const DAYS: TableDefinition<u64, &[u8]> = TableDefinition::new("spend_days");

/// Creates this domain's tables when the store opens (a [`hypernet_store::CreateTables`]).
pub fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(TABLE)?;
    txn.open_table(DAYS)?;
    Ok(())
}

const KEY: &str = "ledger";

/// Writes the record and its day's inside a batch transaction.
pub(crate) fn write(
    txn: &redb::WriteTransaction,
    budget: &Persisted,
    day: &DaySpend,
) -> Result<(), redb::Error> {
    hypernet_store::write_record(txn, TABLE, KEY, budget)?;
    let bytes = serde_json::to_vec(day).expect("a day's spend serializes");
    txn.open_table(DAYS)?.insert(day.day, bytes.as_slice())?;
    Ok(())
}

/// The budget's records, on the store.
pub trait BudgetTable {
    /// The stored spend, if any was ever recorded.
    fn budget(&self) -> StoreResult<Option<Persisted>>;
    /// The stored days from `first` to `last` (inclusive), oldest first.
    fn spend_days(&self, first: u64, last: u64) -> StoreResult<Vec<DaySpend>>;
}

impl BudgetTable for Store {
    fn budget(&self) -> StoreResult<Option<Persisted>> {
        self.read_record(TABLE, KEY, "budget")
    }

    fn spend_days(&self, first: u64, last: u64) -> StoreResult<Vec<DaySpend>> {
        self.read(|txn| {
            let table = txn.open_table(DAYS)?;
            let mut days = Vec::new();
            for entry in table.range(first..=last)? {
                let (day, bytes) = entry?;
                let spend = serde_json::from_slice(bytes.value()).map_err(|e| {
                    redb::Error::Corrupted(format!(
                        "the spend of budget day {} does not decode: {e}",
                        day.value()
                    ))
                })?;
                days.push(spend);
            }
            Ok(days)
        })
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
            for day in [2, 3] {
                store
                    .save_batch(&Batch {
                        budget: Some((&state, &DaySpend::new(day))),
                        ..Batch::default()
                    })
                    .unwrap();
            }
        }
        let store = crate::persist::open_store(&path).unwrap();
        assert_eq!(store.budget().unwrap(), Some(state));
        let days: Vec<u64> = store
            .spend_days(0, 10)
            .unwrap()
            .iter()
            .map(|d| d.day)
            .collect();
        assert_eq!(days, [2, 3]);
        assert_eq!(store.spend_days(3, 3).unwrap().len(), 1);
    }
}
