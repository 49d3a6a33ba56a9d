//! The queue at work: requests filed by the tool loop, decisions by people (the API, the
//! CLI, the dashboard), expiry by the clock, and the one run of each approved action.
//!
//! A decision is durable before anything acts on it; an approved action is marked running
//! durably before it starts, so after a crash it is found `interrupted` and never run a
//! second time ([`Approvals::recover`]). Whatever the decision, the task that asked is told
//! through its [`Resolver`] (the scheduler), and becomes ready again.
//!
//! ```toml
//! [approvals]
//! expire_after_secs = 86400   # a request nobody decides within this expires
//! output_chars = 20000        # an approved action's output kept and told, at most
//! ```

use super::{Approval, ApprovalError, ApprovalId, ApprovalStatus, Execution};
use crate::approvals::persist::ApprovalPage;
use crate::persist::ApprovalTables;
use crate::tools::{Decision, Permission, Requirement, ToolContext};
use hypernet_model::tasks::TaskId;
use hypernet_store::Store;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

/// `[approvals]` in `hypernet.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalsConfig {
    /// A pending request expires after this long.
    pub expire_after_secs: u64,
    /// Characters of an approved action's output that are kept.
    pub output_chars: usize,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        ApprovalsConfig {
            expire_after_secs: 24 * 3600,
            output_chars: 20_000,
        }
    }
}

impl ApprovalsConfig {
    /// Checks the values; errors name the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.expire_after_secs == 0 {
            return Err("`approvals.expire_after_secs` must be at least 1".into());
        }
        Ok(())
    }
}

/// Told what became of a request, so the task that asked goes on.
pub trait Resolver: Send + Sync {
    /// `approval`, which `task` waits on, is decided: `outcome` says how (and what an
    /// approved action returned).
    fn resolved(&self, task: TaskId, approval: ApprovalId, outcome: String);
}

/// Builds the context `worker`'s calls in `task` run in: its workspace and its permission
/// check.
pub type Contexts = Arc<dyn Fn(TaskId, &str) -> ToolContext + Send + Sync>;

/// What an approved action runs with: the tools, and the context the worker's own call
/// would have run in.
#[derive(Clone)]
pub struct Runner {
    /// The tools offered to workers.
    pub tools: crate::tools::SharedTools,
    /// The context of a worker's calls.
    pub contexts: Contexts,
}

/// The worker's own check, except that a call held for approval may now run: a person
/// approved it. Everything else — the tier, grants, a refusal — is checked again, so a
/// worker whose tier was lowered meanwhile is still refused.
struct Approved(Arc<dyn Permission>);

impl Permission for Approved {
    fn check(
        &self,
        ctx: &ToolContext,
        tool: &str,
        args: &Value,
        needs: Option<&Requirement>,
    ) -> Decision {
        match self.0.check(ctx, tool, args, needs) {
            Decision::NeedsApproval(_) => Decision::Allow,
            other => other,
        }
    }
}

struct Inner {
    store: Store,
    cfg: ApprovalsConfig,
    runner: Runner,
    /// Told what became of each request (the scheduler).
    resolver: Arc<dyn Resolver>,
    /// Where every request, decision and run is recorded (none in tests and benchmarks).
    audit: Option<crate::audit::Audit>,
    /// Held while a decision is read, checked and written: two people approving at once
    /// cannot both win.
    deciding: tokio::sync::Mutex<()>,
}

/// The approval queue. Cheap to clone.
#[derive(Clone)]
pub struct Approvals {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Approvals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Approvals")
    }
}

fn store_error(e: hypernet_store::StoreError) -> ApprovalError {
    ApprovalError::Store(e.to_string())
}

/// `text` cut at `max` characters, saying so.
fn cut(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut kept: String = text.chars().take(max).collect();
    kept.push_str("\n[output cut]");
    kept
}

