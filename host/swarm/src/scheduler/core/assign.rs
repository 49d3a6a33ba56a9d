//! Handing ready tasks to free workers: the best (worker, task) pair by affinity and
//! priority, the route of the call and its worst-case cost reserved against the budget (a
//! fallback model when the routed one is over budget or suspended by the failure ladder,
//! else another free worker whose model is affordable; paid work paused and resumed), then
//! the task assigned, running, and its call dispatched on a new lane. Busy workers get
//! their next task in [`super::reservations`].

use super::{BudgetOutcome, Core};
use crate::budget;
use crate::coordinator::affinity::{self, Fit};
use crate::prompts;
use crate::router::{self, Route};
use crate::scheduler::effects::Dispatch;
use hypernet_model::tasks::{TaskId, TaskStatus};
use hypernet_plugin_api::Priority;
use serde_json::json;
use std::cmp::Reverse;

/// Ready tasks a worker's pick considers, most urgent first: the pick score is computed
/// over this window rather than the whole queue, so a pick costs the same however long the
/// queue is.
const PICK_WINDOW: usize = 16;

impl Core {
    /// Gives ready tasks to free workers, highest priority then oldest first, then (when
    /// reservations are on) one more to each busy worker; returns how many calls were
    /// dispatched.
    pub fn assign(&mut self, now_ms: u64) -> usize {
        if self.budget.roll(now_ms) {
            self.fx.budget = true;
        }
        for probe in self.ladder.due_probes(now_ms) {
            self.fx.probes.push(probe);
        }
        self.delegate_ready(now_ms);
        let stopped = self.stopped_workers();
        let mut outcome = BudgetOutcome::default();
        let mut skipped = Vec::new();
        let mut started = 0;
        self.clock_ms = self.clock_ms.max(now_ms);
        while !self.free.is_empty() {
            let free: Vec<usize> = self
                .free
                .iter()
                .copied()
                .filter(|&w| !stopped.get(w).copied().unwrap_or(false))
                .collect();
            if free.is_empty() {
                break;
            }
            let Some((pos, (prio, id))) = self.pick(&free, 0) else {
                outcome.scanned_all = true;
                break;
            };
            self.ready.remove(&(prio, id));
            let pos = self.worker_for(id, &free, pos);
            let Some(pos) = self.affordable_worker(id, &free, pos, now_ms, &mut outcome) else {
                // Over budget: it waits, ready, while cheaper work goes ahead.
                skipped.push((prio, id));
                continue;
            };
            let at = self.free.iter().position(|&x| x == free[pos]);
            let w = self
                .free
                .remove(at.expect("a free worker"))
                .expect("in range");
            self.claim(id, w);
            self.run_group(id, w, now_ms, &mut outcome);
            started += 1;
        }
        self.ready.extend(skipped);
        if self.cfg.reserve {
            self.reserve(now_ms, &mut outcome, &stopped);
        }
        self.delegate_ready(now_ms);
        self.update_pause(outcome, now_ms);
        started
    }

