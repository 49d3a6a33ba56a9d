//! `provider-anthropic`: Claude models through the Anthropic Messages API.
//!
//! Sans-IO like every provider: it builds the `POST /v1/messages` request and reads the
//! answer (JSON or server-sent events); the host sends it, times it out and retries it.
//! Requests name models as `<prefix>/<Anthropic model id>`, e.g. `anthropic/claude-sonnet-4-5`;
//! the prefix is stripped on the wire and the answer reports the dated snapshot that served
//! it. The API key is read once, at start, from an environment variable, and appears in no
//! log, error or debug output.
//!
//! ```toml
//! [[plugin]]
//! name = "provider-anthropic"
//! [plugin.config]
//! base_url = "https://api.anthropic.com"  # default; a trailing slash is fine
//! api_key_env = "ANTHROPIC_API_KEY"       # default: where the key is read from
//! prefix = "anthropic"                    # default: serves models "anthropic/…"
//! anthropic_version = "2023-06-01"        # default: the `anthropic-version` header
//! cache_system = true                     # default: cache the system prompt and tools
//! max_tokens_cap = 8192                   # optional: upper bound on any request's max_tokens
//! ```
//!
//! With `cache_system`, the system prompt and the tool list (the stable prefix of every call
//! a worker makes) are marked as prompt-cache breakpoints, so repeated calls are billed at
//! the cache-read rate; the usage reports cache writes and reads separately. When the
//! request marks a stable prefix of its system prompt (`system_cache_prefix`: a worker's
//! documents and identity, before its task), `system` is sent as two text blocks, and only
//! the first, stable one carries the cache breakpoint.
//!
//! Deferrable tasks may go through the Message Batches API (`POST /v1/messages/batches`,
//! polled, results read from the batch's `results_url`), at half the price.

mod batch;
mod errors;
mod parse;
mod wire;

#[cfg(test)]
mod tests;

use hypernet_plugin_api::provider::{
    BatchLimits, BatchOutcome, BatchRequest, BatchStatus, BatchStep, Completion, CompletionRequest,
    HttpRequest, HttpResponse, Prepared, Provider, ProviderError, ProviderInfo, SseEvent,
    StreamDelta,
};
use hypernet_plugin_api::{Host, PluginError};
use serde::Deserialize;

/// The `[config]` table; every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// API root, without `/v1` (default `https://api.anthropic.com`).
    base_url: String,
    /// Name of the environment variable holding the API key (default `ANTHROPIC_API_KEY`).
    api_key_env: String,
    /// Routing prefix: this provider serves the models `<prefix>/…` (default `anthropic`).
    prefix: String,
    /// Value of the `anthropic-version` header (default `2023-06-01`).
    anthropic_version: String,
    /// Mark the system prompt and the last tool as prompt-cache breakpoints (default true).
    cache_system: bool,
    /// Upper bound on the `max_tokens` of any request (default none).
    max_tokens_cap: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: "https://api.anthropic.com".to_owned(),
            api_key_env: "ANTHROPIC_API_KEY".to_owned(),
            prefix: "anthropic".to_owned(),
            anthropic_version: "2023-06-01".to_owned(),
            cache_system: true,
            max_tokens_cap: None,
        }
    }
}

/// The running provider. It holds the API key, so its `Debug` output is written by hand.
struct Anthropic {
    config: Config,
    api_key: String,
}

impl std::fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anthropic")
            .field("config", &self.config)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl Anthropic {
    /// A provider with the key read from `config.api_key_env`; an absent or blank key is a
    /// start failure naming the variable.
    fn new(config: Config, api_key: Option<String>) -> Result<Self, PluginError> {
        let Some(api_key) = api_key.filter(|k| !k.trim().is_empty()) else {
            return Err(PluginError::invalid(format!(
                "environment variable {} is not set; provider-anthropic needs an API key",
                config.api_key_env
            )));
        };
        tracing::info!(
            base_url = %config.base_url,
            prefix = %config.prefix,
            cache_system = config.cache_system,
            "anthropic provider ready"
        );
        Ok(Anthropic { config, api_key })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![
            ("x-api-key".to_owned(), self.api_key.clone()),
            (
                "anthropic-version".to_owned(),
                self.config.anthropic_version.clone(),
            ),
            ("content-type".to_owned(), "application/json".to_owned()),
        ]
    }

    /// A `GET` of `url` with the key and version headers.
    fn get(&self, url: &str) -> HttpRequest {
        let mut headers = self.headers();
        headers.retain(|(name, _)| name != "content-type");
        HttpRequest {
            method: "GET".to_owned(),
            url: url.to_owned(),
            headers,
            body: String::new(),
        }
    }

    /// The Anthropic model id of a routed model name, or why it is not ours.
    fn wire_model<'a>(&self, model: &'a str) -> Result<&'a str, ProviderError> {
        model
            .strip_prefix(self.config.prefix.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ProviderError::BadRequest {
                message: format!(
                    "model `{model}` is not served by provider-anthropic, which expects `{}/<model id>`",
                    self.config.prefix
                ),
            })
    }
}

