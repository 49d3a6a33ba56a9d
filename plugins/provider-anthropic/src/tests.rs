//! The provider through its `Provider` trait: config, start, request building, parsing of
//! documented answers and streams, and error classification.

use super::*;
use hypernet_plugin_api::ErrorCode;
use hypernet_plugin_api::provider::{
    CompletionBuilder, ContentBlock, Message, Role, StopReason, ToolCall, ToolSpec, Usage,
};
use hypernet_plugin_api::testing::TestHost;
use serde_json::{Value, json};

const KEY: &str = "sk-ant-api03-test-key-0123456789";

fn config(value: Value) -> Config {
    let config: Config = serde_json::from_value(value).unwrap();
    Anthropic::validate(&config).unwrap();
    config
}

fn provider(value: Value) -> Anthropic {
    Anthropic::new(config(value), Some(KEY.to_owned())).unwrap()
}

fn http(prepared: Prepared) -> HttpRequest {
    match prepared {
        Prepared::Http { request } => request,
        Prepared::Simulated { .. } => panic!("the Anthropic provider simulated a call"),
    }
}

fn ok(body: &str) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("request-id".into(), "req_01".into())],
        body: body.to_owned(),
    }
}

/// A worker's second call: it asked to read a file and now sends the result back.
fn tool_round_trip_request() -> CompletionRequest {
    let mut req = CompletionRequest::new(
        "anthropic/claude-sonnet-4-5",
        vec![
            Message::user("What is in config.toml?"),
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::Text {
                        text: "Let me read it.".into(),
                    },
                    ContentBlock::ToolUse {
                        id: "toolu_01A09q90qw90lq917835lq9".into(),
                        name: "read_file".into(),
                        input: json!({"path": "config.toml"}),
                    },
                ],
            },
            Message {
                role: Role::User,
                content: vec![ContentBlock::ToolResult {
                    tool_use_id: "toolu_01A09q90qw90lq917835lq9".into(),
                    content: "no such file".into(),
                    is_error: true,
                }],
            },
        ],
    );
    req.system = Some("You are a careful build engineer.".into());
    req.tools = vec![
        ToolSpec {
            name: "read_file".into(),
            description: "Read a file of the workspace".into(),
            input_schema: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
        },
        ToolSpec {
            name: "list_dir".into(),
            description: "List a directory".into(),
            input_schema: json!({"type": "object", "properties": {}}),
        },
    ];
    req.max_tokens = 2048;
    req.temperature = Some(0.5);
    req.stream = true;
    req
}

#[test]
fn prepare_builds_the_documented_request() {
    let mut p = provider(json!({"base_url": "https://gateway.example/anthropic/"}));
    let req = http(p.prepare(&tool_round_trip_request()).unwrap());
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, "https://gateway.example/anthropic/v1/messages");
    assert_eq!(
        req.headers,
        vec![
            ("x-api-key".to_owned(), KEY.to_owned()),
            ("anthropic-version".to_owned(), "2023-06-01".to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ]
    );
    let body: Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(
        body,
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 2048,
            "system": [{
                "type": "text",
                "text": "You are a careful build engineer.",
                "cache_control": {"type": "ephemeral"}
            }],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "What is in config.toml?"}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Let me read it."},
                    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "read_file",
                     "input": {"path": "config.toml"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                     "content": "no such file", "is_error": true}
                ]}
            ],
            "tools": [
                {"name": "read_file", "description": "Read a file of the workspace",
                 "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}},
                {"name": "list_dir", "description": "List a directory",
                 "input_schema": {"type": "object", "properties": {}},
                 "cache_control": {"type": "ephemeral"}}
            ],
            "temperature": 0.5,
            "stream": true
        })
    );
}

#[test]
fn config_changes_version_caching_prefix_and_cap() {
    let mut p = provider(json!({
        "anthropic_version": "2024-01-01",
        "cache_system": false,
        "prefix": "claude",
        "max_tokens_cap": 1000
    }));
    let mut request = tool_round_trip_request();
    request.model = "claude/claude-haiku-4-5".into();
    request.stream = false;
    let req = http(p.prepare(&request).unwrap());
    assert_eq!(req.url, "https://api.anthropic.com/v1/messages");
    assert_eq!(
        req.headers[1],
        ("anthropic-version".into(), "2024-01-01".into())
    );
    let body: Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body["model"], "claude-haiku-4-5");
    assert_eq!(body["system"], "You are a careful build engineer.");
    assert_eq!(body["max_tokens"], 1000);
    assert!(body.get("stream").is_none());
    assert!(!req.body.contains("cache_control"), "{}", req.body);
}

