//! Config checks, start, and what the provider describes.

use super::*;
use hypernet_plugin_api::ErrorCode;
use hypernet_plugin_api::provider::Message;
use hypernet_plugin_api::testing::TestHost;
use serde_json::{Value, json};

#[test]
fn describe_serves_the_prefix_remotely() {
    assert_eq!(
        provider(json!({"prefix": "claude"})).describe(),
        ProviderInfo {
            models: vec!["claude/".into()],
            local: false,
            simulated: false,
        }
    );
}

#[test]
fn validate_names_the_field_and_value_at_fault() {
    let err = |v: Value| {
        let c: Config = serde_json::from_value(v).unwrap();
        Anthropic::validate(&c).unwrap_err()
    };
    let e = err(json!({"prefix": ""}));
    assert_eq!(e.code(), ErrorCode::Invalid);
    assert!(e.message().contains("`prefix`"), "{e}");
    let e = err(json!({"base_url": "api.anthropic.com"}));
    assert!(e.message().contains("`base_url`"), "{e}");
    assert!(e.message().contains("api.anthropic.com"), "{e}");
    assert!(
        serde_json::from_value::<Config>(json!({"base_ulr": "https://x"}))
            .unwrap_err()
            .to_string()
            .contains("base_ulr")
    );
    config(json!({"base_url": "http://127.0.0.1:8080"}));
}

#[test]
fn start_fails_when_the_key_variable_is_unset_or_empty() {
    // A variable no test sets, so the check reads the real environment without racing.
    let name = "HYPERNET_TEST_ANTHROPIC_KEY_NEVER_SET_7f3a";
    let err = Anthropic::start(
        config(json!({"api_key_env": name})),
        TestHost::new("provider-anthropic").host(),
    )
    .unwrap_err();
    assert_eq!(
        err.message(),
        format!("environment variable {name} is not set; provider-anthropic needs an API key")
    );
    let err =
        Anthropic::new(config(json!({"api_key_env": "MY_KEY"})), Some("  ".into())).unwrap_err();
    assert!(err.message().contains("MY_KEY"), "{err}");
}

#[test]
fn start_reads_the_key_and_never_shows_it() {
    let name = "HYPERNET_TEST_ANTHROPIC_KEY_SET_c91e";
    // SAFETY: only this test touches this variable, and nothing in this test binary reads
    // the environment outside Rust's own synchronized `std::env`.
    unsafe { std::env::set_var(name, KEY) };
    let mut p = Anthropic::start(
        config(json!({"api_key_env": name})),
        TestHost::new("provider-anthropic").host(),
    )
    .unwrap();
    let req = http(
        p.prepare(&CompletionRequest::new(
            "anthropic/claude-sonnet-4-5",
            vec![Message::user("hi")],
        ))
        .unwrap(),
    );
    assert_eq!(req.headers[0], ("x-api-key".into(), KEY.into()));
    let debug = format!("{p:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("redacted"), "{debug}");
    let errors = [
        p.prepare(&CompletionRequest::new("gpt-5", vec![]))
            .unwrap_err()
            .to_string(),
        p.classify_error(&HttpResponse {
            status: 401,
            headers: vec![],
            body: "{}".into(),
        })
        .to_string(),
    ];
    assert!(errors.iter().all(|e| !e.contains(KEY)), "{errors:?}");
}
