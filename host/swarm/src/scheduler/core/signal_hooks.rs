//! Where the scheduler's core reads what a worker says about its task: the ```` ```signal ````
//! and ```` ```swarm ```` blocks of a successful answer ([`hypernet_model::tasks::blocks`]).
//!
//! - Signals are kept on the task's result; each is announced as `task.signal`.
//! - A `task_rejection` signal sends the task back to ready instead of completing it: no
//!   failed attempt is counted, and the worker that refused is named in the task's
//!   `rejected_by` (stored with it) and passed over for that task while another worker is
//!   free. Once every live worker has refused it, the task fails for good with their
//!   reasons: nobody is left to do it.
//! - A `clarification_needed` signal turns the task to `needs_input`: the question is kept
//!   in its `clarifications`, `task.needs_input` is announced (the outbox tells a person),
//!   and the worker is free. [`Core::answer`] records a person's answer and makes the task
//!   ready again; its next call carries every question and answer (see
//!   [`crate::prompts::user_prompt`]). Neither costs an attempt.
//! - Swarm directives go to [`Core::on_directives`] (autoscaling).
//!
//! A block that cannot be read is logged and skipped; the answer still counts.

use super::{Core, CoreError};
use hypernet_model::tasks::blocks::{self, Signal};
use hypernet_model::tasks::{Clarification, TaskId, TaskResult, TaskStatus};
use serde_json::json;
use std::cmp::Reverse;

/// What a worker's signals make of its answer.
enum Verdict {
    /// The answer stands.
    Answer,
    /// The worker refused the task.
    Refused(String),
    /// The worker needs a person's answer first.
    Asks(String),
}

impl Core {
    /// Reads the blocks of a successful answer for `id` before it is recorded: stores the
    /// signals on `result`, announces them and hands directives on. True when the answer
    /// does not complete the task (refused, or waiting for a person's answer).
    pub(super) fn read_signals(
        &mut self,
        id: TaskId,
        result: &mut TaskResult,
        now_ms: u64,
    ) -> bool {
        let found = blocks::parse(&result.text);
        for why in &found.malformed {
            tracing::warn!(task = %id, why = %why, "unreadable block in answer");
        }
        let Some(w) = self.worker_of(id) else {
            return false;
        };
        let worker = self.workers[w].config.name.clone();
        self.on_directives(&worker, found.directives);
        // Signals the call itself raised (a conversation stopped at its cap) come first.
        let mut signals = std::mem::take(&mut result.signals);
        signals.extend(found.signals);
        let verdict = signals
            .iter()
            .find_map(|s| match s {
                Signal::TaskRejection { reason } => Some(Verdict::Refused(reason.clone())),
                Signal::ClarificationNeeded { question } => Some(Verdict::Asks(question.clone())),
                _ => None,
            })
            .unwrap_or(Verdict::Answer);
        for signal in &signals {
            self.fx.events.push((
                "task.signal".into(),
                json!({ "task": id, "worker": worker, "signal": signal }),
            ));
        }
        result.signals = signals;
        match verdict {
            Verdict::Answer => return false,
            Verdict::Refused(reason) => self.reject(id, &worker, &reason, now_ms),
            Verdict::Asks(question) => self.ask_person(id, &worker, &question, now_ms),
        }
        self.charge_unfinished(w, result, now_ms);
        true
    }

    /// Counts the tokens and cost of an answer that did not complete its task in the stats
    /// of worker `w`.
    pub(super) fn charge_unfinished(&mut self, w: usize, result: &TaskResult, now_ms: u64) {
        let stats = &mut self.workers[w].stats;
        stats.tokens += result.input_tokens + result.output_tokens;
        stats.cost_micros += result.cost_micros;
        stats.last_active_ms = Some(now_ms);
        self.fx.workers.insert(w);
    }

