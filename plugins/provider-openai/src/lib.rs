//! `provider-openai`: OpenAI's Chat Completions API (`POST /v1/chat/completions`).
//!
//! Models are routed as `<prefix>/<model>`, e.g. `openai/gpt-4o`; the prefix is stripped
//! before the request is sent. The API key is read once, at start, from an environment
//! variable (never from the manifest) and is never logged. Output limits are sent as
//! `max_completion_tokens`, the field reasoning models require. Deferrable tasks may go
//! through the Batch API (`POST /v1/files`, `POST /v1/batches`; see
//! `hypernet_openai_compat::batch`). The wire format itself
//! lives in `hypernet-openai-compat`, shared with `provider-lmstudio`.
//!
//! ```toml
//! [[plugin]]
//! name = "provider-openai"
//! enabled = true
//! capabilities = ["log"]
//! [plugin.config]                          # every key is optional
//! base_url = "https://api.openai.com/v1"   # default
//! api_key_env = "OPENAI_API_KEY"           # default; the variable holding the key
//! prefix = "openai"                        # default; route "openai/gpt-4o" here
//! organization = "org-…"                   # sent as OpenAI-Organization
//! project = "proj_…"                       # sent as OpenAI-Project
//! ```

use hypernet_openai_compat::{self as compat, ApiKey, TokenLimitField};
use hypernet_plugin_api::provider::{
    BatchLimits, BatchOutcome, BatchRequest, BatchStatus, BatchStep, Completion, CompletionRequest,
    HttpRequest, HttpResponse, Prepared, Provider, ProviderError, ProviderInfo, SseEvent,
    StreamDelta,
};
use hypernet_plugin_api::{Host, PluginError};
use serde::Deserialize;

/// The plugin's name, in error messages.
const PLUGIN: &str = "provider-openai";

/// The `[config]` table; every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// API root; default `https://api.openai.com/v1`.
    base_url: String,
    /// Environment variable holding the API key; default `OPENAI_API_KEY`.
    api_key_env: String,
    /// Routing prefix of model ids; default `openai`.
    prefix: String,
    /// Sent as the `OpenAI-Organization` header when set.
    organization: Option<String>,
    /// Sent as the `OpenAI-Project` header when set.
    project: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: "https://api.openai.com/v1".to_owned(),
            api_key_env: "OPENAI_API_KEY".to_owned(),
            prefix: "openai".to_owned(),
            organization: None,
            project: None,
        }
    }
}

/// The provider. No `Debug`: it holds the key.
struct OpenAi {
    config: Config,
    key: ApiKey,
}

impl OpenAi {
    /// Authorization and the optional organization / project headers.
    fn auth_headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![self.key.bearer_header()];
        if let Some(org) = &self.config.organization {
            headers.push(("OpenAI-Organization".to_owned(), org.clone()));
        }
        if let Some(project) = &self.config.project {
            headers.push(("OpenAI-Project".to_owned(), project.clone()));
        }
        headers
    }

    /// The server this provider talks to.
    fn server(&self) -> compat::Server {
        compat::Server {
            base_url: self.config.base_url.clone(),
            prefix: self.config.prefix.clone(),
            headers: self.auth_headers(),
            token_field: TokenLimitField::MaxCompletionTokens,
        }
    }

    /// The model id on the wire: the routed id without `<prefix>/`.
    fn wire_model<'a>(&self, model: &'a str) -> Result<&'a str, ProviderError> {
        let id = compat::endpoint::strip_prefix(&self.config.prefix, model)?;
        if id.is_empty() {
            return Err(ProviderError::BadRequest {
                message: format!(
                    "model {model:?} names no model: expected \"{}/<model>\"",
                    self.config.prefix
                ),
            });
        }
        Ok(id)
    }
}

