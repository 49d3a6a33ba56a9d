//! `hypernet.toml`: the host's own settings. Every key is optional; unknown keys are refused
//! by name. One place reads it; everything else receives typed values.
//!
//! ```toml
//! [scheduler]
//! default_model = "sim/default"   # model for workers that name none
//! max_attempts = 3                # attempts before a task stays failed
//! retry_backoff_ms = 2000         # first automatic retry delay, doubled each attempt
//! retry_backoff_max_ms = 300000   # cap of the delay
//! call_timeout_ms = 600000        # a model call taking longer fails
//! reserve = true                  # busy workers hold their next task, durably assigned
//!
//! [http]                          # how model calls go over the network
//! request_timeout_ms = 120000     # one attempt (until the headers; then between stream chunks)
//! max_concurrent = 16             # requests in flight per provider
//! max_retries = 4                 # retries of a retryable failure (429, 5xx, 529, network)
//! retry_base_ms = 500             # first backoff ceiling, doubled per retry, full jitter
//! retry_max_ms = 30000            # largest wait; a longer retry-after is not waited out
//! stream = true                   # ask real providers for server-sent events
//! list_models_timeout_ms = 5000   # the model listing at start-up
//!
//! [http.max_concurrent_for]       # per-provider limits, by plugin (or plugin:service) name
//! provider-openai = 8
//!
//! [ladder]                      # the failure ladder (see crate::scheduler::ladder)
//! credit_recheck_anthropic_ms = 3600000   # suspension after credit exhaustion, Anthropic
//! credit_recheck_ms = 900000      # ... any other provider
//! rate_limit_ms = 900000          # suspension after a rate limit
//! worker_failures = 5             # failures in a row that suspend a worker
//! worker_failure_ms = 900000      # ... for this long
//! swarm_failures = 5              # failures in a row, swarm-wide, that open the breaker
//! breaker_base_ms = 30000         # first opening, doubled every `swarm_failures` more
//! breaker_max_ms = 300000         # longest opening
//!
//! [api]
//! read_requires_token = false     # true: reads need the bearer token too
//! max_body_bytes = 1048576        # larger request bodies are refused with 413
//!
//! [[worker]]                      # replaces the default worker set when present
//! name = "Trace"
//! account = "2.1"
//! role = "architect"
//! capabilities = ["architecture", "code", "review"]
//! model = "sim/default"
//! tier = 2                        # tool permissions, 0 read-only to 4 destructive
//! grants = ["shell"]              # tier-3 tools it may call
//!
//! [coordinator]
//! decompose = true                # split complex tasks into chained subtasks when filed
//!
//! [autoscale]                     # ephemeral workers when ready tasks outnumber workers
//! enabled = false               # automatic spawning and despawning (directives work regardless)
//! soft_cap = 2                    # automatic spawning stops at this many ephemeral workers
//! hard_cap = 4                    # spawn directives stop here (at most 16)
//! spawn_cooldown_secs = 120       # least time between two automatic spawns
//! idle_despawn_secs = 1800        # an ephemeral worker idle this long is removed
//! # model = "sim/default"         # default: scheduler.default_model
//! name_prefix = "Spark"           # Spark-1, Spark-2, ...
//!
//! [swarm_limits]                  # soft warns (`limits.warning`), hard refuses; `limits.set` changes them
//! max_concurrent_workers = { soft = 15, hard = 30 }   # hard: no more spawning
//! max_task_queue_depth = { soft = 200, hard = 500 }   # pending+blocked+ready; hard: filing refused
//!
//! [[standing]]                    # filed when the queue is empty, once per cooldown
//! title = "Review open proposals"
//! priority = "normal"
//! tags = ["governance"]
//! cooldown_secs = 1800
//! ```
//!
//! `[router]`, `[budget]`, `[limits]`, `[tools]`, `[conversation]`, `[identity]`,
//! `[memory]`, `[personal_time]` and `[approvals]` are documented in [`crate::router`],
//! [`crate::budget`], [`crate::prompts`], [`crate::tools::config`],
//! [`crate::scheduler::conversation`], [`crate::identity`], [`crate::workers::memory`],
//! [`crate::workers::personal`] and [`crate::approvals::service`]; `[alerts]` in
//! [`crate::alerts::config`]; `[federation]` in [`crate::federation`]; `[batching]` in
//! [`crate::scheduler::batching`].

