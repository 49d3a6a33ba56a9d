//! Workers managed by a person at run time: pause and resume one, add one, remove one.
//!
//! - A paused worker finishes the call it is making and takes nothing new; the task it
//!   held in reserve goes back to ready. Resumed, it takes work again.
//! - An added worker is like a configured one (a name, a model, a role, capabilities); it
//!   is not despawned when idle, as autoscaling's ephemeral workers are.
//! - A removed worker leaves at once when idle, else when its call ends (taking nothing
//!   new meanwhile). A worker of `hypernet.toml` removed this way stays removed until it
//!   is added again by name.
//!
//! Every change is kept in the store ([`Roster`], written with the batch that makes it) and
//! applied again at the next start ([`Core::restore_roster`]).

use super::{Core, CoreError, Worker};
use crate::workers::{WorkerConfig, WorkerView};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;

/// What people changed of the workers, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Roster {
    /// Paused workers, by name.
    #[serde(default)]
    pub paused: BTreeSet<String>,
    /// Workers added at run time, in the order they were added.
    #[serde(default)]
    pub added: Vec<WorkerConfig>,
    /// Configured workers removed at run time, by name.
    #[serde(default)]
    pub removed: BTreeSet<String>,
}

/// A change a person asks for.
#[derive(Debug, Clone)]
pub enum RosterChange {
    /// Stop giving the worker new tasks.
    Pause(String),
    /// Give it tasks again.
    Resume(String),
    /// Add a worker.
    Add(WorkerConfig),
    /// Remove a worker (after its call, when it is making one).
    Remove(String),
}

impl Core {
    /// What people changed of the workers.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// Applies the stored roster at start, after the configured workers exist: removals,
    /// additions, then pauses. A stored entry that no longer fits (a name now taken by a
    /// configured worker, no room left) is logged and skipped.
    pub fn restore_roster(&mut self, roster: Roster) {
        for name in &roster.removed {
            match self.live_index(name) {
                Some(w) if w < self.configured => self.retire(w),
                _ => tracing::warn!(worker = %name, "a removed worker is no longer configured"),
            }
        }
        self.roster.removed = roster.removed;
        for config in roster.added {
            let name = config.name.clone();
            if let Err(e) = self.add_worker(config, self.clock_ms) {
                tracing::warn!(worker = %name, error = %e, "an added worker was not restored");
            }
        }
        for name in roster.paused {
            if let Some(w) = self.live_index(&name) {
                self.workers[w].paused = true;
                self.roster
                    .paused
                    .insert(self.workers[w].config.name.clone());
            }
        }
        self.fx.roster = false;
    }

    /// Makes `change`; the worker as it is now (a removed one as it was last, `leaving`
    /// while its call ends).
    pub fn change_roster(
        &mut self,
        change: RosterChange,
        now_ms: u64,
    ) -> Result<WorkerView, CoreError> {
        self.clock_ms = self.clock_ms.max(now_ms);
        let view = match change {
            RosterChange::Pause(name) => self.set_paused(&name, true)?,
            RosterChange::Resume(name) => self.set_paused(&name, false)?,
            RosterChange::Add(config) => self.add_worker(config, now_ms)?,
            RosterChange::Remove(name) => self.remove_worker(&name)?,
        };
        self.fx.roster = true;
        self.workers_changed = true;
        Ok(view)
    }

    /// The index of the live worker called `name` (any case).
    fn live_index(&self, name: &str) -> Option<usize> {
        self.workers
            .iter()
            .position(|w| !w.retired && w.config.name.eq_ignore_ascii_case(name))
    }

    /// The live worker called `name`, or an error naming the workers there are.
    fn existing(&self, name: &str) -> Result<usize, CoreError> {
        self.live_index(name).ok_or_else(|| {
            let names: Vec<&str> = self
                .workers
                .iter()
                .filter(|w| !w.retired)
                .map(|w| w.config.name.as_str())
                .collect();
            CoreError::NoSuchWorker(format!(
                "no worker is named `{name}` (workers: {})",
                names.join(", ")
            ))
        })
    }

    fn set_paused(&mut self, name: &str, paused: bool) -> Result<WorkerView, CoreError> {
        let w = self.existing(name)?;
        let name = self.workers[w].config.name.clone();
        if self.workers[w].paused != paused {
            self.workers[w].paused = paused;
            let kind = if paused {
                self.withdraw(w, "its worker was paused");
                self.roster.paused.insert(name.clone());
                "worker.paused"
            } else {
                self.roster.paused.remove(&name);
                "worker.unpaused"
            };
            tracing::info!(worker = %name, "{kind}");
            self.fx.events.push((kind.into(), json!({ "name": name })));
        }
        Ok(self.worker_view(w))
    }

