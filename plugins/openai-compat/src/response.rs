//! A non-streamed JSON answer (`object: "chat.completion"`).

use crate::wire::{WireToolCall, WireUsage, excerpt, lenient_string, stop_reason};
use hypernet_plugin_api::provider::{
    Completion, CompletionRequest, HttpResponse, ProviderError, StopReason, ToolCall, Usage,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Answer {
    #[serde(default, deserialize_with = "lenient_string")]
    model: Option<String>,
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<AnswerMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Default, Deserialize)]
struct AnswerMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

/// Parses a 2xx answer to `request`.
///
/// - `text` is `message.content`; when the model refused (`message.refusal`), the refusal
///   text and [`StopReason::Refusal`].
/// - Tool call arguments are parsed from their JSON string (empty means `{}`).
/// - `finish_reason`: `stop` → `EndTurn`, `length` → `MaxTokens`, `tool_calls` →
///   `ToolUse`, `content_filter` → `Refusal`, others → `Other`; absent → `ToolUse` when
///   there are tool calls, `EndTurn` otherwise.
/// - Usage: `prompt_tokens` includes the cached `prompt_tokens_details.cached_tokens`,
///   while our `input_tokens` means uncached input, so the cached tokens are reported as
///   `cache_read_tokens` and subtracted from `input_tokens` (their sum is the prompt size;
///   nothing is counted twice). A missing or null `usage` gives zeros.
/// - `model` falls back to the requested model when the server does not say.
///
/// ```
/// use hypernet_openai_compat::parse_completion;
/// use hypernet_plugin_api::provider::{CompletionRequest, HttpResponse, Message};
///
/// let req = CompletionRequest::new("lmstudio/qwen3-8b", vec![Message::user("hi")]);
/// let body = r#"{"choices":[{"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]}"#;
/// let resp = HttpResponse { status: 200, headers: vec![], body: body.into() };
/// assert_eq!(parse_completion(&req, &resp).unwrap().text, "Hello");
/// ```
pub fn parse_completion(
    request: &CompletionRequest,
    response: &HttpResponse,
) -> Result<Completion, ProviderError> {
    let answer: Answer =
        serde_json::from_str(&response.body).map_err(|e| ProviderError::Malformed {
            message: format!(
                "the chat completion is not the expected JSON ({e}): {}",
                excerpt(&response.body)
            ),
        })?;
    let choice =
        answer
            .choices
            .into_iter()
            .flatten()
            .next()
            .ok_or_else(|| ProviderError::Malformed {
                message: format!(
                    "the chat completion has no choices: {}",
                    excerpt(&response.body)
                ),
            })?;
    let message = choice.message.unwrap_or_default();
    let tool_calls = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, call)| tool_call(i, call))
        .collect::<Result<Vec<_>, _>>()?;
    let refusal = message.refusal.filter(|r| !r.is_empty());
    let mut stop = match choice.finish_reason.as_deref() {
        Some(reason) => stop_reason(reason),
        None if tool_calls.is_empty() => StopReason::EndTurn,
        None => StopReason::ToolUse,
    };
    let mut text = message.content.unwrap_or_default();
    if let Some(refusal) = refusal {
        if text.is_empty() {
            text = refusal;
        }
        stop = StopReason::Refusal;
    }
    Ok(Completion {
        model: answer
            .model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| request.model.clone()),
        text,
        tool_calls,
        stop_reason: stop,
        usage: answer.usage.map_or(Usage::default(), |u| u.to_usage()),
        simulated: false,
    })
}

