//! What the console last read from the host: one refresh's answers of the API, parsed into
//! the host's own types.

use crate::tasks::{Listed, parse};
use anyhow::Result;
use hypernet_model::tasks::{Clarification, Task};
use hypernet_swarm::approvals::Approval;
use hypernet_swarm::budget::BudgetView;
use hypernet_swarm::workers::WorkerView;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The raw answers of one refresh, route by route.
#[derive(Debug, Clone)]
pub struct Answers {
    /// `GET /api/status`.
    pub status: Value,
    /// `GET /api/tasks` with the board's filter.
    pub tasks: Value,
    /// `GET /api/tasks?status=needs_input`.
    pub questions: Value,
    /// `GET /api/workers`.
    pub workers: Value,
    /// `GET /api/budget`.
    pub budget: Value,
    /// `GET /api/approvals?status=pending`.
    pub approvals: Value,
    /// `GET /api/plugins`.
    pub plugins: Value,
}

/// A plugin as the plugins pane shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Plugin {
    /// Its name in the manifest.
    pub name: String,
    /// `loaded`, `disabled` or `failed`.
    pub state: String,
    /// Why it failed.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Plugin {
    /// Whether it runs (the toggle then disables it).
    pub fn loaded(&self) -> bool {
        self.state == "loaded"
    }
}

#[derive(Debug, Deserialize)]
struct Status {
    tasks: BTreeMap<String, u64>,
    #[serde(default)]
    finished: BTreeMap<String, u64>,
}

/// The host as of one refresh.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Unfinished tasks by status.
    pub open: BTreeMap<String, u64>,
    /// Finished tasks by status.
    pub finished: BTreeMap<String, u64>,
    /// The board: the newest tasks the filter keeps.
    pub tasks: Vec<Task>,
    /// How many tasks the filter keeps in all.
    pub tasks_total: u64,
    /// Tasks waiting for a person (`needs_input`).
    pub waiting_tasks: Vec<Task>,
    /// The workers.
    pub workers: Vec<WorkerView>,
    /// Spend and limits.
    pub budget: BudgetView,
    /// Approval requests still pending, newest first.
    pub approvals: Vec<Approval>,
    /// The plugins, in load order.
    pub plugins: Vec<Plugin>,
}

impl Snapshot {
    /// Reads one refresh's answers; the error names the answer that is not what it should be.
    pub fn parse(a: &Answers) -> Result<Snapshot> {
        let status: Status = parse(&a.status, "a status")?;
        let tasks: Listed<Task> = parse(&a.tasks, "a task list")?;
        let waiting: Listed<Task> = parse(&a.questions, "a task list")?;
        let workers: Listed<WorkerView> = parse(&a.workers, "a worker list")?;
        let approvals: Listed<Approval> = parse(&a.approvals, "a page of approval requests")?;
        let plugins: Listed<Plugin> = parse(&a.plugins, "a plugin list")?;
        Ok(Snapshot {
            open: status.tasks,
            finished: status.finished,
            tasks: tasks.items,
            tasks_total: tasks.total,
            waiting_tasks: waiting.items,
            workers: workers.items,
            budget: parse(&a.budget, "a budget")?,
            approvals: approvals.items,
            plugins: plugins.items,
        })
    }

    /// The tasks that wait on a question a person answers (not on an approval), with it.
    pub fn questions(&self) -> impl Iterator<Item = (&Task, &Clarification)> {
        self.waiting_tasks
            .iter()
            .filter_map(|t| Some((t, open_question(t)?)))
    }
}

