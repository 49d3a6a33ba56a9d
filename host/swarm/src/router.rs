//! The model router: which model a task's call goes to, and why. Pure functions over the
//! `[router]` configuration and a task; the scheduler core records every decision on the
//! task (`model`, `route_reason`).
//!
//! Order of decisions (first that applies wins):
//! 1. a pinned fallback model (after a provider-down failure, see [`next_fallback`]);
//! 2. the `rules`, tried in order (a rule names a `model`, or a `tier`: the cheapest model
//!    of that tier among those the configuration names — see [`TierModels`]);
//! 3. local-first: with `local_model` set, simple and moderate tasks go to it, complex
//!    ones to `default_model` (or the worker's model);
//! 4. `default_model`, else the worker's model.
//!
//! Complexity, when the task gives none ([`estimate_complexity`]): score +2 for critical,
//! +1 for high priority; +2 when a tag is one of architecture, security, governance,
//! design, refactor; −1 when a tag is one of docs, formatting, testing, personal-time,
//! automated; +2 for a description over 1000 characters, +1 over 500. A score of 3 or
//! more is complex, 1 or more moderate, else simple.

use crate::budget::prices::{PriceTable, Tier};
use hypernet_llm::CallError;
use hypernet_model::tasks::{Complexity, Task};
use hypernet_plugin_api::Priority;
use hypernet_plugin_api::provider::ProviderError;
use serde::Deserialize;

/// `[router]` in `hypernet.toml`. Every key is optional.
///
/// ```toml
/// [router]
/// default_model = "anthropic/claude-sonnet-4-5"   # default: the worker's model
/// local_model = "lmstudio/qwen2.5-7b"             # default: none (no local-first)
/// fallback = ["openai/gpt-4o-mini", "sim/default"] # default: []
/// rules = [{ if_tags_any = ["security"], min_priority = "high", model = "anthropic/claude-opus-4-1" },
///          { if_tags_any = ["docs"], tier = "budget" }]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// Rules, first match wins.
    pub rules: Vec<Rule>,
    /// Model for complex tasks (and every task when no `local_model` is set); the worker's
    /// model when absent.
    pub default_model: Option<String>,
    /// Local model for simple and moderate tasks (local-first).
    pub local_model: Option<String>,
    /// Models tried in order when a call fails because its provider is down, or when the
    /// chosen model is over budget.
    pub fallback: Vec<String>,
}

/// The models of each tier that a configuration names (workers' models, `default_model`,
/// `local_model`, `fallback` and the rules' models), cheapest first by output, then input
/// price, then name.
pub type TierModels = std::collections::BTreeMap<Tier, Vec<String>>;

impl RouterConfig {
    /// The models of each tier among those named here and `worker_models`, priced by
    /// `prices`; errors name a rule whose tier has none.
    pub fn tier_models<'a>(
        &self,
        prices: &PriceTable,
        worker_models: impl IntoIterator<Item = &'a str>,
    ) -> Result<TierModels, String> {
        let mut named: Vec<&str> = worker_models.into_iter().collect();
        named.extend(self.default_model.as_deref());
        named.extend(self.local_model.as_deref());
        named.extend(self.fallback.iter().map(String::as_str));
        named.extend(self.rules.iter().filter_map(|r| r.model.as_deref()));
        named.sort_unstable();
        named.dedup();
        let mut tiers = TierModels::new();
        for model in named {
            tiers
                .entry(prices.tier(model))
                .or_default()
                .push(model.to_owned());
        }
        for models in tiers.values_mut() {
            models.sort_by(|a, b| {
                let (pa, pb) = (prices.price(a), prices.price(b));
                pa.output_per_mtok
                    .total_cmp(&pb.output_per_mtok)
                    .then(pa.input_per_mtok.total_cmp(&pb.input_per_mtok))
                    .then(a.cmp(b))
            });
        }
        for (i, rule) in self.rules.iter().enumerate() {
            match (&rule.model, rule.tier) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(format!(
                        "`router.rules[{i}]` must name either a `model` or a `tier`, not {}",
                        if rule.model.is_some() {
                            "both"
                        } else {
                            "neither"
                        }
                    ));
                }
                (None, Some(tier)) if !tiers.contains_key(&tier) => {
                    let known: Vec<String> = tiers
                        .iter()
                        .map(|(t, m)| format!("{}: {}", tier_word(*t), m.join(", ")))
                        .collect();
                    return Err(format!(
                        "`router.rules[{i}]` routes to tier `{}`, but no model this configuration names is of that tier (named: {})",
                        tier_word(tier),
                        known.join("; ")
                    ));
                }
                _ => {}
            }
        }
        Ok(tiers)
    }
}

