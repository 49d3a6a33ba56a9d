//! Response parsing: a Messages API JSON answer as a [`Completion`], and streamed events as
//! [`StreamDelta`]s.

use crate::errors::{ApiError, classify};
use hypernet_plugin_api::provider::{
    Completion, ProviderError, SseEvent, StopReason, StreamDelta, ToolCall, Usage,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Deserialize)]
struct WireResponse {
    model: String,
    content: Vec<WireContent>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireContent {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Thinking, server tool results and block types newer than this code.
    #[serde(other)]
    Other,
}

/// Counts as Anthropic reports them; the cache fields are optional and may be `null`.
#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    fn neutral(&self) -> Usage {
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0),
            output_tokens: self.output_tokens.unwrap_or(0),
            cache_read_tokens: self.cache_read_input_tokens.unwrap_or(0),
            cache_write_tokens: self.cache_creation_input_tokens.unwrap_or(0),
        }
    }
}

fn stop_reason(reason: &str) -> StopReason {
    match reason {
        "end_turn" => StopReason::EndTurn,
        "max_tokens" => StopReason::MaxTokens,
        "tool_use" => StopReason::ToolUse,
        "stop_sequence" => StopReason::StopSequence,
        "refusal" => StopReason::Refusal,
        other => StopReason::Other(other.to_owned()),
    }
}

fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, ProviderError> {
    serde_json::from_str(text).map_err(|e| ProviderError::Malformed {
        message: format!(
            "{what} is not a Messages API answer ({e}): {}",
            excerpt(text)
        ),
    })
}

/// Parses the body of a successful non-streamed call.
pub(crate) fn completion(body: &str) -> Result<Completion, ProviderError> {
    let response: WireResponse = from_json("response body", body)?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in response.content {
        match block {
            WireContent::Text { text: t } => text.push_str(&t),
            WireContent::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                name,
                arguments: input,
            }),
            WireContent::Other => {}
        }
    }
    let stop_reason = match response.stop_reason.as_deref() {
        Some(reason) => stop_reason(reason),
        None if tool_calls.is_empty() => StopReason::EndTurn,
        None => StopReason::ToolUse,
    };
    Ok(Completion {
        model: response.model,
        text,
        tool_calls,
        stop_reason,
        usage: response.usage.neutral(),
        simulated: false,
    })
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: WireContent,
    },
    ContentBlockDelta {
        index: u32,
        delta: WireDelta,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    Error {
        error: ApiError,
    },
    /// `content_block_stop`, `message_stop`, `ping` and events newer than this code carry
    /// nothing the answer needs.
    #[serde(other)]
    Ignored,
}

#[derive(Deserialize)]
struct StartMessage {
    model: String,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    /// Thinking and signature deltas, and kinds newer than this code.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

/// Event names this code reads; any other named event is skipped without parsing its data,
/// as the API's versioning policy asks.
const KNOWN_EVENTS: [&str; 8] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

/// Maps one server-sent event of a streamed call to deltas.
pub(crate) fn stream_event(event: &SseEvent) -> Result<Vec<StreamDelta>, ProviderError> {
    if let Some(name) = event.event.as_deref()
        && !KNOWN_EVENTS.contains(&name)
    {
        return Ok(Vec::new());
    }
    if event.data.trim().is_empty() {
        return Ok(Vec::new());
    }
    let deltas = match from_json::<WireEvent>("stream event", &event.data)? {
        WireEvent::MessageStart { message } => {
            let mut deltas = vec![StreamDelta::Model {
                model: message.model,
            }];
            if let Some(usage) = message.usage {
                deltas.push(StreamDelta::Usage {
                    usage: usage.neutral(),
                });
            }
            deltas
        }
        WireEvent::ContentBlockStart {
            index,
            content_block,
        } => match content_block {
            WireContent::Text { text } if !text.is_empty() => vec![StreamDelta::Text { text }],
            // The block's `input` is always `{}` here; the arguments arrive as deltas.
            WireContent::ToolUse { id, name, .. } => {
                vec![StreamDelta::ToolCallStart { index, id, name }]
            }
            _ => Vec::new(),
        },
        WireEvent::ContentBlockDelta { index, delta } => match delta {
            WireDelta::TextDelta { text } => vec![StreamDelta::Text { text }],
            WireDelta::InputJsonDelta { partial_json } => vec![StreamDelta::ToolCallArguments {
                index,
                fragment: partial_json,
            }],
            WireDelta::Other => Vec::new(),
        },
        WireEvent::MessageDelta { delta, usage } => {
            let mut deltas = Vec::new();
            if let Some(reason) = delta.stop_reason {
                deltas.push(StreamDelta::Stop {
                    reason: stop_reason(&reason),
                });
            }
            if let Some(usage) = usage {
                deltas.push(StreamDelta::Usage {
                    usage: usage.neutral(),
                });
            }
            deltas
        }
        WireEvent::Error { error } => return Err(classify(None, error, None)),
        WireEvent::Ignored => Vec::new(),
    };
    Ok(deltas)
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

/// The model ids in the answer to `GET /v1/models`.
pub(crate) fn model_ids(body: &str) -> Result<Vec<String>, ProviderError> {
    let list: ModelList = from_json("model list", body)?;
    Ok(list.data.into_iter().map(|m| m.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_stop_reason_maps() {
        let cases = [
            ("end_turn", StopReason::EndTurn),
            ("max_tokens", StopReason::MaxTokens),
            ("stop_sequence", StopReason::StopSequence),
            ("tool_use", StopReason::ToolUse),
            ("refusal", StopReason::Refusal),
            ("pause_turn", StopReason::Other("pause_turn".into())),
            (
                "model_context_window_exceeded",
                StopReason::Other("model_context_window_exceeded".into()),
            ),
        ];
        for (wire, expected) in cases {
            let body = format!(
                r#"{{"model":"m","content":[],"stop_reason":"{wire}","usage":{{"input_tokens":1,"output_tokens":2}}}}"#
            );
            assert_eq!(completion(&body).unwrap().stop_reason, expected, "{wire}");
        }
    }

    #[test]
    fn null_cache_fields_count_as_zero() {
        let body = r#"{"model":"m","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn",
            "usage":{"input_tokens":5,"output_tokens":7,"cache_creation_input_tokens":null,"cache_read_input_tokens":null}}"#;
        assert_eq!(
            completion(body).unwrap().usage,
            Usage {
                input_tokens: 5,
                output_tokens: 7,
                ..Usage::default()
            }
        );
    }
}