/// The question `task` waits on for an answer: its last clarification, unanswered and not
/// an approval request.
pub fn open_question(task: &Task) -> Option<&Clarification> {
    task.clarifications
        .last()
        .filter(|c| c.answer.is_none() && c.approval.is_none())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    /// One refresh's answers as a host with two workers, a question and an approval sends
    /// them.
    pub fn answers() -> Answers {
        let question = json!({
            "id": "T-3", "title": "Survey the north wall", "description": "", "priority": "high",
            "status": "needs_input", "worker": "Ada", "attempts": 1, "max_attempts": 3,
            "filed_by": "person", "created_ms": 1000,
            "clarifications": [{"question": "Who is it for?", "asked_by": "Ada", "asked_ms": 2000}],
        });
        let held = json!({
            "id": "T-2", "title": "Tell the operator", "description": "", "priority": "normal",
            "status": "needs_input", "worker": "Bo", "attempts": 0, "max_attempts": 3,
            "filed_by": "person", "created_ms": 900,
            "clarifications": [{"question": "May I send a message?", "asked_by": "Bo",
                                "asked_ms": 2100, "approval": "AQ-0001"}],
        });
        let running = json!({
            "id": "T-4", "title": "Paint the gate", "description": "", "priority": "low",
            "status": "running", "worker": "Bo", "model": "sim/default", "attempts": 1,
            "max_attempts": 3, "filed_by": "person", "created_ms": 1100,
        });
        let done = json!({
            "id": "T-1", "title": "Count the stones", "description": "", "priority": "normal",
            "status": "completed", "worker": "Ada", "attempts": 1, "max_attempts": 3,
            "filed_by": "person", "created_ms": 500,
            "result": {"text": "There are 42 stones.\nAll of them grey.", "model": "sim/default",
                       "input_tokens": 10, "output_tokens": 20, "cost_micros": 0, "simulated": true},
        });
        let worker = |name: &str, task: Option<&str>, paused: bool| {
            json!({
                "name": name, "address": format!("2.1.{}", name.to_lowercase()), "account": "2.1",
                "role": "", "capabilities": [], "model": "sim/default", "current_task": task,
                "next_task": null, "paused": paused,
                "stats": {"tasks_done": 1, "tasks_failed": 0, "tokens": 30, "cost_micros": 0,
                          "last_active_ms": null, "work_since_personal": 0},
            })
        };
        let page = |items: Vec<Value>| json!({"total": items.len(), "offset": 0, "limit": 100, "items": items});
        Answers {
            status: json!({"tasks": {"needs_input": 2, "running": 1}, "finished": {"completed": 1},
                           "workers": {"total": 2, "busy": 1}, "plugins": {"loaded": 2},
                           "batches_written": 1, "uptime_ms": 1000}),
            tasks: page(vec![running, question.clone(), held.clone(), done]),
            questions: page(vec![question, held]),
            workers: page(vec![
                worker("Ada", None, true),
                worker("Bo", Some("T-4"), false),
            ]),
            budget: json!({"daily_limit_micros": 5_000_000, "session_limit_micros": null,
                           "spent_today_micros": 1_250_000, "spent_session_micros": 1_250_000,
                           "reserved_micros": 0, "reservations": 0, "next_reset_ms": 0,
                           "paused": false, "per_model": {}, "per_worker": {}}),
            approvals: page(vec![json!({
                "id": "AQ-0001", "task": "T-2", "worker": "Bo", "tool": "send_message",
                "args": {"to": "operator", "body": "Working on it"}, "reason": "send_message needs approval",
                "status": "pending", "created_ms": 2100, "expires_ms": 90_000_000,
            })]),
            plugins: page(vec![
                json!({"name": "provider-sim", "state": "loaded", "kinds": ["provider"]}),
                json!({"name": "example", "state": "disabled", "kinds": ["subsystem"]}),
                json!({"name": "herald", "state": "failed", "reason": "no key"}),
            ]),
        }
    }

    #[test]
    fn a_refresh_reads_every_answer() {
        let s = Snapshot::parse(&answers()).unwrap();
        assert_eq!(s.open["needs_input"], 2);
        assert_eq!(s.finished["completed"], 1);
        let ids: Vec<String> = s.tasks.iter().map(|t| t.id.to_string()).collect();
        assert_eq!(ids, ["T-4", "T-3", "T-2", "T-1"]);
        assert_eq!(s.tasks_total, 4);
        assert!(s.workers[0].paused && s.workers[1].current_task.as_deref() == Some("T-4"));
        assert_eq!(s.budget.spent_today_micros, 1_250_000);
        assert_eq!(s.approvals[0].id.to_string(), "AQ-0001");
        assert!(s.plugins[0].loaded() && !s.plugins[1].loaded());
        assert_eq!(s.plugins[2].reason.as_deref(), Some("no key"));
        // The task held for approval is no question to answer.
        let questions: Vec<String> = s
            .questions()
            .map(|(t, q)| format!("{} {}", t.id, q.question))
            .collect();
        assert_eq!(questions, ["T-3 Who is it for?"]);
    }

    #[test]
    fn an_answer_of_the_wrong_shape_is_named() {
        let mut bad = answers();
        bad.workers = json!({"items": "none"});
        let err = Snapshot::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("not a worker list"), "{err}");
    }
}
