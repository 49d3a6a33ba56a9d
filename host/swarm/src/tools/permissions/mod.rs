//! Permission tiers: which worker may make which tool call.
//!
//! Every tool states, per call, the [`Requirement`] it needs: a [`Tier`] (0 read-only,
//! 1 own workspace, 2 shared, 3 external, 4 destructive) and whether the worker needs an
//! explicit grant naming the tool (`shell`, `http`, a plugin's external tool). Each worker has
//! a tier (`[[worker]] tier = 2`, the default) and its grants (`grants = ["shell"]`); the
//! governance plugin changes a tier at run time with the `permissions.set` host command
//! (until the host restarts, when the configuration applies again).
//!
//! [`decide`] is the rule, a plain function: a tool that states no requirement, or a
//! worker the table does not know (an ephemeral worker, say), is refused — the check fails
//! closed. A call within the worker's rights that `[tools] approval_required` lists (by tool
//! name, or `destructive` for every tier-4 call) needs a person's approval instead of
//! running; a call may name another word to be listed by instead of its tool's
//! ([`Requirement::listed_as`]: `send_message` to a worker is `worker_message`). [`TierPermission`] applies the rule to the shared table.

use super::{Permission, ToolContext};
use crate::workers::WorkerConfig;
use hypernet_plugin_api::protocol::{PermissionsSet, TierChanged};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::RwLock;

pub use hypernet_model::tier::Tier;

/// What one call needs of the worker making it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The least tier that may make it.
    pub tier: Tier,
    /// Whether the worker's `grants` must name the tool as well.
    pub grant: bool,
    /// What makes this call need more than the tool usually does (`git stash drop`).
    pub because: Option<String>,
    /// The word `[tools] approval_required` is checked for (none: the tool's name). A
    /// message to another worker is `worker_message`, so listing `send_message` holds only
    /// messages to people.
    pub listed_as: Option<&'static str>,
}

impl Requirement {
    /// A call needing `tier` and no grant.
    pub fn at(tier: Tier) -> Requirement {
        Requirement {
            tier,
            grant: false,
            because: None,
            listed_as: None,
        }
    }

    /// The same, held for approval when `approval_required` lists `word` (rather than the
    /// tool's name).
    pub fn listed_as(self, word: &'static str) -> Requirement {
        Requirement {
            listed_as: Some(word),
            ..self
        }
    }

    /// The same, also needing a grant naming the tool.
    pub fn granted(self) -> Requirement {
        Requirement {
            grant: true,
            ..self
        }
    }

    /// A destructive call, with what makes it so.
    pub fn destructive(self, because: impl Into<String>) -> Requirement {
        Requirement {
            tier: Tier::Destructive,
            because: Some(because.into()),
            ..self
        }
    }
}

/// What the permission check says of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// It runs.
    Allow,
    /// It does not run, for this reason.
    Deny(String),
    /// It may run only once a person approves it, for this reason.
    NeedsApproval(String),
}

/// One worker's rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Its tier.
    pub tier: Tier,
    /// Tools it was explicitly granted.
    pub grants: BTreeSet<String>,
}

/// The word in `approval_required` that stands for every destructive call.
pub const DESTRUCTIVE: &str = "destructive";

/// The rule: may `worker` (whose rights are `access`, if known) call `tool` needing `needs`?
/// `approval` is `[tools] approval_required`.
pub fn decide(
    worker: &str,
    access: Option<&Access>,
    tool: &str,
    needs: Option<&Requirement>,
    approval: &[String],
) -> Decision {
    let Some(needs) = needs else {
        return Decision::Deny(format!(
            "`{tool}` states no permission tier, so no worker may call it"
        ));
    };
    let Some(access) = access else {
        return Decision::Deny(format!(
            "worker `{worker}` has no permission tier (only configured [[worker]]s have one)"
        ));
    };
    let what = match &needs.because {
        Some(because) => format!("{because} needs tier {}", needs.tier),
        None => format!("`{tool}` needs tier {}", needs.tier),
    };
    if access.tier < needs.tier {
        return Decision::Deny(format!("{what}; {worker} has tier {}", access.tier));
    }
    if needs.grant && !access.grants.contains(tool) {
        return Decision::Deny(format!(
            "`{tool}` needs an explicit grant: {worker}'s `grants` does not list \"{tool}\""
        ));
    }
    let listed = |word: &str| approval.iter().any(|a| a == word);
    match needs.listed_as {
        Some(word) if listed(word) => {
            return Decision::NeedsApproval(format!(
                "`{tool}` calls of the kind `{word}` wait for approval ([tools] approval_required); it was not run"
            ));
        }
        None if listed(tool) => {
            return Decision::NeedsApproval(format!(
                "calls of `{tool}` wait for approval ([tools] approval_required); it was not run"
            ));
        }
        _ => {}
    }
    if needs.tier == Tier::Destructive && listed(DESTRUCTIVE) {
        return Decision::NeedsApproval(format!(
            "{} is destructive ([tools] approval_required); it was not run",
            needs.because.as_deref().unwrap_or(tool)
        ));
    }
    Decision::Allow
}

