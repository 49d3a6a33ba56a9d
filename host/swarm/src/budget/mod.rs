//! Spending: prices, limits, reservations and the ledger. Pure arithmetic in integer
//! micro-dollars; the scheduler core reserves the worst-case cost of a call before making
//! it and settles the actual cost when the answer arrives, so a limit is never overshot.
//!
//! ```toml
//! [budget]
//! daily_limit_usd = 5.0      # default: unlimited
//! session_limit_usd = 2.0    # default: unlimited (a session is one host run)
//! reset_hour_utc = 0         # the budget day starts at this hour (UTC)
//! [budget.prices]            # USD per million tokens; longest model-name prefix wins
//! "paid/" = { input_per_mtok = 1.0, output_per_mtok = 4.0 }
//! ```
//!
//! Built-in prices ([`default_prices`]) cover well-known Anthropic and OpenAI models;
//! configured entries add to or replace them. Local models (`sim/`, `local/`, `lmstudio/`,
//! `ollama/`) cost nothing unless priced explicitly. A paid model with no price is
//! reserved and charged at the highest built-in price, so an unknown model cannot slip
//! past a limit.

pub mod ledger;
pub mod persist;
pub mod prices;
pub mod report;

pub use ledger::{CallShape, Category, Charge, DaySpend, Saving, Share, Tokens, Usage};

use hypernet_model::tasks::TaskId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const DAY_MS: u64 = 86_400_000;
const HOUR_MS: u64 = 3_600_000;

/// Prefixes of models that run on this machine and cost nothing.
pub const LOCAL_PREFIXES: [&str; 4] = ["sim/", "local/", "lmstudio/", "ollama/"];

/// A model's price in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// USD per million input tokens.
    pub input_per_mtok: f64,
    /// USD per million output tokens.
    pub output_per_mtok: f64,
    /// USD per million input tokens read from the prompt cache (default: the input price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_per_mtok: Option<f64>,
    /// USD per million input tokens written to the prompt cache (default: the input price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_per_mtok: Option<f64>,
}

impl Price {
    /// A price without cache rates (cached tokens cost as much as others).
    pub const fn new(input_per_mtok: f64, output_per_mtok: f64) -> Price {
        Price {
            input_per_mtok,
            output_per_mtok,
            cache_read_per_mtok: None,
            cache_write_per_mtok: None,
        }
    }

    /// The same price with cache reads and writes at `read` and `write` times the input
    /// price.
    pub fn with_cache(self, read: f64, write: f64) -> Price {
        Price {
            cache_read_per_mtok: Some(self.input_per_mtok * read),
            cache_write_per_mtok: Some(self.input_per_mtok * write),
            ..self
        }
    }

    /// USD per million tokens read from the cache.
    pub fn cache_read_rate(&self) -> f64 {
        self.cache_read_per_mtok.unwrap_or(self.input_per_mtok)
    }

    /// USD per million tokens written to the cache.
    pub fn cache_write_rate(&self) -> f64 {
        self.cache_write_per_mtok.unwrap_or(self.input_per_mtok)
    }

    /// Whether every token of it is free.
    pub fn is_free(&self) -> bool {
        self.input_per_mtok <= 0.0
            && self.output_per_mtok <= 0.0
            && self.cache_read_rate() <= 0.0
            && self.cache_write_rate() <= 0.0
    }

    /// Cost in micro-dollars of `input` and `output` tokens, none cached, rounded up.
    pub fn cost_micros(&self, input: u64, output: u64) -> u64 {
        self.cost_of(&Tokens::plain(input, output))
    }

    /// Cost in micro-dollars of a call's tokens, cache reads and writes at their rates,
    /// rounded up.
    pub fn cost_of(&self, t: &Tokens) -> u64 {
        // USD per Mtok is micro-dollars per token.
        let micros = t.uncached() as f64 * self.input_per_mtok
            + t.cache_read as f64 * self.cache_read_rate()
            + t.cache_write as f64 * self.cache_write_rate()
            + t.output as f64 * self.output_per_mtok;
        micros.max(0.0).ceil() as u64
    }
}