fn tier_word(t: Tier) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// One routing rule. A rule with no condition matches every task.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Matches when the task has at least one of these tags.
    #[serde(default)]
    pub if_tags_any: Vec<String>,
    /// Matches when the task has all of these tags.
    #[serde(default)]
    pub if_tags_all: Vec<String>,
    /// Matches tasks of at least this priority (default low: every task).
    #[serde(default = "lowest")]
    pub min_priority: Priority,
    /// The model to use.
    #[serde(default)]
    pub model: Option<String>,
    /// Or the tier to use: the worker's own model when it is of that tier, else the
    /// cheapest of the tier's models.
    #[serde(default)]
    pub tier: Option<Tier>,
}

fn lowest() -> Priority {
    Priority::Low
}

/// A routing decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The model to call.
    pub model: String,
    /// Why, in words (recorded on the task).
    pub reason: String,
}

impl Rule {
    fn matches(&self, task: &Task) -> bool {
        let has = |t: &String| task.tags.iter().any(|x| x.eq_ignore_ascii_case(t));
        (self.if_tags_any.is_empty() || self.if_tags_any.iter().any(has))
            && self.if_tags_all.iter().all(has)
            && task.priority >= self.min_priority
    }

    fn describe(&self, index: usize) -> String {
        let mut parts = Vec::new();
        if !self.if_tags_any.is_empty() {
            parts.push(format!("tags any [{}]", self.if_tags_any.join(", ")));
        }
        if !self.if_tags_all.is_empty() {
            parts.push(format!("tags all [{}]", self.if_tags_all.join(", ")));
        }
        if self.min_priority != Priority::Low {
            parts.push(format!("priority >= {}", priority_word(self.min_priority)));
        }
        if parts.is_empty() {
            parts.push("matches all".into());
        }
        format!("rule {}: {}", index + 1, parts.join(", "))
    }
}

fn priority_word(p: Priority) -> String {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{p:?}").to_lowercase())
}

fn complexity_word(c: Complexity) -> &'static str {
    match c {
        Complexity::Simple => "simple",
        Complexity::Moderate => "moderate",
        Complexity::Complex => "complex",
    }
}

const HARD_TAGS: [&str; 5] = [
    "architecture",
    "security",
    "governance",
    "design",
    "refactor",
];
const EASY_TAGS: [&str; 5] = [
    "docs",
    "formatting",
    "testing",
    "personal-time",
    "automated",
];

/// Estimates how hard a task is from its priority, tags and description length (see the
/// module documentation for the thresholds).
pub fn estimate_complexity(
    priority: Priority,
    tags: &[String],
    description_len: usize,
) -> Complexity {
    let mut score: i32 = match priority {
        Priority::Critical => 2,
        Priority::High => 1,
        _ => 0,
    };
    let tagged = |set: &[&str]| {
        tags.iter()
            .any(|t| set.iter().any(|s| t.eq_ignore_ascii_case(s)))
    };
    if tagged(&HARD_TAGS) {
        score += 2;
    }
    if tagged(&EASY_TAGS) {
        score -= 1;
    }
    if description_len > 1000 {
        score += 2;
    } else if description_len > 500 {
        score += 1;
    }
    match score {
        s if s >= 3 => Complexity::Complex,
        s if s >= 1 => Complexity::Moderate,
        _ => Complexity::Simple,
    }
}

/// The task's complexity: its own, else the estimate.
pub fn complexity_of(task: &Task) -> Complexity {
    task.complexity.unwrap_or_else(|| {
        estimate_complexity(task.priority, &task.tags, task.description.chars().count())
    })
}

