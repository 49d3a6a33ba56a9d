//! Delegation to other swarms (see [`crate::federation`]). A ready task goes to a peer when
//! it was filed for that swarm, when no provider here serves the model its route names
//! (and a peer's does), or — with `overflow` — when no worker here is free and a peer is
//! idle or already working for this swarm. It then waits `delegated`, with a [`Delegation`]
//! naming the peer and the round; `task.delegated` carries everything the peer needs, and
//! the federation service publishes it from the durable event log.
//!
//! A peer's answer ([`RemoteUpdate`]) is applied once: only to a task still delegated to
//! that peer in that round. A peer silent for longer than `peer_timeout_ms` gets its tasks
//! taken back (ready again, announced with `recalled_from`, so the peer is told to drop
//! them); their next delegation is a new round, and a late answer for the old one is stale.

use super::Core;
use crate::federation::{Applied, PeerStatus, RemoteUpdate};
use crate::router;
use hypernet_model::tasks::{Delegation, RemoteOrigin, Task, TaskId, TaskSpec, TaskStatus};
use hypernet_model::tier::Tier;
use serde_json::json;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// At most this many tasks per worker of a peer are delegated to it by overflow at a time.
const OVERFLOW_PER_WORKER: usize = 2;

/// What the core knows for delegation.
#[derive(Debug, Default)]
pub(super) struct Federated {
    /// This swarm's name.
    me: String,
    /// Whether idle peers take what no worker here is free for.
    overflow: bool,
    /// How long a peer may stay silent, ms.
    peer_timeout_ms: u64,
    /// The highest tier a delegated task may use here.
    remote_tier: Tier,
    /// Model prefixes the providers here serve.
    served: Vec<String>,
    /// Peers as last seen, with when (this host's clock).
    peers: BTreeMap<String, (PeerStatus, u64)>,
    /// Whether the last look at the peers succeeded (while it fails, nothing is taken back:
    /// it is this swarm that cannot see, not the peers that are gone).
    reachable: bool,
    /// Whether the peers were read at least once since this host started: until then a
    /// task whose model no provider here serves waits, as a peer may serve it.
    looked: bool,
    /// When the current run of successful looks at the peers began (None while they fail):
    /// a peer's silence counts from then at the earliest, so an outage of the NATS servers
    /// is not taken for the peers' silence once they can be read again.
    watching_since: Option<u64>,
    /// Tasks delegated and not yet answered, by peer.
    out: HashMap<String, BTreeSet<TaskId>>,
    /// Ready tasks waiting for the swarm they were filed for to appear, or for room at a
    /// peer serving a model no provider here serves.
    parked: BTreeSet<(Reverse<hypernet_plugin_api::Priority>, TaskId)>,
    /// Tasks that became ready since the last look (their place is decided then).
    fresh: Vec<TaskId>,
    /// Delegations withdrawn before they came: not filed if they come.
    withdrawn: std::collections::HashSet<String>,
}

/// A task delegated here or from here, as `GET /api/federation` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct CrossTask {
    /// Its id here.
    pub id: TaskId,
    /// Its title.
    pub title: String,
    /// Its status here.
    pub status: TaskStatus,
    /// The other swarm.
    pub swarm: String,
    /// Its id there, when known.
    pub remote_task: Option<TaskId>,
    /// Its status there (delegated out), as last reported.
    pub remote_status: Option<TaskStatus>,
    /// The worker holding it (delegated in).
    pub worker: Option<String>,
    /// Why it went there (delegated out).
    pub why: Option<String>,
}

/// Federation as `GET /api/federation` and `hypernet federation status` show it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct FederationView {
    /// Whether `[federation]` is on.
    pub enabled: bool,
    /// This swarm's name.
    pub swarm: Option<String>,
    /// Whether the last status exchange with the NATS servers worked.
    pub reachable: bool,
    /// The peers seen within `peer_timeout_ms`, with their capabilities and load.
    pub peers: Vec<PeerStatus>,
    /// Tasks delegated from here, unanswered.
    pub delegated_out: Vec<CrossTask>,
    /// Tasks delegated here by other swarms, unfinished.
    pub delegated_in: Vec<CrossTask>,
}

