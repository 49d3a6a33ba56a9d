//! Request building: a provider-neutral [`CompletionRequest`] as the JSON body of
//! `POST /v1/messages`.
//!
//! The body is written with its own serde types rather than by serializing the neutral ones,
//! so a change to the neutral types' serde shape can never silently change the wire.

use hypernet_plugin_api::provider::{CompletionRequest, ContentBlock, Role, ToolSpec};
use serde::Serialize;
use serde_json::Value;

/// What the body needs besides the request itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyOptions<'a> {
    /// The model id without the routing prefix.
    pub model: &'a str,
    /// Mark the system prompt and the last tool as prompt-cache breakpoints.
    pub cache: bool,
    /// Upper bound on `max_tokens`, whatever the request asks.
    pub max_tokens_cap: Option<u32>,
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<System<'a>>,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

#[derive(Serialize)]
#[serde(untagged)]
enum System<'a> {
    Plain(&'a str),
    Blocks([SystemBlock<'a>; 1]),
}

#[derive(Serialize)]
struct SystemBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
    cache_control: CacheControl,
}

#[derive(Serialize)]
struct CacheControl {
    #[serde(rename = "type")]
    kind: &'static str,
}

const EPHEMERAL: CacheControl = CacheControl { kind: "ephemeral" };

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: Vec<WireBlock<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: &'a str,
        is_error: bool,
    },
}

#[derive(Serialize)]
struct WireTool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<CacheControl>,
}

fn role(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

fn block(block: &ContentBlock) -> WireBlock<'_> {
    match block {
        ContentBlock::Text { text } => WireBlock::Text { text },
        ContentBlock::ToolUse { id, name, input } => WireBlock::ToolUse { id, name, input },
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => WireBlock::ToolResult {
            tool_use_id,
            content,
            is_error: *is_error,
        },
    }
}

fn tools(specs: &[ToolSpec], cache: bool) -> Vec<WireTool<'_>> {
    let last = specs.len().saturating_sub(1);
    specs
        .iter()
        .enumerate()
        .map(|(i, t)| WireTool {
            name: &t.name,
            description: &t.description,
            input_schema: &t.input_schema,
            cache_control: (cache && i == last).then_some(EPHEMERAL),
        })
        .collect()
}

/// The JSON body of a Messages API call.
pub(crate) fn body(request: &CompletionRequest, options: BodyOptions<'_>) -> String {
    let system = request.system.as_deref().map(|text| {
        if options.cache {
            System::Blocks([SystemBlock {
                kind: "text",
                text,
                cache_control: EPHEMERAL,
            }])
        } else {
            System::Plain(text)
        }
    });
    let max_tokens = options
        .max_tokens_cap
        .map_or(request.max_tokens, |cap| request.max_tokens.min(cap));
    let body = Body {
        model: options.model,
        max_tokens,
        system,
        messages: request
            .messages
            .iter()
            .map(|m| WireMessage {
                role: role(m.role),
                // The API refuses empty text blocks (an answer that only called tools).
                content: m
                    .content
                    .iter()
                    .filter(|b| !matches!(b, ContentBlock::Text { text } if text.is_empty()))
                    .map(block)
                    .collect(),
            })
            .collect(),
        tools: tools(&request.tools, options.cache),
        temperature: request.temperature,
        stream: request.stream,
    };
    // Serializing borrowed strings, numbers and `Value`s into a string cannot fail.
    serde_json::to_string(&body).expect("a Messages body always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::provider::Message;
    use serde_json::json;

    fn options(cache: bool) -> BodyOptions<'static> {
        BodyOptions {
            model: "claude-sonnet-4-5",
            cache,
            max_tokens_cap: None,
        }
    }

    fn parsed(request: &CompletionRequest, options: BodyOptions<'_>) -> Value {
        serde_json::from_str(&body(request, options)).unwrap()
    }

    #[test]
    fn tool_calls_and_results_go_back_as_tool_use_and_tool_result_blocks() {
        use hypernet_plugin_api::provider::Role;
        let mut req = CompletionRequest::new("x", vec![Message::user("Check T-1")]);
        req.messages.push(Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Text {
                    text: String::new(),
                },
                ContentBlock::ToolUse {
                    id: "toolu_1".into(),
                    name: "task_info".into(),
                    input: json!({"id": "T-1"}),
                },
            ],
        });
        req.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::ToolResult {
                tool_use_id: "toolu_1".into(),
                content: "no task T-1".into(),
                is_error: true,
            }],
        });
        assert_eq!(
            parsed(&req, options(false))["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "Check T-1"}]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "task_info", "input": {"id": "T-1"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "no task T-1", "is_error": true}
                ]}
            ])
        );
    }

    #[test]
    fn minimal_request_has_only_the_required_fields() {
        let req = CompletionRequest::new("anthropic/claude-sonnet-4-5", vec![Message::user("Hi")]);
        assert_eq!(
            parsed(&req, options(true)),
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 1024,
                "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
            })
        );
    }

    #[test]
    fn uncached_system_is_a_string_and_tools_carry_no_cache_control() {
        let mut req = CompletionRequest::new("x", vec![Message::user("Hi")]);
        req.system = Some("You are terse.".into());
        req.tools = vec![ToolSpec {
            name: "read".into(),
            description: "Read a file".into(),
            input_schema: json!({"type": "object"}),
        }];
        let body = parsed(&req, options(false));
        assert_eq!(body["system"], json!("You are terse."));
        assert_eq!(
            body["tools"],
            json!([{"name": "read", "description": "Read a file", "input_schema": {"type": "object"}}])
        );
    }

    #[test]
    fn temperature_keeps_its_decimal_form_and_cap_bounds_max_tokens() {
        let mut req = CompletionRequest::new("x", vec![Message::user("Hi")]);
        req.temperature = Some(0.2);
        req.max_tokens = 8000;
        let text = body(
            &req,
            BodyOptions {
                max_tokens_cap: Some(4096),
                ..options(false)
            },
        );
        assert!(text.contains("\"temperature\":0.2"), "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["max_tokens"], 4096);
        req.max_tokens = 100;
        let body = parsed(
            &req,
            BodyOptions {
                max_tokens_cap: Some(4096),
                ..options(false)
            },
        );
        assert_eq!(body["max_tokens"], 100);
    }
}