use crate::workers::WorkerConfig;
pub use hypernet_llm::HttpConfig;
use hypernet_plugin_api::Priority;
use serde::Deserialize;
use std::path::Path;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Scheduling settings.
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    /// The workers (default: [`default_workers`]).
    #[serde(default = "default_workers", rename = "worker")]
    pub workers: Vec<WorkerConfig>,
    /// Standing priorities (default: [`default_standing`]).
    #[serde(default = "default_standing", rename = "standing")]
    pub standing: Vec<StandingPriority>,
    /// `[router]`: which model each task's call goes to.
    #[serde(default)]
    pub router: crate::router::RouterConfig,
    /// `[budget]`: spending limits and prices.
    #[serde(default)]
    pub budget: crate::budget::BudgetConfig,
    /// `[limits]`: answer lengths and compact prompts.
    #[serde(default)]
    pub limits: crate::prompts::LimitsConfig,
    /// Model calls over HTTP: timeouts, retries, concurrency, streaming.
    #[serde(default)]
    pub http: HttpConfig,
    /// `[api]`: who may read, and how large a request may be.
    #[serde(default)]
    pub api: ApiConfig,
    /// `[tools]`: the tool loop and the tools.
    #[serde(default)]
    pub tools: crate::tools::ToolsConfig,
    /// `[conversation]`: plan and steps for complex tasks.
    #[serde(default)]
    pub conversation: crate::scheduler::conversation::ConversationConfig,
    /// `[identity]`: the instance archive and the boot sequence.
    #[serde(default)]
    pub identity: crate::identity::IdentityConfig,
    /// `[ladder]`: when failing workers are suspended and the breaker opens.
    #[serde(default)]
    pub ladder: crate::scheduler::ladder::LadderConfig,
    /// `[coordinator]`: decomposition of complex tasks.
    #[serde(default)]
    pub coordinator: crate::coordinator::CoordinatorConfig,
    /// `[autoscale]`: ephemeral workers.
    #[serde(default)]
    pub autoscale: crate::coordinator::autoscale::AutoscaleConfig,
    /// `[swarm_limits]`: soft and hard limits on workers and the queue.
    #[serde(default)]
    pub swarm_limits: crate::coordinator::autoscale::SwarmLimits,
    /// `[memory]`: what workers remember of their recent tasks.
    #[serde(default)]
    pub memory: crate::workers::memory::MemoryConfig,
    /// `[personal_time]`: how often workers get a task of their own.
    #[serde(default)]
    pub personal_time: crate::workers::personal::PersonalTimeConfig,
    /// `[approvals]`: how long an action waits for a person's decision.
    #[serde(default)]
    pub approvals: crate::approvals::service::ApprovalsConfig,
    /// `[[person]]`: the people the swarm tells things and takes commands from.
    #[serde(default, rename = "person")]
    pub people: Vec<crate::people::Person>,
    /// `[channels]`: how messages to people are delivered.
    #[serde(default)]
    pub channels: crate::channels::ChannelsConfig,
    /// `[alerts]`: anomalies told to people, and the briefs.
    #[serde(default)]
    pub alerts: crate::alerts::AlertsConfig,
    /// `[federation]`: other swarms this one shares work with.
    #[serde(default)]
    pub federation: crate::federation::FederationConfig,
    /// `[batch_api]`: deferrable tasks through providers' batch APIs.
    #[serde(default)]
    pub batch_api: crate::scheduler::batch_api::BatchApiConfig,
    /// `[batching]`: simple routine tasks sharing one call.
    #[serde(default)]
    pub batching: crate::scheduler::batching::BatchingConfig,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            scheduler: SchedulerConfig::default(),
            workers: default_workers(),
            standing: default_standing(),
            router: Default::default(),
            budget: Default::default(),
            limits: Default::default(),
            http: HttpConfig::default(),
            api: ApiConfig::default(),
            tools: Default::default(),
            conversation: Default::default(),
            identity: Default::default(),
            ladder: Default::default(),
            coordinator: Default::default(),
            autoscale: Default::default(),
            swarm_limits: Default::default(),
            memory: Default::default(),
            personal_time: Default::default(),
            approvals: Default::default(),
            people: Vec::new(),
            channels: Default::default(),
            alerts: Default::default(),
            federation: Default::default(),
            batch_api: Default::default(),
            batching: Default::default(),
        }
    }
}

