//! Host commands. On the wire a command is its name and a JSON object of arguments — the
//! payload `{"name": "budget.set", "args": {...}}` of the `command.run` host operation — and
//! [`HostCommand::parse`] reads it back with the messages the host has always given.

use super::answer::{BudgetView, LimitsView, TierChanged};
use super::sealed::Sealed;
use crate::PluginError;
use serde::de::{DeserializeOwned, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A command the host runs on itself for a plugin granted the `commands` capability.
///
/// It serializes to the `command.run` payload, `{"name", "args"}`, and deserializes from it
/// through [`HostCommand::parse`], so a bad command is refused with the host's own message.
///
/// ```
/// use hypernet_plugin_api::protocol::{HostCommand, PermissionsSet};
/// use serde_json::json;
///
/// let command = HostCommand::from(PermissionsSet { worker: "Trace".into(), tier: 3 });
/// assert_eq!(
///     serde_json::to_value(&command).unwrap(),
///     json!({ "name": "permissions.set", "args": { "worker": "Trace", "tier": 3 } }),
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum HostCommand {
    /// `budget.set`: the host's spending limits.
    BudgetSet(BudgetSet),
    /// `limits.set`: one of the swarm's soft/hard limits.
    LimitsSet(LimitsSet),
    /// `permissions.set`: a configured worker's tool tier.
    PermissionsSet(PermissionsSet),
}

/// `budget.set`: the host's spending limits until it restarts. Both are set together: a
/// `None` limit (sent as `null`) means no limit, not "unchanged". The host answers with
/// its budget, a [`BudgetView`].
///
/// ```
/// use hypernet_plugin_api::protocol::BudgetSet;
/// use serde_json::json;
///
/// let set = BudgetSet { daily_limit_usd: Some(30.0), session_limit_usd: None };
/// assert_eq!(
///     serde_json::to_value(&set).unwrap(),
///     json!({ "daily_limit_usd": 30.0, "session_limit_usd": null }),
/// );
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BudgetSet {
    /// The daily limit in dollars, ≥ 0; `None` for no limit.
    pub daily_limit_usd: Option<f64>,
    /// The per-session limit in dollars, ≥ 0; `None` for no limit.
    pub session_limit_usd: Option<f64>,
}

/// `limits.set`: one of the swarm's limits — `max_concurrent_workers`,
/// `max_task_queue_depth` or `ephemeral_workers` (the autoscaling caps); the host checks
/// the name and that `0 < hard` and `soft ≤ hard`. It answers with every limit, a
/// [`LimitsView`].
///
/// ```
/// use hypernet_plugin_api::protocol::LimitsSet;
/// use serde_json::json;
///
/// let set = LimitsSet { name: "max_concurrent_workers".into(), soft: 10, hard: 20 };
/// assert_eq!(
///     serde_json::to_value(&set).unwrap(),
///     json!({ "name": "max_concurrent_workers", "soft": 10, "hard": 20 }),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitsSet {
    /// Which limit.
    pub name: String,
    /// At or above: a warning.
    pub soft: u64,
    /// At or above: refused.
    pub hard: u64,
}

/// `permissions.set`: a configured worker's tool tier, kept across restarts. The host
/// answers with the worker's name as configured and the tiers after and before, a
/// [`TierChanged`].
///
/// ```
/// use hypernet_plugin_api::protocol::PermissionsSet;
/// use serde_json::json;
///
/// let set = PermissionsSet { worker: "Trace".into(), tier: 3 };
/// assert_eq!(serde_json::to_value(&set).unwrap(), json!({ "worker": "Trace", "tier": 3 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionsSet {
    /// The worker's name (any case).
    pub worker: String,
    /// The new tier: 0 (read-only), 1 (own workspace), 2 (shared), 3 (external) or
    /// 4 (destructive).
    pub tier: u8,
}

/// Why a name and arguments are not a [`HostCommand`]. Its text is what the host answers
/// the plugin; as a [`PluginError`] it has the code
/// [`Invalid`](crate::ErrorCode::Invalid).
///
/// ```
/// use hypernet_plugin_api::protocol::{CommandError, HostCommand};
/// use serde_json::json;
///
/// let err = HostCommand::parse("reboot", &json!({})).unwrap_err();
/// assert_eq!(err, CommandError::Unknown { name: "reboot".into() });
/// assert_eq!(
///     err.to_string(),
///     "unknown host command `reboot` (known: budget.set, limits.set, permissions.set)",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No command has this name.
    #[error("unknown host command `{name}` (known: {known})", known = HostCommand::NAMES.join(", "))]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// The arguments do not fit the command.
    #[error("{command}: {message}")]
    InvalidArgs {
        /// The command's wire name.
        command: &'static str,
        /// What is wrong, naming the argument.
        message: String,
    },
}

impl From<CommandError> for PluginError {
    fn from(err: CommandError) -> Self {
        PluginError::invalid(err.to_string())
    }
}

