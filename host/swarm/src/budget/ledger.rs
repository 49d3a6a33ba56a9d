//! What one call is charged and where the money went: the tokens of a call (with its
//! cache reads and writes), the category its cost falls in, the savings it made, and the
//! spend of one budget day by model, worker and category (one stored record per day,
//! read back by `hypernet cost`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The tokens of one call. `input` counts every prompt token, cached or not;
/// `cache_read` and `cache_write` are the parts of it read from and written to the
/// provider's prompt cache, priced at their own rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Prompt tokens, cached or not.
    pub input: u64,
    /// Answer tokens.
    pub output: u64,
    /// Prompt tokens read from the cache.
    pub cache_read: u64,
    /// Prompt tokens written to the cache.
    pub cache_write: u64,
}

impl Tokens {
    /// Plain input and output, nothing cached.
    pub fn plain(input: u64, output: u64) -> Tokens {
        Tokens {
            input,
            output,
            ..Tokens::default()
        }
    }

    /// The tokens a provider reported for one call (its uncached input, cache reads and
    /// writes added up to the prompt).
    pub fn of_call(u: &hypernet_plugin_api::provider::Usage) -> Tokens {
        Tokens {
            input: u.input_tokens + u.cache_read_tokens + u.cache_write_tokens,
            output: u.output_tokens,
            cache_read: u.cache_read_tokens,
            cache_write: u.cache_write_tokens,
        }
    }

    /// The tokens of every call of a task's answer.
    pub fn of_result(result: &hypernet_model::tasks::TaskResult) -> Tokens {
        Tokens {
            input: result.input_tokens,
            output: result.output_tokens,
            cache_read: result.cache_read_tokens,
            cache_write: result.cache_write_tokens,
        }
    }

    /// Prompt tokens neither read from nor written to the cache.
    pub fn uncached(&self) -> u64 {
        self.input
            .saturating_sub(self.cache_read)
            .saturating_sub(self.cache_write)
    }

    /// `self` less `earlier` (what earlier calls of a loop were already charged).
    pub fn minus(&self, earlier: &Tokens) -> Tokens {
        Tokens {
            input: self.input.saturating_sub(earlier.input),
            output: self.output.saturating_sub(earlier.output),
            cache_read: self.cache_read.saturating_sub(earlier.cache_read),
            cache_write: self.cache_write.saturating_sub(earlier.cache_write),
        }
    }

    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &Tokens) {
        self.input += other.input;
        self.output += other.output;
        self.cache_read += other.cache_read;
        self.cache_write += other.cache_write;
    }
}

/// Where a call's money goes in the report and the targets of `[budget.targets]`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The identity prompt sent with every call (its input tokens).
    Identity,
    /// Tasks: everything of a call but its identity prompt.
    Work,
    /// Tasks of a worker's personal time (tagged `personal-time`).
    Personal,
    /// Identity boots (a worker reading its identity documents).
    Boot,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 4] = [
        Category::Identity,
        Category::Work,
        Category::Personal,
        Category::Boot,
    ];

    /// Its name in configuration and reports.
    pub fn name(self) -> &'static str {
        match self {
            Category::Identity => "identity",
            Category::Work => "work",
            Category::Personal => "personal",
            Category::Boot => "boot",
        }
    }
}

/// What a saving came from.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Saving {
    /// A compact identity prompt sent instead of the full one.
    CompactPrompts,
    /// Prompt tokens read from the provider's cache (less what writing it cost extra).
    Caching,
    /// Calls routed to a free local model instead of the paid one they would have used.
    LocalRouting,
    /// Several tasks answered by one call.
    Batching,
    /// Calls made through a provider's batch API at its discount.
    BatchApi,
}

impl Saving {
    /// Every kind, in report order.
    pub const ALL: [Saving; 5] = [
        Saving::CompactPrompts,
        Saving::Caching,
        Saving::LocalRouting,
        Saving::Batching,
        Saving::BatchApi,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Saving::CompactPrompts => "compact_prompts",
            Saving::Caching => "caching",
            Saving::LocalRouting => "local_routing",
            Saving::Batching => "batching",
            Saving::BatchApi => "batch_api",
        }
    }
}

/// What the scheduler knows of a call beyond its tokens, for the categories and savings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallShape {
    /// Prompt tokens of the identity part of the system prompt.
    pub identity_tokens: u64,
    /// Prompt tokens a full identity prompt would have added (a compact one was sent).
    pub compact_saved_tokens: u64,
}

/// One call to charge.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    /// The model that answered.
    pub model: &'a str,
    /// The worker that called.
    pub worker: &'a str,
    /// Its tokens.
    pub tokens: Tokens,
    /// Where its cost goes (the identity part of a work or personal call is split off by
    /// its `shape`).
    pub category: Category,
    /// The identity prompt's size and what a compact prompt saved.
    pub shape: CallShape,
    /// The paid model the call would have gone to had it not been routed to a free local
    /// one (for the local-routing saving).
    pub instead_of: Option<&'a str>,
    /// Made through a provider's batch API: charged at half price.
    pub batch_api: bool,
    /// The task's share of a call several tasks shared (see
    /// [`crate::scheduler::batching`]): charged as given, so the shares of one call add up
    /// to exactly what it cost.
    pub share: Option<Share>,
}