impl Provider for OpenAi {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        compat::validate_prefix(&config.prefix)?;
        compat::validate_base_url(&config.base_url)?;
        if config.api_key_env.trim().is_empty() {
            return Err(PluginError::invalid(
                "`api_key_env` must name an environment variable, got \"\"",
            ));
        }
        Ok(())
    }

    fn start(config: Config, _host: Host) -> Result<Self, PluginError> {
        let key = ApiKey::from_env(&config.api_key_env, PLUGIN)?;
        tracing::info!(
            base_url = %config.base_url,
            prefix = %config.prefix,
            api_key_env = %config.api_key_env,
            "OpenAI provider ready"
        );
        Ok(OpenAi { config, key })
    }

    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            models: vec![format!("{}/", self.config.prefix)],
            local: false,
            simulated: false,
        }
    }

    fn prepare(&mut self, request: &CompletionRequest) -> Result<Prepared, ProviderError> {
        let model = self.wire_model(&request.model)?;
        self.server().chat(request, model)
    }

    fn parse_response(
        &mut self,
        request: &CompletionRequest,
        response: &HttpResponse,
    ) -> Result<Completion, ProviderError> {
        compat::parse_completion(request, response)
    }

    fn parse_stream_event(&mut self, event: &SseEvent) -> Result<Vec<StreamDelta>, ProviderError> {
        compat::parse_chunk(event)
    }

    fn list_models(&mut self) -> Option<HttpRequest> {
        Some(self.server().list_models())
    }

    fn parse_models(&mut self, response: &HttpResponse) -> Result<Vec<String>, ProviderError> {
        self.server().parse_models(response)
    }

    fn classify_error(&self, response: &HttpResponse) -> ProviderError {
        compat::classify_error(response)
    }

    /// The Batch API takes up to 50,000 requests per batch.
    fn batch_support(&self) -> Option<BatchLimits> {
        Some(BatchLimits {
            max_requests: 50_000,
        })
    }

    fn submit_batch(&mut self, requests: &[BatchRequest]) -> Result<BatchStep, ProviderError> {
        self.server()
            .submit_batch(requests, |m| self.wire_model(m).map(str::to_owned))
    }

    fn batch_submitted(
        &mut self,
        state: &serde_json::Value,
        response: &HttpResponse,
    ) -> Result<BatchStep, ProviderError> {
        self.server().batch_submitted(state, response)
    }

    fn poll_batch(&mut self, batch_id: &str) -> Result<HttpRequest, ProviderError> {
        Ok(self.server().poll_batch(batch_id))
    }

    fn parse_batch_status(
        &mut self,
        response: &HttpResponse,
    ) -> Result<BatchStatus, ProviderError> {
        self.server().parse_batch_status(response)
    }

    fn parse_batch_results(
        &mut self,
        response: &HttpResponse,
    ) -> Result<Vec<BatchOutcome>, ProviderError> {
        self.server().parse_batch_results(response)
    }
}

