//! Federation as the scheduler sees it: `[federation]` in `hypernet.toml`, the peers it
//! may delegate to, and what a peer answers. The transport (NATS JetStream) is the
//! `hypernet-federation` crate; the decisions (which task goes where, applying an answer
//! once, taking tasks back from a peer that stopped answering) are the scheduler core's
//! (`scheduler::core::delegation`).
//!
//! ```toml
//! [federation]
//! enabled = false                 # off: the host behaves as if federation did not exist
//! swarm = "desk"                  # this swarm's name (letters, digits, - and _), required when on
//! urls = ["nats://127.0.0.1:4222"]   # NATS servers (tls:// for TLS); credentials from the environment
//! overflow = false                # send ready tasks to idle peers when every worker here is busy
//! status_every_ms = 2000          # how often this swarm publishes its status
//! status_ttl_ms = 10000           # a status not renewed for this long disappears
//! peer_timeout_ms = 30000         # a peer silent this long gets its tasks back
//! accept = true                   # run tasks other swarms delegate here
//! remote_tier = 1                 # the highest tool tier a delegated task may use here (0-4)
//! replicas = 1                    # stream and bucket replicas (3 in a three-server cluster)
//! ```

use hypernet_model::tasks::{TaskId, TaskResult, TaskStatus};
use hypernet_model::tier::Tier;
use serde::{Deserialize, Serialize};

/// The environment variable with a token for the NATS servers.
pub const ENV_TOKEN: &str = "HYPERNET_NATS_TOKEN";
/// The environment variable with the user name for the NATS servers (with [`ENV_PASSWORD`]).
pub const ENV_USER: &str = "HYPERNET_NATS_USER";
/// The environment variable with the password for [`ENV_USER`].
pub const ENV_PASSWORD: &str = "HYPERNET_NATS_PASSWORD";
/// The environment variable with an nkey seed (`SU...`) for the NATS servers.
pub const ENV_NKEY: &str = "HYPERNET_NATS_NKEY";

/// `[federation]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// Whether this host joins a federation.
    pub enabled: bool,
    /// This swarm's name among its peers.
    pub swarm: String,
    /// The NATS servers to connect to.
    pub urls: Vec<String>,
    /// Whether ready tasks go to idle peers when no worker here is free.
    pub overflow: bool,
    /// How often this swarm publishes its status, ms.
    pub status_every_ms: u64,
    /// How long a status lives without renewal, ms (the bucket's age limit).
    pub status_ttl_ms: u64,
    /// How long a peer may stay silent before its tasks are taken back, ms.
    pub peer_timeout_ms: u64,
    /// Whether this swarm runs tasks other swarms delegate.
    pub accept: bool,
    /// The highest tool tier a delegated task may use here.
    pub remote_tier: u8,
    /// Replicas of the stream and the status bucket.
    pub replicas: usize,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            enabled: false,
            swarm: String::new(),
            urls: vec!["nats://127.0.0.1:4222".into()],
            overflow: false,
            status_every_ms: 2000,
            status_ttl_ms: 10_000,
            peer_timeout_ms: 30_000,
            accept: true,
            remote_tier: 1,
            replicas: 1,
        }
    }
}

/// Whether `name` may name a swarm: 1 to 64 ASCII letters, digits, `-` and `_` (it is a
/// part of NATS subjects and keys).
pub fn valid_swarm_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl FederationConfig {
    /// Checks the values (only when enabled: a disabled section is never read).
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        if !valid_swarm_name(&self.swarm) {
            return Err(format!(
                "`federation.swarm` must be 1 to 64 letters, digits, `-` or `_`, not {:?}",
                self.swarm
            ));
        }
        if self.urls.is_empty() {
            return Err("`federation.urls` needs at least one NATS server".into());
        }
        if let Some(u) = self.urls.iter().find(|u| {
            !["nats://", "tls://", "ws://", "wss://"]
                .iter()
                .any(|s| u.starts_with(s))
        }) {
            return Err(format!(
                "`federation.urls`: {u:?} is not a NATS URL (nats://host:port, or tls:// for TLS)"
            ));
        }
        if self.status_every_ms < 100 {
            return Err(format!(
                "`federation.status_every_ms` must be at least 100, not {}",
                self.status_every_ms
            ));
        }
        if self.status_ttl_ms < 2 * self.status_every_ms {
            return Err(format!(
                "`federation.status_ttl_ms` ({}) must be at least twice `federation.status_every_ms` ({})",
                self.status_ttl_ms, self.status_every_ms
            ));
        }
        if self.peer_timeout_ms < self.status_ttl_ms {
            return Err(format!(
                "`federation.peer_timeout_ms` ({}) must be at least `federation.status_ttl_ms` ({})",
                self.peer_timeout_ms, self.status_ttl_ms
            ));
        }
        Tier::try_from(self.remote_tier).map_err(|e| format!("`federation.remote_tier`: {e}"))?;
        if !(1..=5).contains(&self.replicas) {
            return Err(format!(
                "`federation.replicas` must be 1 to 5, not {}",
                self.replicas
            ));
        }
        Ok(())
    }

    /// The cap on the tier of delegated tasks.
    pub fn remote_tier(&self) -> Tier {
        Tier::try_from(self.remote_tier).unwrap_or(Tier::ReadOnly)
    }
}

