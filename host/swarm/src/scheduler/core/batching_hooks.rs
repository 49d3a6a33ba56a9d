//! Batched execution in the core (see [`crate::scheduler::batching`]): a free worker that
//! takes a qualifying task takes, in the same call, ready tasks that route to the same model
//! with the same tags (each assigned and running on it, an attempt each, its own budget
//! reservation). When the call ends, its answer is split and each task still running
//! completes with its own answer and its share of the tokens and cost; an answer that cannot
//! be split, or a failed call, sends those tasks back to ready for single calls with their
//! attempts given back. A task cancelled meanwhile is left out; its share is still charged,
//! as the tokens were spent.

use super::{BudgetOutcome, Core};
use crate::budget::{Saving, Share, Tokens};
use crate::prompts;
use crate::router;
use crate::scheduler::batching::call::{BatchDispatch, Finished};
use crate::scheduler::batching::group::{self, GroupKey, Room};
use crate::scheduler::batching::{BatchingConfig, shares, split};
use crate::scheduler::ladder::Failure;
use hypernet_model::tasks::{TaskId, TaskResult, TaskStatus};
use serde_json::json;
use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

/// Ready tasks looked at for a call's company, most urgent first (so a grouping costs the
/// same however long the queue is).
const SCAN_WINDOW: usize = 256;

/// What the core keeps for batching.
#[derive(Debug)]
pub(super) struct Batching {
    /// The settings (off until configured).
    cfg: BatchingConfig,
    /// Tasks whose batched call failed: they take single calls from now on.
    solo: HashSet<TaskId>,
    /// The share of a batched call each task about to complete is charged.
    shares: HashMap<TaskId, Share>,
}

impl Default for Batching {
    fn default() -> Self {
        // Off until configured.
        Batching {
            cfg: BatchingConfig {
                enabled: false,
                ..BatchingConfig::default()
            },
            solo: HashSet::new(),
            shares: HashMap::new(),
        }
    }
}

impl Core {
    /// Sets batched execution (default: off).
    pub fn configure_batching(&mut self, cfg: BatchingConfig) {
        self.batching.cfg = cfg;
    }

    /// Runs `lead`, claimed by worker `w`, with the ready tasks that may share its call (one
    /// call for all); alone when none may.
    pub(super) fn run_group(
        &mut self,
        lead: TaskId,
        w: usize,
        now_ms: u64,
        out: &mut BudgetOutcome,
    ) {
        let members = self.company(lead, w, now_ms, out);
        self.run_on(lead, w, now_ms, true);
        if members.is_empty() {
            return;
        }
        let mut call = self
            .fx
            .dispatch
            .pop()
            .expect("the lead's call was dispatched");
        let mut tasks = vec![(lead, call.attempt)];
        for &id in &members {
            let attempt = self.claim(id, w);
            // Running on the worker, in the lead's call: no call of its own.
            self.run_on(id, w, now_ms, false);
            tasks.push((id, attempt));
        }
        let worker = &mut self.workers[w];
        worker.current = Some(lead);
        worker.batch = members;
        call.max_tokens = call.max_tokens.saturating_mul(tasks.len() as u32);
        let ids: Vec<String> = tasks.iter().map(|(id, _)| id.to_string()).collect();
        tracing::info!(tasks = ?ids, worker = %call.worker, model = %call.model, "tasks batched into one call");
        self.fx.events.push((
            "batch.dispatched".into(),
            json!({ "tasks": ids, "worker": call.worker, "model": call.model }),
        ));
        self.fx.batches.push(BatchDispatch { call, tasks });
    }

    /// Whether `id` may share a call with others (it is not sent alone after a failed
    /// batched call, nor pinned to a fallback model).
    pub(super) fn may_batch(&self, id: TaskId) -> bool {
        group::qualifies(&self.batching.cfg, &self.active[&id])
            && !self.batching.solo.contains(&id)
            && !self.pinned.contains_key(&id)
    }

