//! The built-in tools, harmless reads of the task store (tier 0): `task_info` (one task by
//! id) and `list_tasks` (tasks by status, newest first, bounded).

use super::{Requirement, Tier, Tool, ToolContext, ToolError, ToolRegistry};
use crate::persist::TaskTables;
use crate::scheduler::persist::TaskFilter;
use futures_util::future::BoxFuture;
use hypernet_model::tasks::{Task, TaskId, TaskStatus};
use hypernet_store::Store;
use serde_json::{Value, json};

/// Longest result text `task_info` shows, in characters.
pub const RESULT_CHARS: usize = 2000;

/// Most tasks `list_tasks` lists.
pub const LIST_MAX: usize = 50;

/// A registry holding the built-in tools over `store`.
pub fn registry(store: &Store) -> ToolRegistry {
    let mut reg = ToolRegistry::new();
    reg.register(TaskInfo(store.clone()))
        .register(ListTasks(store.clone()));
    reg
}

/// Reads one task: title, status, worker, error and its result text (truncated).
pub struct TaskInfo(pub Store);

/// Lists tasks of one status, newest first.
pub struct ListTasks(pub Store);

fn bad(tool: &str, reason: impl Into<String>) -> ToolError {
    ToolError::BadArguments {
        tool: tool.into(),
        reason: reason.into(),
    }
}

fn failed(tool: &str, reason: impl std::fmt::Display) -> ToolError {
    ToolError::Failed {
        tool: tool.into(),
        reason: reason.to_string(),
    }
}

/// Runs a store read off the async threads.
async fn read<T: Send + 'static>(
    tool: &'static str,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, ToolError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| failed(tool, e))?
        .map_err(|e| failed(tool, e))
}

fn truncated(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!(
            "{}… [truncated, {} characters in all]",
            &text[..cut],
            text.chars().count()
        ),
        None => text.to_owned(),
    }
}

fn describe(task: &Task) -> Value {
    json!({
        "id": task.id,
        "title": task.title,
        "status": task.status,
        "worker": task.worker,
        "error": task.error,
        "result": task.result.as_ref().map(|r| truncated(&r.text, RESULT_CHARS)),
    })
}

impl Tool for TaskInfo {
    fn outside(&self) -> bool {
        false
    }
    fn name(&self) -> &str {
        "task_info"
    }

    fn description(&self) -> &str {
        "Reads one task of the swarm by id: title, status, worker, last error and result text (truncated)."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {"id": {"type": "string", "description": "The task id, e.g. T-4"}},
            "required": ["id"]
        })
    }

    fn requirement(&self, _: &Value) -> Option<Requirement> {
        Some(Requirement::at(Tier::ReadOnly))
    }

    fn call<'a>(
        &'a self,
        _: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move {
            let name = "task_info";
            let id: TaskId = match &args["id"] {
                Value::String(s) => s.parse().map_err(|e| bad(name, format!("`id`: {e}")))?,
                Value::Number(n) => TaskId(
                    n.as_u64()
                        .ok_or_else(|| bad(name, format!("`id`: {n} is not a task id")))?,
                ),
                Value::Null => return Err(bad(name, "missing field `id`")),
                other => {
                    return Err(bad(
                        name,
                        format!("`id` must be a string like T-4, not {other}"),
                    ));
                }
            };
            let store = self.0.clone();
            let task = read(name, move || store.task(id).map_err(|e| e.to_string())).await?;
            match task {
                Some(task) => Ok(describe(&task).to_string()),
                None => Err(failed(name, format!("no task {id}"))),
            }
        })
    }
}

impl Tool for ListTasks {
    fn outside(&self) -> bool {
        false
    }
    fn name(&self) -> &str {
        "list_tasks"
    }

