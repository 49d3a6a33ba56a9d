//! Reservations (`reserve` in the scheduler's configuration): a busy worker holds its next
//! task, durably assigned, in its slot ([`crate::scheduler::reserve`]), so the next call
//! starts as soon as the current one ends. A more urgent ready task takes a reservation's
//! place, and at shutdown every reservation whose call has not started is taken back.

use super::{BudgetOutcome, Core};
use crate::scheduler::effects::Dispatch;
use crate::scheduler::reserve::Slots;
use hypernet_model::tasks::TaskStatus;
use hypernet_plugin_api::Priority;
use serde_json::json;
use std::cmp::Reverse;
use std::sync::Arc;

impl Core {
    /// Gives each busy worker without a reservation the next ready task. A ready task of
    /// higher priority than a reservation takes its place (the reserved task goes back to
    /// ready), so reservations never delay more urgent work.
    pub(super) fn reserve(&mut self, now_ms: u64, out: &mut BudgetOutcome, stopped: &[bool]) {
        if self.ready.is_empty() {
            return;
        }
        let mut open: Vec<usize> = (0..self.workers.len())
            .filter(|&w| self.workers[w].current.is_some() && self.workers[w].reserved.is_none())
            .filter(|&w| !stopped.get(w).copied().unwrap_or(false))
            .collect();
        let mut skipped = Vec::new();
        while let Some(&(Reverse(best), _)) = self.ready.iter().next() {
            if open.is_empty() {
                match self.worst_reservation() {
                    Some((prio, w))
                        if prio < best
                            && self.withdraw(w, "a task of higher priority took its place") =>
                    {
                        open.push(w)
                    }
                    _ => break,
                }
            }
            let Some((pos, (prio, id))) = self.pick(&open, 1) else {
                break;
            };
            if self.may_batch(id) {
                // Left for the next free worker, which takes it with its company in one
                // call; a reservation would send it alone.
                break;
            }
            self.ready.remove(&(prio, id));
            let pos = self.worker_for(id, &open, pos);
            if !self.plan_call(id, open[pos], now_ms, out) {
                skipped.push((prio, id));
                continue;
            }
            let w = open.remove(pos);
            let attempt = self.claim(id, w);
            let max_tokens = self.limits.max_tokens_for(&self.active[&id].tags);
            let model = self.active[&id].model.clone();
            let worker = &mut self.workers[w];
            worker.reserved = Some(id);
            self.workers_changed = true;
            self.fx.reserve.push(Dispatch {
                task: id,
                attempt,
                worker: worker.config.name.clone(),
                model,
                max_tokens,
                worker_index: w,
                lane: worker.lane,
            });
        }
        self.ready.extend(skipped);
    }

    /// The reservation to give up first: lowest priority, then newest.
    fn worst_reservation(&self) -> Option<(Priority, usize)> {
        self.workers
            .iter()
            .enumerate()
            .filter_map(|(w, worker)| {
                let id = worker.reserved?;
                Some((self.active[&id].priority, Reverse(id), w))
            })
            .min()
            .map(|(prio, _, w)| (prio, w))
    }

    /// Takes worker `w`'s reservation back to ready; false when its call has already
    /// started (the scheduler learns of it with the running call's answer).
    pub(super) fn withdraw(&mut self, w: usize, reason: &str) -> bool {
        let Some(id) = self.workers[w].reserved else {
            return false;
        };
        if self.slots.withdraw(w).is_none() {
            return false;
        }
        self.workers[w].reserved = None;
        self.workers_changed = true;
        let task = self.active.get_mut(&id).expect("reserved tasks are held");
        task.worker = None;
        // The call never started: the attempt is not spent.
        task.attempts -= 1;
        let priority = task.priority;
        self.budget.release(id);
        self.set_status(id, TaskStatus::Ready, json!({ "reason": reason }))
            .expect("assigned tasks may become ready");
        self.ready.insert((Reverse(priority), id));
        true
    }

    /// Takes back every reservation whose call has not started (at shutdown).
    pub fn withdraw_reservations(&mut self) {
        for w in 0..self.workers.len() {
            self.withdraw(w, "the host is shutting down");
        }
    }

    /// The slots through which call tasks take their reserved next call.
    pub fn slots(&self) -> Arc<Slots> {
        self.slots.clone()
    }
}
