//! The failure ladder: when a worker stops getting calls, and when the whole swarm does.
//!
//! - Credit exhaustion (insufficient quota, billing, payment required, spend limit)
//!   suspends the worker and the route — the paid model that said so, whichever worker
//!   called it: it is checked again after `credit_recheck_anthropic_ms` (1 h) for Anthropic
//!   models, `credit_recheck_ms` (15 min) for the others. No task is routed to a suspended
//!   model meanwhile; the router's fallback chain takes them elsewhere.
//! - A rate limit (after the HTTP executor's own retries) suspends it for
//!   `rate_limit_ms` (15 min).
//! - `worker_failures` (5) failures of one worker in a row suspend it for
//!   `worker_failure_ms` (15 min).
//! - `swarm_failures` (5) failures in a row across the swarm open the circuit breaker for
//!   `min(breaker_max_ms, breaker_base_ms · 2^((n − 5) / 5))` — 30 s, doubling every five
//!   more failures, at most 300 s — during which no paid call starts.
//!
//! Local workers (and calls to local models: `local/`, `lmstudio/`, `ollama/`, `sim/`) are
//! never suspended, their failures do not count towards the breaker, and the breaker does
//! not stop them. A suspension does not simply expire: when its time is up, one tiny probe
//! call (one word, `max_tokens` 1) goes to the model that failed; its success resumes the
//! worker, its failure suspends it again for the duration its error calls for. The breaker
//! works the same way (half-open): after its time, one probe decides whether it closes or
//! opens again, longer. Everything here is pure logic over `now_ms`; the state is persisted
//! with the scheduler's batches, so suspensions and the breaker survive a restart.

use hypernet_llm::CallError;
use hypernet_plugin_api::provider::ProviderError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// `[ladder]` in `hypernet.toml`; every duration in milliseconds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LadderConfig {
    /// Suspension after credit exhaustion on an Anthropic model (1 h).
    pub credit_recheck_anthropic_ms: u64,
    /// Suspension after credit exhaustion on any other model (15 min).
    pub credit_recheck_ms: u64,
    /// Suspension after a rate limit (15 min).
    pub rate_limit_ms: u64,
    /// Failures of one worker in a row that suspend it (5).
    pub worker_failures: u32,
    /// Suspension after that many failures (15 min).
    pub worker_failure_ms: u64,
    /// Failures in a row across the swarm that open the breaker (5).
    pub swarm_failures: u32,
    /// The breaker's first opening (30 s), doubled every `swarm_failures` more failures.
    pub breaker_base_ms: u64,
    /// The breaker's longest opening (300 s).
    pub breaker_max_ms: u64,
}

impl Default for LadderConfig {
    fn default() -> Self {
        LadderConfig {
            credit_recheck_anthropic_ms: 3_600_000,
            credit_recheck_ms: 900_000,
            rate_limit_ms: 900_000,
            worker_failures: 5,
            worker_failure_ms: 900_000,
            swarm_failures: 5,
            breaker_base_ms: 30_000,
            breaker_max_ms: 300_000,
        }
    }
}

impl LadderConfig {
    /// Refuses zero counts and durations, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        let durations = [
            (
                "credit_recheck_anthropic_ms",
                self.credit_recheck_anthropic_ms,
            ),
            ("credit_recheck_ms", self.credit_recheck_ms),
            ("rate_limit_ms", self.rate_limit_ms),
            ("worker_failure_ms", self.worker_failure_ms),
            ("breaker_base_ms", self.breaker_base_ms),
            ("breaker_max_ms", self.breaker_max_ms),
        ];
        let counts = [
            ("worker_failures", u64::from(self.worker_failures)),
            ("swarm_failures", u64::from(self.swarm_failures)),
        ];
        match durations.iter().chain(&counts).find(|(_, v)| *v == 0) {
            Some((key, _)) => Err(format!("`ladder.{key}` must be at least 1")),
            None => Ok(()),
        }
    }

    /// How long the breaker stays open after `n` failures in a row.
    pub fn breaker_ms(&self, n: u32) -> u64 {
        let steps = n.saturating_sub(self.swarm_failures) / self.swarm_failures;
        self.breaker_base_ms
            .saturating_mul(1u64 << steps.min(40))
            .min(self.breaker_max_ms)
    }

    fn suspension_ms(&self, cause: Failure, model: &str) -> u64 {
        match cause {
            Failure::CreditExhausted if is_anthropic(model) => self.credit_recheck_anthropic_ms,
            Failure::CreditExhausted => self.credit_recheck_ms,
            Failure::RateLimited => self.rate_limit_ms,
            Failure::Other => self.worker_failure_ms,
        }
    }
}

