//! Where the scheduler's core reads what a worker says about its task: the ```` ```signal ````
//! and ```` ```swarm ```` blocks of a successful answer ([`crate::tasks::blocks`]).
//!
//! - Signals are kept on the task's result; each is announced as `task.signal`.
//! - A `task_rejection` signal sends the task back to ready instead of completing it: no
//!   failed attempt is counted, and the worker that refused is passed over for that task
//!   while another worker is free. Who refused what is kept in memory only (a restart
//!   forgets it, which costs at most one more refusal per worker).
//! - Swarm directives go to [`Core::on_directives`] (autoscaling).
//!
//! A block that cannot be read is logged and skipped; the answer still counts.

use super::Core;
use crate::tasks::blocks::{self, Signal};
use crate::tasks::{TaskId, TaskResult, TaskStatus};
use serde_json::json;
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

/// The workers (by name) that refused each task, while the task is held.
#[derive(Debug, Default)]
pub(super) struct Rejections(HashMap<TaskId, BTreeSet<String>>);

impl Rejections {
    /// Forgets `id` (it left memory).
    pub(super) fn forget(&mut self, id: TaskId) {
        self.0.remove(&id);
    }
}

impl Core {
    /// Reads the blocks of a successful answer for `id` before it is recorded: stores the
    /// signals on `result`, announces them and hands directives on. True when the worker
    /// refused the task, which is then back to ready and must not be completed.
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
        let Some(w) = self.workers.iter().position(|w| w.current == Some(id)) else {
            return false;
        };
        let worker = self.workers[w].config.name.clone();
        self.on_directives(&worker, found.directives);
        // Signals the call itself raised (a conversation stopped at its cap) come first.
        let mut signals = std::mem::take(&mut result.signals);
        signals.extend(found.signals);
        let refusal = signals.iter().find_map(|s| match s {
            Signal::TaskRejection { reason } => Some(reason.clone()),
            _ => None,
        });
        if let Some(reason) = refusal {
            self.reject(id, w, &worker, &reason, result, now_ms);
            return true;
        }
        for signal in &signals {
            self.fx.events.push((
                "task.signal".into(),
                json!({ "task": id, "worker": worker, "signal": signal }),
            ));
        }
        result.signals = signals;
        false
    }

    /// Worker `w` refused `id`: the task goes back to ready with the reason as its error,
    /// its attempt not charged, and `w` is remembered so another worker gets it next.
    fn reject(
        &mut self,
        id: TaskId,
        w: usize,
        worker: &str,
        reason: &str,
        result: &TaskResult,
        now_ms: u64,
    ) {
        tracing::info!(task = %id, worker = %worker, reason = %reason, "task rejected");
        self.rejections
            .0
            .entry(id)
            .or_default()
            .insert(worker.to_owned());
        self.release_worker(id, now_ms);
        let stats = &mut self.workers[w].stats;
        stats.tokens += result.input_tokens + result.output_tokens;
        stats.cost_micros += result.cost_micros;
        stats.last_active_ms = Some(now_ms);
        self.fx.workers.insert(w);
        let error = format!("rejected by {worker}: {reason}");
        let task = self.active.get_mut(&id).expect("current");
        task.error = Some(error.clone());
        task.worker = None;
        // A refusal is not a failure: the attempt it used is given back.
        task.max_attempts += 1;
        let priority = task.priority;
        self.set_status(id, TaskStatus::Ready, json!({ "reason": error }))
            .expect("running tasks may become ready");
        self.ready.insert((Reverse(priority), id));
        self.fx.events.push((
            "task.rejected".into(),
            json!({ "task": id, "worker": worker, "reason": reason }),
        ));
    }

    /// Position in `candidates` of the worker to give `id`, given the `picked` one: kept
    /// unless it refused `id`, else the first in line that has not (kept when all have).
    pub(super) fn worker_for(&self, id: TaskId, candidates: &[usize], picked: usize) -> usize {
        let Some(refused) = self.rejections.0.get(&id) else {
            return picked;
        };
        let refused_by = |w: usize| refused.contains(&self.workers[w].config.name);
        if !refused_by(candidates[picked]) {
            return picked;
        }
        candidates
            .iter()
            .position(|&w| !refused_by(w))
            .unwrap_or(picked)
    }
}