impl Core {
    /// Turns federation on: this swarm is `me`; the other settings are
    /// [`crate::federation::FederationConfig`]'s. Call after the tasks are restored.
    pub fn configure_federation(&mut self, cfg: &crate::federation::FederationConfig) {
        let mut fed = Federated {
            me: cfg.swarm.clone(),
            overflow: cfg.overflow,
            peer_timeout_ms: cfg.peer_timeout_ms,
            remote_tier: cfg.remote_tier(),
            ..Federated::default()
        };
        for task in self.active.values() {
            if let Some(d) = task
                .delegation
                .as_ref()
                .filter(|_| task.status == TaskStatus::Delegated)
            {
                fed.out.entry(d.swarm.clone()).or_default().insert(task.id);
            }
        }
        fed.fresh = self.ready.iter().map(|&(_, id)| id).collect();
        self.fed = Some(Box::new(fed));
    }

    /// The model prefixes the loaded providers serve (a task whose model none covers goes
    /// to a peer whose providers do).
    pub fn set_served_models(&mut self, prefixes: Vec<String>) {
        if let Some(fed) = &mut self.fed {
            fed.served = prefixes;
        }
    }

    /// This swarm's name, when federation is on.
    pub fn swarm_name(&self) -> Option<&str> {
        self.fed.as_deref().map(|f| f.me.as_str())
    }

    /// A filing's `swarm`, checked: `None` for this swarm; refused when federation is off
    /// or the name cannot be a swarm's.
    pub(super) fn check_swarm(&self, swarm: Option<&str>) -> Result<Option<String>, String> {
        let Some(name) = swarm else { return Ok(None) };
        let Some(fed) = &self.fed else {
            return Err(format!(
                "`swarm`: federation is off ([federation] enabled = false), so no task can be filed for swarm `{name}`"
            ));
        };
        if name == fed.me {
            return Ok(None);
        }
        if !crate::federation::valid_swarm_name(name) {
            return Err(format!(
                "`swarm`: {name:?} is not a swarm name (1 to 64 letters, digits, `-` or `_`)"
            ));
        }
        Ok(Some(name.to_owned()))
    }

    /// Notes that `id` became ready (its place is decided at the next assignment).
    pub(super) fn note_ready(&mut self, id: TaskId) {
        if let Some(fed) = &mut self.fed {
            fed.fresh.push(id);
        }
    }

    /// Forgets a parked task (cancelled).
    pub(super) fn unpark(&mut self, id: TaskId, priority: hypernet_plugin_api::Priority) {
        if let Some(fed) = &mut self.fed {
            fed.parked.remove(&(Reverse(priority), id));
        }
    }

    /// Files tasks other swarms delegated here, each once however often it comes (its
    /// [`RemoteOrigin::key`] is its filing's `origin`). A task whose key was cancelled
    /// before it came is not filed.
    pub fn file_remote(
        &mut self,
        batch: Vec<(TaskSpec, RemoteOrigin)>,
        now_ms: u64,
    ) -> Vec<Result<super::Filed, super::CoreError>> {
        let cap = self
            .fed
            .as_ref()
            .map(|f| f.remote_tier)
            .unwrap_or(Tier::ReadOnly);
        batch
            .into_iter()
            .map(|(mut spec, mut remote)| {
                if self
                    .fed
                    .as_ref()
                    .is_some_and(|f| f.withdrawn.contains(&remote.key()))
                {
                    return Err(super::CoreError::Invalid(format!(
                        "{} was withdrawn by swarm {} before it came",
                        remote.task, remote.swarm
                    )));
                }
                remote.tier = remote.tier.min(cap);
                spec.origin = Some(remote.key());
                spec.swarm = None;
                spec.for_worker = None;
                spec.parent = None;
                spec.depends_on.clear();
                let filed_by = format!("swarm:{}", remote.swarm);
                let planned = super::PlannedTask { key: None, spec };
                let filed = self
                    .file(vec![planned], &filed_by, now_ms)?
                    .pop()
                    .expect("one filed");
                if filed.created
                    && let Some(task) = self.active.get_mut(&filed.id)
                {
                    task.remote = Some(remote);
                    self.fx.dirty.insert(filed.id);
                }
                Ok(filed)
            })
            .collect()
    }

    /// Remembers that the delegation filed under `key` was withdrawn before it came.
    pub fn withdraw_remote(&mut self, key: String) {
        if let Some(fed) = &mut self.fed {
            fed.withdrawn.insert(key);
        }
    }

    /// The route a task another swarm delegated here asks for: the model its origin chose,
    /// when a provider here serves it.
    pub(super) fn asked_route(&self, task: &Task) -> Option<crate::router::Route> {
        let remote = task.remote.as_ref()?;
        let model = remote.model.as_ref()?;
        let fed = self.fed.as_ref()?;
        crate::federation::serves(&fed.served, model).then(|| crate::router::Route {
            model: model.clone(),
            reason: format!("asked for by swarm {}", remote.swarm),
        })
    }