fn is_anthropic(model: &str) -> bool {
    model.starts_with("anthropic/") || model.contains("claude")
}

/// What kind of failure a call met, as the ladder sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// Billing, quota, payment required, spend limit.
    CreditExhausted,
    /// Too many requests, after the executor's retries.
    RateLimited,
    /// Anything else, including output that looks like an error.
    Other,
}

impl Failure {
    /// The ladder's reading of a call's typed error.
    pub fn of(error: &CallError) -> Failure {
        match error {
            CallError::Provider(ProviderError::CreditsExhausted { .. }) => Failure::CreditExhausted,
            CallError::Provider(ProviderError::RateLimited { .. }) => Failure::RateLimited,
            _ => Failure::Other,
        }
    }

    fn describe(self, worker_failures: u32) -> String {
        match self {
            Failure::CreditExhausted => "credits exhausted".into(),
            Failure::RateLimited => "rate limited".into(),
            Failure::Other => format!("{worker_failures} failures in a row"),
        }
    }
}

/// A worker out of service until a probe to `model` succeeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suspension {
    /// When the probe is due.
    pub until_ms: u64,
    /// Why, in words.
    pub reason: String,
    /// The failure that caused it.
    pub cause: Failure,
    /// The model probed.
    pub model: String,
}

/// One worker's rung on the ladder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerLadder {
    /// Failed calls since its last success.
    pub consecutive_failures: u32,
    /// Its suspension, while it lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Suspension>,
}

/// The swarm-wide circuit breaker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Breaker {
    /// Failed paid calls in a row, swarm-wide.
    pub consecutive_failures: u32,
    /// While open: when its probe is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_until_ms: Option<u64>,
    /// The model of the latest failure (probed when the time is up).
    #[serde(default)]
    pub model: String,
}

/// Everything persisted: survives a restart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Persisted {
    /// By worker name.
    #[serde(default)]
    pub workers: BTreeMap<String, WorkerLadder>,
    /// The breaker.
    #[serde(default)]
    pub breaker: Breaker,
    /// Suspended routes, by model.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<String, Suspension>,
}

/// The breaker as `GET /api/status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BreakerView {
    /// No paid call starts while it is open (until a probe succeeds).
    pub open: bool,
    /// When its probe is due, while open.
    pub until_ms: Option<u64>,
    /// Failed paid calls in a row, swarm-wide.
    pub consecutive_failures: u32,
}

/// Who a probe call is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeTarget {
    /// A suspended worker, by name.
    Worker(String),
    /// The open breaker.
    Breaker,
    /// A suspended route, by model.
    Route(String),
}

/// A probe call to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Who it decides for.
    pub target: ProbeTarget,
    /// The model to ask.
    pub model: String,
}

/// A change to announce.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `worker.suspended`.
    Suspended {
        /// The worker.
        worker: String,
        /// When its probe is due.
        until_ms: u64,
        /// Why.
        reason: String,
    },
    /// `worker.resumed`.
    Resumed {
        /// The worker.
        worker: String,
    },
    /// `breaker.opened`.
    BreakerOpened {
        /// When its probe is due.
        until_ms: u64,
        /// Failures in a row.
        consecutive_failures: u32,
    },
    /// `breaker.closed`.
    BreakerClosed,
    /// `route.suspended`.
    RouteSuspended {
        /// The model.
        model: String,
        /// When its probe is due.
        until_ms: u64,
        /// Why.
        reason: String,
    },
    /// `route.resumed`.
    RouteResumed {
        /// The model.
        model: String,
    },
}

impl Change {
    /// The event kind and payload.
    pub fn event(&self) -> (String, Value) {
        match self {
            Change::Suspended {
                worker,
                until_ms,
                reason,
            } => (
                "worker.suspended".into(),
                json!({ "worker": worker, "until_ms": until_ms, "reason": reason }),
            ),
            Change::Resumed { worker } => ("worker.resumed".into(), json!({ "worker": worker })),
            Change::BreakerOpened {
                until_ms,
                consecutive_failures,
            } => (
                "breaker.opened".into(),
                json!({ "until_ms": until_ms, "consecutive_failures": consecutive_failures }),
            ),
            Change::BreakerClosed => ("breaker.closed".into(), json!({})),
            Change::RouteSuspended {
                model,
                until_ms,
                reason,
            } => (
                "route.suspended".into(),
                json!({ "model": model, "until_ms": until_ms, "reason": reason }),
            ),
            Change::RouteResumed { model } => ("route.resumed".into(), json!({ "model": model })),
        }
    }
}

