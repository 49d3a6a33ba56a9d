//! Tasks, worker stats and standing-priority cooldowns. The scheduler writes each batch of
//! changes in one transaction (one fsync), before any of them is announced.

use crate::workers::WorkerStats;
use hypernet_model::tasks::{Task, TaskId, TaskStatus};
use hypernet_store::{Store, StoreResult};
use redb::{ReadableTable, TableDefinition};
use std::collections::{BTreeMap, HashMap};

pub(crate) const TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("tasks");
pub(crate) const WORKERS: TableDefinition<&str, &[u8]> = TableDefinition::new("worker_stats");
pub(crate) const COOLDOWNS: TableDefinition<&str, u64> = TableDefinition::new("standing_cooldowns");
/// What people changed of the workers at run time: one record under [`ROSTER_KEY`].
pub(crate) const ROSTER: TableDefinition<&str, &[u8]> = TableDefinition::new("worker_roster");
const ROSTER_KEY: &str = "roster";
/// Every task filed with an `origin`, by origin: an origin files one task, ever, and the
/// scheduler keeps only the origins of the tasks it holds in memory.
pub(crate) const ORIGINS: TableDefinition<&str, u64> = TableDefinition::new("task_origins");

/// Creates this domain's tables when the store opens (a [`hypernet_store::CreateTables`]).
pub fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(TABLE)?;
    txn.open_table(WORKERS)?;
    txn.open_table(COOLDOWNS)?;
    txn.open_table(ORIGINS)?;
    txn.open_table(ROSTER)?;
    Ok(())
}

fn decode(bytes: &[u8]) -> Result<Task, redb::Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| redb::Error::Corrupted(format!("task record does not decode: {e}")))
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records always serialize")
}

/// One durable batch.
#[derive(Debug, Default)]
pub struct Batch<'a> {
    /// Tasks to write (new or changed).
    pub tasks: Vec<&'a Task>,
    /// Worker stats to write.
    pub workers: Vec<(&'a str, &'a WorkerStats)>,
    /// The full cooldown table, when it changed.
    pub cooldowns: Option<&'a BTreeMap<String, u64>>,
    /// What people changed of the workers, when it changed.
    pub roster: Option<&'a crate::scheduler::core::roster::Roster>,
    /// The budget's persisted spend, when it changed.
    pub budget: Option<(&'a crate::budget::Persisted, &'a crate::budget::DaySpend)>,
    /// The failure ladder's state, when it changed.
    pub ladder: Option<&'a crate::scheduler::ladder::Persisted>,
}

/// Which tasks a listing wants. Every set field must match.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Only these statuses (empty: any).
    pub statuses: Vec<TaskStatus>,
    /// Only finished tasks (completed, failed, cancelled).
    pub finished: bool,
    /// Only tasks carrying this tag.
    pub tag: Option<String>,
    /// Only tasks assigned to this worker (by name, any case).
    pub worker: Option<String>,
    /// Only tasks routed to this model.
    pub model: Option<String>,
    /// Only tasks whose title contains this text (any case).
    pub text: Option<String>,
    /// Only subtasks of this task.
    pub parent: Option<TaskId>,
}

impl TaskFilter {
    /// Whether `task` is wanted.
    pub fn matches(&self, task: &Task) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&task.status))
            && (!self.finished || !task.status.is_unfinished())
            && self.tag.as_ref().is_none_or(|t| task.tags.contains(t))
            && self.worker.as_ref().is_none_or(|w| {
                task.worker
                    .as_deref()
                    .is_some_and(|tw| tw.eq_ignore_ascii_case(w))
            })
            && self.model.as_ref().is_none_or(|m| &task.model == m)
            && self
                .text
                .as_ref()
                .is_none_or(|needle| task.title.to_lowercase().contains(&needle.to_lowercase()))
            && self.parent.is_none_or(|p| task.parent == Some(p))
    }
}

/// One page of a listing and how many match in all.
#[derive(Debug, Clone)]
pub struct TaskPage {
    /// The page, newest first.
    pub tasks: Vec<Task>,
    /// Tasks matching the filter.
    pub total: u64,
}