/// `[budget]` in `hypernet.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetConfig {
    /// Spend allowed per budget day; unlimited when absent.
    pub daily_limit_usd: Option<f64>,
    /// Spend allowed per host run; unlimited when absent.
    pub session_limit_usd: Option<f64>,
    /// Prices by model-name prefix, added to [`default_prices`].
    pub prices: BTreeMap<String, Price>,
    /// Hour (UTC, 0–23) at which the budget day starts (default 0, midnight).
    pub reset_hour_utc: u32,
    /// What each category should cost at most per day (`hypernet cost` compares).
    pub targets: report::Targets,
}

impl BudgetConfig {
    /// Checks the values; errors name the key.
    pub fn validate(&self) -> Result<(), String> {
        self.targets.validate()?;
        if self.reset_hour_utc > 23 {
            return Err(format!(
                "`budget.reset_hour_utc` must be 0–23, not {}",
                self.reset_hour_utc
            ));
        }
        for (key, v) in [
            ("daily_limit_usd", self.daily_limit_usd),
            ("session_limit_usd", self.session_limit_usd),
        ] {
            if let Some(v) = v
                && !(v >= 0.0 && v.is_finite())
            {
                return Err(format!(
                    "`budget.{key}` must be a non-negative number, not {v}"
                ));
            }
        }
        for (model, p) in &self.prices {
            let rates = [
                p.input_per_mtok,
                p.output_per_mtok,
                p.cache_read_rate(),
                p.cache_write_rate(),
            ];
            if !rates.iter().all(|r| *r >= 0.0 && r.is_finite()) {
                return Err(format!("`budget.prices.\"{model}\"` has a negative price"));
            }
        }
        Ok(())
    }
}

/// Built-in prices (USD per million tokens, input / output, with cache rates):
/// Anthropic reads its cache at 0.1× and writes it (five-minute entries) at 1.25× the
/// input price; OpenAI reads it at 0.5× (GPT-4o family) or 0.25× (GPT-4.1, o-series)
/// and charges nothing extra to write it.
pub fn default_prices() -> BTreeMap<String, Price> {
    let anthropic = |i, o| Price::new(i, o).with_cache(0.1, 1.25);
    let openai = |i, o, read| Price::new(i, o).with_cache(read, 1.0);
    [
        ("anthropic/claude-opus-4", anthropic(15.0, 75.0)),
        ("anthropic/claude-sonnet-4", anthropic(3.0, 15.0)),
        ("anthropic/claude-3-5-sonnet", anthropic(3.0, 15.0)),
        ("anthropic/claude-haiku-4", anthropic(1.0, 5.0)),
        ("anthropic/claude-3-5-haiku", anthropic(0.8, 4.0)),
        ("openai/gpt-4o", openai(2.5, 10.0, 0.5)),
        ("openai/gpt-4o-mini", openai(0.15, 0.6, 0.5)),
        ("openai/gpt-4.1", openai(2.0, 8.0, 0.25)),
        ("openai/gpt-4.1-mini", openai(0.4, 1.6, 0.25)),
        ("openai/gpt-4.1-nano", openai(0.1, 0.4, 0.25)),
        ("openai/o3", openai(2.0, 8.0, 0.25)),
        ("openai/o4-mini", openai(1.1, 4.4, 0.25)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Micro-dollars from a USD amount.
pub fn usd_to_micros(usd: f64) -> u64 {
    (usd * 1e6).round().max(0.0) as u64
}

/// What survives a restart: today's spend and the all-time totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Persisted {
    /// The budget day the spend belongs to (days since the epoch, shifted by the reset hour).
    pub day: u64,
    /// Spend of that day.
    pub daily_spent_micros: u64,
    /// Totals by model.
    pub per_model: BTreeMap<String, Usage>,
    /// Totals by worker.
    pub per_worker: BTreeMap<String, Usage>,
}

/// A reservation held for a call in flight.
#[derive(Debug, Clone, PartialEq)]
struct Hold {
    micros: u64,
}

/// Why a reservation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{which} limit reached: ${spent:.6} spent, ${reserved:.6} reserved, ${limit:.6} allowed")]
pub struct OverBudget {
    /// `daily` or `session`.
    pub which: &'static str,
    /// Settled spend, USD.
    pub spent: f64,
    /// Reserved, USD.
    pub reserved: f64,
    /// The limit, USD.
    pub limit: f64,
}

/// The budget: limits, prices, reservations and spend.
#[derive(Debug, Clone)]
pub struct Budget {
    prices: prices::PriceTable,
    reset_hour: u32,
    daily_limit: Option<u64>,
    session_limit: Option<u64>,
    state: Persisted,
    today: DaySpend,
    session_spent: u64,
    holds: BTreeMap<TaskId, Hold>,
    reserved: u64,
    /// Paid work is paused (a reservation was refused and none granted since).
    pub paused: bool,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(&BudgetConfig::default())
    }
}

/// What `hypernet budget` shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BudgetView {
    /// Daily limit in micro-dollars (absent: unlimited).
    pub daily_limit_micros: Option<u64>,
    /// Session limit in micro-dollars (absent: unlimited).
    pub session_limit_micros: Option<u64>,
    /// Settled spend of the current budget day.
    pub spent_today_micros: u64,
    /// Settled spend since the host started.
    pub spent_session_micros: u64,
    /// Reserved for calls in flight.
    pub reserved_micros: u64,
    /// Calls holding a reservation.
    pub reservations: usize,
    /// When the budget day rolls over (ms since the epoch).
    pub next_reset_ms: u64,
    /// Whether paid work is paused.
    pub paused: bool,
    /// Totals by model.
    pub per_model: BTreeMap<String, Usage>,
    /// Totals by worker.
    pub per_worker: BTreeMap<String, Usage>,
}

