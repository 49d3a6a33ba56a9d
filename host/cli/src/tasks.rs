//! `hypernet task add|list|show|cancel|retry`, `summary`, `workers`, `worker`, `failures`
//! and `history`: the task side of a running host, through its API.

use super::client::Client;
use super::format::{cell, dollars, fields, list_or_dash, time_or_dash, url_part};
use super::table;
use super::{TaskCommand, WorkersCommand};
use anyhow::{Context, Result};
use hypernet_model::tasks::{Task, TaskId, TaskStatus};
use hypernet_swarm::workers::WorkerView;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// Widest title or error shown in a table cell.
const CELL: usize = 72;

pub(super) async fn execute(data_dir: &Path, cmd: TaskCommand) -> Result<()> {
    match cmd {
        TaskCommand::Add {
            title,
            description,
            priority,
            tags,
            depends_on,
            complexity,
            swarm,
            max_attempts,
            deferrable,
            json,
        } => {
            let tags: Vec<&str> = tags
                .iter()
                .map(|t| t.trim())
                .filter(|t| !t.is_empty())
                .collect();
            let depends_on: Vec<String> = depends_on.iter().map(TaskId::to_string).collect();
            let body = json!({
                "title": title,
                "description": description,
                "priority": priority,
                "tags": tags,
                "depends_on": depends_on,
                "complexity": complexity,
                "swarm": swarm,
                "max_attempts": max_attempts,
                "deferrable": deferrable,
            });
            let filed = Client::connect(data_dir)?
                .post("/api/tasks", Some(&body))
                .await?;
            print(&filed, json, |f| {
                let id = f["id"].as_str().unwrap_or("?");
                Ok(if f["created"].as_bool().unwrap_or(true) {
                    format!("filed {id}")
                } else {
                    format!("{id} already exists (duplicate of an unfinished task)")
                })
            })
        }
        TaskCommand::List {
            status,
            limit,
            json,
        } => {
            let list = Client::connect(data_dir)?
                .get(&listing_path("/api/tasks", status, limit))
                .await?;
            print(&list, json, |l| {
                Ok(parse::<Listed<Task>>(l, "a task list")?.table(
                    "no tasks",
                    &["ID", "STATUS", "PRIORITY", "WORKER", "ATTEMPTS", "TITLE"],
                    |t| {
                        vec![
                            t.id.to_string(),
                            t.status.to_string(),
                            word(&t.priority),
                            t.worker.clone().unwrap_or_else(|| "-".into()),
                            attempts(t),
                            cell(&t.title, CELL),
                        ]
                    },
                ))
            })
        }
        TaskCommand::Show { id, json } => {
            let task = Client::connect(data_dir)?
                .get(&format!("/api/tasks/{id}"))
                .await?;
            print(&task, json, |t| Ok(task_text(&parse(t, "a task")?)))
        }
        TaskCommand::Cancel { id, json } => {
            change(data_dir, id, "cancel", TaskStatus::Cancelled, json, None).await
        }
        TaskCommand::Retry { id, json } => {
            change(data_dir, id, "retry", TaskStatus::Ready, json, None).await
        }
        TaskCommand::Answer { id, answer, json } => {
            let body = serde_json::json!({ "answer": answer });
            change(data_dir, id, "answer", TaskStatus::Ready, json, Some(&body)).await
        }
    }
}

/// `POST /api/tasks/{id}/{action}`; prints `T-5: <target>`, and where the task has already
/// moved on (a retried task is picked up at once), where it is now.
async fn change(
    data_dir: &Path,
    id: TaskId,
    action: &str,
    target: TaskStatus,
    json: bool,
    body: Option<&serde_json::Value>,
) -> Result<()> {
    let task = Client::connect(data_dir)?
        .post(&format!("/api/tasks/{id}/{action}"), body)
        .await?;
    print(&task, json, |t| Ok(moved(&parse(t, "a task")?, target)))
}

/// What became of a task sent towards `target`: `T-5: cancelled`, or where it is now when
/// it has already moved on.
pub(super) fn moved(task: &Task, target: TaskStatus) -> String {
    match (&task.blocked_reason, task.status) {
        (_, status) if status == target => format!("{}: {target}", task.id),
        // A cancelled task retried waits for its dependencies again.
        (Some(reason), TaskStatus::Blocked) => format!("{}: blocked ({reason})", task.id),
        (_, status) => format!("{}: {target} (now {status})", task.id),
    }
}

