//! Streaming: providers map events to neutral deltas; [`CompletionBuilder`] folds them.

use super::{Completion, StopReason, ToolCall, Usage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What several server-sent events of one streamed answer parse to: the deltas of every
/// event up to the first that failed, in order, and that failure.
///
/// ```
/// use hypernet_plugin_api::provider::{ProviderError, StreamBatch, StreamDelta};
/// let batch = StreamBatch {
///     deltas: vec![StreamDelta::Text { text: "Hi".into() }],
///     error: Some(ProviderError::Overloaded { message: "busy".into(), retry_after_ms: None }),
/// };
/// let json = serde_json::to_string(&batch).unwrap();
/// assert_eq!(serde_json::from_str::<StreamBatch>(&json).unwrap(), batch);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamBatch {
    /// The deltas, in the order of their events.
    pub deltas: Vec<StreamDelta>,
    /// The failure of the first event that failed (the events after it are not parsed).
    #[serde(default)]
    pub error: Option<super::ProviderError>,
}

impl StreamBatch {
    /// Adds `delta`; text right after text joins it, so that a batch of many small
    /// pieces of text goes back to the host as one.
    ///
    /// ```
    /// use hypernet_plugin_api::provider::{StreamBatch, StreamDelta, Usage};
    /// let text = |t: &str| StreamDelta::Text { text: t.into() };
    /// let mut batch = StreamBatch::default();
    /// batch.push(text("Hel"));
    /// batch.push(text("lo"));
    /// batch.push(StreamDelta::Usage { usage: Usage::default() });
    /// batch.push(text("!"));
    /// assert_eq!(
    ///     batch.deltas,
    ///     [text("Hello"), StreamDelta::Usage { usage: Usage::default() }, text("!")]
    /// );
    /// ```
    pub fn push(&mut self, delta: StreamDelta) {
        if let (Some(StreamDelta::Text { text }), StreamDelta::Text { text: more }) =
            (self.deltas.last_mut(), &delta)
        {
            text.push_str(more);
            return;
        }
        self.deltas.push(delta);
    }
}

/// One step of a streamed answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamDelta {
    /// The model id the provider reports.
    Model {
        /// Model id.
        model: String,
    },
    /// More output text.
    Text {
        /// The new text.
        text: String,
    },
    /// A tool call begins at `index`.
    ToolCallStart {
        /// Position of the call in the answer.
        index: u32,
        /// The provider's id of the call.
        id: String,
        /// Tool name.
        name: String,
    },
    /// A fragment of the JSON arguments of the call at `index`.
    ToolCallArguments {
        /// Position of the call in the answer.
        index: u32,
        /// The next piece of JSON text.
        fragment: String,
    },
    /// Token counts so far; each field, when non-zero, replaces the earlier value
    /// (providers report cumulative counts).
    Usage {
        /// Counts.
        usage: Usage,
    },
    /// The model stopped.
    Stop {
        /// Why.
        reason: StopReason,
    },
}

/// Folds [`StreamDelta`]s into a [`Completion`].
///
/// ```
/// use hypernet_plugin_api::provider::{CompletionBuilder, StreamDelta, StopReason};
/// let mut b = CompletionBuilder::new("m");
/// b.push(StreamDelta::Text { text: "Hel".into() });
/// b.push(StreamDelta::Text { text: "lo".into() });
/// b.push(StreamDelta::Stop { reason: StopReason::EndTurn });
/// let c = b.finish().unwrap();
/// assert_eq!(c.text, "Hello");
/// ```
#[derive(Debug, Clone)]
pub struct CompletionBuilder {
    model: String,
    text: String,
    calls: Vec<(u32, String, String, String)>,
    usage: Usage,
    stop: Option<StopReason>,
}

impl CompletionBuilder {
    /// Starts with the requested model id (replaced by a `Model` delta).
    pub fn new(model: impl Into<String>) -> Self {
        CompletionBuilder {
            model: model.into(),
            text: String::new(),
            calls: Vec::new(),
            usage: Usage::default(),
            stop: None,
        }
    }