/// `[api]`: the HTTP API's own settings (the listen address is `hypernet run --listen`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Whether read calls need the bearer token too (mutating calls and the event stream
    /// always do).
    pub read_requires_token: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            read_requires_token: false,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// `[scheduler]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// Model for workers that name none.
    pub default_model: String,
    /// Attempts before a task stays failed.
    pub max_attempts: u32,
    /// First automatic retry delay (doubled per attempt).
    pub retry_backoff_ms: u64,
    /// Largest retry delay.
    pub retry_backoff_max_ms: u64,
    /// Longest a model call may take.
    pub call_timeout_ms: u64,
    /// Whether each busy worker holds its next task in reserve, so it starts the moment
    /// the running call ends.
    pub reserve: bool,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            default_model: "sim/default".into(),
            max_attempts: 3,
            retry_backoff_ms: 2_000,
            retry_backoff_max_ms: 300_000,
            call_timeout_ms: 600_000,
            reserve: true,
        }
    }
}

/// A task the swarm files for itself when it has nothing else to do.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandingPriority {
    /// Title (also the cooldown key).
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Priority.
    #[serde(default)]
    pub priority: Priority,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Least time between two filings of this title.
    #[serde(default = "default_cooldown")]
    pub cooldown_secs: u64,
}

fn default_cooldown() -> u64 {
    1800
}

/// The default worker set: one per role of the original swarm, all on the simulated model.
pub fn default_workers() -> Vec<WorkerConfig> {
    let w = |name: &str, account: &str, role: &str, caps: &[&str]| WorkerConfig {
        name: name.into(),
        account: account.into(),
        address: String::new(),
        role: role.into(),
        capabilities: caps.iter().map(|c| c.to_string()).collect(),
        model: None,
        tier: Default::default(),
        grants: Vec::new(),
    };
    vec![
        w(
            "Trace",
            "2.1",
            "architect",
            &["architecture", "code", "review", "governance"],
        ),
        w(
            "Keystone",
            "2.2",
            "engineer",
            &["code", "testing", "infrastructure"],
        ),
        w(
            "Herald",
            "2.3",
            "communicator",
            &["communication", "outreach", "docs"],
        ),
        w(
            "Librarian",
            "2.4",
            "researcher",
            &["research", "docs", "review"],
        ),
    ]
}

/// The default standing priorities.
pub fn default_standing() -> Vec<StandingPriority> {
    let s = |title: &str, description: &str, tags: &[&str]| StandingPriority {
        title: title.into(),
        description: description.into(),
        priority: Priority::Normal,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        cooldown_secs: default_cooldown(),
    };
    vec![
        s(
            "Review recent task results",
            "Read the results completed since the last review and note what should be followed up.",
            &["review"],
        ),
        s(
            "Summarise swarm activity",
            "Write a short summary of what the swarm did recently, for the people who run it.",
            &["docs", "communication"],
        ),
        s(
            "Look for improvements to the codebase",
            "Suggest one concrete, small improvement with its reason.",
            &["code", "architecture"],
        ),
    ]
}

/// Why `hypernet.toml` was refused; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("reading {}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not valid TOML, or a key is unknown or of the wrong type (line and key named).
    #[error("{origin}: {message}")]
    Parse {
        /// The file (or what stands for it).
        origin: String,
        /// What is wrong, where.
        message: String,
    },
    /// A value is out of its range or contradicts another (the key named).
    #[error("{origin}: {message}")]
    Invalid {
        /// The file (or what stands for it).
        origin: String,
        /// What is wrong.
        message: String,
    },
}

