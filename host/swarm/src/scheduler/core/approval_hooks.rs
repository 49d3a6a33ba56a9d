//! Tasks that wait on the approval queue ([`crate::approvals`]): a call that stopped at a
//! tool call needing a person's approval puts its task to `needs_input` on that request
//! (the question is the request's, `clarifications[].approval` its id); the queue's
//! decision — and, once approved, what the action returned — becomes the answer, and the
//! task is ready again. Neither costs an attempt.

use super::Core;
use hypernet_model::ids::ApprovalId;
use hypernet_model::tasks::{Clarification, TaskId, TaskResult, TaskStatus};

impl Core {
    /// The call for `id` stopped at a tool call that waits on `approval`; `result.text` is
    /// the request's question.
    pub(super) fn await_approval(
        &mut self,
        id: TaskId,
        approval: ApprovalId,
        result: &TaskResult,
        now_ms: u64,
    ) {
        let Some(w) = self.release_worker(id, now_ms) else {
            return;
        };
        let worker = self.workers[w].config.name.clone();
        tracing::info!(task = %id, worker = %worker, %approval, "task waits on an approval");
        self.charge_unfinished(w, result, now_ms);
        self.wait_for_person(
            id,
            Clarification {
                question: result.text.clone(),
                asked_by: worker,
                asked_ms: now_ms,
                answer: None,
                answered_ms: None,
                approval: Some(approval),
            },
        );
        if let Some(outcome) = self.early_outcomes.remove(&approval) {
            self.answered(id, outcome, now_ms);
        }
    }

    /// The queue decided `approval`, which task `id` waits on: `outcome` (what became of
    /// the request) is the answer and the task is ready again. A decision that arrives
    /// before the task's call has ended is kept until it does; one for a task that no
    /// longer waits (cancelled) is dropped.
    pub fn resolve_approval(
        &mut self,
        id: TaskId,
        approval: ApprovalId,
        outcome: String,
        now_ms: u64,
    ) {
        match self.status_of(id) {
            Some(TaskStatus::NeedsInput)
                if self.active[&id]
                    .clarifications
                    .last()
                    .and_then(|c| c.approval)
                    == Some(approval) =>
            {
                self.answered(id, outcome, now_ms);
            }
            Some(TaskStatus::Running | TaskStatus::Assigned) => {
                self.early_outcomes.insert(approval, outcome);
            }
            other => {
                tracing::debug!(task = %id, %approval, status = ?other, "decision for a task that no longer waits");
            }
        }
    }
}
