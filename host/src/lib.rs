//! The Hypernet Swarm host: a minimal core that owns the store, the event bus and the plugin
//! registry, and serves the API and CLI. Reputation, governance, economy, herald and every
//! LLM provider are plugins loaded from `plugins.toml`.
//!
//! - [`plugins`]: manifest, loader, registry, actors, capabilities.
//! - [`store`]: the redb file.
//! - [`bus`]: event stamping and watchers.
//! - [`api`]: the HTTP API.
//! - [`cli`]: the command line.
//! - [`run`]: `hypernet run`.
//! - [`datadir`]: files of the data directory.

pub mod api;
pub mod bus;
pub mod cli;
pub mod datadir;
pub mod plugins;
pub mod run;
pub mod store;