    /// Applies one delta.
    pub fn push(&mut self, delta: StreamDelta) {
        match delta {
            StreamDelta::Model { model } => self.model = model,
            StreamDelta::Text { text } => self.text.push_str(&text),
            StreamDelta::ToolCallStart { index, id, name } => {
                self.calls.push((index, id, name, String::new()))
            }
            StreamDelta::ToolCallArguments { index, fragment } => {
                if let Some(call) = self.calls.iter_mut().rev().find(|c| c.0 == index) {
                    call.3.push_str(&fragment);
                }
            }
            StreamDelta::Usage { usage } => {
                let keep = |new: u64, old: u64| if new > 0 { new } else { old };
                self.usage = Usage {
                    input_tokens: keep(usage.input_tokens, self.usage.input_tokens),
                    output_tokens: keep(usage.output_tokens, self.usage.output_tokens),
                    cache_read_tokens: keep(usage.cache_read_tokens, self.usage.cache_read_tokens),
                    cache_write_tokens: keep(
                        usage.cache_write_tokens,
                        self.usage.cache_write_tokens,
                    ),
                };
            }
            StreamDelta::Stop { reason } => self.stop = Some(reason),
        }
    }

    /// The completion; fails when a tool call's arguments are not valid JSON.
    pub fn finish(self) -> Result<Completion, super::ProviderError> {
        let mut tool_calls = Vec::with_capacity(self.calls.len());
        for (_, id, name, args) in self.calls {
            let arguments = if args.trim().is_empty() {
                Value::Object(Default::default())
            } else {
                serde_json::from_str(&args).map_err(|e| super::ProviderError::Malformed {
                    message: format!("arguments of tool call `{name}` ({id}) are not JSON: {e}"),
                })?
            };
            tool_calls.push(ToolCall {
                id,
                name,
                arguments,
            });
        }
        let stop_reason = self.stop.unwrap_or(if tool_calls.is_empty() {
            StopReason::EndTurn
        } else {
            StopReason::ToolUse
        });
        Ok(Completion {
            model: self.model,
            text: self.text,
            tool_calls,
            stop_reason,
            usage: self.usage,
            simulated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_of_interleaved_tool_calls_are_joined_per_index() {
        let mut b = CompletionBuilder::new("req");
        b.push(StreamDelta::Model {
            model: "snap-1".into(),
        });
        b.push(StreamDelta::ToolCallStart {
            index: 0,
            id: "a".into(),
            name: "read".into(),
        });
        b.push(StreamDelta::ToolCallStart {
            index: 1,
            id: "b".into(),
            name: "list".into(),
        });
        b.push(StreamDelta::ToolCallArguments {
            index: 0,
            fragment: "{\"pa".into(),
        });
        b.push(StreamDelta::ToolCallArguments {
            index: 1,
            fragment: "{}".into(),
        });
        b.push(StreamDelta::ToolCallArguments {
            index: 0,
            fragment: "th\":\"x\"}".into(),
        });
        b.push(StreamDelta::Usage {
            usage: Usage {
                input_tokens: 10,
                output_tokens: 1,
                ..Usage::default()
            },
        });
        b.push(StreamDelta::Usage {
            usage: Usage {
                output_tokens: 7,
                ..Usage::default()
            },
        });
        let c = b.finish().unwrap();
        assert_eq!(c.model, "snap-1");
        assert_eq!(c.tool_calls[0].arguments["path"], "x");
        assert_eq!(c.tool_calls[1].name, "list");
        assert_eq!(c.stop_reason, StopReason::ToolUse);
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (10, 7));
    }

    #[test]
    fn broken_arguments_are_a_malformed_error() {
        let mut b = CompletionBuilder::new("m");
        b.push(StreamDelta::ToolCallStart {
            index: 0,
            id: "a".into(),
            name: "t".into(),
        });
        b.push(StreamDelta::ToolCallArguments {
            index: 0,
            fragment: "{\"x\":".into(),
        });
        assert!(matches!(
            b.finish(),
            Err(super::super::ProviderError::Malformed { .. })
        ));
    }
}
