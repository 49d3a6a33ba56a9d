//! The Hypernet Swarm host: a minimal core that owns the store, the event bus and the plugin
//! registry, and serves the API and CLI. Reputation, governance, economy, herald and every
//! LLM provider are plugins loaded from `plugins.toml`.
//!
//! - [`scheduler`]: the task graph, batches, dispatch of model calls.
//! - [`tasks`]: the task model and state machine.
//! - [`workers`]: worker identities and stats.
//! - [`config`]: the host config file, `hypernet.toml`.
//! - [`coordinator`]: affinity, decomposition, conflicts, autoscaling and limits.
//! - [`plugins`]: manifest, loader, registry, actors, capabilities.
//! - [`store`]: the redb file.
//! - [`bus`]: event stamping and watchers.
//! - [`api`]: the HTTP API.
//! - [`cli`]: the command line.
//! - [`run`]: `hypernet run`.
//! - [`mod@bench`]: `hypernet bench`.
//! - [`router`]: which model a task's call goes to.
//! - [`budget`]: prices, limits, reservations and spend.
//! - [`prompts`]: system prompts and answer lengths.
//! - [`datadir`]: files of the data directory.
//! - [`tools`]: tools workers call during a task.
//! - [`security`]: keys, signatures, redaction and isolation of outside text.
//! - [`audit`]: the hash-chained, signed audit log.

pub mod api;
pub mod approvals;
pub mod audit;
pub mod bench;
pub mod budget;
pub mod bus;
pub mod cli;
pub mod config;
pub mod coordinator;
pub mod datadir;
pub mod http;
pub mod identity;
mod ids;
pub mod outbox;
pub mod plugins;
pub mod prompts;
pub mod router;
pub mod run;
pub mod scheduler;
pub mod security;
pub mod store;
pub mod tasks;
pub mod tools;
pub mod workers;
