//! Reading a streamed answer: the body's chunks are framed into server-sent events, each
//! parsed by the provider into deltas and folded into the completion, while the answer's
//! text also goes to the caller's [`TextSink`] as it arrives. The stream fails when it
//! stays silent longer than the idle limit.

use super::{AttemptError, HttpExecutor, ProviderOps, SseFramer, describe, network};
use futures_util::StreamExt;
use hypernet_plugin_api::provider::{
    Completion, CompletionBuilder, CompletionRequest, StreamDelta,
};
use std::time::{Duration, Instant};

/// Receives the text of a streamed answer while it arrives (tool-call arguments, usage and
/// the like are not text). It may hold text back: the executor calls [`TextSink::flush`]
/// when [`TextSink::due`] passes while the stream is quiet, and once when it ends.
pub trait TextSink: Send {
    /// The next piece of text (never empty), received at `now`.
    fn text(&mut self, text: &str, now: Instant);
    /// When held-back text must go out, if any is held.
    fn due(&self) -> Option<Instant>;
    /// Lets out everything held back.
    fn flush(&mut self, now: Instant);
}

/// The sink for one more use, leaving `output` usable afterwards.
pub(super) fn reborrow<'s>(
    output: &'s mut Option<&mut dyn TextSink>,
) -> Option<&'s mut dyn TextSink> {
    match output {
        Some(sink) => Some(&mut **sink),
        None => None,
    }
}

impl HttpExecutor {
    /// Reads a 2xx event-stream response to a completion. Text `output` holds back when
    /// the stream ends is the caller's to let out (the stream may end in an error).
    pub(super) async fn stream<P: ProviderOps>(
        &self,
        ops: &P,
        request: &CompletionRequest,
        response: reqwest::Response,
        idle: Duration,
        mut output: Option<&mut dyn TextSink>,
    ) -> Result<Completion, AttemptError> {
        let mut body = response.bytes_stream();
        let mut framer = SseFramer::new();
        let mut builder = CompletionBuilder::new(request.model.clone());
        let mut produced = false;
        let mut last_chunk = Instant::now();
        loop {
            // Wake for held-back text when it is due before the stall limit.
            let stall = last_chunk + idle;
            let due = output.as_deref().and_then(TextSink::due);
            let wake = due.filter(|d| *d < stall).unwrap_or(stall);
            let next = tokio::time::timeout_at(wake.into(), body.next()).await;
            let (events, done) = match next {
                Err(_) if wake < stall => {
                    if let Some(output) = reborrow(&mut output) {
                        output.flush(Instant::now());
                    }
                    continue;
                }
                Err(_) => {
                    return Err(network(
                        format!("the event stream stalled for {idle:?}"),
                        produced,
                    ));
                }
                Ok(Some(Err(e))) => return Err(network(describe(e), produced)),
                Ok(Some(Ok(chunk))) => {
                    last_chunk = Instant::now();
                    (framer.push(&chunk), false)
                }
                Ok(None) => (framer.finish().into_iter().collect(), true),
            };
            for event in events {
                let deltas = ops
                    .parse_stream_event(&event)
                    .await
                    .map_err(AttemptError::Host)?
                    .map_err(|error| AttemptError::Provider {
                        error,
                        status: None,
                        produced,
                    })?;
                for delta in deltas {
                    // OpenAI opens with an empty text delta: that is not output yet.
                    produced |= match &delta {
                        StreamDelta::Text { text } if !text.is_empty() => {
                            if let Some(output) = reborrow(&mut output) {
                                output.text(text, last_chunk);
                            }
                            true
                        }
                        StreamDelta::ToolCallStart { .. } => true,
                        _ => false,
                    };
                    builder.push(delta);
                }
            }
            if done {
                return builder.finish().map_err(|error| AttemptError::Provider {
                    error,
                    status: None,
                    produced: true,
                });
            }
        }
    }
}