/// `hypernet summary`.
pub(super) async fn summary(data_dir: &Path, json: bool) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Summary {
        by_status: BTreeMap<String, u64>,
        by_model: BTreeMap<String, u64>,
        tokens: u64,
        cost_micros: u64,
        total: u64,
    }
    let answer = Client::connect(data_dir)?.get("/api/summary").await?;
    print(&answer, json, |a| {
        let s: Summary = parse(a, "a summary")?;
        let or_dash = |m: &BTreeMap<String, u64>| {
            if m.is_empty() { "-".into() } else { counts(m) }
        };
        Ok(fields(&[
            ("total", s.total.to_string()),
            ("by_status", or_dash(&s.by_status)),
            ("by_model", or_dash(&s.by_model)),
            ("tokens", s.tokens.to_string()),
            ("cost", dollars(s.cost_micros)),
        ]))
    })
}

/// `hypernet workers`.
pub(super) async fn workers(data_dir: &Path, json: bool) -> Result<()> {
    let answer = Client::connect(data_dir)?.get("/api/workers").await?;
    print(&answer, json, |a| {
        Ok(parse::<Listed<WorkerView>>(a, "a worker list")?.table(
            "no workers",
            &[
                "NAME", "ADDRESS", "ROLE", "MODEL", "STATE", "CURRENT", "DONE", "FAILED", "TOKENS",
            ],
            |w| {
                vec![
                    w.name.clone(),
                    w.address.clone(),
                    or_dash(&w.role),
                    w.model.clone(),
                    worker_state(w).into(),
                    w.current_task.clone().unwrap_or_else(|| "-".into()),
                    w.stats.tasks_done.to_string(),
                    w.stats.tasks_failed.to_string(),
                    w.stats.tokens.to_string(),
                ]
            },
        ))
    })
}

/// What a worker is doing, in a word: `leaving`, `paused`, `suspended`, `busy` or `idle`.
pub(super) fn worker_state(w: &WorkerView) -> &'static str {
    if w.leaving {
        "leaving"
    } else if w.paused {
        "paused"
    } else if w.suspended_until_ms.is_some() {
        "suspended"
    } else if w.current_task.is_some() {
        "busy"
    } else {
        "idle"
    }
}

/// `hypernet workers pause|resume|add|remove`.
pub(super) async fn change_worker(data_dir: &Path, action: WorkersCommand) -> Result<()> {
    let client = Client::connect(data_dir)?;
    let post = |name: &str, what: &str| format!("/api/workers/{}/{what}", url_part(name));
    let (answer, json, done): (Value, bool, fn(&WorkerView) -> String) = match action {
        WorkersCommand::Pause { name, json } => {
            let answer = client.post(&post(&name, "pause"), None).await?;
            (answer, json, paused)
        }
        WorkersCommand::Resume { name, json } => {
            let answer = client.post(&post(&name, "resume"), None).await?;
            (answer, json, resumed)
        }
        WorkersCommand::Remove { name, json } => {
            let answer = client.post(&post(&name, "remove"), None).await?;
            (answer, json, removed)
        }
        WorkersCommand::Add {
            name,
            model,
            role,
            capabilities,
            tier,
            json,
        } => {
            let body = serde_json::json!({
                "name": name, "model": model, "role": role,
                "capabilities": capabilities, "tier": tier,
            });
            let answer = client.post("/api/workers", Some(&body)).await?;
            (answer, json, added)
        }
    };
    print(&answer, json, |a| Ok(done(&parse(a, "a worker")?)))
}

/// `Trace: paused`, and what becomes of its call in progress.
pub(super) fn paused(w: &WorkerView) -> String {
    match &w.current_task {
        Some(task) => format!("{}: paused; {task} finishes, nothing new starts", w.name),
        None => format!("{}: paused", w.name),
    }
}

/// `Trace: taking tasks`.
pub(super) fn resumed(w: &WorkerView) -> String {
    format!("{}: taking tasks", w.name)
}

