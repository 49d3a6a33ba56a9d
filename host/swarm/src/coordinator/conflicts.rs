//! Conflicts between the tasks workers hold.
//!
//! - `task_overlap` (high): one task held by more than one worker;
//! - `resource_contention` (medium): two running tasks share a tag, not counting the
//!   routine tags `test`, `testing`, `automated`, `code` and `docs`.

use hypernet_model::tasks::TaskId;
use serde::Serialize;

/// Tags too common to signal contention.
pub const IGNORED_TAGS: [&str; 5] = ["test", "testing", "automated", "code", "docs"];

/// A task held by a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    /// The task.
    pub task: TaskId,
    /// The worker holding it.
    pub worker: String,
    /// The task's tags.
    pub tags: Vec<String>,
    /// Whether its call is running (a reserved next call is held but not running).
    pub running: bool,
}

/// A detected conflict.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct Conflict {
    /// `task_overlap` or `resource_contention`.
    pub kind: &'static str,
    /// `high` or `medium`.
    pub severity: &'static str,
    /// The tasks involved, in id order.
    pub tasks: Vec<TaskId>,
    /// The workers involved.
    pub workers: Vec<String>,
    /// The shared tags (contention only).
    pub tags: Vec<String>,
}

impl Conflict {
    /// What identifies the conflict across detections.
    pub fn key(&self) -> (&'static str, Vec<TaskId>) {
        (self.kind, self.tasks.clone())
    }
}

/// Every conflict among `held`, overlaps first.
pub fn detect(held: &[Holding]) -> Vec<Conflict> {
    let mut out = Vec::new();
    let mut by_task: Vec<&Holding> = held.iter().collect();
    by_task.sort_by_key(|h| h.task);
    for group in by_task.chunk_by(|a, b| a.task == b.task) {
        let mut workers: Vec<String> = group.iter().map(|h| h.worker.clone()).collect();
        workers.sort();
        workers.dedup();
        if workers.len() > 1 {
            out.push(Conflict {
                kind: "task_overlap",
                severity: "high",
                tasks: vec![group[0].task],
                workers,
                tags: Vec::new(),
            });
        }
    }
    let mut running: Vec<&Holding> = held.iter().filter(|h| h.running).collect();
    running.sort_by_key(|h| h.task);
    running.dedup_by_key(|h| h.task);
    let counted = |t: &String| !IGNORED_TAGS.iter().any(|i| t.eq_ignore_ascii_case(i));
    for (i, a) in running.iter().enumerate() {
        for b in &running[i + 1..] {
            let mut shared: Vec<String> = a
                .tags
                .iter()
                .filter(|t| counted(t) && b.tags.iter().any(|u| u.eq_ignore_ascii_case(t)))
                .cloned()
                .collect();
            shared.dedup();
            if !shared.is_empty() {
                out.push(Conflict {
                    kind: "resource_contention",
                    severity: "medium",
                    tasks: vec![a.task, b.task],
                    workers: vec![a.worker.clone(), b.worker.clone()],
                    tags: shared,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(task: u64, worker: &str, tags: &[&str], running: bool) -> Holding {
        Holding {
            task: TaskId(task),
            worker: worker.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            running,
        }
    }

    #[test]
    fn a_task_held_twice_is_a_high_overlap() {
        let found = detect(&[
            h(1, "b", &[], true),
            h(2, "c", &[], true),
            h(1, "a", &[], false),
        ]);
        assert_eq!(
            found,
            vec![Conflict {
                kind: "task_overlap",
                severity: "high",
                tasks: vec![TaskId(1)],
                workers: vec!["a".into(), "b".into()],
                tags: vec![],
            }]
        );
    }

    #[test]
    fn running_tasks_sharing_a_meaningful_tag_contend() {
        let found = detect(&[
            h(1, "a", &["code", "billing", "db"], true),
            h(2, "b", &["Billing", "docs"], true),
            h(
                3,
                "c",
                &["code", "docs", "testing", "test", "automated"],
                true,
            ),
            h(4, "d", &["code", "db"], false),
        ]);
        assert_eq!(
            found,
            vec![Conflict {
                kind: "resource_contention",
                severity: "medium",
                tasks: vec![TaskId(1), TaskId(2)],
                workers: vec!["a".into(), "b".into()],
                tags: vec!["billing".into()],
            }],
            "ignored tags never contend; a reserved (not running) task does not either"
        );
        assert!(detect(&[]).is_empty());
    }
}
