//! Server-sent-event framing, shared by the host (which cuts a streamed body at event
//! boundaries) and the plugin side (which frames what the host hands over). Lines end with
//! `\n` or `\r\n`; `event:` names the event, `data:` lines are joined by `\n`, lines starting
//! with `:` are comments, other fields (`id:`, `retry:`) are ignored, and a blank line ends
//! the event (an event without data is dropped, as the SSE standard says).

use super::SseEvent;

/// Frames `text` into its events, in order. An event not closed by a blank line at the end
/// of `text` is delivered too (the end of a stream closes it).
///
/// ```
/// use hypernet_plugin_api::provider::{SseEvent, sse};
/// let text = "event: ping\ndata: {}\n\n: a comment\ndata: one\r\ndata: two\n\ndata: [DONE]";
/// assert_eq!(
///     sse::events(text),
///     [
///         SseEvent { event: Some("ping".into()), data: "{}".into() },
///         SseEvent { event: None, data: "one\ntwo".into() },
///         SseEvent { event: None, data: "[DONE]".into() },
///     ]
/// );
/// ```
pub fn events(text: &str) -> Vec<SseEvent> {
    let mut framer = Framer::default();
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        out.extend(framer.line(line));
    }
    out.extend(framer.dispatch());
    out
}

/// How many bytes at the start of `bytes` make whole events: up to and including the last
/// blank line. `bytes` must begin at the start of an event (or of the stream).
///
/// ```
/// use hypernet_plugin_api::provider::sse;
/// assert_eq!(sse::whole_events_len(b"data: a\n\ndata: b"), 9);
/// assert_eq!(sse::whole_events_len(b"data: a\r\n\r\ndata: b\n"), 11);
/// assert_eq!(sse::whole_events_len(b"data: a\n"), 0);
/// ```
pub fn whole_events_len(bytes: &[u8]) -> usize {
    // A blank line is a line end right after another line end (or the start).
    let line_end_before = |i: usize| match i {
        0 => true,
        _ if bytes[i - 1] == b'\n' => true,
        _ => bytes[i - 1] == b'\r' && (i == 1 || bytes[i - 2] == b'\n'),
    };
    (0..bytes.len())
        .rev()
        .find(|&i| bytes[i] == b'\n' && line_end_before(i))
        .map_or(0, |i| i + 1)
}

/// The event being read: its name and data so far.
#[derive(Debug, Default)]
struct Framer {
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl Framer {
    /// Reads one line (without its end); returns the event a blank line ends.
    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field.trim_start_matches('\u{feff}') {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    /// Cuts `chunks` (concatenated) at whole events as the host does, reading one chunk at a
    /// time, and frames each piece as the plugin side does; the rest at the end.
    fn as_host_cuts(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut pending = Vec::new();
        let mut out = Vec::new();
        for chunk in chunks {
            pending.extend_from_slice(chunk);
            let whole = whole_events_len(&pending);
            let rest = pending.split_off(whole);
            out.extend(events(&String::from_utf8(pending).unwrap()));
            pending = rest;
        }
        out.extend(events(&String::from_utf8(pending).unwrap()));
        out
    }

    const ANTHROPIC: &str = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n\
        event: ping\ndata: {\"type\": \"ping\"}\n\n\
        event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n";

    #[test]
    fn named_events() {
        assert_eq!(
            events(ANTHROPIC),
            [
                ev(Some("message_start"), "{\"type\":\"message_start\"}"),
                ev(Some("ping"), "{\"type\": \"ping\"}"),
                ev(
                    Some("content_block_delta"),
                    "{\"type\":\"content_block_delta\"}"
                ),
            ]
        );
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let whole = events(ANTHROPIC);
        let bytes = ANTHROPIC.as_bytes();
        for cut in 0..=bytes.len() {
            assert_eq!(
                as_host_cuts(&[&bytes[..cut], &bytes[cut..]]),
                whole,
                "cut at {cut}"
            );
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(as_host_cuts(&singles), whole);
    }

    #[test]
    fn crlf_is_tolerated_even_split_between_cr_and_lf() {
        let text = "data: {\"a\":1}\r\n\r\ndata: [DONE]\r\n\r\n";
        let expected = [ev(None, "{\"a\":1}"), ev(None, "[DONE]")];
        assert_eq!(events(text), expected);
        for cut in 0..=text.len() {
            let (a, b) = text.as_bytes().split_at(cut);
            assert_eq!(as_host_cuts(&[a, b]), expected, "cut at {cut}");
        }
    }

    #[test]
    fn whole_events_end_at_the_last_blank_line() {
        assert_eq!(whole_events_len(b""), 0);
        assert_eq!(whole_events_len(b"\n"), 1, "a blank line at the start");
        assert_eq!(whole_events_len(b"\r\n"), 2);
        assert_eq!(whole_events_len(b"data: a\n"), 0, "the event is not closed");
        assert_eq!(whole_events_len(b"data: a\r\n"), 0);
        assert_eq!(whole_events_len(b"data: a\n\n"), 9);
        assert_eq!(whole_events_len(b"data: a\n\ndata: b\n"), 9);
        assert_eq!(whole_events_len(b"data: a\n\ndata: b\n\n"), 18);
        assert_eq!(
            whole_events_len(b"data: a\r\n\r"),
            0,
            "the blank line is not ended"
        );
    }

    #[test]
    fn multi_line_data_comments_and_other_fields() {
        let text = ": keep-alive\nid: 7\nretry: 100\ndata: first\ndata:second\ndata\n\n:only a comment\n\n";
        assert_eq!(events(text), [ev(None, "first\nsecond\n")]);
    }

    #[test]
    fn unterminated_last_event_is_delivered_at_the_end() {
        assert_eq!(events("event: x\ndata: tail"), [ev(Some("x"), "tail")]);
        assert_eq!(events("event: x\ndata: tail\n"), [ev(Some("x"), "tail")]);
        assert_eq!(events("event: lonely\n\n"), []);
        assert_eq!(events(""), []);
    }

    #[test]
    fn utf8_split_across_chunks() {
        let text = "data: héllo\n\n".as_bytes();
        let cut = 8; // inside the two bytes of é
        assert_eq!(
            as_host_cuts(&[&text[..cut], &text[cut..]]),
            [ev(None, "héllo")]
        );
    }
}
