//! The final status of every task that left memory, kept as runs of consecutive task ids
//! with the same status. Ids are handed out in sequence and most tasks complete, so a swarm
//! that finished a hundred thousand tasks holds a handful of runs: one per stretch of
//! completed ids, broken only where a task failed, was cancelled or is still held. Its size
//! follows the number of such breaks, not the number of tasks done.

use hypernet_model::tasks::{TaskId, TaskStatus};
use std::collections::BTreeMap;

/// Finished tasks' statuses by id, as runs `first..=last` of one status.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Finished {
    /// First id of each run → (last id of the run, the status of every id in it).
    runs: BTreeMap<u64, (u64, TaskStatus)>,
    /// How many ids are recorded with each status (indexed like `TaskStatus::ALL`).
    by_status: [u64; TaskStatus::ALL.len()],
}

impl Finished {
    /// The status recorded for `id`.
    pub(super) fn get(&self, id: TaskId) -> Option<TaskStatus> {
        let (_, &(last, status)) = self.runs.range(..=id.0).next_back()?;
        (id.0 <= last).then_some(status)
    }

    /// Records `id` with `status`, replacing what was recorded for it.
    pub(super) fn insert(&mut self, id: TaskId, status: TaskStatus) {
        self.remove(id);
        self.by_status[status as usize] += 1;
        let id = id.0;
        let mut first = id;
        let mut last = id;
        // Join the run ending just before `id`, and the one starting just after it.
        if let Some(before) = id.checked_sub(1)
            && let Some((&start, &(end, s))) = self.runs.range(..=before).next_back()
            && end == before
            && s == status
        {
            self.runs.remove(&start);
            first = start;
        }
        if let Some(after) = id.checked_add(1)
            && let Some(&(end, s)) = self.runs.get(&after)
            && s == status
        {
            self.runs.remove(&after);
            last = end;
        }
        self.runs.insert(first, (last, status));
    }

    /// Forgets `id` (it is held in memory again); returns what was recorded for it.
    pub(super) fn remove(&mut self, id: TaskId) -> Option<TaskStatus> {
        let id = id.0;
        let (&start, &(end, status)) = self.runs.range(..=id).next_back()?;
        if id > end {
            return None;
        }
        self.runs.remove(&start);
        self.by_status[status as usize] -= 1;
        if start < id {
            self.runs.insert(start, (id - 1, status));
        }
        if id < end {
            self.runs.insert(id + 1, (end, status));
        }
        Some(status)
    }

