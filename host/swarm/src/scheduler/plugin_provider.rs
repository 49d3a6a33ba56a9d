//! A provider plugin reached through the registry: the executor's [`ProviderOps`] over plugin
//! calls, so the sans-IO provider parses what the host's HTTP executor fetched.

use hypernet_engine::Registry;
use hypernet_llm::ProviderOps;
use hypernet_plugin_api::protocol::provider::{self as ops, Operation, ParseResponseArgs};
use hypernet_plugin_api::provider::{
    Completion, CompletionRequest, HttpResponse, ProviderError, SseEvent, StreamDelta,
};

/// A provider plugin running in the registry, by address.
#[derive(Debug, Clone, Copy)]
pub struct RegistryProvider<'a> {
    /// The registry.
    pub registry: &'a Registry,
    /// The provider's address (`plugin` or `plugin:service`).
    pub address: &'a str,
}

impl RegistryProvider<'_> {
    async fn op<O: Operation>(&self, args: &O::Args<'_>) -> Result<O::Answer, String> {
        self.registry
            .provider_call::<O>(self.address, args)
            .await
            .map_err(|e| format!("provider `{}` {}: {e}", self.address, O::OP))
    }
}

impl ProviderOps for RegistryProvider<'_> {
    async fn parse_response(
        &self,
        request: &CompletionRequest,
        response: &HttpResponse,
    ) -> Result<Result<Completion, ProviderError>, String> {
        self.op::<ops::ParseResponse>(&ParseResponseArgs::new(request, response))
            .await
    }

    async fn parse_stream_event(
        &self,
        event: &SseEvent,
    ) -> Result<Result<Vec<StreamDelta>, ProviderError>, String> {
        self.op::<ops::ParseStreamEvent>(event).await
    }

    async fn classify_error(&self, response: &HttpResponse) -> Result<ProviderError, String> {
        self.op::<ops::ClassifyError>(response).await
    }
}
