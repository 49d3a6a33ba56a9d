//! `economy`: the contribution ledger, revenue distribution and AI wallets.
//!
//! Every completed task is recorded as an AI contribution (its input plus output tokens, at
//! quality 1 until a review sets it with `set_quality`); GPU and human contributions are
//! recorded through queries. Revenue for a period is split by the rules documented in
//! `distribution.rs`; money is exact (`fixed.rs`: 8 decimals internally; pools rounded half
//! away from zero to 4 decimals, the platform pool taking the remainder; payouts in whole
//! 0.0001s that sum exactly to their pool). Everything is kept in the host's key-value store and read back at
//! start, so a restart loses nothing.
//!
//! Manifest entry (`plugins.toml`):
//!
//! ```toml
//! [[plugin]]
//! name = "economy"
//! capabilities = ["kv", "events", "clock", "log"]
//! ```
//!
//! # Queries
//!
//! Amounts and qualities are decimal strings in output (`"12.3456"`); on input a JSON number
//! or a string is accepted. An entry is
//! `{"id": "CON-000001", "at_ms": 0, "contributor": "...", "kind": "gpu"|"human"|"ai", ...}`
//! with `tokens` (gpu, ai), `record` (human), `quality` and optional `task` (ai).
//!
//! | query | arguments | answer |
//! |---|---|---|
//! | `record_gpu` | `{"contributor", "tokens": 300}` | the entry |
//! | `record_human` | `{"contributor", "record": "wrote the guide"}` | the entry |
//! | `record_ai` | `{"worker", "tokens", "quality"?: 1.0, "task"?: "T-1"}` | the entry (quality clamped to 0–2; a task already recorded is refused) |
//! | `set_quality` | `{"task": "T-1", "quality": 1.5}` | the updated entry |
//! | `ledger` | `{"kind"?: "gpu"\|"human"\|"ai", "since_ms"?: 0}` | `{"count", "entries": [...], "totals": {"gpu_tokens", "human_records", "ai_tokens"}}` |
//! | `distribute` | `{"revenue": "90", "period": "daily"\|"weekly"\|"monthly"\|"30d"\|"all", "credit"?: false}` | `{"period", "since_ms", "revenue", "pools": {"gpu": Pool, "development", "human": Pool, "ai": Pool, "platform"}, "credited": bool}` |
//! | `earn` | `{"wallet", "amount"}` | `{"wallet", "balance"}` |
//! | `spend` | `{"wallet", "amount"}` | `{"wallet", "balance"}`; refused when short, naming the balance |
//! | `transfer` | `{"from", "to", "amount"}` | `{"from": {"wallet", "balance"}, "to": {"wallet", "balance"}}`; all or nothing |
//! | `balance` | `{"wallet"}` | `{"wallet", "balance"}` (zero for an unknown wallet) |
//! | `wallets` | — | `{"wallets": {"name": "1.0000", ...}, "total"}` |
//!
//! Every query refuses an argument field it does not take, naming it
//! (`` `record_ai`: unknown field `qualty`, expected one of `worker`, `tokens`, `quality`,
//! `task` ``), so a misspelt field is never recorded as its default.
//!
//! A `Pool` is `{"amount", "paid": bool, "reason"?: "...", "payouts": [{"contributor",
//! "tokens"?, "records"?, "average_quality"?, "amount"}], "paid_total", "unallocated"}`.
//! With `"credit": true` the AI pool's payouts are added to the workers' wallets.
//!
//! # Events
//!
//! - `economy.contribution` `{"id", "kind", "contributor", "tokens"}` (tokens 0 for human)
//! - `economy.distributed` `{"period", "revenue", "pools": {"gpu", "development", "human",
//!   "ai", "platform"}}` (pool amounts)
//!
//! # Storage
//!
//! `entry/<id>` one ledger entry each, `wallets` all balances (one key, so a transfer is one
//! write), `next_id` the id counter.

mod describe;
mod distribution;
mod fixed;
mod ledger;
mod wallets;

use distribution::{Period, Pools};
use fixed::Fixed;
use hypernet_plugin_api::describe::Description;
use hypernet_plugin_api::{Event, Host, PluginError, Subsystem, check_fields};
use ledger::{Contribution, ContributionId, DEFAULT_QUALITY, Entry, Kind, Ledger, clamp_quality};
use serde::Deserialize;
use serde_json::{Value, json};
use wallets::Wallets;