/// Chooses the model for `task` on a worker whose own model is `worker_model`; a tier
/// rule picks among `tiers` (see [`RouterConfig::tier_models`]).
pub fn route(cfg: &RouterConfig, tiers: &TierModels, task: &Task, worker_model: &str) -> Route {
    if let Some((i, rule)) = cfg.rules.iter().enumerate().find(|(_, r)| r.matches(task)) {
        let model = match (&rule.model, rule.tier) {
            (Some(model), _) => Some(model.clone()),
            (None, Some(tier)) => tiers.get(&tier).and_then(|models| {
                models
                    .iter()
                    .find(|m| *m == worker_model)
                    .or(models.first())
                    .cloned()
            }),
            (None, None) => None,
        };
        if let Some(model) = model {
            let mut reason = rule.describe(i);
            if let Some(tier) = rule.tier {
                reason.push_str(&format!(", tier {}", tier_word(tier)));
            }
            return Route { model, reason };
        }
    }
    let default = cfg.default_model.as_deref();
    if let Some(local) = &cfg.local_model {
        let complexity = complexity_of(task);
        return match complexity {
            Complexity::Complex => Route {
                model: default.unwrap_or(worker_model).to_owned(),
                reason: format!(
                    "local-first: complex, to the {}",
                    if default.is_some() {
                        "default model"
                    } else {
                        "worker's model"
                    }
                ),
            },
            c => Route {
                model: local.clone(),
                reason: format!("local-first: {}", complexity_word(c)),
            },
        };
    }
    match default {
        Some(m) => Route {
            model: m.to_owned(),
            reason: "default model".into(),
        },
        None => Route {
            model: worker_model.to_owned(),
            reason: "worker's model".into(),
        },
    }
}

/// Why a failed call means its provider is down (so another model should be tried at
/// once), or `None` for any other failure. Provider errors count only after the
/// executor's own retries, which is how they reach the scheduler.
pub fn provider_down(error: &CallError) -> Option<String> {
    match error {
        CallError::Provider(e) => match e {
            ProviderError::RateLimited { .. } => Some("rate limited".into()),
            ProviderError::Overloaded { .. } => Some("overloaded".into()),
            ProviderError::Server { status, .. } => Some(format!("server error {status}")),
            ProviderError::Network { .. } => Some("network error".into()),
            _ => None,
        },
        CallError::NoProvider { .. } => Some("no provider serves it".into()),
        CallError::Host(_) => None,
    }
}

/// Whether a failed call can never succeed as it is, so its task fails at once instead of
/// being attempted again: the key is refused (401/403), the request is wrong
/// (400/404/413/422), the prompt does not fit the model, or the account's quota or credit
/// balance is spent.
pub fn cannot_succeed(error: &CallError) -> bool {
    matches!(
        error,
        CallError::Provider(
            ProviderError::Auth { .. }
                | ProviderError::BadRequest { .. }
                | ProviderError::ContextTooLong { .. }
                | ProviderError::CreditsExhausted { .. }
        )
    )
}

