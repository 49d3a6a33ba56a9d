//! Where the core meets the boot sequences running in the background
//! ([`crate::identity::startup`]): a worker waiting for its boot gets no task, each turn is
//! reserved against and charged to the budget here, its progress is kept for the status
//! and announced, and the end of a worker's sequence hands over the new identities.

use super::Core;
use crate::budget;
use crate::identity::startup::Request;
use hypernet_model::tasks::TaskId;
use serde_json::json;
use std::collections::BTreeSet;

/// The budget reservation key of boot turns (no task has this id).
const BOOT_HOLD: TaskId = TaskId(u64::MAX);

/// The boot sequences still to run, and the turn running now.
#[derive(Debug, Clone, Default)]
pub struct Booting {
    /// Workers whose sequence has not ended, by name.
    waiting: BTreeSet<String>,
    /// The turn running now: worker, turn, turns.
    turn: Option<(String, usize, usize)>,
}

/// The boot sequences as `GET /api/status` shows them, while any is left.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BootView {
    /// The worker whose sequence runs now.
    pub worker: Option<String>,
    /// Its current turn, from 1.
    pub turn: usize,
    /// Turns in its sequence.
    pub turns: usize,
    /// Workers whose sequence has not ended (they get no task until it has).
    pub waiting: Vec<String>,
}

impl Core {
    /// Holds `workers` back from tasks until their boot sequence ends.
    pub fn await_boot(&mut self, workers: impl IntoIterator<Item = String>) {
        self.boot.waiting.extend(workers);
    }

    /// Whether the worker called `name` waits for its boot sequence.
    pub(super) fn is_booting(&self, name: &str) -> bool {
        self.boot.waiting.contains(name)
    }

    /// Whether any worker waits for its boot sequence.
    pub(super) fn any_booting(&self) -> bool {
        !self.boot.waiting.is_empty()
    }

    /// The boot sequences left, if any.
    pub fn boot_view(&self) -> Option<BootView> {
        if self.boot.waiting.is_empty() {
            return None;
        }
        let (worker, turn, turns) = match &self.boot.turn {
            Some((w, t, n)) => (Some(w.clone()), *t, *n),
            None => (None, 0, 0),
        };
        Some(BootView {
            worker,
            turn,
            turns,
            waiting: self.boot.waiting.iter().cloned().collect(),
        })
    }

    /// Answers a request of the boot sequence.
    pub fn boot_request(&mut self, request: Request, now_ms: u64) {
        match request {
            Request::Reserve {
                model,
                chars,
                max_tokens,
                reply,
            } => {
                let estimate = self
                    .budget
                    .price(&model)
                    .cost_micros(budget::estimate_tokens(chars), u64::from(max_tokens));
                let granted = self
                    .budget
                    .reserve(BOOT_HOLD, estimate, now_ms)
                    .map_err(|e| e.to_string());
                let _ = reply.send(granted);
            }
            Request::Settle {
                model,
                worker,
                tokens,
            } => {
                let charge = crate::budget::Charge {
                    category: crate::budget::Category::Boot,
                    ..crate::budget::Charge::work(&model, &worker, tokens)
                };
                self.budget.settle(BOOT_HOLD, &charge, now_ms);
                self.fx.budget = true;
            }
            Request::Release => self.budget.release(BOOT_HOLD),
            Request::Turn {
                worker,
                turn,
                turns,
            } => {
                self.fx.events.push((
                    "boot.progress".into(),
                    json!({ "worker": worker, "turn": turn, "turns": turns }),
                ));
                self.boot.turn = Some((worker, turn, turns));
            }
            Request::Finished {
                worker,
                outcome,
                identities,
            } => {
                self.identities = identities;
                self.boot.waiting.remove(&worker);
                self.boot.turn = None;
                self.workers_changed = true;
                self.fx.events.push((
                    "boot.finished".into(),
                    json!({ "worker": worker, "outcome": outcome }),
                ));
            }
        }
    }
}
