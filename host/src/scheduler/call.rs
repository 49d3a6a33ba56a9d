//! One model call: ask the provider plugin to prepare it (possibly ahead of time, for a
//! reserved call), then wait out a simulated delay or send the HTTP request with the host's
//! client, and turn the answer into a result.

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

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The provider's answer, classified (after any retries).
    #[error("{0}")]
    Provider(ProviderError),
    /// Anything else: no provider for the model, a plugin failure, a timeout.
    #[error("{0}")]
    Host(String),
}

impl From<String> for CallError {
    fn from(message: String) -> Self {
        CallError::Host(message)
    }
}

impl From<ProviderError> for CallError {
    fn from(e: ProviderError) -> Self {
        CallError::Provider(e)
    }
}

/// What the call needs to know.
#[derive(Debug, Clone, Default)]
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

/// A call its provider has prepared: ready to send (or to simulate).
#[derive(Debug, Clone)]
pub struct PreparedCall {
    provider: String,
    request: CompletionRequest,
    prepared: Prepared,
}

/// Runs one call to completion, preparing it first unless `prepared` is given; `Err`
/// carries a message for the task's error.
pub async fn run(
    registry: Arc<Registry>,
    providers: Arc<ProviderMap>,
    http: reqwest::Client,
    spec: CallSpec,
    prepared: Option<PreparedCall>,
    timeout: Duration,
) -> Result<TaskResult, CallError> {
    let call = async {
        let prepared = match prepared {
            Some(p) => p,
            None => prepare(&registry, &providers, &spec).await?,
        };
        execute(&registry, &http, prepared).await
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result,
        Err(_) => Err(CallError::Host(format!(
            "the call to {} took longer than {timeout:?}",
            spec.model
        ))),
    }
}

fn plugin_failed(provider: &str, op: &str, e: hypernet_plugin_api::PluginError) -> String {
    format!("provider `{provider}` {op}: {e}")
}

/// Asks the provider serving the model to turn the call into a request.
pub async fn prepare(
    registry: &Registry,
    providers: &ProviderMap,
    spec: &CallSpec,
) -> Result<PreparedCall, CallError> {
    let provider = providers
        .provider_for(&spec.model)
        .ok_or_else(|| format!("no loaded provider serves model `{}`", spec.model))?;
    let mut request =
        CompletionRequest::new(spec.model.clone(), vec![Message::user(spec.prompt.clone())]);
    request.system = Some(spec.system.clone());
    request.max_tokens = spec.max_tokens;
    let prepared: Result<Prepared, ProviderError> = registry
        .call_typed(provider, "prepare", &request)
        .await
        .map_err(|e| plugin_failed(provider, "prepare", e))?;
    Ok(PreparedCall {
        provider: provider.to_owned(),
        request,
        prepared: prepared?,
    })
}

/// Sends a prepared call (or waits out its simulated latency) and reads the answer.
async fn execute(
    registry: &Registry,
    http: &reqwest::Client,
    call: PreparedCall,
) -> Result<TaskResult, CallError> {
    let PreparedCall {
        provider,
        request,
        prepared,
    } = call;
    let completion = match prepared {
        Prepared::Simulated { delay_ms, outcome } => {
            super::precise_sleep::sleep(Duration::from_millis(delay_ms)).await;
            outcome?
        }
        Prepared::Http { request: req } => {
            let response = send(http, &req).await?;
            let parsed: Result<Completion, ProviderError> = if (200..300).contains(&response.status)
            {
                let args = json!({ "request": request, "response": response });
                registry
                    .call_typed(&provider, "parse_response", &args)
                    .await
                    .map_err(|e| plugin_failed(&provider, "parse_response", e))?
            } else {
                let classified: ProviderError = registry
                    .call_typed(&provider, "classify_error", &response)
                    .await
                    .map_err(|e| plugin_failed(&provider, "classify_error", e))?;
                Err(classified)
            };
            parsed?
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
