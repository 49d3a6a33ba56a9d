//! A provider plugin reached through the registry: the executor's [`ProviderOps`] over plugin
//! calls, so the sans-IO provider parses what the host's HTTP executor fetched.

use hypernet_engine::Registry;
use hypernet_llm::ProviderOps;
use hypernet_plugin_api::provider::{
    Completion, CompletionRequest, HttpResponse, ProviderError, SseEvent, StreamDelta,
};
use serde_json::json;

/// A provider plugin running in the registry, by address.
#[derive(Debug, Clone, Copy)]
pub struct RegistryProvider<'a> {
    /// The registry.
    pub registry: &'a Registry,
    /// The provider's address (`plugin` or `plugin:service`).
    pub address: &'a str,
}

impl RegistryProvider<'_> {
    async fn op<A: serde::Serialize + ?Sized + Sync, R: serde::de::DeserializeOwned>(
        &self,
        op: &str,
        args: &A,
    ) -> Result<R, String> {
        self.registry
            .call_typed(self.address, op, args)
            .await
            .map_err(|e| format!("provider `{}` {op}: {e}", self.address))
    }
}

impl ProviderOps for RegistryProvider<'_> {
    async fn parse_response(
        &self,
        request: &CompletionRequest,
        response: &HttpResponse,
    ) -> Result<Result<Completion, ProviderError>, String> {
        let args = json!({ "request": request, "response": response });
        self.op("parse_response", &args).await
    }

    async fn parse_stream_event(
        &self,
        event: &SseEvent,
    ) -> Result<Result<Vec<StreamDelta>, ProviderError>, String> {
        self.op("parse_stream_event", event).await
    }

    async fn classify_error(&self, response: &HttpResponse) -> Result<ProviderError, String> {
        self.op("classify_error", response).await
    }
}
