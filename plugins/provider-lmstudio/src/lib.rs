//! `provider-lmstudio`: any local server that speaks OpenAI's Chat Completions API —
//! LM Studio, Ollama (`http://localhost:11434/v1`), llama.cpp's `llama-server`
//! (`http://127.0.0.1:8080/v1`).
//!
//! Models are routed as `<prefix>/<model>`, e.g. `lmstudio/qwen3-8b`; the prefix is
//! stripped before the request is sent, and `<prefix>/` or `<prefix>/default` mean
//! `default_model`. Its models are local: never charged against a budget. Output limits are
//! sent as `max_tokens`, the only field these servers know. No `Authorization` header is
//! sent unless `api_key_env` names a variable (for LM Studio's "Require Authentication" or
//! `llama-server --api-key`). The wire format lives in `hypernet-openai-compat`, shared with
//! `provider-openai`, and tolerates what these servers do differently: no usage, numeric
//! tool-call ids, whole tool calls in one chunk, integer error codes, extra fields.
//!
//! ```toml
//! [[plugin]]
//! name = "provider-lmstudio"
//! enabled = true
//! capabilities = ["log"]
//! [plugin.config]                         # every key is optional
//! base_url = "http://localhost:1234/v1"   # default (LM Studio)
//! prefix = "lmstudio"                     # default; route "lmstudio/qwen3-8b" here
//! default_model = "qwen3-8b"              # for "lmstudio/" and "lmstudio/default"
//! api_key_env = "LMSTUDIO_API_KEY"        # only if the server requires a key
//! ```

use hypernet_openai_compat::{self as compat, ApiKey, TokenLimitField};
use hypernet_plugin_api::provider::{
    Completion, CompletionRequest, HttpRequest, HttpResponse, Prepared, Provider, ProviderError,
    ProviderInfo, SseEvent, StreamDelta,
};
use hypernet_plugin_api::{Host, PluginError};
use serde::Deserialize;

/// The plugin's name, in error messages.
const PLUGIN: &str = "provider-lmstudio";

/// The `[config]` table; every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// API root; default `http://localhost:1234/v1`.
    base_url: String,
    /// Routing prefix of model ids; default `lmstudio`.
    prefix: String,
    /// Environment variable holding an API key, when the server requires one; default none.
    api_key_env: Option<String>,
    /// The model used for `<prefix>/` and `<prefix>/default`; default none.
    default_model: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: "http://localhost:1234/v1".to_owned(),
            prefix: "lmstudio".to_owned(),
            api_key_env: None,
            default_model: None,
        }
    }
}

/// The provider. No `Debug`: it may hold a key.
struct LmStudio {
    config: Config,
    key: Option<ApiKey>,
}

impl LmStudio {
    /// The `Authorization` header, when a key is configured.
    fn auth_headers(&self) -> Vec<(String, String)> {
        self.key.iter().map(ApiKey::bearer_header).collect()
    }

    /// The server this provider talks to.
    fn server(&self) -> compat::Server {
        compat::Server {
            base_url: self.config.base_url.clone(),
            prefix: self.config.prefix.clone(),
            headers: self.auth_headers(),
            token_field: TokenLimitField::MaxTokens,
        }
    }

    /// The model id on the wire: the routed id without `<prefix>/`, or `default_model`.
    fn wire_model<'a>(&'a self, model: &'a str) -> Result<&'a str, ProviderError> {
        let id = compat::endpoint::strip_prefix(&self.config.prefix, model)?;
        if !id.is_empty() && id != "default" {
            return Ok(id);
        }
        self.config
            .default_model
            .as_deref()
            .ok_or_else(|| ProviderError::BadRequest {
                message: format!(
                    "model {model:?} asks for the default model, but {PLUGIN} has no \
                     `default_model` in its config"
                ),
            })
    }
}

impl Provider for LmStudio {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        compat::validate_prefix(&config.prefix)?;
        compat::validate_base_url(&config.base_url)?;
        if let Some(var) = config
            .api_key_env
            .as_deref()
            .filter(|v| v.trim().is_empty())
        {
            return Err(PluginError::invalid(format!(
                "`api_key_env` must name an environment variable, got {var:?}"
            )));
        }
        if let Some(model) = config
            .default_model
            .as_deref()
            .filter(|m| m.trim().is_empty())
        {
            return Err(PluginError::invalid(format!(
                "`default_model` must name a model, got {model:?}"
            )));
        }
        Ok(())
    }

    fn start(config: Config, _host: Host) -> Result<Self, PluginError> {
        let key = config
            .api_key_env
            .as_deref()
            .map(|var| ApiKey::from_env(var, PLUGIN))
            .transpose()?;
        tracing::info!(
            base_url = %config.base_url,
            prefix = %config.prefix,
            default_model = config.default_model.as_deref().unwrap_or(""),
            authenticated = key.is_some(),
            "local OpenAI-compatible provider ready"
        );
        Ok(LmStudio { config, key })
    }

    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            models: vec![format!("{}/", self.config.prefix)],
            local: true,
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
}

