//! The host's HTTP executor: every request a provider plugin prepares goes out here, with
//! one pooled `reqwest` client, a per-attempt timeout, a concurrency limit per provider,
//! retries with exponential backoff and full jitter, and server-sent-event streaming.
//!
//! Providers stay sans-IO: the executor asks them (through [`ProviderOps`]) to parse a
//! response, a stream's events or an error, and decides everything about the network itself.
//!
//! - [`config`]: the `[http]` settings.
//! - [`error`]: why a call failed, as the scheduler sees it.
//! - [`limits`]: one semaphore per provider; permits are guards, so cancellation frees them.
//! - [`retry`]: which failures are retried and how long to wait (pure).
//! - [`scrub`]: credentials a response quotes back are blanked before a plugin reads it.
//! - [`tls`]: HTTPS through rustls.
//! - [`stream`]: reading a streamed answer; its text also goes, as it arrives, to the
//!   caller's [`TextSink`] (the scheduler announces it to watchers).

pub mod config;
pub mod error;
pub mod limits;
pub mod retry;
pub mod scrub;
pub mod stream;
pub mod tls;

#[cfg(test)]
mod tests;

pub use config::HttpConfig;
pub use error::CallError;
pub use limits::Limits;
pub use retry::{Decision, GiveUpReason, RetryPolicy};
pub use stream::TextSink;
use stream::reborrow;

use hypernet_plugin_api::provider::{
    Completion, CompletionRequest, HttpRequest, HttpResponse, Provider, ProviderError, StreamBatch,
    sse,
};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The parsing half of a provider, as the executor needs it. The outer `Err` is a failure
/// of the plugin itself (it panicked, or answered nonsense), never retried.
pub trait ProviderOps: Sync {
    /// Parses a 2xx, non-streamed response.
    fn parse_response(
        &self,
        request: &CompletionRequest,
        response: &HttpResponse,
    ) -> impl Future<Output = Result<Result<Completion, ProviderError>, String>> + Send;

    /// Maps the text of whole server-sent events read together to deltas, up to the first
    /// event that fails.
    fn parse_stream_text(
        &self,
        text: &str,
    ) -> impl Future<Output = Result<StreamBatch, String>> + Send;

    /// Classifies a non-2xx response.
    fn classify_error(
        &self,
        response: &HttpResponse,
    ) -> impl Future<Output = Result<ProviderError, String>> + Send;
}

/// A [`Provider`] value in this process, called directly (tests and benchmarks).
#[derive(Debug)]
pub struct LocalProvider<P>(pub Mutex<P>);

impl<P: Provider> LocalProvider<P> {
    /// Wraps a provider.
    pub fn new(provider: P) -> Self {
        LocalProvider(Mutex::new(provider))
    }

    fn with<R>(&self, f: impl FnOnce(&mut P) -> R) -> Result<R, String> {
        let mut guard = self
            .0
            .lock()
            .map_err(|_| "provider lock poisoned".to_owned())?;
        Ok(f(&mut guard))
    }
}

impl<P: Provider> ProviderOps for LocalProvider<P> {
    async fn parse_response(
        &self,
        request: &CompletionRequest,
        response: &HttpResponse,
    ) -> Result<Result<Completion, ProviderError>, String> {
        self.with(|p| p.parse_response(request, response))
    }

    async fn parse_stream_text(&self, text: &str) -> Result<StreamBatch, String> {
        self.with(|p| p.parse_stream_events(&sse::events(text)))
    }

    async fn classify_error(&self, response: &HttpResponse) -> Result<ProviderError, String> {
        self.with(|p| p.classify_error(response))
    }
}

/// The executor; cheap to clone (one client, one set of semaphores).
#[derive(Debug, Clone)]
pub struct HttpExecutor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    config: HttpConfig,
    limits: Limits,
    policy: RetryPolicy,
}

/// How one attempt failed.
enum AttemptError {
    /// Not the provider's answer: a plugin failure or a request the host cannot build.
    Host(String),
    /// The provider's (or the network's) classified error.
    Provider {
        error: ProviderError,
        status: Option<u16>,
        /// Output already streamed: the call cannot be replayed without duplicating it.
        produced: bool,
    },
}

fn network(message: String, produced: bool) -> AttemptError {
    AttemptError::Provider {
        error: ProviderError::Network { message },
        status: None,
        produced,
    }
}

/// A reqwest error in words, with its causes but without the URL (which may hold a key).
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the response body broke off"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut message = format!("{kind}: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