#[test]
fn models_without_the_prefix_are_bad_requests() {
    let mut p = provider(json!({}));
    for model in [
        "claude-sonnet-4-5",
        "anthropicx/claude-sonnet-4-5",
        "openai/gpt-5",
        "anthropic/",
    ] {
        let req = CompletionRequest::new(model, vec![Message::user("hi")]);
        match p.prepare(&req) {
            Err(ProviderError::BadRequest { message }) => {
                assert!(message.contains(model), "{message}");
                assert!(message.contains("anthropic/<model id>"), "{message}");
            }
            other => panic!("{model}: expected a bad request, got {other:?}"),
        }
    }
}

#[test]
fn describe_serves_the_prefix_remotely() {
    assert_eq!(
        provider(json!({"prefix": "claude"})).describe(),
        ProviderInfo {
            models: vec!["claude/".into()],
            local: false,
            simulated: false,
        }
    );
}

#[test]
fn validate_names_the_field_and_value_at_fault() {
    let err = |v: Value| {
        let c: Config = serde_json::from_value(v).unwrap();
        Anthropic::validate(&c).unwrap_err()
    };
    let e = err(json!({"prefix": ""}));
    assert_eq!(e.code(), ErrorCode::Invalid);
    assert!(e.message().contains("`prefix`"), "{e}");
    let e = err(json!({"base_url": "api.anthropic.com"}));
    assert!(e.message().contains("`base_url`"), "{e}");
    assert!(e.message().contains("api.anthropic.com"), "{e}");
    assert!(
        serde_json::from_value::<Config>(json!({"base_ulr": "https://x"}))
            .unwrap_err()
            .to_string()
            .contains("base_ulr")
    );
    config(json!({"base_url": "http://127.0.0.1:8080"}));
}

#[test]
fn start_fails_when_the_key_variable_is_unset_or_empty() {
    // A variable no test sets, so the check reads the real environment without racing.
    let name = "HYPERNET_TEST_ANTHROPIC_KEY_NEVER_SET_7f3a";
    let err = Anthropic::start(
        config(json!({"api_key_env": name})),
        TestHost::new("provider-anthropic").host(),
    )
    .unwrap_err();
    assert_eq!(
        err.message(),
        format!("environment variable {name} is not set; provider-anthropic needs an API key")
    );
    let err =
        Anthropic::new(config(json!({"api_key_env": "MY_KEY"})), Some("  ".into())).unwrap_err();
    assert!(err.message().contains("MY_KEY"), "{err}");
}

#[test]
fn start_reads_the_key_and_never_shows_it() {
    let name = "HYPERNET_TEST_ANTHROPIC_KEY_SET_c91e";
    // SAFETY: only this test touches this variable, and nothing in this test binary reads
    // the environment outside Rust's own synchronized `std::env`.
    unsafe { std::env::set_var(name, KEY) };
    let mut p = Anthropic::start(
        config(json!({"api_key_env": name})),
        TestHost::new("provider-anthropic").host(),
    )
    .unwrap();
    let req = http(
        p.prepare(&CompletionRequest::new(
            "anthropic/claude-sonnet-4-5",
            vec![Message::user("hi")],
        ))
        .unwrap(),
    );
    assert_eq!(req.headers[0], ("x-api-key".into(), KEY.into()));
    let debug = format!("{p:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("redacted"), "{debug}");
    let errors = [
        p.prepare(&CompletionRequest::new("gpt-5", vec![]))
            .unwrap_err()
            .to_string(),
        p.classify_error(&HttpResponse {
            status: 401,
            headers: vec![],
            body: "{}".into(),
        })
        .to_string(),
    ];
    assert!(errors.iter().all(|e| !e.contains(KEY)), "{errors:?}");
}

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

#[test]
fn lists_models_with_the_routing_prefix() {
    let mut p = provider(json!({"base_url": "https://api.anthropic.com/"}));
    let req = p.list_models().unwrap();
    assert_eq!(req.method, "GET");
    assert_eq!(req.url, "https://api.anthropic.com/v1/models?limit=1000");
    assert_eq!(
        req.headers,
        vec![
            ("x-api-key".to_owned(), KEY.to_owned()),
            ("anthropic-version".to_owned(), "2023-06-01".to_owned()),
        ]
    );
    let body = r#"{"data":[
        {"type":"model","id":"claude-sonnet-4-5-20250929","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"},
        {"type":"model","id":"claude-haiku-4-5-20251001","display_name":"Claude Haiku 4.5","created_at":"2025-10-01T00:00:00Z"}
    ],"has_more":false,"first_id":"claude-sonnet-4-5-20250929","last_id":"claude-haiku-4-5-20251001"}"#;
    assert_eq!(
        p.parse_models(&ok(body)).unwrap(),
        vec![
            "anthropic/claude-sonnet-4-5-20250929".to_owned(),
            "anthropic/claude-haiku-4-5-20251001".to_owned()
        ]
    );
}
