//! Deserialization shapes and small mappings shared by responses, stream chunks and errors.
//! Every field is optional: local servers omit, null out or add fields freely.

use hypernet_plugin_api::provider::{StopReason, Usage};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `usage` of an answer or of the last stream chunk.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub prompt_tokens: u64,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub completion_tokens: u64,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
}

/// `usage.prompt_tokens_details`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PromptDetails {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub cached_tokens: u64,
}

impl WireUsage {
    /// Our counts. OpenAI's `prompt_tokens` *includes* the cached tokens, while our
    /// `input_tokens` means uncached input (as Anthropic reports it), so the cached tokens
    /// are moved from `input_tokens` to `cache_read_tokens`: the sum of the two is the
    /// prompt size, and no token is counted (or priced) twice.
    pub fn to_usage(&self) -> Usage {
        let cached = self
            .prompt_tokens_details
            .as_ref()
            .map_or(0, |d| d.cached_tokens)
            .min(self.prompt_tokens);
        Usage {
            input_tokens: self.prompt_tokens - cached,
            output_tokens: self.completion_tokens,
            cache_read_tokens: cached,
            cache_write_tokens: 0,
        }
    }
}

/// The `error` object of an error body or error chunk.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireError {
    #[serde(default, deserialize_with = "lenient_string")]
    pub message: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    /// A string at OpenAI, null at Ollama, an integer at llama.cpp.
    #[serde(default, deserialize_with = "lenient_string")]
    pub code: Option<String>,
}

/// One tool call of an answer, or one fragment of it in a stream.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireToolCall {
    #[serde(default)]
    pub index: Option<u32>,
    /// Any format: `call_…` at OpenAI, numeric strings at LM Studio.
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<WireFunction>,
}

/// `tool_calls[].function`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireFunction {
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// A JSON string (or a fragment of one) by the spec; some servers send an object.
    #[serde(default)]
    pub arguments: Option<Value>,
}

impl WireFunction {
    /// The arguments as JSON text (a fragment, when streamed).
    pub fn arguments_text(&self) -> String {
        match &self.arguments {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
}

/// `finish_reason` to our stop reason.
pub(crate) fn stop_reason(finish_reason: &str) -> StopReason {
    match finish_reason {
        "stop" => StopReason::EndTurn,
        "length" => StopReason::MaxTokens,
        "tool_calls" | "function_call" => StopReason::ToolUse,
        "content_filter" => StopReason::Refusal,
        other => StopReason::Other(other.to_owned()),
    }
}

/// A string, or a number / bool written as text; null and absent are `None`.
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    })
}

/// A count; null, negative or non-numeric values count as zero.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    })
}

/// A short excerpt of a body for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 500;
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}
