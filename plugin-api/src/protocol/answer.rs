//! What the host answers to each host command. Fields the host adds later are ignored
//! when these are read, so a plugin built now keeps reading newer hosts' answers.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The host's budget, the answer to `budget.set`: limits and spend in micro-dollars.
///
/// ```
/// use hypernet_plugin_api::protocol::BudgetView;
/// use serde_json::json;
///
/// let view: BudgetView = serde_json::from_value(json!({
///     "daily_limit_micros": 30_000_000, "session_limit_micros": null,
///     "spent_today_micros": 1_250, "spent_session_micros": 1_250, "reserved_micros": 0,
///     "reservations": 0, "next_reset_ms": 86_400_000, "paused": false,
///     "per_model": {}, "per_worker": {},
/// })).unwrap();
/// assert_eq!(view.daily_limit_micros, Some(30_000_000));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetView {
    /// Daily limit (`None`: unlimited).
    pub daily_limit_micros: Option<u64>,
    /// Session limit (`None`: unlimited).
    pub session_limit_micros: Option<u64>,
    /// Settled spend of the current budget day.
    pub spent_today_micros: u64,
    /// Settled spend since the host started.
    pub spent_session_micros: u64,
    /// Reserved for calls in flight.
    pub reserved_micros: u64,
    /// Calls holding a reservation.
    pub reservations: u64,
    /// When the budget day rolls over (ms since the Unix epoch).
    pub next_reset_ms: u64,
    /// Whether paid work is paused.
    pub paused: bool,
    /// Totals by model.
    pub per_model: BTreeMap<String, Spend>,
    /// Totals by worker.
    pub per_worker: BTreeMap<String, Spend>,
}

/// Calls, tokens and spend of one model or worker, in a [`BudgetView`].
///
/// ```
/// use hypernet_plugin_api::protocol::Spend;
/// let spend = Spend { calls: 2, input_tokens: 100, output_tokens: 40, cost_micros: 900, ..Spend::default() };
/// assert_eq!(serde_json::to_value(spend).unwrap()["cost_micros"], 900);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    /// Calls settled.
    pub calls: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// The input tokens read from a prompt cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// The input tokens written to a prompt cache.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Spend in micro-dollars.
    pub cost_micros: u64,
}

/// A soft and a hard value of one limit.
///
/// ```
/// use hypernet_plugin_api::protocol::Limit;
/// let limit: Limit = serde_json::from_str(r#"{"soft": 15, "hard": 30}"#).unwrap();
/// assert_eq!(limit, Limit { soft: 15, hard: 30 });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// At or above: a warning.
    pub soft: u64,
    /// At or above: refused.
    pub hard: u64,
}

/// Every limit, the answer to `limits.set`.
///
/// ```
/// use hypernet_plugin_api::protocol::{Limit, LimitsView};
/// use serde_json::json;
///
/// let view: LimitsView = serde_json::from_value(json!({
///     "max_concurrent_workers": { "soft": 15, "hard": 30 },
///     "max_task_queue_depth": { "soft": 200, "hard": 500 },
///     "ephemeral_workers": { "soft": 2, "hard": 4 },
/// })).unwrap();
/// assert_eq!(view.ephemeral_workers, Limit { soft: 2, hard: 4 });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsView {
    /// Workers alive (configured and ephemeral); the hard value refuses spawning.
    pub max_concurrent_workers: Limit,
    /// Tasks pending, blocked or ready; the hard value refuses filing.
    pub max_task_queue_depth: Limit,
    /// The autoscaling caps on ephemeral workers.
    pub ephemeral_workers: Limit,
}

/// A worker's tier change, the answer to `permissions.set`.
///
/// ```
/// use hypernet_plugin_api::protocol::TierChanged;
/// let changed: TierChanged =
///     serde_json::from_str(r#"{"worker": "Trace", "tier": 3, "previous": 2}"#).unwrap();
/// assert_eq!((changed.tier, changed.previous), (3, 2));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierChanged {
    /// The worker's name as configured.
    pub worker: String,
    /// Its tier now.
    pub tier: u8,
    /// Its tier before.
    pub previous: u8,
}