const ENTRY_PREFIX: &str = "entry/";
const WALLETS_KEY: &str = "wallets";
const NEXT_ID_KEY: &str = "next_id";

/// Each query and the argument fields it takes; any other field is refused by name.
const QUERY_FIELDS: &[(&str, &[&str])] = &[
    ("record_gpu", &["contributor", "tokens"]),
    ("record_human", &["contributor", "record"]),
    ("record_ai", &["worker", "tokens", "quality", "task"]),
    ("set_quality", &["task", "quality"]),
    ("ledger", &["kind", "since_ms"]),
    ("distribute", &["revenue", "period", "credit"]),
    ("earn", &["wallet", "amount"]),
    ("spend", &["wallet", "amount"]),
    ("transfer", &["from", "to", "amount"]),
    ("balance", &["wallet"]),
    ("wallets", &[]),
];

/// The plugin takes no settings; an empty table is accepted, anything else is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {}

/// The economy subsystem's state.
pub struct Economy {
    host: Host,
    ledger: Ledger,
    wallets: Wallets,
    next_id: u64,
}

fn str_arg<'a>(args: &'a Value, field: &str, query: &str) -> Result<&'a str, PluginError> {
    match args[field].as_str() {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(PluginError::invalid(format!(
            "`{query}` needs a non-empty string `{field}`"
        ))),
    }
}

fn tokens_arg(args: &Value, field: &str, query: &str) -> Result<u64, PluginError> {
    let v = &args[field];
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| {
            PluginError::invalid(format!(
                "`{query}` needs `{field}` as a whole number of tokens, got {v}"
            ))
        })
}

fn amount_arg(args: &Value, field: &str, query: &str) -> Result<Fixed, PluginError> {
    Fixed::from_json(&args[field], &format!("{query}.{field}"))
}

impl Economy {
    /// Records one contribution: stores it, advances the counter, announces it.
    fn record(
        &mut self,
        contributor: &str,
        contribution: Contribution,
    ) -> Result<Entry, PluginError> {
        let entry = Entry {
            id: ContributionId::from_seq(self.next_id),
            at_ms: self.host.now_ms()?,
            contributor: contributor.to_owned(),
            contribution,
        };
        self.host
            .kv_put(&format!("{ENTRY_PREFIX}{}", entry.id.0), &entry)?;
        self.next_id += 1;
        self.host.kv_put(NEXT_ID_KEY, &self.next_id)?;
        self.ledger.insert(entry.clone());
        tracing::debug!(id = %entry.id.0, kind = entry.contribution.kind().as_str(), contributor, "contribution recorded");
        self.host.publish(
            "economy.contribution",
            &json!({
                "id": entry.id,
                "kind": entry.contribution.kind().as_str(),
                "contributor": entry.contributor,
                "tokens": entry.contribution.tokens(),
            }),
        )?;
        Ok(entry)
    }

    fn record_ai(
        &mut self,
        worker: &str,
        tokens: u64,
        quality: Fixed,
        task: Option<&str>,
    ) -> Result<Entry, PluginError> {
        if let Some(existing) = task.and_then(|t| self.ledger.for_task(t)) {
            return Err(PluginError::invalid(format!(
                "task `{}` already has contribution {}; use `set_quality` to review it",
                task.unwrap_or_default(),
                existing.id.0
            )));
        }
        self.record(
            worker,
            Contribution::Ai {
                tokens,
                quality: clamp_quality(quality),
                task: task.map(str::to_owned),
            },
        )
    }

    fn save_wallets(&self) -> Result<(), PluginError> {
        self.host.kv_put(WALLETS_KEY, &self.wallets)
    }

    /// Runs a wallet change on a copy and keeps it only once it is stored.
    fn with_wallets<T>(
        &mut self,
        change: impl FnOnce(&mut Wallets) -> Result<T, wallets::WalletError>,
    ) -> Result<T, PluginError> {
        let mut next = self.wallets.clone();
        let out = change(&mut next).map_err(|e| PluginError::invalid(e.to_string()))?;
        let before = std::mem::replace(&mut self.wallets, next);
        if let Err(e) = self.save_wallets() {
            self.wallets = before;
            return Err(e);
        }
        Ok(out)
    }

