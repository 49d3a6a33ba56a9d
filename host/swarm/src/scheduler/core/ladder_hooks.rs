//! Where the scheduler's core meets the failure ladder ([`super::super::ladder`]): failed
//! calls are counted, suspended workers and an open breaker are skipped when calls are
//! handed out, and probe results resume them.

use super::Core;
use crate::budget;
use crate::scheduler::ladder::{Change, Failure, ProbeTarget};
use hypernet_model::tasks::TaskId;

impl Core {
    /// Workers that may not start a call now, by index: suspended ones, ones waiting for
    /// their boot sequence, paused or leaving ones, and every worker on a paid model while
    /// the breaker is open. Empty when nobody is stopped.
    pub(super) fn stopped_workers(&self) -> Vec<bool> {
        let breaker = self.ladder.breaker_open();
        let held = |w: &super::Worker| w.paused || w.leaving;
        if !breaker
            && !self.ladder.any_suspended()
            && !self.any_booting()
            && !self.workers.iter().any(held)
        {
            return Vec::new();
        }
        self.workers
            .iter()
            .map(|w| {
                held(w)
                    || self.ladder.is_suspended(&w.config.name)
                    || self.is_booting(&w.config.name)
                    || (breaker && !budget::is_local(&w.model))
            })
            .collect()
    }

    /// Counts the failed call of `id` against its worker and the swarm.
    pub(super) fn note_failure(&mut self, id: TaskId, cause: Failure, now_ms: u64) {
        let Some(w) = self.worker_of(id) else {
            return;
        };
        let worker = &self.workers[w];
        let model = &self.active[&id].model;
        let local = budget::is_local(&worker.model) || budget::is_local(model);
        let mut changes = self
            .ladder
            .failure(&worker.config.name, model, local, cause, now_ms);
        if !budget::is_local(model) {
            changes.extend(self.ladder.route_failure(model, cause, now_ms));
        }
        self.apply_ladder(changes);
    }

    /// Records a probe call's outcome (`Err` with the failure it met).
    pub fn probe_result(
        &mut self,
        target: &ProbeTarget,
        outcome: Result<(), Failure>,
        now_ms: u64,
    ) {
        let changes = self.ladder.probe_result(target, outcome, now_ms);
        self.apply_ladder(changes);
    }

    /// Announces ladder changes; a suspended worker's reservation goes back to ready.
    fn apply_ladder(&mut self, changes: Vec<Change>) {
        for change in changes {
            match &change {
                Change::Suspended {
                    worker,
                    until_ms,
                    reason,
                } => {
                    tracing::warn!(worker = %worker, until_ms, reason = %reason, "worker suspended");
                    if let Some(w) = self.workers.iter().position(|x| &x.config.name == worker) {
                        self.withdraw(w, "its worker was suspended");
                    }
                }
                Change::Resumed { worker } => tracing::info!(worker = %worker, "worker resumed"),
                Change::BreakerOpened {
                    until_ms,
                    consecutive_failures,
                } => {
                    tracing::warn!(
                        until_ms,
                        consecutive_failures,
                        "circuit breaker opened: no paid calls start"
                    )
                }
                Change::BreakerClosed => tracing::info!("circuit breaker closed"),
                Change::RouteSuspended {
                    model,
                    until_ms,
                    reason,
                } => {
                    tracing::warn!(model = %model, until_ms, reason = %reason, "route suspended: no task goes to this model")
                }
                Change::RouteResumed { model } => tracing::info!(model = %model, "route resumed"),
            }
            self.fx.events.push(change.event());
            self.workers_changed = true;
        }
        self.fx.ladder |= self.ladder.take_changed();
    }
}