    fn description(&self) -> &str {
        "Lists tasks of the swarm with one status (pending, blocked, ready, assigned, running, completed, failed, cancelled), newest first: id, title, worker."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "status": {"type": "string", "description": "Which status"},
                "limit": {"type": "integer", "minimum": 1, "maximum": LIST_MAX, "description": "At most this many (default 20)"}
            },
            "required": ["status"]
        })
    }

    fn requirement(&self, _: &Value) -> Option<Requirement> {
        Some(Requirement::at(Tier::ReadOnly))
    }

    fn call<'a>(
        &'a self,
        _: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move {
            let name = "list_tasks";
            let status: TaskStatus = match &args["status"] {
                Value::Null => return Err(bad(name, "missing field `status`")),
                v => serde_json::from_value(v.clone())
                    .map_err(|_| bad(name, format!("`status`: {v} is not a task status")))?,
            };
            let limit = match &args["limit"] {
                Value::Null => 20,
                v => v
                    .as_u64()
                    .filter(|n| (1..=LIST_MAX as u64).contains(n))
                    .ok_or_else(|| bad(name, format!("`limit` must be 1 to {LIST_MAX}, not {v}")))?
                    as usize,
            };
            let store = self.0.clone();
            let filter = TaskFilter {
                statuses: vec![status],
                ..TaskFilter::default()
            };
            let page = read(name, move || {
                store.tasks(&filter, 0, limit).map_err(|e| e.to_string())
            })
            .await?;
            let items: Vec<Value> = page
                .tasks
                .iter()
                .map(|t| json!({"id": t.id, "title": t.title, "worker": t.worker}))
                .collect();
            Ok(json!({"total": page.total, "tasks": items}).to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::persist::Batch;
    use hypernet_model::tasks::{TaskResult, TaskSpec};

    fn stored() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::persist::open_store(&dir.path().join("t.redb")).unwrap();
        let mut done = Task::new(
            TaskId(1),
            TaskSpec {
                title: "Draft notes".into(),
                ..TaskSpec::default()
            },
            vec![],
            "person",
            3,
            0,
        );
        done.status = TaskStatus::Completed;
        done.result = Some(TaskResult {
            text: "x".repeat(RESULT_CHARS + 10),
            ..TaskResult::default()
        });
        let ready = Task::new(
            TaskId(2),
            TaskSpec {
                title: "Review".into(),
                ..TaskSpec::default()
            },
            vec![],
            "person",
            3,
            0,
        );
        store
            .save_batch(&Batch {
                tasks: vec![&done, &ready],
                ..Batch::default()
            })
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn task_info_reads_a_task_with_its_result_truncated() {
        let (_dir, store) = stored();
        let reg = registry(&store);
        let ctx = ToolContext::new(
            TaskId(9),
            "Trace",
            std::sync::Arc::new(crate::tools::AllowAll),
        );
        let out: Value = serde_json::from_str(
            &reg.call(&ctx, "task_info", json!({"id": "T-1"}))
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(out["title"], "Draft notes");
        assert_eq!(out["status"], "completed");
        let result = out["result"].as_str().unwrap();
        assert!(
            result.ends_with(&format!(
                "[truncated, {} characters in all]",
                RESULT_CHARS + 10
            )),
            "{result}"
        );
        let missing = reg
            .call(&ctx, "task_info", json!({"id": "T-7"}))
            .await
            .unwrap_err();
        assert_eq!(missing.to_string(), "`task_info` failed: no task T-7");
        let bad = reg.call(&ctx, "task_info", json!({})).await.unwrap_err();
        assert_eq!(
            bad.to_string(),
            "bad arguments for `task_info`: missing field `id`"
        );
    }

    #[tokio::test]
    async fn list_tasks_filters_by_status_and_bounds_the_count() {
        let (_dir, store) = stored();
        let reg = registry(&store);
        let ctx = ToolContext::new(
            TaskId(9),
            "Trace",
            std::sync::Arc::new(crate::tools::AllowAll),
        );
        let out: Value = serde_json::from_str(
            &reg.call(&ctx, "list_tasks", json!({"status": "pending"}))
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(out["total"], 1);
        assert_eq!(out["tasks"][0]["id"], "T-2");
        let e = reg
            .call(
                &ctx,
                "list_tasks",
                json!({"status": "pending", "limit": 500}),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("`limit` must be 1 to 50"), "{e}");
        let e = reg
            .call(&ctx, "list_tasks", json!({"status": "done"}))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not a task status"), "{e}");
    }
}