impl HostConfig {
    /// Reads `path`; errors name the file, line and key.
    pub fn load(path: &Path) -> Result<HostConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<HostConfig, ConfigError> {
        let config: HostConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let invalid = |message| ConfigError::Invalid {
            origin: origin.to_owned(),
            message,
        };
        config.validate().map_err(invalid)?;
        let prices = crate::budget::prices::PriceTable::new(&config.budget.prices);
        let worker_models = config.workers.iter().filter_map(|w| w.model.as_deref());
        config
            .router
            .tier_models(&prices, worker_models)
            .map_err(invalid)?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        for w in &self.workers {
            if w.name.trim().is_empty() {
                return Err("a worker has an empty `name`".into());
            }
            if !names.insert(w.name.to_lowercase()) {
                return Err(format!("worker `{}` is listed twice", w.name));
            }
            w.check_address()?;
            if w.grants.iter().any(|g| g.trim().is_empty()) {
                return Err(format!(
                    "worker `{}` has an empty entry in `grants`",
                    w.name
                ));
            }
        }
        if self.workers.is_empty() {
            return Err("at least one [[worker]] is needed".into());
        }
        if self.scheduler.max_attempts == 0 {
            return Err("`scheduler.max_attempts` must be at least 1".into());
        }
        if let Some(s) = self.standing.iter().find(|s| s.title.trim().is_empty()) {
            return Err(format!("a standing priority has an empty `title` ({s:?})"));
        }
        if self.api.max_body_bytes < 1024 {
            return Err(format!(
                "`api.max_body_bytes` must be at least 1024, not {}",
                self.api.max_body_bytes
            ));
        }
        self.budget.validate()?;
        self.limits.validate()?;
        self.tools.validate()?;
        self.conversation.validate()?;
        self.identity.validate()?;
        self.ladder.validate()?;
        self.memory.validate()?;
        self.personal_time.validate()?;
        self.approvals.validate()?;
        crate::people::validate(&self.people)?;
        self.channels.validate()?;
        self.alerts.validate()?;
        self.federation.validate()?;
        self.batch_api.validate()?;
        self.batching.validate()?;
        crate::coordinator::autoscale::validate(&self.autoscale, &self.swarm_limits)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = HostConfig::parse("", "hypernet.toml").unwrap();
        assert_eq!(c.workers.len(), 4);
        assert_eq!(c.scheduler.max_attempts, 3);
        assert_eq!(c.standing[0].cooldown_secs, 1800);
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let err = HostConfig::parse("[scheduler]\nmax_attempt = 2\n", "hypernet.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("hypernet.toml: "), "{err}");
        assert!(
            err.contains("unknown field `max_attempt`") && err.contains("line 2"),
            "{err}"
        );
        let err = HostConfig::parse("colour = 1\n", "h.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn ladder_settings_read_and_zero_is_refused_by_key() {
        let c = HostConfig::parse("[ladder]\nrate_limit_ms = 50\n", "h").unwrap();
        assert_eq!(c.ladder.rate_limit_ms, 50);
        assert_eq!(c.ladder.worker_failures, 5);
        let err = HostConfig::parse("[ladder]\nworker_failures = 0\n", "h")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`ladder.worker_failures` must be at least 1"),
            "{err}"
        );
    }

    #[test]
    fn workers_replace_the_defaults_and_must_be_unique() {
        let c = HostConfig::parse("[[worker]]\nname = \"Solo\"\naccount = \"2.5\"\n", "h").unwrap();
        assert_eq!(c.workers.len(), 1);
        assert_eq!(c.workers[0].address(), "2.5.solo");
        let err = HostConfig::parse("[[worker]]\nname = \"A\"\n[[worker]]\nname = \"a\"\n", "h")
            .unwrap_err()
            .to_string();
        assert!(err.contains("worker `a` is listed twice"), "{err}");
    }
}
