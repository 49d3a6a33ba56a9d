//! The tasks alerts and reminders watch — ready, assigned, running, or waiting on a person
//! — with the moment each took its status. Seeded from the store at the start, then kept
//! up to date from the tasks' status events.

use hypernet_model::tasks::{Task, TaskId, TaskStatus};
use serde_json::Value;
use std::collections::BTreeMap;

/// A watched task.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    /// Its title.
    pub title: String,
    /// Its status: ready, assigned, running or needs_input.
    pub status: TaskStatus,
    /// Since when.
    pub since_ms: u64,
    /// The worker holding it (or that asked).
    pub worker: Option<String>,
    /// The question it waits on (needs_input).
    pub question: Option<String>,
    /// The approval request it waits on (needs_input).
    pub approval: Option<String>,
    /// Whether it was reported stuck in this status.
    pub reported: bool,
}

/// Whether the tracker keeps a task in `status`.
fn watched(status: TaskStatus) -> bool {
    matches!(
        status,
        TaskStatus::Ready | TaskStatus::Assigned | TaskStatus::Running | TaskStatus::NeedsInput
    )
}

/// The watched tasks.
#[derive(Debug, Default)]
pub struct Tracker {
    tasks: BTreeMap<TaskId, Tracked>,
}

impl Tracker {
    /// Starts over from the stored tasks (at the start, or after missing events): a running
    /// or assigned task counts from its call's start, a waiting one from its question, a
    /// ready one from `now_ms` (when it became ready is not stored).
    pub fn seed(&mut self, tasks: impl IntoIterator<Item = Task>, now_ms: u64) {
        self.tasks.clear();
        for task in tasks.into_iter().filter(|t| watched(t.status)) {
            let asked = task.clarifications.last().filter(|c| c.answer.is_none());
            let since_ms = match task.status {
                TaskStatus::Running | TaskStatus::Assigned => task.started_ms.unwrap_or(now_ms),
                TaskStatus::NeedsInput => asked.map_or(now_ms, |c| c.asked_ms),
                _ => now_ms,
            };
            let tracked = Tracked {
                title: task.title.clone(),
                status: task.status,
                since_ms: since_ms.min(now_ms),
                worker: asked.map(|c| c.asked_by.clone()).or(task.worker.clone()),
                question: asked.map(|c| c.question.clone()),
                approval: asked.and_then(|c| c.approval).map(|a| a.to_string()),
                reported: false,
            };
            self.tasks.insert(task.id, tracked);
        }
    }

    /// Follows a host event: a task's status event (`task.ready`, ... with `id` and
    /// `status`) starts, moves or ends its watch; other events change nothing.
    pub fn event(&mut self, kind: &str, payload: &Value, now_ms: u64) {
        if !kind.starts_with("task.") {
            return;
        }
        let (Ok(id), Ok(status)) = (
            serde_json::from_value::<TaskId>(payload["id"].clone()),
            serde_json::from_value::<TaskStatus>(payload["status"].clone()),
        ) else {
            return;
        };
        if !watched(status) {
            self.tasks.remove(&id);
            return;
        }
        let text = |key: &str| payload[key].as_str().map(str::to_owned);
        self.tasks.insert(
            id,
            Tracked {
                title: text("title").unwrap_or_default(),
                status,
                since_ms: now_ms,
                worker: text("worker"),
                question: text("question"),
                approval: text("approval"),
                reported: false,
            },
        );
    }

    /// Tasks in a stuck-prone status (ready, assigned, running) for at least `after_ms`
    /// and not reported yet; each is marked reported until its status changes.
    pub fn newly_stuck(&mut self, after_ms: u64, now_ms: u64) -> Vec<(TaskId, Tracked)> {
        let mut out = Vec::new();
        for (id, t) in &mut self.tasks {
            if t.status != TaskStatus::NeedsInput
                && !t.reported
                && now_ms.saturating_sub(t.since_ms) >= after_ms
            {
                t.reported = true;
                out.push((*id, t.clone()));
            }
        }
        out
    }

    /// Tasks waiting on a person, oldest first.
    pub fn waiting(&self) -> Vec<(TaskId, &Tracked)> {
        let mut out: Vec<_> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.status == TaskStatus::NeedsInput)
            .map(|(id, t)| (*id, t))
            .collect();
        out.sort_by_key(|(id, t)| (t.since_ms, *id));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::tests::task;
    use hypernet_model::tasks::Clarification;
    use serde_json::json;

    #[test]
    fn seeded_from_the_store_then_followed_by_events() {
        let mut running = task(1, TaskStatus::Running);
        running.started_ms = Some(100);
        let mut asking = task(2, TaskStatus::NeedsInput);
        asking.clarifications.push(Clarification {
            question: "Which wall?".into(),
            asked_by: "Coder".into(),
            asked_ms: 200,
            answer: None,
            answered_ms: None,
            approval: None,
        });
        let mut tracker = Tracker::default();
        tracker.seed(
            [
                running,
                asking,
                task(3, TaskStatus::Completed),
                task(4, TaskStatus::Ready),
            ],
            1_000,
        );
        let waiting = tracker.waiting();
        assert_eq!(waiting.len(), 1);
        assert_eq!((waiting[0].0, waiting[0].1.since_ms), (TaskId(2), 200));
        assert_eq!(waiting[0].1.question.as_deref(), Some("Which wall?"));
        assert_eq!(waiting[0].1.worker.as_deref(), Some("Coder"));
        // Running since 100, ready since the seed at 1000.
        let stuck: Vec<TaskId> = tracker
            .newly_stuck(500, 1_000)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(stuck, [TaskId(1)]);
        assert!(tracker.newly_stuck(500, 1_400).is_empty(), "reported once");
        let stuck: Vec<TaskId> = tracker
            .newly_stuck(500, 1_500)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(stuck, [TaskId(4)]);

        // T-1 completes; T-4 is assigned (a new status: watched anew); T-2 is answered.
        tracker.event(
            "task.completed",
            &json!({"id": "T-1", "status": "completed"}),
            2_000,
        );
        tracker.event(
            "task.assigned",
            &json!({"id": "T-4", "status": "assigned", "title": "t4", "worker": "Coder"}),
            2_000,
        );
        tracker.event(
            "task.ready",
            &json!({"id": "T-2", "status": "ready", "title": "t2"}),
            2_000,
        );
        tracker.event("task.signal", &json!({"task": "T-2", "signal": {}}), 2_000);
        assert!(tracker.waiting().is_empty());
        assert!(tracker.newly_stuck(500, 2_499).is_empty());
        let stuck: Vec<(TaskId, TaskStatus)> = tracker
            .newly_stuck(500, 2_500)
            .into_iter()
            .map(|(id, t)| (id, t.status))
            .collect();
        assert_eq!(
            stuck,
            [
                (TaskId(2), TaskStatus::Ready),
                (TaskId(4), TaskStatus::Assigned)
            ]
        );
        // A question from an event.
        tracker.event(
            "task.needs_input",
            &json!({"id": "T-4", "status": "needs_input", "title": "t4", "worker": "Coder", "question": "run?", "approval": "AQ-0001"}),
            3_000,
        );
        let waiting = tracker.waiting();
        assert_eq!(waiting[0].1.approval.as_deref(), Some("AQ-0001"));
        assert!(
            tracker
                .newly_stuck(0, 10_000)
                .iter()
                .all(|(id, _)| *id != TaskId(4)),
            "waiting is not stuck"
        );
    }
}
