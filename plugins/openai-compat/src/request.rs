//! The `POST /chat/completions` request body.
//!
//! Our conversation model (Anthropic-like: tool calls and tool results are content blocks)
//! maps to Chat Completions messages like this:
//!
//! - the system prompt becomes a leading `system` message;
//! - a user message's text blocks become one `user` message, and each of its
//!   [`ContentBlock::ToolResult`]s becomes a `tool` message
//!   `{role:"tool", tool_call_id, content}`. Tool messages are written *first*, because the
//!   API requires them to follow the assistant message that made the calls;
//! - an assistant message's text becomes `content` (`null` when it only calls tools) and its
//!   [`ContentBlock::ToolUse`]s become
//!   `tool_calls[{id, type:"function", function:{name, arguments}}]`, with the arguments
//!   serialized as a JSON string.
//!
//! The tool role has no error flag, so the content of a failed tool result is prefixed with
//! `Error: `.

use hypernet_plugin_api::provider::{CompletionRequest, ContentBlock, ProviderError, Role};
use serde::Serialize;
use serde_json::Value;

/// Which field carries the output token limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenLimitField {
    /// `max_completion_tokens`: OpenAI, where `max_tokens` is deprecated and rejected by
    /// reasoning models.
    MaxCompletionTokens,
    /// `max_tokens`: local servers (LM Studio, Ollama, llama.cpp), which only know this one.
    MaxTokens,
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum WireMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: String,
    },
    Assistant {
        content: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<WireCall<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: String,
    },
}

#[derive(Serialize)]
struct WireCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireCallFunction<'a>,
}

#[derive(Serialize)]
struct WireCallFunction<'a> {
    name: &'a str,
    arguments: String,
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireToolFunction<'a>,
}

#[derive(Serialize)]
struct WireToolFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

/// The JSON body for `request`, sent for model `model` (the id on the wire, without our
/// routing prefix). Fails when a user message carries a tool call, which the format cannot
/// express.
///
/// ```
/// use hypernet_openai_compat::request::{TokenLimitField, request_body};
/// use hypernet_plugin_api::provider::{CompletionRequest, Message};
///
/// let mut req = CompletionRequest::new("lmstudio/qwen3-8b", vec![Message::user("hi")]);
/// req.max_tokens = 50;
/// let body = request_body(&req, "qwen3-8b", TokenLimitField::MaxTokens).unwrap();
/// assert_eq!(
///     body,
///     r#"{"model":"qwen3-8b","messages":[{"role":"user","content":"hi"}],"max_tokens":50}"#
/// );
/// ```
pub fn request_body(
    request: &CompletionRequest,
    model: &str,
    limit: TokenLimitField,
) -> Result<String, ProviderError> {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if let Some(system) = request.system.as_deref().filter(|s| !s.is_empty()) {
        messages.push(WireMessage::System { content: system });
    }
    for message in &request.messages {
        push_message(&mut messages, message.role, &message.content)?;
    }
    let tools = request
        .tools
        .iter()
        .map(|t| WireTool {
            kind: "function",
            function: WireToolFunction {
                name: &t.name,
                description: &t.description,
                parameters: &t.input_schema,
            },
        })
        .collect();
    let (max_completion_tokens, max_tokens) = match limit {
        TokenLimitField::MaxCompletionTokens => (Some(request.max_tokens), None),
        TokenLimitField::MaxTokens => (None, Some(request.max_tokens)),
    };
    let body = Body {
        model,
        messages,
        tools,
        max_completion_tokens,
        max_tokens,
        temperature: request.temperature,
        stream: request.stream,
        stream_options: request.stream.then_some(StreamOptions {
            include_usage: true,
        }),
    };
    serde_json::to_string(&body).map_err(|e| ProviderError::BadRequest {
        message: format!("the request cannot be written as JSON: {e}"),
    })
}

