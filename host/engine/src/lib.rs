//! The plugin host: loading plugins, the registry of running services, their actors and
//! the event bus. Depends on the model and the store, never on the swarm above it.
//!
//! - [`manifest`]: reading and validating `plugins.toml`.
//! - [`loader`]: finding a plugin's library and checking its ABI.
//! - [`check`]: validating a manifest and its plugins without starting them.
//! - [`registry`]: plugin states, event delivery, queries, run-time enable/disable.
//! - [`actor`]: the thread each running service lives on.
//! - [`journal`]: the durable event log.
//! - [`delivery`]: subscribers' cursors in the log; at-least-once delivery.
//! - [`bus`]: the replay buffer and watchers of events.
//! - [`host_api`]: the capabilities a plugin's host handle offers.

pub mod actor;
pub mod bus;
pub mod check;
pub mod delivery;
pub mod host_api;
pub mod journal;
pub mod loader;
pub mod manifest;
pub mod registry;
pub mod subscription;

pub use manifest::{Manifest, ManifestError, PluginSpec};
pub use registry::{PluginState, PluginStatus, Registry, RegistryOptions, StartError, StateCounts};