    /// Routes the next call of `id` on worker `w` and reserves its worst-case cost; when
    /// the routed model is over budget or its route suspended, the fallback chain is tried. Records the model and
    /// the reason on the task. False when no model is affordable.
    pub(super) fn plan_call(
        &mut self,
        id: TaskId,
        w: usize,
        now_ms: u64,
        out: &mut BudgetOutcome,
    ) -> bool {
        let task = &self.active[&id];
        let worker = &self.workers[w];
        let first = match self.pinned.get(&id) {
            Some(route) => route.clone(),
            None => self
                .asked_route(task)
                .unwrap_or_else(|| router::route(&self.router, &self.tiers, task, &worker.model)),
        };
        let max_tokens = u64::from(self.limits.max_tokens_for(&task.tags));
        let mut input_tokens = None;
        // A suspended route (credits exhausted) is skipped like one over budget.
        let why = match self.ladder.route_suspension(&first.model) {
            Some(s) => format!("route suspended ({})", s.reason),
            None => "over budget".to_owned(),
        };
        let mut candidates = vec![first.clone()];
        candidates.extend(
            self.router
                .fallback
                .iter()
                .filter(|m| **m != first.model)
                .map(|m| Route {
                    model: m.clone(),
                    reason: format!("fallback after {}: {why}", first.model),
                }),
        );
        candidates.retain(|r| self.ladder.route_suspension(&r.model).is_none());
        let mut chosen = None;
        let mut refused = None;
        for route in candidates {
            let price = self.budget.price(&route.model);
            let input = if price.input_per_mtok > 0.0 {
                *input_tokens.get_or_insert_with(|| {
                    let recall = prompts::Recall {
                        cfg: &self.memory_cfg,
                        memory: &worker.memory,
                    };
                    let system = prompts::system_prompt(
                        &self.limits,
                        &self.identities,
                        &worker.config,
                        recall,
                        task,
                        &first.model,
                    );
                    let chars = system.text.chars().count()
                        + prompts::user_prompt(task).chars().count()
                        + self.tool_chars;
                    budget::estimate_tokens(chars)
                })
            } else {
                0
            };
            let micros = price.cost_micros(input, max_tokens);
            match self.budget.reserve(id, micros, now_ms) {
                Ok(()) => {
                    if micros > 0 {
                        out.granted = true;
                    }
                    chosen = Some(route);
                    break;
                }
                Err(e) => {
                    refused.get_or_insert(e);
                }
            }
        }
        let Some(route) = chosen else {
            if let Some(e) = refused {
                out.refused.get_or_insert_with(|| e.to_string());
            }
            return false;
        };
        let task = self.active.get_mut(&id).expect("ready tasks are held");
        if task.model != route.model || task.route_reason != route.reason {
            task.model = route.model;
            task.route_reason = route.reason;
            self.fx.dirty.insert(id);
        }
        true
    }

    /// The free worker (its position in `free`) whose call of `id` is affordable: the one
    /// picked, else any other that may take the task. So while paid work waits for the
    /// budget, a worker on a free model (local, or priced at 0) still takes it.
    fn affordable_worker(
        &mut self,
        id: TaskId,
        free: &[usize],
        picked: usize,
        now_ms: u64,
        out: &mut BudgetOutcome,
    ) -> Option<usize> {
        if self.plan_call(id, free[picked], now_ms, out) {
            return Some(picked);
        }
        let task = &self.active[&id];
        let others: Vec<usize> = (0..free.len())
            .filter(|&p| p != picked && self.may_take(task, free[p]))
            .filter(|&p| {
                !task
                    .rejected_by
                    .contains(&self.workers[free[p]].config.name)
            })
            .collect();
        others
            .into_iter()
            .find(|&p| self.plan_call(id, free[p], now_ms, out))
    }

    /// Pauses paid work when a reservation was refused (announced once), and resumes it
    /// when a paid call was granted or nothing waits for money any more.
    fn update_pause(&mut self, out: BudgetOutcome, now_ms: u64) {
        if let Some(reason) = out.refused.clone().filter(|_| !out.granted) {
            if !self.budget.paused {
                self.budget.paused = true;
                let next_reset_ms = self.budget.next_reset_ms(now_ms);
                tracing::warn!(reason = %reason, next_reset_ms, "budget exhausted: paid work paused");
                self.fx.events.push((
                    "budget.exhausted".into(),
                    json!({ "reason": reason, "next_reset_ms": next_reset_ms }),
                ));
            }
            // Wake at the next reset (recomputed once it has passed).
            if self.budget_wake_ms.is_none_or(|at| at <= now_ms) {
                self.budget_wake_ms = Some(self.budget.next_reset_ms(now_ms));
            }
        } else if self.budget.paused && out.refused.is_none() && (out.granted || out.scanned_all) {
            // Resumed only when nothing was refused: a call squeezing in under the limit
            // while others still wait is not the end of the pause.
            self.budget.paused = false;
            self.budget_wake_ms = None;
            tracing::info!("budget restored: paid work resumes");
            self.fx.events.push(("budget.restored".into(), json!({})));
        }
    }