impl Approvals {
    /// The queue over `store`: approved actions run with `runner`, every outcome is told to
    /// `resolver`, and every request, decision and run is recorded in `audit`.
    pub fn new(
        store: Store,
        cfg: ApprovalsConfig,
        runner: Runner,
        resolver: Arc<dyn Resolver>,
        audit: Option<crate::audit::Audit>,
    ) -> Approvals {
        Approvals {
            inner: Arc::new(Inner {
                store,
                cfg,
                runner,
                resolver,
                audit,
                deciding: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Records `what` happened to `approval`, done by `actor`.
    fn audit(&self, approval: &Approval, what: &str, actor: &str) {
        if let Some(audit) = &self.inner.audit {
            audit.record(
                crate::audit::AuditKind::Approval,
                actor,
                serde_json::json!({
                    "approval": approval.id,
                    "event": what,
                    "task": approval.task,
                    "worker": approval.worker,
                    "tool": approval.tool,
                    "args": approval.args,
                    "status": approval.status,
                    "note": approval.note,
                    "execution": approval.execution,
                }),
            );
        }
    }

    fn resolve(&self, approval: &Approval) {
        self.inner
            .resolver
            .resolved(approval.task, approval.id, approval.outcome());
    }

    /// Files a request for `worker`, on `task`, to call `tool` with `args`.
    pub fn request(
        &self,
        task: TaskId,
        worker: &str,
        tool: &str,
        args: Value,
        reason: &str,
        now_ms: u64,
    ) -> Result<Approval, ApprovalError> {
        let expires_ms = now_ms + self.inner.cfg.expire_after_secs * 1000;
        let approval = self
            .inner
            .store
            .file_approval(|id| Approval {
                id,
                task,
                worker: worker.to_owned(),
                tool: tool.to_owned(),
                args,
                reason: reason.to_owned(),
                status: ApprovalStatus::Pending,
                created_ms: now_ms,
                expires_ms,
                decided_ms: None,
                decided_by: None,
                note: None,
                execution: None,
            })
            .map_err(store_error)?;
        tracing::info!(approval = %approval.id, task = %task, worker, tool, "approval requested");
        self.audit(&approval, "requested", worker);
        Ok(approval)
    }

    /// One request.
    pub fn get(&self, id: ApprovalId) -> Result<Approval, ApprovalError> {
        self.inner
            .store
            .approval(id)
            .map_err(store_error)?
            .ok_or(ApprovalError::NotFound(id))
    }

    /// Requests with `status` (any when `None`), newest first.
    pub fn list(
        &self,
        status: Option<ApprovalStatus>,
        offset: usize,
        limit: usize,
    ) -> Result<ApprovalPage, ApprovalError> {
        self.inner
            .store
            .approvals(status, offset, limit)
            .map_err(store_error)
    }

    /// Decides pending request `id` as `to` and writes it, under the decision lock. A
    /// request whose time is up is expired instead, and that is the error.
    async fn decide(
        &self,
        id: ApprovalId,
        to: ApprovalStatus,
        by: &str,
        note: Option<String>,
        now_ms: u64,
    ) -> Result<Approval, ApprovalError> {
        let _guard = self.inner.deciding.lock().await;
        let mut approval = self.get(id)?;
        if approval.is_due(now_ms) {
            approval.decide(ApprovalStatus::Expired, "host", None, now_ms)?;
            self.inner
                .store
                .put_approval(&approval)
                .map_err(store_error)?;
            self.audit(&approval, "expired", "host");
            self.resolve(&approval);
            return Err(ApprovalError::Decided {
                id,
                status: ApprovalStatus::Expired,
            });
        }
        approval.decide(to, by, note, now_ms)?;
        if to == ApprovalStatus::Approved {
            approval.execution = Some(Execution::Running);
        }
        self.inner
            .store
            .put_approval(&approval)
            .map_err(store_error)?;
        tracing::info!(approval = %id, status = %to, by, "approval decided");
        self.audit(&approval, &to.to_string(), by);
        Ok(approval)
    }

    /// Approves `id`: its action runs now, once, and the waiting task is told what it
    /// returned. Approving a request that is not pending is refused.
    pub async fn approve(&self, id: ApprovalId, by: &str) -> Result<Approval, ApprovalError> {
        let now = hypernet_model::clock::now_ms();
        let mut approval = self
            .decide(id, ApprovalStatus::Approved, by, None, now)
            .await?;
        let runner = &self.inner.runner;
        let mut ctx = (runner.contexts)(approval.task, &approval.worker);
        ctx.permission = Arc::new(Approved(ctx.permission));
        let output = runner
            .tools
            .current()
            .call(&ctx, &approval.tool, approval.args.clone())
            .await
            .map_err(|e| e.to_string());
        let (ok, output) = match output {
            Ok(text) => (true, text),
            Err(e) => (false, e),
        };
        approval.execution = Some(Execution::Done {
            ok,
            output: cut(output, self.inner.cfg.output_chars),
        });
        self.inner
            .store
            .put_approval(&approval)
            .map_err(store_error)?;
        tracing::info!(approval = %id, ok, "approved action ran");
        self.audit(&approval, "ran", by);
        self.resolve(&approval);
        Ok(approval)
    }

    /// Denies `id`, with an optional reason the worker is told.
    pub async fn deny(
        &self,
        id: ApprovalId,
        by: &str,
        note: Option<String>,
    ) -> Result<Approval, ApprovalError> {
        let note = note.filter(|n| !n.trim().is_empty());
        let approval = self
            .decide(
                id,
                ApprovalStatus::Rejected,
                by,
                note,
                hypernet_model::clock::now_ms(),
            )
            .await?;
        self.resolve(&approval);
        Ok(approval)
    }

    /// Expires every pending request whose time is up; returns how many.
    pub async fn expire_due(&self, now_ms: u64) -> Result<usize, ApprovalError> {
        let _guard = self.inner.deciding.lock().await;
        let pending = self.list(Some(ApprovalStatus::Pending), 0, usize::MAX)?;
        let mut expired = 0;
        for mut approval in pending.items.into_iter().filter(|a| a.is_due(now_ms)) {
            approval.decide(ApprovalStatus::Expired, "host", None, now_ms)?;
            self.inner
                .store
                .put_approval(&approval)
                .map_err(store_error)?;
            tracing::info!(approval = %approval.id, task = %approval.task, "approval expired");
            self.audit(&approval, "expired", "host");
            self.resolve(&approval);
            expired += 1;
        }
        Ok(expired)
    }

    /// After a restart: an approved action found running was cut off by the stop; it is
    /// recorded `interrupted` (never run again) and its task told. Also expires what fell
    /// due while the host was down.
    pub async fn recover(&self, now_ms: u64) -> Result<(), ApprovalError> {
        let approved = self.list(Some(ApprovalStatus::Approved), 0, usize::MAX)?;
        for mut approval in approved
            .items
            .into_iter()
            .filter(|a| a.execution == Some(Execution::Running))
        {
            approval.execution = Some(Execution::Interrupted);
            self.inner
                .store
                .put_approval(&approval)
                .map_err(store_error)?;
            tracing::warn!(approval = %approval.id, "approved action interrupted by a stop; not run again");
            self.audit(&approval, "interrupted", "host");
            self.resolve(&approval);
        }
        self.expire_due(now_ms).await?;
        Ok(())
    }

    /// Expires due requests every `every` on the current runtime, for as long as the queue
    /// is in use: the timer holds it weakly, so dropping the last handle (and with it the
    /// store) ends it.
    pub fn spawn_expiry(&self, every: std::time::Duration) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let queue = Approvals { inner };
                if let Err(e) = queue.expire_due(hypernet_model::clock::now_ms()).await {
                    tracing::error!(error = %e, "cannot expire approval requests");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::{Tool, ToolError};
    use futures_util::future::BoxFuture;
    use serde_json::json;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its runs and says its argument back.
    struct Echo(Arc<AtomicUsize>);

    impl Tool for Echo {
        fn name(&self) -> &str {
            "echo"
        }
        fn description(&self) -> &str {
            "Says its text back."
        }
        fn input_schema(&self) -> Value {
            json!({"type": "object"})
        }
        fn call<'a>(
            &'a self,
            _: &'a ToolContext,
            args: Value,
        ) -> BoxFuture<'a, Result<String, ToolError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(args["text"].as_str().unwrap_or_default().to_owned()) })
        }
    }

    #[derive(Default)]
    struct Told(Mutex<Vec<(TaskId, ApprovalId, String)>>);

    impl Resolver for Told {
        fn resolved(&self, task: TaskId, approval: ApprovalId, outcome: String) {
            self.0.lock().unwrap().push((task, approval, outcome));
        }
    }

    fn queue(dir: &std::path::Path) -> (Approvals, Arc<AtomicUsize>, Arc<Told>) {
        let store = crate::persist::open_store(&dir.join("h.redb")).unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tools = crate::tools::ToolRegistry::new();
        tools.register(Echo(runs.clone()));
        let told = Arc::new(Told::default());
        let contexts: Contexts = Arc::new(|task, worker: &str| {
            ToolContext::new(task, worker, Arc::new(crate::tools::AllowAll))
        });
        let runner = Runner {
            tools: crate::tools::SharedTools::new(tools),
            contexts,
        };
        let approvals = Approvals::new(
            store,
            ApprovalsConfig::default(),
            runner,
            told.clone(),
            None,
        );
        (approvals, runs, told)
    }

    #[tokio::test]
    async fn an_approved_action_runs_exactly_once_and_its_task_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let (q, runs, told) = queue(dir.path());
        let now = hypernet_model::clock::now_ms();
        let a = q
            .request(
                TaskId(4),
                "Trace",
                "echo",
                json!({"text": "hi"}),
                "needs a yes",
                now,
            )
            .unwrap();
        assert_eq!(a.id.to_string(), "AQ-0001");
        let (first, second) = tokio::join!(q.approve(a.id, "Ada"), q.approve(a.id, "Bob"));
        let (won, lost) = if first.is_ok() {
            (first, second)
        } else {
            (second, first)
        };
        assert_eq!(
            lost.unwrap_err().to_string(),
            "AQ-0001 is already approved",
            "approving twice is refused"
        );
        let done = won.unwrap();
        assert_eq!(
            done.execution,
            Some(Execution::Done {
                ok: true,
                output: "hi".into()
            })
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let told = told.0.lock().unwrap().clone();
        assert_eq!(told.len(), 1);
        assert_eq!((told[0].0, told[0].1), (TaskId(4), a.id));
        assert!(
            told[0].2.ends_with("it ran once and returned:\nhi"),
            "{}",
            told[0].2
        );
        assert_eq!(q.get(a.id).unwrap().status, ApprovalStatus::Approved);
    }

    #[tokio::test]
    async fn a_denied_or_expired_request_never_runs() {
        let dir = tempfile::tempdir().unwrap();
        let (q, runs, told) = queue(dir.path());
        let now = hypernet_model::clock::now_ms();
        let a = q
            .request(TaskId(1), "T", "echo", json!({}), "r", now)
            .unwrap();
        let denied = q.deny(a.id, "Ada", Some("not now".into())).await.unwrap();
        assert_eq!(denied.status, ApprovalStatus::Rejected);
        assert!(q.approve(a.id, "Ada").await.is_err());
        let b = q
            .request(TaskId(2), "T", "echo", json!({}), "r", 0)
            .unwrap();
        let late = q.approve(b.id, "Ada").await.unwrap_err();
        assert_eq!(
            late.to_string(),
            "AQ-0002 is already expired",
            "24 h passed since 0"
        );
        let c = q
            .request(TaskId(3), "T", "echo", json!({}), "r", now)
            .unwrap();
        assert_eq!(q.expire_due(now + 1000).await.unwrap(), 0);
        assert_eq!(q.expire_due(now + 24 * 3600 * 1000).await.unwrap(), 1);
        assert_eq!(q.get(c.id).unwrap().status, ApprovalStatus::Expired);
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        let outcomes: Vec<String> = told.0.lock().unwrap().iter().map(|t| t.2.clone()).collect();
        assert_eq!(outcomes.len(), 3);
        assert_eq!(outcomes[0], "Refused by Ada: not now");
        assert!(outcomes[1].contains("did not run") && outcomes[2].contains("did not run"));
    }

    #[tokio::test]
    async fn an_action_cut_off_by_a_stop_is_recorded_interrupted_not_run_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.redb");
        {
            let store = crate::persist::open_store(&path).unwrap();
            let mut a = store
                .file_approval(|id| Approval {
                    id,
                    task: TaskId(7),
                    worker: "T".into(),
                    tool: "echo".into(),
                    args: json!({}),
                    reason: "r".into(),
                    status: ApprovalStatus::Pending,
                    created_ms: 0,
                    expires_ms: u64::MAX,
                    decided_ms: None,
                    decided_by: None,
                    note: None,
                    execution: None,
                })
                .unwrap();
            a.decide(ApprovalStatus::Approved, "Ada", None, 1).unwrap();
            a.execution = Some(Execution::Running);
            store.put_approval(&a).unwrap();
        }
        let (q, runs, told) = queue(dir.path());
        q.recover(2).await.unwrap();
        assert_eq!(
            q.get(ApprovalId(1)).unwrap().execution,
            Some(Execution::Interrupted)
        );
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        assert!(told.0.lock().unwrap()[0].2.contains("not run again"));
    }
}
