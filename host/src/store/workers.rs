//! What workers carry between tasks: their memory of recent tasks (one record per worker)
//! and their personal logs (one record per personal-time task), written with the
//! scheduler's batches.

use super::{Store, StoreResult};
use crate::workers::memory::WorkerMemory;
use crate::workers::personal::PersonalEntry;
use redb::{ReadableTable, TableDefinition};
use std::collections::HashMap;

pub(super) const MEMORY: TableDefinition<&str, &[u8]> = TableDefinition::new("worker_memory");
/// Keyed by (worker name lower-cased, task number).
pub(super) const PERSONAL: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("personal_log");

fn corrupted(what: &str, e: serde_json::Error) -> redb::Error {
    redb::Error::Corrupted(format!("{what} does not decode: {e}"))
}

/// Writes memories and personal-log entries inside a batch transaction.
pub(super) fn write(
    txn: &redb::WriteTransaction,
    memories: &[(&str, &WorkerMemory)],
    personal: &[PersonalEntry],
) -> Result<(), redb::Error> {
    if !memories.is_empty() {
        let mut table = txn.open_table(MEMORY)?;
        for (name, memory) in memories {
            let bytes = serde_json::to_vec(memory).expect("records always serialize");
            table.insert(*name, bytes.as_slice())?;
        }
    }
    if !personal.is_empty() {
        let mut table = txn.open_table(PERSONAL)?;
        for entry in personal {
            let n: crate::tasks::TaskId = entry.task.parse().map_err(redb::Error::Corrupted)?;
            let bytes = serde_json::to_vec(entry).expect("records always serialize");
            table.insert(
                (entry.worker.to_lowercase().as_str(), n.0),
                bytes.as_slice(),
            )?;
        }
    }
    Ok(())
}

/// A page of a worker's personal log.
#[derive(Debug, Clone, Default)]
pub struct PersonalPage {
    /// The entries, newest first.
    pub entries: Vec<PersonalEntry>,
    /// Entries in the whole log.
    pub total: u64,
}

impl Store {
    /// Stored worker memories by worker name.
    pub fn worker_memories(&self) -> StoreResult<HashMap<String, WorkerMemory>> {
        self.read(|txn| {
            let table = txn.open_table(MEMORY)?;
            let mut out = HashMap::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                let memory =
                    serde_json::from_slice(v.value()).map_err(|e| corrupted("worker memory", e))?;
                out.insert(k.value().to_owned(), memory);
            }
            Ok(out)
        })
    }

    /// The personal log of `worker` (any case), newest first, skipping `offset`, at most
    /// `limit` entries.
    pub fn personal_log(
        &self,
        worker: &str,
        offset: usize,
        limit: usize,
    ) -> StoreResult<PersonalPage> {
        let key = worker.to_lowercase();
        self.read(|txn| {
            let table = txn.open_table(PERSONAL)?;
            let range = (key.as_str(), 0)..=(key.as_str(), u64::MAX);
            let mut page = PersonalPage::default();
            for entry in table.range(range)?.rev() {
                let (_, v) = entry?;
                let index = page.total as usize;
                if index >= offset && index - offset < limit {
                    page.entries.push(
                        serde_json::from_slice(v.value())
                            .map_err(|e| corrupted("personal-log entry", e))?,
                    );
                }
                page.total += 1;
            }
            Ok(page)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tasks::Batch;
    use crate::tasks::TaskId;
    use crate::workers::memory::{MemoryConfig, Outcome};

    fn entry(worker: &str, task: u64) -> PersonalEntry {
        PersonalEntry {
            task: TaskId(task).to_string(),
            worker: worker.into(),
            text: format!("thoughts {task}"),
            model: "sim/x".into(),
            at_ms: task,
        }
    }

    #[test]
    fn memories_and_personal_logs_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swarm.redb");
        let mut memory = WorkerMemory::default();
        memory.remember(
            &MemoryConfig::default(),
            TaskId(3),
            "Plan",
            Outcome::Completed,
            "ok",
            9,
        );
        {
            let store = Store::open(&path).unwrap();
            let personal = [entry("Trace", 4), entry("Trace", 12), entry("Keystone", 5)];
            store
                .save_batch(&Batch {
                    memories: vec![("Trace", &memory)],
                    personal: &personal,
                    ..Batch::default()
                })
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.worker_memories().unwrap()["Trace"], memory);
        let page = store.personal_log("TRACE", 0, 10).unwrap();
        assert_eq!(page.total, 2);
        let tasks: Vec<&str> = page.entries.iter().map(|e| e.task.as_str()).collect();
        assert_eq!(tasks, ["T-12", "T-4"], "newest first, only Trace's");
        let second = store.personal_log("trace", 1, 10).unwrap();
        assert_eq!(second.entries.len(), 1);
        assert_eq!(store.personal_log("nobody", 0, 10).unwrap().total, 0);
    }
}
