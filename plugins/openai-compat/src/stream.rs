//! One `data:` chunk of a streamed answer (`object: "chat.completion.chunk"`).
//!
//! Parsing is stateless: one provider instance may have several streams in flight, and
//! their events reach it interleaved, so nothing is remembered between chunks. This works
//! because the format puts a tool call's `id` and `name` only in its first fragment: a
//! fragment with a name starts the call at its `index`, and every non-empty `arguments`
//! piece continues it.

use crate::error::classify_error_object;
use crate::wire::{WireToolCall, WireUsage, excerpt, lenient_string, stop_reason};
use hypernet_plugin_api::provider::{ProviderError, SseEvent, StreamDelta};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default, deserialize_with = "lenient_string")]
    model: Option<String>,
    /// `[]` on the usage chunk; some servers write `null`.
    #[serde(default)]
    choices: Option<Vec<ChunkChoice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Default, Deserialize)]
struct Delta {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

/// Maps one server-sent event to deltas:
///
/// - the chunk with `delta.role` (the first) gives [`StreamDelta::Model`];
/// - non-empty `delta.content` (and `delta.refusal`) gives [`StreamDelta::Text`];
/// - a tool-call fragment with a `name` gives [`StreamDelta::ToolCallStart`] (its id, or
///   `call_<index>` when the server sends none), and non-empty `arguments` give
///   [`StreamDelta::ToolCallArguments`], whether they come in pieces or whole;
/// - `finish_reason` gives [`StreamDelta::Stop`];
/// - `usage`, on its own chunk with `choices: []` or on the finish chunk, gives
///   [`StreamDelta::Usage`] (cached tokens moved to `cache_read_tokens`, as in
///   [`parse_completion`](crate::parse_completion));
/// - `[DONE]`, empty data and unknown fields give nothing;
/// - `{"error":{…}}` is an `Err`, classified by [`classify_error_object`].
///
/// ```
/// use hypernet_openai_compat::parse_chunk;
/// use hypernet_plugin_api::provider::{SseEvent, StreamDelta};
///
/// let event = SseEvent { event: None, data: r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#.into() };
/// assert_eq!(parse_chunk(&event).unwrap(), vec![StreamDelta::Text { text: "Hi".into() }]);
/// let done = SseEvent { event: None, data: "[DONE]".into() };
/// assert!(parse_chunk(&done).unwrap().is_empty());
/// ```
pub fn parse_chunk(event: &SseEvent) -> Result<Vec<StreamDelta>, ProviderError> {
    let data = event.data.trim();
    if data.is_empty() || data == "[DONE]" {
        return Ok(Vec::new());
    }
    let chunk: Chunk = serde_json::from_str(data).map_err(|e| ProviderError::Malformed {
        message: format!(
            "a stream chunk is not the expected JSON ({e}): {}",
            excerpt(data)
        ),
    })?;
    if let Some(error) = chunk.error.filter(|e| !e.is_null()) {
        return Err(classify_error_object(&error));
    }
    let mut deltas = Vec::new();
    if let Some(choice) = chunk.choices.into_iter().flatten().next() {
        let delta = choice.delta.unwrap_or_default();
        if delta.role.is_some()
            && let Some(model) = chunk.model.filter(|m| !m.is_empty())
        {
            deltas.push(StreamDelta::Model { model });
        }
        for text in [delta.content, delta.refusal].into_iter().flatten() {
            if !text.is_empty() {
                deltas.push(StreamDelta::Text { text });
            }
        }
        for (position, call) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
            tool_call_deltas(&mut deltas, position, call);
        }
        if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
            deltas.push(StreamDelta::Stop {
                reason: stop_reason(&reason),
            });
        }
    }
    if let Some(usage) = chunk.usage {
        deltas.push(StreamDelta::Usage {
            usage: usage.to_usage(),
        });
    }
    Ok(deltas)
}