/// `Scout: removed`, or when it leaves.
pub(super) fn removed(w: &WorkerView) -> String {
    match (&w.current_task, w.leaving) {
        (Some(task), true) => format!("{}: leaving when {task} ends", w.name),
        _ => format!("{}: removed", w.name),
    }
}

/// `Scout: added (model sim/default)`.
pub(super) fn added(w: &WorkerView) -> String {
    format!("{}: added (model {})", w.name, w.model)
}

/// `hypernet worker NAME`.
pub(super) async fn worker(data_dir: &Path, name: &str, json: bool) -> Result<()> {
    let answer = Client::connect(data_dir)?
        .get(&format!("/api/workers/{}", url_part(name)))
        .await?;
    print(&answer, json, |a| {
        let w: WorkerView = parse(a, "a worker")?;
        let state = worker_state(&w);
        let prompt: Option<hypernet_swarm::identity::PromptSizes> = a
            .get("prompt")
            .and_then(|p| serde_json::from_value(p.clone()).ok());
        let (full, compact, ratio) = match prompt {
            Some(p) => (
                format!("{} chars", p.full_chars),
                format!("{} chars", p.compact_chars),
                format!("{:.2}%", p.ratio * 100.0),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        Ok(fields(&[
            ("name", w.name),
            ("address", w.address),
            ("account", w.account),
            ("role", or_dash(&w.role)),
            ("capabilities", list_or_dash(&w.capabilities)),
            ("state", state.into()),
            ("model", w.model),
            ("current_task", w.current_task.unwrap_or_else(|| "-".into())),
            ("tasks_done", w.stats.tasks_done.to_string()),
            ("tasks_failed", w.stats.tasks_failed.to_string()),
            ("tokens", w.stats.tokens.to_string()),
            ("cost", dollars(w.stats.cost_micros)),
            ("last_active", time_or_dash(w.stats.last_active_ms)),
            ("prompt_full", full),
            ("prompt_compact", compact),
            ("prompt_ratio", ratio),
            (
                "work_since_personal",
                w.stats.work_since_personal.to_string(),
            ),
        ]) + &recent_work(a))
    })
}

/// The worker's memory of its recent tasks, one line each after a blank line (nothing when
/// it remembers none).
fn recent_work(worker: &Value) -> String {
    let entries: Vec<hypernet_swarm::workers::memory::MemoryEntry> = worker
        .get("memory")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
        .unwrap_or_default();
    let mut out = String::new();
    if !entries.is_empty() {
        out.push_str("\n\nrecent work (oldest first):");
    }
    for e in entries {
        let how = match e.outcome {
            hypernet_swarm::workers::memory::Outcome::Completed => "completed",
            hypernet_swarm::workers::memory::Outcome::Failed => "failed",
        };
        out.push_str(&format!(
            "\n  {} {how}: {} — {}",
            e.task, e.title, e.summary
        ));
    }
    out
}

/// `hypernet failures`.
pub(super) async fn failures(data_dir: &Path, limit: Option<usize>, json: bool) -> Result<()> {
    let answer = Client::connect(data_dir)?
        .get(&listing_path("/api/failures", None, limit))
        .await?;
    print(&answer, json, |a| {
        Ok(parse::<Listed<Task>>(a, "a task list")?.table(
            "no failed tasks",
            &["ID", "ATTEMPTS", "ERROR", "TITLE"],
            |t| {
                vec![
                    t.id.to_string(),
                    attempts(t),
                    cell(t.error.as_deref().unwrap_or("-"), CELL),
                    cell(&t.title, CELL),
                ]
            },
        ))
    })
}

/// `hypernet history`.
pub(super) async fn history(data_dir: &Path, limit: Option<usize>, json: bool) -> Result<()> {
    let answer = Client::connect(data_dir)?
        .get(&listing_path("/api/history", None, limit))
        .await?;
    print(&answer, json, |a| {
        Ok(parse::<Listed<Task>>(a, "a task list")?.table(
            "no finished tasks",
            &["ID", "STATUS", "WORKER", "FINISHED", "TITLE"],
            |t| {
                vec![
                    t.id.to_string(),
                    t.status.to_string(),
                    t.worker.clone().unwrap_or_else(|| "-".into()),
                    time_or_dash(t.finished_ms),
                    cell(&t.title, CELL),
                ]
            },
        ))
    })
}

/// Prints the API's JSON pretty, or the human rendering of it.
fn print(value: &Value, json: bool, human: impl FnOnce(&Value) -> Result<String>) -> Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(value)?)?;
    } else {
        outln!("{}", human(value)?)?;
    }
    Ok(())
}