impl Budget {
    /// A budget with no spend.
    pub fn new(cfg: &BudgetConfig) -> Budget {
        Budget {
            prices: prices::PriceTable::new(&cfg.prices),
            reset_hour: cfg.reset_hour_utc.min(23),
            daily_limit: cfg.daily_limit_usd.map(usd_to_micros),
            session_limit: cfg.session_limit_usd.map(usd_to_micros),
            state: Persisted::default(),
            today: DaySpend::default(),
            session_spent: 0,
            holds: BTreeMap::new(),
            reserved: 0,
            paused: false,
        }
    }

    /// Restores the persisted spend and the stored record of its day, if any (the
    /// session starts at zero).
    pub fn restore(&mut self, state: Persisted, today: Option<DaySpend>) {
        self.today = today
            .filter(|d| d.day == state.day)
            .unwrap_or_else(|| DaySpend::new(state.day));
        self.state = state;
    }

    /// What to persist.
    pub fn persisted(&self) -> &Persisted {
        &self.state
    }

    /// The spend of the current budget day by model, worker and category, and its
    /// savings (stored beside [`Budget::persisted`]).
    pub fn today(&self) -> &DaySpend {
        &self.today
    }

    /// The price of `model` (see [`prices::PriceTable::lookup`]).
    pub fn price(&self, model: &str) -> Price {
        self.prices.price(model)
    }

    /// The price table.
    pub fn prices(&self) -> &prices::PriceTable {
        &self.prices
    }

    /// The budget day of `now_ms`.
    pub fn day_of(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(u64::from(self.reset_hour) * HOUR_MS) / DAY_MS
    }

    /// When the budget day after `now_ms` begins.
    pub fn next_reset_ms(&self, now_ms: u64) -> u64 {
        (self.day_of(now_ms) + 1) * DAY_MS + u64::from(self.reset_hour) * HOUR_MS
    }

    /// Starts a new budget day when `now_ms` is in one; returns whether it did.
    pub fn roll(&mut self, now_ms: u64) -> bool {
        let day = self.day_of(now_ms);
        if day == self.state.day {
            return false;
        }
        self.state.day = day;
        self.state.daily_spent_micros = 0;
        self.today = DaySpend::new(day);
        true
    }

    /// Sets new limits in USD (`None` leaves a limit unchanged).
    pub fn set_limits(&mut self, daily_usd: Option<f64>, session_usd: Option<f64>) {
        if let Some(d) = daily_usd {
            self.daily_limit = Some(usd_to_micros(d));
        }
        if let Some(s) = session_usd {
            self.session_limit = Some(usd_to_micros(s));
        }
    }