    fn ledger_query(&self, args: &Value) -> Result<Value, PluginError> {
        let kind = match args["kind"].as_str() {
            None => None,
            Some(k) => Some(Kind::parse(k).ok_or_else(|| {
                PluginError::invalid(format!("`ledger.kind` `{k}` is not gpu, human or ai"))
            })?),
        };
        let since_ms = args["since_ms"].as_u64().unwrap_or(0);
        let entries: Vec<&Entry> = self.ledger.select(kind, since_ms).collect();
        let (mut gpu, mut human, mut ai) = (0u64, 0u64, 0u64);
        for e in &entries {
            match e.contribution.kind() {
                Kind::Gpu => gpu += e.contribution.tokens(),
                Kind::Human => human += 1,
                Kind::Ai => ai += e.contribution.tokens(),
            }
        }
        Ok(json!({
            "count": entries.len(),
            "entries": entries,
            "totals": { "gpu_tokens": gpu, "human_records": human, "ai_tokens": ai },
        }))
    }

    fn distribute(&mut self, args: &Value) -> Result<Value, PluginError> {
        let revenue = amount_arg(args, "revenue", "distribute")?;
        let period_name = str_arg(args, "period", "distribute")?;
        let period = Period::parse(period_name).ok_or_else(|| {
            PluginError::invalid(format!(
                "`distribute.period` `{period_name}` is not daily, weekly, monthly, 30d or all"
            ))
        })?;
        let credit = args["credit"].as_bool().unwrap_or(false);
        let since_ms = period.since_ms(self.host.now_ms()?);
        let pools: Pools = distribution::distribute(revenue, self.ledger.select(None, since_ms))
            .map_err(|e| PluginError::invalid(e.to_string()))?;
        if credit {
            let payouts: Vec<_> = pools
                .ai
                .payouts
                .iter()
                .filter(|p| p.amount > Fixed::ZERO)
                .map(|p| (p.contributor.clone(), p.amount))
                .collect();
            self.with_wallets(|w| {
                payouts
                    .iter()
                    .try_for_each(|(who, amount)| w.earn(who, *amount).map(drop))
            })?;
        }
        tracing::info!(period = period.as_str(), revenue = %revenue, credit, "revenue distributed");
        self.host.publish(
            "economy.distributed",
            &json!({
                "period": period.as_str(),
                "revenue": revenue,
                "pools": {
                    "gpu": pools.gpu.amount,
                    "development": pools.development,
                    "human": pools.human.amount,
                    "ai": pools.ai.amount,
                    "platform": pools.platform,
                },
            }),
        )?;
        Ok(json!({
            "period": period.as_str(),
            "since_ms": since_ms,
            "revenue": revenue,
            "pools": pools,
            "credited": credit,
        }))
    }

    /// Records the AI contribution of a completed task, once per task.
    fn on_task_completed(&mut self, payload: &Value) -> Result<(), PluginError> {
        let Some(task) = payload["id"].as_str() else {
            tracing::warn!("task.completed without an id; not recorded");
            return Ok(());
        };
        if self.ledger.for_task(task).is_some() {
            tracing::debug!(task, "task already recorded");
            return Ok(());
        }
        let worker = payload["worker"]
            .as_str()
            .or_else(|| payload["model"].as_str())
            .unwrap_or("unknown");
        let tokens = payload["input_tokens"]
            .as_u64()
            .unwrap_or(0)
            .saturating_add(payload["output_tokens"].as_u64().unwrap_or(0));
        self.record_ai(worker, tokens, DEFAULT_QUALITY, Some(task))?;
        Ok(())
    }
}

fn balance_json(wallet: &str, balance: Fixed) -> Value {
    json!({ "wallet": wallet, "balance": balance })
}

impl Subsystem for Economy {
    type Config = Config;

