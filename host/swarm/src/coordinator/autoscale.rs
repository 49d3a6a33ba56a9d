//! Autoscaling and the swarm's soft/hard limits, as decisions over a view of the pool.
//!
//! - An ephemeral worker is spawned when more tasks are ready than workers are alive, fewer
//!   ephemeral workers are alive than the soft cap (and the hard cap), the worker limit's
//!   hard value is not reached, and the spawn cooldown has passed since the last spawn.
//! - An ephemeral worker idle for `idle_despawn_secs` is despawned.
//! - A `spawn` directive adds `min(count, 3)` ephemeral workers up to the hard cap (not the
//!   soft one, and without waiting for the cooldown); `scale_down` removes up to `count`
//!   idle ephemeral workers, the longest idle first.
//!
//! Limits (`[swarm_limits]`, changed at run time by the `limits.set` host command): at or
//! above a soft value a `limits.warning` event is announced once (again after the figure
//! fell below it); at or above a hard value the action is refused.

use hypernet_model::tasks::blocks::Directive;
use serde::{Deserialize, Serialize};

/// Most ephemeral workers the host can hold (the largest allowed hard cap).
pub const MAX_EPHEMERAL: usize = 16;

/// Most workers one spawn directive adds.
pub const MAX_PER_DIRECTIVE: u32 = 3;

/// `[autoscale]` in `hypernet.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoscaleConfig {
    /// Whether workers are spawned and despawned automatically (directives work either
    /// way). Off by default: a swarm keeps exactly its configured workers unless asked.
    pub enabled: bool,
    /// Automatic spawning stops at this many ephemeral workers.
    pub soft_cap: usize,
    /// Spawn directives stop at this many ephemeral workers (at most 16).
    pub hard_cap: usize,
    /// Least time between two automatic spawns.
    pub spawn_cooldown_secs: u64,
    /// An ephemeral worker idle this long is despawned.
    pub idle_despawn_secs: u64,
    /// Model of automatically spawned workers (default: `scheduler.default_model`).
    pub model: Option<String>,
    /// Ephemeral workers are named `<prefix>-<n>`.
    pub name_prefix: String,
}

impl Default for AutoscaleConfig {
    fn default() -> Self {
        AutoscaleConfig {
            enabled: false,
            soft_cap: 2,
            hard_cap: 4,
            spawn_cooldown_secs: 120,
            idle_despawn_secs: 1800,
            model: None,
            name_prefix: "Spark".into(),
        }
    }
}

/// A soft and a hard value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// At or above: a warning.
    pub soft: u64,
    /// At or above: refused.
    pub hard: u64,
}

impl Limit {
    fn check(&self, key: &str) -> Result<(), String> {
        if self.hard == 0 || self.soft > self.hard {
            return Err(format!(
                "`{key}` needs 0 < hard and soft ≤ hard, not soft {} / hard {}",
                self.soft, self.hard
            ));
        }
        Ok(())
    }
}

/// `[swarm_limits]` in `hypernet.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SwarmLimits {
    /// Workers alive (configured and ephemeral); the hard value refuses spawning.
    pub max_concurrent_workers: Limit,
    /// Tasks pending, blocked or ready; the hard value refuses filing.
    pub max_task_queue_depth: Limit,
}

impl Default for SwarmLimits {
    fn default() -> Self {
        SwarmLimits {
            max_concurrent_workers: Limit { soft: 15, hard: 30 },
            max_task_queue_depth: Limit {
                soft: 200,
                hard: 500,
            },
        }
    }
}

impl SwarmLimits {
    /// No limit at all (benchmarks).
    pub fn unlimited() -> SwarmLimits {
        let none = Limit {
            soft: u64::MAX,
            hard: u64::MAX,
        };
        SwarmLimits {
            max_concurrent_workers: none,
            max_task_queue_depth: none,
        }
    }
}

/// Checks `[autoscale]` and `[swarm_limits]`; errors name the key.
pub fn validate(auto: &AutoscaleConfig, limits: &SwarmLimits) -> Result<(), String> {
    check_caps(auto.soft_cap, auto.hard_cap, "autoscale")?;
    if auto.name_prefix.trim().is_empty() {
        return Err("`autoscale.name_prefix` must not be empty".into());
    }
    limits
        .max_concurrent_workers
        .check("swarm_limits.max_concurrent_workers")?;
    limits
        .max_task_queue_depth
        .check("swarm_limits.max_task_queue_depth")
}