impl HttpExecutor {
    /// An executor as configured.
    pub fn new(config: &HttpConfig) -> Result<HttpExecutor, reqwest::Error> {
        tls::install();
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()?;
        Ok(HttpExecutor {
            inner: Arc::new(Inner {
                client,
                config: config.clone(),
                limits: Limits::new(config),
                policy: RetryPolicy::new(config),
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// The retry rules.
    pub fn policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    /// The concurrency limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Runs a prepared request for `provider` to a completion: waits for a slot, sends,
    /// streams (handing the text to `output` as it arrives) or parses, and retries what the
    /// retry rules allow (never once text was produced, so `output` sees no text twice).
    pub async fn complete<P: ProviderOps>(
        &self,
        provider: &str,
        ops: &P,
        request: &CompletionRequest,
        http: &HttpRequest,
        mut output: Option<&mut dyn TextSink>,
    ) -> Result<Completion, CallError> {
        let mut retries = 0;
        loop {
            let outcome = {
                // Held for one attempt only: a backoff does not keep others waiting.
                let _permit = self.inner.limits.acquire(provider).await;
                self.attempt(ops, request, http, reborrow(&mut output))
                    .await
            };
            let (error, status, produced) = match outcome {
                Ok(completion) => return Ok(completion),
                Err(AttemptError::Host(message)) => return Err(CallError::Host(message)),
                Err(AttemptError::Provider {
                    error,
                    status,
                    produced,
                }) => (error, status, produced),
            };
            let decision = if produced {
                Decision::GiveUp(GiveUpReason::NotRetryable)
            } else {
                self.inner
                    .policy
                    .decide(&error, retries, retry::unit_random())
            };
            match decision {
                Decision::Retry(wait) => {
                    retries += 1;
                    tracing::warn!(
                        provider,
                        attempt = retries,
                        status,
                        wait_ms = wait.as_millis() as u64,
                        error = %error,
                        "retrying model call"
                    );
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp(reason) => {
                    if reason != GiveUpReason::NotRetryable || produced {
                        tracing::warn!(provider, retries, status, ?reason, produced, error = %error, "giving up on model call");
                    }
                    return Err(CallError::Provider(error));
                }
            }
        }
    }

    fn build(&self, http: &HttpRequest) -> Result<reqwest::RequestBuilder, String> {
        let method = reqwest::Method::from_bytes(http.method.as_bytes())
            .map_err(|e| format!("bad HTTP method `{}`: {e}", http.method))?;
        let mut builder = self
            .inner
            .client
            .request(method, &http.url)
            .body(http.body.clone());
        for (name, value) in &http.headers {
            builder = builder.header(name, value);
        }
        Ok(builder)
    }

    async fn attempt<P: ProviderOps>(
        &self,
        ops: &P,
        request: &CompletionRequest,
        http: &HttpRequest,
        mut output: Option<&mut dyn TextSink>,
    ) -> Result<Completion, AttemptError> {
        let timeout = self.inner.config.request_timeout();
        let builder = self.build(http).map_err(AttemptError::Host)?;
        let response = match tokio::time::timeout(timeout, builder.send()).await {
            Err(_) => {
                return Err(network(format!("no response within {timeout:?}"), false));
            }
            Ok(Err(e)) => return Err(network(describe(e), false)),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let success = (200..300).contains(&status);
        let event_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
        if success && request.stream && event_stream {
            let result = self
                .stream(ops, request, response, timeout, reborrow(&mut output))
                .await;
            // The text so far goes out however the stream ended.
            if let Some(output) = output {
                output.flush(std::time::Instant::now());
            }
            return result;
        }
        let mut response = read(response, timeout).await?;
        scrub::scrub(&mut response.body, &scrub::credentials(http));
        if success {
            ops.parse_response(request, &response)
                .await
                .map_err(AttemptError::Host)?
                .map_err(|error| AttemptError::Provider {
                    error,
                    status: Some(status),
                    produced: false,
                })
        } else {
            let error = ops
                .classify_error(&response)
                .await
                .map_err(AttemptError::Host)?;
            Err(AttemptError::Provider {
                error: retry::with_retry_after_date(error, &response),
                status: Some(status),
                produced: false,
            })
        }
    }

    /// Sends one request once (no retries, no slot), as for a model listing.
    pub async fn send_once(
        &self,
        http: &HttpRequest,
        timeout: Duration,
    ) -> Result<HttpResponse, ProviderError> {
        let builder = self
            .build(http)
            .map_err(|message| ProviderError::Malformed { message })?;
        let as_error = |e: AttemptError| match e {
            AttemptError::Host(message) => ProviderError::Malformed { message },
            AttemptError::Provider { error, .. } => error,
        };
        let response = match tokio::time::timeout(timeout, builder.send()).await {
            Err(_) => {
                return Err(ProviderError::Network {
                    message: format!("no response within {timeout:?}"),
                });
            }
            Ok(Err(e)) => {
                return Err(ProviderError::Network {
                    message: describe(e),
                });
            }
            Ok(Ok(response)) => response,
        };
        let mut response = read(response, timeout).await.map_err(as_error)?;
        scrub::scrub(&mut response.body, &scrub::credentials(http));
        Ok(response)
    }
}

/// Reads a whole response within `timeout`.
async fn read(
    response: reqwest::Response,
    timeout: Duration,
) -> Result<HttpResponse, AttemptError> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match tokio::time::timeout(timeout, response.text()).await {
        Err(_) => {
            return Err(network(
                format!("the response body did not arrive within {timeout:?}"),
                false,
            ));
        }
        Ok(Err(e)) => return Err(network(describe(e), false)),
        Ok(Ok(body)) => body,
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}
