//! A provider plugin reached through the registry: the executor's [`ProviderOps`] over plugin
//! calls, so the sans-IO provider parses what the host's HTTP executor fetched.

use hypernet_engine::Registry;
use hypernet_llm::ProviderOps;
use hypernet_plugin_api::ErrorCode;
use hypernet_plugin_api::protocol::provider::{self as ops, Operation, ParseResponseArgs};
use hypernet_plugin_api::provider::{
    Completion, CompletionRequest, HttpResponse, ProviderError, SseEvent, StreamBatch,
};
use std::borrow::Cow;

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

    async fn parse_stream_events(&self, events: &[SseEvent]) -> Result<StreamBatch, String> {
        let batch = self
            .registry
            .provider_call::<ops::ParseStreamEvents>(self.address, &Cow::Borrowed(events))
            .await;
        match batch {
            Ok(batch) => Ok(batch),
            // Built before batches: one event at a time.
            Err(e) if e.code() == ErrorCode::NotFound => {
                let mut batch = StreamBatch::default();
                for event in events {
                    match self.op::<ops::ParseStreamEvent>(event).await? {
                        Ok(deltas) => batch.deltas.extend(deltas),
                        Err(error) => {
                            batch.error = Some(error);
                            break;
                        }
                    }
                }
                Ok(batch)
            }
            Err(e) => Err(format!(
                "provider `{}` {}: {e}",
                self.address,
                ops::ParseStreamEvents::OP
            )),
        }
    }

    async fn classify_error(&self, response: &HttpResponse) -> Result<ProviderError, String> {
        self.op::<ops::ClassifyError>(response).await
    }
}