    /// How many ids are recorded with each status, for the statuses that have any.
    pub(super) fn counts(&self) -> impl Iterator<Item = (TaskStatus, u64)> + '_ {
        TaskStatus::ALL
            .into_iter()
            .zip(self.by_status)
            .filter(|(_, n)| *n > 0)
    }

    /// How many ids are recorded.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.runs
            .iter()
            .map(|(first, (last, _))| (last - first + 1) as usize)
            .sum()
    }

    /// How many runs hold them (what the memory they take grows with).
    #[cfg(test)]
    pub(super) fn runs(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskStatus::{Cancelled, Completed, Failed};

    #[test]
    fn consecutive_ids_of_one_status_make_one_run_whatever_their_order() {
        let mut f = Finished::default();
        for id in [3, 1, 2, 5, 4] {
            f.insert(TaskId(id), Completed);
        }
        assert_eq!(f.runs(), 1);
        assert_eq!(f.len(), 5);
        for id in 1..=5 {
            assert_eq!(f.get(TaskId(id)), Some(Completed), "T-{id}");
        }
        assert_eq!(f.get(TaskId(0)), None);
        assert_eq!(f.get(TaskId(6)), None);
    }

    #[test]
    fn a_hundred_thousand_completed_tasks_take_one_run() {
        let mut f = Finished::default();
        for id in 1..=100_000 {
            f.insert(TaskId(id), Completed);
        }
        assert_eq!(f.runs(), 1);
        assert_eq!(f.len(), 100_000);
        assert_eq!(f.get(TaskId(1)), Some(Completed));
        assert_eq!(f.get(TaskId(100_000)), Some(Completed));
    }

    #[test]
    fn another_status_or_a_held_task_breaks_a_run_and_every_id_keeps_its_own() {
        let mut f = Finished::default();
        for id in 1..=10 {
            let status = match id {
                4 => Failed,
                7 => Cancelled,
                _ => Completed,
            };
            if id != 9 {
                f.insert(TaskId(id), status);
            }
        }
        // 1-3 completed, 4 failed, 5-6 completed, 7 cancelled, 8 completed, 10 completed.
        assert_eq!(f.runs(), 6);
        assert_eq!(f.get(TaskId(4)), Some(Failed));
        assert_eq!(f.get(TaskId(7)), Some(Cancelled));
        assert_eq!(f.get(TaskId(8)), Some(Completed));
        assert_eq!(f.get(TaskId(9)), None, "still held");
        f.insert(TaskId(9), Completed);
        assert_eq!(f.runs(), 5, "8-10 joined");
        assert_eq!(f.len(), 10);
    }

    #[test]
    fn removing_splits_a_run_and_recording_again_joins_it() {
        let mut f = Finished::default();
        for id in 1..=9 {
            f.insert(TaskId(id), Completed);
        }
        assert_eq!(f.remove(TaskId(5)), Some(Completed));
        assert_eq!(f.remove(TaskId(5)), None, "only once");
        assert_eq!(f.get(TaskId(5)), None);
        assert_eq!(f.get(TaskId(4)), Some(Completed));
        assert_eq!(f.get(TaskId(6)), Some(Completed));
        assert_eq!(f.runs(), 2);
        assert_eq!(f.len(), 8);
        // Retried by hand and failed again: its own run between the two.
        f.insert(TaskId(5), Failed);
        assert_eq!(f.runs(), 3);
        f.insert(TaskId(5), Completed);
        assert_eq!(f.runs(), 1);
        assert_eq!(f.len(), 9);
        // The ends of a run.
        f.remove(TaskId(1));
        f.remove(TaskId(9));
        assert_eq!((f.runs(), f.len()), (1, 7));
        assert_eq!(f.get(TaskId(1)), None);
        assert_eq!(f.get(TaskId(2)), Some(Completed));
        assert_eq!(f.get(TaskId(8)), Some(Completed));
        assert_eq!(f.get(TaskId(9)), None);
    }

    #[test]
    fn recording_an_id_again_replaces_its_status() {
        let mut f = Finished::default();
        f.insert(TaskId(1), Completed);
        f.insert(TaskId(2), Failed);
        f.insert(TaskId(3), Completed);
        f.insert(TaskId(2), Completed);
        assert_eq!((f.runs(), f.len()), (1, 3));
        f.insert(TaskId(2), Cancelled);
        assert_eq!((f.runs(), f.len()), (3, 3));
        assert_eq!(f.get(TaskId(2)), Some(Cancelled));
        assert_eq!(
            f.counts().collect::<Vec<_>>(),
            [(Completed, 2), (Cancelled, 1)],
            "counted by status, each id once"
        );
        f.remove(TaskId(1));
        f.remove(TaskId(1));
        assert_eq!(
            f.counts().collect::<Vec<_>>(),
            [(Completed, 1), (Cancelled, 1)]
        );
    }

    #[test]
    fn the_largest_id_is_no_edge_case() {
        let mut f = Finished::default();
        f.insert(TaskId(u64::MAX), Completed);
        f.insert(TaskId(u64::MAX - 1), Completed);
        f.insert(TaskId(0), Completed);
        assert_eq!(f.runs(), 2);
        assert_eq!(f.get(TaskId(u64::MAX)), Some(Completed));
        assert_eq!(f.remove(TaskId(u64::MAX)), Some(Completed));
        assert_eq!(f.get(TaskId(u64::MAX - 1)), Some(Completed));
    }
}
