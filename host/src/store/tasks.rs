//! Filed tasks, keyed by their number.

use super::{Store, StoreResult};
use hypernet_plugin_api::{NewTask, Priority};
use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

pub(super) const TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("tasks");

/// A task's id: `T-<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct TaskId(pub u64);

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "T-{}", self.0)
    }
}

impl From<TaskId> for String {
    fn from(id: TaskId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for TaskId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl std::str::FromStr for TaskId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let digits = s.strip_prefix("T-").unwrap_or(s);
        digits
            .parse()
            .map(TaskId)
            .map_err(|_| format!("`{s}` is not a task id (expected T-<number>)"))
    }
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Filed, not yet scheduled.
    Pending,
}

/// A stored task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Its id.
    pub id: TaskId,
    /// Short title.
    pub title: String,
    /// Full description.
    pub description: String,
    /// Priority.
    pub priority: Priority,
    /// Tags.
    pub tags: Vec<String>,
    /// Status.
    pub status: TaskStatus,
    /// `person`, `host` or the filing plugin's name.
    pub filed_by: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
}

fn encode(task: &Task) -> Vec<u8> {
    serde_json::to_vec(task).expect("a task always serializes")
}

fn decode(bytes: &[u8]) -> Result<Task, redb::Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| redb::Error::Corrupted(format!("task record does not decode: {e}")))
}

impl Store {
    /// Files a task durably and returns it.
    pub fn create_task(&self, new: NewTask, filed_by: &str, now_ms: u64) -> StoreResult<Task> {
        self.write(|txn| {
            let id = TaskId(Store::next_in(txn, "task")?);
            let task = Task {
                id,
                title: new.title,
                description: new.description,
                priority: new.priority,
                tags: new.tags,
                status: TaskStatus::Pending,
                filed_by: filed_by.to_owned(),
                created_ms: now_ms,
            };
            txn.open_table(TABLE)?
                .insert(id.0, encode(&task).as_slice())?;
            Ok(task)
        })
    }

    /// One task.
    pub fn task(&self, id: TaskId) -> StoreResult<Option<Task>> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            table.get(id.0)?.map(|v| decode(v.value())).transpose()
        })
    }

    /// Every task, oldest first.
    pub fn tasks(&self) -> StoreResult<Vec<Task>> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            table.iter()?.map(|e| decode(e?.1.value())).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_up_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.redb");
        let new = |t: &str| NewTask {
            title: t.into(),
            ..NewTask::default()
        };
        let first = Store::open(&path)
            .unwrap()
            .create_task(new("a"), "person", 1)
            .unwrap();
        let store = Store::open(&path).unwrap();
        let second = store.create_task(new("b"), "example", 2).unwrap();
        assert_eq!((first.id, second.id), (TaskId(1), TaskId(2)));
        assert_eq!(store.task(TaskId(2)).unwrap().unwrap().filed_by, "example");
        assert_eq!(store.tasks().unwrap().len(), 2);
    }

    #[test]
    fn ids_parse_and_print() {
        assert_eq!("T-42".parse::<TaskId>().unwrap(), TaskId(42));
        assert_eq!("42".parse::<TaskId>().unwrap().to_string(), "T-42");
        assert!("T-x".parse::<TaskId>().is_err());
    }
}