fn tool_call(position: usize, call: WireToolCall) -> Result<ToolCall, ProviderError> {
    let function = call.function.unwrap_or_default();
    let name = function.name.clone().unwrap_or_default();
    let id = call
        .id
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("call_{position}"));
    let text = function.arguments_text();
    let arguments = if text.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(&text).map_err(|e| ProviderError::Malformed {
            message: format!(
                "arguments of tool call `{name}` ({id}) are not JSON ({e}): {}",
                excerpt(&text)
            ),
        })?
    };
    Ok(ToolCall {
        id,
        name,
        arguments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::provider::Message;
    use serde_json::json;

    fn parse(body: &str) -> Result<Completion, ProviderError> {
        let req = CompletionRequest::new("openai/gpt-4o", vec![Message::user("hi")]);
        let resp = HttpResponse {
            status: 200,
            headers: vec![("x-request-id".into(), "req_1".into())],
            body: body.into(),
        };
        parse_completion(&req, &resp)
    }

    #[test]
    fn text_answer_with_cached_usage() {
        let c = parse(
            r#"{
              "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
              "object": "chat.completion",
              "created": 1741569952,
              "model": "gpt-4o-2024-08-06",
              "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Hello! How can I help?",
                            "refusal": null, "annotations": []},
                "logprobs": null,
                "finish_reason": "stop"
              }],
              "usage": {
                "prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
                "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0}
              },
              "service_tier": "default",
              "system_fingerprint": "fp_50cad350e4"
            }"#,
        )
        .unwrap();
        assert_eq!(
            c,
            Completion {
                model: "gpt-4o-2024-08-06".into(),
                text: "Hello! How can I help?".into(),
                tool_calls: vec![],
                stop_reason: StopReason::EndTurn,
                usage: Usage {
                    input_tokens: 86,
                    output_tokens: 300,
                    cache_read_tokens: 1920,
                    cache_write_tokens: 0,
                },
                simulated: false,
            }
        );
    }

    #[test]
    fn tool_calls_with_json_string_arguments() {
        let c = parse(
            r#"{
              "model": "gpt-4o-2024-08-06",
              "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": null, "tool_calls": [
                  {"id": "call_abc", "type": "function",
                   "function": {"name": "read", "arguments": "{\"path\":\"a.txt\"}"}},
                  {"id": "365174485", "type": "function",
                   "function": {"name": "list", "arguments": ""}}
                ]},
                "finish_reason": "tool_calls"
              }],
              "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}
            }"#,
        )
        .unwrap();
        assert_eq!(c.text, "");
        assert_eq!(c.stop_reason, StopReason::ToolUse);
        assert_eq!(
            c.tool_calls,
            vec![
                ToolCall {
                    id: "call_abc".into(),
                    name: "read".into(),
                    arguments: json!({"path": "a.txt"}),
                },
                ToolCall {
                    id: "365174485".into(),
                    name: "list".into(),
                    arguments: json!({}),
                },
            ]
        );
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: 50,
                output_tokens: 20,
                ..Usage::default()
            }
        );
    }

    #[test]
    fn missing_usage_and_model_are_tolerated() {
        let c = parse(
            r#"{"choices":[{"message":{"content":"ok"},"finish_reason":"length"}],"usage":null}"#,
        )
        .unwrap();
        assert_eq!(c.model, "openai/gpt-4o");
        assert_eq!(c.usage, Usage::default());
        assert_eq!(c.stop_reason, StopReason::MaxTokens);
        let c = parse(r#"{"choices":[{"message":{"content":"ok"}}]}"#).unwrap();
        assert_eq!(
            (c.usage, c.stop_reason),
            (Usage::default(), StopReason::EndTurn)
        );
    }

    #[test]
    fn finish_reasons_and_refusals() {
        let finish = |reason: &str| {
            parse(&format!(
                r#"{{"choices":[{{"message":{{"content":"x"}},"finish_reason":"{reason}"}}]}}"#
            ))
            .unwrap()
            .stop_reason
        };
        assert_eq!(finish("content_filter"), StopReason::Refusal);
        assert_eq!(finish("function_call"), StopReason::ToolUse);
        assert_eq!(finish("eos"), StopReason::Other("eos".into()));
        let c = parse(
            r#"{"choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#,
        )
        .unwrap();
        assert_eq!(
            (c.text.as_str(), c.stop_reason),
            ("I can't help with that.", StopReason::Refusal)
        );
    }

    #[test]
    fn malformed_answers_are_errors() {
        assert!(matches!(
            parse("<html>gateway</html>"),
            Err(ProviderError::Malformed { .. })
        ));
        assert!(matches!(
            parse(r#"{"choices":[]}"#),
            Err(ProviderError::Malformed { .. })
        ));
        let err = parse(
            r#"{"choices":[{"message":{"tool_calls":[{"id":"c1","function":{"name":"read","arguments":"{\"pa"}}]}}]}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&err, ProviderError::Malformed { message } if message.contains("`read` (c1)"))
        );
    }
}
