//! The real `channel-webhook` plugin through the real binary against a loopback receiver:
//! the body from a template (values that need escaping kept intact), the HMAC signature a
//! receiver verifies, the message id as the delivery handle, and a 429's `Retry-After`
//! honoured.

use crate::util::{send_message, settled};
use hmac::{Hmac, Mac};
use hypernet_integration::mock_llm::{MockLlm, Recorded, Reply};
use hypernet_integration::{Env, Host};
use serde_json::json;
use sha2::Sha256;
use std::time::Duration;

const SECRET: &str = "whsec-5b8e1c";
const PATH: &str = "/hooks/hypernet";

/// A receiver answering as Slack's incoming webhooks do: `200 ok`.
fn receiver(_: &Recorded) -> Reply {
    Reply::Full {
        status: 200,
        headers: Vec::new(),
        content_type: "text/plain".into(),
        body: "ok".into(),
    }
}

fn start(mock: &MockLlm, channels: &str) -> (Env, Host) {
    let env = Env::new();
    env.manifest(&format!(
        "[[plugin]]\nname = \"channel-webhook\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         base_url = \"{}\"\npath = \"{PATH}\"\nsecret_env = \"HN_TEST_WEBHOOK_SECRET\"\n\
         [plugin.config.template]\ntext = \"*{{subject}}*\\n{{text}}\"\nto = \"{{to}}\"\n\
         meta = {{ id = \"{{id}}\", from = \"{{sender}}\", thread = \"{{thread}}\", tags = \"{{tags}}\" }}\n",
        mock.url(),
    ));
    env.config(&format!(
        "standing = []\n{channels}\n[[person]]\nname = \"ada\"\nchannels = {{ webhook = \"ada-ops\" }}\nreceives = [\"questions\", \"approvals\", \"failures\", \"alerts\"]\n"
    ));
    let host = env.start_with_env(&[("HN_TEST_WEBHOOK_SECRET", SECRET)]);
    (env, host)
}

/// What a receiver checks: HMAC-SHA256 over `<timestamp>.<body>` with the shared secret.
fn signature(timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn a_message_is_posted_from_the_template_and_signed() {
    let mock = MockLlm::start_with(receiver);
    let (env, host) = start(&mock, "");
    let text = "Quote \" backslash \\ brace {to} newline\nend </b>";
    let id = send_message(
        &env,
        &json!({ "to": "ada", "channel": "webhook", "sender": "scout", "body": text,
                 "subject": "Build \"red\"", "thread": "T-12", "tags": ["failure", "urgent"] }),
    );
    let m = settled(&env, &id);
    assert_eq!(m["status"], "sent", "{m}\n{}", host.log());

    let posts = mock.requests_to(PATH);
    assert_eq!(posts.len(), 1, "{posts:?}");
    let post = &posts[0];
    assert_eq!(post.method, "POST");
    assert_eq!(
        post.json(),
        json!({
            "text": format!("*Build \"red\"*\n{text}"),
            "to": "ada-ops",
            "meta": { "id": id, "from": "scout", "thread": "T-12", "tags": "failure,urgent" },
        })
    );
    assert_eq!(post.header("x-hypernet-delivery"), Some(id.as_str()));
    let timestamp = post.header("x-hypernet-timestamp").expect("a timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        now.abs_diff(timestamp.parse::<u64>().unwrap()) < 60,
        "{timestamp}"
    );
    assert_eq!(
        post.header("x-hypernet-signature"),
        Some(signature(timestamp, &post.body).as_str())
    );
    assert!(!host.log().contains(SECRET), "the secret in the log");
}

#[test]
fn a_429_is_retried_after_retry_after_with_the_same_delivery_id() {
    let mock = MockLlm::start_with(receiver);
    mock.script(
        PATH,
        [
            Reply::json(429, json!({ "ok": false, "error": "rate_limited" }))
                .with_header("Retry-After", "1"),
        ],
    );
    let (env, host) = start(
        &mock,
        "[channels]\nretry_base_ms = 50\nretry_max_ms = 100\n",
    );
    let id = send_message(
        &env,
        &json!({ "to": "ada", "channel": "webhook", "body": "hello" }),
    );
    let m = settled(&env, &id);
    assert_eq!(m["status"], "sent", "{m}\n{}", host.log());
    let posts = mock.requests_to(PATH);
    assert_eq!(posts.len(), 2, "{posts:?}");
    let waited = posts[1].received - posts[0].received;
    assert!(
        waited >= Duration::from_secs(1),
        "retried after {waited:?}, asked for 1 s"
    );
    assert_eq!(posts[0].header("x-hypernet-delivery"), Some(id.as_str()));
    assert_eq!(posts[1].header("x-hypernet-delivery"), Some(id.as_str()));
    for post in &posts {
        let timestamp = post.header("x-hypernet-timestamp").unwrap();
        assert_eq!(
            post.header("x-hypernet-signature"),
            Some(signature(timestamp, &post.body).as_str())
        );
    }
}