    /// Loads the ledger, wallets and counter saved by an earlier run.
    fn start(_config: Config, host: Host) -> Result<Self, PluginError> {
        let mut ledger = Ledger::default();
        for key in host.kv_list(ENTRY_PREFIX)? {
            if let Some(entry) = host.kv_get::<Entry>(&key)? {
                ledger.insert(entry);
            }
        }
        let wallets: Wallets = host.kv_get(WALLETS_KEY)?.unwrap_or_default();
        let stored: u64 = host.kv_get(NEXT_ID_KEY)?.unwrap_or(1);
        // An entry written just before a crash may be ahead of the counter.
        let next_id = stored.max(ledger.max_seq() + 1);
        tracing::info!(
            entries = ledger.len(),
            wallets = wallets.all().len(),
            "economy started"
        );
        Ok(Economy {
            host,
            ledger,
            wallets,
            next_id,
        })
    }

    fn on_event(&mut self, event: &Event) -> Result<(), PluginError> {
        match event.kind.as_str() {
            "task.completed" => self.on_task_completed(&event.payload),
            _ => Ok(()),
        }
    }

    fn query(&mut self, name: &str, args: Value) -> Result<Value, PluginError> {
        if let Some((_, fields)) = QUERY_FIELDS.iter().find(|(query, _)| *query == name) {
            check_fields(name, &args, fields)?;
        }
        match name {
            "record_gpu" => {
                let who = str_arg(&args, "contributor", name)?;
                let tokens = tokens_arg(&args, "tokens", name)?;
                Ok(json!(self.record(who, Contribution::Gpu { tokens })?))
            }
            "record_human" => {
                let who = str_arg(&args, "contributor", name)?;
                let record = str_arg(&args, "record", name)?.to_owned();
                Ok(json!(self.record(who, Contribution::Human { record })?))
            }
            "record_ai" => {
                let worker = str_arg(&args, "worker", name)?;
                let tokens = tokens_arg(&args, "tokens", name)?;
                let quality = match &args["quality"] {
                    Value::Null => DEFAULT_QUALITY,
                    q => Fixed::from_json(q, "record_ai.quality")?,
                };
                let task = args["task"].as_str();
                Ok(json!(self.record_ai(worker, tokens, quality, task)?))
            }
            "set_quality" => {
                let task = str_arg(&args, "task", name)?;
                let quality = amount_arg(&args, "quality", name)?;
                let entry = self
                    .ledger
                    .set_quality(task, quality)
                    .cloned()
                    .ok_or_else(|| {
                        PluginError::not_found(format!("no AI contribution for task `{task}`"))
                    })?;
                self.host
                    .kv_put(&format!("{ENTRY_PREFIX}{}", entry.id.0), &entry)?;
                Ok(json!(entry))
            }
            "ledger" => self.ledger_query(&args),
            "distribute" => self.distribute(&args),
            "earn" => {
                let wallet = str_arg(&args, "wallet", name)?;
                let amount = amount_arg(&args, "amount", name)?;
                let balance = self.with_wallets(|w| w.earn(wallet, amount))?;
                Ok(balance_json(wallet, balance))
            }
            "spend" => {
                let wallet = str_arg(&args, "wallet", name)?;
                let amount = amount_arg(&args, "amount", name)?;
                let balance = self.with_wallets(|w| w.spend(wallet, amount))?;
                Ok(balance_json(wallet, balance))
            }
            "transfer" => {
                let from = str_arg(&args, "from", name)?;
                let to = str_arg(&args, "to", name)?;
                let amount = amount_arg(&args, "amount", name)?;
                let (a, b) = self.with_wallets(|w| w.transfer(from, to, amount))?;
                Ok(json!({ "from": balance_json(from, a), "to": balance_json(to, b) }))
            }
            "balance" => {
                let wallet = str_arg(&args, "wallet", name)?;
                Ok(balance_json(wallet, self.wallets.balance(wallet)))
            }
            "wallets" => {
                let total = self
                    .wallets
                    .total()
                    .ok_or_else(|| PluginError::failed("wallet total too large"))?;
                Ok(json!({ "wallets": self.wallets.all(), "total": total }))
            }
            other => Err(PluginError::unknown_query(other)),
        }
    }

    /// Every query answered above and the events published (see `describe.rs`).
    fn describe(&self) -> Description {
        describe::description()
    }
}

hypernet_plugin_api::register_subsystem!(Economy, "economy");

hypernet_plugin_api::export_plugin!();

#[cfg(test)]
mod tests;