fn tool_call_deltas(deltas: &mut Vec<StreamDelta>, position: usize, call: WireToolCall) {
    let index = call.index.unwrap_or(position as u32);
    let function = call.function.unwrap_or_default();
    if let Some(name) = function.name.clone().filter(|n| !n.is_empty()) {
        let id = call
            .id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| format!("call_{index}"));
        deltas.push(StreamDelta::ToolCallStart { index, id, name });
    }
    let fragment = function.arguments_text();
    if !fragment.is_empty() {
        deltas.push(StreamDelta::ToolCallArguments { index, fragment });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::provider::{
        Completion, CompletionBuilder, StopReason, ToolCall, Usage,
    };
    use serde_json::json;

    fn data(d: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: d.into(),
        }
    }

    /// A documented stream: role chunk with `content: ""`, text, two tool calls whose
    /// argument fragments interleave and break mid-token, a finish chunk with an empty
    /// delta, the usage chunk with `choices: []`, then `[DONE]`. Other chunks carry
    /// `usage: null` and newer fields (`obfuscation`, `service_tier`).
    const STREAM: &[&str] = &[
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Let me "},"finish_reason":null}],"usage":null,"obfuscation":"a1"}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"look."},"finish_reason":null}],"service_tier":"default"}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"read","arguments":""}}]},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"pa"}}]},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"list","arguments":"{\"di"}}]},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"th\": \"a.t"}}]},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"r\":\"/tmp\"}"}}]},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"xt\"}"}}]},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":45,"total_tokens":1245,"prompt_tokens_details":{"cached_tokens":1024},"completion_tokens_details":{"reasoning_tokens":0}}}"#,
        "[DONE]",
    ];

    #[test]
    fn each_chunk_gives_its_deltas() {
        let per_chunk: Vec<Vec<StreamDelta>> = STREAM
            .iter()
            .map(|d| parse_chunk(&data(d)).unwrap())
            .collect();
        let args = |index: u32, fragment: &str| {
            vec![StreamDelta::ToolCallArguments {
                index,
                fragment: fragment.into(),
            }]
        };
        let expected = vec![
            vec![StreamDelta::Model {
                model: "gpt-4o-2024-08-06".into(),
            }],
            vec![StreamDelta::Text {
                text: "Let me ".into(),
            }],
            vec![StreamDelta::Text {
                text: "look.".into(),
            }],
            vec![StreamDelta::ToolCallStart {
                index: 0,
                id: "call_A".into(),
                name: "read".into(),
            }],
            args(0, "{\"pa"),
            vec![
                StreamDelta::ToolCallStart {
                    index: 1,
                    id: "call_B".into(),
                    name: "list".into(),
                },
                StreamDelta::ToolCallArguments {
                    index: 1,
                    fragment: "{\"di".into(),
                },
            ],
            args(0, "th\": \"a.t"),
            args(1, "r\":\"/tmp\"}"),
            args(0, "xt\"}"),
            vec![StreamDelta::Stop {
                reason: StopReason::ToolUse,
            }],
            vec![StreamDelta::Usage {
                usage: Usage {
                    input_tokens: 176,
                    output_tokens: 45,
                    cache_read_tokens: 1024,
                    cache_write_tokens: 0,
                },
            }],
            vec![],
        ];
        assert_eq!(per_chunk, expected);
    }

    #[test]
    fn a_documented_stream_folds_into_the_completion() {
        let mut builder = CompletionBuilder::new("openai/gpt-4o");
        for d in STREAM {
            for delta in parse_chunk(&data(d)).unwrap() {
                builder.push(delta);
            }
        }
        assert_eq!(
            builder.finish().unwrap(),
            Completion {
                model: "gpt-4o-2024-08-06".into(),
                text: "Let me look.".into(),
                tool_calls: vec![
                    ToolCall {
                        id: "call_A".into(),
                        name: "read".into(),
                        arguments: json!({"path": "a.txt"}),
                    },
                    ToolCall {
                        id: "call_B".into(),
                        name: "list".into(),
                        arguments: json!({"dir": "/tmp"}),
                    },
                ],
                stop_reason: StopReason::ToolUse,
                usage: Usage {
                    input_tokens: 176,
                    output_tokens: 45,
                    cache_read_tokens: 1024,
                    cache_write_tokens: 0,
                },
                simulated: false,
            }
        );
    }

    #[test]
    fn whole_tool_calls_and_usage_on_the_finish_chunk() {
        // Ollama sends a call whole; older llama.cpp puts usage on the finish chunk.
        let deltas = parse_chunk(&data(
            r#"{"id":"chatcmpl-9","object":"chat.completion.chunk","model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"hmm","tool_calls":[{"id":"call_x1","index":0,"type":"function","function":{"name":"read","arguments":"{\"path\":\"b\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30,"completion_tokens":9},"timings":{"predicted_ms":12.5}}"#,
        ))
        .unwrap();
        assert_eq!(
            deltas,
            vec![
                StreamDelta::Model {
                    model: "qwen3:8b".into()
                },
                StreamDelta::ToolCallStart {
                    index: 0,
                    id: "call_x1".into(),
                    name: "read".into()
                },
                StreamDelta::ToolCallArguments {
                    index: 0,
                    fragment: "{\"path\":\"b\"}".into()
                },
                StreamDelta::Stop {
                    reason: StopReason::ToolUse
                },
                StreamDelta::Usage {
                    usage: Usage {
                        input_tokens: 30,
                        output_tokens: 9,
                        ..Usage::default()
                    }
                },
            ]
        );
    }

    #[test]
    fn an_error_chunk_mid_stream_is_a_classified_error() {
        assert!(parse_chunk(&data(STREAM[1])).is_ok());
        let err = parse_chunk(&data(
            r#"{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}"#,
        ))
        .unwrap_err();
        assert_eq!(
            err,
            ProviderError::Server {
                status: 500,
                message: "The server had an error while processing your request.".into()
            }
        );
        let err = parse_chunk(&data(
            r#"{"error":{"message":"Rate limit reached","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#,
        ))
        .unwrap_err();
        assert!(matches!(err, ProviderError::RateLimited { .. }));
    }

    #[test]
    fn garbage_is_malformed_and_keepalives_are_nothing() {
        assert!(matches!(
            parse_chunk(&data("{not json")),
            Err(ProviderError::Malformed { .. })
        ));
        assert!(parse_chunk(&data("")).unwrap().is_empty());
        assert_eq!(
            parse_chunk(&data(
                r#"{"choices":null,"usage":{"prompt_tokens":5,"completion_tokens":null}}"#
            ))
            .unwrap(),
            vec![StreamDelta::Usage {
                usage: Usage {
                    input_tokens: 5,
                    ..Usage::default()
                }
            }]
        );
        assert!(parse_chunk(&data(" [DONE] ")).unwrap().is_empty());
        assert!(
            parse_chunk(&data(r#"{"choices":[{"index":0,"delta":{"content":""}}]}"#))
                .unwrap()
                .is_empty()
        );
    }
}