    /// The unfinished task filed under `key` (a [`RemoteOrigin::key`]), if any.
    pub fn remote_task(&self, key: &str) -> Option<TaskId> {
        self.origins
            .get(key)
            .copied()
            .filter(|id| self.active.contains_key(id))
    }

    /// Replaces the view of the peers (`None`: they could not be read) and takes the tasks
    /// back from peers silent for longer than `peer_timeout_ms`.
    pub fn peers_seen(&mut self, peers: Option<Vec<PeerStatus>>, now_ms: u64) {
        let Some(fed) = &mut self.fed else { return };
        let Some(peers) = peers else {
            fed.reachable = false;
            fed.watching_since = None;
            return;
        };
        fed.reachable = true;
        fed.looked = true;
        let since = *fed.watching_since.get_or_insert(now_ms);
        for p in peers {
            if p.swarm != fed.me {
                fed.peers.insert(p.swarm.clone(), (p, now_ms));
            }
        }
        let timeout = fed.peer_timeout_ms;
        let silent: Vec<String> = fed
            .peers
            .iter()
            .filter(|(_, (_, seen))| now_ms.saturating_sub((*seen).max(since)) > timeout)
            .map(|(name, _)| name.clone())
            .collect();
        // Tasks delegated to a swarm never seen since this host started are timed from
        // the delegation.
        let unseen: Vec<String> = fed
            .out
            .keys()
            .filter(|p| !fed.peers.contains_key(*p))
            .cloned()
            .collect();
        for name in &silent {
            fed.peers.remove(name);
        }
        for name in silent.into_iter().chain(unseen) {
            self.take_back(&name, since, now_ms);
        }
        // Parked tasks whose swarm appeared get their chance.
        let fed = self.fed.as_mut().expect("on");
        let parked: Vec<TaskId> = fed.parked.iter().map(|&(_, id)| id).collect();
        fed.fresh.extend(parked);
    }

    /// Takes back the tasks delegated to `peer` (silent too long, or never seen) longer ago
    /// than the timeout, counted from `since` at the earliest (when the peers could be read
    /// again): ready again.
    fn take_back(&mut self, peer: &str, since: u64, now_ms: u64) {
        let Some(fed) = &mut self.fed else { return };
        let timeout = fed.peer_timeout_ms;
        let ids: Vec<TaskId> = fed.out.get(peer).into_iter().flatten().copied().collect();
        for id in ids {
            let Some(task) = self.active.get(&id) else {
                continue;
            };
            let Some(d) = &task.delegation else { continue };
            if now_ms.saturating_sub(d.since_ms.max(since)) <= timeout {
                continue;
            }
            tracing::warn!(task = %id, peer, round = d.round, "peer silent too long: task taken back");
            self.recall(id, "the swarm running it stopped answering");
        }
    }

    /// Forgets that `id` is delegated (it is being cancelled).
    pub(super) fn forget_delegation(&mut self, id: TaskId) {
        if let Some(fed) = &mut self.fed {
            for set in fed.out.values_mut() {
                set.remove(&id);
            }
        }
    }

    /// Makes delegated `id` ready again (taken back, or dropped by the peer), announcing
    /// whom it was recalled from so that peer is told to drop it.
    fn recall(&mut self, id: TaskId, reason: &str) {
        let task = self.active.get_mut(&id).expect("held");
        let Some(d) = task.delegation.clone() else {
            return;
        };
        let priority = task.priority;
        if let Some(fed) = &mut self.fed
            && let Some(set) = fed.out.get_mut(&d.swarm)
        {
            set.remove(&id);
        }
        self.set_status(
            id,
            TaskStatus::Ready,
            json!({ "reason": format!("{reason} ({})", d.swarm), "recalled_from": d.swarm, "round": d.round }),
        )
        .expect("a delegated task may become ready");
        self.ready.insert((Reverse(priority), id));
    }