/// The next model of the fallback chain at or after position `from`, skipping `failed`:
/// its position and name, or `None` when the chain is exhausted.
pub fn next_fallback<'a>(
    cfg: &'a RouterConfig,
    from: usize,
    failed: &str,
) -> Option<(usize, &'a str)> {
    cfg.fallback
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, m)| m.as_str() != failed)
        .map(|(i, m)| (i, m.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_model::tasks::{TaskId, TaskSpec};

    fn task(priority: Priority, tags: &[&str], description: &str) -> Task {
        Task::new(
            TaskId(1),
            TaskSpec {
                title: "t".into(),
                description: description.into(),
                priority,
                tags: tags.iter().map(|t| t.to_string()).collect(),
                ..TaskSpec::default()
            },
            vec![],
            "person",
            3,
            0,
        )
    }

    const NONE: TierModels = TierModels::new();

    fn parse(text: &str) -> RouterConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn rules_first_match_wins_and_are_described() {
        let cfg = parse(
            r#"
            rules = [
              { if_tags_all = ["code", "review"], model = "a/1" },
              { if_tags_any = ["security"], min_priority = "high", model = "a/2" },
              { model = "a/3" },
            ]"#,
        );
        let r = route(&cfg, &NONE, &task(Priority::High, &["security"], ""), "w/m");
        assert_eq!(r.model, "a/2");
        assert_eq!(r.reason, "rule 2: tags any [security], priority >= high");
        let r = route(
            &cfg,
            &NONE,
            &task(Priority::Normal, &["security"], ""),
            "w/m",
        );
        assert_eq!(
            (r.model.as_str(), r.reason.as_str()),
            ("a/3", "rule 3: matches all")
        );
        let r = route(
            &cfg,
            &NONE,
            &task(Priority::Low, &["review", "code"], ""),
            "w/m",
        );
        assert_eq!(r.reason, "rule 1: tags all [code, review]");
        let r = route(&cfg, &NONE, &task(Priority::Low, &["code"], ""), "w/m");
        assert_eq!(r.model, "a/3");
    }

    #[test]
    fn a_tier_rule_takes_the_workers_model_of_that_tier_else_the_cheapest() {
        let cfg = parse(
            r#"
            default_model = "anthropic/claude-sonnet-4-5"
            fallback = ["openai/gpt-4.1-mini", "openai/gpt-4o-mini"]
            rules = [{ if_tags_any = ["docs"], tier = "budget" },
                     { if_tags_any = ["urgent"], tier = "premium" }]"#,
        );
        let prices = PriceTable::new(&Default::default());
        let tiers = cfg
            .tier_models(&prices, ["anthropic/claude-opus-4-1", "sim/default"])
            .unwrap();
        assert_eq!(
            tiers[&Tier::Budget],
            ["openai/gpt-4o-mini", "openai/gpt-4.1-mini"],
            "cheapest first"
        );
        let docs = task(Priority::Normal, &["docs"], "");
        let r = route(&cfg, &tiers, &docs, "sim/default");
        assert_eq!(
            (r.model.as_str(), r.reason.as_str()),
            ("openai/gpt-4o-mini", "rule 1: tags any [docs], tier budget")
        );
        assert_eq!(
            route(&cfg, &tiers, &docs, "openai/gpt-4.1-mini").model,
            "openai/gpt-4.1-mini",
            "the worker's own model when it is of the tier"
        );
        let urgent = task(Priority::Normal, &["urgent"], "");
        assert_eq!(
            route(&cfg, &tiers, &urgent, "sim/default").model,
            "anthropic/claude-opus-4-1"
        );
        assert_eq!(
            route(
                &cfg,
                &tiers,
                &task(Priority::Normal, &[], ""),
                "sim/default"
            )
            .model,
            "anthropic/claude-sonnet-4-5"
        );
    }

    #[test]
    fn a_tier_without_a_named_model_or_a_rule_without_a_target_is_refused() {
        let prices = PriceTable::new(&Default::default());
        let cfg = parse(r#"rules = [{ tier = "premium" }]"#);
        let err = cfg
            .tier_models(&prices, ["openai/gpt-4o-mini"])
            .unwrap_err();
        assert!(
            err.contains("router.rules[0]")
                && err.contains("premium")
                && err.contains("budget: openai/gpt-4o-mini"),
            "{err}"
        );
        let both = parse(r#"rules = [{ tier = "budget", model = "x/y" }]"#);
        assert!(
            both.tier_models(&prices, [])
                .unwrap_err()
                .contains("not both")
        );
        let neither = parse(r#"rules = [{ if_tags_any = ["x"] }]"#);
        assert!(
            neither
                .tier_models(&prices, [])
                .unwrap_err()
                .contains("not neither")
        );
        assert!(toml::from_str::<RouterConfig>(r#"rules = [{ tier = "cheap" }]"#).is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<RouterConfig>("rules = [{ if_tag = [\"x\"], model = \"m\" }]")
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `if_tag`"), "{err}");
    }

    #[test]
    fn complexity_follows_the_score() {
        let e = |p, tags: &[&str], len| {
            estimate_complexity(
                p,
                &tags.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                len,
            )
        };
        assert_eq!(e(Priority::Normal, &[], 0), Complexity::Simple);
        assert_eq!(e(Priority::High, &[], 0), Complexity::Moderate);
        assert_eq!(e(Priority::Critical, &["security"], 0), Complexity::Complex);
        assert_eq!(e(Priority::High, &["design"], 0), Complexity::Complex);
        assert_eq!(e(Priority::High, &["docs"], 0), Complexity::Simple);
        assert_eq!(e(Priority::Normal, &[], 501), Complexity::Moderate);
        assert_eq!(e(Priority::Normal, &[], 500), Complexity::Simple);
        assert_eq!(e(Priority::High, &[], 1001), Complexity::Complex);
        let mut t = task(Priority::Low, &[], "");
        t.complexity = Some(Complexity::Complex);
        assert_eq!(complexity_of(&t), Complexity::Complex);
    }

    #[test]
    fn local_first_sends_only_complex_tasks_away() {
        let cfg = parse("local_model = \"lmstudio/q\"\ndefault_model = \"anthropic/s\"");
        let r = route(&cfg, &NONE, &task(Priority::Normal, &[], ""), "w/m");
        assert_eq!(
            (r.model.as_str(), r.reason.as_str()),
            ("lmstudio/q", "local-first: simple")
        );
        let r = route(&cfg, &NONE, &task(Priority::High, &[], ""), "w/m");
        assert_eq!(r.reason, "local-first: moderate");
        let r = route(
            &cfg,
            &NONE,
            &task(Priority::Critical, &["architecture"], ""),
            "w/m",
        );
        assert_eq!(r.model, "anthropic/s");
        let cfg = parse("local_model = \"lmstudio/q\"");
        let r = route(
            &cfg,
            &NONE,
            &task(Priority::Critical, &["architecture"], ""),
            "w/m",
        );
        assert_eq!(r.model, "w/m");
        let r = route(
            &RouterConfig::default(),
            &NONE,
            &task(Priority::Low, &[], ""),
            "w/m",
        );
        assert_eq!(
            (r.model.as_str(), r.reason.as_str()),
            ("w/m", "worker's model")
        );
    }

    #[test]
    fn refused_requests_cannot_succeed_and_passing_trouble_can() {
        let provider = |e: ProviderError| CallError::Provider(e);
        let message = || "refused".to_owned();
        for refused in [
            ProviderError::Auth { message: message() },
            ProviderError::BadRequest { message: message() },
            ProviderError::ContextTooLong { message: message() },
            ProviderError::CreditsExhausted { message: message() },
        ] {
            assert!(cannot_succeed(&provider(refused.clone())), "{refused}");
        }
        for passing in [
            provider(ProviderError::RateLimited {
                message: message(),
                retry_after_ms: None,
            }),
            provider(ProviderError::Server {
                status: 500,
                message: message(),
            }),
            provider(ProviderError::Network { message: message() }),
            provider(ProviderError::Malformed { message: message() }),
            CallError::Host("timed out".into()),
        ] {
            assert!(!cannot_succeed(&passing), "{passing}");
        }
    }

    #[test]
    fn fallback_walks_the_chain_for_provider_down_errors_only() {
        let cfg = parse("fallback = [\"a/1\", \"b/2\"]");
        assert_eq!(next_fallback(&cfg, 0, "x/0"), Some((0, "a/1")));
        assert_eq!(next_fallback(&cfg, 0, "a/1"), Some((1, "b/2")));
        assert_eq!(next_fallback(&cfg, 2, "a/1"), None);
        let down = CallError::Provider(ProviderError::Overloaded {
            message: "busy".into(),
            retry_after_ms: None,
        });
        assert_eq!(provider_down(&down).as_deref(), Some("overloaded"));
        let auth = CallError::Provider(ProviderError::Auth {
            message: "no".into(),
        });
        assert_eq!(provider_down(&auth), None);
        let host = CallError::NoProvider {
            model: "q/x".into(),
        };
        assert_eq!(
            provider_down(&host).as_deref(),
            Some("no provider serves it")
        );
        assert_eq!(provider_down(&CallError::Host("timeout".into())), None);
    }
}
