//! The console's calls to the host: the reads of one refresh, and the changes a person
//! asks for with a key ([`Request`]). What each change posts and how its answer reads are
//! plain functions; [`send`] and [`refresh`] only move them over HTTP.

use super::filter::Filter;
use super::snapshot::{Answers, Snapshot};
use crate::client::Client;
use crate::format::url_part;
use crate::tasks::parse;
use anyhow::Result;
use hypernet_model::tasks::{Task, TaskId, TaskStatus};
use hypernet_swarm::approvals::{Approval, ApprovalId};
use hypernet_swarm::workers::WorkerView;
use serde_json::{Value, json};

/// Tasks the board asks for.
pub const BOARD_LIMIT: usize = 200;

/// A change a person asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// File a task with this title.
    File {
        /// Its title.
        title: String,
    },
    /// Cancel a task.
    Cancel(TaskId),
    /// Queue a failed or cancelled task again.
    Retry(TaskId),
    /// Answer the question a task waits on.
    Answer {
        /// The task.
        task: TaskId,
        /// The answer.
        answer: String,
    },
    /// Approve a held action.
    Approve(ApprovalId),
    /// Deny a held action, telling the worker why when a reason is given.
    Deny {
        /// The request.
        id: ApprovalId,
        /// Why.
        reason: Option<String>,
    },
    /// Stop giving a worker new tasks.
    Pause(String),
    /// Give a paused worker tasks again.
    Resume(String),
    /// Add a worker.
    AddWorker {
        /// Its name.
        name: String,
        /// Its model (the scheduler's default when absent).
        model: Option<String>,
    },
    /// Remove a worker.
    RemoveWorker(String),
    /// Start a plugin.
    Enable(String),
    /// Stop a plugin.
    Disable(String),
}

impl Request {
    /// The route it posts to.
    pub fn path(&self) -> String {
        let worker = |name: &str, what: &str| format!("/api/workers/{}/{what}", url_part(name));
        let plugin = |name: &str, what: &str| format!("/api/plugins/{}/{what}", url_part(name));
        match self {
            Request::File { .. } => "/api/tasks".into(),
            Request::Cancel(id) => format!("/api/tasks/{id}/cancel"),
            Request::Retry(id) => format!("/api/tasks/{id}/retry"),
            Request::Answer { task, .. } => format!("/api/tasks/{task}/answer"),
            Request::Approve(id) => format!("/api/approvals/{id}/approve"),
            Request::Deny { id, .. } => format!("/api/approvals/{id}/deny"),
            Request::Pause(name) => worker(name, "pause"),
            Request::Resume(name) => worker(name, "resume"),
            Request::RemoveWorker(name) => worker(name, "remove"),
            Request::AddWorker { .. } => "/api/workers".into(),
            Request::Enable(name) => plugin(name, "enable"),
            Request::Disable(name) => plugin(name, "disable"),
        }
    }

    /// The JSON it posts, for the routes that take a body.
    pub fn body(&self) -> Option<Value> {
        match self {
            Request::File { title } => Some(json!({ "title": title })),
            Request::Answer { answer, .. } => Some(json!({ "answer": answer })),
            Request::Deny { reason, .. } => Some(json!({ "reason": reason })),
            Request::AddWorker { name, model } => Some(json!({ "name": name, "model": model })),
            _ => None,
        }
    }

    /// What was asked, for a refusal: `cancel T-4`.
    pub fn describe(&self) -> String {
        match self {
            Request::File { title } => format!("file \"{title}\""),
            Request::Cancel(id) => format!("cancel {id}"),
            Request::Retry(id) => format!("retry {id}"),
            Request::Answer { task, .. } => format!("answer {task}"),
            Request::Approve(id) => format!("approve {id}"),
            Request::Deny { id, .. } => format!("deny {id}"),
            Request::Pause(name) => format!("pause {name}"),
            Request::Resume(name) => format!("resume {name}"),
            Request::AddWorker { name, .. } => format!("add worker {name}"),
            Request::RemoveWorker(name) => format!("remove {name}"),
            Request::Enable(name) => format!("enable {name}"),
            Request::Disable(name) => format!("disable {name}"),
        }
    }

    /// How the host's answer reads, in the words of the matching CLI command.
    pub fn done(&self, answer: &Value) -> Result<String> {
        let task = |target| -> Result<String> {
            Ok(crate::tasks::moved(
                &parse::<Task>(answer, "a task")?,
                target,
            ))
        };
        let worker = |text: fn(&WorkerView) -> String| -> Result<String> {
            Ok(text(&parse(answer, "a worker")?))
        };
        match self {
            Request::File { .. } => {
                let id = answer["id"].as_str().unwrap_or("?");
                Ok(if answer["created"].as_bool().unwrap_or(true) {
                    format!("filed {id}")
                } else {
                    format!("{id} already exists (duplicate of an unfinished task)")
                })
            }
            Request::Cancel(_) => task(TaskStatus::Cancelled),
            Request::Retry(_) | Request::Answer { .. } => task(TaskStatus::Ready),
            Request::Approve(_) | Request::Deny { .. } => {
                Ok(crate::approvals::decided(&parse::<Approval>(
                    answer,
                    "an approval request",
                )?))
            }
            Request::Pause(_) => worker(crate::tasks::paused),
            Request::Resume(_) => worker(crate::tasks::resumed),
            Request::RemoveWorker(_) => worker(crate::tasks::removed),
            Request::AddWorker { .. } => worker(crate::tasks::added),
            Request::Enable(name) | Request::Disable(name) => {
                Ok(format!("{name}: {}", crate::plugins::state_text(answer)))
            }
        }
    }