/// The check workers' calls pass: [`decide`] over a table of every configured worker's
/// rights, which `permissions.set` changes at run time. With a store, each change is kept
/// (namespace `host:permissions`, one record per worker) and [`TierPermission::restore`]
/// brings it back after a restart, over the configured tier.
#[derive(Debug)]
pub struct TierPermission {
    /// By worker name, lowercased.
    table: RwLock<BTreeMap<String, (String, Access)>>,
    approval: Vec<String>,
    store: Option<hypernet_store::Store>,
}

/// The store namespace of tier changes (no plugin can be named like this).
const NAMESPACE: &str = "host:permissions";

impl TierPermission {
    /// The rights of `workers` as configured; `approval` is `[tools] approval_required`.
    pub fn new(workers: &[WorkerConfig], approval: &[String]) -> TierPermission {
        let table = workers
            .iter()
            .map(|w| {
                let access = Access {
                    tier: w.tier,
                    grants: w.grants.iter().cloned().collect(),
                };
                (w.name.to_lowercase(), (w.name.clone(), access))
            })
            .collect();
        TierPermission {
            table: RwLock::new(table),
            approval: approval.to_vec(),
            store: None,
        }
    }

    /// Keeps every later change in `store`, and applies the changes stored there before (a
    /// worker no longer configured is skipped).
    pub fn restore(mut self, store: hypernet_store::Store) -> Result<TierPermission, String> {
        let names = store
            .kv_list(NAMESPACE, "")
            .map_err(|e| format!("reading the stored tool tiers: {e}"))?;
        for key in names {
            let Some(bytes) = store
                .kv_get(NAMESPACE, &key)
                .map_err(|e| format!("reading the stored tier of `{key}`: {e}"))?
            else {
                continue;
            };
            let tier: Tier = serde_json::from_slice(&bytes)
                .map_err(|e| format!("the stored tier of `{key}` does not decode: {e}"))?;
            match self.set_tier(&key, tier) {
                Ok(_) => {}
                Err(_) => {
                    tracing::warn!(worker = %key, "a stored tier names a worker no longer configured")
                }
            }
        }
        self.store = Some(store);
        Ok(self)
    }

    /// Gives a worker added at run time its rights as `worker` says, or as changed since
    /// (a tier kept in the store for its name).
    pub fn admit(&self, worker: &WorkerConfig) {
        let key = worker.name.to_lowercase();
        let stored = self.store.as_ref().and_then(|store| {
            let bytes = store.kv_get(NAMESPACE, &key).ok()??;
            serde_json::from_slice::<Tier>(&bytes).ok()
        });
        let access = Access {
            tier: stored.unwrap_or(worker.tier),
            grants: worker.grants.iter().cloned().collect(),
        };
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        table.insert(key, (worker.name.clone(), access));
    }

    /// A worker's rights (any case), if it has any.
    pub fn access(&self, worker: &str) -> Option<Access> {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        table.get(&worker.to_lowercase()).map(|(_, a)| a.clone())
    }

    /// Sets a configured worker's tier; returns its name as configured and the tier before.
    pub fn set_tier(&self, worker: &str, tier: Tier) -> Result<(String, Tier), String> {
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        let key = worker.to_lowercase();
        if !table.contains_key(&key) {
            let known: Vec<&str> = table.values().map(|(n, _)| n.as_str()).collect();
            return Err(format!(
                "permissions.set: no worker named `{worker}` (known: {})",
                known.join(", ")
            ));
        }
        if let Some(store) = &self.store {
            let bytes = serde_json::to_vec(&tier).expect("a tier serializes");
            store
                .kv_put(NAMESPACE, &key, &bytes)
                .map_err(|e| format!("permissions.set: keeping the tier: {e}"))?;
        }
        let (name, access) = table.get_mut(&key).expect("checked above");
        let before = std::mem::replace(&mut access.tier, tier);
        tracing::info!(worker = %name, from = u8::from(before), to = u8::from(tier), "permission tier changed");
        Ok((name.clone(), before))
    }

    /// Runs `permissions.set` (its arguments already checked by
    /// [`PermissionsSet::from_args`]): the worker's tier changes now and is stored.
    pub fn run(&self, set: &PermissionsSet) -> Result<TierChanged, String> {
        let tier = Tier::try_from(set.tier).map_err(|e| format!("permissions.set: {e}"))?;
        let (worker, before) = self.set_tier(&set.worker, tier)?;
        Ok(TierChanged {
            worker,
            tier: tier.into(),
            previous: before.into(),
        })
    }
}

impl Permission for TierPermission {
    fn check(
        &self,
        ctx: &ToolContext,
        tool: &str,
        _args: &Value,
        needs: Option<&Requirement>,
    ) -> Decision {
        let mut access = self.access(&ctx.worker);
        if let (Some(a), Some(ceiling)) = (&mut access, ctx.ceiling) {
            a.tier = a.tier.min(ceiling);
        }
        decide(&ctx.worker, access.as_ref(), tool, needs, &self.approval)
    }
}

#[cfg(test)]
mod tests;
