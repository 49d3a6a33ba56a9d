//! Workers: named identities with capabilities, a preferred model and tool permissions
//! (tier and grants, see [`crate::tools::permissions`]), and their stats.
//!
//! - [`memory`]: what each worker did recently, carried into its later prompts.
//! - [`personal`]: when a worker is given personal time.

pub mod memory;
pub mod personal;

use crate::tools::Tier;
use serde::{Deserialize, Serialize};

/// A worker as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// Display name (`Trace`).
    pub name: String,
    /// Account (`2.1`).
    #[serde(default = "default_account")]
    pub account: String,
    /// Address; empty means `<account>.<name>` (see [`derived_address`]).
    #[serde(default)]
    pub address: String,
    /// What it does (`architect`).
    #[serde(default)]
    pub role: String,
    /// Capability tags matched against task tags.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Preferred model (else the scheduler's default).
    #[serde(default)]
    pub model: Option<String>,
    /// Permission tier for tool calls, 0 (read-only) to 4 (destructive); default 2.
    #[serde(default)]
    pub tier: Tier,
    /// Tools needing an explicit grant (`shell`, `http`) this worker may call.
    #[serde(default)]
    pub grants: Vec<String>,
}

/// The address of an instance that names none: `<account>.<name>`, the name lowercased
/// and kept to its ASCII letters and digits, as address parts allow (`Spark-2` → `2.1.spark2`).
pub fn derived_address(account: &str, name: &str) -> String {
    let part: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("{account}.{part}")
}

fn default_account() -> String {
    "2.1".into()
}

impl WorkerConfig {
    /// The address, derived from account and name when empty.
    pub fn address(&self) -> String {
        if self.address.is_empty() {
            derived_address(&self.account, &self.name)
        } else {
            self.address.clone()
        }
    }

    /// Checks the address (configured or derived) against the HA rules: an error names the
    /// worker, the address and every broken rule; warnings are logged.
    pub fn check_address(&self) -> Result<(), String> {
        let address = self.address();
        let checked = hypernet_plugin_api::address::validate(&address);
        let field = if self.address.is_empty() {
            "address (from `account` and `name`)"
        } else {
            "`address`"
        };
        if !checked.is_valid() {
            return Err(format!(
                "worker `{}`: {field} `{address}` is not a valid Hypernet address: {}",
                self.name,
                checked.errors.join("; ")
            ));
        }
        for warning in &checked.warnings {
            tracing::warn!(worker = %self.name, %address, warning = %warning, "worker address");
        }
        Ok(())
    }

    /// Share of `tags` this worker has among its capabilities (0.0 to 1.0).
    pub fn tag_overlap(&self, tags: &[String]) -> f64 {
        if tags.is_empty() {
            return 0.0;
        }
        let hits = tags
            .iter()
            .filter(|t| self.capabilities.iter().any(|c| c.eq_ignore_ascii_case(t)))
            .count();
        hits as f64 / tags.len() as f64
    }
}

/// Counters per worker, persisted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkerStats {
    /// Tasks completed.
    pub tasks_done: u64,
    /// Attempts failed.
    pub tasks_failed: u64,
    /// Input plus output tokens.
    pub tokens: u64,
    /// Cost in micro-dollars.
    pub cost_micros: u64,
    /// Last call finished at.
    pub last_active_ms: Option<u64>,
    /// Work tasks completed since its last personal time (see [`personal`]).
    #[serde(default)]
    pub work_since_personal: u64,
}

impl WorkerStats {
    /// Completed share of finished attempts (1.0 with no history).
    pub fn success_rate(&self) -> f64 {
        let total = self.tasks_done + self.tasks_failed;
        if total == 0 {
            1.0
        } else {
            self.tasks_done as f64 / total as f64
        }
    }
}

/// A worker as shown by the API: config, stats and what it is doing.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkerView {
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Account.
    pub account: String,
    /// Role.
    pub role: String,
    /// Capabilities.
    pub capabilities: Vec<String>,
    /// The model it calls.
    pub model: String,
    /// The task it holds.
    pub current_task: Option<String>,
    /// The task reserved to run next.
    pub next_task: Option<String>,
    /// While suspended by the failure ladder: when its probe call is due.
    #[serde(default)]
    pub suspended_until_ms: Option<u64>,
    /// Why it is suspended.
    #[serde(default)]
    pub suspension_reason: Option<String>,
    /// Its counters.
    pub stats: WorkerStats,
    /// Spawned by autoscaling or a directive; despawned when idle.
    #[serde(default)]
    pub ephemeral: bool,
    /// Paused by a person: it takes no new task until resumed.
    #[serde(default)]
    pub paused: bool,
    /// Removed by a person while making a call: it leaves when the call ends.
    #[serde(default)]
    pub leaving: bool,
    /// Added by a person while the host runs (kept across restarts until removed).
    #[serde(default)]
    pub added: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_and_success_rate() {
        let w = WorkerConfig {
            name: "Trace".into(),
            account: "2.1".into(),
            address: String::new(),
            role: String::new(),
            capabilities: vec!["code".into(), "Review".into()],
            model: None,
            tier: Default::default(),
            grants: Vec::new(),
        };
        assert_eq!(
            w.tag_overlap(&["code".into(), "review".into(), "docs".into(), "x".into()]),
            0.5
        );
        assert_eq!(w.tag_overlap(&[]), 0.0);
        assert_eq!(w.address(), "2.1.trace");
        let s = WorkerStats {
            tasks_done: 3,
            tasks_failed: 1,
            ..WorkerStats::default()
        };
        assert_eq!(s.success_rate(), 0.75);
        assert_eq!(WorkerStats::default().success_rate(), 1.0);
    }
}
