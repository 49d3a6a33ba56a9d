//! `[http]`: the settings of the host's HTTP executor (documented with defaults in
//! `hypernet_swarm::config` and `docs/configuration.md`).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// `[http]`: timeouts, retries, concurrency limits and streaming of model calls.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Longest wait for one attempt's response headers, then for each chunk of its body.
    pub request_timeout_ms: u64,
    /// Requests in flight per provider, for providers not named in `max_concurrent_for`.
    pub max_concurrent: usize,
    /// Per-provider limits, keyed by provider address (plugin name, or `plugin:service`).
    pub max_concurrent_for: BTreeMap<String, usize>,
    /// Retries of a retryable failure before the error is returned.
    pub max_retries: u32,
    /// Ceiling of the first backoff; doubled per retry, then a uniform random wait below it.
    pub retry_base_ms: u64,
    /// Largest wait between attempts; a server asking for longer is not retried.
    pub retry_max_ms: u64,
    /// Whether providers are asked for server-sent events (a simulated one then hands its
    /// text out piece by piece when it streams).
    pub stream: bool,
    /// Longest wait for a provider's model list at start-up.
    pub list_models_timeout_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            request_timeout_ms: 120_000,
            max_concurrent: 16,
            max_concurrent_for: BTreeMap::new(),
            max_retries: 4,
            retry_base_ms: 500,
            retry_max_ms: 30_000,
            stream: true,
            list_models_timeout_ms: 5_000,
        }
    }
}

impl HttpConfig {
    /// The per-attempt timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The concurrency limit of `provider` (at least 1).
    pub fn limit_for(&self, provider: &str) -> usize {
        self.max_concurrent_for
            .get(provider)
            .copied()
            .unwrap_or(self.max_concurrent)
            .max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_per_provider_limits() {
        let c: HttpConfig = toml::from_str(
            "max_retries = 2\n[max_concurrent_for]\nprovider-openai = 3\nzero = 0\n",
        )
        .unwrap();
        assert_eq!(c.max_retries, 2);
        assert_eq!(c.request_timeout_ms, 120_000);
        assert_eq!(c.limit_for("provider-openai"), 3);
        assert_eq!(c.limit_for("zero"), 1);
        assert_eq!(c.limit_for("other"), 16);
        assert!(toml::from_str::<HttpConfig>("retries = 2").is_err());
    }
}
