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

/// Events wait for the provider at most this long…
const PARSE_EVERY: Duration = Duration::from_millis(20);

/// …unless at least this many bytes of event data are waiting.
const PARSE_MAX_PENDING: usize = 16 * 1024;

/// Events read and not yet parsed. The provider parses them in batches — at most every
/// [`PARSE_EVERY`] from the first event, sooner when [`PARSE_MAX_PENDING`] bytes wait, at the
/// end of the stream and before its error — so that a streamed call costs one call into the
/// provider's thread for each [`PARSE_EVERY`] it lasts (one for a short answer, as a plain
/// call) rather than one per event. People see the first text at most that much later, and
/// the rest as before: [`TextSink`]s let text out at most every 50 ms anyway.
#[derive(Debug, Default)]
struct Pending {
    events: Vec<SseEvent>,
    bytes: usize,
    /// When the oldest waiting event arrived.
    since: Option<Instant>,
    /// When the last batch was parsed.
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
        if self.bytes >= PARSE_MAX_PENDING {
            return Some(since);
        }
        Some(match self.last {
            Some(last) => since.max(last + PARSE_EVERY),
            None => since + PARSE_EVERY,
        })
    }

    /// The waiting events, to parse at `now`.
    fn take(&mut self, now: Instant) -> Vec<SseEvent> {
        self.last = Some(now);
        self.bytes = 0;
        self.since = None;
        std::mem::take(&mut self.events)
    }
}

/// The body is read at most this often once a stream is under way: what the server writes
/// meanwhile waits in the socket and is read in one go.
const READ_EVERY: Duration = Duration::from_millis(10);

/// A chunk that comes sooner than this after the one before (or after reading resumed) was
/// already waiting; a later one came from the network.
const WAITING: Duration = Duration::from_micros(250);

/// When to read the body. Each network write of the server would otherwise wake the host —
/// the runtime, the HTTP connection's task reading and decoding a chunk, the call's task
/// framing it — twenty times a call for a typical answer. After a chunk that came from the
/// network (not one already waiting), reading pauses for [`READ_EVERY`]; the chunks that
/// gathered meanwhile are then read one after another without a pause. The first chunk is
/// read at once; the end of a stream is seen at most [`READ_EVERY`] late.
#[derive(Debug, Default)]
struct Pace {
    /// When the last chunk came, or reading last resumed, whichever is later.
    last: Option<Instant>,
    /// Reading is paused until then.
    paused_until: Option<Instant>,
}

impl Pace {
    /// A chunk came at `now`.
    fn chunk(&mut self, now: Instant) {
        let from_network = self
            .last
            .is_some_and(|last| now.duration_since(last) > WAITING);
        if self.last.is_none() || from_network {
            self.paused_until = Some(now + READ_EVERY);
        }
        self.last = Some(now);
    }

    /// Until when reading is paused, if it is.
    fn paused_until(&self) -> Option<Instant> {
        self.paused_until
    }

    /// Reading goes on at `now` if its pause is over.
    fn resume(&mut self, now: Instant) {
        if self.paused_until.is_some_and(|until| until <= now) {
            self.paused_until = None;
            self.last = Some(now);
        }
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
        let mut pace = Pace::default();
        let mut produced = false;
        let mut last_chunk = Instant::now();
        loop {
            // Wake for held-back text, waiting events or the end of a pause when due before
            // the stall limit; while paused, the body is not read.
            let stall = last_chunk + idle;
            let due = [
                output.as_deref().and_then(TextSink::due),
                pending.due(),
                pace.paused_until(),
            ]
            .into_iter()
            .flatten()
            .min()
            .filter(|d| *d < stall);
            let read = match (pace.paused_until(), due) {
                (Some(_), Some(due)) => {
                    tokio::time::sleep_until(due.into()).await;
                    Err(())
                }
                _ => tokio::time::timeout_at(due.unwrap_or(stall).into(), body.next())
                    .await
                    .map_err(|_| ()),
            };
            let done = match read {
                Err(()) if due.is_some() => {
                    let now = Instant::now();
                    pace.resume(now);
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
                Err(()) => {
                    return Err(network(
                        format!("the event stream stalled for {idle:?}"),
                        produced,
                    ));
                }
                Ok(Some(Err(e))) => {
                    // What came before the break counts: text already received is output.
                    let now = Instant::now();
                    let events = pending.take(now);
                    parse(ops, &events, &mut builder, &mut produced, &mut output, now).await?;
                    return Err(network(describe(e), produced));
                }
                Ok(Some(Ok(chunk))) => {
                    last_chunk = Instant::now();
                    pending.push(framer.push(&chunk), last_chunk);
                    pace.chunk(last_chunk);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_pauses_after_a_chunk_from_the_network() {
        let t0 = Instant::now();
        let mut pace = Pace::default();
        pace.chunk(t0);
        assert_eq!(
            pace.paused_until(),
            Some(t0 + READ_EVERY),
            "after the first chunk"
        );
        pace.resume(t0 + READ_EVERY / 2);
        assert_eq!(pace.paused_until(), Some(t0 + READ_EVERY), "still paused");

        let t1 = t0 + READ_EVERY;
        pace.resume(t1);
        assert_eq!(pace.paused_until(), None);
        // What gathered meanwhile comes one chunk after another: read on without a pause.
        for i in 1..=5 {
            pace.chunk(t1 + Duration::from_micros(20 * i));
            assert_eq!(pace.paused_until(), None, "chunk {i} was waiting");
        }
        // The next one from the network pauses reading again.
        let t2 = t1 + Duration::from_millis(1);
        pace.chunk(t2);
        assert_eq!(pace.paused_until(), Some(t2 + READ_EVERY));
    }

    #[test]
    fn events_are_parsed_every_interval_from_the_first_or_when_many_wait() {
        let t0 = Instant::now();
        let event = |n: usize| SseEvent {
            event: None,
            data: "x".repeat(n),
        };
        let mut pending = Pending::default();
        assert_eq!(pending.due(), None, "nothing waits");
        pending.push(vec![event(10)], t0);
        assert_eq!(
            pending.due(),
            Some(t0 + PARSE_EVERY),
            "the first batch waits too"
        );
        pending.push(vec![event(10)], t0 + Duration::from_millis(5));
        assert_eq!(
            pending.due(),
            Some(t0 + PARSE_EVERY),
            "from the first event"
        );
        let t1 = t0 + PARSE_EVERY;
        assert_eq!(pending.take(t1).len(), 2);
        pending.push(
            vec![event(PARSE_MAX_PENDING)],
            t1 + Duration::from_millis(1),
        );
        assert_eq!(
            pending.due(),
            Some(t1 + Duration::from_millis(1)),
            "many bytes waiting go at once"
        );
    }
}