fn push_message<'a>(
    out: &mut Vec<WireMessage<'a>>,
    role: Role,
    blocks: &'a [ContentBlock],
) -> Result<(), ProviderError> {
    let mut text = String::new();
    let mut calls = Vec::new();
    let mut results = Vec::new();
    for block in blocks {
        match block {
            ContentBlock::Text { text: t } => text.push_str(t),
            ContentBlock::ToolUse { id, name, input } => calls.push(WireCall {
                id,
                kind: "function",
                function: WireCallFunction {
                    name,
                    arguments: input.to_string(),
                },
            }),
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => results.push(WireMessage::Tool {
                tool_call_id: tool_use_id,
                content: if *is_error {
                    format!("Error: {content}")
                } else {
                    content.clone()
                },
            }),
        }
    }
    match role {
        Role::Assistant => {
            let content = if text.is_empty() && !calls.is_empty() {
                None
            } else {
                Some(text)
            };
            out.push(WireMessage::Assistant {
                content,
                tool_calls: calls,
            });
            out.extend(results);
        }
        Role::User => {
            if let Some(call) = calls.first() {
                return Err(ProviderError::BadRequest {
                    message: format!(
                        "a user message carries tool call `{}` ({}); only assistant messages can",
                        call.function.name, call.id
                    ),
                });
            }
            let only_results = !results.is_empty() && text.is_empty();
            out.extend(results);
            if !only_results {
                out.push(WireMessage::User { content: text });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::provider::{Message, ToolSpec};
    use serde_json::json;

    fn body(req: &CompletionRequest, limit: TokenLimitField) -> Value {
        serde_json::from_str(&request_body(req, "gpt-4o", limit).unwrap()).unwrap()
    }

    fn tool_round_trip() -> CompletionRequest {
        let mut req = CompletionRequest::new(
            "openai/gpt-4o",
            vec![
                Message::user("Read a.txt and list /tmp"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Text {
                            text: "Reading.".into(),
                        },
                        ContentBlock::ToolUse {
                            id: "call_1".into(),
                            name: "read".into(),
                            input: json!({"path": "a.txt"}),
                        },
                        ContentBlock::ToolUse {
                            id: "call_2".into(),
                            name: "list".into(),
                            input: json!({}),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::ToolResult {
                            tool_use_id: "call_1".into(),
                            content: "hello".into(),
                            is_error: false,
                        },
                        ContentBlock::ToolResult {
                            tool_use_id: "call_2".into(),
                            content: "permission denied".into(),
                            is_error: true,
                        },
                        ContentBlock::Text {
                            text: "Go on.".into(),
                        },
                    ],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse {
                        id: "call_3".into(),
                        name: "list".into(),
                        input: json!({"dir": "/"}),
                    }],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "call_3".into(),
                        content: "etc".into(),
                        is_error: false,
                    }],
                },
            ],
        );
        req.system = Some("Be brief.".into());
        req
    }

    #[test]
    fn tool_calls_and_results_round_trip_as_tool_calls_and_tool_messages() {
        let got = body(&tool_round_trip(), TokenLimitField::MaxCompletionTokens);
        let expected = json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Read a.txt and list /tmp"},
                {"role": "assistant", "content": "Reading.", "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "read", "arguments": "{\"path\":\"a.txt\"}"}},
                    {"id": "call_2", "type": "function",
                     "function": {"name": "list", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "hello"},
                {"role": "tool", "tool_call_id": "call_2", "content": "Error: permission denied"},
                {"role": "user", "content": "Go on."},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_3", "type": "function",
                     "function": {"name": "list", "arguments": "{\"dir\":\"/\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_3", "content": "etc"}
            ],
            "max_completion_tokens": 1024
        });
        assert_eq!(got, expected);
    }

    #[test]
    fn tools_temperature_and_stream_options() {
        let mut req = CompletionRequest::new("m", vec![Message::user("hi")]);
        req.tools = vec![ToolSpec {
            name: "read".into(),
            description: "Reads a file".into(),
            input_schema: json!({"type": "object", "properties": {"path": {"type": "string"}},
                                 "required": ["path"]}),
        }];
        req.temperature = Some(0.2);
        req.stream = true;
        req.max_tokens = 300;
        let text = request_body(&req, "gpt-4o", TokenLimitField::MaxTokens).unwrap();
        // f32 written in its short form, not widened to 0.2000000029802.
        assert!(text.contains(r#""temperature":0.2,"#), "{text}");
        let expected = json!({
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {
                "name": "read", "description": "Reads a file",
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                               "required": ["path"]}}}],
            "max_tokens": 300,
            "temperature": 0.2,
            "stream": true,
            "stream_options": {"include_usage": true}
        });
        let got: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(got, expected);
    }

    #[test]
    fn token_limit_field_is_chosen_by_the_caller() {
        let req = CompletionRequest::new("m", vec![Message::user("hi")]);
        let openai = body(&req, TokenLimitField::MaxCompletionTokens);
        assert_eq!(openai["max_completion_tokens"], 1024);
        assert!(openai.get("max_tokens").is_none());
        let local = body(&req, TokenLimitField::MaxTokens);
        assert_eq!(local["max_tokens"], 1024);
        assert!(local.get("max_completion_tokens").is_none());
        assert!(local.get("stream").is_none() && local.get("stream_options").is_none());
    }

    #[test]
    fn a_tool_call_in_a_user_message_is_refused() {
        let req = CompletionRequest::new(
            "m",
            vec![Message {
                role: Role::User,
                content: vec![ContentBlock::ToolUse {
                    id: "x1".into(),
                    name: "read".into(),
                    input: json!({}),
                }],
            }],
        );
        let err = request_body(&req, "m", TokenLimitField::MaxTokens).unwrap_err();
        assert!(matches!(&err, ProviderError::BadRequest { message } if message.contains("x1")));
    }
}
