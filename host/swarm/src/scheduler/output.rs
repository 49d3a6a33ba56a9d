//! A streamed call's text as it arrives, announced on the bus as `task.output` events for
//! the event stream (`GET /api/events`); plugins do not receive them.
//!
//! A model streams many small pieces; one event each would cost more than the call is
//! worth to watch. [`Coalescer`] (pure) gathers them and lets them out at most every
//! [`EVERY`], sooner when [`MAX_PENDING`] bytes are waiting, and at the end of the stream;
//! [`TaskOutput`] is the executor's [`TextSink`] that announces what it lets out. Only
//! answer text is shown: tool-call arguments and usage never reach the sink.

use hypernet_engine::bus::Bus;
use hypernet_llm::TextSink;
use hypernet_model::tasks::TaskId;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The kind of the events.
pub const KIND: &str = "task.output";

/// Pending text goes out at most this often…
pub const EVERY: Duration = Duration::from_millis(50);

/// …unless at least this many bytes are waiting.
pub const MAX_PENDING: usize = 512;

/// One piece to announce: the `seq`-th of its call (from 0), and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Position among the call's pieces, from 0 and without gaps.
    pub seq: u64,
    /// The text.
    pub text: String,
}

/// Gathers streamed text into few, ordered pieces.
#[derive(Debug, Default)]
pub struct Coalescer {
    pending: String,
    next_seq: u64,
    /// When the last piece went out; none yet means the first text goes out at once.
    last: Option<Instant>,
}

impl Coalescer {
    /// Nothing pending, nothing sent.
    pub fn new() -> Coalescer {
        Coalescer::default()
    }

    /// Adds `text` arriving at `now`; returns a piece when one is due.
    pub fn push(&mut self, text: &str, now: Instant) -> Option<Piece> {
        if text.is_empty() {
            return None;
        }
        self.pending.push_str(text);
        let due = self.last.is_none_or(|last| now >= last + EVERY);
        if due || self.pending.len() >= MAX_PENDING {
            self.take(now)
        } else {
            None
        }
    }

    /// When the pending text must go out (`None` when nothing is pending).
    pub fn due(&self) -> Option<Instant> {
        // Text is pending only after a first piece went out (that one is never held).
        self.last
            .filter(|_| !self.pending.is_empty())
            .map(|last| last + EVERY)
    }

    /// Everything pending as one piece, whatever the time (at a deadline, at the end).
    pub fn take(&mut self, now: Instant) -> Option<Piece> {
        if self.pending.is_empty() {
            return None;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.last = Some(now);
        Some(Piece {
            seq,
            text: std::mem::take(&mut self.pending),
        })
    }
}

/// Whose call it is: what a `task.output` event names besides the model.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The task.
    pub task: TaskId,
    /// The worker running it.
    pub worker: Arc<str>,
}

/// Announces one call's text as `task.output` events
/// `{"task", "worker", "model", "delta", "seq"}`.
#[derive(Debug)]
pub struct TaskOutput<'a> {
    bus: &'a Bus,
    origin: &'a Origin,
    model: &'a str,
    coalescer: Coalescer,
}

impl<'a> TaskOutput<'a> {
    /// The output of `origin`'s call to `model`.
    pub fn new(bus: &'a Bus, origin: &'a Origin, model: &'a str) -> Self {
        TaskOutput {
            bus,
            origin,
            model,
            coalescer: Coalescer::new(),
        }
    }

    fn announce(&self, piece: Option<Piece>) {
        let Some(Piece { seq, text }) = piece else {
            return;
        };
        let payload = json!({
            "task": self.origin.task.to_string(),
            "worker": &*self.origin.worker,
            "model": self.model,
            "delta": text,
            "seq": seq,
        });
        self.bus.publish(KIND, "host", payload);
    }
}