/// Writes a batch inside `txn` (the scheduler's commit, which also logs the batch's
/// events).
pub fn write_batch(txn: &redb::WriteTransaction, batch: &Batch<'_>) -> Result<(), redb::Error> {
    {
        let mut tasks = txn.open_table(TABLE)?;
        let mut origins = txn.open_table(ORIGINS)?;
        for task in &batch.tasks {
            tasks.insert(task.id.0, encode(task).as_slice())?;
            if let Some(origin) = &task.origin {
                origins.insert(origin.as_str(), task.id.0)?;
            }
        }
    }
    {
        let mut workers = txn.open_table(WORKERS)?;
        for (name, stats) in &batch.workers {
            workers.insert(*name, encode(stats).as_slice())?;
        }
    }
    if let Some(cooldowns) = batch.cooldowns {
        let mut table = txn.open_table(COOLDOWNS)?;
        for (title, at) in cooldowns {
            table.insert(title.as_str(), *at)?;
        }
    }
    if let Some(roster) = batch.roster {
        txn.open_table(ROSTER)?
            .insert(ROSTER_KEY, encode(roster).as_slice())?;
    }
    if let Some((budget, day)) = batch.budget {
        crate::budget::persist::write(txn, budget, day)?;
    }
    if let Some(ladder) = batch.ladder {
        crate::scheduler::ladder::persist::write(txn, ladder)?;
    }
    Ok(())
}

/// Tasks, worker stats and cooldowns, on the store.
pub trait TaskTables {
    /// Writes a batch in one transaction.
    fn save_batch(&self, batch: &Batch<'_>) -> StoreResult<()>;
    /// Calls `f` with every stored task, oldest first, decoding one at a time.
    fn for_each_task(&self, f: impl FnMut(Task)) -> StoreResult<()>;
    /// One task.
    fn task(&self, id: TaskId) -> StoreResult<Option<Task>>;
    /// The tasks matching `filter`, newest first, skipping `offset` and keeping at most
    /// `limit`, with the count of all that match.
    fn tasks(&self, filter: &TaskFilter, offset: usize, limit: usize) -> StoreResult<TaskPage>;
    /// The task filed with `origin`, if any.
    fn task_by_origin(&self, origin: &str) -> StoreResult<Option<TaskId>>;
    /// Indexes the origins of tasks stored before the index existed (those already indexed
    /// are left as they are).
    fn index_origins(&self, origins: &[(String, TaskId)]) -> StoreResult<()>;
    /// Stored worker stats by worker name.
    fn worker_stats(&self) -> StoreResult<HashMap<String, WorkerStats>>;
    /// Standing-priority cooldowns: title → when last filed.
    fn cooldowns(&self) -> StoreResult<BTreeMap<String, u64>>;
    /// What people changed of the workers (nothing when never changed).
    fn roster(&self) -> StoreResult<crate::scheduler::core::roster::Roster>;
}

impl TaskTables for Store {
    fn save_batch(&self, batch: &Batch<'_>) -> StoreResult<()> {
        self.write(|txn| write_batch(txn, batch))
    }