    /// Sends the ready tasks that cannot or should not run here to peers: those filed for
    /// another swarm, those whose model only a peer serves, and — with overflow, when no
    /// worker here is free — as many as idle peers take.
    pub(super) fn delegate_ready(&mut self, now_ms: u64) {
        let Some(fed) = self.fed.as_mut() else { return };
        let fresh = std::mem::take(&mut fed.fresh);
        for id in fresh {
            let Some(task) = self.active.get(&id) else {
                continue;
            };
            if task.status != TaskStatus::Ready || task.remote.is_some() {
                continue;
            }
            let key = (Reverse(task.priority), id);
            if let Some(name) = task.swarm.clone() {
                let fed = self.fed.as_mut().expect("on");
                self.ready.remove(&key);
                if fed.peers.get(&name).is_some_and(|(p, _)| p.accepts) {
                    fed.parked.remove(&key);
                    self.delegate(id, &name, format!("filed for swarm {name}"), now_ms);
                } else {
                    fed.parked.insert(key);
                }
                continue;
            }
            if task.for_worker.is_some() {
                continue;
            }
            let model =
                router::route(&self.router, &self.tiers, task, &self.cfg.default_model).model;
            let fed = self.fed.as_ref().expect("on");
            if crate::federation::serves(&fed.served, &model) {
                continue;
            }
            let peer_serves = fed
                .peers
                .values()
                .any(|(p, _)| p.accepts && p.serves(&model));
            let roomiest = self.roomiest_peer(|p| p.serves(&model));
            let fed = self.fed.as_mut().expect("on");
            if let Some(peer) = roomiest {
                self.ready.remove(&key);
                fed.parked.remove(&key);
                self.delegate(
                    id,
                    &peer,
                    format!("model {model} has no provider here"),
                    now_ms,
                );
            } else if peer_serves || !fed.looked {
                // Only a peer can run it and none has room now (or the peers are not known
                // yet, as after a restart): it waits (parked tasks are looked at again after
                // every status exchange) instead of going to a worker here, whose call could
                // only fail.
                self.ready.remove(&key);
                fed.parked.insert(key);
            } else if fed.parked.remove(&key) {
                // No peer serves it any more: it is a ready task here like any other.
                self.ready.insert(key);
            }
        }
        self.overflow(now_ms);
    }

    /// With overflow on and no worker here free: the most urgent ready tasks go to peers
    /// with room (see [`OVERFLOW_PER_WORKER`]).
    fn overflow(&mut self, now_ms: u64) {
        let Some(fed) = &self.fed else { return };
        if !fed.overflow || !self.free.is_empty() || self.ready.is_empty() {
            return;
        }
        let mut skipped = 0;
        let mut cursor: Option<(Reverse<hypernet_plugin_api::Priority>, TaskId)> = None;
        loop {
            let next = match cursor {
                None => self.ready.iter().next().copied(),
                Some(c) => self
                    .ready
                    .range((std::ops::Bound::Excluded(c), std::ops::Bound::Unbounded))
                    .next()
                    .copied(),
            };
            let Some(key) = next else { break };
            let task = &self.active[&key.1];
            if task.for_worker.is_some() || task.remote.is_some() {
                skipped += 1;
                if skipped > 64 {
                    break;
                }
                cursor = Some(key);
                continue;
            }
            let model =
                router::route(&self.router, &self.tiers, task, &self.cfg.default_model).model;
            let Some(peer) = self.roomiest_peer(|p| p.accepts && p.serves(&model)) else {
                break;
            };
            self.ready.remove(&key);
            self.delegate(
                key.1,
                &peer,
                "overflow: no worker here is free".into(),
                now_ms,
            );
        }
    }

    /// The accepting peer with the most room for more of this swarm's tasks, among those
    /// `fits` admits: room is twice its workers less what it runs for this swarm, and a
    /// peer counts only while its last status showed a free worker or it already works for
    /// this swarm.
    fn roomiest_peer(&self, fits: impl Fn(&PeerStatus) -> bool) -> Option<String> {
        let fed = self.fed.as_ref()?;
        fed.peers
            .values()
            .filter(|(p, _)| p.accepts && fits(p))
            .filter_map(|(p, _)| {
                let running = fed.out.get(&p.swarm).map_or(0, BTreeSet::len);
                let room = (p.workers * OVERFLOW_PER_WORKER).saturating_sub(running);
                (room > 0 && (p.free > 0 || running > 0)).then_some((room, &p.swarm))
            })
            .max_by_key(|(room, _)| *room)
            .map(|(_, name)| name.clone())
    }

    /// Delegates ready `id` (already out of the ready queue) to `peer`.
    fn delegate(&mut self, id: TaskId, peer: &str, why: String, now_ms: u64) {
        let task = self.active.get_mut(&id).expect("held");
        let round = task.delegation.as_ref().map_or(1, |d| d.round + 1);
        task.delegation = Some(Delegation {
            swarm: peer.to_owned(),
            round,
            why: why.clone(),
            since_ms: now_ms,
            remote_task: None,
            remote_status: None,
            signature: None,
            signer: None,
        });
        task.worker = None;
        let model = router::route(&self.router, &self.tiers, task, &self.cfg.default_model).model;
        let spec = json!({
            "title": task.title, "description": task.description, "priority": task.priority,
            "tags": task.tags, "complexity": task.complexity, "max_attempts": task.max_attempts,
        });
        let tier = u8::from(Tier::default());
        self.fed
            .as_mut()
            .expect("on")
            .out
            .entry(peer.to_owned())
            .or_default()
            .insert(id);
        tracing::debug!(task = %id, peer, round, why = %why, "task delegated");
        self.set_status(
            id,
            TaskStatus::Delegated,
            json!({ "swarm": peer, "round": round, "why": why, "model": model, "spec": spec, "tier": tier }),
        )
        .expect("a ready task may be delegated");
    }

