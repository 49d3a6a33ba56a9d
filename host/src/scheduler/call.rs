//! One model call: ask the provider plugin to prepare it, then wait out a simulated delay or
//! send the HTTP request with the host's client, and turn the answer into a result.

use crate::plugins::Registry;
use crate::tasks::TaskResult;
use hypernet_plugin_api::provider::{
    Completion, CompletionRequest, HttpResponse, Message, Prepared, ProviderError, ProviderInfo,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Which provider serves which model: the longest matching prefix wins.
#[derive(Debug, Clone, Default)]
pub struct ProviderMap {
    entries: Vec<(String, String, ProviderInfo)>,
}

impl ProviderMap {
    /// Asks every running provider what it serves.
    pub async fn discover(registry: &Registry) -> ProviderMap {
        let mut entries = Vec::new();
        for address in registry.provider_addresses() {
            match registry.query(&address, "describe", Value::Null).await {
                Ok(v) => match serde_json::from_value::<ProviderInfo>(v) {
                    Ok(info) => {
                        for model in &info.models {
                            entries.push((model.clone(), address.clone(), info.clone()));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(provider = %address, error = %e, "provider description does not parse")
                    }
                },
                Err(e) => {
                    tracing::warn!(provider = %address, error = %e, "provider did not describe itself")
                }
            }
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.0.len()));
        ProviderMap { entries }
    }

    /// The provider address for `model`.
    pub fn provider_for(&self, model: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(prefix, _, _)| {
                model == prefix || (prefix.ends_with('/') && model.starts_with(prefix.as_str()))
            })
            .map(|(_, address, _)| address.as_str())
    }
}

/// What the call needs to know.
#[derive(Debug, Clone)]
pub struct CallSpec {
    /// Model id.
    pub model: String,
    /// System prompt.
    pub system: String,
    /// The user message.
    pub prompt: String,
    /// Output token limit.
    pub max_tokens: u32,
}

/// Runs one call to completion; `Err` carries a message for the task's error.
pub async fn run(
    registry: Arc<Registry>,
    providers: Arc<ProviderMap>,
    http: reqwest::Client,
    spec: CallSpec,
    timeout: Duration,
) -> Result<TaskResult, String> {
    match tokio::time::timeout(timeout, run_inner(&registry, &providers, &http, &spec)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the call to {} took longer than {timeout:?}",
            spec.model
        )),
    }
}

async fn run_inner(
    registry: &Registry,
    providers: &ProviderMap,
    http: &reqwest::Client,
    spec: &CallSpec,
) -> Result<TaskResult, String> {
    let provider = providers
        .provider_for(&spec.model)
        .ok_or_else(|| format!("no loaded provider serves model `{}`", spec.model))?;
    let mut request =
        CompletionRequest::new(spec.model.clone(), vec![Message::user(spec.prompt.clone())]);
    request.system = Some(spec.system.clone());
    request.max_tokens = spec.max_tokens;
    let failed =
        |op: &str, e: hypernet_plugin_api::PluginError| format!("provider `{provider}` {op}: {e}");
    let prepared: Result<Prepared, ProviderError> = registry
        .call_typed(provider, "prepare", &request)
        .await
        .map_err(|e| failed("prepare", e))?;
    let completion = match prepared.map_err(|e| e.to_string())? {
        Prepared::Simulated { delay_ms, outcome } => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            outcome.map_err(|e| e.to_string())?
        }
        Prepared::Http { request: req } => {
            let response = send(http, &req).await?;
            let parsed: Result<Completion, ProviderError> = if (200..300).contains(&response.status)
            {
                let args = json!({ "request": request, "response": response });
                registry
                    .call_typed(provider, "parse_response", &args)
                    .await
                    .map_err(|e| failed("parse_response", e))?
            } else {
                let classified: ProviderError = registry
                    .call_typed(provider, "classify_error", &response)
                    .await
                    .map_err(|e| failed("classify_error", e))?;
                Err(classified)
            };
            parsed.map_err(|e| e.to_string())?
        }
    };
    Ok(TaskResult {
        text: completion.text,
        model: completion.model,
        input_tokens: completion.usage.input_tokens
            + completion.usage.cache_read_tokens
            + completion.usage.cache_write_tokens,
        output_tokens: completion.usage.output_tokens,
        cost_micros: 0,
        signals: Vec::new(),
        simulated: completion.simulated,
    })
}

async fn send(
    http: &reqwest::Client,
    req: &hypernet_plugin_api::provider::HttpRequest,
) -> Result<HttpResponse, String> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes())
        .map_err(|e| format!("bad method `{}`: {e}", req.method))?;
    let mut builder = http.request(method, &req.url).body(req.body.clone());
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.map_err(|e| {
        ProviderError::Network {
            message: e.to_string(),
        }
        .to_string()
    })?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response.text().await.map_err(|e| {
        ProviderError::Network {
            message: e.to_string(),
        }
        .to_string()
    })?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let info = ProviderInfo {
            models: vec![],
            local: false,
            simulated: false,
        };
        let map = ProviderMap {
            entries: vec![
                ("sim/fast/".into(), "fast".into(), info.clone()),
                ("sim/".into(), "sim".into(), info.clone()),
                ("gpt-4o".into(), "openai".into(), info),
            ],
        };
        assert_eq!(map.provider_for("sim/fast/x"), Some("fast"));
        assert_eq!(map.provider_for("sim/default"), Some("sim"));
        assert_eq!(map.provider_for("gpt-4o"), Some("openai"));
        assert_eq!(map.provider_for("gpt-4o-mini"), None);
    }
}
