//! Provider-neutral request, response and HTTP shapes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person or the host speaking for the task.
    User,
    /// The model.
    Assistant,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// A tool call made by the model.
    ToolUse {
        /// The provider's id of the call.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments, a JSON object.
        input: Value,
    },
    /// The result of a tool call, sent back to the model.
    ToolResult {
        /// The id of the call this answers.
        tool_use_id: String,
        /// What the tool returned.
        content: String,
        /// Whether the tool failed.
        #[serde(default)]
        is_error: bool,
    },
}

/// One turn of the conversation.
///
/// ```
/// use hypernet_plugin_api::provider::Message;
/// let m = Message::user("Summarise the log");
/// assert_eq!(m.text(), "Summarise the log");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Speaker.
    pub role: Role,
    /// Content blocks in order.
    pub content: Vec<ContentBlock>,
}

impl Message {
    /// A user message with one text block.
    pub fn user(text: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: vec![ContentBlock::Text { text: text.into() }],
        }
    }

    /// An assistant message with one text block (an earlier answer, replayed in a
    /// conversation).
    ///
    /// ```
    /// use hypernet_plugin_api::provider::{Message, Role};
    /// let m = Message::assistant("Done.");
    /// assert_eq!((m.role, m.text()), (Role::Assistant, "Done.".to_owned()));
    /// ```
    pub fn assistant(text: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: vec![ContentBlock::Text { text: text.into() }],
        }
    }

    /// The concatenated text blocks.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Tool name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its arguments.
    pub input_schema: Value,
}

/// A provider-neutral completion request.
///
/// ```
/// use hypernet_plugin_api::provider::{CompletionRequest, Message};
/// let req = CompletionRequest::new("sim/default", vec![Message::user("hi")]);
/// assert_eq!(req.max_tokens, 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionRequest {
    /// Model id as routed (e.g. `claude-sonnet-4-5`, `sim/default`).
    pub model: String,
    /// System prompt.
    #[serde(default)]
    pub system: Option<String>,
    /// Bytes of `system`, from its start, that stay the same from call to call (a worker's
    /// identity documents, before the task). A provider with prompt caching may cache that
    /// part alone and send the rest uncached; `None` (the default) treats the whole system
    /// prompt as one part. A value that is 0, past the end, or not on a character boundary
    /// is ignored.
    ///
    /// ```
    /// use hypernet_plugin_api::provider::{CompletionRequest, Message};
    /// let mut r = CompletionRequest::new("anthropic/claude-sonnet-4-5", vec![Message::user("Go")]);
    /// let stable = "# Core documents\n...\n";
    /// r.system = Some(format!("{stable}# Current task\nGo"));
    /// r.system_cache_prefix = Some(stable.len());
    /// ```
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_cache_prefix: Option<usize>,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools offered to the model.
    #[serde(default)]
    pub tools: Vec<ToolSpec>,
    /// Output token limit.
    pub max_tokens: u32,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Whether to ask for a server-sent-event stream (a simulator may answer with
    /// [`Prepared::SimulatedStream`]).
    #[serde(default)]
    pub stream: bool,
}

impl CompletionRequest {
    /// A request with default limits (1024 output tokens, no tools, no stream).
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        CompletionRequest {
            model: model.into(),
            system: None,
            system_cache_prefix: None,
            messages,
            tools: Vec::new(),
            max_tokens: 1024,
            temperature: None,
            stream: false,
        }
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Finished its turn.
    EndTurn,
    /// Hit the output token limit.
    MaxTokens,
    /// Wants tool results.
    ToolUse,
    /// Hit a stop sequence.
    StopSequence,
    /// Refused to answer.
    Refusal,
    /// Anything else the provider said.
    Other(String),
}

/// Token counts of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default)]
    pub cache_write_tokens: u64,
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id of the call.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments, a JSON object.
    pub arguments: Value,
}

/// The model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The model id the provider reports (often a dated snapshot).
    pub model: String,
    /// Text output.
    pub text: String,
    /// Tool calls, in order.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Token counts.
    pub usage: Usage,
    /// True when no real model produced this (provider-sim).
    #[serde(default)]
    pub simulated: bool,
}

/// An HTTP request for the host to execute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// Body text (JSON for every known provider).
    #[serde(default)]
    pub body: String,
}

/// An HTTP response the host received.
///
/// ```
/// use hypernet_plugin_api::provider::HttpResponse;
/// let r = HttpResponse { status: 429, headers: vec![("Retry-After".into(), "2".into())], body: String::new() };
/// assert_eq!(r.header("retry-after"), Some("2"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names (any case) and values.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl HttpResponse {
    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }
}

/// The first value of header `name` among `headers`, compared case-insensitively.
pub(crate) fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// One server-sent event of a streamed response (framed by [`sse::events`](super::sse::events)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SseEvent {
    /// The `event:` field, if any.
    #[serde(default)]
    pub event: Option<String>,
    /// The `data:` lines joined by newlines.
    pub data: String,
}

/// What a provider's `prepare` asks the host to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Prepared {
    /// Send this request; hand the response to `parse_response` (or its events to
    /// `parse_stream_event` when streaming).
    Http {
        /// The request.
        request: HttpRequest,
    },
    /// No network: wait `delay_ms` (asynchronously, in the host), then take `outcome`.
    Simulated {
        /// Simulated latency.
        delay_ms: u64,
        /// The completion or error after the delay.
        outcome: Result<Completion, super::ProviderError>,
    },
    /// No network, streamed: as [`Prepared::Simulated`], but the completion's text reaches
    /// the host's watchers piece by piece over `delay_ms`, as a streamed answer's would
    /// (tool calls and usage come with the end). Used when the request asks to stream
    /// ([`CompletionRequest::stream`]); the host treats it as `Simulated` otherwise.
    SimulatedStream {
        /// Simulated latency, over which the text is handed out.
        delay_ms: u64,
        /// The completion or error at the end.
        outcome: Result<Completion, super::ProviderError>,
    },
}

/// What a provider offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// Model ids (or id prefixes ending in `/`) this provider serves.
    pub models: Vec<String>,
    /// True for local models: never charged against the session/daily budget.
    #[serde(default)]
    pub local: bool,
    /// True when it produces simulated output.
    #[serde(default)]
    pub simulated: bool,
}