    /// Applies a peer's report on a task delegated from here: once, and only for the peer
    /// and round it was delegated to.
    pub fn apply_remote(&mut self, u: RemoteUpdate, now_ms: u64) -> Applied {
        let current = self.active.get(&u.task).is_some_and(|t| {
            t.status == TaskStatus::Delegated
                && t.delegation
                    .as_ref()
                    .is_some_and(|d| d.swarm == u.from && d.round == u.round)
        });
        if !current {
            return Applied::Stale;
        }
        let id = u.task;
        let qualified = u.worker.as_ref().map(|w| format!("{w}@{}", u.from));
        let task = self.active.get_mut(&id).expect("current");
        let d = task.delegation.as_mut().expect("current");
        d.remote_task = Some(u.remote_task);
        d.remote_status = Some(u.status);
        if let Some((signature, signer)) = u.signature.clone() {
            d.signature = Some(signature);
            d.signer = Some(signer);
        }
        if qualified.is_some() {
            task.worker = qualified.clone();
        }
        self.fx.dirty.insert(id);
        if !u.last {
            return Applied::Changed;
        }
        if let Some(fed) = &mut self.fed
            && let Some(set) = fed.out.get_mut(&u.from)
        {
            set.remove(&id);
        }
        match u.status {
            TaskStatus::Completed => {
                let result = u.result.unwrap_or_default();
                let payload = json!({
                    "model": result.model, "input_tokens": result.input_tokens,
                    "output_tokens": result.output_tokens, "cost_micros": result.cost_micros,
                    "swarm": u.from,
                });
                let task = self.active.get_mut(&id).expect("current");
                task.result = Some(result);
                task.error = None;
                task.finished_ms = Some(now_ms);
                self.set_status(id, TaskStatus::Completed, payload)
                    .expect("a delegated task may complete");
                self.completed_since_start += 1;
                self.evict(id);
                let _ = self.reevaluate_dependents(id);
            }
            TaskStatus::Failed => {
                let error = format!(
                    "failed at swarm {}: {}",
                    u.from,
                    u.error.unwrap_or_else(|| "no reason given".into())
                );
                let task = self.active.get_mut(&id).expect("current");
                task.error = Some(error.clone());
                task.finished_ms = Some(now_ms);
                self.set_status(
                    id,
                    TaskStatus::Failed,
                    json!({ "error": error, "swarm": u.from }),
                )
                .expect("a delegated task may fail");
                self.failed_since_start += 1;
                self.evict(id);
                let _ = self.reevaluate_dependents(id);
            }
            // Dropped at the peer (cancelled there): it comes back to be placed again.
            _ => self.recall(id, "dropped by the swarm running it"),
        }
        Applied::Changed
    }

    /// Federation now: the peers and the tasks crossing swarms.
    pub fn federation_view(&self) -> FederationView {
        let Some(fed) = &self.fed else {
            return FederationView::default();
        };
        let mut out = FederationView {
            enabled: true,
            swarm: Some(fed.me.clone()),
            reachable: fed.reachable,
            peers: fed.peers.values().map(|(p, _)| p.clone()).collect(),
            ..FederationView::default()
        };
        let mut held: Vec<&Task> = self.active.values().map(|t| &**t).collect();
        held.sort_by_key(|t| t.id);
        for t in held {
            if let (TaskStatus::Delegated, Some(d)) = (t.status, &t.delegation) {
                out.delegated_out.push(CrossTask {
                    id: t.id,
                    title: t.title.clone(),
                    status: t.status,
                    swarm: d.swarm.clone(),
                    remote_task: d.remote_task,
                    remote_status: d.remote_status,
                    worker: t.worker.clone(),
                    why: Some(d.why.clone()),
                });
            } else if let Some(r) = &t.remote {
                out.delegated_in.push(CrossTask {
                    id: t.id,
                    title: t.title.clone(),
                    status: t.status,
                    swarm: r.swarm.clone(),
                    remote_task: Some(r.task),
                    remote_status: None,
                    worker: t.worker.clone(),
                    why: None,
                });
            }
        }
        out
    }
}
