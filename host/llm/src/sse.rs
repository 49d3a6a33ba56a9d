//! Server-sent-event framing: bytes in (chunks cut anywhere), [`SseEvent`]s out. Lines end
//! with `\n` or `\r\n`; `event:` names the event, `data:` lines are joined by `\n`, lines
//! starting with `:` are comments, other fields (`id:`, `retry:`) are ignored, and a blank
//! line ends the event (an event without data is dropped, as the SSE standard says).

use hypernet_plugin_api::provider::SseEvent;

/// An incremental SSE parser.
#[derive(Debug, Default)]
pub struct SseFramer {
    pending: Vec<u8>,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseFramer {
    /// An empty framer.
    pub fn new() -> SseFramer {
        SseFramer::default()
    }

    /// Feeds one chunk of the body; returns the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(offset) = self.pending[start..].iter().position(|b| *b == b'\n') {
            let end = start + offset;
            let mut line = &self.pending[start..end];
            if let Some(stripped) = line.strip_suffix(b"\r") {
                line = stripped;
            }
            let line = String::from_utf8_lossy(line).into_owned();
            if let Some(event) = self.line(&line) {
                out.push(event);
            }
            start = end + 1;
        }
        self.pending.drain(..start);
        out
    }

    /// Ends the body: an event not yet closed by a blank line is still delivered.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let rest = std::mem::take(&mut self.pending);
        if !rest.is_empty() {
            let line = String::from_utf8_lossy(rest.strip_suffix(b"\r").unwrap_or(&rest));
            if let Some(event) = self.line(&line) {
                return Some(event);
            }
        }
        self.dispatch()
    }

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

    fn all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut f = SseFramer::new();
        let mut out: Vec<SseEvent> = chunks.iter().flat_map(|c| f.push(c)).collect();
        out.extend(f.finish());
        out
    }

    const ANTHROPIC: &str = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n\
        event: ping\ndata: {\"type\": \"ping\"}\n\n\
        event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n";

    #[test]
    fn named_events_in_one_chunk() {
        let events = all(&[ANTHROPIC.as_bytes()]);
        assert_eq!(
            events,
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
        let whole = all(&[ANTHROPIC.as_bytes()]);
        let bytes = ANTHROPIC.as_bytes();
        for cut in 0..=bytes.len() {
            assert_eq!(all(&[&bytes[..cut], &bytes[cut..]]), whole, "cut at {cut}");
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(all(&singles), whole);
    }

    #[test]
    fn crlf_is_tolerated_even_split_between_cr_and_lf() {
        let text = "data: {\"a\":1}\r\n\r\ndata: [DONE]\r\n\r\n";
        let expected = [ev(None, "{\"a\":1}"), ev(None, "[DONE]")];
        assert_eq!(all(&[text.as_bytes()]), expected);
        let cr = text.find('\r').unwrap() + 1;
        assert_eq!(
            all(&[&text.as_bytes()[..cr], &text.as_bytes()[cr..]]),
            expected
        );
    }

    #[test]
    fn multi_line_data_comments_and_other_fields() {
        let text = ": keep-alive\nid: 7\nretry: 100\ndata: first\ndata:second\ndata\n\n:only a comment\n\n";
        assert_eq!(all(&[text.as_bytes()]), [ev(None, "first\nsecond\n")]);
    }

    #[test]
    fn unterminated_last_event_is_delivered_at_the_end() {
        assert_eq!(all(&[b"event: x\ndata: tail"]), [ev(Some("x"), "tail")]);
        assert_eq!(all(&[b"event: lonely\n\n"]), []);
    }

    #[test]
    fn utf8_split_across_chunks() {
        let text = "data: héllo\n\n".as_bytes();
        let cut = 8; // inside the two bytes of é
        assert_eq!(all(&[&text[..cut], &text[cut..]]), [ev(None, "héllo")]);
    }
}