    /// Reserves `micros` for the call of `task`. A free call always succeeds; a paid one
    /// only when spend plus every reservation stays within each limit (equal is allowed).
    pub fn reserve(&mut self, task: TaskId, micros: u64, now_ms: u64) -> Result<(), OverBudget> {
        self.roll(now_ms);
        self.release(task);
        if micros > 0 {
            let usd = |m: u64| m as f64 / 1e6;
            for (which, spent, limit) in [
                ("daily", self.state.daily_spent_micros, self.daily_limit),
                ("session", self.session_spent, self.session_limit),
            ] {
                if let Some(limit) = limit
                    && spent + self.reserved + micros > limit
                {
                    return Err(OverBudget {
                        which,
                        spent: usd(spent),
                        reserved: usd(self.reserved),
                        limit: usd(limit),
                    });
                }
            }
        }
        self.holds.insert(task, Hold { micros });
        self.reserved += micros;
        Ok(())
    }

    /// What is reserved for `task` (0: nothing).
    pub fn held_micros(&self, task: TaskId) -> u64 {
        self.holds.get(&task).map_or(0, |h| h.micros)
    }

    /// Releases the reservation of `task` (its call failed, was cancelled or re-queued).
    pub fn release(&mut self, task: TaskId) {
        if let Some(h) = self.holds.remove(&task) {
            self.reserved -= h.micros;
        }
    }

    /// Settles the call of `task`: releases its reservation, charges the actual cost
    /// (cache reads and writes at their rates, half price through a batch API), books it
    /// by model, worker and category with what it saved, and returns it in micro-dollars.
    pub fn settle(&mut self, task: TaskId, charge: &Charge<'_>, now_ms: u64) -> u64 {
        self.release(task);
        self.roll(now_ms);
        let price = self.price(charge.model);
        let t = &charge.tokens;
        let full = charge
            .share
            .map_or_else(|| price.cost_of(t), |s| s.cost_micros);
        let cost = if charge.batch_api {
            full.div_ceil(2)
        } else {
            full
        };
        self.state.daily_spent_micros += cost;
        self.session_spent += cost;
        self.today.spent_micros += cost;
        for usage in [
            self.state
                .per_model
                .entry(charge.model.to_owned())
                .or_default(),
            self.state
                .per_worker
                .entry(charge.worker.to_owned())
                .or_default(),
            self.today
                .per_model
                .entry(charge.model.to_owned())
                .or_default(),
            self.today
                .per_worker
                .entry(charge.worker.to_owned())
                .or_default(),
        ] {
            usage.add_part(
                t,
                cost,
                charge.share.map_or(1, |s| u64::from(s.counts_call)),
            );
        }
        // The identity prompt leads the prompt, so it is what a cache read covers first.
        let scale = |micros: f64| {
            let m = if charge.batch_api {
                micros / 2.0
            } else {
                micros
            };
            m.max(0.0).ceil() as u64
        };
        let identity = match charge.category {
            Category::Work | Category::Personal => {
                let tokens = charge.shape.identity_tokens.min(t.input);
                let read = tokens.min(t.cache_read);
                scale(
                    read as f64 * price.cache_read_rate()
                        + (tokens - read) as f64 * price.input_per_mtok,
                )
                .min(cost)
            }
            Category::Identity | Category::Boot => 0,
        };
        self.today.spend(Category::Identity, identity);
        self.today.spend(charge.category, cost - identity);
        let compact = scale(charge.shape.compact_saved_tokens as f64 * price.input_per_mtok);
        self.today.save(Saving::CompactPrompts, compact);
        let caching = t.cache_read as f64 * (price.input_per_mtok - price.cache_read_rate())
            - t.cache_write as f64 * (price.cache_write_rate() - price.input_per_mtok);
        self.today
            .save_signed(Saving::Caching, caching, charge.batch_api);
        if let Some(paid) = charge.instead_of
            && price.is_free()
        {
            self.today
                .save(Saving::LocalRouting, self.price(paid).cost_of(t));
        }
        if charge.batch_api {
            self.today.save(Saving::BatchApi, full - cost);
        }
        cost
    }

    /// Books `micros` saved by `kind` today (a saving the scheduler measures itself, such
    /// as batching several tasks into one call).
    pub fn record_saving(&mut self, kind: Saving, micros: u64, now_ms: u64) {
        self.roll(now_ms);
        self.today.save(kind, micros);
    }

