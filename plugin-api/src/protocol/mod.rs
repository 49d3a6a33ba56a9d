//! The typed protocol between the host and plugins, used by both sides.
//!
//! On the wire everything stays a name and JSON arguments (the ABI does not change); this
//! module gives each name its Rust types, so neither side spells a command or an operation
//! as a string literal or builds its arguments with `json!`:
//!
//! - [`HostCommand`]: what a plugin with the `commands` capability asks the host to do to
//!   itself (`budget.set`, `limits.set`, `permissions.set`), run with
//!   [`Host::run`](crate::Host::run); the host reads one back from a name and JSON arguments
//!   with [`HostCommand::parse`].
//! - [`provider`]: the operations the host calls on an LLM provider service (`prepare`,
//!   `parse_response`, ...), each with its argument and answer types.
//! - [`channel`]: the operations the host calls on a channel service (`deliver`,
//!   `inbound`, `poll`, ...).
//!
//! ```
//! use hypernet_plugin_api::protocol::{BudgetSet, HostCommand};
//! use serde_json::json;
//!
//! let command = HostCommand::from(BudgetSet { daily_limit_usd: Some(30.0), session_limit_usd: None });
//! assert_eq!(command.name(), "budget.set");
//! assert_eq!(HostCommand::parse(command.name(), &command.args()).unwrap(), command);
//! assert_eq!(
//!     HostCommand::parse("budget.set", &json!({ "daily_limit_usd": -1 })).unwrap_err().to_string(),
//!     "budget.set: `daily_limit_usd` must be a number of dollars ≥ 0, not -1",
//! );
//! ```

mod answer;
pub mod channel;
mod command;
pub mod provider;

#[cfg(test)]
mod tests;

pub use answer::{BudgetView, Limit, LimitsView, Spend, TierChanged};
pub use command::{BudgetSet, Command, CommandError, HostCommand, LimitsSet, PermissionsSet};

/// Keeps the typed traits of this module implemented only here, so they can grow.
mod sealed {
    pub trait Sealed {}
}
