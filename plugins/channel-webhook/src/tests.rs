//! Unit tests: the bodies, the templates, the signature and the config.

use super::*;
use hmac::{Hmac, Mac};
use hypernet_plugin_api::channel::{HttpResponse, Sender};
use serde_json::json;
use std::collections::HashMap;

const NOW: u64 = 1_700_000_000;

fn fixed_clock() -> u64 {
    NOW
}

fn try_webhook(toml_text: &str, env: &[(&str, &str)]) -> Result<Webhook, PluginError> {
    let value: toml::Value = toml::from_str(toml_text).expect("test config is TOML");
    let config = Config::deserialize(value).map_err(|e| PluginError::invalid(e.to_string()))?;
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Webhook::new(config, move |var| env.get(var).cloned(), fixed_clock)
}

fn webhook(toml_text: &str, env: &[(&str, &str)]) -> Webhook {
    try_webhook(toml_text, env).expect("channel starts")
}

fn message(text: &str) -> Outbound {
    Outbound {
        id: "M-000042".into(),
        to: "ada".into(),
        recipient: "Ada".into(),
        sender: Sender {
            name: "scout".into(),
            avatar_url: None,
        },
        subject: "Question on T-12".into(),
        text: text.into(),
        thread: Some("T-12".into()),
        tags: vec!["question".into(), "urgent".into()],
        ..Default::default()
    }
}

fn request(w: &mut Webhook, m: &Outbound) -> HttpRequest {
    match w.deliver(m).expect("deliverable") {
        Delivery::Http { mut requests } if requests.len() == 1 => requests.remove(0),
        other => panic!("expected one request, got {other:?}"),
    }
}

fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn the_default_body_is_slack_compatible_text() {
    let mut w = webhook(
        "",
        &[(
            "HYPERNET_WEBHOOK_URL",
            "https://hooks.example.org/T0/B0/xyz",
        )],
    );
    let r = request(&mut w, &message("Build \"green\"\nall good"));
    assert_eq!(
        (r.method.as_str(), r.url.as_str()),
        ("POST", "https://hooks.example.org/T0/B0/xyz")
    );
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body, json!({ "text": "Build \"green\"\nall good" }));
    assert_eq!(header(&r, "content-type"), Some("application/json"));
    assert_eq!(header(&r, "x-hypernet-delivery"), Some("M-000042"));
    assert_eq!(
        header(&r, "x-hypernet-signature"),
        None,
        "no secret, no signature"
    );
}

#[test]
fn base_url_and_path_replace_the_variable() {
    let mut w = webhook(
        "base_url = \"http://127.0.0.1:9/\"\npath = \"/in/hypernet\"",
        &[],
    );
    assert_eq!(
        request(&mut w, &message("x")).url,
        "http://127.0.0.1:9/in/hypernet"
    );
}

#[test]
fn a_template_is_filled_in_the_json_tree() {
    let mut w = webhook(
        r#"
        base_url = "http://127.0.0.1:9"
        [template]
        content = "**{subject}**: {text}"
        count = 3
        flags = [true, "{tags}"]
        [template.meta]
        id = "{id}"
        who = "{sender} to {recipient} <{to}>"
        thread = "{thread}"
        literal = "{ x } {A-1} and {"
        "#,
        &[],
    );
    let text = "He said \"hi\" \\ then\nleft\t}{ </script> {to}";
    let body: Value = serde_json::from_str(&request(&mut w, &message(text)).body).unwrap();
    assert_eq!(
        body,
        json!({
            "content": format!("**Question on T-12**: {text}"),
            "count": 3,
            "flags": [true, "question,urgent"],
            "meta": {
                "id": "M-000042",
                "who": "scout to Ada <ada>",
                "thread": "T-12",
                "literal": "{ x } {A-1} and {",
            },
        })
    );
}

#[test]
fn a_template_with_an_unknown_placeholder_is_refused_by_name() {
    let e = try_webhook(
        "base_url = \"http://x\"\ntemplate = { text = \"{body}\" }",
        &[],
    )
    .unwrap_err();
    assert!(
        e.message().contains("{body}") && e.message().contains("{text}"),
        "{e}"
    );
}