    /// `worker` refused `id`: the task goes back to ready with the reason as its error,
    /// its attempt not charged, and the worker is named so another gets it next — or, when
    /// every live worker has refused it, it fails for good.
    fn reject(&mut self, id: TaskId, worker: &str, reason: &str, now_ms: u64) {
        tracing::info!(task = %id, worker = %worker, reason = %reason, "task rejected");
        self.release_worker(id, now_ms);
        let everyone = {
            let task = self.active.get_mut(&id).expect("current");
            if !task.rejected_by.iter().any(|r| r == worker) {
                task.rejected_by.push(worker.to_owned());
            }
            let task = &self.active[&id];
            // Everyone who could take it: a task filed for one worker has only that one.
            (0..self.workers.len())
                .filter(|&w| !self.workers[w].retired && self.may_take(task, w))
                .all(|w| task.rejected_by.contains(&self.workers[w].config.name))
        };
        let error = format!("rejected by {worker}: {reason}");
        self.fx.events.push((
            "task.rejected".into(),
            json!({ "task": id, "worker": worker, "reason": reason }),
        ));
        let task = self.active.get_mut(&id).expect("current");
        // A refusal is not a failure: the attempt it used is given back.
        task.max_attempts += 1;
        if everyone {
            let error = format!("every worker refused it; last {error}");
            task.attempts = task.max_attempts;
            task.error = Some(error.clone());
            task.finished_ms = Some(now_ms);
            self.set_status(id, TaskStatus::Failed, json!({ "error": error }))
                .expect("running tasks may fail");
            self.failed_since_start += 1;
            let _ = self.reevaluate_dependents(id);
            self.evict(id);
            return;
        }
        task.error = Some(error.clone());
        task.worker = None;
        let priority = task.priority;
        self.set_status(id, TaskStatus::Ready, json!({ "reason": error }))
            .expect("running tasks may become ready");
        self.ready.insert((Reverse(priority), id));
    }

    /// `worker` needs a person to answer `question` before it can finish `id`.
    fn ask_person(&mut self, id: TaskId, worker: &str, question: &str, now_ms: u64) {
        tracing::info!(task = %id, worker = %worker, question = %question, "task needs input");
        self.release_worker(id, now_ms);
        self.wait_for_person(
            id,
            Clarification {
                question: question.to_owned(),
                asked_by: worker.to_owned(),
                asked_ms: now_ms,
                answer: None,
                answered_ms: None,
                approval: None,
            },
        );
    }

    /// Puts running task `id` (its worker already released) to `needs_input` on `asked`,
    /// giving back the attempt it used (its `max_attempts` stays what was filed);
    /// `task.needs_input` carries the question.
    pub(super) fn wait_for_person(&mut self, id: TaskId, asked: Clarification) {
        let task = self.active.get_mut(&id).expect("current");
        task.attempts = task.attempts.saturating_sub(1);
        let payload = json!({
            "question": asked.question,
            "approval": asked.approval,
            "filed_by": task.filed_by,
        });
        task.clarifications.push(asked);
        self.set_status(id, TaskStatus::NeedsInput, payload)
            .expect("running tasks may wait for input");
    }

    /// The answer to the last question of `id` is in: it is ready again.
    pub(super) fn answered(&mut self, id: TaskId, answer: String, now_ms: u64) {
        let task = self.active.get_mut(&id).expect("unfinished tasks are held");
        let asked = task
            .clarifications
            .last_mut()
            .expect("a task needing input has a question");
        asked.answer = Some(answer);
        asked.answered_ms = Some(now_ms);
        task.worker = None;
        let priority = task.priority;
        self.set_status(id, TaskStatus::Ready, json!({ "reason": "answered" }))
            .expect("a task needing input may become ready");
        self.ready.insert((Reverse(priority), id));
    }

    /// A person answers the question `id` waits on: the task is ready again, its next call
    /// carrying the answer.
    pub fn answer(&mut self, id: TaskId, answer: &str, now_ms: u64) -> Result<(), CoreError> {
        let answer = answer.trim();
        if answer.is_empty() {
            return Err(CoreError::Invalid("`answer` must not be empty".into()));
        }
        let status = self.status_of(id).ok_or(CoreError::NoSuchTask(id))?;
        if status != TaskStatus::NeedsInput {
            return Err(CoreError::NotWaiting { id, status });
        }
        let task = &self.active[&id];
        if let Some(approval) = task.clarifications.last().and_then(|c| c.approval) {
            return Err(CoreError::Invalid(format!(
                "{id} waits on approval request {approval}: approve or deny it \
                 (hypernet approvals approve {approval})"
            )));
        }
        self.answered(id, answer.to_owned(), now_ms);
        Ok(())
    }

    /// Position in `candidates` of the worker to give `id`, given the `picked` one: kept
    /// unless it refused `id`, else the first in line that has not refused it and may take
    /// it (kept when there is none).
    pub(super) fn worker_for(&self, id: TaskId, candidates: &[usize], picked: usize) -> usize {
        let task = &self.active[&id];
        if task.rejected_by.is_empty() {
            return picked;
        }
        let refused_by = |w: usize| task.rejected_by.contains(&self.workers[w].config.name);
        if !refused_by(candidates[picked]) {
            return picked;
        }
        candidates
            .iter()
            .position(|&w| !refused_by(w) && self.may_take(task, w))
            .unwrap_or(picked)
    }
}