fn invalid(command: &'static str, message: impl Into<String>) -> CommandError {
    CommandError::InvalidArgs {
        command,
        message: message.into(),
    }
}

/// A host command with the type of the host's answer: each command's arguments
/// ([`BudgetSet`], [`LimitsSet`], [`PermissionsSet`]) answer typed, a [`HostCommand`]
/// answers raw JSON. [`Host::run`](crate::Host::run) takes any of them.
///
/// ```
/// use hypernet_plugin_api::protocol::{Command, LimitsSet};
///
/// let set = LimitsSet { name: "max_task_queue_depth".into(), soft: 100, hard: 400 };
/// assert_eq!(set.name(), "limits.set");
/// assert_eq!(set.args()["hard"], 400);
/// ```
pub trait Command: Sealed {
    /// What the host answers.
    type Answer: DeserializeOwned;

    /// The wire name (`budget.set`).
    fn name(&self) -> &'static str;

    /// The arguments as sent.
    fn args(&self) -> Value;
}

/// Plain fields always serialize.
fn to_args<T: Serialize>(args: &T) -> Value {
    serde_json::to_value(args).expect("command arguments serialize")
}

impl HostCommand {
    /// Every command's wire name, in order.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::HostCommand;
    /// assert!(HostCommand::NAMES.contains(&"limits.set"));
    /// ```
    pub const NAMES: [&'static str; 3] = [BudgetSet::NAME, LimitsSet::NAME, PermissionsSet::NAME];

    /// The wire name.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::{BudgetSet, HostCommand};
    /// assert_eq!(HostCommand::from(BudgetSet::default()).name(), "budget.set");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            HostCommand::BudgetSet(_) => BudgetSet::NAME,
            HostCommand::LimitsSet(_) => LimitsSet::NAME,
            HostCommand::PermissionsSet(_) => PermissionsSet::NAME,
        }
    }

    /// The arguments as sent: a JSON object.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::{HostCommand, PermissionsSet};
    /// let command = HostCommand::from(PermissionsSet { worker: "Trace".into(), tier: 1 });
    /// assert_eq!(command.args()["tier"], 1);
    /// ```
    pub fn args(&self) -> Value {
        match self {
            HostCommand::BudgetSet(args) => to_args(args),
            HostCommand::LimitsSet(args) => to_args(args),
            HostCommand::PermissionsSet(args) => to_args(args),
        }
    }

    /// Reads a command from its wire name and arguments, as the host does when a plugin runs
    /// one. Arguments it does not know are ignored; a bad name or argument is refused with
    /// the message the host gives.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::{HostCommand, LimitsSet};
    /// use serde_json::json;
    ///
    /// let command = HostCommand::parse("limits.set", &json!({ "name": "ephemeral_workers", "soft": 2, "hard": 4 }));
    /// assert_eq!(command.unwrap(), HostCommand::LimitsSet(LimitsSet { name: "ephemeral_workers".into(), soft: 2, hard: 4 }));
    /// assert_eq!(
    ///     HostCommand::parse("limits.set", &json!({})).unwrap_err().to_string(),
    ///     "limits.set: `name` (the limit) is required",
    /// );
    /// ```
    pub fn parse(name: &str, args: &Value) -> Result<HostCommand, CommandError> {
        match name {
            BudgetSet::NAME => BudgetSet::from_args(args).map(HostCommand::BudgetSet),
            LimitsSet::NAME => LimitsSet::from_args(args).map(HostCommand::LimitsSet),
            PermissionsSet::NAME => {
                PermissionsSet::from_args(args).map(HostCommand::PermissionsSet)
            }
            other => Err(CommandError::Unknown {
                name: other.to_owned(),
            }),
        }
    }
}

impl BudgetSet {
    /// The wire name.
    ///
    /// ```
    /// assert_eq!(hypernet_plugin_api::protocol::BudgetSet::NAME, "budget.set");
    /// ```
    pub const NAME: &'static str = "budget.set";

    /// Reads the arguments: each limit a number ≥ 0, or `null` or absent for none.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::BudgetSet;
    /// use serde_json::json;
    /// let set = BudgetSet::from_args(&json!({ "session_limit_usd": 5 })).unwrap();
    /// assert_eq!(set, BudgetSet { daily_limit_usd: None, session_limit_usd: Some(5.0) });
    /// ```
    pub fn from_args(args: &Value) -> Result<BudgetSet, CommandError> {
        let limit = |key: &str| match &args[key] {
            Value::Null => Ok(None),
            v => v
                .as_f64()
                .filter(|usd| *usd >= 0.0)
                .map(Some)
                .ok_or_else(|| {
                    invalid(
                        Self::NAME,
                        format!("`{key}` must be a number of dollars ≥ 0, not {v}"),
                    )
                }),
        };
        Ok(BudgetSet {
            daily_limit_usd: limit("daily_limit_usd")?,
            session_limit_usd: limit("session_limit_usd")?,
        })
    }
}

