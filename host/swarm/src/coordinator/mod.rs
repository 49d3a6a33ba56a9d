//! The coordinator's rules, as plain functions over data: which task a worker picks
//! ([`affinity`]), how a large task is split ([`decompose`]), which held tasks conflict
//! ([`conflicts`]), and when ephemeral workers come and go within the swarm's limits
//! ([`autoscale`]). The scheduler core applies them.

pub mod affinity;
pub mod autoscale;
pub mod conflicts;
pub mod decompose;

use serde::Deserialize;

/// `[coordinator]` in `hypernet.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoordinatorConfig {
    /// Split a task into chained subtasks when it is filed, if it is complex (by the
    /// router's estimate or its own field), has no parent, and a [`decompose`] rule
    /// matches. The parent then waits on its subtasks.
    pub decompose: bool,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        CoordinatorConfig { decompose: true }
    }
}
