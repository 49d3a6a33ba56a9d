//! Messages out: webhook requests, interaction replies, and Discord's answers.

use super::*;
use crate::content::{CONTENT_LIMIT, escape};
use hypernet_plugin_api::channel::{
    Button, ButtonStyle, Channel, ChannelError, Delivery, HttpRequest, HttpResponse,
};
use serde_json::{Value, json};

fn requests(d: &mut Discord, m: &Outbound) -> Vec<HttpRequest> {
    match d.deliver(m).expect("deliverable") {
        Delivery::Http { requests } => requests,
        other => panic!("expected HTTP requests, got {other:?}"),
    }
}

fn body(r: &HttpRequest) -> Value {
    serde_json::from_str(&r.body).expect("JSON body")
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
    }
}

#[test]
fn a_message_goes_to_the_default_webhook_mentioning_only_the_person() {
    let r = requests(&mut plain(), &message("scout", "Build is green"));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].method, "POST");
    assert_eq!(
        r[0].url,
        "https://discord.com/api/v10/webhooks/111111111111111111/default-token?wait=true"
    );
    assert!(
        r[0].headers
            .contains(&("content-type".into(), "application/json".into()))
    );
    assert_eq!(
        body(&r[0]),
        json!({
            "content": "<@42> Build is green",
            "username": "scout",
            "allowed_mentions": { "parse": [], "users": ["42"] },
        })
    );
}

#[test]
fn each_worker_has_its_webhook_name_and_picture() {
    let mut d = discord(
        r#"
        base_url = "http://127.0.0.1:9/api/"
        avatar_url = "https://example.org/swarm.png"
        [personalities.scout]
        webhook_env = "HOOK_SCOUT"
        username = "Scout the Explorer"
        avatar_url = "https://example.org/scout.png"
        [personalities.critic]
        avatar_url = "https://example.org/critic.png"
        "#,
        &[
            ("DISCORD_WEBHOOK", WEBHOOK),
            (
                "HOOK_SCOUT",
                "https://discord.com/api/webhooks/222/scout-token",
            ),
        ],
    );
    let scout = &requests(&mut d, &message("scout", "hi"))[0];
    assert_eq!(
        scout.url,
        "http://127.0.0.1:9/api/webhooks/222/scout-token?wait=true"
    );
    assert_eq!(body(scout)["username"], "Scout the Explorer");
    assert_eq!(body(scout)["avatar_url"], "https://example.org/scout.png");

    let critic = &requests(&mut d, &message("critic", "hi"))[0];
    assert!(
        critic
            .url
            .contains("/webhooks/111111111111111111/default-token")
    );
    assert_eq!(body(critic)["username"], "critic");
    assert_eq!(body(critic)["avatar_url"], "https://example.org/critic.png");

    let other = &requests(&mut d, &message("host", "hi"))[0];
    assert_eq!(body(other)["username"], "host");
    assert_eq!(body(other)["avatar_url"], "https://example.org/swarm.png");

    let mut own = message("critic", "hi");
    own.sender.avatar_url = Some("https://example.org/own.png".into());
    assert_eq!(
        body(&requests(&mut d, &own)[0])["avatar_url"],
        "https://example.org/own.png"
    );
}

#[test]
fn the_subject_is_a_bold_first_line() {
    let mut m = message("scout", "details");
    m.subject = "Question on T-12".into();
    let b = body(&requests(&mut plain(), &m)[0]);
    assert_eq!(b["content"], "<@42> **Question on T-12**\ndetails");

    // A subject that is the text's first line (the host's default) is not repeated.
    let mut m = message("scout", "Question on T-12\ndetails");
    m.subject = "Question on T-12".into();
    let b = body(&requests(&mut plain(), &m)[0]);
    assert_eq!(b["content"], "<@42> Question on T-12\ndetails");
}

#[test]
fn plain_text_is_escaped_for_discord_markdown() {
    assert_eq!(escape("a*b_c~d`e|f\\g"), "a\\*b\\_c\\~d\\`e\\|f\\\\g");
    assert_eq!(
        escape("# title\n> quote\n- item"),
        "\\# title\n\\> quote\n\\- item"
    );
    assert_eq!(escape("mid # and - stay"), "mid # and - stay");
    assert_eq!(
        escape("@everyone <@1> [x](y)"),
        "\\@everyone \\<\\@1\\> \\[x](y)"
    );
    assert_eq!(
        escape("see https://example.org/a_b*c now_"),
        "see https://example.org/a_b*c now\\_"
    );
}

