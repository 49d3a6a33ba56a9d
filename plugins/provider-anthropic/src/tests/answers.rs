//! Parsing of documented answers and streams, and error classification.

use super::*;
use hypernet_plugin_api::provider::{CompletionBuilder, Message, StopReason, ToolCall, Usage};
use serde_json::json;

#[test]
fn parses_a_documented_answer_with_text_tool_use_and_cache_usage() {
    let body = r#"{
      "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
      "type": "message",
      "role": "assistant",
      "model": "claude-sonnet-4-5-20250929",
      "content": [
        {"type": "text", "text": "I'll check the weather. "},
        {"type": "text", "text": "One moment."},
        {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
         "input": {"location": "San Francisco, CA", "unit": "celsius"}, "caller": {"type": "direct"}}
      ],
      "stop_reason": "tool_use",
      "stop_sequence": null,
      "usage": {
        "input_tokens": 21,
        "cache_creation_input_tokens": 188,
        "cache_read_input_tokens": 1432,
        "cache_creation": {"ephemeral_5m_input_tokens": 188, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 393,
        "service_tier": "standard"
      }
    }"#;
    let mut p = provider(json!({}));
    let req = CompletionRequest::new("anthropic/claude-sonnet-4-5", vec![Message::user("hi")]);
    let c = p.parse_response(&req, &ok(body)).unwrap();
    assert_eq!(
        c,
        Completion {
            model: "claude-sonnet-4-5-20250929".into(),
            text: "I'll check the weather. One moment.".into(),
            tool_calls: vec![ToolCall {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                arguments: json!({"location": "San Francisco, CA", "unit": "celsius"}),
            }],
            stop_reason: StopReason::ToolUse,
            usage: Usage {
                input_tokens: 21,
                output_tokens: 393,
                cache_read_tokens: 1432,
                cache_write_tokens: 188,
            },
            simulated: false,
        }
    );
}

#[test]
fn malformed_answers_are_reported_with_an_excerpt() {
    let mut p = provider(json!({}));
    let req = CompletionRequest::new("anthropic/claude-sonnet-4-5", vec![Message::user("hi")]);
    let body = format!("<html>upstream proxy error {}</html>", "x".repeat(500));
    match p.parse_response(&req, &ok(&body)) {
        Err(ProviderError::Malformed { message }) => {
            assert!(message.contains("<html>upstream proxy error"), "{message}");
            assert!(message.len() < 400, "excerpt too long: {}", message.len());
        }
        other => panic!("expected a malformed error, got {other:?}"),
    }
    assert!(matches!(
        p.parse_response(&req, &ok(r#"{"type":"message","content":"nope"}"#)),
        Err(ProviderError::Malformed { .. })
    ));
}

/// Frames an SSE text into events, the way the host does.
fn sse(text: &str) -> Vec<SseEvent> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = Some(name.to_owned());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push(d);
                }
            }
            SseEvent {
                event,
                data: data.join("\n"),
            }
        })
        .collect()
}

const STREAM: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":1830,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me read"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the config."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"read_file","input":{},"caller":{"type":"direct"}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"pa"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"th\": \"conf"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ig.toml\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

"#;

#[test]
fn a_documented_stream_folds_into_the_completion() {
    let mut p = provider(json!({}));
    let mut builder = CompletionBuilder::new("anthropic/claude-sonnet-4-5");
    let events = sse(STREAM);
    assert_eq!(events.len(), 14);
    for event in &events {
        for delta in p.parse_stream_event(event).unwrap() {
            builder.push(delta);
        }
    }
    assert_eq!(
        builder.finish().unwrap(),
        Completion {
            model: "claude-sonnet-4-5-20250929".into(),
            text: "Let me read the config.".into(),
            tool_calls: vec![ToolCall {
                id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
                name: "read_file".into(),
                arguments: json!({"path": "config.toml"}),
            }],
            stop_reason: StopReason::ToolUse,
            usage: Usage {
                input_tokens: 472,
                output_tokens: 89,
                cache_read_tokens: 1830,
                cache_write_tokens: 0,
            },
            simulated: false,
        }
    );
}

