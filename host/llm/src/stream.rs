//! Reading a streamed answer: the body's bytes are cut at event boundaries and handed to
//! the provider as text in batches (`PARSE_EVERY`), its deltas folded into the completion,
//! while the answer's text also goes to the caller's [`TextSink`]. The stream fails when it
//! stays silent longer than the idle limit.

use super::{AttemptError, HttpExecutor, ProviderOps, describe, network};
use futures_util::StreamExt;
use hypernet_plugin_api::provider::{
    Completion, CompletionBuilder, CompletionRequest, StreamDelta, sse,
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

/// Events wait for the provider at most this long…
const PARSE_EVERY: Duration = Duration::from_millis(20);

/// …unless at least this many bytes of whole events are waiting: what a stream holds
/// stays small (a 16 KiB bound left the streamed runs of the peer benchmark 0.7 MiB above
/// the plain ones), while a batch still carries a few dozen events.
const PARSE_MAX_PENDING: usize = 4 * 1024;

/// The body read and not yet handed to the provider. Whole events go over in batches — at
/// most every [`PARSE_EVERY`] from the first, sooner when [`PARSE_MAX_PENDING`] bytes wait,
/// at the end of the stream and before its error — as their text, which the provider's
/// side frames (`parse_stream_text`): a streamed call costs one call into the provider's
/// thread for each [`PARSE_EVERY`] it lasts (one for a short answer, as a plain call)
/// rather than one per event, and the events' data is never escaped into JSON on the way.
/// People see the first text at most that much later, and the rest as before:
/// [`TextSink`]s let text out at most every 50 ms anyway.
#[derive(Debug, Default)]
struct Pending {
    /// The bytes read and not handed over, from the start of an event.
    bytes: Vec<u8>,
    /// How many of them make whole events.
    whole: usize,
    /// When the oldest waiting whole event was complete.
    since: Option<Instant>,
    /// When the last batch was handed over.
    last: Option<Instant>,
}

impl Pending {
    /// Adds a chunk of the body, read at `now`.
    fn push(&mut self, chunk: &[u8], now: Instant) {
        self.bytes.extend_from_slice(chunk);
        // Scanned from the end: back to the last blank line, seldom further than the chunk.
        let whole = sse::whole_events_len(&self.bytes);
        if whole > self.whole {
            self.whole = whole;
            self.since.get_or_insert(now);
        }
    }

    /// When the waiting events must be handed over, if any wait.
    fn due(&self) -> Option<Instant> {
        let since = self.since?;
        if self.whole >= PARSE_MAX_PENDING {
            return Some(since);
        }
        Some(match self.last {
            Some(last) => since.max(last + PARSE_EVERY),
            None => since + PARSE_EVERY,
        })
    }

    /// The text of the whole events waiting — of everything read, `at_end` of the body —
    /// to hand over at `now`. Bytes that are not UTF-8 are replaced.
    fn take(&mut self, now: Instant, at_end: bool) -> String {
        let end = if at_end { self.bytes.len() } else { self.whole };
        let rest = self.bytes.split_off(end);
        let taken = std::mem::replace(&mut self.bytes, rest);
        self.whole = 0;
        self.since = None;
        self.last = Some(now);
        String::from_utf8(taken)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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
            let read = tokio::time::timeout_at(due.unwrap_or(stall).into(), body.next()).await;
            let done = match read {
                Err(_) if due.is_some() => {
                    let now = Instant::now();
                    if pending.due().is_some_and(|d| d <= now) {
                        let text = pending.take(now, false);
                        parse(ops, &text, &mut builder, &mut produced, &mut output, now).await?;
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
                Ok(Some(Err(e))) => {
                    // What came before the break counts: text already received is output.
                    let now = Instant::now();
                    let text = pending.take(now, false);
                    parse(ops, &text, &mut builder, &mut produced, &mut output, now).await?;
                    return Err(network(describe(e), produced));
                }
                Ok(Some(Ok(chunk))) => {
                    last_chunk = Instant::now();
                    pending.push(&chunk, last_chunk);
                    false
                }
                Ok(None) => true,
            };
            if done || pending.due().is_some_and(|d| d <= last_chunk) {
                let text = pending.take(last_chunk, done);
                parse(
                    ops,
                    &text,
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

/// Hands the events' `text` to the provider and folds what it makes of them into
/// `builder`, passing text to `output`.
async fn parse<P: ProviderOps>(
    ops: &P,
    text: &str,
    builder: &mut CompletionBuilder,
    produced: &mut bool,
    output: &mut Option<&mut dyn TextSink>,
    now: Instant,
) -> Result<(), AttemptError> {
    if text.is_empty() {
        return Ok(());
    }
    let batch = ops
        .parse_stream_text(text)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_go_over_every_interval_from_the_first_or_when_many_wait() {
        let t0 = Instant::now();
        let mut pending = Pending::default();
        assert_eq!(pending.due(), None, "nothing waits");
        pending.push(b"data: one", t0);
        assert_eq!(pending.due(), None, "no whole event yet");
        pending.push(b"\n\ndata: tw", t0 + Duration::from_millis(1));
        let first = t0 + Duration::from_millis(1);
        assert_eq!(
            pending.due(),
            Some(first + PARSE_EVERY),
            "the first batch waits too"
        );
        pending.push(b"o\n\n", t0 + Duration::from_millis(5));
        assert_eq!(
            pending.due(),
            Some(first + PARSE_EVERY),
            "from the first whole event"
        );
        let t1 = first + PARSE_EVERY;
        pending.push(b"data: thr", t1);
        assert_eq!(
            pending.take(t1, false),
            "data: one\n\ndata: two\n\n",
            "whole events only"
        );
        assert_eq!(pending.due(), None, "a part of an event does not wait");
        let big = format!("ee\n\ndata: {}\n\n", "x".repeat(PARSE_MAX_PENDING));
        pending.push(big.as_bytes(), t1 + Duration::from_millis(1));
        assert_eq!(
            pending.due(),
            Some(t1 + Duration::from_millis(1)),
            "many bytes waiting go at once"
        );
        pending.push(b"data: four", t1 + Duration::from_millis(2));
        let end = pending.take(t1 + Duration::from_millis(2), true);
        assert!(
            end.starts_with("data: three\n\n") && end.ends_with("\n\ndata: four"),
            "at the end, everything: {end:?}"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_replaced() {
        let mut pending = Pending::default();
        let now = Instant::now();
        pending.push(b"data: caf\xe9\n\n", now);
        assert_eq!(pending.take(now, false), "data: caf\u{fffd}\n\n");
    }
}
