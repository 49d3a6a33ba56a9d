//! Reading a streamed answer: the body's chunks are framed into server-sent events, parsed
//! by the provider into deltas in batches (`PARSE_EVERY`) and folded into the completion,
//! while the answer's text also goes to the caller's [`TextSink`]. The stream fails when it
//! stays silent longer than the idle limit.

use super::{AttemptError, HttpExecutor, ProviderOps, SseFramer, describe, network};
use futures_util::StreamExt;
use hypernet_plugin_api::provider::{
    Completion, CompletionBuilder, CompletionRequest, SseEvent, StreamDelta,
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

/// After the first batch, events wait for the provider at most this long…
const PARSE_EVERY: Duration = Duration::from_millis(20);

/// …unless at least this many bytes of event data are waiting.
const PARSE_MAX_PENDING: usize = 16 * 1024;

/// Events read and not yet parsed. The provider parses them in batches — the first at once
/// (the first text is not kept waiting), then at most every [`PARSE_EVERY`], sooner when
/// [`PARSE_MAX_PENDING`] bytes wait, and at the end of the stream — so that a streamed call
/// costs a few calls into the provider's thread rather than one per event. What people see
/// is not delayed by it: [`TextSink`]s let text out at most every 50 ms anyway.
#[derive(Debug, Default)]
struct Pending {
    events: Vec<SseEvent>,
    bytes: usize,
    /// When the oldest waiting event arrived.
    since: Option<Instant>,
    /// When the last batch was parsed (none yet: the first goes at once).
    last: Option<Instant>,
}

impl Pending {
    /// Adds `events`, which arrived at `now`.
    fn push(&mut self, events: Vec<SseEvent>, now: Instant) {
        if events.is_empty() {
            return;
        }
        self.since.get_or_insert(now);
        self.bytes += events.iter().map(|e| e.data.len()).sum::<usize>();
        self.events.extend(events);
    }

    /// When the waiting events must be parsed, if any wait.
    fn due(&self) -> Option<Instant> {
        let since = self.since?;
        match self.last {
            Some(last) if self.bytes < PARSE_MAX_PENDING => Some(since.max(last + PARSE_EVERY)),
            _ => Some(since),
        }
    }

    /// The waiting events, to parse at `now`.
    fn take(&mut self, now: Instant) -> Vec<SseEvent> {
        self.last = Some(now);
        self.bytes = 0;
        self.since = None;
        std::mem::take(&mut self.events)
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
        let mut pending = Pending::default();
        let mut produced = false;
        let mut last_chunk = Instant::now();
        loop {
            // Wake for held-back text or waiting events when due before the stall limit.
            let stall = last_chunk + idle;
            let due = [output.as_deref().and_then(TextSink::due), pending.due()]
                .into_iter()
                .flatten()
                .min()
                .filter(|d| *d < stall);
            let done = match tokio::time::timeout_at(due.unwrap_or(stall).into(), body.next()).await
            {
                Err(_) if due.is_some() => {
                    let now = Instant::now();
                    if pending.due().is_some_and(|d| d <= now) {
                        let events = pending.take(now);
                        parse(ops, &events, &mut builder, &mut produced, &mut output, now).await?;
                    }
                    if let Some(output) = reborrow(&mut output)
                        && output.due().is_some_and(|d| d <= now)
                    {
                        output.flush(now);
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
                    pending.push(framer.push(&chunk), last_chunk);
                    false
                }
                Ok(None) => {
                    pending.push(framer.finish().into_iter().collect(), Instant::now());
                    true
                }
            };
            if done || pending.due().is_some_and(|d| d <= last_chunk) {
                let events = pending.take(last_chunk);
                parse(
                    ops,
                    &events,
                    &mut builder,
                    &mut produced,
                    &mut output,
                    last_chunk,
                )
                .await?;
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

/// Hands `events` to the provider and folds what it makes of them into `builder`, passing
/// text to `output`.
async fn parse<P: ProviderOps>(
    ops: &P,
    events: &[SseEvent],
    builder: &mut CompletionBuilder,
    produced: &mut bool,
    output: &mut Option<&mut dyn TextSink>,
    now: Instant,
) -> Result<(), AttemptError> {
    if events.is_empty() {
        return Ok(());
    }
    let batch = ops
        .parse_stream_events(events)
        .await
        .map_err(AttemptError::Host)?;
    for delta in batch.deltas {
        // OpenAI opens with an empty text delta: that is not output yet.
        *produced |= match &delta {
            StreamDelta::Text { text } if !text.is_empty() => {
                if let Some(output) = reborrow(output) {
                    output.text(text, now);
                }
                true
            }
            StreamDelta::ToolCallStart { .. } => true,
            _ => false,
        };
        builder.push(delta);
    }
    match batch.error {
        Some(error) => Err(AttemptError::Provider {
            error,
            status: None,
            produced: *produced,
        }),
        None => Ok(()),
    }
}
