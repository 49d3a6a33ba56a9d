//! The OpenAI Chat Completions wire format, shared by `provider-openai` and
//! `provider-lmstudio` (and any other server that speaks it: Ollama, llama.cpp).
//!
//! Plain functions over data, no plugin machinery and no I/O:
//!
//! - [`request`]: a [`CompletionRequest`](hypernet_plugin_api::provider::CompletionRequest)
//!   to a `POST /chat/completions` body;
//! - [`response`]: a JSON answer to a [`Completion`](hypernet_plugin_api::provider::Completion);
//! - [`stream`]: one `data:` chunk of a streamed answer to
//!   [`StreamDelta`](hypernet_plugin_api::provider::StreamDelta)s;
//! - [`error`]: an error body (or an error chunk) to a typed
//!   [`ProviderError`](hypernet_plugin_api::provider::ProviderError);
//! - [`models`]: the answer of `GET /models` to model ids;
//! - [`endpoint`]: URLs, routed model ids and the config checks both plugins share;
//! - [`auth`]: the API key, read from the environment and never shown;
//! - [`batch`]: the Batch API (upload, create, poll, read the results).
//!
//! ```
//! use hypernet_openai_compat::request::{TokenLimitField, request_body};
//! use hypernet_plugin_api::provider::{CompletionRequest, Message};
//!
//! let req = CompletionRequest::new("openai/gpt-4o", vec![Message::user("hi")]);
//! let body = request_body(&req, "gpt-4o", TokenLimitField::MaxCompletionTokens).unwrap();
//! assert!(body.contains(r#""max_completion_tokens":1024"#));
//! ```

pub mod auth;
pub mod batch;
pub mod endpoint;
pub mod error;
pub mod models;
pub mod request;
pub mod response;
pub mod server;
pub mod stream;
mod wire;

pub use auth::ApiKey;
pub use endpoint::{chat_completions_url, models_url, validate_base_url, validate_prefix};
pub use error::{classify_error, classify_error_object};
pub use models::parse_models;
pub use request::{TokenLimitField, request_body};
pub use response::parse_completion;
pub use server::Server;
pub use stream::parse_chunk;