    /// The ready tasks that may share `lead`'s call on worker `w`, taken out of the ready
    /// queue with their budget reserved, most urgent first.
    fn company(
        &mut self,
        lead: TaskId,
        w: usize,
        now_ms: u64,
        out: &mut BudgetOutcome,
    ) -> Vec<TaskId> {
        if !self.may_batch(lead) {
            return Vec::new();
        }
        let cfg = &self.batching.cfg;
        let task = &self.active[&lead];
        let Some(mut room) = Room::beside(cfg, prompts::user_prompt(task).chars().count()) else {
            return Vec::new();
        };
        let key = GroupKey::of(task, &task.model);
        let worker = &self.workers[w];
        let candidates: Vec<_> = self
            .ready
            .iter()
            .take(SCAN_WINDOW)
            .filter(|(_, id)| {
                let t = &self.active[id];
                self.may_batch(*id)
                    && self.may_take(t, w)
                    && !t.rejected_by.contains(&worker.config.name)
                    && GroupKey::of(
                        t,
                        &router::route(&self.router, &self.tiers, t, &worker.model).model,
                    ) == key
            })
            .copied()
            .collect();
        let mut members = Vec::new();
        for entry in candidates {
            if room.is_full() {
                break;
            }
            let chars = prompts::user_prompt(&self.active[&entry.1]).chars().count();
            if !room.fits(chars) {
                continue;
            }
            self.ready.remove(&entry);
            // Its own worst case is reserved: the batched call costs less than the sum.
            let planned = self.plan_call(entry.1, w, now_ms, out);
            if !planned || GroupKey::of(&self.active[&entry.1], &self.active[&entry.1].model) != key
            {
                // Over budget, or only affordable on a fallback: it waits for its own call.
                if planned {
                    self.budget.release(entry.1);
                }
                self.ready.insert(entry);
                continue;
            }
            room.take(chars);
            members.push(entry.1);
        }
        members
    }

    /// Ends task `id`'s part in worker `w`'s batched call, if it is in one: the call goes
    /// on for the others (the worker stays busy). False when the worker runs no batched
    /// call.
    pub(super) fn leave_batch(&mut self, w: usize, id: TaskId) -> bool {
        let worker = &mut self.workers[w];
        if worker.batch.is_empty() {
            return false;
        }
        if worker.current == Some(id) {
            worker.current = Some(worker.batch.remove(0));
        } else {
            worker.batch.retain(|&t| t != id);
        }
        self.workers_changed = true;
        true
    }

    /// The worker whose call `id` is in (its own, or a batched one).
    pub(super) fn worker_of(&self, id: TaskId) -> Option<usize> {
        self.workers
            .iter()
            .position(|w| w.current == Some(id) || w.batch.contains(&id))
    }

    /// The share of a batched call `id` is charged (when its answer is settled).
    pub(super) fn take_share(&mut self, id: TaskId) -> Option<Share> {
        self.batching.shares.remove(&id)
    }