    fn for_each_task(&self, mut f: impl FnMut(Task)) -> StoreResult<()> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            for entry in table.iter()? {
                f(decode(entry?.1.value())?);
            }
            Ok(())
        })
    }

    fn task(&self, id: TaskId) -> StoreResult<Option<Task>> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            table.get(id.0)?.map(|v| decode(v.value())).transpose()
        })
    }

    fn tasks(&self, filter: &TaskFilter, offset: usize, limit: usize) -> StoreResult<TaskPage> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            let mut page = TaskPage {
                tasks: Vec::new(),
                total: 0,
            };
            for entry in table.iter()?.rev() {
                let task = decode(entry?.1.value())?;
                if filter.matches(&task) {
                    let index = page.total as usize;
                    if index >= offset && index - offset < limit {
                        page.tasks.push(task);
                    }
                    page.total += 1;
                }
            }
            Ok(page)
        })
    }

    fn task_by_origin(&self, origin: &str) -> StoreResult<Option<TaskId>> {
        self.read(|txn| {
            let table = txn.open_table(ORIGINS)?;
            Ok(table.get(origin)?.map(|v| TaskId(v.value())))
        })
    }

    fn index_origins(&self, origins: &[(String, TaskId)]) -> StoreResult<()> {
        let missing = self.read(|txn| {
            let table = txn.open_table(ORIGINS)?;
            let mut missing = Vec::new();
            for (origin, id) in origins {
                if table.get(origin.as_str())?.is_none() {
                    missing.push((origin.as_str(), *id));
                }
            }
            Ok(missing)
        })?;
        if missing.is_empty() {
            return Ok(());
        }
        self.write(|txn| {
            let mut table = txn.open_table(ORIGINS)?;
            for (origin, id) in &missing {
                table.insert(*origin, id.0)?;
            }
            Ok(())
        })
    }

    fn worker_stats(&self) -> StoreResult<HashMap<String, WorkerStats>> {
        self.read(|txn| {
            let table = txn.open_table(WORKERS)?;
            let mut out = HashMap::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                let stats = serde_json::from_slice(v.value()).map_err(|e| {
                    redb::Error::Corrupted(format!("worker stats do not decode: {e}"))
                })?;
                out.insert(k.value().to_owned(), stats);
            }
            Ok(out)
        })
    }

    fn roster(&self) -> StoreResult<crate::scheduler::core::roster::Roster> {
        self.read(|txn| {
            let table = txn.open_table(ROSTER)?;
            let Some(record) = table.get(ROSTER_KEY)? else {
                return Ok(Default::default());
            };
            serde_json::from_slice(record.value()).map_err(|e| {
                redb::Error::Corrupted(format!("the worker roster does not decode: {e}"))
            })
        })
    }

    fn cooldowns(&self) -> StoreResult<BTreeMap<String, u64>> {
        self.read(|txn| {
            let table = txn.open_table(COOLDOWNS)?;
            let mut out = BTreeMap::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                out.insert(k.value().to_owned(), v.value());
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_model::tasks::TaskSpec;

    fn task(id: u64, status: TaskStatus) -> Task {
        let mut t = Task::new(
            TaskId(id),
            TaskSpec {
                title: format!("t{id}"),
                ..TaskSpec::default()
            },
            vec![],
            "person",
            3,
            id,
        );
        t.status = status;
        t
    }

    #[test]
    fn batches_survive_reopen_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.redb");
        {
            let store = crate::persist::open_store(&path).unwrap();
            let (a, b, c) = (
                task(1, TaskStatus::Completed),
                task(2, TaskStatus::Ready),
                task(3, TaskStatus::Failed),
            );
            let stats = WorkerStats {
                tasks_done: 4,
                ..WorkerStats::default()
            };
            let cooldowns = BTreeMap::from([("Review".to_owned(), 99)]);
            store
                .save_batch(&Batch {
                    tasks: vec![&a, &b, &c],
                    workers: vec![("Trace", &stats)],
                    cooldowns: Some(&cooldowns),
                    ..Batch::default()
                })
                .unwrap();
        }
        let store = crate::persist::open_store(&path).unwrap();
        let mut seen = vec![];
        store.for_each_task(|t| seen.push(t.id.0)).unwrap();
        assert_eq!(seen, [1, 2, 3]);
        let ids = |page: TaskPage| page.tasks.iter().map(|t| t.id.0).collect::<Vec<_>>();
        let finished = TaskFilter {
            finished: true,
            ..TaskFilter::default()
        };
        let all_finished = store.tasks(&finished, 0, 10).unwrap();
        assert_eq!(all_finished.total, 2);
        assert_eq!(ids(all_finished), [3, 1]);
        let second = store.tasks(&finished, 1, 1).unwrap();
        assert_eq!((second.total, ids(second)), (2, vec![1]));
        let ready_or_failed = TaskFilter {
            statuses: vec![TaskStatus::Ready, TaskStatus::Failed],
            ..TaskFilter::default()
        };
        assert_eq!(ids(store.tasks(&ready_or_failed, 0, 10).unwrap()), [3, 2]);
        let titled = TaskFilter {
            text: Some("T2".into()),
            ..TaskFilter::default()
        };
        assert_eq!(ids(store.tasks(&titled, 0, 10).unwrap()), [2]);
        assert_eq!(store.worker_stats().unwrap()["Trace"].tasks_done, 4);
        assert_eq!(store.cooldowns().unwrap()["Review"], 99);
        assert_eq!(store.task(TaskId(2)).unwrap().unwrap().title, "t2");
    }

    #[test]
    fn a_written_task_s_origin_is_found_and_older_stores_are_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::persist::open_store(&dir.path().join("h.redb")).unwrap();
        let mut with_origin = task(1, TaskStatus::Completed);
        with_origin.origin = Some("channel:telegram:77".into());
        let without = task(2, TaskStatus::Completed);
        store
            .save_batch(&Batch {
                tasks: vec![&with_origin, &without],
                ..Batch::default()
            })
            .unwrap();
        assert_eq!(
            store.task_by_origin("channel:telegram:77").unwrap(),
            Some(TaskId(1))
        );
        assert_eq!(store.task_by_origin("channel:telegram:78").unwrap(), None);
        // Indexing adds what is missing and leaves what is there.
        store
            .index_origins(&[
                ("channel:telegram:77".into(), TaskId(9)),
                ("channel:telegram:78".into(), TaskId(3)),
            ])
            .unwrap();
        assert_eq!(
            store.task_by_origin("channel:telegram:77").unwrap(),
            Some(TaskId(1))
        );
        assert_eq!(
            store.task_by_origin("channel:telegram:78").unwrap(),
            Some(TaskId(3))
        );
    }
}