/// Parses a command-line word into a serde enum (`high` into `Priority::High`); the error
/// names the accepted words.
pub(super) fn serde_word<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(Value::String(text.to_owned())).map_err(|e| e.to_string())
}

/// Reads the host's answer as `T`.
pub(super) fn parse<T: DeserializeOwned>(value: &Value, what: &str) -> Result<T> {
    T::deserialize(value).with_context(|| format!("the host's answer is not {what}: {value}"))
}

/// One page of a list route's answer.
#[derive(serde::Deserialize)]
pub(super) struct Listed<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub offset: usize,
}

impl<T> Listed<T> {
    /// A table of the page, with a closing line when the list goes on beyond it; `none`
    /// (`no failed tasks`) when the list is empty.
    pub fn table(&self, none: &str, headers: &[&str], row: impl Fn(&T) -> Vec<String>) -> String {
        if self.total == 0 {
            return none.to_owned();
        }
        let rows: Vec<Vec<String>> = self.items.iter().map(row).collect();
        let mut out = table::render(headers, &rows);
        let shown = (self.offset + self.items.len()) as u64;
        if shown < self.total && !self.items.is_empty() {
            out.push_str(&format!(
                "\n({}–{} of {}; --limit shows more)",
                self.offset + 1,
                shown,
                self.total
            ));
        }
        out
    }
}

/// A listing route with its optional `status` and `limit`.
fn listing_path(route: &str, status: Option<TaskStatus>, limit: Option<usize>) -> String {
    let mut query = Vec::new();
    if let Some(status) = status {
        query.push(format!("status={}", url_part(status.as_str())));
    }
    if let Some(limit) = limit {
        query.push(format!("limit={limit}"));
    }
    if query.is_empty() {
        route.to_owned()
    } else {
        format!("{route}?{}", query.join("&"))
    }
}

/// The lower-case name a serde enum serializes to (`high`, `moderate`).
pub(super) fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

fn attempts(task: &Task) -> String {
    format!("{}/{}", task.attempts, task.max_attempts)
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text.to_owned()
    }
}