    fn add_worker(&mut self, config: WorkerConfig, now_ms: u64) -> Result<WorkerView, CoreError> {
        let name = config.name.trim().to_owned();
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CoreError::Invalid(format!(
                "`name` must be one word without spaces, not {:?}",
                config.name
            )));
        }
        if let Some(w) = self.live_index(&name) {
            return Err(CoreError::Invalid(format!(
                "`name`: a worker is already named `{}`",
                self.workers[w].config.name
            )));
        }
        // A configured worker removed earlier comes back as it was configured.
        if let Some(w) = self.workers[..self.configured]
            .iter()
            .position(|w| w.retired && w.config.name.eq_ignore_ascii_case(&name))
        {
            self.roster
                .removed
                .remove(&self.workers[w].config.name.clone());
            self.workers[w].retired = false;
            self.workers[w].leaving = false;
            self.retired -= 1;
            self.free.push_back(w);
            self.announce_added(w);
            return Ok(self.worker_view(w));
        }
        if self.alive() >= self.slots.capacity() {
            return Err(CoreError::LimitReached(format!(
                "no room for another worker: {} are alive, the most this host holds",
                self.alive()
            )));
        }
        if !self.scaler.room_for(self.alive()) {
            return Err(CoreError::LimitReached(format!(
                "the swarm's `max_concurrent_workers` limit refuses a worker more than the {} alive; raise it first",
                self.alive()
            )));
        }
        let model = config
            .model
            .clone()
            .unwrap_or_else(|| self.cfg.default_model.clone());
        let config = WorkerConfig { name, ..config };
        let worker = Worker {
            model,
            added: true,
            spawned_ms: now_ms,
            ..Worker::new(config)
        };
        let w = self.place(worker);
        self.roster.added.push(self.workers[w].config.clone());
        self.free.push_back(w);
        self.announce_added(w);
        Ok(self.worker_view(w))
    }

    fn announce_added(&mut self, w: usize) {
        let (name, model) = (
            self.workers[w].config.name.clone(),
            self.workers[w].model.clone(),
        );
        tracing::info!(worker = %name, model = %model, "worker added");
        self.fx.events.push((
            "worker.added".into(),
            json!({ "name": name, "model": model }),
        ));
    }

    fn remove_worker(&mut self, name: &str) -> Result<WorkerView, CoreError> {
        let w = self.existing(name)?;
        let alive = self
            .workers
            .iter()
            .filter(|w| !w.retired && !w.leaving)
            .count();
        if alive <= 1 {
            return Err(CoreError::Invalid(
                "the last worker cannot be removed; add another first".into(),
            ));
        }
        let name = self.workers[w].config.name.clone();
        self.roster.paused.remove(&name);
        self.roster.added.retain(|c| c.name != name);
        if w < self.configured {
            self.roster.removed.insert(name.clone());
        }
        self.withdraw(w, "its worker was removed");
        if self.workers[w].current.is_some() {
            // It leaves when its call ends (see `Core::release_worker`).
            self.workers[w].leaving = true;
        }
        let view = self.worker_view(w);
        if !self.workers[w].leaving {
            self.retire(w);
        }
        tracing::info!(worker = %name, "worker removed");
        self.fx
            .events
            .push(("worker.removed".into(), json!({ "name": name })));
        Ok(view)
    }

    /// Puts a new worker in the place of a retired one after the configured workers (whose
    /// places wait for them to be added again), or at the end; its index.
    pub(super) fn place(&mut self, worker: Worker) -> usize {
        let reusable = (self.configured..self.workers.len()).find(|&i| self.workers[i].retired);
        match reusable {
            Some(i) => {
                self.workers[i] = worker;
                self.retired -= 1;
                i
            }
            None => {
                self.workers.push(worker);
                self.workers.len() - 1
            }
        }
    }

    /// Takes worker `w` out of the swarm; its index waits to be reused.
    pub(super) fn retire(&mut self, w: usize) {
        self.free.retain(|&i| i != w);
        let worker = &mut self.workers[w];
        worker.retired = true;
        worker.leaving = false;
        worker.paused = false;
        self.retired += 1;
        self.workers_changed = true;
    }
}
