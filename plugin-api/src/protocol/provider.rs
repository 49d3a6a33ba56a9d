//! The operations the host calls on a provider service, each a name on the wire with JSON
//! arguments (or, for `parse_stream_text`, the text itself) and a JSON answer. [`Op`] lists them; each has a type implementing
//! [`Operation`] that fixes its arguments and its answer, so the host's caller and the
//! plugin's dispatcher cannot disagree on either.
//!
//! | op | arguments | answer |
//! |---|---|---|
//! | `describe` | none | [`ProviderInfo`] |
//! | `prepare` | [`CompletionRequest`] | `Result<`[`Prepared`]`, `[`ProviderError`]`>` |
//! | `parse_response` | [`ParseResponseArgs`] | `Result<`[`Completion`]`, ProviderError>` |
//! | `parse_stream_event` | [`SseEvent`] | `Result<Vec<`[`StreamDelta`]`>, ProviderError>` |
//! | `parse_stream_events` | `[`[`SseEvent`]`]` | [`StreamBatch`] |
//! | `parse_stream_text` | the events' text, not JSON | [`StreamBatch`] |
//! | `classify_error` | [`HttpResponse`] | [`ProviderError`] |
//! | `list_models` | none | `Option<`[`HttpRequest`]`>` |
//! | `parse_models` | [`HttpResponse`] | `Result<Vec<String>, ProviderError>` |
//! | `batch_support` | none | `Option<`[`BatchLimits`]`>` |
//! | `submit_batch` | `[`[`BatchRequest`]`]` | `Result<`[`BatchStep`]`, ProviderError>` |
//! | `batch_submitted` | [`BatchSubmittedArgs`] | `Result<BatchStep, ProviderError>` |
//! | `poll_batch` | the batch id | `Result<HttpRequest, ProviderError>` |
//! | `parse_batch_status` | [`HttpResponse`] | `Result<`[`BatchStatus`]`, ProviderError>` |
//! | `parse_batch_results` | [`HttpResponse`] | `Result<Vec<`[`BatchOutcome`]`>, ProviderError>` |
//!
//! A plugin built before the batch operations answers them
//! [`ErrorCode::NotFound`](crate::ErrorCode::NotFound); the host takes that as no batch
//! support.
//!
//! ```
//! use hypernet_plugin_api::protocol::provider::{Op, Operation, Prepare};
//! use hypernet_plugin_api::provider::CompletionRequest;
//!
//! // The host's side: the name to call and the payload to send.
//! let request = CompletionRequest::new("sim/echo", vec![]);
//! let payload: &<Prepare as Operation>::Args<'_> = &request;
//! assert_eq!(Prepare::OP.name(), "prepare");
//! assert!(serde_json::to_string(payload).unwrap().contains("sim/echo"));
//! // The plugin's side: which operation a name is.
//! assert_eq!("prepare".parse::<Op>().unwrap(), Op::Prepare);
//! ```

use super::sealed::Sealed;
use crate::PluginError;
use crate::provider::{
    BatchLimits, BatchOutcome, BatchRequest, BatchStatus, BatchStep, Completion, CompletionRequest,
    HttpRequest, HttpResponse, Prepared, ProviderError, ProviderInfo, SseEvent, StreamBatch,
    StreamDelta,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::borrow::Cow;

/// A provider operation.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::Op;
/// assert_eq!(Op::ParseResponse.name(), "parse_response");
/// assert_eq!(Op::from_name("list_models"), Some(Op::ListModels));
/// assert_eq!(
///     "reboot".parse::<Op>().unwrap_err().to_string(),
///     "unknown provider operation `reboot`",
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `describe`: which models the provider serves.
    Describe,
    /// `prepare`: a request turned into what the host should do.
    Prepare,
    /// `parse_response`: a 2xx, non-streamed response read.
    ParseResponse,
    /// `parse_stream_event`: one server-sent event read.
    ParseStreamEvent,
    /// `parse_stream_events`: the server-sent events read since the last batch.
    ParseStreamEvents,
    /// `parse_stream_text`: the text of the server-sent events read since the last batch.
    ParseStreamText,
    /// `classify_error`: a non-2xx response classified.
    ClassifyError,
    /// `list_models`: the request that lists the server's models, if any.
    ListModels,
    /// `parse_models`: the model ids read from the answer to `list_models`.
    ParseModels,
    /// `batch_support`: whether the provider offers a batch API, and its limits.
    BatchSupport,
    /// `submit_batch`: the first step of submitting a batch.
    SubmitBatch,
    /// `batch_submitted`: the answer to a submission step read.
    BatchSubmitted,
    /// `poll_batch`: the request that reads where a batch stands.
    PollBatch,
    /// `parse_batch_status`: the answer to a poll read.
    ParseBatchStatus,
    /// `parse_batch_results`: the results of a batch read.
    ParseBatchResults,
}