/// A task's part of a call several tasks shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// Its part of the call's cost, in micro-dollars.
    pub cost_micros: u64,
    /// Whether it counts the call itself (one share of each call does).
    pub counts_call: bool,
    /// How many tasks shared the call (its identity prompt was sent once for all).
    pub of: u64,
}

impl<'a> Charge<'a> {
    /// A work call of `model` by `worker` with nothing else known.
    pub fn work(model: &'a str, worker: &'a str, tokens: Tokens) -> Charge<'a> {
        Charge {
            model,
            worker,
            tokens,
            category: Category::Work,
            shape: CallShape::default(),
            instead_of: None,
            batch_api: false,
            share: None,
        }
    }
}

/// Tokens and spend of one model or worker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    /// Calls settled.
    pub calls: u64,
    /// Input tokens (cached or not).
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from a prompt cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Input tokens written to a prompt cache.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Spend in micro-dollars.
    pub cost_micros: u64,
}

impl Usage {
    /// Counts one call of `tokens` costing `cost`.
    pub fn add(&mut self, tokens: &Tokens, cost: u64) {
        self.add_part(tokens, cost, 1);
    }

    /// Counts `tokens` costing `cost`, part of `calls` calls (0 for a task's share of a
    /// call another share counts).
    pub fn add_part(&mut self, tokens: &Tokens, cost: u64, calls: u64) {
        self.calls += calls;
        self.input_tokens += tokens.input;
        self.output_tokens += tokens.output;
        self.cache_read_tokens += tokens.cache_read;
        self.cache_write_tokens += tokens.cache_write;
        self.cost_micros += cost;
    }

    /// Adds `other`'s calls, tokens and spend.
    pub fn merge(&mut self, other: &Usage) {
        self.calls += other.calls;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
        self.cost_micros += other.cost_micros;
    }
}

/// The spend of one budget day: by model, worker and category, and what was saved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DaySpend {
    /// The budget day (days since the epoch, shifted by the reset hour).
    pub day: u64,
    /// Spend in micro-dollars.
    pub spent_micros: u64,
    /// By model.
    pub per_model: BTreeMap<String, Usage>,
    /// By worker.
    pub per_worker: BTreeMap<String, Usage>,
    /// Micro-dollars by category.
    pub per_category: BTreeMap<Category, u64>,
    /// Micro-dollars saved, by what saved them (caching can be negative: writing a
    /// cache entry costs more than sending its tokens plain, until it is read).
    pub savings: BTreeMap<Saving, i64>,
}

impl DaySpend {
    /// An empty day.
    pub fn new(day: u64) -> DaySpend {
        DaySpend {
            day,
            ..DaySpend::default()
        }
    }

    /// Micro-dollars spent in `category`.
    pub fn category(&self, category: Category) -> u64 {
        self.per_category.get(&category).copied().unwrap_or(0)
    }

    /// Micro-dollars saved by `kind`.
    pub fn saved(&self, kind: Saving) -> i64 {
        self.savings.get(&kind).copied().unwrap_or(0)
    }

    pub(super) fn save(&mut self, kind: Saving, micros: u64) {
        self.save_signed(kind, micros as f64, false);
    }

    /// Books a saving that may be negative; `halved` for a call at a batch API's price.
    pub(super) fn save_signed(&mut self, kind: Saving, micros: f64, halved: bool) {
        let m = if halved { micros / 2.0 } else { micros }.round() as i64;
        if m != 0 {
            *self.savings.entry(kind).or_default() += m;
        }
    }

    pub(super) fn spend(&mut self, category: Category, micros: u64) {
        if micros > 0 {
            *self.per_category.entry(category).or_default() += micros;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_into_cached_and_uncached_and_subtract() {
        let t = Tokens {
            input: 1000,
            output: 50,
            cache_read: 600,
            cache_write: 300,
        };
        assert_eq!(t.uncached(), 100);
        let earlier = Tokens {
            input: 400,
            output: 10,
            cache_read: 300,
            cache_write: 0,
        };
        assert_eq!(
            t.minus(&earlier),
            Tokens {
                input: 600,
                output: 40,
                cache_read: 300,
                cache_write: 300
            }
        );
        let mut sum = earlier;
        sum.add(&t.minus(&earlier));
        assert_eq!(sum, t);
    }

    #[test]
    fn a_stored_day_reads_back_with_its_maps_keyed_by_name() {
        let mut d = DaySpend::new(7);
        d.spend(Category::Identity, 10);
        d.save(Saving::Caching, 5);
        d.save(Saving::Batching, 0);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["per_category"]["identity"], 10);
        assert_eq!(json["savings"], serde_json::json!({"caching": 5}));
        assert_eq!(serde_json::from_value::<DaySpend>(json).unwrap(), d);
    }
}
