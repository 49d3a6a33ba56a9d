//! The plugin host.
//!
//! - [`manifest`]: reading and validating `plugins.toml`.
//! - [`loader`]: finding a plugin's library and checking its ABI.
//! - [`check`]: validating a manifest and its plugins without starting them.
//! - [`registry`]: plugin states, event delivery, queries, run-time enable/disable.
//! - [`actor`]: the thread each running service lives on.
//! - [`host_api`]: the capabilities a plugin's host handle offers.

pub mod actor;
pub mod check;
pub mod host_api;
pub mod loader;
pub mod manifest;
pub mod registry;

pub use manifest::{Manifest, ManifestError, PluginSpec};
pub use registry::{PluginState, PluginStatus, Registry, RegistryOptions, StartError};
