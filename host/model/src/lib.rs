//! The swarm's vocabulary, shared by every host crate: ids, the task and its status
//! machine, and the clock. It depends on nothing of the host.
//!
//! - [`ids`]: ids shown as a prefix and a number (`T-4`, `AQ-0001`).
//! - [`tasks`]: the task, its specification, its result and the one function that changes
//!   its status.
//! - [`schema`]: OpenAPI schemas of the `hypernet-plugin-api` types the host shows.
//! - [`tier`]: permission tiers, from read-only to destructive.
//! - [`clock`]: milliseconds since the epoch, and how they are shown.

pub mod clock;
pub mod ids;
pub mod schema;
pub mod tasks;
pub mod tier;