impl Provider for Anthropic {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.prefix.is_empty() {
            return Err(PluginError::invalid(
                "`prefix` must not be empty (models are routed as `<prefix>/<model id>`)",
            ));
        }
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(PluginError::invalid(format!(
                "`base_url` must start with http:// or https://, got `{}`",
                config.base_url
            )));
        }
        if config.api_key_env.is_empty() {
            return Err(PluginError::invalid(
                "`api_key_env` must name an environment variable",
            ));
        }
        Ok(())
    }

    fn start(config: Config, _host: Host) -> Result<Self, PluginError> {
        let api_key = std::env::var(&config.api_key_env).ok();
        Anthropic::new(config, api_key)
    }

    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            models: vec![format!("{}/", self.config.prefix)],
            local: false,
            simulated: false,
        }
    }

    fn prepare(&mut self, request: &CompletionRequest) -> Result<Prepared, ProviderError> {
        let model = self.wire_model(&request.model)?;
        let body = wire::body(
            request,
            wire::BodyOptions {
                model,
                cache: self.config.cache_system,
                max_tokens_cap: self.config.max_tokens_cap,
            },
        );
        Ok(Prepared::Http {
            request: HttpRequest {
                method: "POST".to_owned(),
                url: self.url("/v1/messages"),
                headers: self.headers(),
                body,
            },
        })
    }

    fn parse_response(
        &mut self,
        _request: &CompletionRequest,
        response: &HttpResponse,
    ) -> Result<Completion, ProviderError> {
        parse::completion(&response.body)
    }

    fn parse_stream_event(&mut self, event: &SseEvent) -> Result<Vec<StreamDelta>, ProviderError> {
        parse::stream_event(event)
    }

    fn list_models(&mut self) -> Option<HttpRequest> {
        Some(self.get(&self.url("/v1/models?limit=1000")))
    }

    /// The ids are returned with the routing prefix, ready to be used as request models.
    fn parse_models(&mut self, response: &HttpResponse) -> Result<Vec<String>, ProviderError> {
        let ids = parse::model_ids(&response.body)?;
        Ok(ids
            .into_iter()
            .map(|id| format!("{}/{id}", self.config.prefix))
            .collect())
    }

    fn classify_error(&self, response: &HttpResponse) -> ProviderError {
        errors::classify_response(response)
    }

    /// A Message Batch takes up to 100,000 requests.
    fn batch_support(&self) -> Option<BatchLimits> {
        Some(BatchLimits {
            max_requests: 100_000,
        })
    }

    fn submit_batch(&mut self, requests: &[BatchRequest]) -> Result<BatchStep, ProviderError> {
        let mut entries = Vec::with_capacity(requests.len());
        for r in requests {
            let mut request = r.request.clone();
            request.stream = false;
            request.tools.clear();
            let model = self.wire_model(&request.model)?;
            let body = wire::body(
                &request,
                wire::BodyOptions {
                    model,
                    cache: self.config.cache_system,
                    max_tokens_cap: self.config.max_tokens_cap,
                },
            );
            let mut params: serde_json::Value =
                serde_json::from_str(&body).map_err(|e| ProviderError::BadRequest {
                    message: format!("the request of `{}` is not JSON: {e}", r.custom_id),
                })?;
            if let Some(params) = params.as_object_mut() {
                params.remove("stream");
            }
            entries.push(serde_json::json!({ "custom_id": r.custom_id, "params": params }));
        }
        Ok(BatchStep::Send {
            request: HttpRequest {
                method: "POST".to_owned(),
                url: self.url("/v1/messages/batches"),
                headers: self.headers(),
                body: serde_json::json!({ "requests": entries }).to_string(),
            },
            state: serde_json::Value::Null,
        })
    }

    fn batch_submitted(
        &mut self,
        _state: &serde_json::Value,
        response: &HttpResponse,
    ) -> Result<BatchStep, ProviderError> {
        Ok(BatchStep::Created {
            batch_id: batch::created_id(response)?,
        })
    }

    fn poll_batch(&mut self, batch_id: &str) -> Result<HttpRequest, ProviderError> {
        Ok(self.get(&self.url(&format!("/v1/messages/batches/{batch_id}"))))
    }

    fn parse_batch_status(
        &mut self,
        response: &HttpResponse,
    ) -> Result<BatchStatus, ProviderError> {
        batch::status(response, |url| self.get(&url))
    }

    fn parse_batch_results(
        &mut self,
        response: &HttpResponse,
    ) -> Result<Vec<BatchOutcome>, ProviderError> {
        batch::results(&response.body)
    }
}

hypernet_plugin_api::register_provider!(Anthropic, "anthropic");
hypernet_plugin_api::export_plugin!();