hypernet_plugin_api::register_provider!(OpenAi, "openai");
hypernet_plugin_api::export_plugin!();

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::provider::{ContentBlock, Message, Role, StopReason};
    use hypernet_plugin_api::testing::TestHost;
    use serde_json::{Value, json};

    /// The key the tests use: cargo sets `CARGO_PKG_NAME` for the test process, so no test
    /// has to mutate the environment.
    const KEY: &str = env!("CARGO_PKG_NAME");

    fn config(extra: Value) -> Config {
        let mut cfg = json!({"api_key_env": "CARGO_PKG_NAME"});
        cfg.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(cfg).unwrap()
    }

    fn provider(extra: Value) -> OpenAi {
        let config = config(extra);
        OpenAi::validate(&config).unwrap();
        OpenAi::start(config, TestHost::new(PLUGIN).host()).unwrap()
    }

    fn http(prepared: Prepared) -> HttpRequest {
        match prepared {
            Prepared::Http { request } => request,
            _ => panic!("expected an HTTP request"),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let c: Config = serde_json::from_value(json!({})).unwrap();
        assert_eq!(c.base_url, "https://api.openai.com/v1");
        assert_eq!(c.api_key_env, "OPENAI_API_KEY");
        assert_eq!(c.prefix, "openai");
        assert_eq!((c.organization, c.project), (None, None));
        let p = provider(json!({}));
        assert_eq!(
            p.describe(),
            ProviderInfo {
                models: vec!["openai/".into()],
                local: false,
                simulated: false
            }
        );
    }

    #[test]
    fn prepare_sends_the_exact_request() {
        let mut p = provider(json!({}));
        let mut req = CompletionRequest::new(
            "openai/gpt-4o",
            vec![
                Message::user("What is in a.txt?"),
                Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse {
                        id: "call_1".into(),
                        name: "read".into(),
                        input: json!({"path": "a.txt"}),
                    }],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "call_1".into(),
                        content: "hello".into(),
                        is_error: false,
                    }],
                },
            ],
        );
        req.max_tokens = 256;
        req.stream = true;
        let r = http(p.prepare(&req).unwrap());
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "https://api.openai.com/v1/chat/completions");
        assert_eq!(
            r.headers,
            pairs(&[
                ("Authorization", &format!("Bearer {KEY}")),
                ("Content-Type", "application/json"),
            ])
        );
        assert_eq!(
            r.body,
            concat!(
                r#"{"model":"gpt-4o","messages":["#,
                r#"{"role":"user","content":"What is in a.txt?"},"#,
                r#"{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"read","arguments":"{\"path\":\"a.txt\"}"}}]},"#,
                r#"{"role":"tool","tool_call_id":"call_1","content":"hello"}],"#,
                r#""max_completion_tokens":256,"stream":true,"stream_options":{"include_usage":true}}"#
            )
        );
    }

    #[test]
    fn organization_project_base_url_and_prefix() {
        let mut p = provider(json!({
            "base_url": "https://gateway.example/v1/",
            "prefix": "oai",
            "organization": "org-1",
            "project": "proj_2"
        }));
        let r = http(
            p.prepare(&CompletionRequest::new(
                "oai/gpt-4o-mini",
                vec![Message::user("hi")],
            ))
            .unwrap(),
        );
        assert_eq!(r.url, "https://gateway.example/v1/chat/completions");
        assert_eq!(
            r.headers,
            pairs(&[
                ("Authorization", &format!("Bearer {KEY}")),
                ("OpenAI-Organization", "org-1"),
                ("OpenAI-Project", "proj_2"),
                ("Content-Type", "application/json"),
            ])
        );
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["model"], "gpt-4o-mini");
        assert_eq!(p.describe().models, vec!["oai/"]);
    }

    #[test]
    fn models_outside_the_prefix_are_bad_requests() {
        let mut p = provider(json!({}));
        for model in ["gpt-4o", "openai/", "lmstudio/qwen", "openaix/gpt-4o"] {
            let err = p
                .prepare(&CompletionRequest::new(model, vec![Message::user("hi")]))
                .unwrap_err();
            assert!(
                matches!(&err, ProviderError::BadRequest { message } if message.contains(model)),
                "{model}: {err:?}"
            );
        }
    }

    #[test]
    fn a_missing_key_names_the_variable() {
        let config = config(json!({"api_key_env": "HYPERNET_TEST_OPENAI_MISSING_KEY_1"}));
        let err = OpenAi::start(config, TestHost::new(PLUGIN).host())
            .err()
            .expect("start must fail without a key");
        assert_eq!(
            err.to_string(),
            "environment variable HYPERNET_TEST_OPENAI_MISSING_KEY_1 is not set; provider-openai needs an API key"
        );
    }

    #[test]
    fn validate_names_the_field_and_value() {
        let msg = |extra: Value| OpenAi::validate(&config(extra)).unwrap_err().to_string();
        let m = msg(json!({"prefix": ""}));
        assert!(m.contains("`prefix`") && m.contains("\"\""), "{m}");
        let m = msg(json!({"base_url": "api.openai.com/v1"}));
        assert!(
            m.contains("`base_url`") && m.contains("api.openai.com/v1"),
            "{m}"
        );
        let m = msg(json!({"api_key_env": ""}));
        assert!(m.contains("`api_key_env`"), "{m}");
        let unknown = serde_json::from_value::<Config>(json!({"api_key": "sk-x"})).unwrap_err();
        assert!(unknown.to_string().contains("api_key"), "{unknown}");
    }

    #[test]
    fn list_models_is_authorized_and_parsed() {
        let mut p = provider(json!({"project": "proj_2"}));
        let r = p.list_models().unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.url, "https://api.openai.com/v1/models");
        assert_eq!(
            r.headers,
            pairs(&[
                ("Authorization", &format!("Bearer {KEY}")),
                ("OpenAI-Project", "proj_2"),
            ])
        );
        let answer = HttpResponse {
            status: 200,
            headers: vec![],
            body: r#"{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"}]}"#.into(),
        };
        assert_eq!(p.parse_models(&answer).unwrap(), vec!["openai/gpt-4o"]);
    }

    #[test]
    fn responses_streams_and_errors_use_the_openai_format() {
        let mut p = provider(json!({}));
        let req = CompletionRequest::new("openai/gpt-4o", vec![Message::user("hi")]);
        let ok = HttpResponse {
            status: 200,
            headers: vec![],
            body: r#"{"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#.into(),
        };
        let c = p.parse_response(&req, &ok).unwrap();
        assert_eq!(
            (c.text.as_str(), c.stop_reason),
            ("Hi!", StopReason::EndTurn)
        );
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (9, 3));
        let event = SseEvent {
            event: None,
            data: r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#
                .into(),
        };
        assert_eq!(
            p.parse_stream_event(&event).unwrap(),
            vec![StreamDelta::Text { text: "Hi".into() }]
        );
        let quota = HttpResponse {
            status: 429,
            headers: vec![("retry-after".into(), "5".into())],
            body: r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#.into(),
        };
        assert_eq!(
            p.classify_error(&quota),
            ProviderError::CreditsExhausted {
                message: "You exceeded your current quota".into()
            }
        );
    }
}
