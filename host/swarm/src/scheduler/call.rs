//! One model call: ask the provider plugin to prepare it (possibly ahead of time, for a
//! reserved call), then wait out a simulated delay or hand the HTTP request to the host's
//! [`HttpExecutor`] (retries, streaming, limits), and turn the answer into a result. A
//! streamed answer's text is announced as it arrives (see [`super::output`]).

use super::output::{Origin, TaskOutput};
use super::plugin_provider::RegistryProvider;
use super::simulated::{self, Simulation};
use hypernet_engine::Registry;
use hypernet_llm::{CallError, HttpExecutor, TextSink};
use hypernet_model::tasks::TaskResult;
use hypernet_plugin_api::protocol::provider::{self as ops, Op};
use hypernet_plugin_api::provider::{
    CompletionRequest, HttpRequest, Message, Prepared, ProviderError, ProviderInfo,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Which provider serves which model: the longest matching prefix wins.
#[derive(Debug, Clone, Default)]
pub struct ProviderMap {
    entries: Vec<(String, String, ProviderInfo)>,
    /// Model ids each provider's server listed at discovery, by provider address.
    listed: BTreeMap<String, Vec<String>>,
    /// Whether real providers are asked to stream.
    stream: bool,
}

impl ProviderMap {
    /// Asks every running provider what it serves, and the servers of those that can tell
    /// which models they offer (a failure there is only a warning).
    pub async fn discover(registry: &Registry, http: &HttpExecutor) -> ProviderMap {
        let mut entries = Vec::new();
        let addresses = registry.provider_addresses();
        // Concurrently: one unreachable server must not hold up the others' listings.
        let listings = futures_util::future::join_all(
            addresses.iter().map(|a| list_models(registry, http, a)),
        )
        .await;
        let listed: BTreeMap<String, Vec<String>> = addresses
            .iter()
            .cloned()
            .zip(listings)
            .filter_map(|(address, models)| Some((address, models?)))
            .collect();
        for address in addresses {
            match registry
                .query(&address, Op::Describe.name(), Value::Null)
                .await
            {
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
        ProviderMap {
            entries,
            listed,
            stream: http.config().stream,
        }
    }

    /// The provider address for `model`.
    pub fn provider_for(&self, model: &str) -> Option<&str> {
        self.entry_for(model)
            .map(|(_, address, _)| address.as_str())
    }

    fn entry_for(&self, model: &str) -> Option<&(String, String, ProviderInfo)> {
        self.entries.iter().find(|(prefix, _, _)| {
            model == prefix || (prefix.ends_with('/') && model.starts_with(prefix.as_str()))
        })
    }

    /// The model names and prefixes the providers serve.
    pub fn prefixes(&self) -> Vec<String> {
        let mut out: Vec<String> = self.entries.iter().map(|(p, _, _)| p.clone()).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The model ids `provider`'s server listed at discovery, if it was asked and answered.
    pub fn listed_models(&self, provider: &str) -> Option<&[String]> {
        self.listed.get(provider).map(Vec::as_slice)
    }
}

/// Asks one provider for its model-listing request, sends it once with a short timeout and
/// has the provider read the ids; `None` (with a warning) when anything fails.
async fn list_models(
    registry: &Registry,
    http: &HttpExecutor,
    address: &str,
) -> Option<Vec<String>> {
    let request: Option<HttpRequest> = match registry
        .provider_call::<ops::ListModels>(address, &())
        .await
    {
        Ok(request) => request,
        Err(e) => {
            tracing::warn!(provider = %address, error = %e, "provider cannot list its models");
            return None;
        }
    };
    let timeout = Duration::from_millis(http.config().list_models_timeout_ms);
    let response = match http.send_once(&request?, timeout).await {
        Ok(r) if (200..300).contains(&r.status) => r,
        Ok(r) => {
            tracing::warn!(provider = %address, status = r.status, "model listing refused");
            return None;
        }
        Err(e) => {
            tracing::warn!(provider = %address, error = %e, "model listing failed");
            return None;
        }
    };
    let parsed = registry
        .provider_call::<ops::ParseModels>(address, &response)
        .await;
    match parsed {
        Ok(Ok(models)) => {
            tracing::info!(provider = %address, count = models.len(), models = ?models, "models listed");
            Some(models)
        }
        Ok(Err(e)) => {
            tracing::warn!(provider = %address, error = %e, "model listing does not parse");
            None
        }
        Err(e) => {
            tracing::warn!(provider = %address, error = %e, "provider could not read its model listing");
            None
        }
    }
}

/// What the call needs to know.
#[derive(Debug, Clone, Default)]
pub struct CallSpec {
    /// Model id.
    pub model: String,
    /// System prompt.
    pub system: String,
    /// Bytes of `system` that stay the same from call to call (0: none), cacheable.
    pub system_cache_prefix: usize,
    /// The user message.
    pub prompt: String,
    /// Output token limit.
    pub max_tokens: u32,
    /// Tools offered natively (empty for single-turn calls and fenced-tool models).
    pub tools: Arc<[hypernet_plugin_api::provider::ToolSpec]>,
    /// How the task runs beyond its first call (see [`super::exec`]).
    pub exec: Option<super::exec::ExecSpec>,
}

/// A call its provider has prepared: ready to send (or to simulate).
#[derive(Debug, Clone)]
pub struct PreparedCall {
    provider: String,
    request: CompletionRequest,
    prepared: Prepared,
}

/// Runs one call to completion, preparing it first unless `prepared` is given; `Err`
/// carries a message for the task's error. A streamed answer's text is announced as
/// `origin`'s output, when given.
pub async fn run(
    registry: Arc<Registry>,
    providers: Arc<ProviderMap>,
    http: HttpExecutor,
    spec: CallSpec,
    prepared: Option<PreparedCall>,
    timeout: Duration,
    origin: Option<&Origin>,
) -> Result<TaskResult, CallError> {
    let call = async {
        let prepared = match prepared {
            Some(p) => p,
            None => prepare(&registry, &providers, &spec).await?,
        };
        execute(&registry, &http, prepared, origin).await
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result,
        Err(_) => Err(CallError::Host(format!(
            "the call to {} took longer than {timeout:?}",
            spec.model
        ))),
    }
}

/// Asks `provider` to turn `request` into what to send (or simulate).
pub(super) async fn ask_provider(
    registry: &Registry,
    provider: &str,
    request: &CompletionRequest,
) -> Result<Prepared, CallError> {
    let prepared: Result<Prepared, ProviderError> = registry
        .provider_call::<ops::Prepare>(provider, request)
        .await
        .map_err(|e| format!("provider `{provider}` {}: {e}", Op::Prepare.name()))?;
    Ok(prepared?)
}

/// The task's first request: system prompt, the task as the user message, its tools.
pub fn first_request(spec: &CallSpec) -> CompletionRequest {
    let mut request =
        CompletionRequest::new(spec.model.clone(), vec![Message::user(spec.prompt.clone())]);
    request.system = Some(spec.system.clone());
    request.system_cache_prefix =
        (spec.system_cache_prefix > 0).then_some(spec.system_cache_prefix);
    request.max_tokens = spec.max_tokens;
    request.tools = spec.tools.to_vec();
    request
}

/// Asks the provider serving the model to turn the call into a request.
pub async fn prepare(
    registry: &Registry,
    providers: &ProviderMap,
    spec: &CallSpec,
) -> Result<PreparedCall, CallError> {
    prepare_request(registry, providers, first_request(spec)).await
}

/// Asks the provider serving the request's model to prepare it (deciding on streaming).
pub async fn prepare_request(
    registry: &Registry,
    providers: &ProviderMap,
    mut request: CompletionRequest,
) -> Result<PreparedCall, CallError> {
    let (_, provider, _) =
        providers
            .entry_for(&request.model)
            .ok_or_else(|| CallError::NoProvider {
                model: request.model.clone(),
            })?;
    request.stream = providers.stream;
    let prepared = ask_provider(registry, provider, &request).await?;
    Ok(PreparedCall {
        provider: provider.to_owned(),
        request,
        prepared,
    })
}

/// One turn of a conversation: the messages so far, answered by the model.
#[derive(Debug, Clone, Default)]
pub struct TurnSpec {
    /// Model id.
    pub model: String,
    /// System prompt.
    pub system: String,
    /// Every message so far, the last one from the user.
    pub messages: Vec<Message>,
    /// Output token limit.
    pub max_tokens: u32,
}

/// Runs one conversation turn through the same provider path as a task's call (not
/// streamed, not announced as task output).
pub async fn turn(
    registry: &Registry,
    providers: &ProviderMap,
    http: &HttpExecutor,
    spec: TurnSpec,
    timeout: Duration,
) -> Result<TaskResult, CallError> {
    let TurnSpec {
        model,
        system,
        messages,
        max_tokens,
    } = spec;
    let call = async {
        let (_, provider, _) =
            providers
                .entry_for(&model)
                .ok_or_else(|| CallError::NoProvider {
                    model: model.clone(),
                })?;
        let mut request = CompletionRequest::new(model.clone(), messages);
        request.system = Some(system);
        request.max_tokens = max_tokens;
        let prepared = ask_provider(registry, provider, &request).await?;
        let call = PreparedCall {
            provider: provider.to_owned(),
            request,
            prepared,
        };
        execute(registry, http, call, None).await
    };
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| {
            Err(CallError::Host(format!(
                "the call to {model} took longer than {timeout:?}"
            )))
        })
}

/// Sends a prepared call (or waits out its simulated latency) and reads the answer.
async fn execute(
    registry: &Registry,
    http: &HttpExecutor,
    call: PreparedCall,
    origin: Option<&Origin>,
) -> Result<TaskResult, CallError> {
    let completion = complete(registry, http, call, origin).await?;
    Ok(task_result(completion))
}

/// A completion as a task's result (its cost is set when the budget settles it).
pub fn task_result(completion: hypernet_plugin_api::provider::Completion) -> TaskResult {
    let tokens = crate::budget::Tokens::of_call(&completion.usage);
    TaskResult {
        text: completion.text,
        model: completion.model,
        input_tokens: tokens.input,
        output_tokens: tokens.output,
        cache_read_tokens: tokens.cache_read,
        cache_write_tokens: tokens.cache_write,
        cost_micros: 0,
        signals: Vec::new(),
        simulated: completion.simulated,
        awaiting_approval: None,
        injection_flags: Vec::new(),
    }
}

impl PreparedCall {
    /// The request it was prepared from.
    pub fn request(&self) -> &CompletionRequest {
        &self.request
    }
}

/// Sends a prepared call (or waits out its simulated latency) and returns the completion.
pub async fn complete(
    registry: &Registry,
    http: &HttpExecutor,
    call: PreparedCall,
    origin: Option<&Origin>,
) -> Result<hypernet_plugin_api::provider::Completion, CallError> {
    let PreparedCall {
        provider,
        request,
        prepared,
    } = call;
    let mut output = origin.map(|o| TaskOutput::new(registry.bus(), o, &request.model));
    let sink = output.as_mut().map(|o| o as &mut dyn TextSink);
    match prepared {
        Prepared::Http { request: req } => {
            let ops = RegistryProvider {
                registry,
                address: &provider,
            };
            http.complete(&provider, &ops, &request, &req, sink).await
        }
        simulated => {
            let simulation = Simulation::of(simulated).expect("not an HTTP request");
            simulated::play(
                registry,
                http.policy(),
                &provider,
                &request,
                simulation,
                sink,
            )
            .await
        }
    }
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
            ..ProviderMap::default()
        };
        assert_eq!(map.provider_for("sim/fast/x"), Some("fast"));
        assert_eq!(map.provider_for("sim/default"), Some("sim"));
        assert_eq!(map.provider_for("gpt-4o"), Some("openai"));
        assert_eq!(map.provider_for("gpt-4o-mini"), None);
    }
}