/// The ladder's state and rules.
#[derive(Debug, Clone, Default)]
pub struct Ladder {
    cfg: LadderConfig,
    state: Persisted,
    /// Probes in flight (not persisted: after a restart they are simply due again).
    probing: BTreeSet<ProbeTarget>,
    changed: bool,
}

impl Ladder {
    /// A ladder with nobody suspended.
    pub fn new(cfg: LadderConfig) -> Ladder {
        Ladder {
            cfg,
            ..Ladder::default()
        }
    }

    /// Restores the persisted state.
    pub fn restore(&mut self, state: Persisted) {
        self.state = state;
    }

    /// What to persist.
    pub fn persisted(&self) -> &Persisted {
        &self.state
    }

    /// Whether the state changed since the last call.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Records a failed call of `worker` to `model`. `local` exempts it (a local worker or
    /// model): nothing changes.
    pub fn failure(
        &mut self,
        worker: &str,
        model: &str,
        local: bool,
        cause: Failure,
        now_ms: u64,
    ) -> Vec<Change> {
        if local {
            return Vec::new();
        }
        self.changed = true;
        let mut changes = Vec::new();
        let w = self.state.workers.entry(worker.to_owned()).or_default();
        w.consecutive_failures += 1;
        let suspend = cause != Failure::Other || w.consecutive_failures >= self.cfg.worker_failures;
        if suspend && w.suspension.is_none() {
            let until_ms = now_ms + self.cfg.suspension_ms(cause, model);
            let reason = cause.describe(w.consecutive_failures);
            w.suspension = Some(Suspension {
                until_ms,
                reason: reason.clone(),
                cause,
                model: model.to_owned(),
            });
            changes.push(Change::Suspended {
                worker: worker.to_owned(),
                until_ms,
                reason,
            });
        }
        let b = &mut self.state.breaker;
        b.consecutive_failures += 1;
        b.model = model.to_owned();
        if b.open_until_ms.is_none() && b.consecutive_failures >= self.cfg.swarm_failures {
            changes.push(self.open_breaker(now_ms));
        }
        changes
    }

    /// Records that the paid `model` refused a call for `cause`: credit exhaustion suspends
    /// the route (whichever worker called it, local ones included); other causes change
    /// nothing here.
    pub fn route_failure(&mut self, model: &str, cause: Failure, now_ms: u64) -> Vec<Change> {
        if cause != Failure::CreditExhausted || self.state.routes.contains_key(model) {
            return Vec::new();
        }
        self.changed = true;
        let until_ms = now_ms + self.cfg.suspension_ms(cause, model);
        let reason = cause.describe(0);
        self.state.routes.insert(
            model.to_owned(),
            Suspension {
                until_ms,
                reason: reason.clone(),
                cause,
                model: model.to_owned(),
            },
        );
        vec![Change::RouteSuspended {
            model: model.to_owned(),
            until_ms,
            reason,
        }]
    }

    /// The suspension of the route to `model` (until a probe succeeds, even after its time).
    pub fn route_suspension(&self, model: &str) -> Option<&Suspension> {
        self.state.routes.get(model)
    }

    fn open_breaker(&mut self, now_ms: u64) -> Change {
        let b = &mut self.state.breaker;
        let until_ms = now_ms + self.cfg.breaker_ms(b.consecutive_failures);
        b.open_until_ms = Some(until_ms);
        Change::BreakerOpened {
            until_ms,
            consecutive_failures: b.consecutive_failures,
        }
    }

    /// Records a successful call of `worker`: its run of failures ends, and the swarm's
    /// (unless the breaker is open: then only its probe decides).
    pub fn success(&mut self, worker: &str) {
        if let Some(w) = self.state.workers.get_mut(worker)
            && w.consecutive_failures > 0
        {
            w.consecutive_failures = 0;
            self.changed = true;
        }
        let b = &mut self.state.breaker;
        if b.open_until_ms.is_none() && b.consecutive_failures > 0 {
            b.consecutive_failures = 0;
            self.changed = true;
        }
    }

    /// Whether `worker` is suspended (until a probe succeeds, even after its time).
    pub fn is_suspended(&self, worker: &str) -> bool {
        self.suspension(worker).is_some()
    }

    /// Whether any worker is suspended.
    pub fn any_suspended(&self) -> bool {
        self.state.workers.values().any(|w| w.suspension.is_some())
    }

    /// `worker`'s suspension.
    pub fn suspension(&self, worker: &str) -> Option<&Suspension> {
        self.state.workers.get(worker)?.suspension.as_ref()
    }

    /// Whether the breaker stops paid calls (open or half-open).
    pub fn breaker_open(&self) -> bool {
        self.state.breaker.open_until_ms.is_some()
    }

