//! The channel as the host drives it: requests built, answers read.

use super::*;
use hypernet_plugin_api::channel::Sender;

const TOKEN: &str = "123456:ABC-secret-token";

fn channel(config: serde_json::Value) -> Telegram {
    let config: Config = serde_json::from_value(config).unwrap();
    let secret = (config.mode == Mode::Webhook).then(|| "hook-secret".to_owned());
    Telegram::new(config, TOKEN.to_owned(), secret)
}

fn poller() -> Telegram {
    channel(json!({ "base_url": "http://127.0.0.1:9/", "poll_timeout_s": 10 }))
}

fn ok(result: Value) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![],
        body: json!({ "ok": true, "result": result }).to_string(),
    }
}

fn message() -> Outbound {
    Outbound {
        id: "M-000009".into(),
        to: "42".into(),
        sender: Sender {
            name: "host".into(),
            avatar_url: None,
        },
        text: "hello".into(),
        ..Default::default()
    }
}

fn body(request: &HttpRequest) -> Value {
    serde_json::from_str(&request.body).unwrap()
}

#[test]
fn calls_go_to_the_bot_path_as_json_posts() {
    let Delivery::Http { requests } = poller().deliver(&message()).unwrap() else {
        panic!("telegram delivers over HTTP");
    };
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(
        requests[0].url,
        format!("http://127.0.0.1:9/bot{TOKEN}/sendMessage")
    );
    assert_eq!(body(&requests[0])["chat_id"], 42);
}

#[test]
fn the_receipt_is_the_sent_message_id() {
    let receipt = poller()
        .parse_delivery(
            &message(),
            0,
            &ok(json!({ "message_id": 314, "chat": { "id": 42 } })),
        )
        .unwrap();
    assert_eq!(receipt.handle.as_deref(), Some("314"));
}

#[test]
fn a_refused_send_is_classified() {
    let response = HttpResponse {
        status: 403,
        headers: vec![],
        body: r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#
            .into(),
    };
    let err = poller()
        .parse_delivery(&message(), 0, &response)
        .unwrap_err();
    assert!(matches!(err, ChannelError::Rejected { .. }), "{err:?}");
}

#[test]
fn a_stale_button_press_does_not_hold_the_reply_back() {
    let mut reply = message();
    reply.reply = Some(json!({ "chat_id": 42, "message_id": 5, "callback_query_id": "q1" }));
    let too_old = HttpResponse {
        status: 400,
        headers: vec![],
        body: r#"{"ok":false,"error_code":400,"description":"Bad Request: query is too old and response timeout expired or query ID is invalid"}"#.into(),
    };
    let mut telegram = poller();
    let receipt = telegram.parse_delivery(&reply, 0, &too_old).unwrap();
    assert!(receipt.detail.unwrap().contains("query is too old"));
    // Flood control on the press is still waited out.
    let flood = HttpResponse {
        status: 429,
        headers: vec![],
        body: r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 2","parameters":{"retry_after":2}}"#.into(),
    };
    let err = telegram.parse_delivery(&reply, 0, &flood).unwrap_err();
    assert_eq!(err.retry_after_ms(), Some(2000));
    // Part 1 is the sendMessage.
    let receipt = telegram
        .parse_delivery(&reply, 1, &ok(json!({ "message_id": 6 })))
        .unwrap();
    assert_eq!(receipt.handle.as_deref(), Some("6"));
}

#[test]
fn get_updates_carries_the_offset_timeout_and_update_kinds() {
    let mut telegram = poller();
    let first = telegram.poll(None).unwrap();
    assert_eq!(
        first.url,
        format!("http://127.0.0.1:9/bot{TOKEN}/getUpdates")
    );
    assert_eq!(
        body(&first),
        json!({ "timeout": 10, "allowed_updates": ["message", "callback_query"] })
    );
    let next = telegram.poll(Some("1001")).unwrap();
    assert_eq!(body(&next)["offset"], 1001);
}

#[test]
fn an_empty_poll_keeps_the_cursor_it_was_given() {
    let mut telegram = poller();
    telegram.poll(Some("1001"));
    let polled = telegram.parse_poll(&ok(json!([]))).unwrap();
    assert_eq!(polled.cursor.as_deref(), Some("1001"));
    telegram.poll(Some("1001"));
    let polled = telegram
        .parse_poll(&ok(json!([{
            "update_id": 1001,
            "message": { "message_id": 1, "chat": { "id": 42 }, "date": 0, "text": "status" }
        }])))
        .unwrap();
    assert_eq!(polled.cursor.as_deref(), Some("1002"));
    assert_eq!(polled.commands[0].text, "status");
}

#[test]
fn a_failed_poll_is_classified() {
    let mut telegram = poller();
    telegram.poll(None);
    let conflict = HttpResponse {
        status: 409,
        headers: vec![],
        body: r#"{"ok":false,"error_code":409,"description":"Conflict: can't use getUpdates method while webhook is active"}"#.into(),
    };
    let err = telegram.parse_poll(&conflict).unwrap_err();
    assert!(err.to_string().contains("webhook is active"), "{err}");
}

#[test]
fn webhook_mode_does_not_poll_and_sets_the_webhook_up() {
    let mut telegram = channel(json!({
        "mode": "webhook",
        "webhook_url": "https://swarm.example.org/api/channels/telegram/webhook",
    }));
    assert_eq!(
        telegram.describe(),
        ChannelInfo {
            buttons: true,
            polls: false
        }
    );
    assert!(telegram.poll(None).is_none());
    let setup = telegram.setup();
    assert_eq!(setup.len(), 1);
    assert!(setup[0].url.ends_with("/setWebhook"));
    assert_eq!(
        body(&setup[0]),
        json!({
            "url": "https://swarm.example.org/api/channels/telegram/webhook",
            "secret_token": "hook-secret",
            "allowed_updates": ["message", "callback_query"],
        })
    );
}

#[test]
fn poll_mode_setup_deletes_the_webhook_and_refuses_webhook_posts() {
    let mut telegram = poller();
    assert!(telegram.describe().polls);
    let setup = telegram.setup();
    assert!(setup[0].url.ends_with("/deleteWebhook"));
    assert_eq!(body(&setup[0]), json!({ "drop_pending_updates": false }));
    let inbound = telegram.inbound(&InboundRequest {
        method: "POST".into(),
        path: "webhook".into(),
        headers: vec![],
        body: "{}".into(),
    });
    assert_eq!(inbound.response.status, 404);
}

#[test]
fn the_token_appears_in_no_debug_output() {
    let telegram = channel(json!({
        "mode": "webhook",
        "webhook_url": "https://swarm.example.org/hook",
    }));
    let debug = format!("{telegram:?}");
    assert!(
        !debug.contains("secret-token") && !debug.contains("hook-secret"),
        "{debug}"
    );
}
