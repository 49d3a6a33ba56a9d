//! A provider plugin reached through the registry: the executor's [`ProviderOps`] over plugin
//! calls, so the sans-IO provider parses what the host's HTTP executor fetched.

use hypernet_engine::Registry;
use hypernet_llm::ProviderOps;
use hypernet_plugin_api::ErrorCode;
use hypernet_plugin_api::protocol::provider::{self as ops, Operation, ParseResponseArgs};
use hypernet_plugin_api::provider::{
    Completion, CompletionRequest, HttpResponse, ProviderError, SseEvent, StreamBatch, StreamDelta,
    sse,
};
use std::borrow::Cow;
use std::future::Future;

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

    async fn parse_stream_text(&self, text: &str) -> Result<StreamBatch, String> {
        let batch = self
            .registry
            .provider_call::<ops::ParseStreamText>(self.address, &Cow::Borrowed(text))
            .await;
        match batch {
            Ok(batch) => Ok(batch),
            // Built before the text operation: framed here, one event at a time.
            Err(e) if e.code() == ErrorCode::NotFound => {
                event_by_event(text, |event| async move {
                    self.op::<ops::ParseStreamEvent>(&event).await
                })
                .await
            }
            Err(e) => Err(format!(
                "provider `{}` {}: {e}",
                self.address,
                ops::ParseStreamText::OP
            )),
        }
    }

    async fn classify_error(&self, response: &HttpResponse) -> Result<ProviderError, String> {
        self.op::<ops::ClassifyError>(response).await
    }
}

/// Frames `text` and parses its events one `parse_event` at a time, up to the first that
/// fails: the batch a plugin built before `parse_stream_text` cannot make itself.
async fn event_by_event<F, Fut>(text: &str, mut parse_event: F) -> Result<StreamBatch, String>
where
    F: FnMut(SseEvent) -> Fut,
    Fut: Future<Output = Result<Result<Vec<StreamDelta>, ProviderError>, String>>,
{
    let mut batch = StreamBatch::default();
    for event in sse::events(text) {
        match parse_event(event).await? {
            Ok(deltas) => deltas.into_iter().for_each(|d| batch.push(d)),
            Err(error) => {
                batch.error = Some(error);
                break;
            }
        }
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_older_plugin_gets_the_events_one_at_a_time_up_to_the_first_failure() {
        let text = "data: a\n\ndata: b\r\n\r\n: note\ndata: boom\n\ndata: c\n\n";
        let mut seen = Vec::new();
        let batch = event_by_event(text, |event| {
            seen.push(event.data.clone());
            async move {
                Ok(match event.data.as_str() {
                    "boom" => Err(ProviderError::Malformed {
                        message: "boom".into(),
                    }),
                    data => Ok(vec![StreamDelta::Text { text: data.into() }]),
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(seen, ["a", "b", "boom"], "nothing after the failure");
        assert_eq!(batch.deltas, [StreamDelta::Text { text: "ab".into() }]);
        assert!(matches!(batch.error, Some(ProviderError::Malformed { .. })));
        let broken = event_by_event(text, |_| async { Err("the plugin panicked".to_owned()) });
        assert_eq!(broken.await.unwrap_err(), "the plugin panicked");
    }
}