    /// Applies the end of a batched call: each task still running completes with its own
    /// answer and share, or (the answer not split, the call failed) goes back to ready for
    /// a single call.
    pub fn batch_finished(&mut self, finished: Finished, now_ms: u64) {
        self.batching.solo.retain(|id| self.active.contains_key(id));
        let Finished {
            tasks,
            layout,
            single_chars,
            outcome,
        } = finished;
        let live: Vec<bool> = tasks
            .iter()
            .map(|&(id, a)| self.is_current(id, a))
            .collect();
        let worker = tasks
            .iter()
            .find_map(|(id, _)| self.active.get(id).and_then(|t| t.worker.clone()))
            .unwrap_or_default();
        // The model the call was routed to, as a single call is charged (the answer may
        // name the provider's own version of it).
        let routed = tasks
            .iter()
            .find_map(|(id, _)| self.active.get(id).map(|t| t.model.clone()))
            .filter(|m| !m.is_empty());
        let ids: Vec<String> = tasks.iter().map(|(id, _)| id.to_string()).collect();
        let result = match outcome {
            Ok(result) => result,
            Err(error) => {
                if let Some(&(id, _)) = tasks.iter().zip(&live).find(|(_, l)| **l).map(|(t, _)| t) {
                    self.note_failure(id, Failure::of(&error), now_ms);
                }
                let why = format!("its batched call failed: {error}");
                return self.back_to_single(&tasks, &live, &ids, why, now_ms);
            }
        };
        let model = routed.unwrap_or_else(|| result.model.clone());
        let price = self.budget.price(&model);
        let call = Tokens {
            input: result.input_tokens,
            output: result.output_tokens,
            cache_read: result.cache_read_tokens,
            cache_write: result.cache_write_tokens,
        };
        let cost = price.cost_of(&call);
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let answers = split::split(&result.text, &id_refs);
        let answer_chars: Vec<usize> = match &answers {
            Ok(answers) => answers.iter().map(|a| a.chars().count()).collect(),
            Err(_) => vec![0; tasks.len()],
        };
        let parts = shares::shares(call, cost, &layout, &answer_chars, price);
        let mut pending = Vec::new();
        for (i, (&(id, _), part)) in tasks.iter().zip(&parts).enumerate() {
            let share = Share {
                cost_micros: part.cost_micros,
                counts_call: i == 0,
                of: tasks.len() as u64,
            };
            self.batching.shares.insert(id, share);
            if live[i] && answers.is_ok() {
                pending.push((i, part.tokens));
            } else {
                // Spent whatever becomes of the task.
                self.charge(id, &model, &worker, part.tokens, now_ms);
                self.fx.budget = true;
            }
        }
        let answers = match answers {
            Ok(answers) => answers,
            Err(why) => {
                tracing::warn!(tasks = ?ids, error = %why, "batched answer not split: single calls follow");
                let why = format!("its batched answer could not be split ({why})");
                return self.back_to_single(&tasks, &live, &ids, why, now_ms);
            }
        };
        let saving = shares::saving(price, cost, &single_chars, &parts);
        self.budget.record_saving(Saving::Batching, saving, now_ms);
        self.fx.budget = true;
        self.fx.events.push((
            "batch.answered".into(),
            json!({
                "tasks": ids,
                "worker": worker,
                "model": model,
                "input_tokens": call.input,
                "output_tokens": call.output,
                "cost_micros": cost,
                "saving_micros": saving,
            }),
        ));
        let mut answers: Vec<Option<String>> = answers.into_iter().map(Some).collect();
        for (i, tokens) in pending {
            let (id, attempt) = tasks[i];
            let text = answers[i].take().expect("one answer each");
            let task_result = TaskResult {
                text,
                model: result.model.clone(),
                input_tokens: tokens.input,
                output_tokens: tokens.output,
                cache_read_tokens: tokens.cache_read,
                cache_write_tokens: tokens.cache_write,
                simulated: result.simulated,
                ..TaskResult::default()
            };
            self.complete(id, attempt, task_result, now_ms);
            // Settled by `complete`, unless it ignored the answer.
            self.batching.shares.remove(&id);
        }
    }

    /// Sends the running tasks of a batched call back to ready, each for a single call,
    /// with the attempt it was charged given back.
    fn back_to_single(
        &mut self,
        tasks: &[(TaskId, u32)],
        live: &[bool],
        ids: &[String],
        why: String,
        now_ms: u64,
    ) {
        self.fx.events.push((
            "batch.unsplit".into(),
            json!({ "tasks": ids, "reason": why }),
        ));
        for (&(id, _), _) in tasks.iter().zip(live).filter(|(_, l)| **l) {
            self.budget.release(id);
            self.release_worker(id, now_ms);
            let task = self.active.get_mut(&id).expect("running tasks are held");
            task.attempts -= 1;
            task.worker = None;
            let priority = task.priority;
            self.set_status(id, TaskStatus::Ready, json!({ "reason": why }))
                .expect("running tasks may become ready");
            self.ready.insert((Reverse(priority), id));
            self.batching.solo.insert(id);
        }
    }
}
