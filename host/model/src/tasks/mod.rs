//! Tasks: the model, the state machine and the rules that judge output.
//!
//! - [`state`]: the one function that changes a task's status.
//! - [`output`]: when a model's answer counts as a failure.
//! - [`dedup`]: the content key that spots a task filed twice.

pub mod blocks;
pub mod dedup;
pub mod federation;
pub mod output;
pub mod state;

use hypernet_plugin_api::Priority;
use serde::{Deserialize, Serialize};

pub use federation::{Delegation, RemoteOrigin};
pub use state::{IllegalTransition, TaskStatus};

crate::ids::prefixed_id!(
    /// A task's id: `T-<n>`.
    TaskId,
    prefix = "T-",
    width = 0,
    what = "a task id",
    pattern = "^T-[0-9]+$",
    example = "T-4"
);

/// How hard a task is; an explicit value overrides the estimate.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Complexity {
    /// Routine.
    Simple,
    /// Some thought.
    Moderate,
    /// Needs the strongest model.
    Complex,
}

/// What a person or plugin files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Short title (required).
    pub title: String,
    /// Full description.
    #[serde(default)]
    pub description: String,
    /// Priority (default normal).
    #[serde(default)]
    #[schema(value_type = crate::schema::Priority)]
    pub priority: Priority,
    /// Tags for routing and worker matching.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Explicit complexity.
    #[serde(default)]
    pub complexity: Option<Complexity>,
    /// Tasks that must complete first: ids (`T-4`), or keys of other tasks filed in the
    /// same batch.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Attempts allowed before the task stays failed (default from config).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// The task this one was split from.
    #[serde(default)]
    pub parent: Option<TaskId>,
    /// Only this worker (by name, any case) may take it; personal time is filed so.
    #[serde(default)]
    pub for_worker: Option<String>,
    /// What the filing comes from, when it may be made twice (an idempotency key: a retried
    /// request, a command a channel delivered again): a task filed with the origin of an
    /// earlier one is that task, whatever became of it.
    #[serde(default)]
    pub origin: Option<String>,
    /// Run it at this swarm (by name), when federation is on: it is delegated there.
    #[serde(default)]
    pub swarm: Option<String>,
    /// It may wait hours for its answer: with `[batch_api] enabled`, its call goes through
    /// its provider's batch API at the discounted price (one answer, no tools).
    #[serde(default)]
    pub deferrable: bool,
}

impl From<hypernet_plugin_api::NewTask> for TaskSpec {
    fn from(t: hypernet_plugin_api::NewTask) -> Self {
        TaskSpec {
            title: t.title,
            description: t.description,
            priority: t.priority,
            tags: t.tags,
            ..TaskSpec::default()
        }
    }
}

/// A phrase that tries to take over a model, found in outside content a tool returned
/// during the task (see `hypernet_swarm::security::isolate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InjectionFlag {
    /// Where the content came from (`tool:read_file`).
    pub source: String,
    /// The phrase.
    pub phrase: String,
    /// How often it occurred there.
    pub count: usize,
}

/// The outcome of a successful call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskResult {
    /// The model's answer.
    pub text: String,
    /// The model that answered.
    pub model: String,
    /// Input tokens of this task's calls (cached or not).
    pub input_tokens: u64,
    /// Output tokens of this task's calls.
    pub output_tokens: u64,
    /// The part of `input_tokens` read from a provider's prompt cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_tokens: u64,
    /// The part of `input_tokens` written to a provider's prompt cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
    /// Cost in micro-dollars.
    pub cost_micros: u64,
    /// Signals the worker raised in its answer (```` ```signal ```` blocks).
    #[serde(default)]
    pub signals: Vec<blocks::Signal>,
    /// True when a simulated provider produced it.
    #[serde(default)]
    pub simulated: bool,
    /// Set by the host when the call stopped because a tool call needs a person's approval:
    /// the request the task now waits on (see `hypernet_swarm::approvals`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub awaiting_approval: Option<crate::ids::ApprovalId>,
    /// Injection phrases found in outside content the task's tools returned; the content
    /// reached the model marked as data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injection_flags: Vec<InjectionFlag>,
}

/// A question a worker asked about its task (a `clarification_needed` signal), and the
/// answer a person gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Clarification {
    /// What the worker asked.
    pub question: String,
    /// The worker that asked.
    pub asked_by: String,
    /// When it asked (ms since the Unix epoch).
    pub asked_ms: u64,
    /// The answer, once given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// When it was answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_ms: Option<u64>,
    /// When the question is an approval request: its id (a person approves or denies it
    /// instead of answering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub approval: Option<crate::ids::ApprovalId>,
}