#[test]
fn a_long_text_is_split_at_2000_characters_with_the_mention_in_the_first() {
    let text = "word ".repeat(1000); // 5000 characters
    let r = requests(&mut plain(), &message("scout", &text));
    assert_eq!(r.len(), 3);
    let contents: Vec<String> = r
        .iter()
        .map(|r| body(r)["content"].as_str().unwrap().to_owned())
        .collect();
    assert!(contents.iter().all(|c| c.chars().count() <= CONTENT_LIMIT));
    assert!(contents[0].starts_with("<@42> word"));
    assert!(!contents[1].contains("<@42>") && !contents[2].contains("<@42>"));
    let rejoined = contents.join(" ").replace("<@42> ", "");
    assert_eq!(rejoined.split_whitespace().count(), 1000);
    assert_eq!(body(&r[1])["allowed_mentions"], json!({ "parse": [] }));
    assert_eq!(
        body(&r[1])["username"],
        "scout",
        "every part shows the worker"
    );
}

#[test]
fn escaping_never_pushes_a_part_past_the_limit() {
    let text = "*".repeat(3000);
    let r = requests(&mut plain(), &message("scout", &text));
    let mut stars = 0;
    for part in &r {
        let content = body(part)["content"].as_str().unwrap().to_owned();
        assert!(
            content.chars().count() <= CONTENT_LIMIT,
            "{}",
            content.len()
        );
        assert!(!content.ends_with('\\') || content.ends_with("\\*"));
        stars += content.matches("\\*").count();
    }
    assert_eq!(stars, 3000);
}

#[test]
fn buttons_are_components_under_the_last_part() {
    let mut m = message("herald", &"x ".repeat(1500));
    m.buttons = vec![
        Button::new("Approve", "approve AQ-0001"),
        Button::new("Deny", "deny AQ-0001").style(ButtonStyle::Danger),
        Button::new("Later", "status").style(ButtonStyle::Secondary),
    ];
    let r = requests(&mut plain(), &m);
    assert_eq!(r.len(), 2);
    assert!(body(&r[0]).get("components").is_none());
    assert_eq!(
        body(&r[1])["components"],
        json!([{ "type": 1, "components": [
            { "type": 2, "style": 1, "label": "Approve", "custom_id": "approve AQ-0001" },
            { "type": 2, "style": 4, "label": "Deny", "custom_id": "deny AQ-0001" },
            { "type": 2, "style": 2, "label": "Later", "custom_id": "status" },
        ]}])
    );
}

#[test]
fn buttons_fill_rows_of_five_and_can_be_switched_off() {
    let mut m = message("herald", "choose");
    m.buttons = (0..7)
        .map(|i| Button::new(format!("B{i}"), format!("retry T-{i}")))
        .collect();
    let rows = body(&requests(&mut plain(), &m)[0])["components"].clone();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["components"].as_array().unwrap().len(), 5);
    assert_eq!(rows[1]["components"][1]["custom_id"], "retry T-6");

    let mut off = discord("buttons = false", &[("DISCORD_WEBHOOK", WEBHOOK)]);
    assert!(!off.describe().buttons);
    assert!(body(&requests(&mut off, &m)[0]).get("components").is_none());
    assert!(plain().describe().buttons);
}

#[test]
fn an_answer_edits_the_deferred_response_then_follows_up() {
    let mut m = message("host", &"y ".repeat(1500));
    m.reply = Some(json!({ "application_id": "999", "token": "itoken" }));
    let r = requests(&mut plain(), &m);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].method, "PATCH");
    assert_eq!(
        r[0].url,
        "https://discord.com/api/v10/webhooks/999/itoken/messages/@original"
    );
    assert_eq!(r[1].method, "POST");
    assert_eq!(r[1].url, "https://discord.com/api/v10/webhooks/999/itoken");
    let first = body(&r[0]);
    assert!(
        first["content"].as_str().unwrap().starts_with("y y"),
        "no mention in a reply"
    );
    assert_eq!(first["allowed_mentions"], json!({ "parse": [] }));
    assert!(
        first.get("username").is_none(),
        "an interaction reply cannot rename"
    );
}

