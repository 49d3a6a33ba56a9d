//! What models cost: the price table (built-in prices with `[budget.prices]` over them,
//! the longest model-name prefix winning), each model's tier, and the estimate of a call
//! before it is made (`hypernet cost estimate`, `GET /api/cost/estimate`).

use super::{Price, default_prices, is_local};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A model's price class, from its output price (what a long answer costs).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Runs on this machine, or costs nothing.
    Local,
    /// At most [`BUDGET_MAX`] USD per million output tokens (gpt-4o-mini, gpt-4.1-mini).
    Budget,
    /// At most [`STANDARD_MAX`] (Claude Sonnet and Haiku, gpt-4o, o3).
    Standard,
    /// Above that (Claude Opus), and any paid model without a price.
    Premium,
}

/// The highest output price of a budget model, USD per million tokens.
pub const BUDGET_MAX: f64 = 2.0;
/// The highest output price of a standard model, USD per million tokens.
pub const STANDARD_MAX: f64 = 20.0;

impl Tier {
    /// The tier of a model priced `price`.
    pub fn of(price: &Price) -> Tier {
        let out = price.output_per_mtok;
        if out <= 0.0 && price.input_per_mtok <= 0.0 {
            Tier::Local
        } else if out <= BUDGET_MAX {
            Tier::Budget
        } else if out <= STANDARD_MAX {
            Tier::Standard
        } else {
            Tier::Premium
        }
    }
}

/// The price of a call, before it is made.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Estimate {
    /// The model.
    pub model: String,
    /// Its tier.
    pub tier: Tier,
    /// Where its price comes from: the prefix of the price table that matched, `local`,
    /// or `unknown` (a paid model without a price: charged at the highest built-in price).
    pub priced_as: String,
    /// USD per million input tokens.
    pub input_per_mtok: f64,
    /// USD per million output tokens.
    pub output_per_mtok: f64,
    /// Input tokens estimated.
    pub input_tokens: u64,
    /// Output tokens estimated.
    pub output_tokens: u64,
    /// The cost, micro-dollars (rounded up, as calls are charged).
    pub cost_micros: u64,
}

/// Prices by model-name prefix, longest first.
#[derive(Debug, Clone)]
pub struct PriceTable {
    entries: Vec<(String, Price)>,
}

impl PriceTable {
    /// The built-in prices with `configured` added or replacing them.
    pub fn new(configured: &BTreeMap<String, Price>) -> PriceTable {
        let mut entries: Vec<(String, Price)> = default_prices().into_iter().collect();
        for (k, v) in configured {
            entries.retain(|(p, _)| p != k);
            entries.push((k.clone(), *v));
        }
        entries.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        PriceTable { entries }
    }

    /// The price of `model` and where it comes from: configured or built-in by longest
    /// prefix; zero for local models; the highest built-in price for an unknown paid model.
    pub fn lookup(&self, model: &str) -> (Price, String) {
        if let Some((prefix, p)) = self
            .entries
            .iter()
            .find(|(k, _)| model.starts_with(k.as_str()))
        {
            return (*p, prefix.clone());
        }
        if is_local(model) {
            let free = Price::new(0.0, 0.0);
            return (free, "local".into());
        }
        let highest = default_prices()
            .into_values()
            .max_by(|a, b| a.output_per_mtok.total_cmp(&b.output_per_mtok))
            .expect("built-in prices exist");
        (highest, "unknown".into())
    }

    /// The price of `model` (see [`PriceTable::lookup`]).
    pub fn price(&self, model: &str) -> Price {
        self.lookup(model).0
    }

    /// The tier of `model`.
    pub fn tier(&self, model: &str) -> Tier {
        Tier::of(&self.price(model))
    }

    /// What a call to `model` with `input_tokens` in and `output_tokens` out costs.
    pub fn estimate(&self, model: &str, input_tokens: u64, output_tokens: u64) -> Estimate {
        let (price, priced_as) = self.lookup(model);
        Estimate {
            model: model.to_owned(),
            tier: Tier::of(&price),
            priced_as,
            input_per_mtok: price.input_per_mtok,
            output_per_mtok: price.output_per_mtok,
            input_tokens,
            output_tokens,
            cost_micros: price.cost_micros(input_tokens, output_tokens),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> PriceTable {
        let configured = BTreeMap::from([("paid/".to_owned(), Price::new(1.0, 4.0))]);
        PriceTable::new(&configured)
    }

    #[test]
    fn models_fall_in_tiers_by_their_output_price() {
        let t = table();
        for (model, tier) in [
            ("sim/default", Tier::Local),
            ("lmstudio/qwen3-8b", Tier::Local),
            ("openai/gpt-4o-mini", Tier::Budget),
            ("openai/gpt-4.1-mini", Tier::Budget),
            ("anthropic/claude-sonnet-4-5", Tier::Standard),
            ("openai/gpt-4o", Tier::Standard),
            ("paid/x", Tier::Standard),
            ("anthropic/claude-opus-4-1", Tier::Premium),
            ("mystery/x", Tier::Premium),
        ] {
            assert_eq!(t.tier(model), tier, "{model}");
        }
    }

    #[test]
    fn an_estimate_names_its_price_and_rounds_up_as_calls_are_charged() {
        let t = table();
        let e = t.estimate("openai/gpt-4o-mini", 10_000, 1_000);
        assert_eq!(e.priced_as, "openai/gpt-4o-mini");
        // 10,000 × $0.15 + 1,000 × $0.60 per million: $0.0021.
        assert_eq!(e.cost_micros, 2_100);
        assert_eq!(
            t.estimate("openai/gpt-4o-mini", 1, 0).cost_micros,
            1,
            "rounded up"
        );
        assert_eq!(t.estimate("sim/default", 5_000, 5_000).priced_as, "local");
        let unknown = t.estimate("mystery/x", 1_000_000, 0);
        assert_eq!(
            (unknown.priced_as.as_str(), unknown.cost_micros),
            ("unknown", 15_000_000)
        );
    }
}