/// What a swarm publishes about itself, and what its peers know of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeerStatus {
    /// Its name.
    pub swarm: String,
    /// The model prefixes its loaded providers serve (`sim/`, `gpt-4o`).
    pub models: Vec<String>,
    /// The providers loaded (plugin addresses).
    pub providers: Vec<String>,
    /// Its workers.
    pub workers: usize,
    /// Of those, how many hold no task.
    pub free: usize,
    /// Tasks waiting there (pending, blocked, ready).
    pub queue: u64,
    /// Whether it runs tasks others delegate.
    pub accepts: bool,
    /// The host's version.
    pub version: String,
    /// Its host key (hex Ed25519): the key its answers are signed with.
    pub key: String,
    /// When it published this (ms since the Unix epoch, its clock).
    pub updated_ms: u64,
}

impl PeerStatus {
    /// Whether one of its providers serves `model` (the provider map's rule: an exact name,
    /// or a prefix ending in `/`).
    pub fn serves(&self, model: &str) -> bool {
        serves(&self.models, model)
    }
}

/// Whether `prefixes` (a provider map's keys) cover `model`.
pub fn serves(prefixes: &[String], model: &str) -> bool {
    prefixes
        .iter()
        .any(|p| model == p || (p.ends_with('/') && model.starts_with(p.as_str())))
}

/// A status change of a delegated task, as the peer running it reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteUpdate {
    /// The peer.
    pub from: String,
    /// The task's id here (at its origin).
    pub task: TaskId,
    /// The delegation round it answers.
    pub round: u32,
    /// The task's id at the peer.
    pub remote_task: TaskId,
    /// Its status there.
    pub status: TaskStatus,
    /// Whether that status is the end (completed, cancelled, or failed with no retry left).
    pub last: bool,
    /// The peer's worker holding it.
    pub worker: Option<String>,
    /// The answer, when completed.
    pub result: Option<TaskResult>,
    /// The error, when failed.
    pub error: Option<String>,
    /// The peer's signature over the answer (hex), and the key that made it (hex).
    pub signature: Option<(String, String)>,
}

/// What the scheduler did with a [`RemoteUpdate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// It changed the task.
    Changed,
    /// It was for a task no longer delegated to that peer in that round (taken back,
    /// cancelled, finished, or a repeat): ignored.
    Stale,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(swarm: &str) -> FederationConfig {
        FederationConfig {
            enabled: true,
            swarm: swarm.into(),
            ..FederationConfig::default()
        }
    }

    #[test]
    fn a_disabled_section_is_not_checked_and_an_enabled_one_is() {
        assert!(FederationConfig::default().validate().is_ok());
        assert!(on("desk-1").validate().is_ok());
        let err = on("a.b").validate().unwrap_err();
        assert!(
            err.contains("`federation.swarm`") && err.contains("\"a.b\""),
            "{err}"
        );
        let err = on("").validate().unwrap_err();
        assert!(err.contains("`federation.swarm`"), "{err}");
        let mut c = on("a");
        c.urls = vec!["http://x".into()];
        let err = c.validate().unwrap_err();
        assert!(err.contains("\"http://x\" is not a NATS URL"), "{err}");
        let mut c = on("a");
        c.remote_tier = 9;
        assert!(
            c.validate()
                .unwrap_err()
                .contains("`federation.remote_tier`")
        );
        let mut c = on("a");
        c.peer_timeout_ms = 1000;
        assert!(
            c.validate()
                .unwrap_err()
                .contains("`federation.peer_timeout_ms`")
        );
    }

    #[test]
    fn a_peer_serves_exact_names_and_slash_prefixes() {
        let models = vec!["sim/".to_owned(), "gpt-4o".to_owned()];
        assert!(serves(&models, "sim/default"));
        assert!(serves(&models, "gpt-4o"));
        assert!(!serves(&models, "gpt-4o-mini"));
        assert!(!serves(&models, "claude-x"));
    }
}