#[test]
fn stream_events_map_to_their_deltas() {
    let mut p = provider(json!({}));
    let events = sse(STREAM);
    let deltas = |p: &mut Anthropic, i: usize| p.parse_stream_event(&events[i]).unwrap();
    assert_eq!(
        deltas(&mut p, 0),
        vec![
            StreamDelta::Model {
                model: "claude-sonnet-4-5-20250929".into()
            },
            StreamDelta::Usage {
                usage: Usage {
                    input_tokens: 472,
                    output_tokens: 1,
                    cache_read_tokens: 1830,
                    cache_write_tokens: 0
                }
            }
        ]
    );
    // An empty text block start, a ping and block stops carry nothing.
    for i in [1, 2, 5, 11, 13] {
        assert_eq!(deltas(&mut p, i), vec![], "event {i}");
    }
    assert_eq!(
        deltas(&mut p, 6),
        vec![StreamDelta::ToolCallStart {
            index: 1,
            id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
            name: "read_file".into()
        }]
    );
    assert_eq!(
        deltas(&mut p, 7),
        vec![StreamDelta::ToolCallArguments {
            index: 1,
            fragment: String::new()
        }]
    );
    assert_eq!(
        deltas(&mut p, 12),
        vec![
            StreamDelta::Stop {
                reason: StopReason::ToolUse
            },
            StreamDelta::Usage {
                usage: Usage {
                    output_tokens: 89,
                    ..Usage::default()
                }
            }
        ]
    );
}

#[test]
fn unknown_events_and_block_kinds_are_ignored() {
    let mut p = provider(json!({}));
    let events = sse(concat!(
        "event: future_event\ndata: not even json\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n",
        "data: {\"type\":\"brand_new\",\"x\":1}\n\n",
    ));
    for event in &events {
        assert_eq!(p.parse_stream_event(event).unwrap(), vec![], "{event:?}");
    }
    let broken = SseEvent {
        event: Some("content_block_delta".into()),
        data: "{\"type\":\"content_block_delta\",".into(),
    };
    assert!(matches!(
        p.parse_stream_event(&broken),
        Err(ProviderError::Malformed { .. })
    ));
}

#[test]
fn an_error_event_mid_stream_is_a_classified_error() {
    let mut p = provider(json!({}));
    let events = sse(concat!(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    ));
    assert_eq!(
        p.parse_stream_event(&events[0]).unwrap(),
        vec![StreamDelta::Text { text: "Hel".into() }]
    );
    assert_eq!(
        p.parse_stream_event(&events[1]),
        Err(ProviderError::Overloaded {
            message: "Overloaded".into(),
            retry_after_ms: None
        })
    );
    let error_event = |kind: &str| SseEvent {
        event: Some("error".into()),
        data: json!({"type": "error", "error": {"type": kind, "message": "m"}}).to_string(),
    };
    assert_eq!(
        p.parse_stream_event(&error_event("rate_limit_error")),
        Err(ProviderError::RateLimited {
            message: "m".into(),
            retry_after_ms: None
        })
    );
    assert_eq!(
        p.parse_stream_event(&error_event("api_error")),
        Err(ProviderError::Server {
            status: 500,
            message: "m".into()
        })
    );
    assert_eq!(
        p.parse_stream_event(&error_event("invalid_request_error")),
        Err(ProviderError::BadRequest {
            message: "m".into()
        })
    );
}

#[test]
fn classify_error_uses_the_error_body() {
    let p = provider(json!({}));
    let response = HttpResponse {
        status: 529,
        headers: vec![("retry-after-ms".into(), "250".into())],
        body: r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#.into(),
    };
    assert_eq!(
        p.classify_error(&response),
        ProviderError::Overloaded {
            message: "Overloaded".into(),
            retry_after_ms: Some(250)
        }
    );
}