impl Op {
    /// Every operation.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::provider::Op;
    /// assert!(Op::ALL.iter().all(|op| Op::from_name(op.name()) == Some(*op)));
    /// ```
    pub const ALL: [Op; 15] = [
        Op::Describe,
        Op::Prepare,
        Op::ParseResponse,
        Op::ParseStreamEvent,
        Op::ParseStreamEvents,
        Op::ParseStreamText,
        Op::ClassifyError,
        Op::ListModels,
        Op::ParseModels,
        Op::BatchSupport,
        Op::SubmitBatch,
        Op::BatchSubmitted,
        Op::PollBatch,
        Op::ParseBatchStatus,
        Op::ParseBatchResults,
    ];

    /// The wire name.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::provider::Op;
    /// assert_eq!(Op::ClassifyError.name(), "classify_error");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Op::Describe => "describe",
            Op::Prepare => "prepare",
            Op::ParseResponse => "parse_response",
            Op::ParseStreamEvent => "parse_stream_event",
            Op::ParseStreamEvents => "parse_stream_events",
            Op::ParseStreamText => "parse_stream_text",
            Op::ClassifyError => "classify_error",
            Op::ListModels => "list_models",
            Op::ParseModels => "parse_models",
            Op::BatchSupport => "batch_support",
            Op::SubmitBatch => "submit_batch",
            Op::BatchSubmitted => "batch_submitted",
            Op::PollBatch => "poll_batch",
            Op::ParseBatchStatus => "parse_batch_status",
            Op::ParseBatchResults => "parse_batch_results",
        }
    }

    /// The operation with this wire name.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::provider::Op;
    /// assert_eq!(Op::from_name("parse_models"), Some(Op::ParseModels));
    /// assert_eq!(Op::from_name("Parse_Models"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }
}

impl std::str::FromStr for Op {
    /// [`ErrorCode::NotFound`](crate::ErrorCode::NotFound), naming the operation.
    type Err = PluginError;

