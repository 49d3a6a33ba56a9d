//! Request building: body, headers, URL, model prefix, model listing.

use super::*;
use hypernet_plugin_api::provider::{ContentBlock, Message, Role, ToolSpec};
use serde_json::{Value, json};

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