#[test]
fn outside_a_thread_the_thread_is_empty() {
    let mut w = webhook(
        "base_url = \"http://x\"\ntemplate = \"[{thread}] {text}\"",
        &[],
    );
    let mut m = message("hi");
    m.thread = None;
    assert_eq!(request(&mut w, &m).body, "\"[] hi\"");
}

#[test]
fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
    let mut w = webhook(
        "",
        &[
            ("HYPERNET_WEBHOOK_URL", "https://hooks.example.org/x"),
            ("HYPERNET_WEBHOOK_SECRET", "s3cret"),
        ],
    );
    let r = request(&mut w, &message("hi"));
    assert_eq!(header(&r, "x-hypernet-timestamp"), Some("1700000000"));
    // The receiver's check, written independently of the sender's code.
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(format!("1700000000.{}", r.body).as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(header(&r, "x-hypernet-signature"), Some(expected.as_str()));
    // A known vector: HMAC-SHA256(key "key", "1.{}").
    assert_eq!(
        signature::sign(b"key", 1, "{}"),
        "sha256=".to_owned()
            + &{
                let mut m = Hmac::<sha2::Sha256>::new_from_slice(b"key").unwrap();
                m.update(b"1.{}");
                hex::encode(m.finalize().into_bytes())
            }
    );
    assert_ne!(
        signature::sign(b"key", 2, "{}"),
        signature::sign(b"key", 1, "{}")
    );
}

#[test]
fn the_delivery_id_is_the_same_on_a_retry() {
    let mut w = webhook("base_url = \"http://x\"", &[]);
    let m = message("hi");
    assert_eq!(request(&mut w, &m), request(&mut w, &m));
}

#[test]
fn answers_are_classified_by_status() {
    let mut w = webhook("base_url = \"http://x\"", &[]);
    let m = message("hi");
    let ok = HttpResponse {
        status: 200,
        headers: vec![],
        body: "ok".into(),
    };
    assert!(w.parse_delivery(&m, 0, &ok).is_ok());
    let limited = HttpResponse {
        status: 429,
        headers: vec![("Retry-After".into(), "3".into())],
        body: "slow down".into(),
    };
    assert_eq!(
        w.parse_delivery(&m, 0, &limited)
            .unwrap_err()
            .retry_after_ms(),
        Some(3000)
    );
    let gone = HttpResponse {
        status: 404,
        headers: vec![],
        body: "no_service".into(),
    };
    assert!(!w.parse_delivery(&m, 0, &gone).unwrap_err().is_retryable());
}

#[test]
fn the_url_and_secret_stay_out_of_errors_and_debug_output() {
    let e = try_webhook("", &[]).unwrap_err();
    assert!(e.message().contains("HYPERNET_WEBHOOK_URL"), "{e}");
    let e = try_webhook(
        "url_env = \"HOOK\"",
        &[("HOOK", "hooks.example.org/secret-path")],
    )
    .unwrap_err();
    assert!(
        e.message().contains("HOOK") && !e.message().contains("secret-path"),
        "{e}"
    );
    let w = webhook(
        "",
        &[
            (
                "HYPERNET_WEBHOOK_URL",
                "https://hooks.example.org/secret-path",
            ),
            ("HYPERNET_WEBHOOK_SECRET", "s3cret"),
        ],
    );
    let shown = format!("{w:?}");
    assert!(
        !shown.contains("secret-path") && !shown.contains("s3cret"),
        "{shown}"
    );
}

#[test]
fn validation_names_the_field() {
    for (toml_text, field) in [
        ("base_url = \"hooks.example.org\"", "base_url"),
        ("path = \"/x\"", "path"),
        ("secret_env = \"\"", "secret_env"),
        ("url = \"http://x\"", "url"),
    ] {
        let e = try_webhook(toml_text, &[("HYPERNET_WEBHOOK_URL", "http://x")]).unwrap_err();
        assert!(e.message().contains(field), "{toml_text}: {e}");
    }
}