    fn from_str(name: &str) -> Result<Op, PluginError> {
        Op::from_name(name)
            .ok_or_else(|| PluginError::not_found(format!("unknown provider operation `{name}`")))
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One provider operation's types: the host sends `Args` and reads `Answer`; the plugin
/// reads `Args` and sends `Answer`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{ClassifyError, Op, Operation};
/// use hypernet_plugin_api::provider::ProviderError;
///
/// fn answer<O: Operation>(json: &str) -> O::Answer {
///     serde_json::from_str(json).unwrap()
/// }
/// assert_eq!(ClassifyError::OP, Op::ClassifyError);
/// let err: ProviderError = answer::<ClassifyError>(r#"{"kind": "auth", "message": "bad key"}"#);
/// assert!(matches!(err, ProviderError::Auth { .. }));
/// ```
pub trait Operation: Sealed {
    /// Which operation.
    const OP: Op;
    /// Its arguments. `'a` lets the host send borrowed values without copying them.
    type Args<'a>: Serialize + DeserializeOwned;
    /// Its answer.
    type Answer: Serialize + DeserializeOwned;

    /// The payload that carries `args`: their JSON, unless the operation says otherwise.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::provider::{Operation, ParseStreamText, Prepare};
    /// use hypernet_plugin_api::provider::CompletionRequest;
    /// use std::borrow::Cow;
    /// let request = CompletionRequest::new("sim/echo", vec![]);
    /// assert!(Prepare::encode(&request).unwrap().starts_with('{'));
    /// assert_eq!(ParseStreamText::encode(&Cow::Borrowed("data: 1\n\n")).unwrap(), "data: 1\n\n");
    /// ```
    fn encode(args: &Self::Args<'_>) -> Result<String, PluginError> {
        serde_json::to_string(args)
            .map_err(|e| PluginError::invalid(format!("arguments of `{}`: {e}", Self::OP)))
    }

    /// The arguments a payload carries (the inverse of [`Operation::encode`]); an error
    /// names the operation.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::provider::{Operation, ParseStreamText, Prepare};
    /// assert_eq!(ParseStreamText::decode("data: 1\n\n").unwrap(), "data: 1\n\n");
    /// assert_eq!(
    ///     Prepare::decode("{").unwrap_err().message(),
    ///     "arguments of `prepare`: EOF while parsing an object at line 1 column 1",
    /// );
    /// ```
    fn decode(payload: &str) -> Result<Self::Args<'static>, PluginError> {
        serde_json::from_str(payload)
            .map_err(|e| PluginError::invalid(format!("arguments of `{}`: {e}", Self::OP)))
    }
}

/// `describe`: no arguments (the payload is ignored); answers [`ProviderInfo`].
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{Describe, Op, Operation};
/// assert_eq!(Describe::OP, Op::Describe);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Describe;

/// `prepare`: a [`CompletionRequest`]; answers `Result<Prepared, ProviderError>`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{Op, Operation, Prepare};
/// assert_eq!(Prepare::OP, Op::Prepare);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Prepare;

/// `parse_response`: [`ParseResponseArgs`]; answers `Result<Completion, ProviderError>`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{Op, Operation, ParseResponse};
/// assert_eq!(ParseResponse::OP, Op::ParseResponse);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ParseResponse;

/// `parse_stream_event`: an [`SseEvent`]; answers `Result<Vec<StreamDelta>, ProviderError>`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{Op, Operation, ParseStreamEvent};
/// assert_eq!(ParseStreamEvent::OP, Op::ParseStreamEvent);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ParseStreamEvent;

/// `parse_stream_events`: a list of [`SseEvent`]s (borrowed by the host); answers a
/// [`StreamBatch`]. A plugin built before this operation existed answers
/// [`ErrorCode::NotFound`](crate::ErrorCode::NotFound), and the host then sends the events
/// one `parse_stream_event` at a time.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{Op, Operation, ParseStreamEvents};
/// use hypernet_plugin_api::provider::SseEvent;
/// use std::borrow::Cow;
/// assert_eq!(ParseStreamEvents::OP, Op::ParseStreamEvents);
/// let events = [SseEvent { event: None, data: "{}".into() }];
/// let args: <ParseStreamEvents as Operation>::Args<'_> = Cow::Borrowed(&events[..]);
/// assert_eq!(serde_json::to_string(&args).unwrap(), r#"[{"event":null,"data":"{}"}]"#);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ParseStreamEvents;

/// `parse_stream_text`: the text of whole server-sent events (`data: …` lines, blank lines
/// between events) as the payload itself, not as JSON, so that the events' data is neither
/// escaped by the host nor unescaped by the plugin; answers a [`StreamBatch`]. The plugin's
/// side frames the text ([`sse::events`](crate::provider::sse::events)) and parses the
/// events with [`Provider::parse_stream_events`](crate::provider::Provider::parse_stream_events).
/// A plugin built before this operation existed answers
/// [`ErrorCode::NotFound`](crate::ErrorCode::NotFound), and the host then frames the text
/// itself and sends the events one `parse_stream_event` at a time.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{Op, Operation, ParseStreamText};
/// assert_eq!(ParseStreamText::OP, Op::ParseStreamText);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ParseStreamText;

/// `classify_error`: an [`HttpResponse`]; answers a [`ProviderError`].
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{ClassifyError, Op, Operation};
/// assert_eq!(ClassifyError::OP, Op::ClassifyError);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ClassifyError;

/// `list_models`: no arguments (the payload is ignored); answers `Option<HttpRequest>`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{ListModels, Op, Operation};
/// assert_eq!(ListModels::OP, Op::ListModels);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ListModels;

/// `parse_models`: an [`HttpResponse`]; answers `Result<Vec<String>, ProviderError>`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{Op, Operation, ParseModels};
/// assert_eq!(ParseModels::OP, Op::ParseModels);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ParseModels;

/// `batch_support`: no arguments; answers `Option<BatchLimits>`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{BatchSupport, Op, Operation};
/// assert_eq!(BatchSupport::OP, Op::BatchSupport);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BatchSupport;

/// `submit_batch`: the [`BatchRequest`]s (borrowed by the host); answers
/// `Result<BatchStep, ProviderError>`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{Op, Operation, SubmitBatch};
/// assert_eq!(SubmitBatch::OP, Op::SubmitBatch);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SubmitBatch;

/// `batch_submitted`: [`BatchSubmittedArgs`]; answers `Result<BatchStep, ProviderError>`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{BatchSubmitted, Op, Operation};
/// assert_eq!(BatchSubmitted::OP, Op::BatchSubmitted);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BatchSubmitted;

/// `poll_batch`: the batch id; answers `Result<HttpRequest, ProviderError>`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{Op, Operation, PollBatch};
/// assert_eq!(PollBatch::OP, Op::PollBatch);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PollBatch;

/// `parse_batch_status`: an [`HttpResponse`]; answers `Result<BatchStatus, ProviderError>`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{Op, Operation, ParseBatchStatus};
/// assert_eq!(ParseBatchStatus::OP, Op::ParseBatchStatus);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ParseBatchStatus;

/// `parse_batch_results`: an [`HttpResponse`]; answers
/// `Result<Vec<BatchOutcome>, ProviderError>`.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::{Op, Operation, ParseBatchResults};
/// assert_eq!(ParseBatchResults::OP, Op::ParseBatchResults);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ParseBatchResults;

/// The arguments of `batch_submitted`: the state a [`BatchStep::Send`] carried and the
/// answer to its request.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::BatchSubmittedArgs;
/// use hypernet_plugin_api::provider::HttpResponse;
/// use std::borrow::Cow;
/// let response = HttpResponse { status: 200, headers: vec![], body: "{}".into() };
/// let args = BatchSubmittedArgs { state: serde_json::json!({"stage": "upload"}), response: Cow::Borrowed(&response) };
/// let back: BatchSubmittedArgs<'static> = serde_json::from_str(&serde_json::to_string(&args).unwrap()).unwrap();
/// assert_eq!(back.state["stage"], "upload");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchSubmittedArgs<'a> {
    /// The state the step carried.
    pub state: serde_json::Value,
    /// The 2xx answer to the step's request.
    pub response: Cow<'a, HttpResponse>,
}