impl TextSink for TaskOutput<'_> {
    fn text(&mut self, text: &str, now: Instant) {
        let piece = self.coalescer.push(text, now);
        self.announce(piece);
    }

    fn due(&self) -> Option<Instant> {
        self.coalescer.due()
    }

    fn flush(&mut self, now: Instant) {
        let piece = self.coalescer.take(now);
        self.announce(piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(start: Instant, n: u64) -> Instant {
        start + Duration::from_millis(n)
    }

    #[test]
    fn the_first_text_goes_out_at_once_then_at_most_every_fifty_ms() {
        let t0 = Instant::now();
        let mut c = Coalescer::new();
        assert_eq!(c.due(), None);
        let first = c.push("Hel", t0).expect("the first text is not held");
        assert_eq!((first.seq, first.text.as_str()), (0, "Hel"));
        assert_eq!(c.push("lo", ms(t0, 10)), None);
        assert_eq!(c.push(", ", ms(t0, 49)), None);
        assert_eq!(
            c.due(),
            Some(ms(t0, 50)),
            "due one interval after the last piece"
        );
        let second = c.push("wor", ms(t0, 50)).expect("due");
        assert_eq!((second.seq, second.text.as_str()), (1, "lo, wor"));
        assert_eq!(c.due(), None, "nothing pending");
        assert_eq!(c.push("ld", ms(t0, 60)), None);
        let last = c.take(ms(t0, 70)).expect("the end takes what is left");
        assert_eq!((last.seq, last.text.as_str()), (2, "ld"));
        assert_eq!(c.take(ms(t0, 80)), None, "nothing twice");
    }

    #[test]
    fn enough_pending_bytes_go_out_before_the_interval() {
        let t0 = Instant::now();
        let mut c = Coalescer::new();
        c.push("a", t0).expect("first");
        let chunk = "x".repeat(100);
        let mut pieces = Vec::new();
        for i in 0..14 {
            pieces.extend(c.push(&chunk, ms(t0, 1 + i)));
        }
        assert_eq!(pieces.len(), 2, "two full buffers within the interval");
        assert!(pieces.iter().all(|p| p.text.len() >= MAX_PENDING));
        assert_eq!(
            pieces.iter().map(|p| p.seq).collect::<Vec<_>>(),
            [1, 2],
            "seq stays contiguous"
        );
        assert_eq!(c.take(ms(t0, 20)).map(|p| p.text.len()), Some(200));
    }

    #[test]
    fn empty_text_is_not_output() {
        let t0 = Instant::now();
        let mut c = Coalescer::new();
        assert_eq!(c.push("", t0), None);
        assert_eq!(c.due(), None);
        assert_eq!(c.take(t0), None);
        let first = c.push("é", t0).expect("still the first piece");
        assert_eq!(first.seq, 0);
    }

    #[test]
    fn pieces_concatenate_to_the_text_whatever_the_timing() {
        let t0 = Instant::now();
        let mut c = Coalescer::new();
        let words: Vec<String> = (0..300).map(|i| format!("w{i} ")).collect();
        let (mut out, mut at) = (Vec::new(), 0);
        for (i, w) in words.iter().enumerate() {
            at += (i as u64 * 7) % 40; // gaps of 0 to 39 ms
            out.extend(c.push(w, ms(t0, at)));
        }
        out.extend(c.take(ms(t0, 10_000)));
        let seqs: Vec<u64> = out.iter().map(|p| p.seq).collect();
        assert_eq!(seqs, (0..out.len() as u64).collect::<Vec<_>>());
        let joined: String = out.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(joined, words.concat());
        assert!(out.len() < words.len(), "coalesced: {} pieces", out.len());
    }

    #[tokio::test]
    async fn a_call_s_output_is_announced_with_its_origin() {
        let bus = Bus::default();
        let mut rx = bus.subscribe();
        let origin = Origin {
            task: TaskId(7),
            worker: "Trace".into(),
        };
        let mut sink = TaskOutput::new(&bus, &origin, "openai/gpt-4o-mini");
        let t0 = Instant::now();
        sink.text("Hello", t0);
        sink.text(" there", ms(t0, 1));
        assert_eq!(sink.due(), Some(ms(t0, 50)));
        sink.flush(ms(t0, 50));
        sink.flush(ms(t0, 60));
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(events.iter().all(|e| e.kind == KIND && e.source == "host"));
        assert_eq!(
            events[1].payload,
            json!({"task": "T-7", "worker": "Trace", "model": "openai/gpt-4o-mini",
                   "delta": " there", "seq": 1})
        );
        assert_eq!(events[0].payload["delta"], "Hello");
        assert_eq!(bus.retained_len(), 2, "kept for replay like any event");
    }
}