    /// The task a filing made, to select it on the board.
    pub fn filed(&self, answer: &Value) -> Option<TaskId> {
        match self {
            Request::File { .. } => answer["id"].as_str()?.parse().ok(),
            _ => None,
        }
    }
}

/// Sends `request`; its answer, or the host's refusal.
pub async fn send(client: &Client, request: &Request) -> Result<Value> {
    client.post(&request.path(), request.body().as_ref()).await
}

/// Reads everything the console shows, at once.
pub async fn refresh(client: &Client, filter: &Filter) -> Result<Snapshot> {
    let every = hypernet_api::page::MAX_LIMIT;
    let board = filter.path(BOARD_LIMIT);
    let workers = format!("/api/workers?limit={every}");
    let plugins = format!("/api/plugins?limit={every}");
    let (status, tasks, questions, workers, budget, approvals, plugins) = tokio::try_join!(
        client.get("/api/status"),
        client.get(&board),
        client.get("/api/tasks?status=needs_input&limit=100"),
        client.get(&workers),
        client.get("/api/budget"),
        client.get("/api/approvals?status=pending&limit=100"),
        client.get(&plugins),
    )?;
    Snapshot::parse(&Answers {
        status,
        tasks,
        questions,
        workers,
        budget,
        approvals,
        plugins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_posts_to_its_route() {
        let cases = [
            (
                Request::File { title: "A".into() },
                "/api/tasks",
                Some(json!({"title": "A"})),
            ),
            (Request::Cancel(TaskId(4)), "/api/tasks/T-4/cancel", None),
            (Request::Retry(TaskId(4)), "/api/tasks/T-4/retry", None),
            (
                Request::Answer {
                    task: TaskId(4),
                    answer: "the users".into(),
                },
                "/api/tasks/T-4/answer",
                Some(json!({"answer": "the users"})),
            ),
            (
                Request::Approve(ApprovalId(1)),
                "/api/approvals/AQ-0001/approve",
                None,
            ),
            (
                Request::Deny {
                    id: ApprovalId(1),
                    reason: None,
                },
                "/api/approvals/AQ-0001/deny",
                Some(json!({"reason": null})),
            ),
            (
                Request::Pause("Ada Lo".into()),
                "/api/workers/Ada%20Lo/pause",
                None,
            ),
            (
                Request::Resume("Ada".into()),
                "/api/workers/Ada/resume",
                None,
            ),
            (
                Request::RemoveWorker("Ada".into()),
                "/api/workers/Ada/remove",
                None,
            ),
            (
                Request::AddWorker {
                    name: "Cy".into(),
                    model: None,
                },
                "/api/workers",
                Some(json!({"name": "Cy", "model": null})),
            ),
            (
                Request::Enable("example".into()),
                "/api/plugins/example/enable",
                None,
            ),
            (
                Request::Disable("example".into()),
                "/api/plugins/example/disable",
                None,
            ),
        ];
        for (request, path, body) in cases {
            assert_eq!(request.path(), path, "{request:?}");
            assert_eq!(request.body(), body, "{request:?}");
        }
    }

    #[test]
    fn answers_read_as_the_cli_says_them() {
        let file = Request::File { title: "A".into() };
        let filed = json!({"id": "T-7", "created": true});
        assert_eq!(file.done(&filed).unwrap(), "filed T-7");
        assert_eq!(file.filed(&filed), Some(TaskId(7)));
        let again = json!({"id": "T-7", "created": false});
        assert!(file.done(&again).unwrap().contains("already exists"));

        let task = json!({"id": "T-4", "title": "x", "description": "", "priority": "normal",
                          "status": "cancelled", "attempts": 1, "max_attempts": 3,
                          "filed_by": "person", "created_ms": 0});
        assert_eq!(
            Request::Cancel(TaskId(4)).done(&task).unwrap(),
            "T-4: cancelled"
        );
        assert_eq!(
            Request::Retry(TaskId(4)).done(&task).unwrap(),
            "T-4: ready (now cancelled)"
        );
        assert_eq!(Request::Cancel(TaskId(4)).filed(&task), None);

        let worker = json!({"name": "Ada", "address": "2.1.ada", "account": "2.1", "role": "",
                            "capabilities": [], "model": "sim/default", "current_task": null,
                            "next_task": null, "stats": {"tasks_done": 0, "tasks_failed": 0,
                            "tokens": 0, "cost_micros": 0, "last_active_ms": null}});
        assert_eq!(
            Request::Pause("Ada".into()).done(&worker).unwrap(),
            "Ada: paused"
        );
        assert_eq!(
            Request::AddWorker {
                name: "Ada".into(),
                model: None
            }
            .done(&worker)
            .unwrap(),
            "Ada: added (model sim/default)"
        );
        let plugin = json!({"name": "example", "state": "disabled"});
        assert_eq!(
            Request::Disable("example".into()).done(&plugin).unwrap(),
            "example: disabled"
        );
        let err = Request::Pause("Ada".into())
            .done(&json!({"error": "odd"}))
            .unwrap_err();
        assert!(err.to_string().contains("not a worker"), "{err}");
        assert_eq!(Request::RemoveWorker("Cy".into()).describe(), "remove Cy");
    }
}