/// The arguments of `parse_response`: the request as sent and the response to it. Built
/// from borrowed values by the host ([`ParseResponseArgs::new`]), read owned by the plugin.
///
/// ```
/// use hypernet_plugin_api::protocol::provider::ParseResponseArgs;
/// use hypernet_plugin_api::provider::{CompletionRequest, HttpResponse};
///
/// let request = CompletionRequest::new("sim/echo", vec![]);
/// let response = HttpResponse { status: 200, headers: vec![], body: "{}".into() };
/// let json = serde_json::to_string(&ParseResponseArgs::new(&request, &response)).unwrap();
/// let back: ParseResponseArgs<'static> = serde_json::from_str(&json).unwrap();
/// assert_eq!(back.response.status, 200);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParseResponseArgs<'a> {
    /// The request the response answers.
    pub request: Cow<'a, CompletionRequest>,
    /// The response (2xx, not streamed).
    pub response: Cow<'a, HttpResponse>,
}

impl<'a> ParseResponseArgs<'a> {
    /// Arguments borrowing `request` and `response`.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::provider::ParseResponseArgs;
    /// use hypernet_plugin_api::provider::{CompletionRequest, HttpResponse};
    /// let request = CompletionRequest::new("m", vec![]);
    /// let response = HttpResponse { status: 200, headers: vec![], body: String::new() };
    /// assert_eq!(ParseResponseArgs::new(&request, &response).request.model, "m");
    /// ```
    pub fn new(request: &'a CompletionRequest, response: &'a HttpResponse) -> Self {
        ParseResponseArgs {
            request: Cow::Borrowed(request),
            response: Cow::Borrowed(response),
        }
    }
}

impl Sealed for ParseStreamText {}
impl Operation for ParseStreamText {
    const OP: Op = Op::ParseStreamText;
    type Args<'a> = Cow<'a, str>;
    type Answer = StreamBatch;

    fn encode(args: &Cow<'_, str>) -> Result<String, PluginError> {
        Ok(args.clone().into_owned())
    }

    fn decode(payload: &str) -> Result<Cow<'static, str>, PluginError> {
        Ok(Cow::Owned(payload.to_owned()))
    }
}

macro_rules! operations {
    ($($ty:ident: $op:ident, $args:ty => $answer:ty;)*) => {$(
        impl Sealed for $ty {}
        impl Operation for $ty {
            const OP: Op = Op::$op;
            type Args<'a> = $args;
            type Answer = $answer;
        }
    )*};
}

operations! {
    Describe: Describe, () => ProviderInfo;
    Prepare: Prepare, CompletionRequest => Result<Prepared, ProviderError>;
    ParseResponse: ParseResponse, ParseResponseArgs<'a> => Result<Completion, ProviderError>;
    ParseStreamEvent: ParseStreamEvent, SseEvent => Result<Vec<StreamDelta>, ProviderError>;
    ParseStreamEvents: ParseStreamEvents, Cow<'a, [SseEvent]> => StreamBatch;
    ClassifyError: ClassifyError, HttpResponse => ProviderError;
    ListModels: ListModels, () => Option<HttpRequest>;
    ParseModels: ParseModels, HttpResponse => Result<Vec<String>, ProviderError>;
    BatchSupport: BatchSupport, () => Option<BatchLimits>;
    SubmitBatch: SubmitBatch, Cow<'a, [BatchRequest]> => Result<BatchStep, ProviderError>;
    BatchSubmitted: BatchSubmitted, BatchSubmittedArgs<'a> => Result<BatchStep, ProviderError>;
    PollBatch: PollBatch, Cow<'a, str> => Result<HttpRequest, ProviderError>;
    ParseBatchStatus: ParseBatchStatus, HttpResponse => Result<BatchStatus, ProviderError>;
    ParseBatchResults: ParseBatchResults, HttpResponse => Result<Vec<BatchOutcome>, ProviderError>;
}