hypernet_plugin_api::register_provider!(LmStudio, "lmstudio");
hypernet_plugin_api::export_plugin!();

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::provider::{
        CompletionBuilder, ContentBlock, Message, Role, StopReason, ToolCall, Usage,
    };
    use hypernet_plugin_api::testing::TestHost;
    use serde_json::{Value, json};

    fn config(value: Value) -> Config {
        serde_json::from_value(value).unwrap()
    }

    fn provider(value: Value) -> LmStudio {
        let config = config(value);
        LmStudio::validate(&config).unwrap();
        LmStudio::start(config, TestHost::new(PLUGIN).host()).unwrap()
    }

    fn http(prepared: Prepared) -> HttpRequest {
        match prepared {
            Prepared::Http { request } => request,
            _ => panic!("expected an HTTP request"),
        }
    }

    fn json_header() -> (String, String) {
        ("Content-Type".into(), "application/json".into())
    }

    #[test]
    fn defaults_are_a_local_lm_studio_without_auth() {
        let c = config(json!({}));
        assert_eq!(c.base_url, "http://localhost:1234/v1");
        assert_eq!(c.prefix, "lmstudio");
        assert_eq!((c.api_key_env, c.default_model), (None, None));
        let p = provider(json!({}));
        assert_eq!(
            p.describe(),
            ProviderInfo {
                models: vec!["lmstudio/".into()],
                local: true,
                simulated: false
            }
        );
    }

    #[test]
    fn prepare_sends_max_tokens_and_no_auth_header() {
        let mut p = provider(json!({}));
        let mut req = CompletionRequest::new(
            "lmstudio/qwen/qwen3-8b",
            vec![
                Message::user("List /tmp"),
                Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse {
                        id: "365174485".into(),
                        name: "list".into(),
                        input: json!({"dir": "/tmp"}),
                    }],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "365174485".into(),
                        content: "a.txt".into(),
                        is_error: false,
                    }],
                },
            ],
        );
        req.system = Some("Be brief.".into());
        req.max_tokens = 200;
        req.temperature = Some(0.7);
        let r = http(p.prepare(&req).unwrap());
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "http://localhost:1234/v1/chat/completions");
        assert_eq!(r.headers, vec![json_header()]);
        assert_eq!(
            r.body,
            concat!(
                r#"{"model":"qwen/qwen3-8b","messages":["#,
                r#"{"role":"system","content":"Be brief."},"#,
                r#"{"role":"user","content":"List /tmp"},"#,
                r#"{"role":"assistant","content":null,"tool_calls":[{"id":"365174485","type":"function","function":{"name":"list","arguments":"{\"dir\":\"/tmp\"}"}}]},"#,
                r#"{"role":"tool","tool_call_id":"365174485","content":"a.txt"}],"#,
                r#""max_tokens":200,"temperature":0.7}"#
            )
        );
    }

    #[test]
    fn a_configured_key_is_sent_as_bearer() {
        // Cargo sets CARGO_PKG_NAME for the test process; no test mutates the environment.
        let mut p = provider(json!({
            "api_key_env": "CARGO_PKG_NAME",
            "base_url": "http://127.0.0.1:8080/v1",
            "prefix": "llama"
        }));
        let r = http(
            p.prepare(&CompletionRequest::new(
                "llama/qwen",
                vec![Message::user("hi")],
            ))
            .unwrap(),
        );
        assert_eq!(r.url, "http://127.0.0.1:8080/v1/chat/completions");
        assert_eq!(
            r.headers,
            vec![
                (
                    "Authorization".into(),
                    format!("Bearer {}", env!("CARGO_PKG_NAME"))
                ),
                json_header()
            ]
        );
        let m = p.list_models().unwrap();
        assert_eq!(m.url, "http://127.0.0.1:8080/v1/models");
        assert_eq!(m.headers, vec![r.headers[0].clone()]);
    }

    #[test]
    fn a_named_but_unset_key_fails_start() {
        let c = config(json!({"api_key_env": "HYPERNET_TEST_LMSTUDIO_MISSING_KEY_1"}));
        let err = LmStudio::start(c, TestHost::new(PLUGIN).host())
            .err()
            .expect("start must fail without the key");
        assert_eq!(
            err.to_string(),
            "environment variable HYPERNET_TEST_LMSTUDIO_MISSING_KEY_1 is not set; provider-lmstudio needs an API key"
        );
    }

    #[test]
    fn default_model_and_prefix_routing() {
        let mut p = provider(json!({"default_model": "qwen3-8b", "prefix": "ollama"}));
        for routed in ["ollama/", "ollama/default"] {
            let r = http(
                p.prepare(&CompletionRequest::new(routed, vec![Message::user("hi")]))
                    .unwrap(),
            );
            let body: Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(body["model"], "qwen3-8b", "{routed}");
        }
        for outside in ["qwen3-8b", "lmstudio/qwen3-8b"] {
            assert!(matches!(
                p.prepare(&CompletionRequest::new(outside, vec![Message::user("hi")])),
                Err(ProviderError::BadRequest { message }) if message.contains(outside)
            ));
        }
        let mut p = provider(json!({}));
        let err = p
            .prepare(&CompletionRequest::new(
                "lmstudio/default",
                vec![Message::user("hi")],
            ))
            .unwrap_err();
        assert!(
            matches!(&err, ProviderError::BadRequest { message } if message.contains("`default_model`")),
            "{err:?}"
        );
    }

    #[test]
    fn validate_names_the_field_and_value() {
        let msg = |v: Value| LmStudio::validate(&config(v)).unwrap_err().to_string();
        let m = msg(json!({"prefix": ""}));
        assert!(m.contains("`prefix`") && m.contains("\"\""), "{m}");
        let m = msg(json!({"base_url": "localhost:1234/v1"}));
        assert!(
            m.contains("`base_url`") && m.contains("localhost:1234/v1"),
            "{m}"
        );
        let m = msg(json!({"api_key_env": ""}));
        assert!(m.contains("`api_key_env`"), "{m}");
        let m = msg(json!({"default_model": " "}));
        assert!(m.contains("`default_model`"), "{m}");
        let unknown = serde_json::from_value::<Config>(json!({"model": "x"})).unwrap_err();
        assert!(unknown.to_string().contains("model"), "{unknown}");
    }

    #[test]
    fn models_list_without_created() {
        let mut p = provider(json!({}));
        let r = p.list_models().unwrap();
        assert_eq!(
            (r.method.as_str(), r.url.as_str()),
            ("GET", "http://localhost:1234/v1/models")
        );
        assert!(r.headers.is_empty());
        let answer = HttpResponse {
            status: 200,
            headers: vec![],
            body: r#"{"data":[{"id":"qwen3-8b","object":"model","owned_by":"organization_owner"},{"id":"text-embedding-nomic-embed-text-v1.5","object":"model","owned_by":"organization_owner"}],"object":"list"}"#.into(),
        };
        assert_eq!(
            p.parse_models(&answer).unwrap(),
            vec![
                "lmstudio/qwen3-8b",
                "lmstudio/text-embedding-nomic-embed-text-v1.5"
            ]
        );
    }

    #[test]
    fn lm_studio_answers_without_usage_and_with_numeric_ids() {
        let mut p = provider(json!({}));
        let req = CompletionRequest::new("lmstudio/qwen3-8b", vec![Message::user("hi")]);
        let answer = HttpResponse {
            status: 200,
            headers: vec![],
            body: r#"{"id":"chatcmpl-x7","object":"chat.completion","created":1,"model":"qwen3-8b","system_fingerprint":"qwen3-8b","choices":[{"index":0,"logprobs":null,"finish_reason":"tool_calls","message":{"role":"assistant","tool_calls":[{"id":"365174485","type":"function","function":{"name":"list","arguments":"{\"dir\":\"/tmp\"}"}}]}}]}"#.into(),
        };
        let c = p.parse_response(&req, &answer).unwrap();
        assert_eq!(c.model, "qwen3-8b");
        assert_eq!(c.usage, Usage::default());
        assert_eq!(c.stop_reason, StopReason::ToolUse);
        assert_eq!(
            c.tool_calls,
            vec![ToolCall {
                id: "365174485".into(),
                name: "list".into(),
                arguments: json!({"dir": "/tmp"})
            }]
        );
    }

    #[test]
    fn an_ollama_stream_with_a_whole_tool_call_folds() {
        let mut p = provider(json!({}));
        let chunks = [
            r#"{"id":"chatcmpl-3","object":"chat.completion.chunk","created":1,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_k2","index":0,"type":"function","function":{"name":"read","arguments":"{\"path\":\"a\"}"}}]},"finish_reason":null}]}"#,
            r#"{"id":"chatcmpl-3","object":"chat.completion.chunk","created":1,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"tool_calls"}]}"#,
            r#"{"id":"chatcmpl-3","object":"chat.completion.chunk","created":1,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":12,"total_tokens":52}}"#,
            "[DONE]",
        ];
        let mut b = CompletionBuilder::new("lmstudio/qwen3:8b");
        for data in chunks {
            let event = SseEvent {
                event: None,
                data: data.into(),
            };
            for d in p.parse_stream_event(&event).unwrap() {
                b.push(d);
            }
        }
        let c = b.finish().unwrap();
        assert_eq!(c.model, "qwen3:8b");
        assert_eq!(c.stop_reason, StopReason::ToolUse);
        assert_eq!(c.tool_calls.len(), 1);
        assert_eq!(c.tool_calls[0].arguments, json!({"path": "a"}));
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (40, 12));
    }

    #[test]
    fn llama_cpp_loading_error_is_a_server_error() {
        let p = provider(json!({}));
        let r = HttpResponse {
            status: 503,
            headers: vec![],
            body: r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#
                .into(),
        };
        assert_eq!(
            p.classify_error(&r),
            ProviderError::Server {
                status: 503,
                message: "Loading model".into()
            }
        );
    }
}