fn check_caps(soft: usize, hard: usize, section: &str) -> Result<(), String> {
    if hard > MAX_EPHEMERAL || soft > hard {
        return Err(format!(
            "`{section}.hard_cap` must be at most {MAX_EPHEMERAL} and `{section}.soft_cap` at most the hard cap, not {soft} / {hard}"
        ));
    }
    Ok(())
}

/// An ephemeral worker as autoscaling sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ephemeral {
    /// Its index in the scheduler's worker list.
    pub index: usize,
    /// Since when it has held nothing; `None` while it holds a task.
    pub idle_since_ms: Option<u64>,
}

/// The pool at one moment.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    /// Tasks ready and waiting for a worker.
    pub ready: usize,
    /// Workers alive, configured and ephemeral.
    pub alive: usize,
    /// The ephemeral workers alive.
    pub ephemeral: Vec<Ephemeral>,
}

/// What to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Add an ephemeral worker on this model (`None`: the configured default).
    Spawn {
        /// The model.
        model: Option<String>,
        /// Why.
        reason: String,
    },
    /// Remove the idle ephemeral worker at this index.
    Despawn {
        /// Its index.
        index: usize,
    },
}

/// The autoscaler's configuration and memory.
#[derive(Debug, Clone)]
pub struct Autoscaler {
    /// The configuration.
    pub cfg: AutoscaleConfig,
    /// The limits.
    pub limits: SwarmLimits,
    last_spawn_ms: Option<u64>,
    spawned: u64,
    /// Limits currently at or above their soft value (announced once per crossing).
    warned: Vec<&'static str>,
}

impl Autoscaler {
    /// An autoscaler that has spawned nothing yet.
    pub fn new(cfg: AutoscaleConfig, limits: SwarmLimits) -> Autoscaler {
        Autoscaler {
            cfg,
            limits,
            last_spawn_ms: None,
            spawned: 0,
            warned: Vec::new(),
        }
    }

    fn worker_room(&self, pool: &Pool, extra: usize) -> bool {
        self.room_for(pool.alive + extra)
    }

    /// Whether the `max_concurrent_workers` limit lets one more worker join `alive` ones.
    pub fn room_for(&self, alive: usize) -> bool {
        (alive as u64) < self.limits.max_concurrent_workers.hard
    }