/// Where a task's call stands in a provider's batch API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Waiting to be submitted with others to the same model.
    Collecting,
    /// Submitted; the batch is polled until it ends.
    Submitted,
    /// The batch gave no answer for it (errored, expired, failed or cancelled): it ran as a
    /// normal call instead.
    FellBack,
}

/// A task's call in a provider's batch API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskBatch {
    /// Where it stands.
    pub state: BatchState,
    /// The provider's id of the batch, once submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The provider plugin's address.
    pub provider: String,
    /// Since when it stands there (ms since the Unix epoch).
    pub since_ms: u64,
    /// Why it fell back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A stored task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    /// Its id.
    pub id: TaskId,
    /// Short title.
    pub title: String,
    /// Full description.
    pub description: String,
    /// Priority.
    #[schema(value_type = crate::schema::Priority)]
    pub priority: Priority,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Explicit complexity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complexity: Option<Complexity>,
    /// Tasks that must complete first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<TaskId>,
    /// The task this one was split from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<TaskId>,
    /// Only this worker may take it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_worker: Option<String>,
    /// What its filing came from (see [`TaskSpec::origin`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The swarm it was filed for (see [`TaskSpec::swarm`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<String>,
    /// While another swarm runs it, or after one ran it: who, and its answer's signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<Delegation>,
    /// Set when another swarm delegated it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteOrigin>,
    /// Filed as deferrable (see [`TaskSpec::deferrable`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deferrable: bool,
    /// Its call's way through a provider's batch API, while and after it took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<TaskBatch>,
    /// Questions asked about it and their answers, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clarifications: Vec<Clarification>,
    /// Workers that refused it (`task_rejection`); another is preferred.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_by: Vec<String>,
    /// Where it is in its life.
    pub status: TaskStatus,
    /// Why it is blocked, while it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_reason: Option<String>,
    /// The worker holding or last holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// The model of its latest call, as chosen by the router.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// Why the router chose that model.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub route_reason: String,
    /// Calls started so far.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// When a failed task is retried automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
    /// The answer, once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<TaskResult>,
    /// The last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `person`, `host`, `standing` or a plugin name.
    pub filed_by: String,
    /// Filed at (ms since the Unix epoch).
    pub created_ms: u64,
    /// Last call started at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<u64>,
    /// Completed, failed or cancelled at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<u64>,
}

impl Task {
    /// A new pending task.
    pub fn new(
        id: TaskId,
        spec: TaskSpec,
        depends_on: Vec<TaskId>,
        filed_by: &str,
        max_attempts: u32,
        now_ms: u64,
    ) -> Task {
        Task {
            id,
            title: spec.title,
            description: spec.description,
            priority: spec.priority,
            tags: spec.tags,
            complexity: spec.complexity,
            depends_on,
            parent: spec.parent,
            for_worker: spec.for_worker,
            origin: spec.origin,
            swarm: spec.swarm,
            delegation: None,
            remote: None,
            deferrable: spec.deferrable,
            batch: None,
            clarifications: Vec::new(),
            rejected_by: Vec::new(),
            status: TaskStatus::Pending,
            blocked_reason: None,
            worker: None,
            model: String::new(),
            route_reason: String::new(),
            attempts: 0,
            max_attempts: spec.max_attempts.unwrap_or(max_attempts).max(1),
            retry_at_ms: None,
            result: None,
            error: None,
            filed_by: filed_by.to_owned(),
            created_ms: now_ms,
            started_ms: None,
            finished_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_print() {
        assert_eq!("T-42".parse::<TaskId>().unwrap(), TaskId(42));
        assert_eq!("42".parse::<TaskId>().unwrap().to_string(), "T-42");
        assert!("T-x".parse::<TaskId>().unwrap_err().contains("`T-x`"));
        let json = serde_json::to_string(&TaskId(7)).unwrap();
        assert_eq!(json, "\"T-7\"");
    }

    #[test]
    fn spec_rejects_unknown_fields() {
        let err =
            serde_json::from_str::<TaskSpec>(r#"{"title":"a","priorty":"high"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `priorty`"));
    }
}

/// One task of a batch filing: a spec, an optional key other members can depend on, and
/// dependencies given as task ids (`T-4`) or keys of other members.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedTask {
    /// Name other members of the batch use in `depends_on`.
    #[serde(default)]
    pub key: Option<String>,
    /// The task.
    #[serde(flatten)]
    pub spec: TaskSpec,
}

/// Whether a count is zero (left out of the JSON).
fn is_zero(n: &u64) -> bool {
    *n == 0
}