/// `completed 4, failed 1`.
pub(super) fn counts(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `hypernet task show`: one `key: value` line per field, the answer's text last.
fn task_text(task: &Task) -> String {
    let mut rows: Vec<(&str, String)> =
        vec![("id", task.id.to_string()), ("title", task.title.clone())];
    if !task.description.trim().is_empty() {
        rows.push(("description", cell(&task.description, usize::MAX)));
    }
    rows.push(("status", task.status.to_string()));
    if let Some(reason) = &task.blocked_reason {
        rows.push(("blocked_reason", reason.clone()));
    }
    rows.push(("priority", word(&task.priority)));
    if let Some(c) = &task.complexity {
        rows.push(("complexity", word(c)));
    }
    rows.push(("tags", list_or_dash(&task.tags)));
    let deps: Vec<String> = task.depends_on.iter().map(TaskId::to_string).collect();
    rows.push(("depends_on", list_or_dash(&deps)));
    if let Some(parent) = task.parent {
        rows.push(("parent", parent.to_string()));
    }
    rows.push(("filed_by", task.filed_by.clone()));
    rows.push(("worker", task.worker.clone().unwrap_or_else(|| "-".into())));
    if !task.route_reason.is_empty() {
        rows.push((
            "routed_to",
            format!("{} ({})", task.model, task.route_reason),
        ));
    }
    rows.push(("attempts", attempts(task)));
    if let Some(b) = &task.batch {
        rows.push(("batch", batch_text(b)));
    } else if task.deferrable {
        rows.push(("batch", "deferrable".into()));
    }
    if let Some(at) = task.retry_at_ms {
        rows.push(("retry_at", time_or_dash(Some(at))));
    }
    if let Some(error) = &task.error {
        rows.push(("error", error.clone()));
    }
    for c in &task.clarifications {
        rows.push((
            "question",
            format!("{} (asked by {})", c.question, c.asked_by),
        ));
        let answer = c
            .answer
            .clone()
            .unwrap_or_else(|| format!("- (hypernet task answer {} \"...\")", task.id));
        rows.push(("answer", answer));
    }
    if !task.rejected_by.is_empty() {
        rows.push(("rejected_by", task.rejected_by.join(", ")));
    }
    if let Some(r) = &task.result {
        let simulated = if r.simulated { " (simulated)" } else { "" };
        rows.push(("model", format!("{}{simulated}", r.model)));
        rows.push((
            "tokens",
            format!("{} in, {} out", r.input_tokens, r.output_tokens),
        ));
        rows.push(("cost", dollars(r.cost_micros)));
    }
    rows.push(("created", time_or_dash(Some(task.created_ms))));
    rows.push(("started", time_or_dash(task.started_ms)));
    rows.push(("finished", time_or_dash(task.finished_ms)));
    let mut out = fields(&rows);
    if let Some(r) = &task.result {
        out.push_str("\nresult:");
        for line in r.text.lines() {
            out.push('\n');
            if !line.trim().is_empty() {
                out.push_str("  ");
                out.push_str(line);
            }
        }
    }
    out
}

/// A task's call in a batch API, in words: `submitted msgbatch_01 (provider-anthropic)`.
fn batch_text(b: &hypernet_model::tasks::TaskBatch) -> String {
    let state = word(&b.state);
    let id =
        b.id.as_deref()
            .map(|id| format!(" {id}"))
            .unwrap_or_default();
    let reason = b
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    format!("{state}{id} ({}){reason}", b.provider)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_model::tasks::{TaskResult, TaskSpec};
    use hypernet_plugin_api::Priority;

    #[test]
    fn listing_paths_carry_only_what_was_given() {
        assert_eq!(listing_path("/api/tasks", None, None), "/api/tasks");
        assert_eq!(
            listing_path("/api/tasks", Some(TaskStatus::Completed), Some(5)),
            "/api/tasks?status=completed&limit=5"
        );
        assert_eq!(
            listing_path("/api/history", None, Some(3)),
            "/api/history?limit=3"
        );
    }

    #[test]
    fn show_lists_fields_and_the_answer_last() {
        let spec = TaskSpec {
            title: "Write docs".into(),
            priority: Priority::High,
            tags: vec!["docs".into(), "code".into()],
            ..TaskSpec::default()
        };
        let mut task = Task::new(TaskId(5), spec, vec![TaskId(1)], "person", 3, 0);
        task.status = TaskStatus::Completed;
        task.worker = Some("Herald".into());
        task.attempts = 1;
        task.finished_ms = Some(1_500);
        task.result = Some(TaskResult {
            text: "line one\n\nline two".into(),
            model: "sim/default".into(),
            input_tokens: 10,
            output_tokens: 20,
            cost_micros: 1_500_000,
            simulated: true,
            ..TaskResult::default()
        });
        let text = task_text(&task);
        for line in [
            "id:         T-5",
            "title:      Write docs",
            "status:     completed",
            "priority:   high",
            "tags:       docs, code",
            "depends_on: T-1",
            "worker:     Herald",
            "attempts:   1/3",
            "model:      sim/default (simulated)",
            "tokens:     10 in, 20 out",
            "cost:       $1.500000",
            "created:    1970-01-01T00:00:00.000Z",
            "started:    -",
            "finished:   1970-01-01T00:00:01.500Z",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing in\n{text}"
            );
        }
        assert!(!text.contains("blocked_reason") && !text.contains("error:"));
        assert!(
            text.ends_with("result:\n  line one\n\n  line two"),
            "{text}"
        );
    }

    #[test]
    fn words_are_the_serde_names() {
        assert_eq!(word(&Priority::Critical), "critical");
        assert_eq!(
            word(&hypernet_model::tasks::Complexity::Moderate),
            "moderate"
        );
        assert_eq!(serde_word::<Priority>("low"), Ok(Priority::Low));
        let err = serde_word::<Priority>("urgent").unwrap_err();
        assert!(
            err.contains("`urgent`") && err.contains("`critical`"),
            "{err}"
        );
    }
}