    /// The automatic decisions at `now_ms`: at most one spawn, and every despawn due.
    pub fn tick(&mut self, pool: &Pool, now_ms: u64) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.cfg.enabled {
            return out;
        }
        if self.spawn_due(pool, now_ms) {
            self.last_spawn_ms = Some(now_ms);
            out.push(Action::Spawn {
                model: self.cfg.model.clone(),
                reason: format!("{} ready tasks for {} workers", pool.ready, pool.alive),
            });
        }
        let idle_ms = self.cfg.idle_despawn_secs.saturating_mul(1000);
        for e in &pool.ephemeral {
            if e.idle_since_ms
                .is_some_and(|at| now_ms >= at.saturating_add(idle_ms))
            {
                out.push(Action::Despawn { index: e.index });
            }
        }
        out
    }

    fn spawn_wanted(&self, pool: &Pool) -> bool {
        let n = pool.ephemeral.len();
        pool.ready > pool.alive
            && n < self.cfg.soft_cap
            && n < self.cfg.hard_cap
            && self.worker_room(pool, 0)
    }

    fn spawn_due(&self, pool: &Pool, now_ms: u64) -> bool {
        self.spawn_wanted(pool) && now_ms >= self.cooled_at()
    }

    fn cooled_at(&self) -> u64 {
        self.last_spawn_ms.map_or(0, |at| {
            at.saturating_add(self.cfg.spawn_cooldown_secs.saturating_mul(1000))
        })
    }

    /// When [`Autoscaler::tick`] will next have something to do, if the pool stays as it is.
    pub fn next_due(&self, pool: &Pool) -> Option<u64> {
        if !self.cfg.enabled {
            return None;
        }
        let spawn = self.spawn_wanted(pool).then(|| self.cooled_at());
        let idle_ms = self.cfg.idle_despawn_secs.saturating_mul(1000);
        let despawn = pool
            .ephemeral
            .iter()
            .filter_map(|e| e.idle_since_ms.map(|at| at.saturating_add(idle_ms)))
            .min();
        spawn.into_iter().chain(despawn).min()
    }

    /// What a worker's directives ask for; `asking_model` is the asking worker's model
    /// (the default of a spawn).
    pub fn directives(
        &mut self,
        pool: &Pool,
        asking_model: &str,
        directives: &[Directive],
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let mut ephemeral = pool.ephemeral.len();
        let mut added = 0;
        let mut idle: Vec<Ephemeral> = pool
            .ephemeral
            .iter()
            .filter(|e| e.idle_since_ms.is_some())
            .copied()
            .collect();
        idle.sort_by_key(|e| (e.idle_since_ms, e.index));
        let mut idle = idle.into_iter();
        for d in directives {
            match d {
                Directive::Spawn {
                    model,
                    count,
                    reason,
                } => {
                    for _ in 0..(*count).min(MAX_PER_DIRECTIVE) {
                        if ephemeral >= self.cfg.hard_cap || !self.worker_room(pool, added) {
                            tracing::info!(
                                ephemeral,
                                hard_cap = self.cfg.hard_cap,
                                "spawn directive refused: a cap is reached"
                            );
                            break;
                        }
                        ephemeral += 1;
                        added += 1;
                        out.push(Action::Spawn {
                            model: Some(model.clone().unwrap_or_else(|| asking_model.to_owned())),
                            reason: format!("directive: {reason}"),
                        });
                    }
                }
                Directive::ScaleDown { count } => {
                    for e in idle.by_ref().take(*count as usize) {
                        out.push(Action::Despawn { index: e.index });
                    }
                }
            }
        }
        out
    }

    /// The next ephemeral worker's name: `Spark-1`, `Spark-2`, ...
    pub fn next_name(&mut self) -> String {
        self.spawned += 1;
        format!("{}-{}", self.cfg.name_prefix, self.spawned)
    }

    /// Whether filing `adding` tasks onto a queue of `depth` stays within the hard limit.
    pub fn admits(&self, depth: u64, adding: u64) -> Result<(), String> {
        let hard = self.limits.max_task_queue_depth.hard;
        if depth.saturating_add(adding) > hard {
            return Err(format!(
                "limit `max_task_queue_depth` reached: {depth} tasks queued, {adding} more would pass the hard limit {hard}"
            ));
        }
        Ok(())
    }

    /// Warnings for limits newly at or above their soft value: (limit, value, soft, hard).
    pub fn warnings(&mut self, workers: u64, depth: u64) -> Vec<(&'static str, u64, Limit)> {
        let mut out = Vec::new();
        for (name, value, limit) in [
            (
                "max_concurrent_workers",
                workers,
                self.limits.max_concurrent_workers,
            ),
            (
                "max_task_queue_depth",
                depth,
                self.limits.max_task_queue_depth,
            ),
        ] {
            let over = value >= limit.soft;
            let was = self.warned.contains(&name);
            if over && !was {
                self.warned.push(name);
                out.push((name, value, limit));
            } else if !over && was {
                self.warned.retain(|n| *n != name);
            }
        }
        out
    }

    /// Changes one limit by name (`max_concurrent_workers`, `max_task_queue_depth`, or
    /// `ephemeral_workers` for the autoscaling caps).
    pub fn set_limit(&mut self, name: &str, limit: Limit) -> Result<(), String> {
        match name {
            "max_concurrent_workers" => {
                limit.check(name)?;
                self.limits.max_concurrent_workers = limit;
            }
            "max_task_queue_depth" => {
                limit.check(name)?;
                self.limits.max_task_queue_depth = limit;
            }
            "ephemeral_workers" => {
                let (soft, hard) = (limit.soft as usize, limit.hard as usize);
                check_caps(soft, hard, "ephemeral_workers")?;
                self.cfg.soft_cap = soft;
                self.cfg.hard_cap = hard;
            }
            other => {
                return Err(format!(
                    "unknown limit `{other}` (known: max_concurrent_workers, max_task_queue_depth, ephemeral_workers)"
                ));
            }
        }
        // Announced again against the new values.
        self.warned.retain(|n| *n != name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaler(cooldown_secs: u64) -> Autoscaler {
        Autoscaler::new(
            AutoscaleConfig {
                enabled: true,
                spawn_cooldown_secs: cooldown_secs,
                idle_despawn_secs: 60,
                ..AutoscaleConfig::default()
            },
            SwarmLimits::default(),
        )
    }

    fn pool(ready: usize, alive: usize, ephemeral: &[(usize, Option<u64>)]) -> Pool {
        Pool {
            ready,
            alive,
            ephemeral: ephemeral
                .iter()
                .map(|&(index, idle_since_ms)| Ephemeral {
                    index,
                    idle_since_ms,
                })
                .collect(),
        }
    }

    fn spawns(actions: &[Action]) -> usize {
        actions
            .iter()
            .filter(|a| matches!(a, Action::Spawn { .. }))
            .count()
    }

    #[test]
    fn spawns_when_work_piles_up_after_the_cooldown() {
        let mut s = scaler(120);
        assert_eq!(
            spawns(&s.tick(&pool(4, 4, &[]), 0)),
            0,
            "ready must exceed alive"
        );
        assert_eq!(spawns(&s.tick(&pool(5, 4, &[]), 0)), 1);
        assert_eq!(
            spawns(&s.tick(&pool(9, 5, &[(4, None)]), 119_999)),
            0,
            "cooling down"
        );
        assert_eq!(s.next_due(&pool(9, 5, &[(4, None)])), Some(120_000));
        assert_eq!(spawns(&s.tick(&pool(9, 5, &[(4, None)]), 120_000)), 1);
        let full = pool(9, 6, &[(4, None), (5, None)]);
        assert_eq!(spawns(&s.tick(&full, 999_999)), 0, "soft cap reached");
        assert_eq!(s.next_due(&full), None);
        assert_eq!(s.next_name(), "Spark-1");
        assert_eq!(s.next_name(), "Spark-2");
    }

    #[test]
    fn the_worker_limit_and_disabling_stop_spawning() {
        let mut s = scaler(0);
        s.set_limit("max_concurrent_workers", Limit { soft: 1, hard: 4 })
            .unwrap();
        assert_eq!(spawns(&s.tick(&pool(9, 4, &[]), 0)), 0);
        let mut off = scaler(0);
        off.cfg.enabled = false;
        assert!(off.tick(&pool(9, 1, &[]), 0).is_empty());
    }

    #[test]
    fn idle_ephemeral_workers_are_despawned() {
        let mut s = scaler(120);
        let p = pool(0, 6, &[(4, Some(1_000)), (5, None)]);
        assert!(s.tick(&p, 60_999).is_empty());
        assert_eq!(s.next_due(&p), Some(61_000));
        assert_eq!(s.tick(&p, 61_000), vec![Action::Despawn { index: 4 }]);
    }

    #[test]
    fn directives_spawn_up_to_three_within_the_hard_cap_and_scale_down_idle_ones() {
        let mut s = scaler(120);
        let spawn = |count, model: Option<&str>| Directive::Spawn {
            model: model.map(str::to_owned),
            count,
            reason: "busy".into(),
        };
        let a = s.directives(&pool(0, 4, &[]), "sim/x", &[spawn(10, None)]);
        assert_eq!(a.len(), 3, "at most three per directive");
        assert_eq!(
            a[0],
            Action::Spawn {
                model: Some("sim/x".into()),
                reason: "directive: busy".into()
            }
        );
        let a = s.directives(
            &pool(0, 6, &[(4, None), (5, None)]),
            "sim/x",
            &[spawn(3, Some("sim/big"))],
        );
        assert_eq!(spawns(&a), 2, "the hard cap is 4");
        let p = pool(0, 7, &[(4, Some(50)), (5, None), (6, Some(10))]);
        let a = s.directives(&p, "sim/x", &[Directive::ScaleDown { count: 5 }]);
        assert_eq!(
            a,
            vec![Action::Despawn { index: 6 }, Action::Despawn { index: 4 }],
            "only idle ones, the longest idle first"
        );
    }

    #[test]
    fn limits_warn_at_soft_and_refuse_at_hard() {
        let mut s = scaler(120);
        s.set_limit("max_task_queue_depth", Limit { soft: 2, hard: 3 })
            .unwrap();
        assert!(s.warnings(1, 1).is_empty());
        let w = s.warnings(1, 2);
        assert_eq!(
            w,
            vec![("max_task_queue_depth", 2, Limit { soft: 2, hard: 3 })]
        );
        assert!(s.warnings(1, 3).is_empty(), "announced once");
        assert!(s.warnings(1, 0).is_empty());
        assert_eq!(s.warnings(1, 2).len(), 1, "again after falling below");
        assert!(s.admits(2, 1).is_ok());
        let err = s.admits(3, 1).unwrap_err();
        assert!(
            err.contains("`max_task_queue_depth`") && err.contains("3"),
            "{err}"
        );
        assert!(
            s.set_limit("max_task_queue_depth", Limit { soft: 5, hard: 4 })
                .is_err()
        );
        assert!(
            s.set_limit("ephemeral_workers", Limit { soft: 2, hard: 17 })
                .is_err()
        );
        s.set_limit("ephemeral_workers", Limit { soft: 3, hard: 5 })
            .unwrap();
        assert_eq!((s.cfg.soft_cap, s.cfg.hard_cap), (3, 5));
        assert!(
            s.set_limit("colour", Limit { soft: 1, hard: 1 })
                .unwrap_err()
                .contains("unknown limit `colour`")
        );
    }
}