    /// Assigns `id` to worker `w` (an attempt begins); returns the attempt number.
    pub(super) fn claim(&mut self, id: TaskId, w: usize) -> u32 {
        let name = self.workers[w].config.name.clone();
        let task = self.active.get_mut(&id).expect("ready tasks are held");
        task.worker = Some(name.clone());
        task.attempts += 1;
        let attempt = task.attempts;
        self.set_status(id, TaskStatus::Assigned, json!({ "worker": name }))
            .expect("ready tasks may be assigned");
        attempt
    }

    /// Marks `id` running on worker `w`. With `dispatch`, the loop starts the call on a new
    /// lane; without, a call task has started it already (it was reserved).
    pub(super) fn run_on(&mut self, id: TaskId, w: usize, now_ms: u64, dispatch: bool) {
        if dispatch {
            self.next_lane += 1;
            self.workers[w].lane = self.next_lane;
        }
        let worker = &mut self.workers[w];
        worker.current = Some(id);
        let (name, lane) = (worker.config.name.clone(), worker.lane);
        self.workers_changed = true;
        let max_tokens = self.limits.max_tokens_for(&self.active[&id].tags);
        let task = self.active.get_mut(&id).expect("assigned tasks are held");
        if task.model.is_empty() {
            task.model = self.workers[w].model.clone();
        }
        let model = task.model.clone();
        task.started_ms = Some(now_ms);
        let attempt = task.attempts;
        self.set_status(
            id,
            TaskStatus::Running,
            json!({ "worker": name, "model": model, "attempt": attempt }),
        )
        .expect("assigned tasks may run");
        if dispatch {
            self.fx.dispatch.push(Dispatch {
                task: id,
                attempt,
                worker: name,
                model,
                max_tokens,
                worker_index: w,
                lane,
            });
        }
    }

    /// The best (worker, task) pair among `candidates` (each holding `load` tasks) and the
    /// first [`PICK_WINDOW`] ready tasks: highest `0.6·affinity + 0.4·priority/400` (see
    /// [`affinity`]); ties go to the more urgent task, then the worker first in line.
    /// Returns the worker's position in `candidates` and the task's ready entry.
    pub(super) fn pick(
        &self,
        candidates: &[usize],
        load: usize,
    ) -> Option<(usize, (Reverse<Priority>, TaskId))> {
        let fit = |w: usize| {
            let worker = &self.workers[w];
            Fit {
                capabilities: &worker.config.capabilities,
                success_rate: worker.stats.success_rate(),
                load,
            }
        };
        let parts: Vec<f64> = candidates
            .iter()
            .map(|&w| affinity::worker_part(&fit(w)))
            .collect();
        let mut best: Option<(f64, usize, (Reverse<Priority>, TaskId))> = None;
        // A task with the priority and tags of one already scored cannot beat it.
        let mut seen: Vec<(Priority, &[String])> = Vec::new();
        // Tasks filed for a worker that is not a candidate take no place in the window.
        let open = self.ready.iter().filter(|(_, id)| {
            let task = &self.active[id];
            task.for_worker.is_none() || candidates.iter().any(|&w| self.may_take(task, w))
        });
        for &(prio, id) in open.take(PICK_WINDOW) {
            let task = &self.active[&id];
            let tags = task.tags.as_slice();
            if task.for_worker.is_none() {
                if seen.iter().any(|&(p, t)| p == prio.0 && t == tags) {
                    continue;
                }
                seen.push((prio.0, tags));
            }
            for (pos, &w) in candidates.iter().enumerate() {
                if !self.may_take(task, w) {
                    continue;
                }
                let tag = affinity::tag_part(tags, &self.workers[w].config.capabilities);
                let score = affinity::pick_score((tag + parts[pos]).min(1.0), prio.0);
                if best.is_none_or(|(b, _, _)| score > b) {
                    best = Some((score, pos, (prio, id)));
                }
            }
        }
        best.map(|(_, pos, entry)| (pos, entry))
    }
}