#[test]
fn undeliverable_messages_are_rejected() {
    let mut d = plain();
    let mut m = message("scout", "hi");
    m.to = "ada@example.org".into();
    let e = d.deliver(&m).unwrap_err();
    assert!(
        matches!(e, ChannelError::Rejected { .. }) && e.to_string().contains("ada@example.org")
    );

    let e = d.deliver(&message("scout", "")).unwrap_err();
    assert!(e.to_string().contains("M-000001 has no text"), "{e}");

    let mut m = message("scout", "hi");
    m.reply = Some(json!({ "chat_id": 5 }));
    let e = d.deliver(&m).unwrap_err();
    assert!(!e.is_retryable() && e.to_string().contains("reply"), "{e}");
}

#[test]
fn a_delivered_message_is_receipted_with_its_id() {
    let mut d = plain();
    let m = message("scout", "hi");
    let r = d
        .parse_delivery(
            &m,
            0,
            &response(200, &[], r#"{"id":"1234567","channel_id":"9"}"#),
        )
        .unwrap();
    assert_eq!(r.handle.as_deref(), Some("1234567"));
    let r = d.parse_delivery(&m, 0, &response(204, &[], "")).unwrap();
    assert_eq!(r.handle, None);
}

#[test]
fn a_429_waits_as_long_as_discord_asks() {
    let mut d = plain();
    let m = message("scout", "hi");
    let body = r#"{"message":"You are being rate limited.","retry_after":1.234,"global":false}"#;
    let e = d
        .parse_delivery(&m, 0, &response(429, &[], body))
        .unwrap_err();
    assert_eq!(e.retry_after_ms(), Some(1234));
    assert!(e.is_retryable());

    // The longest of the body and both headers, rounded up.
    let e = d
        .parse_delivery(
            &m,
            0,
            &response(
                429,
                &[("Retry-After", "2"), ("X-RateLimit-Reset-After", "2.5001")],
                r#"{"message":"You are being rate limited.","retry_after":0.5,"global":true}"#,
            ),
        )
        .unwrap_err();
    assert_eq!(e.retry_after_ms(), Some(2501));
    assert!(e.to_string().contains("global"), "{e}");

    let e = d
        .parse_delivery(&m, 0, &response(429, &[], ""))
        .unwrap_err();
    assert!(matches!(
        e,
        ChannelError::RateLimited {
            retry_after_ms: None,
            ..
        }
    ));
}

#[test]
fn errors_are_classified_from_discord_error_bodies() {
    let mut d = plain();
    let m = message("scout", "hi");
    let mut classify = |status, body: &str| {
        d.parse_delivery(&m, 0, &response(status, &[], body))
            .unwrap_err()
    };

    let e = classify(401, r#"{"message":"401: Unauthorized","code":0}"#);
    assert!(matches!(e, ChannelError::Auth { .. }), "{e:?}");
    let e = classify(404, r#"{"message":"Unknown Webhook","code":10015}"#);
    assert!(
        matches!(e, ChannelError::Rejected { .. })
            && e.to_string().contains("code 10015: Unknown Webhook"),
        "{e}"
    );
    let e = classify(401, r#"{"message":"Invalid Webhook Token","code":50027}"#);
    assert!(
        matches!(e, ChannelError::Rejected { .. }),
        "an expired interaction token is final: {e:?}"
    );
    let e = classify(
        400,
        r#"{"code":50035,"message":"Invalid Form Body","errors":{"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 2000 or fewer in length."}]}}}"#,
    );
    assert!(matches!(e, ChannelError::Rejected { .. }));
    assert!(
        e.to_string().contains("Invalid Form Body") && e.to_string().contains("content"),
        "{e}"
    );
    let e = classify(502, "<html>bad gateway</html>");
    assert!(
        matches!(e, ChannelError::Unavailable { .. }) && e.to_string().contains("bad gateway"),
        "{e}"
    );
}