    /// The breaker for the API.
    pub fn breaker_view(&self) -> BreakerView {
        let b = &self.state.breaker;
        BreakerView {
            open: b.open_until_ms.is_some(),
            until_ms: b.open_until_ms,
            consecutive_failures: b.consecutive_failures,
        }
    }

    /// The probes whose time has come (each is then in flight until its result).
    pub fn due_probes(&mut self, now_ms: u64) -> Vec<Probe> {
        let mut due = Vec::new();
        for (name, w) in &self.state.workers {
            if let Some(s) = &w.suspension
                && s.until_ms <= now_ms
                && self.probing.insert(ProbeTarget::Worker(name.clone()))
            {
                due.push(Probe {
                    target: ProbeTarget::Worker(name.clone()),
                    model: s.model.clone(),
                });
            }
        }
        for (model, s) in &self.state.routes {
            if s.until_ms <= now_ms && self.probing.insert(ProbeTarget::Route(model.clone())) {
                due.push(Probe {
                    target: ProbeTarget::Route(model.clone()),
                    model: model.clone(),
                });
            }
        }
        let b = &self.state.breaker;
        if b.open_until_ms.is_some_and(|at| at <= now_ms)
            && self.probing.insert(ProbeTarget::Breaker)
        {
            due.push(Probe {
                target: ProbeTarget::Breaker,
                model: b.model.clone(),
            });
        }
        due
    }

    /// Records a probe's outcome: success resumes the worker (closes the breaker); failure
    /// suspends it again for what the new failure calls for (opens the breaker again, for
    /// one failure more).
    pub fn probe_result(
        &mut self,
        target: &ProbeTarget,
        outcome: Result<(), Failure>,
        now_ms: u64,
    ) -> Vec<Change> {
        if !self.probing.remove(target) {
            return Vec::new();
        }
        self.changed = true;
        match target {
            ProbeTarget::Worker(name) => {
                let Some(w) = self.state.workers.get_mut(name) else {
                    return Vec::new();
                };
                let Some(s) = w.suspension.as_mut() else {
                    return Vec::new();
                };
                match outcome {
                    Ok(()) => {
                        *w = WorkerLadder::default();
                        vec![Change::Resumed {
                            worker: name.clone(),
                        }]
                    }
                    Err(cause) => {
                        s.until_ms = now_ms + self.cfg.suspension_ms(cause, &s.model);
                        s.cause = cause;
                        s.reason =
                            format!("probe failed: {}", cause.describe(w.consecutive_failures));
                        vec![Change::Suspended {
                            worker: name.clone(),
                            until_ms: s.until_ms,
                            reason: s.reason.clone(),
                        }]
                    }
                }
            }
            ProbeTarget::Breaker => {
                if self.state.breaker.open_until_ms.is_none() {
                    return Vec::new();
                }
                match outcome {
                    Ok(()) => {
                        self.state.breaker.open_until_ms = None;
                        self.state.breaker.consecutive_failures = 0;
                        vec![Change::BreakerClosed]
                    }
                    Err(_) => {
                        self.state.breaker.consecutive_failures += 1;
                        vec![self.open_breaker(now_ms)]
                    }
                }
            }
            ProbeTarget::Route(model) => match outcome {
                Ok(()) => match self.state.routes.remove(model) {
                    Some(_) => vec![Change::RouteResumed {
                        model: model.clone(),
                    }],
                    None => Vec::new(),
                },
                Err(cause) => {
                    let Some(s) = self.state.routes.get_mut(model) else {
                        return Vec::new();
                    };
                    s.until_ms = now_ms + self.cfg.suspension_ms(cause, model);
                    s.cause = cause;
                    s.reason = format!("probe failed: {}", cause.describe(0));
                    vec![Change::RouteSuspended {
                        model: model.clone(),
                        until_ms: s.until_ms,
                        reason: s.reason.clone(),
                    }]
                }
            },
        }
    }

    /// When the next probe is due (the scheduler wakes then).
    pub fn next_due(&self) -> Option<u64> {
        let workers = self.state.workers.iter().filter_map(|(name, w)| {
            let s = w.suspension.as_ref()?;
            (!self.probing.contains(&ProbeTarget::Worker(name.clone()))).then_some(s.until_ms)
        });
        let routes = self.state.routes.iter().filter_map(|(model, s)| {
            (!self.probing.contains(&ProbeTarget::Route(model.clone()))).then_some(s.until_ms)
        });
        let breaker = self
            .state
            .breaker
            .open_until_ms
            .filter(|_| !self.probing.contains(&ProbeTarget::Breaker));
        workers.chain(routes).chain(breaker).min()
    }
}

#[cfg(test)]
mod tests;

pub mod persist;
