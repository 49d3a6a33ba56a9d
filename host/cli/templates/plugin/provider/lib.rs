//! `{{name}}`: a Hypernet model provider plugin. It answers every request itself, with no
//! network and no model: the answer repeats the request's last message. A worker whose
//! `model` starts with `{{name}}/` (in `hypernet.toml`) gets its answers from it.
//!
//! Providers are sans-IO: `prepare` says what to do and the host does it. This one answers
//! `Prepared::Simulated` (the host waits `delay_ms`, then takes the answer). A provider for
//! a real API answers `Prepared::Http` with the request to send instead, and reads the
//! answer in `parse_response` (and, when streaming, `parse_stream_event`); the host's one
//! HTTP client sends it, with its timeouts, retries and streaming. PLUGINS.md in the
//! Hypernet repository describes every method.

use hypernet_plugin_api::provider::{
    Completion, CompletionRequest, Prepared, Provider, ProviderError, ProviderInfo, StopReason,
    Usage,
};
use hypernet_plugin_api::{Host, PluginError};
use serde::Deserialize;

/// The entry's `[plugin.config]` table. `deny_unknown_fields` turns a misspelt key into a
/// load error that names it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The model ids, or prefixes ending in `/`, it answers for.
    #[serde(default = "default_models")]
    models: Vec<String>,
    /// How long the host waits before taking an answer, in milliseconds.
    #[serde(default)]
    delay_ms: u64,
}

fn default_models() -> Vec<String> {
    vec!["{{name}}/".to_owned()]
}

/// The running provider. The host calls it one call at a time, so `&mut self` needs no
/// locks.
struct Echo {
    config: Config,
}

/// A rough token count, for the usage the host records: about four characters a token.
fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

impl Provider for Echo {
    type Config = Config;

    /// Checks beyond the shape of the config; `hypernet plugins check` runs them too.
    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.models.is_empty() || config.models.iter().any(|m| m.trim().is_empty()) {
            return Err(PluginError::invalid(
                "`models` must name at least one model id or prefix, none empty",
            ));
        }
        Ok(())
    }

    fn start(config: Config, _host: Host) -> Result<Self, PluginError> {
        tracing::info!(models = ?config.models, "echo provider ready");
        Ok(Echo { config })
    }

    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            models: self.config.models.clone(),
            // Local models are free: never charged to the budget.
            local: true,
            // Its answers are made up; the host shows them as simulated.
            simulated: true,
        }
    }

    fn prepare(&mut self, request: &CompletionRequest) -> Result<Prepared, ProviderError> {
        let heard = request
            .messages
            .last()
            .map(|m| m.text())
            .unwrap_or_default();
        let text = format!("{{name}} heard: {heard}");
        let system = request.system.as_deref().unwrap_or_default();
        let messages: String = request.messages.iter().map(|m| m.text()).collect();
        let usage = Usage {
            input_tokens: tokens(system) + tokens(&messages),
            output_tokens: tokens(&text),
            ..Usage::default()
        };
        tracing::debug!(model = %request.model, "answered");
        Ok(Prepared::Simulated {
            delay_ms: self.config.delay_ms,
            outcome: Ok(Completion {
                model: request.model.clone(),
                text,
                tool_calls: Vec::new(),
                stop_reason: StopReason::EndTurn,
                usage,
                simulated: true,
            }),
        })
    }
}

// The service, declared next to its code.
hypernet_plugin_api::register_provider!(Echo, "{{name}}");

// Once per library: what the host looks up when it loads the file.
hypernet_plugin_api::export_plugin!();

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::provider::Message;
    use hypernet_plugin_api::testing::TestHost;
    use serde_json::{Value, json};

    /// Starts the provider as the host would: the config checked, then `start`.
    fn start(config: Value) -> Echo {
        let config: Config = serde_json::from_value(config).expect("the config's shape");
        Echo::validate(&config).expect("a valid config");
        Echo::start(config, TestHost::new("{{name}}").host()).expect("it starts")
    }

    #[test]
    fn answers_with_the_last_message() {
        let mut echo = start(json!({}));
        let request = CompletionRequest::new(
            "{{name}}/small",
            vec![Message::user("First"), Message::user("Say hello")],
        );
        let Prepared::Simulated { delay_ms, outcome } = echo.prepare(&request).unwrap() else {
            panic!("a simulated answer");
        };
        let completion = outcome.expect("an answer");
        assert_eq!(delay_ms, 0);
        assert_eq!(completion.text, "{{name}} heard: Say hello");
        assert_eq!(completion.model, "{{name}}/small");
        assert_eq!(completion.stop_reason, StopReason::EndTurn);
        assert!(completion.simulated);
        assert_eq!(completion.usage.input_tokens, tokens("FirstSay hello"));
        assert!(completion.usage.output_tokens > 0);
    }

    #[test]
    fn serves_the_models_of_its_config() {
        let echo = start(json!({}));
        assert_eq!(echo.describe().models, ["{{name}}/"]);
        let echo = start(json!({ "models": ["echo/", "tiny"], "delay_ms": 5 }));
        let info = echo.describe();
        assert_eq!(info.models, ["echo/", "tiny"]);
        assert!(info.local && info.simulated);
    }

    #[test]
    fn refuses_a_config_without_models() {
        let none: Config = serde_json::from_value(json!({ "models": [] })).unwrap();
        assert!(Echo::validate(&none).is_err());
        let misspelt = serde_json::from_value::<Config>(json!({ "model": "x" })).unwrap_err();
        assert!(
            misspelt.to_string().contains("unknown field `model`"),
            "{misspelt}"
        );
    }
}