impl LimitsSet {
    /// The wire name.
    ///
    /// ```
    /// assert_eq!(hypernet_plugin_api::protocol::LimitsSet::NAME, "limits.set");
    /// ```
    pub const NAME: &'static str = "limits.set";

    /// Reads the arguments: a `name` and whole numbers `soft` and `hard`.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::LimitsSet;
    /// use serde_json::json;
    /// let err = LimitsSet::from_args(&json!({ "name": "max_task_queue_depth", "soft": 1 }));
    /// assert_eq!(
    ///     err.unwrap_err().to_string(),
    ///     "limits.set: `soft` and `hard` must be whole numbers ≥ 0: invalid type: null, expected u64",
    /// );
    /// ```
    pub fn from_args(args: &Value) -> Result<LimitsSet, CommandError> {
        let name = args["name"]
            .as_str()
            .ok_or_else(|| invalid(Self::NAME, "`name` (the limit) is required"))?
            .to_owned();
        let super::Limit { soft, hard } = serde_json::from_value(
            json!({ "soft": args["soft"], "hard": args["hard"] }),
        )
        .map_err(|e| {
            invalid(
                Self::NAME,
                format!("`soft` and `hard` must be whole numbers ≥ 0: {e}"),
            )
        })?;
        Ok(LimitsSet { name, soft, hard })
    }
}

impl PermissionsSet {
    /// The wire name.
    ///
    /// ```
    /// assert_eq!(hypernet_plugin_api::protocol::PermissionsSet::NAME, "permissions.set");
    /// ```
    pub const NAME: &'static str = "permissions.set";

    /// The highest tier (destructive).
    ///
    /// ```
    /// assert_eq!(hypernet_plugin_api::protocol::PermissionsSet::MAX_TIER, 4);
    /// ```
    pub const MAX_TIER: u8 = 4;

    /// Reads the arguments: a `worker` and a `tier` from 0 to 4.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::PermissionsSet;
    /// use serde_json::json;
    /// let err = PermissionsSet::from_args(&json!({ "worker": "Trace", "tier": 9 }));
    /// assert_eq!(
    ///     err.unwrap_err().to_string(),
    ///     "permissions.set: a tier is 0 (read-only) to 4 (destructive), not 9",
    /// );
    /// ```
    pub fn from_args(args: &Value) -> Result<PermissionsSet, CommandError> {
        let worker = args["worker"]
            .as_str()
            .ok_or_else(|| invalid(Self::NAME, "`worker` (a worker's name) is required"))?
            .to_owned();
        let tier = args["tier"]
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .ok_or_else(|| {
                invalid(
                    Self::NAME,
                    format!("`tier` must be a whole number 0 to 4, not {}", args["tier"]),
                )
            })?;
        if tier > Self::MAX_TIER {
            return Err(invalid(
                Self::NAME,
                format!("a tier is 0 (read-only) to 4 (destructive), not {tier}"),
            ));
        }
        Ok(PermissionsSet { worker, tier })
    }
}

impl From<BudgetSet> for HostCommand {
    fn from(args: BudgetSet) -> Self {
        HostCommand::BudgetSet(args)
    }
}

impl From<LimitsSet> for HostCommand {
    fn from(args: LimitsSet) -> Self {
        HostCommand::LimitsSet(args)
    }
}

impl From<PermissionsSet> for HostCommand {
    fn from(args: PermissionsSet) -> Self {
        HostCommand::PermissionsSet(args)
    }
}

impl Sealed for HostCommand {}
impl Sealed for BudgetSet {}
impl Sealed for LimitsSet {}
impl Sealed for PermissionsSet {}

impl Command for HostCommand {
    type Answer = Value;
    fn name(&self) -> &'static str {
        HostCommand::name(self)
    }
    fn args(&self) -> Value {
        HostCommand::args(self)
    }
}

impl Command for BudgetSet {
    type Answer = BudgetView;
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn args(&self) -> Value {
        to_args(self)
    }
}

impl Command for LimitsSet {
    type Answer = LimitsView;
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn args(&self) -> Value {
        to_args(self)
    }
}

impl Command for PermissionsSet {
    type Answer = TierChanged;
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn args(&self) -> Value {
        to_args(self)
    }
}

impl Serialize for HostCommand {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut payload = serializer.serialize_struct("HostCommand", 2)?;
        payload.serialize_field("name", self.name())?;
        match self {
            HostCommand::BudgetSet(args) => payload.serialize_field("args", args)?,
            HostCommand::LimitsSet(args) => payload.serialize_field("args", args)?,
            HostCommand::PermissionsSet(args) => payload.serialize_field("args", args)?,
        }
        payload.end()
    }
}

impl<'de> Deserialize<'de> for HostCommand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Payload {
            name: String,
            #[serde(default)]
            args: Value,
        }
        let Payload { name, args } = Payload::deserialize(deserializer)?;
        HostCommand::parse(&name, &args).map_err(serde::de::Error::custom)
    }
}
