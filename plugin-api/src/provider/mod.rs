//! LLM providers, sans-IO: a provider turns a [`CompletionRequest`] into an [`HttpRequest`]
//! and HTTP responses or server-sent events back into a [`Completion`] or a typed
//! [`ProviderError`]. The host does all I/O (one HTTP client, timeouts, retries, streaming),
//! because a plugin library cannot share the host's async runtime.

pub mod batch;
mod error;
pub mod sse;
mod stream;
pub(crate) mod types;

pub use batch::{BatchLimits, BatchOutcome, BatchRequest, BatchStatus, BatchStep};
pub use error::{ProviderError, retry_after_ms};
pub use stream::{CompletionBuilder, StreamBatch, StreamDelta};
pub use types::{
    Completion, CompletionRequest, ContentBlock, HttpRequest, HttpResponse, Message, Prepared,
    ProviderInfo, Role, SseEvent, StopReason, ToolCall, ToolSpec, Usage,
};

use crate::{Host, PluginError};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// An LLM provider. Implement it, then register it with
/// [`register_provider!`](crate::register_provider).
///
/// Methods take `&mut self` because the host serializes calls to one provider instance, so
/// state (counters, caches) needs no locks.
///
/// ```
/// use hypernet_plugin_api::provider::*;
/// use hypernet_plugin_api::{Host, PluginError};
///
/// struct Echo;
///
/// impl Provider for Echo {
///     type Config = serde_json::Value;
///     fn start(_config: Self::Config, _host: Host) -> Result<Self, PluginError> { Ok(Echo) }
///     fn describe(&self) -> ProviderInfo {
///         ProviderInfo { models: vec!["echo/".into()], local: true, simulated: true }
///     }
///     fn prepare(&mut self, req: &CompletionRequest) -> Result<Prepared, ProviderError> {
///         let text = req.messages.last().map(|m| m.text()).unwrap_or_default();
///         Ok(Prepared::Simulated {
///             delay_ms: 0,
///             outcome: Ok(Completion {
///                 model: req.model.clone(), text, tool_calls: vec![],
///                 stop_reason: StopReason::EndTurn, usage: Usage::default(), simulated: true,
///             }),
///         })
///     }
/// }
/// hypernet_plugin_api::register_provider!(Echo, "echo");
/// ```
pub trait Provider: Sized + Send + 'static {
    /// The plugin's `[config]` table, typed. Use `#[serde(deny_unknown_fields)]` so a typo
    /// is reported by name.
    type Config: DeserializeOwned;

    /// Builds the provider from its config.
    fn start(config: Self::Config, host: Host) -> Result<Self, PluginError>;

    /// Checks a config beyond what deserializing it checks (ranges, consistency). Called by
    /// `hypernet plugins check` and before `start`.
    fn validate(_config: &Self::Config) -> Result<(), PluginError> {
        Ok(())
    }

    /// Which models it serves.
    fn describe(&self) -> ProviderInfo;

    /// Turns a request into what the host should do.
    fn prepare(&mut self, request: &CompletionRequest) -> Result<Prepared, ProviderError>;

    /// Parses a successful (2xx) non-streamed response.
    fn parse_response(
        &mut self,
        _request: &CompletionRequest,
        _response: &HttpResponse,
    ) -> Result<Completion, ProviderError> {
        Err(ProviderError::Malformed {
            message: "this provider does not make HTTP calls".into(),
        })
    }

    /// Maps one server-sent event of a streamed response to deltas (none for pings and
    /// unknown events). The host folds deltas with a [`CompletionBuilder`].
    fn parse_stream_event(&mut self, _event: &SseEvent) -> Result<Vec<StreamDelta>, ProviderError> {
        Err(ProviderError::Malformed {
            message: "this provider does not stream".into(),
        })
    }

    /// Parses the events of a streamed response read together, in order, up to the first
    /// that fails. The host hands events over in batches (what arrived since the last
    /// batch), so a provider pays one call per batch, not one per event. The default calls
    /// [`Provider::parse_stream_event`] for each; override it only to share work across
    /// the events of a batch.
    fn parse_stream_events(&mut self, events: &[SseEvent]) -> StreamBatch {
        let mut batch = StreamBatch::default();
        for event in events {
            match self.parse_stream_event(event) {
                Ok(deltas) => deltas.into_iter().for_each(|d| batch.push(d)),
                Err(error) => {
                    batch.error = Some(error);
                    break;
                }
            }
        }
        batch
    }

    /// The request that lists the models the server offers (e.g. `GET /v1/models`), for
    /// providers that can tell; the host sends it and hands the answer to `parse_models`.
    fn list_models(&mut self) -> Option<HttpRequest> {
        None
    }
    /// Reads the model ids out of the answer to `list_models`.
    fn parse_models(&mut self, _response: &HttpResponse) -> Result<Vec<String>, ProviderError> {
        Ok(Vec::new())
    }
    /// Classifies a non-2xx response. The default reads the status and `retry-after`.
    fn classify_error(&self, response: &HttpResponse) -> ProviderError {
        ProviderError::from_status(response)
    }

    /// Whether this provider offers a batch API (see [`batch`]), and its limits. The
    /// default, `None`, sends every request as a normal call.
    fn batch_support(&self) -> Option<BatchLimits> {
        None
    }

    /// The first step of submitting `requests` as one batch.
    fn submit_batch(&mut self, _requests: &[BatchRequest]) -> Result<BatchStep, ProviderError> {
        Err(batch::unsupported())
    }

    /// Reads the 2xx answer to a [`BatchStep::Send`] (with the `state` it carried): the
    /// next step, or the batch's id.
    fn batch_submitted(
        &mut self,
        _state: &Value,
        _response: &HttpResponse,
    ) -> Result<BatchStep, ProviderError> {
        Err(batch::unsupported())
    }

    /// The request that reads where the batch `batch_id` stands.
    fn poll_batch(&mut self, _batch_id: &str) -> Result<HttpRequest, ProviderError> {
        Err(batch::unsupported())
    }

    /// Reads the 2xx answer to [`Provider::poll_batch`].
    fn parse_batch_status(
        &mut self,
        _response: &HttpResponse,
    ) -> Result<BatchStatus, ProviderError> {
        Err(batch::unsupported())
    }

    /// Reads the 2xx answer to one of the results requests of [`BatchStatus::Ended`]: one
    /// outcome per request it reports on.
    fn parse_batch_results(
        &mut self,
        _response: &HttpResponse,
    ) -> Result<Vec<BatchOutcome>, ProviderError> {
        Err(batch::unsupported())
    }
}