    /// Settled spend of the day plus every reservation: what a limit is compared with.
    pub fn committed_today(&self) -> u64 {
        self.state.daily_spent_micros + self.reserved
    }

    /// The daily limit in micro-dollars.
    pub fn daily_limit(&self) -> Option<u64> {
        self.daily_limit
    }

    /// What `hypernet budget` shows.
    pub fn view(&self, now_ms: u64) -> BudgetView {
        let today = self.day_of(now_ms) == self.state.day;
        BudgetView {
            daily_limit_micros: self.daily_limit,
            session_limit_micros: self.session_limit,
            spent_today_micros: if today {
                self.state.daily_spent_micros
            } else {
                0
            },
            spent_session_micros: self.session_spent,
            reserved_micros: self.reserved,
            reservations: self.holds.len(),
            next_reset_ms: self.next_reset_ms(now_ms),
            paused: self.paused,
            per_model: self.state.per_model.clone(),
            per_worker: self.state.per_worker.clone(),
        }
    }
}

/// Whether `model` runs locally (free).
pub fn is_local(model: &str) -> bool {
    LOCAL_PREFIXES.iter().any(|p| model.starts_with(p))
}

/// Worst-case input tokens of a prompt: characters / 4, rounded up.
pub fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `budget.set` answers plugins with this view; they read it as the protocol's
    /// `BudgetView`, which must carry every field unchanged.
    #[test]
    fn the_view_reads_as_the_protocols_budget_view() {
        let usage = Usage {
            calls: 2,
            input_tokens: 100,
            output_tokens: 40,
            cache_read_tokens: 30,
            cache_write_tokens: 20,
            cost_micros: 900,
        };
        let view = BudgetView {
            daily_limit_micros: Some(30_000_000),
            session_limit_micros: None,
            spent_today_micros: 1_250,
            spent_session_micros: 2_500,
            reserved_micros: 80,
            reservations: 3,
            next_reset_ms: 86_400_000,
            paused: true,
            per_model: BTreeMap::from([("sim/a".to_owned(), usage.clone())]),
            per_worker: BTreeMap::from([("Trace".to_owned(), usage)]),
        };
        let sent = serde_json::to_value(&view).unwrap();
        let read: hypernet_plugin_api::protocol::BudgetView =
            serde_json::from_value(sent.clone()).unwrap();
        assert_eq!(serde_json::to_value(read).unwrap(), sent);
    }

    fn budget(daily: Option<f64>, session: Option<f64>) -> Budget {
        let cfg: BudgetConfig = toml::from_str(
            "[prices]\n\"paid/\" = { input_per_mtok = 1.0, output_per_mtok = 2.0 }\n",
        )
        .unwrap();
        Budget::new(&BudgetConfig {
            daily_limit_usd: daily,
            session_limit_usd: session,
            ..cfg
        })
    }

    #[test]
    fn prices_by_longest_prefix_local_free_unknown_dear() {
        let b = budget(None, None);
        assert_eq!(b.price("openai/gpt-4o-mini").output_per_mtok, 0.6);
        assert_eq!(b.price("openai/gpt-4o").output_per_mtok, 10.0);
        assert_eq!(b.price("paid/x").cost_micros(1000, 500), 2000);
        assert_eq!(b.price("sim/default").cost_micros(1000, 1000), 0);
        assert_eq!(b.price("lmstudio/qwen").cost_micros(1000, 1000), 0);
        assert_eq!(b.price("mystery/x").output_per_mtok, 75.0);
    }

    #[test]
    fn reservations_never_cross_a_limit_and_equal_is_allowed() {
        let mut b = budget(Some(0.01), None); // 10_000 micros
        assert!(b.reserve(TaskId(1), 6_000, 0).is_ok());
        assert!(b.reserve(TaskId(2), 4_000, 0).is_ok()); // exactly at the limit
        let err = b.reserve(TaskId(3), 1, 0).unwrap_err();
        assert_eq!(err.which, "daily");
        assert!(b.reserve(TaskId(4), 0, 0).is_ok(), "free calls always go");
        // Settling for less than reserved frees room.
        assert_eq!(
            b.settle(
                TaskId(1),
                &Charge::work("paid/x", "w", Tokens::plain(1000, 1000)),
                0
            ),
            3000
        );
        assert_eq!(b.committed_today(), 7_000);
        assert!(b.reserve(TaskId(3), 3_000, 0).is_ok());
        b.release(TaskId(2));
        b.release(TaskId(3));
        assert_eq!(b.view(0).reserved_micros, 0);
        assert_eq!(b.view(0).per_model["paid/x"].cost_micros, 3000);
        assert_eq!(b.view(0).per_worker["w"].calls, 1);
    }

    #[test]
    fn session_limit_applies_and_limits_can_be_raised() {
        let mut b = budget(None, Some(0.001));
        assert!(b.reserve(TaskId(1), 2_000, 0).is_err());
        b.set_limits(None, Some(1.0));
        assert!(b.reserve(TaskId(1), 2_000, 0).is_ok());
    }

    #[test]
    fn the_day_resets_at_the_configured_hour() {
        let mut b = Budget::new(&BudgetConfig {
            daily_limit_usd: Some(0.001),
            reset_hour_utc: 6,
            prices: BTreeMap::from([("paid/".to_owned(), Price::new(0.0, 1.0))]),
            ..BudgetConfig::default()
        });
        let day = 10 * DAY_MS;
        let morning = day + 5 * HOUR_MS;
        b.settle(
            TaskId(1),
            &Charge::work("paid/x", "w", Tokens::plain(0, 1000)),
            morning,
        );
        assert!(b.reserve(TaskId(2), 1, morning).is_err());
        assert_eq!(b.next_reset_ms(morning), day + 6 * HOUR_MS);
        assert!(b.reserve(TaskId(2), 1, day + 6 * HOUR_MS).is_ok());
        assert_eq!(b.view(day + 6 * HOUR_MS).spent_today_micros, 0);
    }

    #[test]
    fn daily_spend_survives_a_restart_within_the_day_but_session_does_not() {
        let mut b = budget(Some(1.0), Some(1.0));
        b.roll(1000);
        b.settle(
            TaskId(1),
            &Charge::work("paid/x", "w", Tokens::plain(0, 1000)),
            1000,
        );
        let saved = serde_json::to_vec(b.persisted()).unwrap();
        let mut again = budget(Some(1.0), Some(1.0));
        again.restore(serde_json::from_slice(&saved).unwrap(), None);
        let v = again.view(2000);
        assert_eq!((v.spent_today_micros, v.spent_session_micros), (2000, 0));
        assert_eq!(again.view(DAY_MS + 1).spent_today_micros, 0);
    }

    #[test]
    fn cache_reads_and_writes_are_priced_at_their_rates() {
        let b = budget(None, None);
        // Claude Sonnet: $3 in, $15 out, reads at $0.30, writes at $3.75 per million.
        let sonnet = b.price("anthropic/claude-sonnet-4-5");
        let t = Tokens {
            input: 10_000,
            output: 1_000,
            cache_read: 8_000,
            cache_write: 1_000,
        };
        assert_eq!(
            sonnet.cost_of(&t),
            1_000 * 3 + 8_000 * 3 / 10 + 1_000 * 375 / 100 + 1_000 * 15
        );
        // gpt-4.1 reads at a quarter of its input price and writes at the input price.
        let gpt = b.price("openai/gpt-4.1");
        assert_eq!(
            gpt.cost_of(&t),
            1_000 * 2 + 8_000 / 2 + 1_000 * 2 + 1_000 * 8
        );
        // A configured price without cache rates charges cached tokens as input.
        let paid = b.price("paid/x");
        assert_eq!(paid.cost_of(&t), paid.cost_micros(10_000, 1_000));
        let cfg: BudgetConfig = toml::from_str(
            "[prices]\n\"x/\" = { input_per_mtok = 1.0, output_per_mtok = 1.0, cache_read_per_mtok = -1.0 }\n",
        )
        .unwrap();
        assert!(cfg.validate().unwrap_err().contains("\"x/\""));
    }

    #[test]
    fn a_charge_is_booked_by_category_with_its_savings() {
        let mut b = budget(None, None);
        let tokens = Tokens {
            input: 10_000,
            output: 1_000,
            cache_read: 8_000,
            cache_write: 0,
        };
        let charge = Charge {
            shape: CallShape {
                identity_tokens: 9_000,
                compact_saved_tokens: 2_000,
            },
            ..Charge::work("anthropic/claude-sonnet-4-5", "w", tokens)
        };
        let cost = b.settle(TaskId(1), &charge, 0);
        let day = b.today().clone();
        assert_eq!(day.spent_micros, cost);
        // The identity prompt: 8,000 tokens read from the cache, 1,000 sent plain.
        assert_eq!(day.category(Category::Identity), 8_000 * 3 / 10 + 1_000 * 3);
        assert_eq!(
            day.category(Category::Work),
            cost - day.category(Category::Identity)
        );
        assert_eq!(day.saved(Saving::CompactPrompts), 2_000 * 3);
        assert_eq!(day.saved(Saving::Caching), 8_000 * 3 - 8_000 * 3 / 10);
        assert_eq!(
            day.per_model["anthropic/claude-sonnet-4-5"].cache_read_tokens,
            8_000
        );

        // Writing the cache costs more than plain input until it is read.
        let write = Tokens {
            cache_read: 0,
            cache_write: 4_000,
            ..tokens
        };
        b.settle(
            TaskId(2),
            &Charge::work("anthropic/claude-sonnet-4-5", "w", write),
            0,
        );
        assert_eq!(
            b.today().saved(Saving::Caching),
            8_000 * 3 - 8_000 * 3 / 10 - 4_000 * 3 / 4
        );

        // Through a batch API: half price, the other half booked as saved.
        let full = b.price("paid/x").cost_micros(1_000, 1_000);
        let batched = Charge {
            category: Category::Personal,
            batch_api: true,
            ..Charge::work("paid/x", "w", Tokens::plain(1_000, 1_000))
        };
        assert_eq!(b.settle(TaskId(3), &batched, 0), full / 2);
        assert_eq!(b.today().saved(Saving::BatchApi), (full / 2) as i64);
        assert_eq!(b.today().category(Category::Personal), full / 2);

        // A free local call that stood in for a paid model saves that model's price.
        let local = Charge {
            instead_of: Some("paid/x"),
            ..Charge::work("lmstudio/qwen", "w", Tokens::plain(1_000, 1_000))
        };
        assert_eq!(b.settle(TaskId(4), &local, 0), 0);
        assert_eq!(b.today().saved(Saving::LocalRouting), full as i64);

        // A boot is booked as boot, whatever its identity prompt.
        let boot = Charge {
            category: Category::Boot,
            shape: CallShape {
                identity_tokens: 500,
                compact_saved_tokens: 0,
            },
            ..Charge::work("paid/x", "w", Tokens::plain(1_000, 0))
        };
        let before = b.today().category(Category::Identity);
        let boot_cost = b.settle(TaskId(5), &boot, 0);
        assert_eq!(b.today().category(Category::Boot), boot_cost);
        assert_eq!(b.today().category(Category::Identity), before);

        b.record_saving(Saving::Batching, 42, 0);
        assert_eq!(b.today().saved(Saving::Batching), 42);
        // A new budget day starts a new record.
        b.roll(DAY_MS);
        assert_eq!(b.today().day, 1);
        assert_eq!(b.today().spent_micros, 0);
    }

    #[test]
    fn the_day_record_is_restored_only_for_its_own_day() {
        let mut b = budget(None, None);
        b.settle(
            TaskId(1),
            &Charge::work("paid/x", "w", Tokens::plain(1_000, 0)),
            5,
        );
        let (state, day) = (b.persisted().clone(), b.today().clone());
        let mut again = budget(None, None);
        again.restore(state.clone(), Some(day.clone()));
        assert_eq!(again.today(), &day);
        let mut stale = budget(None, None);
        stale.restore(state, Some(DaySpend::new(day.day + 1)));
        assert_eq!(stale.today(), &DaySpend::new(day.day));
    }

    #[test]
    fn config_is_checked() {
        let cfg = BudgetConfig {
            reset_hour_utc: 24,
            ..BudgetConfig::default()
        };
        assert!(cfg.validate().unwrap_err().contains("reset_hour_utc"));
        assert!(toml::from_str::<BudgetConfig>("daily_limit = 1").is_err());
    }
}
